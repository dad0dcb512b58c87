//! `controller`: keeps a mesh converged. Watches every member (east-west gateways, our
//! links, cacerts), and when something changes re-links exactly the pairs it concerns with
//! the same engine as `link` ([`crate::link::run`]); refreshes bounded remote-secret tokens
//! before they expire; reports certificate expiry. Replicas elect a leader on a Lease, and
//! only the leader writes.
//!
//! * [`state`]: what is known, and which pairs a change makes stale (pure);
//! * [`watch`]: each member's watches, as facts;
//! * [`leader`]: the Lease;
//! * [`report`]: status ConfigMap, Events, metrics (pure);
//! * [`serve`]: `/metrics`, `/healthz`, `/readyz`.

pub mod leader;
pub mod report;
pub mod serve;
pub mod state;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::kube::api::ApiClient;
use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::Cluster;
use crate::link::{self, Action, Mechanism, Pair, PairReport, Prune};
use crate::report::{NoProgress, Outcome};
use crate::resources::{peering, remote_secret};
use leader::{Election, LeaseOptions};
use report::{LinkObject, Stats};
use state::{MeshState, Observed, PairState};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    pub mechanism: Mechanism,
    /// What to watch in each member (matches `mechanism`).
    pub links: watch::Links,
    /// The directed pairs the mesh wants linked.
    pub pairs: Vec<Pair>,
    pub lease: LeaseOptions,
    /// The status ConfigMap's name, beside the Lease.
    pub status_name: String,
    /// Every `resync`, every pair is checked again (a safety net under the watches).
    pub resync: Duration,
    /// A bounded token is replaced when it expires within this.
    pub token_refresh_before: Duration,
    /// An intermediate expiring within this is reported.
    pub cert_warning: Duration,
    /// Also delete our links between members that `pairs` does not want.
    pub prune: bool,
}

/// The cluster that holds the Lease and the status ConfigMap (the management cluster, or
/// for a local run one of the members).
pub struct Home {
    pub client: kube::Client,
    pub api: ApiClient,
}

/// The state the loop and the HTTP endpoints share.
struct Shared {
    state: MeshState,
    stats: Stats,
    leader: bool,
    cert_warning: Duration,
    /// Whether each member's watches have answered (or failed) at least once.
    answered: Vec<bool>,
}

struct Live(Mutex<Shared>);

impl Live {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl serve::Endpoints for Live {
    fn metrics(&self) -> String {
        let shared = self.lock();
        report::metrics(
            &shared.state,
            &shared.stats,
            shared.leader,
            unix_now(),
            shared.cert_warning,
        )
    }

