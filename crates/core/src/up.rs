//! `up` and `down`: converge every cluster of a topology file, step by step (DESIGN §5.7).
//! Each step runs concurrently across clusters; one failing cluster never stops the others.
//! Everything is applied through the same code as the single commands, so an unchanged file
//! makes no writes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::apply::{self, DryRun, WriteOptions};
use crate::cacerts::{self, Job, Plan};
use crate::clusters::Cluster;
use crate::expose::{self, ExposeOptions};
use crate::labels::{ISTIO_SYSTEM, MANAGED_BY, MANAGED_BY_VALUE, MESH_ID};
use crate::link::{self, Action, LinkOptions, Pair};
use crate::remote_secrets::{self, RemoteOptions};
use crate::report::{ClusterReport, NoProgress, Outcome, Progress};
use crate::resource::{self, Kind, ObjectRef};
use crate::resources::cacerts as cacerts_secret;
use crate::resources::eastwest::{EastWest, Flavor};
use crate::resources::install::{self, HelmRelease, Plan as InstallPlan, Remote, Solo};
use crate::resources::peering::Target;
use crate::topology::{Installer, Model, Topology};
use crate::verify::{self, LinkMode, Status, VerifyOptions};
use crate::{namespaces, parallel, InputError};

/// One line of the summary: what a step did to one cluster (or pair).
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub step: &'static str,
    pub target: String,
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StepRow {
    fn new(step: &'static str, target: &str, result: impl Into<String>) -> Self {
        StepRow {
            step,
            target: target.to_string(),
            result: result.into(),
            error: None,
        }
    }

    fn failed(step: &'static str, target: &str, error: impl Into<String>) -> Self {
        StepRow {
            step,
            target: target.to_string(),
            result: "failed".into(),
            error: Some(error.into()),
        }
    }

    pub fn is_failure(&self) -> bool {
        self.error.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub write: WriteOptions,
    pub wait: Duration,
    pub parallel: usize,
    /// Replace a cacerts Secret signed by another root.
    pub force: bool,
    /// The helm program (a path or a name on PATH).
    pub helm: String,
    /// `--kubeconfig` as given: helm gets it too (else helm reads `$KUBECONFIG` itself).
    pub kubeconfig: Option<PathBuf>,
    /// Where helm values files are written.
    pub values_dir: PathBuf,
    /// The helm repository (or OCI prefix) charts come from: `<chart_repo>/istiod`.
    pub chart_repo: String,
    /// Solo's images and licence ([`preflight`]).
    pub solo: Option<Solo>,
    pub timeout: Duration,
    /// How to reach clusters that left the file (recorded by an earlier `up`), to remove their
    /// links to the others.
    pub reach: Option<Reach>,
    /// `--prune-removed`: also remove everything `up` created in clusters that left the file.
    pub prune_removed: bool,
}

/// The kubeconfig and connection settings to reach clusters that are not in the file.
pub type Reach = (
    crate::kubeconfig::LoadedKubeconfig,
    crate::clusters::ConnectOptions,
);

fn mesh_write(topology: &Topology, options: &UpOptions) -> WriteOptions {
    WriteOptions {
        mesh_id: Some(topology.mesh_id.clone()),
        ..options.write.clone()
    }
}

fn rows_from(step: &'static str, reports: Vec<ClusterReport>) -> Vec<StepRow> {
    reports
        .into_iter()
        .map(|r| match r.error {
            Some(e) => StepRow::failed(step, &r.cluster, e),
            None => StepRow::new(step, &r.cluster, r.result.to_string()),
        })
        .collect()
}

/// The target of the root's rows: not a possible cluster name (a cluster may be `root`).
const ROOT_ROW: &str = "root CA";

/// The bundles of every member, creating what is missing (root first, keys concurrently).
pub fn certs(
    topology: &Topology,
    dry_run: bool,
) -> Result<(Vec<StepRow>, BTreeMap<String, mesh_trust::Intermediate>), InputError> {
    let trust = |e: mesh_trust::Error| InputError::new(format!("certs ({}): {e}", topology.certs_dir));
    let dir = mesh_trust::CertsDir::new(&topology.certs_dir);
    let options = mesh_trust::Options {
        key_type: topology.key_type.parse().map_err(trust)?,
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut bundles = BTreeMap::new();
    let root = if dir.root_exists() {
        rows.push(StepRow::new(
            "certs",
            ROOT_ROW,
            match topology.root_cert.is_some() {
                true => "unchanged (certs.rootCert ignored: a root already exists in certs.dir)",
                false => "unchanged",
            },
        ));
        Some(dir.read_root().map_err(trust)?)
    } else if let (Some(cert), Some(key)) = (&topology.root_cert, &topology.root_key) {
        let root =
            mesh_trust::load_root_files(cert.as_ref(), key.as_ref(), mesh_trust::OffsetDateTime::now_utc())
                .map_err(trust)?;
        rows.push(StepRow::new(
            "certs",
            ROOT_ROW,
            if dry_run { "would import" } else { "imported" },
        ));
        let now = mesh_trust::OffsetDateTime::now_utc();
        for warning in mesh_trust::issue::root_warnings(&root, None, now) {
            rows.push(StepRow::new("certs", ROOT_ROW, format!("warning: {warning}")));
        }
        if !dry_run {
            dir.write_root(&root, false).map_err(trust)?;
        }
        Some(root)
    } else {
        None
    };
    let mut missing = Vec::new();
    for member in &topology.members {
        match dir.read_intermediate(&member.cluster) {
            Ok(bundle) => {
                if let Some(root) = &root {
                    if !cacerts::same_pem(&bundle.root_cert, root.cert_pem()) {
                        return Err(InputError::new(format!(
                            "certs: the intermediate of {} was issued by another root",
                            member.cluster
                        ))
                        .with_hint(format!(
                            "re-issue it: kubectl mesh certs rotate --cluster {} --dir {}",
                            member.cluster, topology.certs_dir
                        )));
                    }
                }
                rows.push(StepRow::new("certs", &member.cluster, "unchanged"));
                bundles.insert(member.cluster.clone(), bundle);
            }
            Err(_) => missing.push(member.cluster.as_str()),
        }
    }
    if missing.is_empty() {
        return Ok((rows, bundles));
    }
    if dry_run {
        if root.is_none() {
            rows.push(StepRow::new("certs", ROOT_ROW, "would create"));
        }
        rows.extend(missing.iter().map(|c| StepRow::new("certs", c, "would create")));
        return Ok((rows, bundles));
    }
    dir.check_writable().map_err(trust)?;
    let (root, issued) = match root {
        Some(root) => {
            let issued = mesh_trust::generate_intermediates(&root, &missing, &options).map_err(trust)?;
            (root, issued)
        }
        None => {
            let (root, issued) = mesh_trust::generate_all(&options, &missing).map_err(trust)?;
            dir.write_root(&root, false).map_err(trust)?;
            rows.push(StepRow::new("certs", ROOT_ROW, "created"));
            (root, issued)
        }
    };
    drop(root);
    for (cluster, bundle) in missing.iter().zip(issued) {
        dir.write_intermediate(cluster, &bundle, false).map_err(trust)?;
        rows.push(StepRow::new("certs", cluster, "created"));
        bundles.insert(cluster.to_string(), bundle);
    }
    Ok((rows, bundles))
}

/// No root on disk, but clusters already trust one: minting a new root (a private key on
/// disk) would only end in "signed by a different root". Said before anything is written,
/// pointing at the likely cause: `certs.dir` is not where this mesh's certificates are.
async fn refuse_new_root_over_live(
    topology: &Topology,
    clusters: &[Cluster],
    options: &UpOptions,
) -> Result<(), InputError> {
    let on_disk = mesh_trust::CertsDir::new(&topology.certs_dir).root_exists();
    if on_disk || topology.root_cert.is_some() || options.force {
        return Ok(());
    }
    let live = parallel::map_bounded(
        clusters.iter().collect(),
        options.parallel,
        |cluster| async move {
            let found = cluster.api.get(&cacerts::path()).await.ok().flatten().is_some();
            found.then(|| cluster.name.clone())
        },
    )
    .await;
    let live: Vec<String> = live.into_iter().flatten().collect();
    if live.is_empty() {
        return Ok(());
    }
    Err(InputError::new(format!(
        "certs.dir {} has no root CA, but {} already {} a cacerts Secret: a new root would not be trusted by {}\nnothing was changed in any cluster or on disk",
        topology.certs_dir,
        live.join(", "),
        if live.len() == 1 { "has" } else { "have" },
        if live.len() == 1 { "it" } else { "them" },
    ))
    .with_hint("point certs.dir (or certs.rootCert/rootKey) at the certificates this mesh uses; to replace its root of trust instead, pass --force (istiod must then restart)"))
}

/// Reads every cluster's cacerts before any write: a different root needs --force.
async fn cacerts_jobs(
    clusters: &[Cluster],
    bundles: &BTreeMap<String, mesh_trust::Intermediate>,
    options: &UpOptions,
) -> Result<Vec<Job>, InputError> {
    let plans = parallel::map_bounded(
        clusters
            .iter()
            .filter(|c| bundles.contains_key(&c.name))
            .collect(),
        options.parallel,
        |cluster| async move {
            let bundle = &bundles[&cluster.name];
            (
                cluster,
                cacerts::plan(
                    cluster,
                    &cacerts::Planned {
                        root_pem: &bundle.root_cert,
                        intermediate_of: &cluster.name,
                        force: options.force,
                    },
                )
                .await,
            )
        },
    )
    .await;
    let mut jobs = Vec::new();
    for (cluster, plan) in plans {
        let plan = match plan {
            Plan::Ready { replaces_root } => Ok(replaces_root),
            Plan::Failed(e) => Err(e),
            Plan::Input(e) => {
                return Err(InputError {
                    message: format!("{}\nnothing was changed in any cluster", e.message),
                    hint: e.hint.map(|h| h.replace("pass --force", "pass --force to up")),
                })
            }
        };
        let secret = cacerts_secret::secret(bundles[&cluster.name].entries());
        jobs.push(Job {
            cluster: cluster.clone(),
            secret,
            plan,
        });
    }
    Ok(jobs)
}

async fn network_labels(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    limit: usize,
) -> Vec<StepRow> {
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        let Some(member) = topology.member(&cluster.name) else {
            return StepRow::failed("network", &cluster.name, "not in the topology");
        };
        let mut report = ClusterReport::new(&cluster.name, &cluster.context);
        match namespaces::ensure(
            &cluster.api,
            ISTIO_SYSTEM,
            Some(&member.network),
            write,
            &mut report,
        )
        .await
        {
            Ok(outcome) => StepRow::new(
                "network",
                &cluster.name,
                format!("{} ({})", outcome, member.network),
            ),
            Err(e) => StepRow::failed("network", &cluster.name, cluster.explain_write(&e)),
        }
    })
    .await
}

