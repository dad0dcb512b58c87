//! Progress of multi-cluster work on stderr, so that stdout stays clean for
//! `--generate | kubectl apply -f -`. On a terminal, one line per cluster, updated in place;
//! otherwise (a pipe, a file, CI logs) one plain line per event.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use kubectl_mesh_core::report::Progress;

/// The progress of commands: per-cluster lines redrawn in place when stderr is a terminal,
/// plain `cluster: message` lines when it is not (chosen once per process).
pub struct StderrProgress;

impl Progress for StderrProgress {
    fn event(&self, cluster: &str, message: &str) {
        // A failed write to stderr is not worth failing the command for.
        match screen() {
            Some(screen) => {
                let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
                let _ = std::io::stderr()
                    .lock()
                    .write_all(screen.update(cluster, message).as_bytes());
            }
            None => {
                let _ = std::io::stderr()
                    .lock()
                    .write_all(plain_line(cluster, message).as_bytes());
            }
        }
    }
}

/// The progress for this process's stderr (the same as `&StderrProgress`).
pub fn for_stderr() -> &'static dyn Progress {
    &StderrProgress
}

fn screen() -> Option<&'static Mutex<Screen>> {
    static SCREEN: OnceLock<Option<Mutex<Screen>>> = OnceLock::new();
    SCREEN
        .get_or_init(|| {
            std::io::stderr()
                .is_terminal()
                .then(|| Mutex::new(Screen::default()))
        })
        .as_ref()
}

/// One event as a plain line.
pub fn plain_line(cluster: &str, message: &str) -> String {
    format!("{cluster}: {message}\n")
}

/// The per-cluster lines on a terminal: each cluster keeps its line, in order of first event,
/// and an event rewrites only its cluster's line. Line wrapping is off while writing (DECAWM),
/// so a long message is cut at the terminal's edge instead of shifting the lines below.
#[derive(Debug, Default)]
pub struct Screen {
    clusters: Vec<String>,
}

impl Screen {
    /// The bytes that show `message` on `cluster`'s line, the cursor left below the last line.
    pub fn update(&mut self, cluster: &str, message: &str) -> String {
        let line = format!("\x1b[?7l\r\x1b[2K{cluster}: {message}\x1b[?7h");
        match self.clusters.iter().position(|c| c == cluster) {
            Some(i) => {
                let up = self.clusters.len() - i;
                format!("\x1b[{up}A{line}\r\x1b[{up}B")
            }
            None => {
                self.clusters.push(cluster.to_string());
                format!("{line}\n")
            }
        }
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
    fn screen_rewrites_the_line_of_its_cluster() {
        let mut screen = Screen::default();
        let a = screen.update("a", "connecting");
        assert!(a.ends_with("a: connecting\x1b[?7h\n"), "{a:?}");
        let b = screen.update("b", "connecting");
        assert!(b.ends_with("b: connecting\x1b[?7h\n"), "{b:?}");
        // a is two lines up from the cursor: up 2, rewrite, back down 2.
        let a2 = screen.update("a", "created");
        assert!(a2.starts_with("\x1b[2A"), "{a2:?}");
        assert!(a2.contains("\r\x1b[2Ka: created"), "{a2:?}");
        assert!(a2.ends_with("\r\x1b[2B"), "{a2:?}");
        assert_eq!(plain_line("a", "created"), "a: created\n");
    }
}