    fn ready(&self) -> Result<(), String> {
        let shared = self.lock();
        let waiting: Vec<&str> = shared
            .state
            .clusters
            .iter()
            .zip(&shared.answered)
            .filter(|(_, answered)| !**answered)
            .map(|(c, _)| c.name.as_str())
            .collect();
        match waiting.is_empty() {
            true => Ok(()),
            false => Err(format!("waiting for the first answer of {}", waiting.join(", "))),
        }
    }
}

/// One finished re-link run.
struct Done {
    batch: Vec<Pair>,
    reports: Vec<PairReport>,
    elapsed: Duration,
    /// An unlink run of `--prune`, not a re-link run.
    pruned: bool,
}

/// Runs until `shutdown` completes, then gives up the Lease.
pub async fn run(
    clusters: Vec<Cluster>,
    home: Home,
    options: ControllerOptions,
    listener: Option<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    let peering = matches!(options.links, watch::Links::Peering { .. });
    let live = Arc::new(Live(Mutex::new(Shared {
        state: MeshState::new(&names, &options.pairs, peering),
        stats: Stats::default(),
        leader: false,
        cert_warning: options.cert_warning,
        answered: vec![false; clusters.len()],
    })));
    if let Some(listener) = listener {
        tokio::spawn(serve::serve(listener, live.clone()));
    }
    let (seen_tx, mut seen) = mpsc::channel(4096);
    for (index, cluster) in clusters.iter().enumerate() {
        watch::spawn(index, cluster, &options.links, seen_tx.clone());
    }
    drop(seen_tx);
    let mut election = Election::join(home.client.clone(), &options.lease).await?;
    let mut reconciler = Reconciler {
        clusters: Arc::new(clusters),
        mechanism: Arc::new(options.mechanism.clone()),
        // What needs linking is found by the watches: a link listed wrong, or missing once
        // its cluster's links are listed.
        dirty: BTreeSet::new(),
        in_flight: BTreeSet::new(),
        status_written: None,
        status_changed: true,
        events: 0,
        prune: options.prune,
        pruning: BTreeSet::new(),
        prune_held: BTreeSet::new(),
    };
    let (done_tx, mut done) = mpsc::channel::<Done>(64);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut next_resync = Instant::now() + options.resync;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some((index, fact)) = seen.recv() => {
                let mut shared = live.lock();
                reconciler.observe(&mut shared, index, fact);
                // Take whatever else is queued, so one burst is one run.
                while let Ok((index, fact)) = seen.try_recv() {
                    reconciler.observe(&mut shared, index, fact);
                }
            }
            Some(finished) = done.recv() => match finished.pruned {
                true => reconciler.pruned(&mut live.lock(), finished),
                false => reconciler.finished(&mut live.lock(), finished),
            },
            changed = election.is_leader.changed() => {
                if changed.is_err() {
                    return Err("the leader election stopped".into());
                }
                let leader = *election.is_leader.borrow_and_update();
                let mut shared = live.lock();
                if leader && !shared.leader {
                    // The watches ran while this replica stood by, so what needs linking is
                    // already in `dirty`; re-linking every pair here would delay the first
                    // reaction by a full pass (the periodic resync is the safety net).
                    tracing::info!(identity = %options.lease.identity, pending = reconciler.dirty.len(), "leading");
                }
                shared.leader = leader;
                reconciler.status_changed = true;
            }
            _ = tick.tick() => {
                let shared = live.lock();
                let due = shared.state.expiring_tokens(unix_now(), options.token_refresh_before);
                reconciler.dirty.extend(due);
                if Instant::now() >= next_resync {
                    next_resync = Instant::now() + options.resync;
                    reconciler.dirty.extend(shared.state.recheck());
                    // Deletions that failed are tried again once per resync, not in a loop.
                    reconciler.prune_held.clear();
                }
            }
        }
        let mut shared = live.lock();
        if shared.leader {
            reconciler.start_ready(&mut shared, &done_tx);
            reconciler.start_prune(&shared, &done_tx);
            reconciler.write_status(&shared, &home, &options);
        }
    }
    election.resign().await;
    Ok(())
}

/// The loop's bookkeeping between events.
struct Reconciler {
    clusters: Arc<Vec<Cluster>>,
    mechanism: Arc<Mechanism>,
    /// Pairs to (re)link when they are ready.
    dirty: BTreeSet<(usize, usize)>,
    in_flight: BTreeSet<(usize, usize)>,
    status_written: Option<Instant>,
    status_changed: bool,
    /// Events sent (for unique names).
    events: u64,
    /// `--prune`: delete our links the topology does not want.
    prune: bool,
    /// Unwanted links being deleted.
    pruning: BTreeSet<(usize, usize)>,
    /// Unwanted links whose deletion failed: left until the next resync.
    prune_held: BTreeSet<(usize, usize)>,
}

impl Reconciler {
    fn observe(&mut self, shared: &mut Shared, index: usize, fact: Observed) {
        shared.answered[index] = true;
        if matches!(
            fact,
            Observed::Reachable | Observed::Unreachable(_) | Observed::Certs(_)
        ) {
            self.status_changed = true;
        }
        let stale = shared.state.observe(index, fact);
        if !stale.is_empty() {
            self.status_changed = true;
        }
        self.dirty.extend(stale);
    }

    /// Starts a run over the dirty pairs that can go now (not already running).
    fn start_ready(&mut self, shared: &mut Shared, done: &mpsc::Sender<Done>) {
        let candidates: BTreeSet<(usize, usize)> = self.dirty.difference(&self.in_flight).copied().collect();
        let batch = shared.state.ready(&candidates, Instant::now());
        if batch.is_empty() {
            return;
        }
        for pair in &batch {
            self.dirty.remove(&(pair.from, pair.to));
            self.in_flight.insert((pair.from, pair.to));
        }
        self.spawn_run(batch, Action::Link, done);
    }

