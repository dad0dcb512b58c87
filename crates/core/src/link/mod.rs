//! `link`: peer clusters with each other (DESIGN §5.4).
//!
//! Requests are kept to what the result needs: one LIST of gateways and one GET of the mesh
//! config per cluster (the LIST yields both a cluster's own east-west gateway — the facts it
//! offers as a target — and the peer Gateways it holds as a source), then one write per
//! changed pair. All reads run concurrently, then all writes.

pub mod remote_secret;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use futures::future::{FutureExt, Shared};

use serde::Serialize;
use serde_json::Value;

use crate::expose::address_of;
use crate::kube::api::ApiError;
use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::Cluster;
use crate::kube::kinds::{self, ObjectRef};
use crate::kube::parallel;
use crate::labels::{ISTIO_SYSTEM, MANAGED_BY, MANAGED_BY_VALUE, MESH_ID, NETWORK, PEER_CLUSTER};
use crate::report::{Outcome, Progress};
use crate::resources::peering;
pub use crate::resources::peering::Target;

/// Where the east-west gateways live, and how to write.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Namespace of the east-west gateway, and of the peer Gateways we write.
    pub namespace: String,
    /// Name of the east-west gateway in each cluster.
    pub gateway: String,
    pub write: WriteOptions,
    pub parallel: usize,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            namespace: "istio-gateways".into(),
            gateway: "istio-eastwest".into(),
            write: WriteOptions::default(),
            parallel: 16,
        }
    }
}

/// What to do to the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Link,
    /// Delete our peer Gateways of the pairs.
    Unlink,
}

/// One directed link, by index into the cluster list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    pub from: usize,
    pub to: usize,
}

/// Every ordered pair of distinct clusters.
pub fn full_mesh(n: usize) -> Vec<Pair> {
    (0..n)
        .flat_map(|from| {
            (0..n)
                .filter(move |&to| to != from)
                .map(move |to| Pair { from, to })
        })
        .collect()
}

/// What happened to one directed link.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairReport {
    pub from: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    pub result: Outcome,
    /// What `result` alone does not say, e.g. `not linked` for an unlink with nothing to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PairReport {
    pub fn new(from: &str, to: &str) -> Self {
        PairReport {
            from: from.into(),
            to: to.into(),
            address: None,
            network: None,
            result: Outcome::Unchanged,
            note: None,
            error: None,
        }
    }

    /// An unlink that found nothing to remove.
    pub fn not_linked(mut self) -> Self {
        self.note = Some("not linked".into());
        self
    }

    pub fn failed(mut self, error: String) -> Self {
        self.result = Outcome::Failed;
        self.error = Some(error);
        self
    }

    pub fn with(mut self, outcome: Outcome) -> Self {
        self.result = outcome;
        self
    }
}

/// What one cluster's reads found.
struct Facts {
    /// As a target: its address, network, trust domain; or why it cannot be one.
    target: Result<Target, String>,
    /// As a source: our peer Gateways in it, by the peer cluster they describe.
    peers: BTreeMap<String, Value>,
}

/// Reads a cluster: gateways in the gateway namespace (one LIST) and, when it is a target,
/// its trust domain (one GET, sent at the same time).
async fn read_facts(cluster: &Cluster, options: &LinkOptions, need_target: bool) -> Result<Facts, String> {
    let path = kinds::GATEWAY.collection_path(Some(&options.namespace));
    let trust_domain = async {
        if need_target {
            Some(read_trust_domain(cluster).await)
        } else {
            None
        }
    };
    let (gateways, trust_domain) = futures::join!(cluster.api.list(&path, None), trust_domain);
    let gateways = match gateways {
        Ok(items) => items,
        Err(e) if e.is_not_found() => {
            return Err(format!("cluster {}: the Gateway API CRDs (gateway.networking.k8s.io/v1) are not installed; install them, then run `kubectl mesh expose --context {}`", cluster.name, cluster.context));
        }
        Err(e) => return Err(cluster.explain(&e)),
    };
    let mut peers = BTreeMap::new();
    let mut own = None;
    for gateway in gateways {
        let name = gateway
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name == options.gateway {
            own = Some(gateway);
        } else if let Some(peer) = our_peer(&gateway) {
            peers.insert(peer, gateway);
        }
    }
    let target = match (trust_domain, own) {
        (None, _) => Err(String::new()),
        (Some(_), None) => Err(format!(
            "cluster {} has no east-west Gateway {}/{}: run `kubectl mesh expose --context {}`",
            cluster.name, options.namespace, options.gateway, cluster.context
        )),
        (Some(trust_domain), Some(gateway)) => {
            let trust_domain = trust_domain.map_err(|e| cluster.explain(&e))?;
            target_facts(cluster, &gateway, trust_domain, options)
        }
    };
    Ok(Facts { target, peers })
}

