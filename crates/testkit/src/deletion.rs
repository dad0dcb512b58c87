//! Graceful deletion as the apiserver's registry does it: an object with finalizers is
//! only marked (`metadata.deletionTimestamp`, `deletionGracePeriodSeconds: 0`) and goes
//! when its last finalizer is removed; `propagationPolicy` `Orphan` and `Foreground` add
//! the `orphan` / `foregroundDeletion` finalizers the garbage collector ([`crate::gc`])
//! acts on; a Namespace keeps its `spec.finalizers: [kubernetes]` and turns
//! `status.phase: Terminating` until the namespace controller has emptied it.
//!
//! - API conventions, "Metadata" (`deletionTimestamp`, finalizers):
//!   <https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata>
//! - Finalizers: <https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/>
//! - Cascading deletion: <https://kubernetes.io/docs/concepts/architecture/garbage-collection/#cascading-deletion>
//! - Namespace deletion: <https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/>

use serde_json::{json, Value};

use crate::meta;
use crate::registry::{ResourceDef, RESOURCES};
use crate::status::{ApiError, Cause};
use crate::store::Store;

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";
/// The finalizer the Namespace strategy puts in `spec.finalizers`.
pub const NAMESPACE_FINALIZER: &str = "kubernetes";

/// The job registry's warning for a batch/v1 Job deleted without a policy.
pub const JOB_ORPHAN_WARNING: &str = "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    Orphan,
    Background,
    Foreground,
}

/// The parts of `DeleteOptions` the server honours.
#[derive(Debug, Default)]
pub struct Options {
    pub propagation: Option<Propagation>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

impl Options {
    /// From the request body (a `DeleteOptions`, as kubectl sends it) and query.
    pub fn parse(body: &[u8], query: impl Fn(&str) -> String) -> Result<Options, ApiError> {
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?
        };
        let pick = |k: &str| match body.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => Some(query(k)).filter(|q| !q.is_empty()),
        };
        let propagation = match (
            pick("propagationPolicy").as_deref(),
            pick("orphanDependents").as_deref(),
        ) {
            (Some("Orphan"), _) | (None, Some("true")) => Some(Propagation::Orphan),
            (Some("Background"), _) | (None, Some("false")) => Some(Propagation::Background),
            (Some("Foreground"), _) => Some(Propagation::Foreground),
            (Some(other), _) => {
                let cause = Cause::not_supported(
                    "propagationPolicy",
                    &json!(other),
                    &["Foreground".into(), "Background".into(), "Orphan".into()],
                );
                return Err(ApiError::invalid("DeleteOptions", "", "", vec![cause]));
            }
            (None, _) => None,
        };
        let pre = |k: &str| {
            body.pointer(&format!("/preconditions/{k}"))
                .and_then(Value::as_str)
                .map(String::from)
        };
        Ok(Options {
            propagation,
            uid: pre("uid"),
            resource_version: pre("resourceVersion"),
        })
    }

    /// Whether the request names no policy at all (the Job registry warns then).
    pub fn defaulted(&self) -> bool {
        self.propagation.is_none()
    }
}

/// The strategy's default: batch/v1 Jobs orphan their pods (kept for backward
/// compatibility by the Job registry), everything else deletes dependents in the background.
fn default_policy(def: &ResourceDef) -> Propagation {
    if def.group == "batch" && def.plural == "jobs" {
        Propagation::Orphan
    } else {
        Propagation::Background
    }
}

fn is_namespace(def: &ResourceDef) -> bool {
    def.group.is_empty() && def.plural == "namespaces"
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

fn namespace_finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
        .unwrap_or_default()
}

