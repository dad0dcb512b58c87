//! `verify --traffic`: the end-to-end proof users otherwise do by hand (helloworld, sleep,
//! curl). In a temporary namespace of every cluster: an echo server behind a global Service;
//! once every server is ready, a client Job per cluster calls the flavour's global host
//! ([`Probe::host`]: Solo's `<svc>.<ns>.mesh.internal` for ambient-peering; for upstream ambient
//! the Service's own `<svc>.<ns>.svc.cluster.local`, as upstream has no global domain —
//! istio 1.30.3 pilot/pkg/serviceregistry/ambient/services.go:690 — and for sidecars the same);
//! its log says which clusters answered. The namespaces go away afterwards — also when a step
//! fails or the run is interrupted.

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::checks::{check, global, pair};
use super::facts::ClusterFacts;
use super::{Check, Status};
use crate::api::with_query;
use crate::apply::{self, WriteOptions};
use crate::clusters::Cluster;
use crate::parallel;
use crate::report::Progress;
use crate::resource;
use crate::resources::eastwest::Flavor;
use crate::resources::probe::{self, Answers, Probe, PROBE_LABEL};

/// Settings of `--traffic`.
#[derive(Debug, Clone)]
pub struct TrafficOptions {
    pub flavor: Flavor,
    /// Requests per client; `None`: ten per cluster (at least 20), so that with calls spread
    /// at random every cluster is all but certain to be hit.
    pub requests: Option<u32>,
    pub server_image: String,
    pub client_image: String,
    /// How long to wait for the servers to be ready, and again for the clients to finish.
    pub wait: Duration,
    /// Leave the probe namespaces in place (to debug a failure).
    pub keep: bool,
    pub parallel: usize,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        TrafficOptions {
            flavor: Flavor::AmbientPeering,
            requests: None,
            server_image: probe::DEFAULT_SERVER_IMAGE.into(),
            client_image: probe::DEFAULT_CLIENT_IMAGE.into(),
            wait: Duration::from_secs(180),
            keep: false,
            parallel: 16,
        }
    }
}

/// What `--traffic` found.
#[derive(Debug, Clone)]
pub struct TrafficReport {
    pub checks: Vec<Check>,
    /// The run was interrupted; the probe was still cleaned up.
    pub interrupted: bool,
}

/// Runs the probe in every reachable cluster, then removes it (unless `keep`). `interrupt`
/// resolving (Ctrl-C) stops the probe at once and goes straight to the clean-up. `found`
/// are the configuration checks already made: a silent pair's fix comes from them.
pub async fn run(
    clusters: &[Cluster],
    facts: &[ClusterFacts],
    found: &[Check],
    options: &TrafficOptions,
    progress: &dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> TrafficReport {
    let reachable: Vec<&Cluster> = clusters
        .iter()
        .filter(|c| facts.iter().any(|f| f.name == c.name && f.reachable()))
        .collect();
    let probe = Probe {
        namespace: format!("kubectl-mesh-probe-{}", random_suffix()),
        flavor: options.flavor,
        requests: options
            .requests
            .unwrap_or_else(|| (10 * clusters.len() as u32).max(20)),
        server_image: options.server_image.clone(),
        client_image: options.client_image.clone(),
    };
    let exercise = exercise(&reachable, &probe, options, progress);
    let outcome = tokio::select! {
        outcome = exercise => Some(outcome),
        () = interrupt => None,
    };
    let cleanup = if options.keep {
        Vec::new()
    } else {
        parallel::map_bounded(reachable.clone(), options.parallel, |c| {
            cleanup(c, &probe.namespace)
        })
        .await
    };
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    let mut checks = match &outcome {
        Some(runs) => evaluate(&names, runs, &probe, found),
        None => vec![interrupted_check(clusters, options)],
    };
    checks.extend(cleanup_checks(&reachable, cleanup, &probe.namespace));
    if options.keep {
        checks.push(kept_check(&probe.namespace, &reachable));
    }
    // Scripts find the probe's namespace in a field of its own, not only in messages.
    for check in &mut checks {
        check.namespace = Some(probe.namespace.clone());
    }
    TrafficReport {
        checks,
        interrupted: outcome.is_none(),
    }
}

/// A probe name nobody else uses: a random-keyed hash of the time and our process id.
fn random_suffix() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:06x}", hasher.finish() & 0xff_ffff)
}