/// Reads what a peer needs to know about `cluster` (for `link --generate`): its address,
/// network, trust domain and its east-west gateway's ServiceAccount.
pub async fn read_target(cluster: &Cluster, options: &LinkOptions) -> Result<Target, String> {
    read_facts(cluster, options, true).await?.target
}

/// The peer cluster named by one of our peer Gateways (never someone else's Gateway).
fn our_peer(gateway: &Value) -> Option<String> {
    let labels = gateway.pointer("/metadata/labels")?;
    if labels.get(MANAGED_BY).and_then(Value::as_str) != Some(MANAGED_BY_VALUE) {
        return None;
    }
    labels
        .get(PEER_CLUSTER)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn target_facts(
    cluster: &Cluster,
    gateway: &Value,
    trust_domain: String,
    options: &LinkOptions,
) -> Result<Target, String> {
    let Some(address) = address_of(gateway) else {
        return Err(format!(
            "cluster {}: east-west Gateway {}/{} has no address yet: run `kubectl mesh expose --context {} --wait`",
            cluster.name, options.namespace, options.gateway, cluster.context
        ));
    };
    let network = gateway
        .pointer("/metadata/labels")
        .and_then(|l| l.get(NETWORK))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!(
            "cluster {}: east-west Gateway {}/{} has no {NETWORK} label: re-run `kubectl mesh expose --context {} --network NAME`",
            cluster.name, options.namespace, options.gateway, cluster.context
        ))?;
    // Read from the target's own gateway (honouring `expose --name` / `link --gateway`), not
    // assumed: a gateway named otherwise runs as another ServiceAccount.
    let service_account = peering::service_account_of(gateway).unwrap_or_else(|| options.gateway.clone());
    Ok(Target {
        cluster: cluster.name.clone(),
        address,
        network,
        trust_domain,
        service_account,
    })
}

/// `trustDomain` of the mesh config in the `istio` ConfigMap; Istio's default when unset.
pub async fn read_trust_domain(cluster: &Cluster) -> Result<String, ApiError> {
    let path = kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), "istio");
    let config = cluster.api.get(&path).await?;
    Ok(config
        .as_ref()
        .and_then(trust_domain_of)
        .unwrap_or_else(|| "cluster.local".to_string()))
}

