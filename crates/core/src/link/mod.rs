//! `link`: peer clusters with each other (DESIGN §5.4, §5.5).
//!
//! One fan-out over directed pairs serves both mechanisms; a [`Backend`] says what a link is:
//! * [`peering`]: a peer Gateway in the source describing the target (ambient-peering);
//! * [`remote_secret`]: a Secret in the source holding a kubeconfig for the target, whose
//!   reader identity is prepared in the target first (ambient and sidecar).
//!
//! Every cluster is read once (as a target: what it offers; as a source: our links in it),
//! at most `--parallel` at a time; each pair is written as soon as its two clusters are read,
//! not when the slowest of all clusters is. Writes of all sources share one budget
//! ([`write_budget`]), so a run's memory does not grow with the fleet.

pub mod peering;
pub mod remote_secret;
pub mod topology;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, OnceLock};

use futures::future::{FutureExt, Shared};
use serde::Serialize;
use serde_json::Value;

use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::kinds::{self, Kind};
use crate::kube::parallel;
use crate::labels::{ISTIO_SYSTEM, MANAGED_BY, MANAGED_BY_VALUE};
use crate::report::{Outcome, Progress};

pub use peering::{LinkOptions, Target};
pub use remote_secret::RemoteOptions;

/// The most writes (applies and deletes) one run has in flight, whatever `--parallel` says.
///
/// Each write in flight holds its request, its HTTP/2 stream and the object being written
/// (about 20 KB in all). With `--parallel 100` and no budget shared by the sources, a mesh of
/// 100 clusters had all 9900 writes in flight at once (250 MB, and a heap fragmented by
/// them), and was no faster for it: the run is CPU-bound long before that.
const MAX_WRITES_IN_FLIGHT: usize = 512;

/// Writes in flight for the whole run: `--parallel` sources times `--parallel` writes each,
/// as before, but never more than [`MAX_WRITES_IN_FLIGHT`].
fn write_budget(parallel: usize) -> usize {
    parallel
        .max(1)
        .saturating_mul(parallel.max(1))
        .min(MAX_WRITES_IN_FLIGHT)
}

/// What to do to the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Link,
    /// Delete our links of the pairs.
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

/// What a run deletes besides the work of its pairs (`--prune`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Nothing: only the pairs are touched.
    No,
    /// Our links in every source to clusters that are not listed.
    Unlisted,
    /// Those, and our links between listed clusters that are not among the pairs: what a
    /// topology no longer wants (full mesh to hub-and-spoke removes the spokes' links).
    Unwanted,
}

impl Prune {
    /// `--prune` of a run whose pairs say everything wanted among the listed clusters (a link
    /// topology), or only what to add (`--from`/`--to`, `--primary`/`--remotes`).
    pub fn of(prune: bool, pairs_are_all_wanted: bool) -> Prune {
        match (prune, pairs_are_all_wanted) {
            (false, _) => Prune::No,
            (true, false) => Prune::Unlisted,
            (true, true) => Prune::Unwanted,
        }
    }
}

/// How clusters are linked: the flavour decides (DESIGN §5.4 vs §5.5).
#[derive(Debug, Clone)]
pub enum Mechanism {
    Peering(LinkOptions),
    RemoteSecrets(RemoteOptions),
}

/// Links (or unlinks) `pairs` of `clusters`, and deletes what `prune` says in every source.
pub async fn run(
    clusters: &[Cluster],
    pairs: &[Pair],
    action: Action,
    prune: Prune,
    mechanism: &Mechanism,
    progress: &dyn Progress,
) -> Vec<PairReport> {
    let none = BTreeMap::new();
    run_skipping(clusters, &none, pairs, action, prune, mechanism, progress).await
}