/// What `up` needs before touching anything: Solo's images and licence for ambient-peering
/// installed with helm. Checked before any file or cluster is written.
pub fn preflight(topology: &Topology) -> Result<Option<Solo>, InputError> {
    if topology.installer != Installer::Helm || topology.flavor != Flavor::AmbientPeering {
        return Ok(None);
    }
    let settings = &topology.solo;
    let missing = |key: &str, example: &str| {
        InputError::new(format!(
            "{}: flavor ambient-peering installs Solo's distribution of Istio, which needs solo.{key}",
            topology.file
        ))
        .with_hint(format!(
            "add `solo: {{hub: <Solo image repository>, tag: <version>-solo, licenseFile: <path>}}` ({example}), or set installer: none if Istio is installed already"
        ))
    };
    let hub = settings
        .hub
        .clone()
        .ok_or_else(|| missing("hub", "the repository from Solo's support article"))?;
    let tag = settings
        .tag
        .clone()
        .ok_or_else(|| missing("tag", "e.g. 1.30.3-solo"))?;
    let license = match &settings.license_file {
        Some(file) => {
            let path = topology.resolve(file);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                InputError::new(format!(
                    "{}: cannot read solo.licenseFile {}: {e}",
                    topology.file,
                    path.display()
                ))
                .with_hint("licenseFile is relative to the topology file's folder")
            })?;
            text.trim().to_string()
        }
        None => std::env::var("SOLO_LICENSE_KEY")
            .unwrap_or_default()
            .trim()
            .to_string(),
    };
    if license.is_empty() {
        return Err(InputError::new(format!(
            "{}: flavor ambient-peering needs Solo's licence key (peering is an enterprise feature)",
            topology.file
        ))
        .with_hint("set solo.licenseFile in the topology file, or export SOLO_LICENSE_KEY"));
    }
    Ok(Some(Solo { hub, tag, license }))
}

