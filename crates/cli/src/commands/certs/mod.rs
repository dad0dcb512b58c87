//! `kubectl mesh certs`: one root of trust, an intermediate CA per cluster, and the `cacerts`
//! Secret (DESIGN §5.6). What each subcommand does is `kubectl_mesh_core::certs`'s (every
//! input checked before anything is written); the CLI parses flags, calls it and renders.
//!
//! This module holds the clap definitions and what the subcommands share (errors, rows,
//! warnings); each subcommand lives in its own: `issue` (root, intermediate, generate),
//! `secrets` (secret), `inspection` (inspect), `rotation` (rotate).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kubectl_mesh_core::certs::issue::{self as core_issue, Byo, Row};
use kubectl_mesh_core::certs::{self as core_certs, secret as cacerts};
use kubectl_mesh_core::InputError;
use mesh_trust::{CertsDir, Options};

use crate::args::{ClusterArgs, OutputFormat, WriteArgs};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

mod inspection;
mod issue;
mod rotation;
mod secrets;

use inspection::*;
use issue::*;
use rotation::*;
use secrets::*;

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  # A shared root and one intermediate per cluster, in ./certs
  kubectl mesh certs generate --clusters east-1,east-2,west-1

  # Sign with your organisation's root instead of a new one
  kubectl mesh certs generate --clusters east-1,west-1 --root-cert corp-root.pem --root-key corp-root-key.pem

  # Put each cluster's intermediate into its cacerts Secret, then check the result
  kubectl mesh certs secret --contexts east-1,east-2,west-1
  kubectl mesh certs inspect --contexts east-1,east-2,west-1")]
pub struct CertsArgs {
    #[command(subcommand)]
    pub command: CertsCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum CertsCommand {
    /// Create the root CA (or adopt an existing one with --root-cert/--root-key)
    Root(RootArgs),
    /// Create the intermediate CA of one cluster, signed by the root
    Intermediate(IntermediateArgs),
    /// Create the root if missing, then the intermediates of all clusters, concurrently
    Generate(GenerateArgs),
    /// Apply (or print with --generate) the cacerts Secret of each cluster
    Secret(SecretArgs),
    /// Show certificates from --dir or from clusters, and whether all share one root
    Inspect(InspectArgs),
    /// Replace a cluster's intermediate with a new one from the same root (old files backed up)
    Rotate(RotateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Directory of the certificates (root files, one sub-directory per cluster)
    #[arg(long, value_name = "DIR", default_value = "certs")]
    pub dir: PathBuf,

    /// Type of the keys generated [default: rsa-4096; for rotate, the type of the intermediate it replaces]
    #[arg(long, value_name = "TYPE", value_parser = KEY_TYPES)]
    pub key_type: Option<String>,

    /// Validity in days [default: 3650 for the root, 730 for intermediates]
    #[arg(long, value_name = "DAYS")]
    pub days: Option<u32>,

    /// Organization (O=) of the certificates' subjects
    #[arg(long, value_name = "ORG", default_value = "Istio")]
    pub org: String,

    /// Overwrite existing certificate and key files. With rotate --apply-to (and certs secret):
    /// also replace a live cacerts Secret signed by another root, or holding another cluster's
    /// intermediate; after a root change istiod must restart (`kubectl rollout restart
    /// deployment/istiod -n istio-system`), then the workloads
    #[arg(long)]
    pub force: bool,

    /// Log what is done to stderr
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Args)]
pub struct ByoRoot {
    /// An existing root certificate to sign with (PEM); copied into --dir
    #[arg(long, value_name = "PATH", requires = "root_key")]
    pub root_cert: Option<PathBuf>,