/// Reads `trustDomain` out of the ConfigMap's `mesh` YAML.
pub fn trust_domain_of(config_map: &Value) -> Option<String> {
    let mesh = config_map.pointer("/data/mesh")?.as_str()?;
    let mesh: Value = serde_yaml_ng::from_str(mesh).ok()?;
    mesh.get("trustDomain")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// Links (or unlinks) `pairs` of `clusters`. With `prune`, also deletes our peer Gateways in
/// every source whose peer is not among `clusters`.
pub async fn run(
    clusters: &[Cluster],
    pairs: &[Pair],
    action: Action,
    prune: bool,
    options: &LinkOptions,
    progress: &dyn Progress,
) -> Vec<PairReport> {
    let targets: BTreeSet<usize> = pairs.iter().map(|p| p.to).collect();
    // Every cluster is read once (at most --parallel at a time); each pair is written as soon
    // as its two clusters are read, not when the slowest of all clusters is.
    let reads = tokio::sync::Semaphore::new(options.parallel.max(1));
    let facts: Vec<_> = (0..clusters.len())
        .map(|i| {
            let need_target = action == Action::Link && targets.contains(&i);
            let reads = &reads;
            async move {
                // The semaphore is never closed, so acquiring cannot fail.
                let _permit = reads.acquire().await.ok();
                Arc::new(read_facts(&clusters[i], options, need_target).await)
            }
            .shared()
        })
        .collect();
    let known: BTreeSet<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    let sources: Vec<usize> = (0..clusters.len())
        .filter(|i| pairs.iter().any(|p| p.from == *i) || prune)
        .collect();
    let per_source = parallel::map_bounded(sources, options.parallel, |from| {
        let (facts, known) = (&facts, &known);
        async move {
            let mine: Vec<Pair> = pairs.iter().copied().filter(|p| p.from == from).collect();
            let mut reports = write_source(clusters, from, &mine, facts, action, options).await;
            if prune {
                let source_facts = facts[from].clone().await;
                reports.extend(prune_source(&clusters[from], &source_facts, known, options).await);
            }
            progress.event(&clusters[from].name, &summary(&reports));
            reports
        }
    })
    .await;
    per_source.into_iter().flatten().collect()
}

fn summary(reports: &[PairReport]) -> String {
    let failed = reports.iter().filter(|r| r.result == Outcome::Failed).count();
    let changed = reports.iter().filter(|r| r.result.is_change()).count();
    format!("{} links: {changed} changed, {failed} failed", reports.len())
}

/// The pairs of one source. They are independent objects, so they are written concurrently
/// too (over the source's one HTTP/2 connection): a full mesh then costs a few round trips
/// whatever the number of clusters.
async fn write_source<F>(
    clusters: &[Cluster],
    from: usize,
    pairs: &[Pair],
    facts: &[Shared<F>],
    action: Action,
    options: &LinkOptions,
) -> Vec<PairReport>
where
    F: Future<Output = Arc<Result<Facts, String>>>,
{
    let source = &clusters[from];
    parallel::map_bounded(pairs.to_vec(), options.parallel, |pair| async move {
        let target_cluster = &clusters[pair.to];
        let report = PairReport::new(&source.name, &target_cluster.name);
        let source_facts = facts[from].clone().await;
        let source_facts = match &*source_facts {
            Ok(f) => f,
            Err(e) => return report.failed(e.clone()),
        };
        let live = source_facts.peers.get(&target_cluster.name);
        match action {
            Action::Link => {
                let target_facts = facts[pair.to].clone().await;
                link_pair(source, report, &target_facts, live, options).await
            }
            Action::Unlink => unlink_pair(source, report, &target_cluster.name, live, options).await,
        }
    })
    .await
}

async fn link_pair(
    source: &Cluster,
    mut report: PairReport,
    target: &Result<Facts, String>,
    live: Option<&Value>,
    options: &LinkOptions,
) -> PairReport {
    let target = match target.as_ref().map(|f| &f.target) {
        Ok(Ok(target)) => target,
        Ok(Err(e)) | Err(e) => return report.failed(e.clone()),
    };
    report.address = Some(target.address.clone());
    report.network = Some(target.network.clone());
    let desired = peering::gateway(target, &options.namespace);
    match apply::apply_over(&source.api, &desired, live, &options.write).await {
        Ok(outcome) => {
            report.result = outcome;
            report
        }
        Err(e) => report.failed(source.explain_write(&e)),
    }
}

async fn unlink_pair(
    source: &Cluster,
    mut report: PairReport,
    target: &str,
    live: Option<&Value>,
    options: &LinkOptions,
) -> PairReport {
    if live.is_none() {
        return report.not_linked();
    }
    match delete_peer(source, target, options).await {
        Ok(outcome) => {
            report.result = outcome;
            report
        }
        Err(e) => report.failed(e),
    }
}

async fn delete_peer(source: &Cluster, target: &str, options: &LinkOptions) -> Result<Outcome, String> {
    let name = peering::name(target);
    let object = ObjectRef {
        kind: "Gateway".into(),
        namespace: Some(options.namespace.clone()),
        name: name.clone(),
    };
    let path = kinds::GATEWAY.object_path(Some(&options.namespace), &name);
    apply::delete(&source.api, &object, &path, options.write.dry_run)
        .await
        .map_err(|e| source.explain_write(&e))
}

/// Deletes our peer Gateways in a source for clusters not in the list.
async fn prune_source(
    source: &Cluster,
    facts: &Result<Facts, String>,
    known: &BTreeSet<&str>,
    options: &LinkOptions,
) -> Vec<PairReport> {
    let Ok(facts) = facts else { return Vec::new() };
    let mut reports = Vec::new();
    let of_this_mesh = |gateway: &Value| match &options.write.mesh_id {
        Some(id) => {
            gateway
                .pointer("/metadata/labels")
                .and_then(|l| l.get(MESH_ID))
                .and_then(Value::as_str)
                == Some(id)
        }
        None => true,
    };
    for (peer, _) in facts
        .peers
        .iter()
        .filter(|(p, g)| !known.contains(p.as_str()) && of_this_mesh(g))
    {
        let report = PairReport::new(&source.name, peer);
        reports.push(match delete_peer(source, peer, options).await {
            Ok(outcome) => PairReport {
                result: outcome,
                ..report
            },
            Err(e) => report.failed(e),
        });
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_mesh_pairs() {
        let pairs = full_mesh(3);
        assert_eq!(pairs.len(), 6);
        assert!(pairs.iter().all(|p| p.from != p.to));
        assert_eq!(full_mesh(20).len(), 380);
    }

    #[test]
    fn trust_domain_from_mesh_config() {
        let cm = json!({"data": {"mesh": "defaultConfig:\n  discoveryAddress: istiod:15012\ntrustDomain: east.example\n"}});
        assert_eq!(trust_domain_of(&cm).as_deref(), Some("east.example"));
        assert_eq!(trust_domain_of(&json!({"data": {"mesh": "{}"}})), None);
        assert_eq!(trust_domain_of(&json!({})), None);
    }

    #[test]
    fn only_our_peer_gateways_count() {
        let ours = json!({"metadata": {"labels": {MANAGED_BY: MANAGED_BY_VALUE, PEER_CLUSTER: "b"}}});
        let theirs = json!({"metadata": {"labels": {PEER_CLUSTER: "b"}}});
        assert_eq!(our_peer(&ours).as_deref(), Some("b"));
        assert_eq!(our_peer(&theirs), None);
    }
}
