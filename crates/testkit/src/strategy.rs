//! What kube-apiserver's registry strategies add to an object when it is created.

use serde_json::{json, Map, Value};

use crate::meta;
use crate::registry::ResourceDef;

/// Labels the Job strategy gives a Job's pod template; the first two name the Job, the
/// others hold its uid.
pub const JOB_NAME_LABELS: [&str; 2] = ["batch.kubernetes.io/job-name", "job-name"];
pub const CONTROLLER_UID_LABELS: [&str; 2] = ["batch.kubernetes.io/controller-uid", "controller-uid"];

/// Fills in server defaults of a new object whose uid is `uid`.
pub fn prepare_for_create(def: &ResourceDef, obj: &mut Value, uid: &str) {
    if def.group == "batch" && def.plural == "jobs" {
        generate_job_selector(obj, uid);
    }
    if def.group.is_empty() && def.plural == "namespaces" {
        crate::deletion::prepare_namespace(obj);
    }
}

/// The Job strategy's `generateSelector`: unless `spec.manualSelector`, the pod template
/// gets the job-name and controller-uid labels and the selector matches the uid. Clients
/// such as `kubectl logs job/x` find the Job's pods through that selector.
fn generate_job_selector(job: &mut Value, uid: &str) {
    if job.pointer("/spec/manualSelector") == Some(&json!(true)) {
        return;
    }
    let name = meta::name_of(job).to_string();
    let Some(spec) = child(job, "spec") else { return };
    if let Some(labels) = child(spec, "template")
        .and_then(|t| child(t, "metadata"))
        .and_then(|m| child(m, "labels"))
        .and_then(Value::as_object_mut)
    {
        for key in JOB_NAME_LABELS {
            labels.entry(key).or_insert_with(|| json!(name));
        }
        for key in CONTROLLER_UID_LABELS {
            labels.entry(key).or_insert_with(|| json!(uid));
        }
    }
    if let Some(match_labels) = child(spec, "selector")
        .and_then(|s| child(s, "matchLabels"))
        .and_then(Value::as_object_mut)
    {
        match_labels
            .entry(CONTROLLER_UID_LABELS[0])
            .or_insert_with(|| json!(uid));
    }
}

/// `parent[key]` as an object, created if absent or null; None if it holds something else
/// (a malformed object is stored as sent, as validation is not simulated).
fn child<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    let map = parent.as_object_mut()?;
    let slot = map.entry(key).or_insert(Value::Null);
    if slot.is_null() {
        *slot = Value::Object(Map::new());
    }
    slot.is_object().then_some(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    fn jobs() -> &'static ResourceDef {
        registry::find("batch", "v1", "jobs").expect("jobs")
    }

    #[test]
    fn job_gets_selector_and_template_labels() {
        let mut job = json!({"metadata": {"name": "j"}, "spec": {"template": {"metadata": {"labels": {"app": "x", "job-name": "mine"}}}}});
        prepare_for_create(jobs(), &mut job, "u-1");
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"],
            json!({"app": "x", "job-name": "mine", "batch.kubernetes.io/job-name": "j",
                   "batch.kubernetes.io/controller-uid": "u-1", "controller-uid": "u-1"})
        );
        assert_eq!(
            job["spec"]["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}})
        );
    }

    #[test]
    fn manual_selector_and_malformed_specs_are_left_alone() {
        let mut job = json!({"metadata": {"name": "j"}, "spec": {"manualSelector": true, "template": {}}});
        let before = job.clone();
        prepare_for_create(jobs(), &mut job, "u");
        assert_eq!(job, before);
        let mut job = json!({"metadata": {"name": "j"}, "spec": "nonsense"});
        prepare_for_create(jobs(), &mut job, "u");
        assert_eq!(job["spec"], "nonsense");
        let mut cm = json!({"metadata": {"name": "c"}});
        prepare_for_create(registry::find("", "v1", "configmaps").expect("cm"), &mut cm, "u");
        assert_eq!(cm, json!({"metadata": {"name": "c"}}));
    }
}
