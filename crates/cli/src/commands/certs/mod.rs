//! `kubectl mesh certs`: one root of trust, an intermediate CA per cluster, and the `cacerts`
//! Secret (DESIGN §5.6). Files come from `mesh-trust`; this module validates everything first,
//! then writes, so bad input changes nothing.
//!
//! This module holds the clap definitions and what the subcommands share (rows, the root to
//! sign with); each subcommand lives in its own: `issue` (root, intermediate, generate),
//! `secrets` (secret), `inspection` (inspect), `rotation` (rotate).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kubectl_mesh_core::certs::secret::{self as cacerts, Job, Plan};
use kubectl_mesh_core::kube::clusters::Cluster;
use kubectl_mesh_core::kube::parallel;
use kubectl_mesh_core::resources::cacerts as secret;
use kubectl_mesh_core::InputError;
use mesh_trust::{CaKeyPair, CertInfo, CertsDir, Intermediate, KeyType, Options};
use serde::Serialize;

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

    /// Type of the keys generated
    #[arg(long, value_name = "TYPE", default_value = "rsa-4096",
          value_parser = ["rsa-4096", "rsa-2048", "ec-p256", "ec-p384"])]
    pub key_type: String,

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

#[derive(Debug, Clone, Args)]
pub struct RootArgs {
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub byo: ByoRoot,
    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct IntermediateArgs {
    /// The cluster whose intermediate to create (a DNS-1123 label)
    #[arg(long, value_name = "NAME")]
    pub cluster: String,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The clusters to create intermediates for
    #[arg(long, value_delimiter = ',', value_name = "NAME,...", required = true)]
    pub clusters: Vec<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub byo: ByoRoot,
    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,
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
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
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

    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,

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

fn trust_error(e: mesh_trust::Error) -> CliError {
    use mesh_trust::Error as E;
    let hint = match &e {
        E::NotWritable { .. } => Some("pass --dir with a directory you can write to"),
        E::KeyMismatch { .. } => Some(
            "pass the key of that certificate: `openssl x509 -noout -pubkey -in CERT` and `openssl pkey -pubout -in KEY` must print the same key",
        ),
        E::NotCa { .. } | E::CannotSign { .. } => {
            Some("--root-cert must be a CA certificate that may sign certificates (basicConstraints CA:true, keyUsage keyCertSign)")
        }
        E::Expired { .. } | E::NotYetValid { .. } => {
            Some("use a root that is valid now, or create a new one with `kubectl mesh certs root`")
        }
        E::MalformedPem { .. } => Some("the file must hold PEM text (a certificate, or a key for --root-key)"),
        E::Missing { .. } => Some("check the path, or --dir"),
        _ => None,
    };
    let error = InputError::new(e.to_string());
    CliError::Input(match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    })
}

impl KeyArgs {
    fn options(&self) -> Result<Options, CliError> {
        init_logging(self.verbose);
        let key_type: KeyType = self.key_type.parse().map_err(trust_error)?;
        if self.org.trim().is_empty() {
            return Err(InputError::new("--org is empty")
                .with_hint("omit it to use Istio")
                .into());
        }
        Ok(Options {
            key_type,
            days: self.days,
            org: self.org.clone(),
        })
    }

    fn dir(&self) -> Result<CertsDir, CliError> {
        let dir = CertsDir::new(&self.dir);
        dir.check_writable().map_err(trust_error)?;
        Ok(dir)
    }
}

/// One line of a certs report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    name: String,
    /// `root` or `intermediate`: a cluster may be named `root` too.
    role: &'static str,
    result: &'static str,
    subject: String,
    key_type: String,
    not_after: String,
    root_fingerprint: String,
}

fn row(name: &str, result: &'static str, cert_pem: &str, root_pem: &str) -> Result<Row, CliError> {
    let info = mesh_trust::inspect(cert_pem).map_err(trust_error)?;
    let root = mesh_trust::inspect(root_pem).map_err(trust_error)?;
    Ok(Row {
        name: name.to_string(),
        role: if cert_pem == root_pem {
            "root"
        } else {
            "intermediate"
        },
        result,
        subject: info.subject,
        key_type: info.key_type,
        not_after: info.not_after.date().to_string(),
        root_fingerprint: root.sha256_fingerprint,
    })
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

/// A root ending soon, and intermediates it cuts short, are said on stderr (not refused: a
/// corporate root is what it is).
fn warn_about_root(root: &CaKeyPair, intermediate_days: Option<u32>) {
    let now = mesh_trust::OffsetDateTime::now_utc();
    for warning in mesh_trust::issue::root_warnings(root, intermediate_days, now) {
        eprintln!("warning: {warning}");
    }
}

/// For a command that issues `cluster`'s intermediate from the root already in `--dir`: the
/// key options, the directory and that root, every input checked first.
fn existing_root(keys: &KeyArgs, cluster: &str) -> Result<(Options, CertsDir, CaKeyPair), CliError> {
    let options = keys.options()?;
    mesh_trust::validate_cluster_name(cluster).map_err(trust_error)?;
    let dir = keys.dir()?;
    if !dir.root_exists() {
        return Err(no_root(&dir));
    }
    let root = dir.read_root().map_err(trust_error)?;
    Ok((options, dir, root))
}

/// The root to sign with: an existing one in the dir, a BYO one, or a new one.
fn obtain_root(
    dir: &CertsDir,
    byo: &ByoRoot,
    options: &Options,
    force: bool,
) -> Result<(CaKeyPair, &'static str), CliError> {
    let now = mesh_trust::OffsetDateTime::now_utc();
    if let (Some(cert), Some(key)) = (&byo.root_cert, &byo.root_key) {
        let root = mesh_trust::load_root_files(cert, key, now).map_err(trust_error)?;
        if dir.root_exists() && !force {
            let existing = dir.read_root_cert().map_err(trust_error)?;
            if existing.trim() != root.cert_pem().trim() {
                return Err(InputError::new(format!(
                    "{} already holds a different root",
                    dir.root_cert_path().display()
                ))
                .with_hint(
                    "use another --dir, or --force to replace it (every intermediate must then be re-issued)",
                )
                .into());
            }
            return Ok((root, "unchanged"));
        }
        return Ok((root, "imported"));
    }
    if dir.root_exists() && !force {
        let root = dir.read_root().map_err(trust_error)?;
        return Ok((root, "unchanged"));
    }
    Ok((
        mesh_trust::generate_root(options).map_err(trust_error)?,
        "created",
    ))
}

fn no_root(dir: &CertsDir) -> CliError {
    InputError::new(format!("no root CA in {}", dir.path().display()))
        .with_hint("create one with `kubectl mesh certs root` (or pass --dir where it is)")
        .into()
}

fn unique_names(names: &[String]) -> Result<Vec<String>, CliError> {
    let mut out: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        mesh_trust::validate_cluster_name(name).map_err(trust_error)?;
        if out.iter().any(|n| n == name) {
            return Err(InputError::new(format!("cluster {name:?} is listed twice in --clusters")).into());
        }
        out.push(name.to_string());
    }
    if out.is_empty() {
        return Err(InputError::new("--clusters is empty")
            .with_hint("e.g. --clusters east-1,west-1")
            .into());
    }
    Ok(out)
}
