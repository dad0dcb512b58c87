//! `certs secret`: the `cacerts` Secret in every cluster, refusing to silently swap the root
//! of trust under a running mesh.

use serde_json::Value;

use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::Cluster;
use crate::kube::kinds;
use crate::kube::{namespaces, parallel};
use crate::labels::ISTIO_SYSTEM;
use crate::report::{ClusterReport, Progress};
use crate::resources::cacerts;
use crate::InputError;

/// What reading a cluster's current `cacerts` found.
pub enum Plan {
    /// Safe to apply; `replaces_root` when `--force` lets a different root replace the live one.
    Ready {
        replaces_root: bool,
    },
    Input(InputError),
    Failed(String),
}

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
pub async fn plan(cluster: &Cluster, planned: &Planned<'_>) -> Plan {
    let live = match cluster.api.get(&path()).await {
        Ok(live) => live,
        Err(e) => return Plan::Failed(cluster.explain(&e)),
    };
    let entry = |key| live.as_ref().and_then(|s| cacerts::entry(s, key));
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

/// Two PEM texts of the same certificate, whatever their line wrapping.
pub fn same_pem(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    strip(a) == strip(b)
}

/// One cluster's work: its Secret (built by the caller) and whether it replaces the root.
pub struct Job {
    pub cluster: Cluster,
    pub secret: Value,
    pub plan: Result<bool, String>,
}

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
            Err(e) => report.fail(cluster.explain_write(&e)),
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
