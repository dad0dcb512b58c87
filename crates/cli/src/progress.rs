//! Progress of multi-cluster work on stderr, one line per event, so that stdout stays clean
//! for `--generate | kubectl apply -f -`.

use std::io::Write;

use kubectl_mesh_core::report::Progress;

pub struct StderrProgress;

impl Progress for StderrProgress {
    fn event(&self, cluster: &str, message: &str) {
        // A failed write to stderr is not worth failing the command for.
        let _ = writeln!(std::io::stderr().lock(), "{cluster}: {message}");
    }
}

/// Sends `tracing` output to stderr: warnings always, more with -v.
pub fn init_logging(verbose: u8) {
    let filter = match verbose {
        // kube-client logs every failed request at ERROR; our per-cluster report already says
        // what failed, so its own lines appear only with -v.
        0 => "warn,kube_client=off",
        1 => "warn,kube_client=error,kubectl_mesh_core=info,kubectl_mesh_cli=info",
        2 => "info,kubectl_mesh_core=debug,kubectl_mesh_cli=debug",
        _ => "debug,kubectl_mesh_core=trace,kubectl_mesh_cli=trace",
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_target(verbose >= 2)
        .without_time()
        .with_ansi(use_colour())
        .try_init();
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub fn use_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Colour on stdout (for reports): only on a terminal, and never with NO_COLOR set.
pub fn stdout_colour() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}