fn preconditions(def: &ResourceDef, obj: &Value, opts: &Options) -> Result<(), ApiError> {
    let have = |k: &str| {
        obj.pointer(&format!("/metadata/{k}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    for (want, key, label) in [
        (&opts.uid, "uid", "UID"),
        (&opts.resource_version, "resourceVersion", "ResourceVersion"),
    ] {
        if let Some(want) = want.as_ref().filter(|w| **w != have(key)) {
            let msg = format!(
                "Operation cannot be fulfilled on {} \"{}\": Precondition failed: {label} in precondition: {want}, {label} in object meta: {}",
                def.qualified(),
                meta::name_of(obj),
                have(key)
            );
            return Err(ApiError::new(409, "Conflict", msg));
        }
    }
    Ok(())
}

/// Deletes `ns/name`: at once when nothing holds it, else marks it. Returns the HTTP
/// status (200; 202 only for `orphanDependents: false`, as the real handler) and the
/// object as the client sees it.
pub fn delete(
    st: &mut Store,
    def: &'static ResourceDef,
    ns: &str,
    name: &str,
    opts: &Options,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let stored = st
        .get(def, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(def, name))?;
    preconditions(def, &stored.obj, opts)?;
    let mut obj = stored.obj;
    if is_deleting(&obj) {
        // Already on its way; a second delete changes nothing here.
        return Ok(obj);
    }
    let mut fins = finalizers(&obj);
    let gc = match opts.propagation.unwrap_or(default_policy(def)) {
        Propagation::Orphan => Some(ORPHAN),
        Propagation::Foreground => Some(FOREGROUND),
        Propagation::Background => None,
    };
    if let Some(f) = gc.filter(|f| !fins.iter().any(|x| x == f)) {
        fins.push(f.to_string());
    }
    let held_by_namespace = is_namespace(def) && !namespace_finalizers(&obj).is_empty();
    if fins.is_empty() && !held_by_namespace {
        return st
            .delete(def, ns, name, dry_run)
            .ok_or_else(|| ApiError::not_found(def, name));
    }
    obj["metadata"]["deletionTimestamp"] = json!(meta::now_rfc3339());
    obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    if !fins.is_empty() {
        obj["metadata"]["finalizers"] = json!(fins);
    }
    if is_namespace(def) {
        obj["status"] = json!({"phase": "Terminating"});
    }
    Ok(st.commit(def, obj, stored.managers, dry_run))
}

/// Removes an object being deleted once nothing holds it any more (its last finalizer
/// was removed by an update): the registry deletes it instead of storing the update.
pub fn finish_if_released(st: &mut Store, def: &'static ResourceDef, obj: &Value) {
    let released = is_deleting(obj)
        && finalizers(obj).is_empty()
        && (!is_namespace(def) || namespace_finalizers(obj).is_empty());
    if released {
        st.delete(def, meta::namespace_of(obj), meta::name_of(obj), false);
    }
}

/// Checks an update of `old` into `new`: the deletion marks are the server's (kept from
/// `old`, never set by a client), and an object being deleted takes no new finalizers
/// (apimachinery `ValidateObjectMetaUpdate`).
pub fn guard_update(def: &ResourceDef, old: &Value, new: &mut Value) -> Result<(), ApiError> {
    let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    for k in ["deletionTimestamp", "deletionGracePeriodSeconds"] {
        match old.pointer(&format!("/metadata/{k}")) {
            Some(v) => meta.insert(k.into(), v.clone()),
            None => meta.remove(k),
        };
    }
    if is_namespace(def) {
        keep_namespace_status(old, new);
    }
    if !is_deleting(old) {
        return Ok(());
    }
    let before = finalizers(old);
    let added: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let quoted: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
    let cause = Cause::forbidden(
        "metadata.finalizers",
        &format!(
            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
            quoted.join(", ")
        ),
    );
    Err(ApiError::invalid(
        def.kind,
        def.group,
        meta::name_of(new),
        vec![cause],
    ))
}

/// The Namespace strategy's `PrepareForUpdate`: `spec.finalizers` and `status` change
/// only through `/finalize` and `/status`.
fn keep_namespace_status(old: &Value, new: &mut Value) {
    let Some(m) = new.as_object_mut() else { return };
    match old.get("status") {
        Some(s) => m.insert("status".into(), s.clone()),
        None => m.remove("status"),
    };
    let fins = old.pointer("/spec/finalizers").cloned();
    if let Some(spec) = m.entry("spec").or_insert_with(|| json!({})).as_object_mut() {
        match fins {
            Some(f) => spec.insert("finalizers".into(), f),
            None => spec.remove("finalizers"),
        };
    }
}

/// The NamespaceLifecycle admission plugin: no new objects in a namespace being deleted.
pub fn admit_create(st: &Store, def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let ns = meta::namespace_of(obj);
    if !def.namespaced || !terminating(st, ns) {
        return Ok(());
    }
    let reason = format!("unable to create new content in namespace {ns} because it is being terminated");
    let mut e = ApiError::forbidden(def.group, def.plural, meta::name_of(obj), &reason);
    if let Some(d) = e.details.as_mut() {
        d["causes"] = json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]);
    }
    Err(e)
}

/// Whether namespace `ns` is being deleted.
pub fn terminating(st: &Store, ns: &str) -> bool {
    RESOURCES
        .iter()
        .find(|d| is_namespace(d))
        .and_then(|d| st.get(d, "", ns))
        .is_some_and(|s| is_deleting(&s.obj))
}

/// What the Namespace strategy sets on create: the `kubernetes` finalizer and phase Active.
pub fn prepare_namespace(obj: &mut Value) {
    if namespace_finalizers(obj).is_empty() {
        if let Some(m) = obj.as_object_mut() {
            let spec = m.entry("spec").or_insert_with(|| json!({}));
            if spec.is_object() {
                spec["finalizers"] = json!([NAMESPACE_FINALIZER]);
            }
        }
    }
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), json!({"phase": "Active"}));
    }
}

/// Removes finalizer `f` from a stored object (a controller finishing its part), then
/// removes the object if that released it.
pub fn remove_finalizer(st: &mut Store, def: &'static ResourceDef, ns: &str, name: &str, f: &str) {
    let Some(stored) = st.get(def, ns, name).cloned() else {
        return;
    };
    let mut obj = stored.obj;
    let fins: Vec<String> = finalizers(&obj).into_iter().filter(|x| x != f).collect();
    obj["metadata"]["finalizers"] = json!(fins);
    if fins.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("finalizers");
        }
    }
    let obj = st.commit(def, obj, stored.managers, false);
    finish_if_released(st, def, &obj);
}

/// The namespace controller's last step (`/finalize`): drops `spec.finalizers`' entry.
pub fn finalize_namespace(st: &mut Store, def: &'static ResourceDef, name: &str) {
    let Some(stored) = st.get(def, "", name).cloned() else {
        return;
    };
    let mut obj = stored.obj;
    let rest: Vec<String> = namespace_finalizers(&obj)
        .into_iter()
        .filter(|f| f != NAMESPACE_FINALIZER)
        .collect();
    obj["spec"]["finalizers"] = json!(rest);
    let obj = st.commit(def, obj, stored.managers, false);
    finish_if_released(st, def, &obj);
}
