//! The probe's workloads in one cluster: the echo server and its readiness, the client Job,
//! its log, and waiting for each.

use super::*;

/// Creates the namespace (it must be new: it is ours to delete), the server and its Service,
/// and waits until the server is ready.
pub(super) async fn start_server(
    cluster: &Cluster,
    probe: &Probe,
    deadline: Instant,
    wait: Duration,
) -> Result<(), String> {
    let ns_path = kinds::NAMESPACE.object_path(None, &probe.namespace);
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
    let path = kinds::DEPLOYMENT.object_path(Some(&probe.namespace), probe::SERVER);
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
pub(super) fn heard_nothing_from(answers: &Answers, serving: &[&str]) -> bool {
    miss_chance(serving.len(), answers.total()) < MISS_CHANCE
        && serving.iter().any(|s| !answers.by_cluster.contains_key(*s))
}

/// Runs client Job number `run` to completion and reads what it saw.
pub(super) async fn run_client(
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
    let path = kinds::JOB.object_path(Some(&probe.namespace), &job);
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

pub(super) fn last_line(log: &str) -> String {
    log.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!("; its log ends with: {}", l.trim()))
        .unwrap_or_default()
}

pub(super) async fn read_log(cluster: &Cluster, probe: &Probe, job: &str) -> Result<String, String> {
    let pods_path = kinds::POD.collection_path(Some(&probe.namespace));
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
        &format!("{}/log", kinds::POD.object_path(Some(&probe.namespace), pod)),
        &[("container", probe.client_container())],
    );
    cluster.api.get_text(&path).await.map_err(|e| cluster.explain(&e))
}

pub(super) enum Waited {
    /// Gave up at the deadline; the last state seen, in words.
    Timeout(Option<String>),
    Error(String),
}

/// What a poll found: done, not yet (and why), or a failure that waiting will not fix.
pub(super) enum Poll {
    Done,
    Pending(Option<String>),
    Failed(String),
}

/// Polls an object until `state` says it is done, with a growing interval (a watch would
/// save a few requests, but a poll survives dropped connections for free).
pub(super) async fn wait_for(
    cluster: &Cluster,
    path: &str,
    deadline: Instant,
    state: fn(&Value) -> Poll,
) -> Result<(), Waited> {
    use crate::kube::poll::{self, Pace, State};
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

pub(super) fn deployment_ready(d: &Value) -> Poll {
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

pub(super) fn job_finished(job: &Value) -> Poll {
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

pub(super) fn conditions(object: &Value) -> impl Iterator<Item = &Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}