/// [`run`] where some of `clusters` are known to be out of reach for this run (unreachable,
/// or left out by an earlier step of `up`): they are not asked again, each of their pairs
/// fails with their error, and they still count as listed, so that pruning in the others
/// keeps the links to them that the pairs want and removes those it does not.
pub async fn run_skipping(
    clusters: &[Cluster],
    skipped: &BTreeMap<usize, ClusterError>,
    pairs: &[Pair],
    action: Action,
    prune: Prune,
    mechanism: &Mechanism,
    progress: &dyn Progress,
) -> Vec<PairReport> {
    let fan_out = FanOut {
        clusters,
        skipped,
        pairs,
        action,
        prune,
        progress,
    };
    match mechanism {
        Mechanism::Peering(options) => fan_out.run(&peering::Peering(options), options.parallel).await,
        Mechanism::RemoteSecrets(options) => {
            fan_out
                .run(&remote_secret::RemoteSecrets(options), options.parallel)
                .await
        }
    }
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
    pub error: Option<ClusterError>,
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

    /// What `result` alone does not say.
    pub fn noting(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// An unlink that found nothing to remove.
    pub fn not_linked(mut self) -> Self {
        self.note = Some("not linked".into());
        self
    }

    pub fn failed(mut self, error: ClusterError) -> Self {
        self.result = Outcome::Failed;
        self.error = Some(error);
        self
    }

    pub fn with(mut self, outcome: Outcome) -> Self {
        self.result = outcome;
        self
    }

    /// The report of a write or delete.
    pub fn of(self, result: Result<Outcome, ClusterError>) -> Self {
        match result {
            Ok(outcome) => self.with(outcome),
            Err(e) => self.failed(e),
        }
    }
}

/// What one cluster's reads found.
struct Facts<T> {
    /// As a target: what it offers its sources, or why it cannot be one (`None`: not asked).
    target: Option<Result<T, ClusterError>>,
    /// As a source: our links in it, by the peer cluster they point at.
    links: Links,
}

/// What a link is, for one mechanism; [`FanOut`] decides which cluster is read and written
/// when, so both mechanisms share concurrency, pruning and reporting.
trait Backend {
    /// What a source needs to know of a target to link to it.
    type Target;

    /// Reads (and for remote secrets prepares) one cluster: as a target when `as_target`,
    /// as a source when `as_source`.
    async fn read(&self, cluster: &Cluster, as_target: bool, as_source: bool) -> Facts<Self::Target>;

    /// A source's links to `peers` only, read one by one (a GET each) where that is cheaper
    /// than listing all of them: a source with one or two pairs in a run, among a hundred
    /// links (the controller's reaction to one moved cluster). `None`: this backend lists.
    async fn read_links_to(&self, _cluster: &Cluster, _peers: &[&str]) -> Option<Links> {
        None
    }

    /// What to say once a cluster has been prepared as a target (nothing by default).
    fn target_event(&self, _ready: bool) -> Option<&'static str> {
        None
    }

    /// Readies a source for links (e.g. its namespace) and returns how to write into it.
    async fn prepare_source(&self, _source: &Cluster) -> Result<WriteOptions, ClusterError> {
        Ok(self.write().clone())
    }

    fn write(&self) -> &WriteOptions;

    /// The link object a source holds for `target`.
    fn desired(&self, target: &Self::Target) -> Value;

    /// What the report says of a link to `target` besides its outcome (address, network).
    fn describe(&self, report: PairReport, target: &Self::Target) -> PairReport;

    /// Where the link to the cluster `peer` lives in a source.
    fn link_of(&self, peer: &str) -> (Kind, &str, String);

    /// Whether `--prune` may delete this link of ours: when the run names a mesh (`up`),
    /// only the links of that mesh, never those a plain `link` made.
    fn prunable(&self, link: &Value) -> bool {
        match &self.write().mesh_id {
            Some(id) => crate::labels::value(link, crate::labels::MESH_ID) == Some(id),
            None => true,
        }
    }

    /// The progress line of one source.
    fn source_event(&self, reports: &[PairReport]) -> String;

    /// Where the *other* mechanism keeps its links: ours among them are what a flavour
    /// switch left behind (remote secrets after a move to peering, or peer Gateways after a
    /// move away from it), and `--prune` removes them.
    fn other_links(&self) -> OurLinks;
}

/// Our links of one mechanism, as a source holds them: a kind, where, and the selector of ours.
/// `link --prune` deletes those of the other mechanism; `verify` warns about them.
pub struct OurLinks {
    pub kind: Kind,
    pub namespace: &'static str,
    /// Our label selector for them; [`Self::selector`] adds this mesh's id when a run names one.
    pub label_selector: String,
    pub what: &'static str,
}

impl OurLinks {
    /// Remote secrets (flavours ambient and sidecar), ours.
    pub fn remote_secrets() -> Self {
        OurLinks {
            kind: kinds::SECRET,
            namespace: ISTIO_SYSTEM,
            label_selector: format!(
                "{}=true,{MANAGED_BY}={MANAGED_BY_VALUE}",
                crate::resources::remote_secret::MULTICLUSTER_LABEL
            ),
            what: "remote secret Secret",
        }
    }