/// With helm, the values folder must be writable before anything changes in a cluster: the
/// install step comes after cacerts, networks and namespaces.
pub fn check_values_dir(topology: &Topology, dir: &std::path::Path) -> Result<(), InputError> {
    if topology.installer != Installer::Helm {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .and_then(|()| check_writable(dir))
        .map_err(|e| {
            InputError::new(format!("cannot write helm values into {}: {e}", dir.display()))
                .with_hint("pass --values-dir a folder you can write to")
        })
}

/// Install configuration per cluster: helm values (and `helm upgrade --install`), or Sail
/// resources. `remotes`: install the remotes of a primary-remote mesh (which need the
/// primary's address), else every other cluster.
async fn install_step(
    topology: &Topology,
    clusters: &[Cluster],
    remote: Option<&Remote>,
    remotes: bool,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let chosen: Vec<&Cluster> = clusters
        .iter()
        .filter(|c| {
            topology
                .member(&c.name)
                .is_some_and(|m| install::is_remote(topology, m) == remotes)
        })
        .collect();
    if chosen.is_empty() {
        return Vec::new();
    }
    if topology.installer == Installer::None {
        return match remotes {
            true => Vec::new(),
            false => vec![StepRow::new("install", "all", "skipped (installer: none)")],
        };
    }
    if remotes && remote.is_none() {
        return chosen
            .iter()
            .map(|c| {
                StepRow::failed(
                    "install",
                    &c.name,
                    "skipped: the primary's east-west gateway has no address, and a remote needs it (see the expose row)",
                )
            })
            .collect();
    }
    parallel::map_bounded(chosen, options.parallel, |cluster| async move {
        let Some(member) = topology.member(&cluster.name) else {
            return StepRow::failed("install", &cluster.name, "not in the topology");
        };
        let remote = remote.filter(|_| install::is_remote(topology, member));
        match install::plan(topology, member, remote, options.solo.as_ref()) {
            InstallPlan::None => StepRow::new("install", &cluster.name, "skipped (installer: none)"),
            InstallPlan::Sail(objects) => sail_install(cluster, &objects, write).await,
            InstallPlan::Helm(releases) => helm_install(member, &releases, cluster, write, options).await,
        }
    })
    .await
}

async fn sail_install(cluster: &Cluster, objects: &[Value], write: &WriteOptions) -> StepRow {
    let mut done = Vec::new();
    for object in objects {
        let what = ObjectRef::of(object);
        match apply::apply(&cluster.api, object, write).await {
            Ok(outcome) => done.push(format!("{outcome} {what}")),
            Err(e) => return StepRow::failed("install", &cluster.name, cluster.explain_write(&e)),
        }
    }
    StepRow::new("install", &cluster.name, done.join(", "))
}

/// Writes one values file; a file holding a secret is 0600 in a 0700 folder.
fn write_values(dir: &std::path::Path, release: &HelmRelease) -> Result<PathBuf, String> {
    let file = dir.join(format!("{}.values.yaml", release.release));
    let text = serde_yaml_ng::to_string(&release.values)
        .map_err(|e| format!("cannot serialise the values of {}: {e}", release.release))?;
    write_file(&file, &text, release.secret).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(file)
}

/// Writes `text` to `path`; `private`: readable by its owner only, whatever the umask, and
/// the folder too (the key files of `certs` follow the same rule).
fn write_file(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !private {
        return std::fs::write(path, text);
    }
    if let Some(dir) = path.parent() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode through open(): set it explicitly.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())
}

async fn helm_install(
    member: &crate::topology::Member,
    releases: &[HelmRelease],
    cluster: &Cluster,
    write: &WriteOptions,
    options: &UpOptions,
) -> StepRow {
    let dir = options.values_dir.join(&member.cluster);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return StepRow::failed(
            "install",
            &cluster.name,
            format!("cannot create {}: {e}", dir.display()),
        );
    }
    let mut done = Vec::new();
    for release in releases {
        let file = match write_values(&dir, release) {
            Ok(file) => file,
            Err(e) => return StepRow::failed("install", &cluster.name, e),
        };
        if write.dry_run != DryRun::None {
            done.push(release.release);
            continue;
        }
        if let Err(e) = run_helm(release, &file, cluster, options).await {
            return StepRow::failed("install", &cluster.name, e);
        }
        done.push(release.release);
    }
    let verb = if write.dry_run == DryRun::None {
        "installed"
    } else {
        "would install"
    };
    StepRow::new(
        "install",
        &cluster.name,
        format!("{verb} {} (values in {})", done.join(", "), dir.display()),
    )
}

async fn run_helm(
    release: &HelmRelease,
    values: &std::path::Path,
    cluster: &Cluster,
    options: &UpOptions,
) -> Result<(), String> {
    let mut command = tokio::process::Command::new(&options.helm);
    command.args([
        "upgrade",
        "--install",
        release.release,
        &format!("{}/{}", options.chart_repo, release.chart),
    ]);
    command.args([
        "--kube-context",
        &cluster.context,
        "--namespace",
        ISTIO_SYSTEM,
        "--create-namespace",
        "--values",
    ]);
    command.arg(values);
    // The same clusters `up` talks to: the context names are the kubeconfig's.
    if let Some(kubeconfig) = &options.kubeconfig {
        command.arg("--kubeconfig").arg(kubeconfig);
    }
    let output = command.output().await.map_err(|e| {
        format!(
            "cannot run {}: {e}; install helm, or set installer: none",
            options.helm
        )
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "helm upgrade --install {} failed: {}",
            release.release,
            stderr.trim()
        ));
    }
    Ok(())
}

/// The expose rows, and the primary's east-west address (primary-remote remotes need it).
async fn expose_step(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    options: &UpOptions,
    progress: &dyn Progress,
) -> (Vec<StepRow>, Option<String>) {
    let exposing: Vec<(Cluster, Result<String, String>)> = clusters
        .iter()
        .filter_map(|c| Some((c.clone(), Ok(topology.member(&c.name)?.network.clone()))))
        .collect();
    let primary_remote = topology.model == Model::PrimaryRemote;
    let expose_options = ExposeOptions {
        gateway: EastWest {
            flavor: topology.flavor,
            expose_istiod: primary_remote && topology.flavor == Flavor::Sidecar,
            ..Default::default()
        },
        network: None,
        write: write.clone(),
        wait: (write.dry_run == DryRun::None).then_some(options.wait),
        parallel: options.parallel,
    };
    let reports = expose::apply_all(exposing, &expose_options, progress).await;
    let primary_address = reports
        .iter()
        .find(|r| Some(&r.cluster) == topology.primary.as_ref())
        .and_then(|r| r.address.clone());
    let rows = reports
        .into_iter()
        .map(|r| match (r.error, &r.address) {
            (Some(e), _) => StepRow::failed("expose", &r.cluster, e),
            (None, Some(address)) => StepRow::new("expose", &r.cluster, format!("{} ({address})", r.result)),
            (None, None) => StepRow::new("expose", &r.cluster, r.result.to_string()),
        })
        .collect();
    (rows, primary_address)
}