    /// Runs `link`'s engine over `batch` in the background; its reports come back on `done`.
    fn spawn_run(&self, batch: Vec<Pair>, action: Action, done: &mpsc::Sender<Done>) {
        let (clusters, mechanism, done) = (self.clusters.clone(), self.mechanism.clone(), done.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let reports = link::run(&clusters, &batch, action, Prune::No, &mechanism, &NoProgress).await;
            let elapsed = started.elapsed();
            let pruned = action == Action::Unlink;
            let _ = done
                .send(Done {
                    batch,
                    reports,
                    elapsed,
                    pruned,
                })
                .await;
        });
    }

    /// Starts deleting the unwanted links (`--prune`) not already being deleted or held back,
    /// with the same engine as `link --unlink`.
    fn start_prune(&mut self, shared: &Shared, done: &mpsc::Sender<Done>) {
        if !self.prune {
            return;
        }
        let batch: Vec<Pair> = shared
            .state
            .unwanted()
            .into_iter()
            .filter(|key| !self.pruning.contains(key) && !self.prune_held.contains(key))
            .map(|(from, to)| Pair { from, to })
            .collect();
        if batch.is_empty() {
            return;
        }
        self.pruning.extend(batch.iter().map(|p| (p.from, p.to)));
        self.spawn_run(batch, Action::Unlink, done);
    }

    /// An unlink run of `--prune` ended: what went is forgotten, what failed waits for the
    /// next resync; one `Unlinked` Event per source.
    fn pruned(&mut self, shared: &mut Shared, done: Done) {
        for pair in &done.batch {
            self.pruning.remove(&(pair.from, pair.to));
        }
        let mut per_source: BTreeMap<&str, Vec<&PairReport>> = BTreeMap::new();
        let index = |name: &str| self.clusters.iter().position(|c| c.name == name);
        for report in &done.reports {
            let (Some(from), Some(to)) = (index(&report.from), index(&report.to)) else {
                continue;
            };
            match report.result {
                Outcome::Failed => {
                    shared.stats.failed_pairs += 1;
                    self.prune_held.insert((from, to));
                    tracing::warn!(from = %report.from, to = %report.to, error = ?report.error.as_ref().map(ToString::to_string), "could not delete a link the topology does not want");
                }
                outcome => {
                    shared.state.forget_link(from, &report.to);
                    if outcome.is_change() {
                        shared.stats.writes += 1;
                        per_source.entry(report.from.as_str()).or_default().push(report);
                    }
                }
            }
        }
        for (source, deleted) in per_source {
            let peers: Vec<&str> = deleted.iter().map(|r| r.to.as_str()).collect();
            let message = format!(
                "deleted our links the topology does not want, to {}",
                peers.join(", ")
            );
            self.send_event(source, &deleted, false, "Unlinked", message);
        }
        tracing::info!(pairs = done.batch.len(), elapsed = ?done.elapsed, "prune run finished");
        self.status_changed = true;
    }

    fn finished(&mut self, shared: &mut Shared, done: Done) {
        for pair in &done.batch {
            self.in_flight.remove(&(pair.from, pair.to));
        }
        let first_failures: BTreeSet<(String, String)> = done
            .reports
            .iter()
            .filter(|r| r.result == Outcome::Failed)
            .filter(|r| {
                shared
                    .state
                    .state_of(&r.from, &r.to)
                    .is_some_and(|s| s != PairState::Failed)
            })
            .map(|r| (r.from.clone(), r.to.clone()))
            .collect();
        let failed = shared.state.record(&done.reports, Instant::now());
        self.dirty.extend(failed);
        shared.stats.reconciles += 1;
        shared.stats.duration_sum += done.elapsed.as_secs_f64();
        // One Event per source cluster and run (two if some links failed), not one per link:
        // a move in a fleet of 100 re-links one peer in each of 99 sources, a first run 99
        // peers in each of 100 sources (9900 Events, each a POST, in the old way).
        let mut per_source: BTreeMap<&str, (Vec<&PairReport>, Vec<&PairReport>)> = BTreeMap::new();
        for report in &done.reports {
            match report.result {
                Outcome::Failed => shared.stats.failed_pairs += 1,
                outcome if outcome.is_change() => shared.stats.writes += 1,
                _ => {}
            }
            let (written, failed) = per_source.entry(report.from.as_str()).or_default();
            if report.result.is_change() {
                written.push(report);
            } else if first_failures.contains(&(report.from.clone(), report.to.clone())) {
                failed.push(report);
            }
        }
        for (source, (written, failed)) in per_source {
            self.send_events(source, &written, &failed);
        }
        tracing::info!(pairs = done.batch.len(), elapsed = ?done.elapsed, "re-link run finished");
        self.status_changed = true;
    }

    /// The Events of one run in one source cluster, sent without waiting: one `Linked` over
    /// the links written, one `LinkFailed` over those that failed for the first time.
    fn send_events(&mut self, source: &str, written: &[&PairReport], failed: &[&PairReport]) {
        let written_text: Vec<(&str, Option<&str>)> = written
            .iter()
            .map(|r| (r.to.as_str(), r.address.as_deref()))
            .collect();
        if let Some(message) = report::linked_message(&written_text) {
            self.send_event(source, written, false, "Linked", message);
        }
        let failed_text: Vec<(&str, String)> = failed
            .iter()
            .map(|r| {
                let error = r.error.as_ref().map(ToString::to_string).unwrap_or_default();
                (r.to.as_str(), error)
            })
            .collect();
        if let Some(message) = report::failed_message(&failed_text) {
            self.send_event(source, failed, true, "LinkFailed", message);
        }
    }

    /// One Event about `links` (all of one source), sent without waiting.
    fn send_event(
        &mut self,
        source: &str,
        links: &[&PairReport],
        warning: bool,
        reason: &str,
        message: String,
    ) {
        let Some(source) = self.clusters.iter().find(|c| c.name == source).cloned() else {
            return;
        };
        let Some(first) = links.first() else {
            return;
        };
        let object = report::run_event_object(link_object(&self.mechanism, &first.to), links.len());
        self.events += 1;
        let event = report::event(
            &object,
            warning,
            reason,
            &message,
            now_second(),
            unique(self.events),
        );
        tokio::spawn(async move {
            if let Err(e) = source
                .api
                .create(&report::event_path(&object.namespace), &event)
                .await
            {
                tracing::debug!(cluster = %source.name, error = %e, "event not recorded");
            }
        });
    }

    /// Writes the status ConfigMap when something changed, at most once a second.
    fn write_status(&mut self, shared: &Shared, home: &Home, options: &ControllerOptions) {
        let recent = self
            .status_written
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        if !self.status_changed || recent {
            return;
        }
        self.status_changed = false;
        self.status_written = Some(Instant::now());
        let target = report::StatusTarget {
            name: &options.status_name,
            namespace: &options.lease.namespace,
            identity: &options.lease.identity,
            now: unix_now(),
            cert_warning: options.cert_warning,
        };
        let config_map = report::status_config_map(&target, &shared.state);
        let api = home.api.clone();
        let write = WriteOptions {
            field_manager: "kubectl-mesh-controller".into(),
            force_conflicts: true,
            ..WriteOptions::default()
        };
        tokio::spawn(async move {
            if let Err(e) = apply::apply(&api, &config_map, &write).await {
                tracing::warn!(error = %e, "status ConfigMap not written");
            }
        });
    }
}

/// The object that is the link from a source to `peer`.
fn link_object(mechanism: &Mechanism, peer: &str) -> LinkObject {
    match mechanism {
        Mechanism::Peering(options) => LinkObject {
            kind: report::link_kind(true),
            namespace: options.namespace.clone(),
            name: peering::name(peer),
        },
        Mechanism::RemoteSecrets(_) => LinkObject {
            kind: report::link_kind(false),
            namespace: crate::labels::ISTIO_SYSTEM.into(),
            name: remote_secret::secret_name(peer),
        },
    }
}

/// A suffix no other replica or restart picks: the time and a counter.
fn unique(counter: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    nanos.wrapping_add(counter)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Now, to the second (Event timestamps are `metav1.Time`: seconds).
fn now_second() -> k8s_openapi::jiff::Timestamp {
    let now = k8s_openapi::jiff::Timestamp::now();
    now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now)
}
