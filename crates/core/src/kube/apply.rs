//! The apply engine: server-side apply with our field manager, and nothing at all when the
//! cluster already holds what we would write.

use serde_json::Value;

use crate::kube::api::{ApiClient, ApiError, ApplyParams};
use crate::kube::kinds::{self, Kind, ObjectRef};
use crate::labels::{MANAGED_BY, MANAGED_BY_VALUE, MESH_ID};
use crate::report::Outcome;

/// `--dry-run` as kubectl spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DryRun {
    #[default]
    None,
    /// Read, compare and report; send no write.
    Client,
    /// Send the writes with `dryRun=All`; the server validates and persists nothing.
    Server,
}

/// How we write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub field_manager: String,
    pub dry_run: DryRun,
    pub force_conflicts: bool,
    /// Objects of a mesh from a topology file also carry `kubectl-mesh.io/mesh-id`, which is
    /// what `down` and pruning select on.
    pub mesh_id: Option<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            field_manager: crate::labels::DEFAULT_FIELD_MANAGER.to_string(),
            dry_run: DryRun::None,
            force_conflicts: false,
            mesh_id: None,
        }
    }
}

/// Why writing one object failed, in words that say what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApplyError {
    #[error("{object}: conflict with {} on {fields}; re-run with --force-conflicts to take these fields over", managers_text(.managers))]
    Conflict {
        object: ObjectRef,
        /// The other field managers, as the server named them.
        managers: Vec<String>,
        fields: String,
    },
    #[error("{object}: {source}")]
    Api {
        object: ObjectRef,
        source: Box<ApiError>,
    },
    #[error("{object}: kind {kind} is not one kubectl-mesh writes")]
    UnknownKind { object: ObjectRef, kind: String },
}

