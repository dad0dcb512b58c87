//! `certs secret`: the `cacerts` Secret in every cluster, refusing to silently swap the root
//! of trust under a running mesh. Each cluster's bundle comes from the directory (checked
//! before any request), its live Secret is read once, the plan compares the two, and
//! [`jobs`] — shared with `certs rotate` and `up` — turns plans into work for [`apply_all`].

use std::collections::BTreeMap;

use mesh_trust::{CertsDir, Intermediate};
use serde_json::Value;

use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::kinds;
use crate::kube::{namespaces, parallel};
use crate::labels::ISTIO_SYSTEM;
use crate::report::{ClusterReport, Progress};
use crate::resources::cacerts;
use crate::InputError;

/// `certs secret`: every cluster's bundle from `dir` (bad files refused before any request),
/// planned against its live `cacerts`; every refusal at once, before any write.
pub async fn jobs_from_dir(
    dir: &CertsDir,
    clusters: &[Cluster],
    force: bool,
    limit: usize,
) -> Result<Vec<Job>, InputError> {
    let mut bundles = BTreeMap::new();
    for cluster in clusters {
        bundles.insert(cluster.name.clone(), bundle(dir, &cluster.name)?);
    }
    let live = read_live(clusters, limit).await;
    jobs(live, &bundles, force).map_err(Refused::all)
}

/// `certs secret --generate`: the Secrets of `clusters`, from `dir`.
pub fn secrets(dir: &CertsDir, clusters: &[String]) -> Result<Vec<Value>, InputError> {
    clusters
        .iter()
        .map(|cluster| Ok(cacerts::secret(bundle(dir, cluster)?.entries())))
        .collect()
}

/// The bundle of one cluster, from its directory and fit for Istio; a missing or broken
/// bundle is bad input, with the command that fixes it.
pub fn bundle(dir: &CertsDir, cluster: &str) -> Result<Intermediate, InputError> {
    let bundle = dir.read_intermediate(cluster).map_err(|e| {
        InputError::new(format!("cluster {cluster}: {e}")).with_hint(reissue_hint(dir, cluster))
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
    Ok(bundle)
}

/// How to get a readable bundle for `cluster`. Broken files are only replaced with --force: a
/// hint without it would just fail. `intermediate --force` re-issues from the existing root;
/// `generate --force` would replace the root too, and with it every other cluster's trust.
fn reissue_hint(dir: &CertsDir, cluster: &str) -> String {
    let has_files = dir
        .cluster_dir(cluster)
        .ok()
        .and_then(|d| std::fs::read_dir(d).ok())
        .is_some_and(|mut entries| entries.next().is_some());
    match has_files {
        true => format!(
            "re-issue it from the existing root: `kubectl mesh certs intermediate --cluster {cluster} --dir {} --force`",
            dir.path().display()
        ),
        false => format!(
            "create it with `kubectl mesh certs generate --clusters {cluster} --dir {}`",
            dir.path().display()
        ),
    }
}

/// A cluster's `cacerts` as read once, before any write: absent (`None`), or why it could
/// not be read. Not `Debug`: the Secret holds the intermediate's private key.
pub struct Live {
    pub cluster: Cluster,
    pub secret: Result<Option<Value>, ClusterError>,
}

/// Reads every cluster's `cacerts`, `limit` at a time, in the order of `clusters`.
pub async fn read_live(clusters: &[Cluster], limit: usize) -> Vec<Live> {
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        let secret = cluster.api.get(&path()).await.map_err(|e| cluster.error(e));
        Live {
            cluster: cluster.clone(),
            secret,
        }
    })
    .await
}

/// What comparing a cluster's live `cacerts` with the planned one found.
pub enum Plan {
    /// Safe to apply; `replaces_root` when `--force` lets a different root replace the live one.
    Ready { replaces_root: bool },
    /// Refused without `--force`: another root, or another cluster's intermediate.
    Input(InputError),
    /// The live Secret could not be read: this cluster's job fails, the others go on.
    Failed(ClusterError),
}

/// The API path of the `cacerts` Secret.
pub fn path() -> String {
    kinds::SECRET.object_path(Some(ISTIO_SYSTEM), cacerts::NAME)
}

/// What is about to be written into one cluster's `cacerts`.
pub struct Planned<'a> {
    /// The root the new intermediate chains to.
    pub root_pem: &'a str,
    /// The cluster the new intermediate was issued for (its subject's `L=`).
    pub intermediate_of: &'a str,
    /// `--force`: replace a Secret from another root, or holding another cluster's intermediate.
    pub force: bool,
}

/// Compares the live `cacerts` with what is planned: a different root, or another cluster's
/// intermediate (e.g. `--contexts east-2=east-1` sending east-2's into east-1's cluster),
/// needs `force`. Both mistakes would leave two clusters with one identity, or none.
pub fn plan(live: &Live, planned: &Planned<'_>) -> Plan {
    let cluster = &live.cluster;
    let secret = match &live.secret {
        Ok(secret) => secret.as_ref(),
        Err(reason) => return Plan::Failed(reason.clone()),
    };
    let entry = |key| secret.and_then(|s| cacerts::entry(s, key));
    if let Some(live_root) = entry(cacerts::ROOT_CERT_KEY) {
        if !same_pem(&live_root, planned.root_pem) {
            if planned.force {
                return Plan::Ready { replaces_root: true };
            }
            return Plan::Input(
                InputError::new(format!(
                    "cluster {} (context {}): the cacerts Secret in istio-system is signed by a different root",
                    cluster.name, cluster.context
                ))
                .with_hint(
                    "replacing the root breaks trust between workloads until istiod restarts and every workload gets a new certificate; pass --force to replace it",
                ),
            );
        }
    }
    let live_owner = entry(cacerts::CA_CERT_KEY)
        .and_then(|pem| mesh_trust::inspect(&pem).ok())
        .and_then(|info| info.locality);
    match live_owner {
        Some(owner) if owner != planned.intermediate_of && !planned.force => Plan::Input(
            InputError::new(format!(
                "cluster {} (context {}): its cacerts holds the intermediate of cluster {owner}, not of {}",
                cluster.name, cluster.context, planned.intermediate_of
            ))
            .with_hint(
                "check the name=context pairing (two clusters must not share an intermediate); to replace it anyway, pass --force",
            ),
        ),
        _ => Plan::Ready { replaces_root: false },
    }
}