fn link_pairs(topology: &Topology, clusters: &[Cluster]) -> Vec<Pair> {
    match (topology.model, &topology.primary) {
        (Model::PrimaryRemote, Some(primary)) => {
            let p = clusters.iter().position(|c| &c.name == primary).unwrap_or(0);
            (0..clusters.len())
                .filter(|&i| i != p)
                .map(|to| Pair { from: p, to })
                .collect()
        }
        _ => link::full_mesh(clusters.len()),
    }
}

fn uses_peering(topology: &Topology) -> bool {
    topology.flavor == Flavor::AmbientPeering && topology.model == Model::MultiPrimary
}

/// `complete`: every cluster of the file is reachable. Only then are links to clusters that
/// are not listed pruned — an unreachable cluster is not a removed one.
async fn link_step(
    topology: &Topology,
    clusters: &[Cluster],
    complete: bool,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let pairs = link_pairs(topology, clusters);
    let mut reports = run_links(topology, clusters, &pairs, complete, write, options).await;
    if let (false, Model::PrimaryRemote, Some(primary)) =
        (uses_peering(topology), topology.model, &topology.primary)
    {
        let remotes: Vec<Cluster> = clusters.iter().filter(|c| &c.name != primary).cloned().collect();
        let remote = remote_options(write, options);
        for (remote_name, result) in remote_secrets::annotate_remotes(&remotes, primary, &remote).await {
            let report = link::PairReport::new(&remote_name, primary);
            reports.push(match result {
                Ok(outcome) => report.with(outcome),
                Err(e) => report.failed(e),
            });
        }
    }
    pair_rows("link", "", reports)
}

/// Links `pairs` with the flavour's mechanism (peer Gateways or remote secrets); `prune`
/// also removes our links to clusters not in `clusters`.
async fn run_links(
    topology: &Topology,
    clusters: &[Cluster],
    pairs: &[Pair],
    prune: bool,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<link::PairReport> {
    if uses_peering(topology) {
        let link_options = LinkOptions {
            write: write.clone(),
            parallel: options.parallel,
            ..Default::default()
        };
        link::run(clusters, pairs, Action::Link, prune, &link_options, &NoProgress).await
    } else {
        let remote = remote_options(write, options);
        remote_secrets::run(clusters, pairs, Action::Link, prune, &remote, &NoProgress).await
    }
}

fn remote_options(write: &WriteOptions, options: &UpOptions) -> RemoteOptions {
    RemoteOptions {
        write: write.clone(),
        parallel: options.parallel,
        token_duration: None,
        server: None,
        token_wait: options.timeout,
    }
}

/// One row per pair; `prefix` says what the outcome is about when the step does not.
fn pair_rows(step: &'static str, prefix: &str, reports: Vec<link::PairReport>) -> Vec<StepRow> {
    reports
        .into_iter()
        .map(|r| {
            let target = format!("{} -> {}", r.from, r.to);
            match r.error {
                Some(e) => StepRow::failed(step, &target, e),
                None => StepRow::new(step, &target, format!("{prefix}{}", r.result)),
            }
        })
        .collect()
}

async fn verify_step(topology: &Topology, clusters: &[Cluster], options: &UpOptions) -> Vec<StepRow> {
    let gateway = EastWest {
        flavor: topology.flavor,
        ..Default::default()
    };
    let verify_options = VerifyOptions {
        flavor: topology.flavor,
        gateway_namespace: gateway.namespace().to_string(),
        gateway_name: gateway.name().to_string(),
        mode: if uses_peering(topology) {
            LinkMode::Peering
        } else {
            LinkMode::RemoteSecret
        },
        parallel: options.parallel,
        timeout: options.timeout,
        ..Default::default()
    };
    let mut checks = verify::run(clusters, &verify_options, &NoProgress).await;
    if topology.model == Model::PrimaryRemote {
        // Remotes hold no secrets to the primary or to each other: only primary -> remote counts.
        let primary = topology.primary.clone().unwrap_or_default();
        checks.retain(|c| c.id != "link" || c.from.as_deref() == Some(primary.as_str()));
    }
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| {
            format!(
                "{} {}: {}",
                c.id,
                match (&c.cluster, &c.from, &c.to) {
                    (Some(cluster), _, _) => cluster.clone(),
                    (None, Some(from), Some(to)) => format!("{from} -> {to}"),
                    _ => "mesh".to_string(),
                },
                c.message
            )
        })
        .collect();
    let passed = checks.iter().filter(|c| c.status == Status::Pass).count();
    let summary = format!("{passed} passed, {} failed", failed.len());
    if failed.is_empty() {
        vec![StepRow::new("verify", "mesh", summary)]
    } else {
        vec![StepRow {
            step: "verify",
            target: "mesh".into(),
            result: summary,
            error: Some(failed.join("; ")),
        }]
    }
}

/// The clusters whose row in `step` did not fail, and a row for each one left out.
fn without_failed(clusters: &[Cluster], step: &[StepRow]) -> (Vec<Cluster>, Vec<StepRow>) {
    let failed = |c: &Cluster| step.iter().any(|r| r.target == c.name && r.is_failure());
    let skipped = clusters
        .iter()
        .filter(|c| failed(c))
        .map(|c| {
            StepRow::failed(
                "skipped",
                &c.name,
                "install, expose and link skipped: its network step failed (fix that, then re-run up)",
            )
        })
        .collect();
    let ready = clusters.iter().filter(|c| !failed(c)).cloned().collect();
    (ready, skipped)
}

/// Rows for what the file says but this run will not use. With `installer: none` nothing
/// installs the file's trust domain: where istiod's differs, the file's is not what runs.
async fn ignored_settings(topology: &Topology, clusters: &[Cluster], limit: usize) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = topology
        .ignored_settings()
        .into_iter()
        .map(|s| StepRow::new("settings", "file", format!("ignored: {s}")))
        .collect();
    if topology.installer != Installer::None {
        return rows;
    }
    let live = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        (cluster, link::read_trust_domain(cluster).await)
    })
    .await;
    for (cluster, trust_domain) in live {
        let (Some(member), Ok(live)) = (topology.member(&cluster.name), trust_domain) else {
            continue;
        };
        if member.trust_domain != live {
            rows.push(StepRow::new(
                "settings",
                &cluster.name,
                format!(
                    "warning: the file's trustDomain {} is not installed (installer: none); istiod uses {live}",
                    member.trust_domain
                ),
            ));
        }
    }
    rows
}