/// How the probe went in one cluster: its server, then its client.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    pub cluster: String,
    pub server: Result<(), String>,
    /// `None` when the client never ran (its own server failed, or another step did).
    pub client: Option<Result<Answers, String>>,
}

async fn exercise<'a>(
    clusters: &[&'a Cluster],
    probe: &Probe,
    options: &TrafficOptions,
    progress: &dyn Progress,
) -> Vec<ClusterRun> {
    let deadline = Instant::now() + options.wait;
    let servers = parallel::map_bounded(clusters.to_vec(), options.parallel, |c| async move {
        let result = start_server(c, probe, deadline, options.wait).await;
        progress.event(
            &c.name,
            if result.is_ok() {
                "probe server ready"
            } else {
                "probe server failed"
            },
        );
        result
    })
    .await;
    // Clients start only once every server is up, or early ones would miss late servers.
    let deadline = Instant::now() + options.wait;
    let ready: Vec<&Cluster> = clusters
        .iter()
        .zip(&servers)
        .filter(|(_, s)| s.is_ok())
        .map(|(c, _)| *c)
        .collect();
    let run_all = |clients: Vec<&'a Cluster>, run: u32| {
        parallel::map_bounded(clients, options.parallel, move |c| async move {
            let result = run_client(c, probe, run, deadline, options.wait).await;
            let what = match (&result, run) {
                (Err(_), _) => "probe client failed".to_string(),
                (Ok(_), 1) => "probe client finished".to_string(),
                (Ok(_), n) => format!("probe client finished (run {n})"),
            };
            progress.event(&c.name, &what);
            (c.name.clone(), result)
        })
    };
    let mut clients: Vec<(String, Result<Answers, String>)> = run_all(ready.clone(), 1).await;
    // Endpoints of other clusters take a few seconds to spread through the mesh, so a
    // client that heard nothing from a serving cluster runs once more (its pod's start-up is
    // the wait) before that counts as a failure.
    let serving: Vec<&str> = ready.iter().map(|c| c.name.as_str()).collect();
    let silent: Vec<&Cluster> = ready
        .iter()
        .zip(&clients)
        .filter(|(_, (_, r))| r.as_ref().is_ok_and(|a| heard_nothing_from(a, &serving)))
        .map(|(c, _)| *c)
        .collect();
    if !silent.is_empty() {
        let again: BTreeMap<String, Result<Answers, String>> = run_all(silent, 2).await.into_iter().collect();
        for (name, result) in &mut clients {
            if let (Ok(first), Some(second)) = (result.as_mut(), again.get(name)) {
                match second {
                    Ok(more) => first.add(more),
                    Err(e) => *result = Err(format!("second run: {e}")),
                }
            }
        }
    }
    let mut clients: BTreeMap<String, Result<Answers, String>> = clients.into_iter().collect();
    clusters
        .iter()
        .zip(servers)
        .map(|(c, server)| ClusterRun {
            cluster: c.name.clone(),
            server,
            client: clients.remove(&c.name),
        })
        .collect()
}

/// Creates the namespace (it must be new: it is ours to delete), the server and its Service,
/// and waits until the server is ready.
async fn start_server(
    cluster: &Cluster,
    probe: &Probe,
    deadline: Instant,
    wait: Duration,
) -> Result<(), String> {
    let ns_path = resource::NAMESPACE.object_path(None, &probe.namespace);
    match cluster.api.get(&ns_path).await {
        Ok(None) => {}
        Ok(Some(_)) => return Err(format!("namespace {} already exists; run again", probe.namespace)),
        Err(e) => return Err(cluster.explain(&e)),
    }
    let write = WriteOptions::default();
    for object in [
        probe.namespace_object(),
        probe.server(&cluster.name),
        probe.service(),
    ] {
        apply::apply(&cluster.api, &object, &write)
            .await
            .map_err(|e| cluster.explain_write(&e))?;
    }
    let path = resource::DEPLOYMENT.object_path(Some(&probe.namespace), probe::SERVER);
    wait_for(cluster, &path, deadline, deployment_ready)
        .await
        .map_err(|e| match e {
            Waited::Timeout(last) => format!(
                "Deployment {}/{} not ready within {}{}; check that image {} can be pulled (--probe-image), or give it longer (--traffic-timeout)",
                probe.namespace,
                probe::SERVER,
                crate::duration::display(wait),
                last.map(|l| format!(" ({l})")).unwrap_or_default(),
                probe.server_image
            ),
            Waited::Error(e) => e,
        })
}

