//! `kubectl mesh version`.

use std::process::ExitCode;

use crate::exit::CliError;

pub fn run() -> Result<ExitCode, CliError> {
    let commit = option_env!("KUBECTL_MESH_GIT_COMMIT").unwrap_or("unknown");
    crate::output::print(&format!(
        "kubectl-mesh {} (commit {commit})\n",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(ExitCode::SUCCESS)
}
