//! The install step: what helm or the Sail operator gets (the plan is built in
//! `resources::install`), Solo's settings checked first, values files written privately when
//! they hold the licence.

use super::*;

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
pub(super) async fn install_step(
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
        let result = match install::plan(topology, member, remote, options.solo.as_ref()) {
            InstallPlan::None => Ok("skipped (installer: none)".to_string()),
            InstallPlan::Sail(objects) => Sail { write }.install(cluster, &objects).await,
            InstallPlan::Helm(releases) => Helm { write, options }.install(cluster, &releases).await,
        };
        match result {
            Ok(done) => StepRow::new("install", &cluster.name, done),
            Err(e) => StepRow::failed("install", &cluster.name, e),
        }
    })
    .await
}

/// Carries out one cluster's install plan (made by `resources::install::plan`, which decides
/// *what*; an installer decides *how*): `Ok` says what was done, `Err` why it stopped.
trait Install {
    type Plan: ?Sized;
    async fn install(&self, cluster: &Cluster, plan: &Self::Plan) -> Result<String, String>;
}

/// The Sail operator: its `Istio`/`IstioCNI`/`ZTunnel` resources, applied in order.
struct Sail<'a> {
    write: &'a WriteOptions,
}

/// Helm: a values file per release, then `helm upgrade --install` (not under --dry-run).
struct Helm<'a> {
    write: &'a WriteOptions,
    options: &'a UpOptions,
}

impl Install for Sail<'_> {
    type Plan = [Value];

    async fn install(&self, cluster: &Cluster, objects: &[Value]) -> Result<String, String> {
        let mut done = Vec::new();
        for object in objects {
            let what = ObjectRef::of(object);
            let outcome = apply::apply(&cluster.api, object, self.write)
                .await
                .map_err(|e| cluster.explain_write(&e))?;
            done.push(format!("{outcome} {what}"));
        }
        Ok(done.join(", "))
    }
}

/// Writes one values file; a file holding a secret is 0600 in a 0700 folder.
pub(super) fn write_values(dir: &std::path::Path, release: &HelmRelease) -> Result<PathBuf, String> {
    let file = dir.join(format!("{}.values.yaml", release.release));
    let text = crate::yaml::to_string(&release.values)
        .map_err(|e| format!("cannot serialise the values of {}: {e}", release.release))?;
    write_file(&file, &text, release.secret).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(file)
}

/// Writes `text` to `path`; `private`: readable by its owner only, whatever the umask, and
/// the folder too — the rule of the key files of `certs`, whose writer this is.
pub(super) fn write_file(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    match private {
        true => mesh_trust::write_private(path, text),
        false => std::fs::write(path, text),
    }
}

impl Install for Helm<'_> {
    type Plan = [HelmRelease];

    async fn install(&self, cluster: &Cluster, releases: &[HelmRelease]) -> Result<String, String> {
        let dir = self.options.values_dir.join(&cluster.name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // Recorded before helm runs: a helm that stops halfway may have created a release
        // already, and `down` must know of it. No record, no install.
        record_releases(cluster, releases, self.write).await?;
        let mut done = Vec::new();
        for release in releases {
            let file = write_values(&dir, release)?;
            if self.write.dry_run == DryRun::None {
                run_helm(release, &file, cluster, self.options).await?;
            }
            done.push(release.release);
        }
        let verb = match self.write.dry_run {
            DryRun::None => "installed",
            _ => "would install",
        };
        Ok(format!(
            "{verb} {} (values in {})",
            done.join(", "),
            dir.display()
        ))
    }
}