/// A cluster already in another mesh (its members ConfigMap): two meshes on one cluster share
/// its gateways' namespace and cacerts, so say so before writing over them.
async fn other_meshes(topology: &Topology, clusters: &[Cluster], limit: usize) -> Vec<StepRow> {
    let ours = format!("kubectl-mesh-{}", topology.mesh_id);
    let selector = format!("{MANAGED_BY}={MANAGED_BY_VALUE}");
    let found = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let selector = &selector;
        async move {
            let path = resource::CONFIG_MAP.collection_path(Some(ISTIO_SYSTEM));
            let maps = cluster.api.list(&path, Some(selector)).await.unwrap_or_default();
            (cluster, maps)
        }
    })
    .await;
    let mut rows = Vec::new();
    for (cluster, maps) in found {
        for name in maps
            .iter()
            .filter_map(|m| m.pointer("/metadata/name").and_then(Value::as_str))
        {
            if let Some(other) = name.strip_prefix("kubectl-mesh-").filter(|_| name != ours) {
                rows.push(StepRow::new(
                    "settings",
                    &cluster.name,
                    format!("warning: this cluster is also in mesh {other}: both share its east-west gateway and cacerts"),
                ));
            }
        }
    }
    rows
}

/// A row for every pair the link step left out because one of its clusters was skipped, so
/// that the report says per pair what happened.
fn skipped_links(topology: &Topology, all: &[Cluster], ready: &[Cluster]) -> Vec<StepRow> {
    let is_ready = |c: &Cluster| ready.iter().any(|r| r.name == c.name);
    link_pairs(topology, all)
        .into_iter()
        .map(|p| (&all[p.from], &all[p.to]))
        .filter(|(from, to)| !is_ready(from) || !is_ready(to))
        .map(|(from, to)| {
            let skipped = if is_ready(from) { to } else { from };
            StepRow::failed(
                "link",
                &format!("{} -> {}", from.name, to.name),
                format!("skipped: the network step of {} failed", skipped.name),
            )
        })
        .collect()
}

/// Converges `clusters` (in the topology's order) to `topology`.
pub async fn up(
    topology: &Topology,
    clusters: &[Cluster],
    options: &UpOptions,
    progress: &dyn Progress,
) -> Result<Vec<StepRow>, InputError> {
    let write = mesh_write(topology, options);
    let dry_run = write.dry_run != DryRun::None;
    // A cluster that does not answer is reported once and left out of every step, so that
    // it costs one timeout rather than one per step, and never holds up the others.
    let (reachable, unreachable) = probe(clusters, options.parallel).await;
    refuse_new_root_over_live(topology, &reachable, options).await?;
    let (mut rows, bundles) = certs(topology, dry_run)?;
    let complete = unreachable.is_empty();
    rows.extend(unreachable);
    let clusters = reachable.as_slice();
    rows.extend(ignored_settings(topology, clusters, options.parallel).await);
    rows.extend(other_meshes(topology, clusters, options.parallel).await);
    let jobs = cacerts_jobs(clusters, &bundles, options).await?;
    rows.extend(rows_from(
        "cacerts",
        cacerts::apply_all(jobs, &write, options.parallel, progress).await,
    ));
    let network = network_labels(topology, clusters, &write, options.parallel).await;
    // Everything after depends on the network label: a cluster whose label could not be set
    // would get gateways on a network its istio-system disagrees with. Skip it, say so.
    let (ready, skipped) = without_failed(clusters, &network);
    rows.extend(network);
    rows.extend(skipped);
    let complete = complete && ready.len() == clusters.len();
    let all = clusters;
    let clusters = ready.as_slice();
    rows.extend(install_step(topology, clusters, None, false, &write, options).await);
    let (exposed, primary_address) = expose_step(topology, clusters, &write, options, progress).await;
    // Primary-remote: remotes are configured with the primary's east-west address.
    let remote = primary_address.map(|pilot_address| Remote { pilot_address });
    rows.extend(exposed);
    rows.extend(install_step(topology, clusters, remote.as_ref(), true, &write, options).await);
    if dry_run {
        // Links need the targets' gateway addresses, which a dry run has not created.
        let pairs = link_pairs(topology, clusters).len();
        rows.push(StepRow::new(
            "link",
            "all",
            format!("would link {pairs} pairs once the gateways have addresses"),
        ));
    } else {
        rows.extend(link_step(topology, clusters, complete, &write, options).await);
        rows.extend(skipped_links(topology, all, clusters));
        rows.extend(verify_step(topology, clusters, options).await);
    }
    let (removed, unpruned) = removed_members(topology, clusters, &write, options).await;
    rows.extend(removed);
    if !dry_run {
        rows.extend(record_members(topology, &unpruned, clusters, &write, options.parallel).await);
    }
    Ok(in_mood(rows, write.dry_run))
}

/// A dry run changed nothing: its rows say what *would* happen ("would create"), so that
/// nobody reads a plan as a result.
fn in_mood(mut rows: Vec<StepRow>, dry_run: DryRun) -> Vec<StepRow> {
    if dry_run == DryRun::None {
        return rows;
    }
    for row in &mut rows {
        row.result = would(&row.result);
    }
    rows
}

fn would(result: &str) -> String {
    let mut out = String::with_capacity(result.len() + 16);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "created" => "would create",
            "configured" => "would configure",
            "deleted" => "would delete",
            "imported" => "would import",
            other => other,
        });
        word.clear();
    };
    for c in result.chars() {
        if c.is_alphanumeric() || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The ConfigMap in which `up` records the members of a mesh, so that a later `up` knows
/// which clusters left the file (and how to reach them). Clusters that left but were not
/// pruned stay recorded until they are.
fn members_config_map(topology: &Topology, unpruned: &[(String, String)]) -> Value {
    let current = topology
        .members
        .iter()
        .map(|m| (m.cluster.as_str(), m.context.as_str()));
    let left = unpruned.iter().map(|(c, ctx)| (c.as_str(), ctx.as_str()));
    let members: String = current
        .chain(left)
        .map(|(c, ctx)| format!("{c}={ctx}\n"))
        .collect();
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": crate::resources::metadata(&format!("kubectl-mesh-{}", topology.mesh_id), Some(ISTIO_SYSTEM), &[]),
        "data": {"members": members},
    })
}

async fn record_members(
    topology: &Topology,
    unpruned: &[(String, String)],
    clusters: &[Cluster],
    write: &WriteOptions,
    limit: usize,
) -> Vec<StepRow> {
    let desired = members_config_map(topology, unpruned);
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let desired = &desired;
        async move {
            match apply::apply(&cluster.api, desired, write).await {
                Ok(outcome) => StepRow::new("members", &cluster.name, outcome.to_string()),
                Err(e) => StepRow::failed("members", &cluster.name, cluster.explain_write(&e)),
            }
        }
    })
    .await
}

