//! `kubectl mesh version`.

use std::process::ExitCode;

use crate::exit::CliError;

/// The commit this binary was built from, as crates/cli/build.rs found it ("unknown" if it could
/// not tell).
pub const GIT_COMMIT: &str = env!("KUBECTL_MESH_GIT_COMMIT");

pub fn run() -> Result<ExitCode, CliError> {
    crate::output::print(&format!(
        "kubectl-mesh {} (commit {GIT_COMMIT})\n",
        env!("CARGO_PKG_VERSION")
    ));
    Ok(ExitCode::SUCCESS)
}
