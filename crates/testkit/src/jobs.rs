//! The Job controller: after the job delay a Job completes, leaving the Pod that "ran" it
//! and that Pod's log. A probe Job's log holds the simulated data plane's answers, which
//! depend on every cluster of the sandbox.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::cluster::{write_locked, Shared};
use crate::dataplane::{self, ClusterView};
use crate::meta;
use crate::reconcile::{gen_key, pending, write_status, MANAGER};
use crate::registry::{self, ResourceDef};
use crate::store::Store;
use crate::strategy::{CONTROLLER_UID_LABELS, JOB_NAME_LABELS};
use crate::world::World;

/// The real name generator keeps `generateName` prefixes to 63 - 5 characters.
const MAX_GENERATE_NAME: usize = 58;

fn def(group: &str, plural: &str) -> Option<&'static ResourceDef> {
    registry::find(group, "v1", plural)
}

/// The Jobs due for completion: not complete yet and past the delay. Runs under the store
/// lock; [`complete`] finishes them after it is released.
pub(crate) fn due(st: &Store, delay: Duration, due: &mut impl FnMut(String, Duration) -> bool) -> Vec<Value> {
    // A Job being deleted starts no pods.
    pending(st, "batch", "v1", "jobs", |job| {
        job.pointer("/status/succeeded").is_none() && !crate::deletion::is_deleting(job)
    })
    .into_iter()
    .filter(|job| due(gen_key("job", job), delay))
    .collect()
}

/// Completes `jobs` (found by [`due`]): computes their pods' logs first, without this
/// cluster's store lock, since that reads every cluster's store (one lock at a time; two
/// clusters doing this at once would deadlock otherwise), then writes each pod and Job
/// status under the lock.
pub(crate) fn complete(shared: &Shared, world: &World, jobs: Vec<Value>) {
    if jobs.is_empty() {
        return;
    }
    let probes: Vec<Option<dataplane::Probe>> = jobs
        .iter()
        .map(|job| {
            let spec = job.pointer("/spec/template/spec").unwrap_or(&Value::Null);
            dataplane::probe_of(spec, meta::namespace_of(job))
        })
        .collect();
    let snapshot = probes
        .iter()
        .any(Option::is_some)
        .then(|| world_views(shared, world));
    let logs: Vec<String> = probes
        .iter()
        .map(|probe| match (probe, &snapshot) {
            (Some(p), Some((views, source))) => dataplane::log(p, *source, views),
            _ => String::new(),
        })
        .collect();
    let mut st = shared.store();
    for (job, log) in jobs.iter().zip(logs) {
        finish(&mut st, job, log);
    }
}

/// Snapshots of every cluster of `world`, locking one store at a time, and the position of
/// `shared`.
fn world_views(shared: &Shared, world: &World) -> (Vec<ClusterView>, usize) {
    let capture = |c: &Shared| ClusterView::capture(&c.name, &c.server_url(), &c.store());
    let mut views: Vec<ClusterView> = world.clusters().iter().map(|c| capture(c)).collect();
    let source = match views.iter().position(|v| v.name == shared.name) {
        Some(i) => i,
        None => {
            // Not registered (yet): it still sees itself.
            views.push(capture(shared));
            views.len() - 1
        }
    };
    (views, source)
}

/// Writes the pod and the Job's completion, unless the Job changed since [`due`] saw it
/// (deleted, recreated, edited or completed meanwhile: the next pass decides again).
fn finish(st: &mut Store, seen: &Value, log: String) {
    let (ns, name) = (meta::namespace_of(seen), meta::name_of(seen));
    let Some(job) = def("batch", "jobs").and_then(|d| st.get(d, ns, name)) else {
        return;
    };
    let job = job.obj.clone();
    let unchanged = meta::uid_of(&job) == meta::uid_of(seen)
        && job.pointer("/metadata/generation") == seen.pointer("/metadata/generation")
        && job.pointer("/status/succeeded").is_none();
    if !unchanged {
        return;
    }
    // A status reset by a client must not make a second pod.
    if !has_pod(st, &job) {
        create_pod(st, &job, log);
    }
    let status = completed_status(&job);
    write_status(st, job, status);
}

fn has_pod(st: &Store, job: &Value) -> bool {
    let Some(pods) = def("", "pods") else { return false };
    st.list(pods, Some(meta::namespace_of(job))).iter().any(|p| {
        p.obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(|l| l.get(CONTROLLER_UID_LABELS[0]))
            .and_then(Value::as_str)
            == Some(meta::uid_of(job))
    })
}

fn create_pod(st: &mut Store, job: &Value, log: String) {
    let Some(pods) = def("", "pods") else { return };
    let ns = meta::namespace_of(job);
    // NamespaceLifecycle would refuse the pod.
    if crate::deletion::terminating(st, ns) {
        return;
    }
    let base: String = format!("{}-", meta::name_of(job))
        .chars()
        .take(MAX_GENERATE_NAME)
        .collect();
    // Five random characters from 27 make a clash unlikely; a few tries make it moot.
    let Some(name) = (0..8)
        .map(|_| format!("{base}{}", meta::name_suffix()))
        .find(|n| st.get(pods, ns, n).is_none())
    else {
        return;
    };
    if write_locked(st, pod_for(job, &base, &name), MANAGER, "").is_ok() {
        st.set_pod_log(ns, &name, log);
    }
}

/// The Pod the Job controller would have made from the template, already succeeded.
fn pod_for(job: &Value, generate_name: &str, name: &str) -> Value {
    let job_name = meta::name_of(job);
    let uid = meta::uid_of(job);
    let template = job.pointer("/spec/template");
    let mut labels: Map<String, Value> = template
        .and_then(|t| t.pointer("/metadata/labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in JOB_NAME_LABELS {
        labels.insert(key.to_string(), json!(job_name));
    }
    for key in CONTROLLER_UID_LABELS {
        labels.insert(key.to_string(), json!(uid));
    }
    let mut metadata = json!({
        "name": name, "generateName": generate_name, "namespace": meta::namespace_of(job), "labels": labels,
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
                             "controller": true, "blockOwnerDeletion": true}],
    });
    if let Some(a) = template
        .and_then(|t| t.pointer("/metadata/annotations"))
        .filter(|a| a.is_object())
    {
        metadata["annotations"] = a.clone();
    }
    let spec = template
        .and_then(|t| t.get("spec"))
        .filter(|s| s.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let status = succeeded_status(&spec);
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status})
}

fn succeeded_status(spec: &Value) -> Value {
    let now = meta::now_rfc3339();
    let containers = spec
        .get("containers")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let id = format!("containerd://{}", meta::random_hex(64));
            json!({
                "name": c.get("name"), "image": c.get("image"), "imageID": "", "containerID": id,
                "ready": false, "started": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now,
                                         "finishedAt": now, "containerID": id}},
            })
        })
        .collect();
    let cond = |kind: &str, ok: bool| {
        let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": now});
        if !ok {
            c["reason"] = json!("PodCompleted");
        }
        c
    };
    json!({
        "phase": "Succeeded", "startTime": now,
        "conditions": [cond("Initialized", true), cond("Ready", false), cond("ContainersReady", false), cond("PodScheduled", true)],
        "containerStatuses": statuses,
    })
}

fn completed_status(job: &Value) -> Value {
    let now = meta::now_rfc3339();
    let cond =
        |t: &str| json!({"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now});
    json!({
        "startTime": job.pointer("/metadata/creationTimestamp"), "completionTime": now,
        "succeeded": 1, "ready": 0, "terminating": 0,
        "conditions": [cond("SuccessCriteriaMet"), cond("Complete")],
    })
}