/// Clusters recorded (in the members ConfigMap of any reachable member) by an earlier `up`
/// but gone from the file: cluster name → context.
async fn recorded_former_members(
    topology: &Topology,
    clusters: &[Cluster],
    limit: usize,
) -> BTreeMap<String, String> {
    let name = format!("kubectl-mesh-{}", topology.mesh_id);
    let path = resource::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), &name);
    let recorded = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let path = &path;
        async move { cluster.api.get(path).await.ok().flatten() }
    })
    .await;
    let mut removed = BTreeMap::new();
    for config in recorded.into_iter().flatten() {
        let members = config
            .pointer("/data/members")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for line in members.lines() {
            if let Some((cluster, context)) = line.split_once('=') {
                if topology.member(cluster).is_none() {
                    removed.insert(cluster.to_string(), context.to_string());
                }
            }
        }
    }
    removed
}

/// Connects to a former member, or says why it cannot.
async fn reach_former(reach: Option<&Reach>, cluster: &str, context: &str) -> Result<Cluster, String> {
    let Some((kubeconfig, connect)) = reach else {
        return Err("no kubeconfig to reach it".into());
    };
    if !kubeconfig.has_context(context) {
        return Err(format!("context {context:?} is not in the kubeconfig"));
    }
    let target = crate::clusters::ClusterRef {
        name: cluster.to_string(),
        context: context.to_string(),
    };
    let mut reached = crate::clusters::connect(kubeconfig, std::slice::from_ref(&target), *connect)
        .await
        .map_err(|e| e.message)?;
    reached.pop().ok_or_else(|| "not reached".to_string())
}

/// Removes the links a former member still has to anyone (the others' links to it are
/// removed by the link step): a cluster that left is unlinked in both directions.
async fn unlink_former(
    topology: &Topology,
    former: &Cluster,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let alone = std::slice::from_ref(former);
    pair_rows(
        "removed",
        "link ",
        run_links(topology, alone, &[], true, write, options).await,
    )
}

/// Clusters recorded by an earlier `up` but gone from the file: the others' links to them are
/// removed by the link step, their own links to the others here; with `--prune-removed`,
/// everything `up` made in them is removed too. Returns the report rows and the former
/// members that stay recorded (not pruned, or not reachable), so that a later `up` or `down`
/// still knows how to reach them.
async fn removed_members(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    options: &UpOptions,
) -> (Vec<StepRow>, Vec<(String, String)>) {
    let mut rows = Vec::new();
    let mut unpruned = Vec::new();
    for (cluster, context) in recorded_former_members(topology, clusters, options.parallel).await {
        let former = match reach_former(options.reach.as_ref(), &cluster, &context).await {
            Ok(former) => former,
            // Only a failure when asked to prune it: otherwise the others are unlinked from it
            // (the link step did that), which is all `up` promises for a cluster that left.
            Err(e) if options.prune_removed => {
                rows.push(StepRow::failed(
                    "removed",
                    &cluster,
                    format!("cannot prune it: {e}"),
                ));
                unpruned.push((cluster, context));
                continue;
            }
            Err(e) => {
                rows.push(StepRow::new(
                    "removed",
                    &cluster,
                    format!(
                        "warning: unlinked from the others; its own links were not checked ({e}); it stays recorded in ConfigMap istio-system/kubectl-mesh-{} until pruned",
                        topology.mesh_id
                    ),
                ));
                unpruned.push((cluster, context));
                continue;
            }
        };
        let unlinked = unlink_former(topology, &former, write, options).await;
        let mut failed = unlinked.iter().any(StepRow::is_failure);
        rows.extend(unlinked);
        if options.prune_removed {
            let pruned = down(
                topology,
                std::slice::from_ref(&former),
                write,
                None,
                options.parallel,
            )
            .await;
            failed |= pruned.iter().any(StepRow::is_failure);
            rows.extend(pruned.into_iter().map(|r| StepRow { step: "removed", ..r }));
        } else {
            rows.push(StepRow::new(
                "removed",
                &cluster,
                "unlinked in both directions; its own objects are left (--prune-removed removes them)",
            ));
        }
        if failed || !options.prune_removed {
            unpruned.push((cluster, context));
        }
    }
    (rows, unpruned)
}

/// Splits the clusters into those that answer `/version` and rows for those that do not.
async fn probe(clusters: &[Cluster], limit: usize) -> (Vec<Cluster>, Vec<StepRow>) {
    let answers = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        (cluster, cluster.api.get_required("/version").await)
    })
    .await;
    let mut reachable = Vec::new();
    let mut rows = Vec::new();
    for (cluster, answer) in answers {
        match answer {
            Ok(_) => reachable.push(cluster.clone()),
            Err(e) => rows.push(StepRow::failed(
                "reach",
                &cluster.name,
                format!("{}; skipped in every step", cluster.explain(&e)),
            )),
        }
    }
    (reachable, rows)
}

/// What `down` deletes, in order: dependants before what they depend on, namespaces last.
const DOWN_KINDS: [Kind; 16] = [
    resource::GATEWAY,
    resource::ISTIO_GATEWAY,
    resource::VIRTUAL_SERVICE,
    resource::SECRET,
    resource::SERVICE,
    resource::DEPLOYMENT,
    resource::ROLE_BINDING,
    resource::ROLE,
    resource::SERVICE_ACCOUNT,
    resource::CLUSTER_ROLE_BINDING,
    resource::CLUSTER_ROLE,
    resource::SAIL_ISTIO,
    resource::SAIL_ZTUNNEL,
    resource::SAIL_ISTIO_CNI,
    resource::CONFIG_MAP,
    resource::NAMESPACE,
];

/// Deletes every object carrying our managed-by label and this mesh's id, in `clusters` and
/// (with `former`, a way to reach them) in former members recorded by an earlier `up`. Key
/// material on disk is never touched; istio-system is never deleted (Istio lives there).
pub async fn down(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    former: Option<&Reach>,
    limit: usize,
) -> Vec<StepRow> {
    let selector = format!("{MANAGED_BY}={MANAGED_BY_VALUE},{MESH_ID}={}", topology.mesh_id);
    let (mut reachable, mut rows) = probe(clusters, limit).await;
    if former.is_some() {
        for (cluster, context) in recorded_former_members(topology, &reachable, limit).await {
            match reach_former(former, &cluster, &context).await {
                Ok(c) => reachable.push(c),
                Err(e) => rows.push(StepRow::failed(
                    "down",
                    &cluster,
                    format!("a former member of the mesh, not reached: {e}"),
                )),
            }
        }
    }
    let per_cluster = parallel::map_bounded(reachable.iter().collect(), limit, |cluster| {
        let selector = selector.clone();
        async move { down_cluster(cluster, &selector, &topology.mesh_id, write).await }
    })
    .await;
    rows.extend(per_cluster.into_iter().flatten());
    in_mood(rows, write.dry_run)
}