    /// Peer Gateways (flavour ambient-peering), ours, in the namespace `link` writes them to
    /// by default.
    pub fn peer_gateways() -> Self {
        OurLinks {
            kind: kinds::GATEWAY,
            namespace: peering::DEFAULT_NAMESPACE,
            label_selector: format!("{MANAGED_BY}={MANAGED_BY_VALUE},{}", crate::labels::PEER_CLUSTER),
            what: "peer Gateway",
        }
    }

    fn selector(&self, write: &WriteOptions) -> String {
        match &write.mesh_id {
            Some(id) => format!("{},{}={id}", self.label_selector, crate::labels::MESH_ID),
            None => self.label_selector.clone(),
        }
    }
}

/// A source's links, as its reads found them.
#[derive(Debug, Default)]
struct SourceLinks {
    /// Ours, by the peer cluster they point at.
    ours: BTreeMap<String, Value>,
    /// Names of the objects beside them (same kind and namespace) that are not ours, i.e.
    /// lack our managed-by label: a link whose name is among them is refused, not taken
    /// over, since `down` and `--prune` would later delete what someone else made. Helm
    /// refuses to adopt such an object in the same way ("invalid ownership metadata").
    others: BTreeSet<String>,
}

type Links = Result<SourceLinks, ClusterError>;

/// Why a link is not written over an object of the same name that is not ours.
fn not_ours(source: &Cluster, (kind, namespace, name): (Kind, &str, String)) -> ClusterError {
    source.state_error(format!(
        "cluster {}: {} {namespace}/{name} exists and was not made by kubectl-mesh (no label {MANAGED_BY}={MANAGED_BY_VALUE}), so it is left as it is; delete it (`kubectl --context {} delete {} -n {namespace} {name}`), or label it {MANAGED_BY}={MANAGED_BY_VALUE} to hand it over to kubectl-mesh and re-run (with --force-conflicts to take over the fields its maker set)",
        source.name, kind.kind, source.context, kind.plural
    ))
}

/// At most this many pairs of one source in a run are read with a GET each instead of one LIST.
const READ_ONE_BY_ONE: usize = 2;

/// One run over pairs of clusters.
struct FanOut<'a> {
    clusters: &'a [Cluster],
    /// Clusters not to ask, by index, and why.
    skipped: &'a BTreeMap<usize, ClusterError>,
    pairs: &'a [Pair],
    action: Action,
    prune: Prune,
    progress: &'a dyn Progress,
}