/// Whether some serving cluster never answered, with calls enough that this is no chance.
fn heard_nothing_from(answers: &Answers, serving: &[&str]) -> bool {
    miss_chance(serving.len(), answers.total()) < MISS_CHANCE
        && serving.iter().any(|s| !answers.by_cluster.contains_key(*s))
}

/// Runs client Job number `run` to completion and reads what it saw.
async fn run_client(
    cluster: &Cluster,
    probe: &Probe,
    run: u32,
    deadline: Instant,
    wait: Duration,
) -> Result<Answers, String> {
    apply::apply(&cluster.api, &probe.client(run), &WriteOptions::default())
        .await
        .map_err(|e| cluster.explain_write(&e))?;
    let job = Probe::client_name(run);
    let path = resource::JOB.object_path(Some(&probe.namespace), &job);
    let finished = wait_for(cluster, &path, deadline, job_finished).await;
    let failed = match finished {
        Ok(()) => None,
        Err(Waited::Error(e)) => Some(e),
        Err(Waited::Timeout(_)) => {
            return Err(format!(
                "Job {}/{job} did not finish within {}; check that image {} can be pulled (--probe-client-image), or give it longer (--traffic-timeout)",
                probe.namespace,
                crate::duration::display(wait),
                probe.client_image
            ))
        }
    };
    let log = read_log(cluster, probe, &job).await?;
    match failed {
        // A failed Job's log still says why (its first lines are the requests it made).
        Some(e) => Err(format!("{e}{}", last_line(&log))),
        None => Ok(probe::parse_log(&log)),
    }
}

fn last_line(log: &str) -> String {
    log.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!("; its log ends with: {}", l.trim()))
        .unwrap_or_default()
}