impl ApplyError {
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ApplyError::Api { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// Applies `desired`, reading the live object first so that an unchanged object costs one
/// GET and no write.
pub async fn apply(api: &ApiClient, desired: &Value, options: &WriteOptions) -> Result<Outcome, ApplyError> {
    let (object, path) = locate(desired)?;
    let live = api.get(&path).await.map_err(|source| ApplyError::Api {
        object,
        source: Box::new(source),
    })?;
    apply_over(api, desired, live.as_ref(), options).await
}

/// Applies `desired` over `live`, the object as the caller already read it (e.g. from one
/// LIST for many objects), so that no GET is needed here.
pub async fn apply_over(
    api: &ApiClient,
    desired: &Value,
    live: Option<&Value>,
    options: &WriteOptions,
) -> Result<Outcome, ApplyError> {
    let (object, path) = locate(desired)?;
    let labelled = with_mesh_id(desired, options).or_else(|| keeping_mesh_id(desired, live));
    let desired = labelled.as_ref().unwrap_or(desired);
    let outcome = match live {
        None => Outcome::Created,
        Some(live) if is_up_to_date(desired, live) => return Ok(Outcome::Unchanged),
        Some(_) => Outcome::Configured,
    };
    if options.dry_run == DryRun::Client {
        return Ok(outcome);
    }
    let params = ApplyParams {
        field_manager: &options.field_manager,
        force: options.force_conflicts,
        dry_run: options.dry_run == DryRun::Server,
    };
    match api.apply(&path, desired, &params).await {
        Ok(_) => Ok(outcome),
        Err(e) if e.code() == Some(409) => Err(conflict(object, &e)),
        Err(source) => Err(ApplyError::Api {
            object,
            source: Box::new(source),
        }),
    }
}

/// Adds the mesh-id label to objects we own (those with our managed-by label); objects of
/// others that we only label or annotate are left as they are.
pub fn with_mesh_id(desired: &Value, options: &WriteOptions) -> Option<Value> {
    let mesh_id = options.mesh_id.as_ref()?;
    let labels = desired.pointer("/metadata/labels")?;
    if labels.get(MANAGED_BY).and_then(Value::as_str) != Some(MANAGED_BY_VALUE) {
        return None;
    }
    let mut labelled = desired.clone();
    labelled["metadata"]["labels"][MESH_ID] = Value::String(mesh_id.clone());
    Some(labelled)
}

/// A single command (`certs secret`, `link`, `expose`) run on an object `up` made: server-side
/// apply under the same field manager would drop the mesh-id label it no longer sends, and
/// `down` (which deletes by that label) would then leave the object behind. Keep it.
fn keeping_mesh_id(desired: &Value, live: Option<&Value>) -> Option<Value> {
    let mesh_id = crate::labels::value(live?, MESH_ID)?;
    let options = WriteOptions {
        mesh_id: Some(mesh_id.to_string()),
        ..WriteOptions::default()
    };
    with_mesh_id(desired, &options)
}

fn locate(desired: &Value) -> Result<(ObjectRef, String), ApplyError> {
    let object = ObjectRef::of(desired);
    match kinds::path_of(desired) {
        Some(path) => Ok((object, path)),
        None => Err(ApplyError::UnknownKind {
            kind: object.kind.clone(),
            object,
        }),
    }
}

/// Waits until the object at `path` is gone, as `kubectl delete` does by default: a deleted
/// object with finalizers (a namespace above all: its content is removed first) stays,
/// Terminating, for a while. `Ok(false)` when it is still there after `timeout`.
pub async fn wait_gone(api: &ApiClient, path: &str, timeout: std::time::Duration) -> Result<bool, ApiError> {
    use crate::kube::poll::{self, Pace, State, Waited};
    let gone = |object: Option<&Value>| match object {
        None => State::Done(()),
        Some(_) => State::Pending(None),
    };
    let pace = Pace {
        first: std::time::Duration::from_millis(20),
        max: std::time::Duration::from_secs(1),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    match poll::until(api, path, deadline, pace, gone, || {}).await {
        Ok(()) => Ok(true),
        Err(Waited::Timeout(_)) | Err(Waited::Failed(_)) => Ok(false),
        Err(Waited::Api(e)) => Err(e),
    }
}

/// Deletes the object `kind` `namespace`/`name`: [`delete`] for callers that know it by name.
pub async fn delete_named(
    api: &ApiClient,
    kind: Kind,
    namespace: Option<&str>,
    name: &str,
    dry_run: DryRun,
) -> Result<Outcome, ApplyError> {
    let object = ObjectRef {
        kind: kind.kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    };
    delete(api, &object, &kind.object_path(namespace, name), dry_run).await
}

/// Deletes an object if it exists. `Unchanged` when there was nothing to delete.
pub async fn delete(
    api: &ApiClient,
    object: &ObjectRef,
    path: &str,
    dry_run: DryRun,
) -> Result<Outcome, ApplyError> {
    let wrap = |source: ApiError| ApplyError::Api {
        object: object.clone(),
        source: Box::new(source),
    };
    let existed = match dry_run {
        DryRun::Client => api.get(path).await.map_err(wrap)?.is_some(),
        _ => api.delete(path, dry_run == DryRun::Server).await.map_err(wrap)?,
    };
    Ok(if existed {
        Outcome::Deleted
    } else {
        Outcome::Unchanged
    })
}

/// True when the live object already holds every field we would apply, with our values, so
/// that applying again would change nothing. Whoever wrote them: after `kubectl apply
/// --server-side` of our `--generate` output (manager `kubectl`), a run reports `unchanged`
/// rather than rewriting the same values under our name.
pub fn is_up_to_date(desired: &Value, live: &Value) -> bool {
    is_subset(desired, live)
}

/// Whether every field of `desired` is in `live` with the same value. Lists must match
/// element by element (the server may add defaulted fields inside elements).
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d
            .iter()
            .all(|(key, value)| l.get(key).is_some_and(|lv| is_subset(value, lv))),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => desired == live,
    }
}

/// Turns the server's 409 into "who owns which field", from the Status causes.
fn conflict(object: ObjectRef, error: &ApiError) -> ApplyError {
    let ApiError::Status { details, message, .. } = error else {
        return ApplyError::Api {
            object,
            source: Box::new(error.clone()),
        };
    };
    let causes = details
        .as_ref()
        .and_then(|d| d.get("causes"))
        .and_then(Value::as_array);
    let mut managers = Vec::new();
    let mut fields = Vec::new();
    for cause in causes.into_iter().flatten() {
        if let Some(manager) = cause.get("message").and_then(Value::as_str).and_then(quoted) {
            if !managers.contains(&manager) {
                managers.push(manager);
            }
        }
        if let Some(field) = cause.get("field").and_then(Value::as_str) {
            fields.push(field.to_string());
        }
    }
    if managers.is_empty() {
        // A resourceVersion conflict or an unexpected shape: keep the server's words.
        return match quoted(message) {
            Some(manager) => ApplyError::Conflict {
                object,
                managers: vec![manager],
                fields: message.clone(),
            },
            None => ApplyError::Api {
                object,
                source: Box::new(error.clone()),
            },
        };
    }
    ApplyError::Conflict {
        object,
        managers,
        fields: fields.join(", "),
    }
}

/// `field manager "helm"`, or `field managers "kubectl-label", "kubectl-annotate"`.
fn managers_text(managers: &[String]) -> String {
    let quoted: Vec<String> = managers.iter().map(|m| format!("{m:?}")).collect();
    match quoted.len() {
        1 => format!("field manager {}", quoted[0]),
        _ => format!("field managers {}", quoted.join(", ")),
    }
}

/// The first double-quoted word of a message: the manager in `conflict with "helm" using ...`.
fn quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(message[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_additions() {
        let desired = json!({"metadata": {"name": "g", "labels": {"a": "1"}}, "spec": {"listeners": [{"name": "x", "port": 1}]}});
        let live = json!({"metadata": {"name": "g", "uid": "u", "labels": {"a": "1", "b": "2"}},
            "spec": {"listeners": [{"name": "x", "port": 1, "allowedRoutes": {}}]}, "status": {}});
        assert!(is_subset(&desired, &live));
        let changed = json!({"metadata": {"name": "g", "labels": {"a": "2"}}});
        assert!(!is_subset(&changed, &live));
        let more = json!({"spec": {"listeners": [{"name": "x", "port": 1}, {"name": "y"}]}});
        assert!(!is_subset(&more, &live));
    }

    #[test]
    fn up_to_date_whoever_applied_it() {
        let desired = json!({"metadata": {"name": "g", "labels": {"a": "1"}}});
        let managed = |manager: &str, value: &str| {
            json!({"metadata": {"name": "g", "labels": {"a": value},
            "managedFields": [{"manager": manager, "operation": "Apply"}]}})
        };
        assert!(is_up_to_date(&desired, &managed("kubectl-mesh", "1")));
        assert!(
            is_up_to_date(&desired, &managed("kubectl", "1")),
            "kubectl apply of our --generate output"
        );
        assert!(!is_up_to_date(&desired, &managed("kubectl-mesh", "2")));
    }

    #[test]
    fn conflict_names_the_other_manager() {
        let error = ApiError::Status {
            code: 409,
            reason: "Conflict".into(),
            message: "Apply failed with 1 conflict: conflict with \"helm\" using gateway.networking.k8s.io/v1: .spec.gatewayClassName".into(),
            details: Some(json!({"causes": [{"reason": "FieldManagerConflict",
                "message": "conflict with \"helm\" using gateway.networking.k8s.io/v1", "field": ".spec.gatewayClassName"}]})),
        };
        let object = ObjectRef {
            kind: "Gateway".into(),
            namespace: Some("ns".into()),
            name: "g".into(),
        };
        let text = conflict(object.clone(), &error).to_string();
        assert_eq!(text, "Gateway ns/g: conflict with field manager \"helm\" on .spec.gatewayClassName; re-run with --force-conflicts to take these fields over");
        // Two managers: each quoted on its own.
        let error = ApiError::Status {
            code: 409,
            reason: "Conflict".into(),
            message: "Apply failed with 2 conflicts".into(),
            details: Some(json!({"causes": [
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-label\"", "field": ".metadata.labels.a"},
                {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-annotate\"", "field": ".metadata.annotations.b"}]})),
        };
        assert_eq!(
            conflict(object, &error).to_string(),
            "Gateway ns/g: conflict with field managers \"kubectl-label\", \"kubectl-annotate\" on .metadata.labels.a, .metadata.annotations.b; re-run with --force-conflicts to take these fields over"
        );
    }
}
