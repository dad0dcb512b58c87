//! The subcommands, each defined once (clap derive).

pub mod certs;
pub mod completion;
pub mod controller;
pub mod expose;
pub mod link;
pub mod up;
pub mod verify;
pub mod version;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::CliError;

/// The flow, shown by `kubectl mesh` alone and at the top of `--help`.
pub const FLOW: &str = "\
Join Kubernetes clusters running Istio into one mesh.

The flow, for any number of clusters:
  kubectl mesh certs generate --clusters east-1,west-1    shared root, one intermediate per cluster
  kubectl mesh certs secret --contexts east-1,west-1      the cacerts Secret in every cluster
  kubectl mesh expose --contexts east-1,west-1            east-west gateway in each cluster
  kubectl mesh link --contexts east-1,west-1              every cluster peers with every other
  kubectl mesh verify --contexts east-1,west-1            is the mesh consistent?
  kubectl mesh up -f mesh.yaml                            all of the above from one topology file
  kubectl mesh controller --contexts east-1,west-1        keep it converged (watch, re-link, refresh)

Every command can print YAML instead of applying it (--generate).";

#[derive(Debug, Parser)]
#[command(name = "kubectl-mesh", bin_name = "kubectl mesh", version, about = FLOW, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deploy the east-west gateway to one or many clusters, or print it (--generate)
    Expose(expose::ExposeArgs),
    /// Link every cluster with every other (peer Gateways), or some pairs
    Link(link::LinkArgs),
    /// Create the shared root of trust and per-cluster intermediates, and install them
    Certs(certs::CertsArgs),
    /// Check that the mesh is consistent: trust, gateways, links, traffic (exit 0 healthy, 1 failed, 3 warnings with --strict)
    Verify(verify::VerifyArgs),
    /// Converge every cluster of a topology file: certs, install, expose, link, verify
    Up(up::UpArgs),
    /// Remove everything `up` created for a topology file (keys on disk are kept)
    Down(up::DownArgs),
    /// Keep the mesh converged: watch the members, re-link what changes, refresh tokens (leader-elected)
    Controller(controller::ControllerArgs),
    /// Print the version and git commit
    #[command(after_help = "Examples:\n  kubectl mesh version")]
    Version,
    /// Print the shell completion script of kubectl-mesh (bash, zsh, fish, powershell)
    Completion(completion::CompletionArgs),
}

pub async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        None => {
            crate::output::print(&format!(
                "{FLOW}\n\nRun `kubectl mesh --help` for all commands.\n"
            ));
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Expose(args)) => expose::run(args).await,
        Some(Command::Link(args)) => link::run(args).await,
        Some(Command::Certs(args)) => certs::run(args).await,
        Some(Command::Verify(args)) => verify::run(args).await,
        Some(Command::Up(args)) => up::run_up(args).await,
        Some(Command::Down(args)) => up::run_down(args).await,
        Some(Command::Controller(args)) => controller::run(args).await,
        Some(Command::Version) => version::run(),
        Some(Command::Completion(args)) => completion::run(args),
    }
}

/// The bare clap command of a one-subcommand binary such as `kubectl-mesh-expose`; its usage
/// reads `kubectl mesh expose`, which is how kubectl users call it.
pub fn single_command(sub: &'static str) -> clap::Command {
    let about = <Cli as clap::CommandFactory>::command()
        .find_subcommand(sub)
        .and_then(|c| c.get_about().cloned());
    let mut command = clap::Command::new(format!("kubectl-mesh-{sub}"))
        .bin_name(format!("kubectl mesh {sub}"))
        .version(env!("CARGO_PKG_VERSION"));
    if let Some(about) = about {
        command = command.about(about);
    }
    command
}