async fn down_cluster(
    cluster: &Cluster,
    selector: &str,
    mesh_id: &str,
    write: &WriteOptions,
) -> Vec<StepRow> {
    let mut rows = Vec::new();
    for kind in DOWN_KINDS {
        let items = match cluster
            .api
            .list(&kind.collection_path(None), Some(selector))
            .await
        {
            Ok(items) => items,
            Err(e) if e.is_not_found() => continue, // that API group is not installed
            Err(e) => {
                rows.push(StepRow::failed(
                    "down",
                    &cluster.name,
                    format!("listing {}: {}", kind.resource_name(), cluster.explain(&e)),
                ));
                continue;
            }
        };
        for item in items {
            let object = ObjectRef::of(&with_kind(item, kind));
            if kind == resource::NAMESPACE && object.name == ISTIO_SYSTEM {
                rows.push(StepRow::new(
                    "down",
                    &cluster.name,
                    "kept Namespace istio-system (Istio's own)",
                ));
                continue;
            }
            if kind == resource::NAMESPACE {
                if let Some(other) = foreign_content(cluster, &object.name, mesh_id).await {
                    rows.push(StepRow::new(
                        "down",
                        &cluster.name,
                        format!("kept {object}: it still holds {other}, not this mesh's"),
                    ));
                    continue;
                }
            }
            let path = kind.object_path(object.namespace.as_deref(), &object.name);
            rows.push(
                match apply::delete(&cluster.api, &object, &path, write.dry_run).await {
                    Ok(Outcome::Deleted) if kind == resource::NAMESPACE && write.dry_run == DryRun::None => {
                        namespace_gone(cluster, &object, &path).await
                    }
                    Ok(Outcome::Deleted) => StepRow::new("down", &cluster.name, format!("deleted {object}")),
                    Ok(_) => StepRow::new("down", &cluster.name, format!("already gone {object}")),
                    Err(e) => StepRow::failed("down", &cluster.name, cluster.explain_write(&e)),
                },
            );
        }
    }
    if rows.is_empty() {
        rows.push(StepRow::new("down", &cluster.name, "nothing to remove"));
    }
    rows
}

/// An object in `namespace` that is not this mesh's (another mesh's gateways, or anything
/// someone else put there): deleting the namespace would delete it too.
async fn foreign_content(cluster: &Cluster, namespace: &str, mesh_id: &str) -> Option<String> {
    for kind in DOWN_KINDS.iter().filter(|k| k.namespaced) {
        let Ok(items) = cluster
            .api
            .list(&kind.collection_path(Some(namespace)), None)
            .await
        else {
            continue;
        };
        let foreign = items.into_iter().find(|item| {
            let ours = item
                .pointer("/metadata/labels")
                .and_then(|l| l.get(MESH_ID))
                .and_then(Value::as_str)
                == Some(mesh_id);
            !ours && !made_by_kubernetes(*kind, item)
        });
        if let Some(item) = foreign {
            return Some(ObjectRef::of(&with_kind(item, *kind)).to_string());
        }
    }
    None
}

/// What Kubernetes puts in every namespace (the `default` ServiceAccount and its token, the
/// `kube-root-ca.crt` ConfigMap): it goes with the namespace and says nothing of who uses it.
fn made_by_kubernetes(kind: Kind, item: &Value) -> bool {
    let name = item.pointer("/metadata/name").and_then(Value::as_str);
    match kind {
        k if k == resource::SERVICE_ACCOUNT => name == Some("default"),
        k if k == resource::CONFIG_MAP => name == Some("kube-root-ca.crt"),
        k if k == resource::SECRET => {
            item.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
        }
        _ => false,
    }
}

/// A deleted namespace is Terminating until its content is removed: `down` reports it
/// deleted once it is gone, as `kubectl delete` waits for it.
async fn namespace_gone(cluster: &Cluster, object: &ObjectRef, path: &str) -> StepRow {
    const TIMEOUT: Duration = Duration::from_secs(120);
    match apply::wait_gone(&cluster.api, path, TIMEOUT).await {
        Ok(true) => StepRow::new("down", &cluster.name, format!("deleted {object}")),
        Ok(false) => StepRow::failed(
            "down",
            &cluster.name,
            format!(
                "{object} is still terminating after {}s: see what holds it with `kubectl --context {} get namespace {} -o yaml`",
                TIMEOUT.as_secs(),
                cluster.context,
                object.name
            ),
        ),
        Err(e) => StepRow::failed("down", &cluster.name, cluster.explain(&e)),
    }
}

/// Items of a LIST may come without apiVersion/kind; give them the kind that was listed.
fn with_kind(mut item: Value, kind: Kind) -> Value {
    item["apiVersion"] = Value::String(kind.api_version.to_string());
    item["kind"] = Value::String(kind.kind.to_string());
    item
}

/// `up --generate DIR`: everything `up` would apply, one directory per cluster; no cluster is
/// written to. Objects come from the same builders as `up` ([`install::plan`] for the
/// installer). Links are described from the topology file (cluster, network, trust domain);
/// only what exists nowhere else is read from the clusters: each east-west gateway's address,
/// and the primary's address that remotes of a primary-remote mesh need. Where a cluster
/// disagrees with the file, a row says so.
pub async fn generate(
    topology: &Topology,
    clusters: &[Cluster],
    dir: &std::path::Path,
    options: &UpOptions,
) -> Result<Vec<StepRow>, InputError> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        InputError::new(format!("cannot write {}: {e}", path.display()))
    };
    // The output folder first: a bad one must fail before certs (a new root key) are written.
    std::fs::create_dir_all(dir)
        .and_then(|()| check_writable(dir))
        .map_err(|e| io(dir, e).with_hint("pass --generate a folder you can write to"))?;
    let (mut rows, bundles) = certs(topology, false)?;
    let write = mesh_write(topology, options);
    let targets = match uses_peering(topology) {
        true => planned_targets(topology, &read_targets(clusters, options).await, &mut rows),
        false => BTreeMap::new(),
    };
    let remote = primary_address(topology, clusters).await;
    for member in &topology.members {
        let out = dir.join(&member.cluster);
        std::fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
        let mut files: Vec<(String, Vec<Value>, bool)> = Vec::new();
        if let Some(bundle) = bundles.get(&member.cluster) {
            let secret = cacerts_secret::secret(bundle.entries());
            files.push(("cacerts.yaml".into(), vec![secret], true));
        }
        files.push((
            "eastwest.yaml".into(),
            generated_eastwest(topology, member, &write),
            false,
        ));
        if let (true, Some(primary)) = (install::is_remote(topology, member), &topology.primary) {
            let annotation = crate::resources::remote_secret::control_plane_annotation(primary);
            files.push(("control-plane.yaml".into(), vec![annotation], false));
        }
        let remote_of_member = remote.as_ref().filter(|_| install::is_remote(topology, member));
        if install::is_remote(topology, member) && remote_of_member.is_none() {
            rows.push(StepRow::failed(
                "generate",
                &member.cluster,
                "install values not written: a remote needs the primary's east-west address, and the primary has none yet (run up, or expose the primary, then generate again)",
            ));
        } else {
            match install::plan(topology, member, remote_of_member, options.solo.as_ref()) {
                InstallPlan::None => {}
                InstallPlan::Sail(objects) => files.push(("istio.yaml".into(), objects, false)),
                InstallPlan::Helm(releases) => {
                    for release in &releases {
                        let path = write_values(&out, release).map_err(InputError::new)?;
                        rows.push(StepRow::new(
                            "generate",
                            &member.cluster,
                            path.display().to_string(),
                        ));
                    }
                }
            }
        }
        let peers = generated_links(topology, member, &targets);
        if !peers.is_empty() {
            files.push(("links.yaml".into(), peers, false));
        }
        for (name, objects, private) in files {
            let path = out.join(&name);
            let text = yaml_stream(&objects, &write)?;
            write_file(&path, &text, private).map_err(|e| io(&path, e))?;
            rows.push(StepRow::new(
                "generate",
                &member.cluster,
                path.display().to_string(),
            ));
        }
    }
    if !uses_peering(topology) {
        rows.push(StepRow::new(
            "generate",
            "links",
            "remote secrets hold credentials and are not written: after applying, run `kubectl mesh up -f <file>` (or `kubectl mesh link`)",
        ));
    }
    Ok(rows)
}