/// The one plan-to-jobs step of `certs secret`, `certs rotate --apply-to` and `up`: every
/// cluster with a bundle in `bundles` (by cluster name) gets a job holding its Secret, or the
/// reason its `cacerts` could not be read. A cluster without a bundle is left out (`up
/// --dry-run` has none for an intermediate it would create). Refusals are all returned
/// instead of any job, so that nothing is written.
pub fn jobs(
    live: Vec<Live>,
    bundles: &BTreeMap<String, Intermediate>,
    force: bool,
) -> Result<Vec<Job>, Refused> {
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for live in live {
        let Some(bundle) = bundles.get(&live.cluster.name) else {
            continue;
        };
        let planned = Planned {
            root_pem: &bundle.root_cert,
            intermediate_of: &live.cluster.name,
            force,
        };
        let plan = match plan(&live, &planned) {
            Plan::Ready { replaces_root } => Ok(replaces_root),
            Plan::Failed(reason) => Err(reason),
            Plan::Input(e) => {
                refused.push(e);
                continue;
            }
        };
        jobs.push(Job {
            cluster: live.cluster,
            secret: cacerts::secret(bundle.entries()),
            plan,
        });
    }
    match Refused::new(refused) {
        Some(refused) => Err(refused),
        None => Ok(jobs),
    }
}

/// Clusters whose `cacerts` may not be replaced without `--force`; never empty. Each command
/// words it its own way, below.
#[derive(Debug)]
pub struct Refused {
    first: InputError,
    others: Vec<InputError>,
}

impl Refused {
    fn new(errors: Vec<InputError>) -> Option<Refused> {
        let mut errors = errors.into_iter();
        let first = errors.next()?;
        Some(Refused {
            first,
            others: errors.collect(),
        })
    }

    /// Every refusal in one error, with the first hint (`certs secret`: fix them all at once).
    pub fn all(self) -> InputError {
        let fallback = self.first.clone();
        let errors = std::iter::once(self.first).chain(self.others).collect();
        // `combine` answers `None` only for no errors, and there is always a first one.
        InputError::combine(errors).unwrap_or(fallback)
    }

    /// The first refusal, then `nothing_changed`; its "pass --force" hint becomes `force`, the
    /// words of the command at hand (`pass --force to up`).
    pub fn first(self, nothing_changed: &str, force: &str) -> InputError {
        InputError {
            message: format!("{}\n{nothing_changed}", self.first.message),
            hint: self.first.hint.map(|h| h.replace("pass --force", force)),
        }
    }
}

/// Two PEM texts of the same certificate, whatever their line wrapping.
pub fn same_pem(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    strip(a) == strip(b)
}

/// One cluster's work: its Secret, and whether it replaces the root (or why its `cacerts`
/// could not be read).
pub struct Job {
    pub cluster: Cluster,
    pub secret: Value,
    pub plan: Result<bool, ClusterError>,
}

/// Applies every job, `limit` at a time: a failed job is reported, never stops the others.
pub async fn apply_all(
    jobs: Vec<Job>,
    write: &WriteOptions,
    limit: usize,
    progress: &dyn Progress,
) -> Vec<ClusterReport> {
    parallel::map_bounded(jobs, limit, |job| async move {
        let cluster = &job.cluster;
        let mut report = ClusterReport::new(&cluster.name, &cluster.context);
        let replaces_root = match job.plan {
            Ok(replaces_root) => replaces_root,
            Err(reason) => {
                report.fail(reason);
                return report;
            }
        };
        let result = async {
            let namespace = namespaces::ensure(&cluster.api, ISTIO_SYSTEM, None, write, &mut report).await?;
            let outcome = apply::apply(&cluster.api, &job.secret, &namespaces::write_into(write, namespace)).await;
            namespaces::record(&mut report, &job.secret, outcome)
        }
        .await;
        match result {
            Err(e) => report.fail(cluster.write_error(e)),
            Ok(()) if replaces_root && report.result.is_change() => report.notes.push(format!(
                "the root of trust changed: istiod must restart (kubectl --context {} -n istio-system rollout restart deployment/istiod), then restart workloads",
                cluster.context
            )),
            Ok(()) => {}
        }
        progress.event(&cluster.name, &format!("cacerts {}", report.result));
        report
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_comparison_ignores_wrapping() {
        assert!(same_pem(
            "-----BEGIN X-----\nAAAA\nBBBB\n-----END X-----\n",
            "-----BEGIN X-----\nAAAABBBB\n-----END X-----"
        ));
        assert!(!same_pem("AAAA", "AAAB"));
    }
}
