//! Exit codes (DESIGN §3): 0 success, 1 something failed (reported per cluster), 2 bad input
//! (nothing changed).

use std::process::ExitCode;

use kubectl_mesh_core::InputError;

#[derive(Debug)]
pub enum CliError {
    /// Bad input: exit 2. Raised before any write.
    Input(InputError),
    /// The operation could not run at all: exit 1.
    Failed(String),
}

impl From<InputError> for CliError {
    fn from(e: InputError) -> Self {
        CliError::Input(e)
    }
}

pub const FAILED: u8 = 1;
pub const INPUT: u8 = 2;

/// Prints the error, if any, and turns the result into the process exit code.
pub fn finish(result: Result<ExitCode, CliError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(CliError::Input(e)) => {
            crate::hints::eprint(&format!("error: {e}"));
            ExitCode::from(INPUT)
        }
        Err(CliError::Failed(message)) => {
            crate::hints::eprint(&format!("error: {message}"));
            ExitCode::from(FAILED)
        }
    }
}

/// 1 if any item failed, else 0.
pub fn from_failures(any_failed: bool) -> ExitCode {
    if any_failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The exit codes of a run stopped by SIGINT or SIGTERM (after cleaning up): 128 + the
/// signal, as shells report it.
pub const INTERRUPTED: u8 = 130;
pub const TERMINATED: u8 = 143;

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, so that a command can clean up before it exits,
/// with the exit code that signal calls for.
pub async fn interruption() -> u8 {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => INTERRUPTED,
        () = term => TERMINATED,
    }
}