async fn read_log(cluster: &Cluster, probe: &Probe, job: &str) -> Result<String, String> {
    let pods_path = resource::POD.collection_path(Some(&probe.namespace));
    let selector = format!("job-name={job}");
    let pods = cluster
        .api
        .list(&pods_path, Some(&selector))
        .await
        .map_err(|e| cluster.explain(&e))?;
    // The newest pod is the one whose log counts (with backoffLimit 0 there is only one).
    let pod = pods
        .iter()
        .max_by_key(|p| {
            p.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .and_then(|p| p.pointer("/metadata/name").and_then(Value::as_str))
        .ok_or_else(|| format!("Job {}/{job} has no pod to read the log of", probe.namespace))?;
    let path = with_query(
        &format!("{}/log", resource::POD.object_path(Some(&probe.namespace), pod)),
        &[("container", probe.client_container())],
    );
    cluster.api.get_text(&path).await.map_err(|e| cluster.explain(&e))
}

enum Waited {
    /// Gave up at the deadline; the last state seen, in words.
    Timeout(Option<String>),
    Error(String),
}

/// What a poll found: done, not yet (and why), or a failure that waiting will not fix.
enum Poll {
    Done,
    Pending(Option<String>),
    Failed(String),
}

/// Polls an object until `state` says it is done, with a growing interval (a watch would
/// save a few requests, but a poll survives dropped connections for free).
async fn wait_for(
    cluster: &Cluster,
    path: &str,
    deadline: Instant,
    state: fn(&Value) -> Poll,
) -> Result<(), Waited> {
    use crate::poll::{self, Pace, State};
    let of = |object: Option<&Value>| match object.map(state) {
        None => State::Failed(format!("{path} disappeared in cluster {}", cluster.name)),
        Some(Poll::Done) => State::Done(()),
        Some(Poll::Failed(e)) => State::Failed(e),
        Some(Poll::Pending(why)) => State::Pending(why),
    };
    let pace = Pace {
        first: Duration::from_millis(100),
        max: Duration::from_secs(2),
    };
    poll::until(&cluster.api, path, deadline, pace, of, || {})
        .await
        .map_err(|waited| match waited {
            poll::Waited::Timeout(last) => Waited::Timeout(last),
            poll::Waited::Failed(e) => Waited::Error(e),
            poll::Waited::Api(e) => Waited::Error(cluster.explain(&e)),
        })
}

fn deployment_ready(d: &Value) -> Poll {
    let int = |p: &str| d.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    if int("/status/readyReplicas") >= 1 && int("/status/observedGeneration") >= int("/metadata/generation") {
        return Poll::Done;
    }
    let why = conditions(d)
        .find(|c| c.get("status").and_then(Value::as_str) != Some("True"))
        .and_then(|c| c.get("message").and_then(Value::as_str))
        .map(str::to_owned);
    Poll::Pending(why)
}

fn job_finished(job: &Value) -> Poll {
    let is_true = |c: &&Value| c.get("status").and_then(Value::as_str) == Some("True");
    let of_type = |t: &str| {
        conditions(job)
            .filter(is_true)
            .find(|c| c.get("type").and_then(Value::as_str) == Some(t))
            .cloned()
    };
    if of_type("Complete").is_some() {
        return Poll::Done;
    }
    match of_type("Failed") {
        Some(c) => Poll::Failed(format!(
            "Job {} failed: {}",
            job.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            c.get("message")
                .or_else(|| c.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
        )),
        None => Poll::Pending(None),
    }
}

fn conditions(object: &Value) -> impl Iterator<Item = &Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// How long clean-up waits for a deleted probe namespace to be gone.
const NAMESPACE_GONE: std::time::Duration = std::time::Duration::from_secs(60);

/// Deletes the probe namespace, but only one that carries the probe label: a namespace of
/// the same name we did not create is left alone. Returns the older probe namespaces still
/// in the cluster (kept with --keep-probe, or left by a killed run), which it does not touch.
async fn cleanup(cluster: &Cluster, namespace: &str) -> Result<Vec<String>, String> {
    let path = resource::NAMESPACE.object_path(None, namespace);
    let live = cluster.api.get(&path).await.map_err(|e| cluster.explain(&e))?;
    if live.as_ref().is_some_and(is_probe) {
        cluster
            .api
            .delete(&path, false)
            .await
            .map_err(|e| cluster.explain(&e))?;
        // Like `kubectl delete`, return once it is really gone (its pods go first).
        let gone = crate::apply::wait_gone(&cluster.api, &path, NAMESPACE_GONE)
            .await
            .map_err(|e| cluster.explain(&e))?;
        if !gone {
            return Err(format!(
                "namespace {namespace} is still terminating after {}s: check it with `kubectl --context {} get namespace {namespace} -o yaml`",
                NAMESPACE_GONE.as_secs(),
                cluster.context
            ));
        }
    }
    let selector = format!("{PROBE_LABEL}=true");
    let probes = cluster
        .api
        .list(&resource::NAMESPACE.collection_path(None), Some(&selector))
        .await
        .map_err(|e| cluster.explain(&e))?;
    Ok(probes
        .iter()
        .filter(|ns| ns.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|ns| ns.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|name| *name != namespace)
        .map(str::to_owned)
        .collect())
}

fn is_probe(namespace: &Value) -> bool {
    namespace
        .pointer("/metadata/labels")
        .and_then(|l| l.get(PROBE_LABEL))
        .and_then(Value::as_str)
        == Some("true")
}

fn cluster_check(cluster: &str, status: Status, message: impl Into<String>) -> Check {
    check("traffic", cluster, status, message)
}

fn interrupted_check(clusters: &[Cluster], options: &TrafficOptions) -> Check {
    let refs: Vec<String> = clusters
        .iter()
        .map(|c| crate::clusters::contexts_entry(&c.name, &c.context))
        .collect();
    global("traffic", Status::Fail, "interrupted before the probe finished").hint(format!(
        "kubectl mesh verify --contexts {} --flavor {} --traffic",
        refs.join(","),
        options.flavor
    ))
}

/// What the user asked for, so not a warning; the message carries the command that removes it.
fn kept_check(namespace: &str, clusters: &[&Cluster]) -> Check {
    let contexts: Vec<&str> = clusters.iter().map(|c| c.context.as_str()).collect();
    global(
        "traffic-cleanup",
        Status::Pass,
        format!(
            "kept namespace {namespace} (--keep-probe); remove it with: for c in {}; do kubectl --context \"$c\" delete namespace {namespace}; done",
            contexts.join(" ")
        ),
    )
}

/// Only what is left is reported: a clean-up that worked is not news.
fn cleanup_checks(
    clusters: &[&Cluster],
    results: Vec<Result<Vec<String>, String>>,
    namespace: &str,
) -> Vec<Check> {
    clusters
        .iter()
        .zip(results)
        .filter_map(|(c, result)| {
            let (message, left) = match result {
                Err(error) => (
                    format!("could not remove namespace {namespace}: {error}"),
                    vec![namespace.to_string()],
                ),
                Ok(older) if older.is_empty() => return None,
                Ok(older) => (
                    format!(
                        "older probe namespaces remain (from --keep-probe or an interrupted run): {}",
                        older.join(", ")
                    ),
                    older,
                ),
            };
            Some(
                check("traffic-cleanup", &c.name, Status::Warn, message).hint(format!(
                    "kubectl --context {} delete namespace {}",
                    c.context,
                    left.join(" ")
                )),
            )
        })
        .collect()
}

/// Turns what every cluster saw into checks: one per cluster (did its probe run), one per
/// ordered pair whose client and server both ran (did the target answer).
pub fn evaluate(names: &[&str], runs: &[ClusterRun], probe: &Probe, found: &[Check]) -> Vec<Check> {
    let mut checks = Vec::new();
    for name in names {
        match runs.iter().find(|r| r.cluster == *name) {
            None => checks.push(cluster_check(
                name,
                Status::Fail,
                "not probed: its API server is unreachable",
            )),
            Some(run) => checks.push(run_check(run, probe)),
        }
    }
    let serving: Vec<&str> = runs
        .iter()
        .filter(|r| r.server.is_ok())
        .map(|r| r.cluster.as_str())
        .collect();
    for run in runs {
        let Some(Ok(answers)) = &run.client else { continue };
        for to in names.iter().filter(|n| serving.contains(n)) {
            let silent = Silent {
                serving: serving.len(),
                hint: pair_hint(&run.cluster, to, answers, found),
            };
            checks.push(pair_check(&run.cluster, to, answers, silent));
        }
    }
    checks
}

/// Below this chance of missing a cluster by luck alone, a cluster that never answered
/// counts as unreachable.
const MISS_CHANCE: f64 = 0.01;

/// The chance that a cluster gets none of `requests` calls spread at random over `clusters`.
fn miss_chance(clusters: usize, requests: u32) -> f64 {
    if clusters <= 1 {
        return 0.0;
    }
    (1.0 - 1.0 / clusters as f64).powf(f64::from(requests))
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn run_check(run: &ClusterRun, probe: &Probe) -> Check {
    let name = run.cluster.as_str();
    match (&run.server, &run.client) {
        (Err(e), _) => cluster_check(name, Status::Fail, format!("probe server: {e}")),
        (Ok(()), None) => cluster_check(name, Status::Fail, "probe client did not run"),
        (Ok(()), Some(Err(e))) => cluster_check(name, Status::Fail, format!("probe client: {e}")),
        (Ok(()), Some(Ok(answers))) => {
            let total = answers.total();
            let answered = total - answers.errors - answers.unexpected;
            let by: Vec<String> = answers
                .by_cluster
                .iter()
                .map(|(cluster, n)| format!("{cluster} {n}"))
                .collect();
            let runs = match answers.runs {
                0 | 1 => String::new(),
                n => format!(" in {n} runs (the first left a cluster silent)"),
            };
            let mut message = format!(
                "client called {} {}{runs}: answered by {}",
                probe.host(),
                plural(total, "time"),
                if by.is_empty() {
                    "none".to_string()
                } else {
                    by.join(", ")
                }
            );
            let status = if answers.errors > 0 || answers.unexpected > 0 || answered == 0 {
                if let Some(e) = &answers.first_error {
                    message.push_str(&format!(
                        "; {} failed, first: {e}",
                        plural(answers.errors, "call")
                    ));
                }
                if answers.unexpected > 0 {
                    message.push_str(&format!("; {} unexpected", plural(answers.unexpected, "answer")));
                }
                Status::Warn
            } else {
                Status::Pass
            };
            cluster_check(name, status, message)
        }
    }
}

/// How to judge and fix a pair that never answered.
struct Silent {
    /// How many clusters serve: the calls spread over them.
    serving: usize,
    hint: String,
}

/// The fix for a silent pair, from what verify already knows: the link check of the pair,
/// then the shared root, then what the calls said.
fn pair_hint(from: &str, to: &str, answers: &Answers, found: &[Check]) -> String {
    let failing = |c: &&Check| c.status != Status::Pass && c.hint.is_some();
    let link = found
        .iter()
        .filter(failing)
        .find(|c| c.id == "link" && c.from.as_deref() == Some(from) && c.to.as_deref() == Some(to));
    let root = found.iter().filter(failing).find(|c| c.id == "shared-root");
    match (link, root) {
        _ if from == to => {
            format!("check the data plane of {to}: kubectl --context {to} get pods -n istio-system")
        }
        (Some(link), _) => link.hint.clone().unwrap_or_default(),
        (None, Some(root)) => root.hint.clone().unwrap_or_default(),
        (None, None) if answers.first_error.as_deref().is_some_and(|e| e.contains("(56)")) => {
            format!("calls reached {to} but mTLS failed: compare the roots with kubectl mesh certs inspect --contexts {from},{to}")
        }
        (None, None) => format!("kubectl mesh link --from {from} --to {to}"),
    }
}

fn pair_check(from: &str, to: &str, answers: &Answers, silent: Silent) -> Check {
    let count = answers.by_cluster.get(to).copied().unwrap_or(0);
    let total = answers.total();
    let mut check = if count > 0 {
        pair(
            "traffic",
            from,
            to,
            Status::Pass,
            format!("{to} answered {count} of {total} calls from {from}"),
        )
    } else if miss_chance(silent.serving, total) >= MISS_CHANCE {
        // Calls spread at random: with few of them, missing a cluster proves nothing.
        pair(
            "traffic",
            from,
            to,
            Status::Warn,
            format!(
                "{to} did not answer {from} in {}: too few to tell",
                plural(total, "call")
            ),
        )
        .hint(format!(
            "run again with more calls: --probe-requests {}",
            10 * silent.serving.max(2)
        ))
    } else {
        let errors = match &answers.first_error {
            Some(e) => format!("; {} failed, first: {e}", plural(answers.errors, "call")),
            None => String::new(),
        };
        let who = if from == to {
            "its own client".to_string()
        } else {
            from.to_string()
        };
        pair(
            "traffic",
            from,
            to,
            Status::Fail,
            format!("{to} never answered {who} ({}{errors})", plural(total, "call")),
        )
        .hint(silent.hint)
    };
    check.answered = Some(count);
    check.sent = Some(total);
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> Probe {
        Probe {
            namespace: "kubectl-mesh-probe-000001".into(),
            flavor: Flavor::AmbientPeering,
            requests: 4,
            server_image: "s".into(),
            client_image: "c".into(),
        }
    }

    fn answers(log: &str) -> Option<Result<Answers, String>> {
        Some(Ok(probe::parse_log(log)))
    }

    fn log(lines: &[&str]) -> Option<Result<Answers, String>> {
        answers(&(lines.join("\n") + "\n"))
    }

    fn answer(cluster: &str, times: usize) -> Vec<String> {
        vec![format!("kubectl-mesh-probe cluster={cluster}"); times]
    }

    fn run(cluster: &str, lines: Vec<String>) -> ClusterRun {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        ClusterRun {
            cluster: cluster.into(),
            server: Ok(()),
            client: log(&lines),
        }
    }

    fn find<'a>(checks: &'a [Check], from: &str, to: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.from.as_deref() == Some(from) && c.to.as_deref() == Some(to))
            .unwrap()
    }

    #[test]
    fn every_pair_that_answered_passes() {
        let runs = vec![
            run("a", [answer("a", 1), answer("b", 1)].concat()),
            run("b", [answer("b", 1), answer("a", 1)].concat()),
        ];
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[]);
        assert_eq!(checks.len(), 6, "{checks:#?}");
        assert!(checks.iter().all(|c| c.status == Status::Pass), "{checks:#?}");
        assert_eq!(find(&checks, "a", "b").answered, Some(1));
        assert_eq!(find(&checks, "a", "b").message, "b answered 1 of 2 calls from a");
        let a = checks.iter().find(|c| c.cluster.as_deref() == Some("a")).unwrap();
        assert!(
            a.message.ends_with("2 times: answered by a 1, b 1"),
            "{}",
            a.message
        );
    }

    #[test]
    fn a_silent_target_fails_with_the_fix_and_errors_warn() {
        let errors = vec!["error: curl: (56) Recv failure".to_string(); 10];
        let runs = vec![
            run("a", [answer("a", 10), errors].concat()),
            run("b", answer("b", 1)),
        ];
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[]);
        let ab = find(&checks, "a", "b");
        assert_eq!(ab.status, Status::Fail);
        assert_eq!(
            ab.message,
            "b never answered a (20 calls; 10 calls failed, first: curl: (56) Recv failure)"
        );
        assert!(ab.hint.as_deref().unwrap().contains("mTLS failed"), "{ab:?}");
        let a = checks.iter().find(|c| c.cluster.as_deref() == Some("a")).unwrap();
        assert_eq!(a.status, Status::Warn);
    }

    #[test]
    fn too_few_calls_to_tell_is_a_warning() {
        // Two calls over three serving clusters: missing one is likely by chance alone.
        let runs = vec![
            run("a", [answer("a", 1), answer("b", 1)].concat()),
            run("b", answer("b", 30)),
            run("c", answer("c", 30)),
        ];
        let checks = evaluate(&["a", "b", "c"], &runs, &probe(), &[]);
        let ac = find(&checks, "a", "c");
        assert_eq!(ac.status, Status::Warn);
        assert_eq!(ac.message, "c did not answer a in 2 calls: too few to tell");
        assert_eq!(
            ac.hint.as_deref(),
            Some("run again with more calls: --probe-requests 30")
        );
        // Thirty calls are plenty: b never answering c is a failure.
        assert_eq!(find(&checks, "c", "b").status, Status::Fail);
    }

    #[test]
    fn the_fix_comes_from_what_verify_already_found() {
        let runs = vec![run("a", answer("a", 20)), run("b", answer("b", 20))];
        let link = pair("link", "a", "b", Status::Warn, "one-way").hint("kubectl mesh link --from a --to b");
        let root = global("shared-root", Status::Fail, "roots differ")
            .hint("kubectl mesh certs secret --contexts b --dir DIR --force");
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[link.clone(), root.clone()]);
        assert_eq!(find(&checks, "a", "b").hint, link.hint);
        assert_eq!(find(&checks, "b", "a").hint, root.hint);
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[]);
        assert_eq!(
            find(&checks, "b", "a").hint.as_deref(),
            Some("kubectl mesh link --from b --to a")
        );
    }

    #[test]
    fn a_failed_server_or_client_is_one_cluster_check_not_many_pairs() {
        let runs = vec![
            ClusterRun {
                cluster: "a".into(),
                server: Err("403".into()),
                client: None,
            },
            ClusterRun {
                cluster: "b".into(),
                server: Ok(()),
                client: Some(Err("Job failed".into())),
            },
            ClusterRun {
                cluster: "c".into(),
                server: Ok(()),
                client: answers("kubectl-mesh-probe cluster=c\nkubectl-mesh-probe cluster=b\n"),
            },
        ];
        let checks = evaluate(&["a", "b", "c", "d"], &runs, &probe(), &[]);
        let by_cluster = |n: &str| checks.iter().find(|c| c.cluster.as_deref() == Some(n)).unwrap();
        assert_eq!(by_cluster("a").message, "probe server: 403");
        assert_eq!(by_cluster("b").message, "probe client: Job failed");
        assert_eq!(by_cluster("d").status, Status::Fail);
        let pairs: Vec<(&str, &str)> = checks
            .iter()
            .filter_map(|c| Some((c.from.as_deref()?, c.to.as_deref()?)))
            .collect();
        assert_eq!(pairs, vec![("c", "b"), ("c", "c")]);
    }

    #[test]
    fn deployment_and_job_states() {
        let ready = serde_json::json!({"metadata": {"generation": 2}, "status": {"readyReplicas": 1, "observedGeneration": 2}});
        assert!(matches!(deployment_ready(&ready), Poll::Done));
        let old = serde_json::json!({"metadata": {"generation": 3}, "status": {"readyReplicas": 1, "observedGeneration": 2}});
        assert!(matches!(deployment_ready(&old), Poll::Pending(_)));
        let complete =
            serde_json::json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(matches!(job_finished(&complete), Poll::Done));
        let failed = serde_json::json!({"metadata": {"name": "j"}, "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}});
        assert!(matches!(job_finished(&failed), Poll::Failed(m) if m == "Job j failed: DeadlineExceeded"));
        assert!(matches!(
            job_finished(&serde_json::json!({})),
            Poll::Pending(None)
        ));
    }

    #[test]
    fn suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
        assert_eq!(random_suffix().len(), 6);
    }
}