/// Whether files can be created in `dir` (a read-only or full file system says so here).
fn check_writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(".kubectl-mesh-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

/// `---`-separated YAML documents, marked with the mesh id like what `up` applies.
fn yaml_stream(objects: &[Value], write: &WriteOptions) -> Result<String, InputError> {
    let mut text = String::new();
    for object in objects {
        let object = apply::with_mesh_id(object, write).unwrap_or_else(|| object.clone());
        let yaml = serde_yaml_ng::to_string(&object)
            .map_err(|e| InputError::new(format!("cannot serialise {}: {e}", ObjectRef::of(&object))))?;
        text.push_str("---\n");
        text.push_str(&yaml);
    }
    Ok(text)
}

fn generated_eastwest(
    topology: &Topology,
    member: &crate::topology::Member,
    write: &WriteOptions,
) -> Vec<Value> {
    let expose_options = ExposeOptions {
        gateway: EastWest {
            flavor: topology.flavor,
            expose_istiod: topology.model == Model::PrimaryRemote && topology.flavor == Flavor::Sidecar,
            cluster: Some(member.cluster.clone()),
            ..Default::default()
        },
        network: Some(member.network.clone()),
        write: write.clone(),
        ..Default::default()
    };
    expose::generate(&expose_options, &member.network)
}

/// What each reachable cluster's east-west gateway says about it, by cluster name.
async fn read_targets(clusters: &[Cluster], options: &UpOptions) -> BTreeMap<String, Result<Target, String>> {
    let link_options = &LinkOptions::default();
    parallel::map_bounded(
        clusters.iter().collect(),
        options.parallel,
        |cluster| async move {
            (
                cluster.name.clone(),
                link::read_target(cluster, link_options).await,
            )
        },
    )
    .await
    .into_iter()
    .collect()
}

/// The targets as the topology file describes them, with the address read from the cluster.
/// A member without an address gets a row saying why its links are missing; a cluster whose
/// labels or trust domain disagree with the file gets a row saying so (the file wins).
fn planned_targets(
    topology: &Topology,
    live: &BTreeMap<String, Result<Target, String>>,
    rows: &mut Vec<StepRow>,
) -> BTreeMap<String, Target> {
    let mut targets = BTreeMap::new();
    for member in &topology.members {
        match live.get(&member.cluster) {
            Some(Ok(found)) => {
                let mut target = found.clone();
                for (what, file, cluster) in [
                    ("network", &member.network, &found.network),
                    ("trust domain", &member.trust_domain, &found.trust_domain),
                ] {
                    if file != cluster {
                        rows.push(StepRow::new(
                            "generate",
                            &member.cluster,
                            format!("warning: the cluster says {what} {cluster:?}, the file {file:?}; links use the file's (apply eastwest.yaml to align the cluster)"),
                        ));
                    }
                }
                target.cluster = member.cluster.clone();
                target.network = member.network.clone();
                target.trust_domain = member.trust_domain.clone();
                targets.insert(member.cluster.clone(), target);
            }
            Some(Err(e)) => rows.push(StepRow::new(
                "generate",
                &member.cluster,
                format!("links to it not written: {e}; apply eastwest.yaml, wait for its address, then generate again"),
            )),
            None => rows.push(StepRow::new(
                "generate",
                &member.cluster,
                "links to it not written: the cluster did not answer",
            )),
        }
    }
    targets
}

/// Primary-remote: the primary's east-west address, as the live `up` takes it from expose.
async fn primary_address(topology: &Topology, clusters: &[Cluster]) -> Option<Remote> {
    let primary = topology
        .primary
        .as_ref()
        .filter(|_| topology.model == Model::PrimaryRemote)?;
    let cluster = clusters.iter().find(|c| &c.name == primary)?;
    let readiness = EastWest {
        flavor: topology.flavor,
        ..Default::default()
    }
    .readiness();
    let pilot_address = expose::current_address(&cluster.api, &readiness).await?;
    Some(Remote { pilot_address })
}

/// The peer Gateways `member` gets (peering flavour): one per other member with an address.
fn generated_links(
    topology: &Topology,
    member: &crate::topology::Member,
    targets: &BTreeMap<String, Target>,
) -> Vec<Value> {
    if !uses_peering(topology) {
        return Vec::new();
    }
    topology
        .members
        .iter()
        .filter(|m| m.cluster != member.cluster)
        .filter_map(|m| targets.get(&m.cluster))
        .map(|t| crate::resources::peering::gateway(t, "istio-gateways"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dry_run_rows_say_would() {
        assert_eq!(super::would("created (n1)"), "would create (n1)");
        assert_eq!(
            super::would("configured IstioCNI default, unchanged Istio default"),
            "would configure IstioCNI default, unchanged Istio default"
        );
        assert_eq!(
            super::would("deleted Secret istio-system/cacerts"),
            "would delete Secret istio-system/cacerts"
        );
        assert_eq!(
            super::would("kept Namespace created-ns"),
            "kept Namespace created-ns"
        );
    }
}
