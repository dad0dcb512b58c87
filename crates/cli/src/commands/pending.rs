//! Subcommands whose issues have not landed yet: they say so and exit 2 without touching
//! anything, rather than pretending to work.

use std::process::ExitCode;

use clap::Args;
use kubectl_mesh_core::InputError;

use crate::exit::CliError;

#[derive(Debug, Clone, Args)]
pub struct PendingArgs {
    /// Arguments of the future command (ignored)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

pub async fn run(name: &str, _args: PendingArgs) -> Result<ExitCode, CliError> {
    Err(InputError::new(format!(
        "`kubectl mesh {name}` is not yet implemented in this version"
    ))
    .with_hint("available now: `kubectl mesh certs`, `expose` and `link`")
    .into())
}