    /// The private key of --root-cert (PEM); copied into --dir with mode 0600
    #[arg(long, value_name = "PATH", requires = "root_cert")]
    pub root_key: Option<PathBuf>,
}

/// `-o/--output` of the subcommands that print a table of what they did.
#[derive(Debug, Clone, Args)]
pub struct ReportFormat {
    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct RootArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub byo: ByoRoot,
    #[command(flatten)]
    pub report: ReportFormat,
}

#[derive(Debug, Clone, Args)]
pub struct IntermediateArgs {
    /// The cluster whose intermediate to create (a DNS-1123 label)
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub report: ReportFormat,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The clusters to create intermediates for
    #[arg(long, value_delimiter = ',', value_name = "NAME,...", required = true)]
    pub clusters: Vec<String>,
    // The root's options: `generate` creates the root too when there is none.
    #[command(flatten)]
    pub root: RootArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SecretArgs {
    /// Directory of the certificates
    #[arg(long, value_name = "DIR", default_value = "certs")]
    pub dir: PathBuf,

    /// Print the Secrets instead of applying them (they contain the intermediates' private keys)
    #[arg(long)]
    pub generate: bool,

    /// With --generate: the clusters to print, by name in --dir [default: the --contexts]
    #[arg(long, value_delimiter = ',', value_name = "NAME,...", requires = "generate")]
    pub clusters: Vec<String>,

    /// Replace a cacerts Secret signed by a different root (istiod must then restart), or one
    /// holding another cluster's intermediate
    #[arg(long)]
    pub force: bool,

    /// Report format (for --generate: yaml, or json for a v1 List)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub cluster_args: ClusterArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// Directory of the certificates (used unless --context/--contexts is given)
    #[arg(long, value_name = "DIR", default_value = "certs")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub report: ReportFormat,

    #[command(flatten)]
    pub cluster_args: ClusterArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// The cluster whose intermediate to replace
    #[arg(long, value_name = "NAME")]
    pub cluster: String,

    #[command(flatten)]
    pub keys: KeyArgs,

    /// Also apply the new cacerts Secret to this kubeconfig context
    #[arg(long = "apply-to", value_name = "CONTEXT")]
    pub apply_to: Option<String>,

    /// Path to the kubeconfig file (with --apply-to)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

pub async fn run(args: CertsArgs) -> Result<ExitCode, CliError> {
    match args.command {
        CertsCommand::Root(a) => root(a),
        CertsCommand::Intermediate(a) => intermediate(a),
        CertsCommand::Generate(a) => generate(a),
        CertsCommand::Secret(a) => apply_secret(a).await,
        CertsCommand::Inspect(a) => inspect(a).await,
        CertsCommand::Rotate(a) => rotate(a).await,
    }
}

/// A refusal of core's certs is bad input (exit 2), already with its hint.
impl From<core_certs::Error> for CliError {
    fn from(e: core_certs::Error) -> Self {
        CliError::Input(e.into())
    }
}

/// The key types `--key-type` takes, the default first.
const KEY_TYPES: [&str; 4] = ["rsa-4096", "rsa-2048", "ec-p256", "ec-p384"];

impl KeyArgs {
    fn options(&self) -> Result<Options, CliError> {
        self.options_defaulting_to(KEY_TYPES[0])
    }

    /// [`KeyArgs::options`] with `key_type` where `--key-type` is not given.
    fn options_defaulting_to(&self, key_type: &str) -> Result<Options, CliError> {
        init_logging(self.verbose);
        let key_type = self.key_type.as_deref().unwrap_or(key_type);
        Ok(core_issue::options(key_type, self.days, &self.org)?)
    }

    fn dir(&self) -> CertsDir {
        CertsDir::new(&self.dir)
    }
}

impl ByoRoot {
    fn get(&self) -> Option<Byo<'_>> {
        match (&self.root_cert, &self.root_key) {
            (Some(cert), Some(key)) => Some(Byo { cert, key }),
            _ => None,
        }
    }
}

/// A root ending soon, and intermediates it cuts short, are said on stderr.
fn warn(warning: &str) {
    eprintln!("warning: {warning}");
}

fn print_rows(rows: &[Row], format: OutputFormat) -> Result<(), CliError> {
    if format != OutputFormat::Table {
        output::print(&output::structured(
            &output::report("CertsReport", serde_json::json!({"items": rows})),
            format,
        )?);
        return Ok(());
    }
    let cells = rows
        .iter()
        .map(|r| {
            vec![
                // "root CA" cannot be a cluster name (they are DNS labels), "root" can.
                if r.role == "root" {
                    "root CA".into()
                } else {
                    r.name.clone()
                },
                r.result.to_string(),
                r.subject.clone(),
                r.key_type.clone(),
                r.not_after.clone(),
            ]
        })
        .collect();
    output::print(&output::table(
        &["NAME", "RESULT", "SUBJECT", "KEY", "NOT AFTER"],
        cells,
    ));
    if let Some(first) = rows.first() {
        output::print(&format!(
            "root fingerprint (SHA-256): {}\n",
            first.root_fingerprint
        ));
    }
    Ok(())
}