async fn run_helm(
    release: &HelmRelease,
    values: &std::path::Path,
    cluster: &Cluster,
    options: &UpOptions,
) -> Result<(), String> {
    let chart = format!("{}/{}", options.chart_repo, release.chart);
    let output = HelmCommand::of(options)
        .run(
            cluster,
            ["upgrade", "--install", release.release, &chart],
            [
                "--namespace".as_ref(),
                ISTIO_SYSTEM.as_ref(),
                "--create-namespace".as_ref(),
                "--values".as_ref(),
                values.as_os_str(),
            ],
        )
        .await
        .map_err(|e| {
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

/// The ConfigMap (in istio-system of each cluster) naming the helm releases `up` installed
/// there, in install order: `down` uninstalls exactly these, and nothing it did not install.
pub(super) fn releases_record_name(mesh_id: &str) -> String {
    format!("kubectl-mesh-{mesh_id}-helm-releases")
}

/// The releases of a record, in install order (one `<namespace>/<release>` a line).
pub(super) fn recorded_releases(record: &Value) -> Vec<(String, String)> {
    record
        .pointer("/data/releases")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let (namespace, release) = line.trim().split_once('/')?;
            (!namespace.is_empty() && !release.is_empty())
                .then(|| (namespace.to_string(), release.to_string()))
        })
        .collect()
}

/// Adds `releases` to the cluster's record, keeping what an earlier `up` recorded (a release
/// the file no longer plans, e.g. ztunnel after a switch to sidecar, is still ours to remove).
async fn record_releases(
    cluster: &Cluster,
    releases: &[HelmRelease],
    write: &WriteOptions,
) -> Result<(), String> {
    let Some(mesh_id) = write.mesh_id.as_deref() else {
        return Ok(());
    };
    let name = releases_record_name(mesh_id);
    let path = kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), &name);
    let live = cluster
        .api
        .get(&path)
        .await
        .map_err(|e| format!("reading ConfigMap {ISTIO_SYSTEM}/{name}: {}", cluster.explain(&e)))?;
    let mut all = live.as_ref().map(recorded_releases).unwrap_or_default();
    for release in releases {
        let entry = (ISTIO_SYSTEM.to_string(), release.release.to_string());
        if !all.contains(&entry) {
            all.push(entry);
        }
    }
    let lines: String = all.iter().map(|(ns, r)| format!("{ns}/{r}\n")).collect();
    let record = k8s_openapi::api::core::v1::ConfigMap {
        metadata: crate::resources::object_meta(&name, Some(ISTIO_SYSTEM), &[]),
        data: Some(BTreeMap::from([("releases".to_string(), lines)])),
        ..Default::default()
    };
    let record = crate::resources::to_value(&record, &[]);
    apply::apply_over(&cluster.api, &record, live.as_ref(), write)
        .await
        .map(|_| ())
        .map_err(|e| cluster.explain_write(&e))
}

/// How `up` and `down` run helm: the program and the kubeconfig they were given.
#[derive(Debug, Clone, Default)]
pub struct HelmCommand {
    pub program: String,
    pub kubeconfig: Option<PathBuf>,
}

impl HelmCommand {
    pub(super) fn of(options: &UpOptions) -> Self {
        HelmCommand {
            program: options.helm.clone(),
            kubeconfig: options.kubeconfig.clone(),
        }
    }

    /// Runs `helm <leading> --kube-context <cluster's context> <trailing>`, then
    /// `--kubeconfig` when one was given: the same clusters `up` talks to, as the context
    /// names are the kubeconfig's.
    async fn run<L, T>(
        &self,
        cluster: &Cluster,
        leading: impl IntoIterator<Item = L>,
        trailing: impl IntoIterator<Item = T>,
    ) -> std::io::Result<std::process::Output>
    where
        L: AsRef<std::ffi::OsStr>,
        T: AsRef<std::ffi::OsStr>,
    {
        let mut command = tokio::process::Command::new(&self.program);
        command
            .args(leading)
            .args(["--kube-context", &cluster.context])
            .args(trailing);
        if let Some(kubeconfig) = &self.kubeconfig {
            command.arg("--kubeconfig").arg(kubeconfig);
        }
        command.output().await
    }
}

/// What one `helm uninstall` found.
pub(super) enum Uninstalled {
    Done,
    /// helm knows no such release (someone removed it already).
    NotFound,
}

/// `helm uninstall <release> --namespace <ns> --kube-context <ctx> --wait`
/// (helm 3 `helm uninstall`: RELEASE_NAME, `--wait` "will wait until all the resources are
/// deleted before returning", and the global `--kube-context`, `--kubeconfig` and
/// `-n/--namespace`; helm.sh/docs/helm/helm_uninstall). `--wait` so that a release is gone
/// before the one it depends on goes (istiod before base, whose CRDs it watches). A missing
/// release is told by helm's "release: not found" (helm v3 pkg/storage/driver/driver.go,
/// `ErrReleaseNotFound`) rather than `--ignore-not-found`, which older helm 3 lacks.
pub(super) async fn run_helm_uninstall(
    helm: &HelmCommand,
    namespace: &str,
    release: &str,
    cluster: &Cluster,
) -> Result<Uninstalled, String> {
    let output = helm
        .run(
            cluster,
            ["uninstall", release, "--namespace", namespace],
            ["--wait"],
        )
        .await
        .map_err(|e| {
            format!(
                "cannot run {} to uninstall helm release {namespace}/{release}: {e}; pass --helm PATH",
                helm.program
            )
        })?;
    if output.status.success() {
        return Ok(Uninstalled::Done);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("release: not found") {
        return Ok(Uninstalled::NotFound);
    }
    Err(format!(
        "helm uninstall {release} --namespace {namespace} failed: {}",
        stderr.trim()
    ))
}

/// Whether files can be created in `dir` (a read-only or full file system says so here).
pub(super) fn check_writable(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(".kubectl-mesh-write-test");
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}