impl FanOut<'_> {
    /// One cluster's facts: a source with a pair or two in the run and nothing else to do
    /// (not a target, no pruning, which needs all its links) reads just those links.
    async fn read<B: Backend>(
        &self,
        backend: &B,
        i: usize,
        as_target: bool,
        as_source: bool,
    ) -> Facts<B::Target> {
        let cluster = &self.clusters[i];
        if as_source && !as_target && self.prune == Prune::No {
            // Counted only this far: a fleet's run has 9900 pairs and 100 clusters to ask.
            let peers: Vec<&str> = self
                .pairs
                .iter()
                .filter(|p| p.from == i)
                .map(|p| self.clusters[p.to].name.as_str())
                .take(READ_ONE_BY_ONE + 1)
                .collect();
            if peers.len() <= READ_ONE_BY_ONE {
                if let Some(links) = backend.read_links_to(cluster, &peers).await {
                    return Facts { target: None, links };
                }
            }
        }
        backend.read(cluster, as_target, as_source).await
    }

    async fn run<B: Backend>(&self, backend: &B, parallel: usize) -> Vec<PairReport> {
        let clusters = self.clusters;
        let targets: BTreeSet<usize> = match self.action {
            Action::Link => self.pairs.iter().map(|p| p.to).collect(),
            Action::Unlink => BTreeSet::new(),
        };
        let sources: Vec<usize> = (0..clusters.len())
            .filter(|i| self.prune != Prune::No || self.pairs.iter().any(|p| p.from == *i))
            .collect();
        let reads = tokio::sync::Semaphore::new(parallel.max(1));
        let facts: Vec<_> = (0..clusters.len())
            .map(|i| {
                let (reads, as_target, as_source) = (&reads, targets.contains(&i), sources.contains(&i));
                async move {
                    if let Some(e) = self.skipped.get(&i) {
                        return Arc::new(Facts {
                            target: as_target.then(|| Err(e.clone())),
                            links: Err(e.clone()),
                        });
                    }
                    // The semaphore is never closed, so acquiring cannot fail.
                    let _permit = reads.acquire().await.ok();
                    let facts = self.read(backend, i, as_target, as_source).await;
                    if let Some(event) = facts
                        .target
                        .as_ref()
                        .and_then(|t| backend.target_event(t.is_ok()))
                    {
                        self.progress.event(&clusters[i].name, event);
                    }
                    Arc::new(facts)
                }
                .shared()
            })
            .collect();
        let writes = tokio::sync::Semaphore::new(write_budget(parallel));
        // What a source holds for a target does not depend on the source: built once per
        // target, not once per pair (9 900 times in a fleet of 100).
        let desired: Vec<OnceLock<Value>> = (0..clusters.len()).map(|_| OnceLock::new()).collect();
        let per_source = parallel::map_bounded(sources, parallel, |from| {
            let (facts, writes, desired) = (&facts, &writes, &desired);
            async move {
                let reports = self.source(backend, from, facts, desired, writes, parallel).await;
                self.progress
                    .event(&clusters[from].name, &backend.source_event(&reports));
                reports
            }
        })
        .await;
        per_source.into_iter().flatten().collect()
    }

    /// The pairs of one source, then its prune. The pairs are independent objects, so they
    /// are written concurrently too (over the source's one HTTP/2 connection): a full mesh
    /// then costs a few round trips whatever the number of clusters. Every write first takes
    /// a permit of `writes`, the run's budget shared by all sources.
    async fn source<B, F>(
        &self,
        backend: &B,
        from: usize,
        facts: &[Shared<F>],
        desired: &[OnceLock<Value>],
        writes: &tokio::sync::Semaphore,
        parallel: usize,
    ) -> Vec<PairReport>
    where
        B: Backend,
        F: Future<Output = Arc<Facts<B::Target>>>,
    {
        let source = &self.clusters[from];
        let mine: Vec<Pair> = self.pairs.iter().copied().filter(|p| p.from == from).collect();
        let fail_all = |error: ClusterError| -> Vec<PairReport> {
            mine.iter()
                .map(|p| PairReport::new(&source.name, &self.clusters[p.to].name).failed(error.clone()))
                .collect()
        };
        let source_facts = facts[from].clone().await;
        let links = match &source_facts.links {
            Ok(links) => links,
            Err(e) => return fail_all(e.clone()),
        };
        let write = match self.action {
            Action::Link if !mine.is_empty() => match backend.prepare_source(source).await {
                Ok(write) => write,
                Err(e) => return fail_all(e),
            },
            _ => backend.write().clone(),
        };
        let write = &write;
        let mut reports = parallel::map_bounded(mine.clone(), parallel, |pair| async move {
            let peer = &self.clusters[pair.to].name;
            let report = PairReport::new(&source.name, peer);
            let live = links.ours.get(peer);
            // Someone else's object under this link's name, where ours is not: looked for
            // only when the source has any (a fleet's run has 9 900 pairs).
            let theirs = match live {
                None if !links.others.is_empty() => {
                    Some(backend.link_of(peer)).filter(|(_, _, name)| links.others.contains(name))
                }
                _ => None,
            };
            match (self.action, theirs) {
                (Action::Unlink, Some((kind, namespace, name))) => report.not_linked().noting(format!(
                    "not linked by kubectl-mesh: {} {namespace}/{name} is not ours, left as it is",
                    kind.kind
                )),
                (Action::Unlink, None) if live.is_none() => report.not_linked(),
                (Action::Unlink, None) => {
                    // The semaphore is never closed, so acquiring cannot fail.
                    let _permit = writes.acquire().await.ok();
                    report.of(Box::pin(delete(backend, source, peer)).await)
                }
                (Action::Link, Some(link)) => report.failed(not_ours(source, link)),
                (Action::Link, None) => match &facts[pair.to].clone().await.target {
                    Some(Ok(target)) => {
                        let _permit = writes.acquire().await.ok();
                        // The write is boxed only now: a pair still waiting for its permit
                        // holds no space of a request in flight.
                        let desired = desired[pair.to].get_or_init(|| backend.desired(target));
                        let result = Box::pin(apply::apply_over(&source.api, desired, live, write)).await;
                        backend
                            .describe(report, target)
                            .of(result.map_err(|e| source.write_error(e)))
                    }
                    Some(Err(e)) => report.failed(e.clone()),
                    None => report.failed(ClusterError::state(peer, "internal: target not prepared")),
                },
            }
        })
        .await;
        if self.prune != Prune::No {
            reports.extend(self.prune_source(backend, from, &links.ours, writes).await);
            reports.extend(prune_other_mechanism(backend, source).await);
        }
        reports
    }

    /// Deletes our links in a source to clusters not in the list, and with
    /// [`Prune::Unwanted`] those to listed clusters that no pair of it names.
    async fn prune_source<B: Backend>(
        &self,
        backend: &B,
        from: usize,
        links: &BTreeMap<String, Value>,
        writes: &tokio::sync::Semaphore,
    ) -> Vec<PairReport> {
        let source = &self.clusters[from];
        // Looked up once per source: a fleet's source may hold a hundred links.
        let listed: HashMap<&str, usize> = self
            .clusters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let wanted: BTreeSet<usize> = self
            .pairs
            .iter()
            .filter(|p| p.from == from)
            .map(|p| p.to)
            .collect();
        let goes = |peer: &str| match listed.get(peer) {
            None => true,
            Some(to) => self.prune == Prune::Unwanted && !wanted.contains(to),
        };
        let mut reports = Vec::new();
        for (peer, _) in links
            .iter()
            .filter(|(peer, link)| goes(peer) && backend.prunable(link))
        {
            let report = PairReport::new(&source.name, peer);
            let _permit = writes.acquire().await.ok();
            reports.push(report.of(delete(backend, source, peer).await));
        }
        reports
    }
}

