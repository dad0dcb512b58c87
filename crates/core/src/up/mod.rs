//! `up` and `down`: converge every cluster of a topology file, step by step (DESIGN §5.7).
//! Each step runs concurrently across clusters; one failing cluster never stops the others.
//! Everything is applied through the same code as the single commands, so an unchanged file
//! makes no writes.
//!
//! This module orders the steps and holds the report rows; each step lives in its own:
//! [`certs`](self::certs) (root, intermediates, cacerts plans), `installer` (helm or Sail),
//! `steps` (network labels, expose, verify, ignored settings), `links`, `members` (who left
//! the file), `down`, and `generate` (`up --generate`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::certs::secret::{self as cacerts, Job, Live};
use crate::expose::{self, ExposeOptions};
use crate::kube::apply::{self, DryRun, WriteOptions};
use crate::kube::clusters::{Cause, Cluster, ClusterError};
use crate::kube::kinds::{self, Kind, ObjectRef};
use crate::kube::{namespaces, parallel};
use crate::labels::{ISTIO_SYSTEM, MANAGED_BY, MANAGED_BY_VALUE, MESH_ID};
use crate::link::remote_secret::{self as remote_secrets, RemoteOptions};
use crate::link::{self, Action, LinkOptions, Mechanism, Pair, Prune};
use crate::report::{ClusterReport, NoProgress, Outcome, Progress};
use crate::resources::cacerts as cacerts_secret;
use crate::resources::eastwest::{EastWest, Flavor};
use crate::resources::install::{self, HelmRelease, Plan as InstallPlan, Remote, Solo};
use crate::resources::peering::Target;
use crate::topology::{Installer, Model, Topology};
use crate::verify::{self, ExpectedLinks, LinkMode, Status, VerifyOptions};
use crate::InputError;

mod certs;
mod down;
mod generate;
mod installer;
mod links;
mod members;
mod steps;

pub use self::certs::certs;
use self::certs::*;
pub use down::down;
pub use generate::generate;
use installer::*;
pub use installer::{check_values_dir, preflight, HelmCommand};
use links::*;
pub use links::{link_pairs, uses_peering};
use members::*;
use steps::*;

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
    crate::kube::kubeconfig::LoadedKubeconfig,
    crate::kube::clusters::ConnectOptions,
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

/// The members (by index) that the run left out after `reachable` answered and `ready` went
/// through the network step, and why, as the error of each of their pairs.
fn left_out(members: &[Cluster], reachable: &[Cluster], ready: &[Cluster]) -> BTreeMap<usize, ClusterError> {
    let among = |list: &[Cluster], c: &Cluster| list.iter().any(|r| r.name == c.name);
    members
        .iter()
        .enumerate()
        .filter(|(_, c)| !among(ready, c))
        .map(|(i, c)| {
            let why = match among(reachable, c) {
                true => format!("skipped: the network step of {} failed", c.name),
                false => format!("skipped: cluster {} is unreachable", c.name),
            };
            (i, c.state_error(why))
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
    let members = clusters;
    // A cluster that does not answer is reported once and left out of every step, so that
    // it costs one timeout rather than one per step, and never holds up the others.
    let (reachable, unreachable) = probe(clusters, options.parallel).await;
    // One read of every cacerts serves both the check below and the plans of the cacerts step
    // (nothing writes cacerts in between).
    let live = cacerts::read_live(&reachable, options.parallel).await;
    refuse_new_root_over_live(topology, &live, options)?;
    let (mut rows, bundles) = certs(topology, dry_run)?;
    rows.extend(unreachable);
    let clusters = reachable.as_slice();
    rows.extend(ignored_settings(topology, clusters, options.parallel).await);
    rows.extend(other_meshes(topology, clusters, options.parallel).await);
    let jobs = cacerts_jobs(live, &bundles, options)?;
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
    let left_out = left_out(members, &reachable, &ready);
    let clusters = ready.as_slice();
    rows.extend(install_step(topology, clusters, None, false, &write, options).await);
    let (exposed, primary_address) = expose_step(topology, clusters, &write, options, progress).await;
    // Primary-remote: remotes are configured with the primary's east-west address.
    let remote = primary_address.map(|pilot_address| Remote { pilot_address });
    rows.extend(exposed);
    rows.extend(retired_gateways_step(topology, clusters, &write, options).await);
    rows.extend(install_step(topology, clusters, remote.as_ref(), true, &write, options).await);
    rows.extend(link_step(topology, members, &left_out, &write, options).await);
    if !dry_run {
        let not_checked: Vec<&str> = left_out.keys().map(|&i| members[i].name.as_str()).collect();
        rows.extend(verify_step(topology, clusters, &not_checked, options).await);
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
