//! Progress of multi-cluster work on stderr, so that stdout stays clean for
//! `--generate | kubectl apply -f -`. On a terminal, one line per cluster, updated in place
//! (indicatif's bars, each showing its cluster's latest event); otherwise (a pipe, a file,
//! CI logs) one plain line per event.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kubectl_mesh_core::report::Progress;

/// The progress of one command: per-cluster lines redrawn in place when stderr is a terminal,
/// plain `cluster: message` lines when it is not. Dropping it leaves every line at its last
/// event, so the report printed next starts below them.
pub struct StderrProgress {
    /// `None` when stderr is not a terminal.
    lines: Option<Mutex<Lines>>,
}

impl StderrProgress {
    pub fn new() -> Self {
        let lines = std::io::stderr().is_terminal().then(|| {
            Mutex::new(Lines {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Vec::new(),
            })
        });
        StderrProgress { lines }
    }
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for StderrProgress {
    fn event(&self, cluster: &str, message: &str) {
        match &self.lines {
            Some(lines) => lines
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .bar(cluster)
                .set_message(message.to_string()),
            None => {
                // A failed write to stderr is not worth failing the command for.
                let _ = std::io::stderr()
                    .lock()
                    .write_all(plain_line(cluster, message).as_bytes());
            }
        }
    }
}

impl Drop for StderrProgress {
    fn drop(&mut self) {
        if let Some(lines) = &self.lines {
            for (_, bar) in &lines.lock().unwrap_or_else(|e| e.into_inner()).bars {
                // Draws the last event now (updates are rate-limited) and keeps the line.
                bar.abandon();
            }
        }
    }
}

/// One event as a plain line.
pub fn plain_line(cluster: &str, message: &str) -> String {
    format!("{cluster}: {message}\n")
}

/// The per-cluster lines on a terminal, in order of each cluster's first event.
struct Lines {
    multi: MultiProgress,
    bars: Vec<(String, ProgressBar)>,
}

impl Lines {
    fn bar(&mut self, cluster: &str) -> &ProgressBar {
        let i = match self.bars.iter().position(|(c, _)| c == cluster) {
            Some(i) => i,
            None => {
                // `wide_msg` cuts a long message at the terminal's edge instead of wrapping,
                // which would shift the lines below.
                let style = ProgressStyle::with_template("{prefix}: {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                let bar = self.multi.add(ProgressBar::new_spinner().with_style(style));
                bar.set_prefix(cluster.to_string());
                self.bars.push((cluster.to_string(), bar));
                self.bars.len() - 1
            }
        };
        &self.bars[i].1
    }
}

/// Sends `tracing` output to stderr: warnings always, more with -v.
pub fn init_logging(verbose: u8) {
    // -v raises our own crates only: the HTTP and TLS stacks (hyper, h2, rustls, tower) log
    // every frame at debug, which buries what we do. RUST_LOG, when set, says exactly what
    // to show instead (e.g. RUST_LOG=h2=debug to debug a connection).
    let filter = match verbose {
        // kube-client logs every failed request at ERROR; our per-cluster report already says
        // what failed, so its own lines appear only with -v.
        0 => "warn,kube_client=off",
        1 => "warn,kube_client=error,kubectl_mesh_core=info,kubectl_mesh_cli=info",
        2 => "warn,kube_client=info,kubectl_mesh_core=debug,kubectl_mesh_cli=debug",
        _ => "warn,kube_client=debug,kubectl_mesh_core=trace,kubectl_mesh_cli=trace,mesh_trust=trace",
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(custom) if !custom.trim().is_empty() => tracing_subscriber::EnvFilter::new(custom),
        _ => tracing_subscriber::EnvFilter::new(filter),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(verbose >= 2)
        .without_time()
        .with_ansi(use_colour())
        .try_init();
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub fn use_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Colour on stdout (for reports): only on a terminal, and never with NO_COLOR set.
pub fn stdout_colour() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_name_their_cluster() {
        assert_eq!(plain_line("a", "created"), "a: created\n");
    }
}
