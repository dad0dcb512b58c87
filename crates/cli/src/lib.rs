//! The command line of kubectl-mesh: clap definitions, one `run` per subcommand, and output.
//!
//! Every subcommand is defined once and serves both the umbrella binary (`kubectl-mesh expose`)
//! and its own small binary (`kubectl-mesh-expose`, which kubectl picks for `kubectl mesh expose`).

pub mod args;
pub mod commands;
pub mod completion;
pub mod exit;
pub mod hints;
pub mod output;
pub mod progress;

use std::future::Future;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser};

use commands::Cli;

/// `kubectl-mesh`: every subcommand.
pub fn main_umbrella() -> ExitCode {
    // Hidden entry points, outside clap so that any word can follow: shell completion
    // (kubectl_complete-mesh) and man pages (scripts/release).
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args.first().map(String::as_str) {
        Some("__complete") => return completion::main(&args[1..]),
        Some("__man") => return completion::man::main(&args[1..]),
        _ => {}
    }
    let cli = Cli::parse();
    exit::finish(run_async(commands::run(cli)))
}

/// `kubectl-mesh-<sub>`: one subcommand, parsed with the same definition as in the umbrella.
pub fn main_single<A, F>(name: &'static str, run: impl FnOnce(A) -> F) -> ExitCode
where
    A: Args + FromArgMatches,
    F: Future<Output = Result<ExitCode, exit::CliError>> + Send + 'static,
{
    let command = A::augment_args(commands::single_command(name));
    let matches = command.get_matches();
    let args = match A::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    exit::finish(run_async(run(args)))
}

/// Runs a command on the runtime's worker threads rather than on the main thread.
///
/// A command's requests are polled by its own future while hyper runs each connection as a
/// task on a worker. Polled from `block_on`, every request and every answer woke the other
/// thread through a futex; as a task, the command usually runs on the worker that its
/// connections wake (tokio's LIFO slot). Measured on `link` over 100 fake clusters (9 900
/// applies): the client's CPU fell by about 12%, most of it system time.
fn run_async<F>(future: F) -> Result<ExitCode, exit::CliError>
where
    F: Future<Output = Result<ExitCode, exit::CliError>> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| exit::CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        match tokio::spawn(future).await {
            Ok(result) => result,
            // A panic in the command panics here, as it did on the main thread.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    })
}

/// The umbrella's clap command, for completion and man pages.
pub fn command() -> clap::Command {
    Cli::command()
}