/// Deletes our links of the other mechanism in `source`: once a mesh changes flavour (e.g.
/// ambient to ambient-peering), a source still holding them stays linked the old way too.
/// Only objects carrying our managed-by label (and this mesh's id, when the run has one).
async fn prune_other_mechanism<B: Backend>(backend: &B, source: &Cluster) -> Vec<PairReport> {
    let other = backend.other_links();
    let write = backend.write();
    let path = other.kind.collection_path(Some(other.namespace));
    let items = match source.api.list(&path, Some(&other.selector(write))).await {
        Ok(items) => items,
        // That API is not installed: there is none of them.
        Err(e) if e.is_not_found() => return Vec::new(),
        Err(e) => {
            return vec![PairReport::new(&source.name, "*")
                .failed(source.error(e))
                .noting(format!("listing our {} (links of the other flavour)", other.what))]
        }
    };
    let mut reports = Vec::new();
    for item in items {
        let meta = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
        let Some(name) = meta("/metadata/name") else {
            continue;
        };
        let namespace = meta("/metadata/namespace");
        // The peer it points at: our label on a peer Gateway, istiod's annotation on a secret.
        let peer = meta(&format!(
            "/metadata/labels/{}",
            crate::labels::PEER_CLUSTER.replace('/', "~1")
        ))
        .or_else(|| meta("/metadata/annotations/networking.istio.io~1cluster"))
        .unwrap_or(name);
        let result = apply::delete_named(&source.api, other.kind, namespace, name, write.dry_run)
            .await
            .map_err(|e| source.write_error(e));
        let place = namespace
            .map(|ns| format!("{ns}/{name}"))
            .unwrap_or_else(|| name.to_string());
        reports.push(
            PairReport::new(&source.name, peer)
                .of(result)
                .noting(format!("{} {place}: a link of the other flavour", other.what)),
        );
    }
    reports
}

/// Deletes the link from `source` to the cluster `peer`.
async fn delete<B: Backend>(backend: &B, source: &Cluster, peer: &str) -> Result<Outcome, ClusterError> {
    let (kind, namespace, name) = backend.link_of(peer);
    apply::delete_named(&source.api, kind, Some(namespace), &name, backend.write().dry_run)
        .await
        .map_err(|e| source.write_error(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_mesh_pairs() {
        let pairs = full_mesh(3);
        assert_eq!(pairs.len(), 6);
        assert!(pairs.iter().all(|p| p.from != p.to));
        assert_eq!(full_mesh(20).len(), 380);
    }

    #[test]
    fn write_budget_is_parallel_squared_up_to_a_cap() {
        assert_eq!(write_budget(0), 1);
        assert_eq!(write_budget(1), 1);
        assert_eq!(write_budget(16), 256);
        assert_eq!(write_budget(20), 400);
        assert_eq!(write_budget(100), MAX_WRITES_IN_FLIGHT);
    }
}
