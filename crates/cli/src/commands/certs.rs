//! `kubectl mesh certs`: one root of trust, an intermediate CA per cluster, and the `cacerts`
//! Secret (DESIGN §5.6). Files come from `mesh-trust`; this module validates everything first,
//! then writes, so bad input changes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kubectl_mesh_core::cacerts::{self, Job, Plan};
use kubectl_mesh_core::clusters::Cluster;
use kubectl_mesh_core::resources::cacerts as secret;
use kubectl_mesh_core::{parallel, InputError};
use mesh_trust::{CaKeyPair, CertInfo, CertsDir, Intermediate, KeyType, Options};
use serde::Serialize;

use crate::args::{ClusterArgs, OutputFormat, WriteArgs};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

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

fn root(args: RootArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let dir = args.keys.dir()?;
    if dir.root_exists() && !args.keys.force && args.byo.root_cert.is_none() {
        return Err(
            InputError::new(format!("{} already exists", dir.root_cert_path().display()))
                .with_hint("keep it (intermediates signed by it stay valid), or pass --force to replace it")
                .into(),
        );
    }
    let (root, result) = obtain_root(&dir, &args.byo, &options, args.keys.force)?;
    warn_about_root(&root, None);
    if result != "unchanged" {
        dir.write_root(&root, args.keys.force).map_err(trust_error)?;
    }
    print_rows(
        &[row("root", result, root.cert_pem(), root.cert_pem())?],
        args.output,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn intermediate(args: IntermediateArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    mesh_trust::validate_cluster_name(&args.cluster).map_err(trust_error)?;
    let dir = args.keys.dir()?;
    if !dir.root_exists() {
        return Err(no_root(&dir));
    }
    let root = dir.read_root().map_err(trust_error)?;
    if !args.keys.force {
        refuse_existing_intermediate(&dir, &args.cluster)?;
    }
    warn_about_root(&root, options.days);
    let issued = mesh_trust::generate_intermediate(&root, &args.cluster, &options).map_err(trust_error)?;
    dir.write_intermediate(&args.cluster, &issued, args.keys.force)
        .map_err(trust_error)?;
    print_rows(
        &[row(&args.cluster, "created", &issued.ca_cert, &issued.root_cert)?],
        args.output,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn no_root(dir: &CertsDir) -> CliError {
    InputError::new(format!("no root CA in {}", dir.path().display()))
        .with_hint("create one with `kubectl mesh certs root` (or pass --dir where it is)")
        .into()
}

fn refuse_existing_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), CliError> {
    if dir.read_intermediate(cluster).is_ok() {
        return Err(InputError::new(format!(
            "the intermediate of cluster {cluster} already exists in {}",
            dir.path().display()
        ))
        .with_hint(
            "pass --force to replace it, or `kubectl mesh certs rotate` to replace it keeping a backup",
        )
        .into());
    }
    Ok(())
}

fn generate(args: GenerateArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let clusters = unique_names(&args.clusters)?;
    let dir = args.keys.dir()?;
    // Existing intermediates are kept (re-running converges), unless --force.
    let todo: Vec<&str> = clusters
        .iter()
        .map(String::as_str)
        .filter(|c| args.keys.force || dir.read_intermediate(c).is_err())
        .collect();
    if !args.keys.force {
        // A cluster whose files are there but unreadable would fail to write half-way.
        for cluster in &todo {
            refuse_partial_intermediate(&dir, cluster)?;
        }
    }
    let kept: Vec<&str> = clusters
        .iter()
        .map(String::as_str)
        .filter(|c| !todo.contains(c))
        .collect();
    let new_root = args.byo.root_cert.is_none() && (args.keys.force || !dir.root_exists());
    let (root, root_result, intermediates) = if new_root {
        // Kept intermediates cannot chain to a root that does not exist yet.
        if let Some(cluster) = kept.first() {
            return Err(other_root(&dir, cluster));
        }
        // Every key (root and intermediates) is generated at once, one thread each.
        let (root, intermediates) = mesh_trust::generate_all(&options, &todo).map_err(trust_error)?;
        (root, "created", intermediates)
    } else {
        let (root, result) = obtain_root(&dir, &args.byo, &options, args.keys.force)?;
        warn_about_root(&root, options.days);
        for cluster in &kept {
            let bundle = dir.read_intermediate(cluster).map_err(trust_error)?;
            if !cacerts::same_pem(&bundle.root_cert, root.cert_pem()) {
                return Err(other_root(&dir, cluster));
            }
        }
        let intermediates =
            mesh_trust::generate_intermediates(&root, &todo, &options).map_err(trust_error)?;
        (root, result, intermediates)
    };
    let issued: Vec<(&str, Intermediate)> = todo.iter().copied().zip(intermediates).collect();
    if root_result != "unchanged" {
        dir.write_root(&root, args.keys.force).map_err(trust_error)?;
    }
    let mut rows = vec![row("root", root_result, root.cert_pem(), root.cert_pem())?];
    for cluster in &clusters {
        match issued.iter().find(|(name, _)| name == cluster) {
            Some((_, intermediate)) => {
                dir.write_intermediate(cluster, intermediate, args.keys.force)
                    .map_err(trust_error)?;
                rows.push(row(
                    cluster,
                    "created",
                    &intermediate.ca_cert,
                    &intermediate.root_cert,
                )?);
            }
            None => {
                let kept = dir.read_intermediate(cluster).map_err(trust_error)?;
                rows.push(row(cluster, "unchanged", &kept.ca_cert, &kept.root_cert)?);
            }
        }
    }
    print_rows(&rows, args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// An existing intermediate that another root signed: keeping it would split the mesh.
fn other_root(dir: &CertsDir, cluster: &str) -> CliError {
    InputError::new(format!(
        "cluster {cluster}: its intermediate in {} was signed by a different root than the one used now",
        dir.path().display()
    ))
    .with_hint(format!(
        "pass --force to re-issue every intermediate from this root, or `kubectl mesh certs rotate --cluster {cluster}` after restoring its root"
    ))
    .into()
}

/// Files of `cluster` that exist but do not read as a bundle: writing over them needs --force.
fn refuse_partial_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), CliError> {
    let cluster_dir = dir.cluster_dir(cluster).map_err(trust_error)?;
    let present: Vec<String> = [
        mesh_trust::layout::CA_CERT,
        mesh_trust::layout::CA_KEY,
        mesh_trust::layout::ROOT_CERT,
        mesh_trust::layout::CERT_CHAIN,
    ]
    .iter()
    .map(|name| cluster_dir.join(name))
    .filter(|path| std::fs::symlink_metadata(path).is_ok())
    .map(|path| path.display().to_string())
    .collect();
    if present.is_empty() {
        return Ok(());
    }
    let reason = match dir.read_intermediate(cluster) {
        Err(e) => e.to_string(),
        Ok(_) => "it is incomplete".to_string(),
    };
    Err(InputError::new(format!(
        "cluster {cluster}: the files in {} cannot be used: {reason}",
        cluster_dir.display()
    ))
    .with_hint(format!(
        "pass --force to replace them (they are: {}), or repair them",
        present.join(", ")
    ))
    .into())
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

/// The Secret of one cluster, from its directory; a missing or broken bundle is bad input.
fn cluster_secret(dir: &CertsDir, cluster: &str) -> Result<(serde_json::Value, String), InputError> {
    let bundle = dir.read_intermediate(cluster).map_err(|e| {
        // Broken files are only replaced with --force: a hint without it would just fail.
        let has_files = dir
            .cluster_dir(cluster)
            .ok()
            .and_then(|d| std::fs::read_dir(d).ok())
            .is_some_and(|mut entries| entries.next().is_some());
        // `intermediate --force` re-issues from the existing root; `generate --force` would
        // replace the root too, and with it every other cluster's trust.
        let hint = match has_files {
            true => format!(
                "re-issue it from the existing root: `kubectl mesh certs intermediate --cluster {cluster} --dir {} --force`",
                dir.path().display()
            ),
            false => format!(
                "create it with `kubectl mesh certs generate --clusters {cluster} --dir {}`",
                dir.path().display()
            ),
        };
        InputError::new(format!("cluster {cluster}: {e}")).with_hint(hint)
    })?;
    let report = mesh_trust::check_intermediate(&bundle)
        .map_err(|e| InputError::new(format!("cluster {cluster}: {e}")))?;
    if !report.is_ok() {
        return Err(
            InputError::new(format!("cluster {cluster}: {}", report.problems.join("; "))).with_hint(format!(
                "re-issue it with `kubectl mesh certs rotate --cluster {cluster} --dir {}`",
                dir.path().display()
            )),
        );
    }
    Ok((secret::secret(bundle.entries()), bundle.root_cert.clone()))
}

async fn apply_secret(args: SecretArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let dir = CertsDir::new(&args.dir);
    let write = args.write.options()?;
    if args.generate {
        return print_secrets(&args, &dir);
    }
    let format = args.output.unwrap_or_default();
    let clusters = args.cluster_args.connect().await?;
    let mut secrets = Vec::new();
    for cluster in &clusters {
        secrets.push(cluster_secret(&dir, &cluster.name)?);
    }
    let limit = usize::from(args.cluster_args.parallel);
    let plans = parallel::map_bounded(
        clusters.into_iter().zip(secrets).collect(),
        limit,
        |(cluster, (body, root)): (Cluster, _)| async move {
            let planned = cacerts::Planned {
                root_pem: &root,
                intermediate_of: &cluster.name,
                force: args.force,
            };
            let plan = cacerts::plan(&cluster, &planned).await;
            (cluster, body, plan)
        },
    )
    .await;
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for (cluster, body, plan) in plans {
        let plan = match plan {
            Plan::Ready { replaces_root } => Ok(replaces_root),
            Plan::Failed(reason) => Err(reason),
            Plan::Input(e) => {
                refused.push(e);
                continue;
            }
        };
        jobs.push(Job {
            cluster,
            secret: body,
            plan,
        });
    }
    if let Some(error) = InputError::combine(refused) {
        return Err(error.into());
    }
    let reports = cacerts::apply_all(jobs, &write, limit, &StderrProgress).await;
    output::print(&output::cluster_reports(
        &reports,
        format,
        write.dry_run,
        "CertsSecretReport",
    )?);
    for note in reports.iter().flat_map(|r| r.notes.iter().map(move |n| (r, n))) {
        crate::hints::eprint(&format!("{}: {}", note.0.cluster, note.1));
    }
    output::print_errors(&reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}

fn print_secrets(args: &SecretArgs, dir: &CertsDir) -> Result<ExitCode, CliError> {
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    let names: Vec<String> = if !args.clusters.is_empty() {
        unique_names(&args.clusters)?
    } else if !args.cluster_args.contexts.is_empty() || args.cluster_args.context.is_some() {
        let kubeconfig = args.cluster_args.load_kubeconfig()?;
        args.cluster_args
            .select(&kubeconfig)?
            .into_iter()
            .map(|r| r.name)
            .collect()
    } else {
        return Err(
            InputError::new("certs secret --generate needs the clusters to print")
                .with_hint("pass --clusters a,b (names in --dir) or --contexts a,b")
                .into(),
        );
    };
    let mut objects = Vec::new();
    for name in &names {
        objects.push(cluster_secret(dir, name)?.0);
    }
    output::print(&output::objects(&objects, format)?);
    Ok(ExitCode::SUCCESS)
}

/// One certificate in `certs inspect`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Inspected {
    cluster: String,
    subject: String,
    issuer: String,
    key_type: String,
    not_after: String,
    days_left: i64,
    chains_to_root: bool,
    problems: Vec<String>,
    root_fingerprint: String,
}

fn inspected(cluster: &str, bundle: &Intermediate) -> Result<Inspected, String> {
    let report = mesh_trust::check_intermediate(bundle).map_err(|e| e.to_string())?;
    let info: &CertInfo = &report.ca;
    Ok(Inspected {
        cluster: cluster.to_string(),
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        key_type: info.key_type.clone(),
        not_after: info.not_after.date().to_string(),
        days_left: info.days_left,
        chains_to_root: mesh_trust::verify_signed_by(&bundle.ca_cert, &bundle.root_cert).unwrap_or(false),
        problems: report.problems.clone(),
        root_fingerprint: report.root.sha256_fingerprint.clone(),
    })
}

async fn inspect(args: InspectArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let from_clusters = args.cluster_args.context.is_some() || !args.cluster_args.contexts.is_empty();
    let results: Vec<(String, Result<Inspected, String>)> = if from_clusters {
        let clusters = args.cluster_args.connect().await?;
        let limit = usize::from(args.cluster_args.parallel);
        parallel::map_bounded(clusters, limit, |cluster| async move {
            let result = read_cluster_bundle(&cluster)
                .await
                .and_then(|b| inspected(&cluster.name, &b));
            (cluster.name.clone(), result)
        })
        .await
    } else {
        let dir = CertsDir::new(&args.dir);
        let names = dir.clusters().map_err(trust_error)?;
        if names.is_empty() {
            return Err(InputError::new(format!("no cluster certificates in {}", args.dir.display()))
                .with_hint("create them with `kubectl mesh certs generate --clusters a,b`, or pass --dir / --contexts")
                .into());
        }
        names
            .into_iter()
            .map(|name| {
                let result = dir
                    .read_intermediate(&name)
                    .map_err(|e| e.to_string())
                    .and_then(|b| inspected(&name, &b));
                (name, result)
            })
            .collect()
    };
    let fingerprints: Vec<&str> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|i| i.root_fingerprint.as_str())
        .collect();
    let shared_root = !fingerprints.is_empty()
        && fingerprints.iter().all(|f| *f == fingerprints[0])
        && fingerprints.len() == results.len();
    let failed = results
        .iter()
        .any(|(_, r)| r.is_err() || r.as_ref().is_ok_and(|i| !i.problems.is_empty()));
    print_inspection(&results, shared_root, args.output)?;
    Ok(exit::from_failures(failed || !shared_root))
}

async fn read_cluster_bundle(cluster: &Cluster) -> Result<Intermediate, String> {
    let live = cluster
        .api
        .get(&cacerts::path())
        .await
        .map_err(|e| cluster.explain(&e))?
        .ok_or_else(|| {
            format!(
                "cluster {}: no cacerts Secret in istio-system (run `kubectl mesh certs secret`)",
                cluster.name
            )
        })?;
    let field = |key: &str| {
        secret::entry(&live, key).ok_or_else(|| format!("cluster {}: cacerts has no {key}", cluster.name))
    };
    // The key is read only to check that it matches the certificate; it is never shown.
    Ok(Intermediate {
        ca_cert: field("ca-cert.pem")?,
        ca_key: mesh_trust::PrivateKeyPem::new(field("ca-key.pem")?),
        root_cert: field("root-cert.pem")?,
        cert_chain: field("cert-chain.pem")?,
    })
}

fn print_inspection(
    results: &[(String, Result<Inspected, String>)],
    shared_root: bool,
    format: OutputFormat,
) -> Result<(), CliError> {
    if format != OutputFormat::Table {
        let items: Vec<serde_json::Value> = results
            .iter()
            .map(|(name, r)| match r {
                Ok(i) => serde_json::to_value(i).unwrap_or_default(),
                Err(e) => serde_json::json!({"cluster": name, "error": e}),
            })
            .collect();
        let doc = output::report(
            "CertsInspection",
            serde_json::json!({"sharedRoot": shared_root, "clusters": items}),
        );
        output::print(&output::structured(&doc, format)?);
        return Ok(());
    }
    let rows = results
        .iter()
        .map(|(name, r)| match r {
            Ok(i) => vec![
                i.cluster.clone(),
                i.subject.clone(),
                i.key_type.clone(),
                i.not_after.clone(),
                i.days_left.to_string(),
                if i.chains_to_root && i.problems.is_empty() {
                    "ok".into()
                } else {
                    i.problems.join("; ")
                },
                short(&i.root_fingerprint),
            ],
            Err(e) => vec![
                name.clone(),
                format!("error: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        })
        .collect();
    output::print(&output::table(
        &[
            "CLUSTER",
            "SUBJECT",
            "KEY",
            "NOT AFTER",
            "DAYS LEFT",
            "CHAIN",
            "ROOT",
        ],
        rows,
    ));
    output::print(&root_summary(results, shared_root));
    Ok(())
}

/// The last line of `certs inspect`: unreadable bundles are named as such, not counted as a
/// different root.
fn root_summary(results: &[(String, Result<Inspected, String>)], shared_root: bool) -> String {
    let unreadable: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(name, _)| name.as_str())
        .collect();
    let roots: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|i| i.root_fingerprint.as_str())
        .collect();
    match (unreadable.is_empty(), shared_root, roots.len()) {
        (true, true, _) => "all clusters share one root\n".into(),
        (true, false, _) => "clusters do NOT share one root\n".into(),
        (false, _, n) => format!(
            "could not read the certificates of {} (see above); the others {}\n",
            unreadable.join(", "),
            if n <= 1 {
                "share one root"
            } else {
                "do NOT share one root"
            }
        ),
    }
}

/// The first bytes of a fingerprint: enough to tell roots apart in a table.
fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(23).collect()
}

async fn rotate(args: RotateArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    mesh_trust::validate_cluster_name(&args.cluster).map_err(trust_error)?;
    let dir = args.keys.dir()?;
    if !dir.root_exists() {
        return Err(no_root(&dir));
    }
    let root = dir.read_root().map_err(trust_error)?;
    dir.read_intermediate(&args.cluster).map_err(|e| {
        InputError::new(format!("cluster {}: nothing to rotate: {e}", args.cluster)).with_hint(format!(
            "create it first: kubectl mesh certs intermediate --cluster {}",
            args.cluster
        ))
    })?;
    // `--apply-to east-1` while rotating west-9: if east-1 is itself a cluster with its own
    // intermediate here, west-9's would give it another cluster's identity.
    if let Some(context) = args.apply_to.as_deref() {
        if context != args.cluster && !args.keys.force && dir.read_intermediate(context).is_ok() {
            return Err(InputError::new(format!(
                "--apply-to {context} is the context of cluster {context}, which has its own intermediate in {}: installing {}'s there would give two clusters one identity",
                dir.path().display(),
                args.cluster
            ))
            .with_hint(format!(
                "rotate that cluster's own: kubectl mesh certs rotate --cluster {context} --apply-to {context} (or pass --force if {context} really is {}'s context)",
                args.cluster
            ))
            .into());
        }
    }
    // Check the context before writing files, so a typo changes nothing.
    let cluster_args = args.apply_to.as_ref().map(|context| ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: None,
        contexts: vec![format!("{}={context}", args.cluster)],
        timeout: std::time::Duration::from_secs(30),
        parallel: 1,
        verbose: args.keys.verbose,
    });
    let clusters = match &cluster_args {
        Some(c) => Some(c.connect().await?),
        None => None,
    };
    // Like `certs secret`: a live cacerts from another root is replaced only with --force,
    // and that is found out before any file is rotated.
    let mut plans = Vec::new();
    for cluster in clusters.iter().flatten() {
        let planned = cacerts::Planned {
            root_pem: root.cert_pem(),
            intermediate_of: &args.cluster,
            force: args.keys.force,
        };
        match cacerts::plan(cluster, &planned).await {
            Plan::Ready { replaces_root } => plans.push(Ok(replaces_root)),
            Plan::Failed(reason) => plans.push(Err(reason)),
            Plan::Input(e) => {
                let mut error = InputError::new(format!("{}\nnothing was changed", e.message));
                error.hint = e
                    .hint
                    .map(|h| h.replace("pass --force", "pass --force to rotate and replace it"));
                return Err(error.into());
            }
        }
    }
    warn_about_root(&root, options.days);
    let issued = mesh_trust::generate_intermediate(&root, &args.cluster, &options).map_err(trust_error)?;
    let backup = dir
        .rotate_intermediate(&args.cluster, &issued)
        .map_err(trust_error)?;
    print_rows(
        &[row(&args.cluster, "rotated", &issued.ca_cert, &issued.root_cert)?],
        OutputFormat::Table,
    )?;
    eprintln!("previous files kept in {}", backup.display());
    let Some(clusters) = clusters else {
        eprintln!(
            "next: kubectl mesh certs secret --contexts {} --dir {}",
            args.cluster,
            dir.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let write = kubectl_mesh_core::apply::WriteOptions::default();
    let jobs = clusters
        .into_iter()
        .zip(plans)
        .map(|(cluster, plan)| Job {
            cluster,
            secret: secret::secret(issued.entries()),
            plan,
        })
        .collect();
    let reports = cacerts::apply_all(jobs, &write, 1, &StderrProgress).await;
    output::print(&output::cluster_reports(
        &reports,
        OutputFormat::Table,
        write.dry_run,
        "CertsSecretReport",
    )?);
    for report in &reports {
        for note in &report.notes {
            crate::hints::eprint(&format!("{}: {note}", report.cluster));
        }
    }
    output::print_errors(&reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}
