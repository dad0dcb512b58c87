//! `apiextensions.k8s.io/v1` CustomResourceDefinitions: the vendored ones, installed in
//! every cluster and read-only (get and list; other verbs are 405, a divergence: a real
//! cluster lets an admin change them). When the Gateway API is switched off for a
//! cluster its CRDs are not listed, as if never installed.

use std::sync::OnceLock;

use http::Method;
use serde_json::{json, Value};

use crate::registry::{self, GATEWAY_API_GROUP};
use crate::request::{ApiRequest, Reply};
use crate::schema::Schemas;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;

/// The CRDs as the apiserver returns them: server metadata and an Established status.
fn installed() -> &'static [Value] {
    static CRDS: OnceLock<Vec<Value>> = OnceLock::new();
    CRDS.get_or_init(|| Schemas::upstream().crds().iter().map(served).collect())
}

fn served(crd: &Value) -> Value {
    let mut crd = crd.clone();
    let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let stored: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    if let Some(m) = crd["metadata"].as_object_mut() {
        m.insert("uid".into(), json!(crate::seed::stable_uid(&name)));
        m.insert("resourceVersion".into(), json!("1"));
        m.insert("generation".into(), json!(1));
        m.insert("creationTimestamp".into(), json!("2025-01-01T00:00:00Z"));
    }
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": "True", "reason": reason, "message": message,
               "lastTransitionTime": "2025-01-01T00:00:00Z"})
    };
    crd["status"] = json!({
        "acceptedNames": crd["spec"]["names"].clone(),
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    });
    crd
}

fn visible<'a>(req: &ApiRequest) -> impl Iterator<Item = &'a Value> {
    let gateway_api = req.gateway_api;
    installed()
        .iter()
        .filter(move |c| gateway_api || c["spec"]["group"] != GATEWAY_API_GROUP)
}

pub fn handle(req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    if *req.method != Method::GET || req.is_watch() || req.route.sub.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    if let Some(name) = req.route.name.as_deref() {
        return visible(req)
            .find(|c| c["metadata"]["name"] == name)
            .map(|c| Reply::Json(200, c.clone()))
            .ok_or_else(|| ApiError::not_found(def, name));
    }
    let labels = LabelSelector::parse(req.q("labelSelector")).map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.q("fieldSelector")).map_err(ApiError::bad_request)?;
    let items: Vec<Value> = visible(req)
        .filter(|c| labels.matches_object(c) && fields.matches(c))
        .cloned()
        .collect();
    Ok(Reply::Json(
        200,
        json!({"kind": "CustomResourceDefinitionList", "apiVersion": registry::CRD_GROUP.to_string() + "/v1",
               "metadata": {"resourceVersion": "1"}, "items": items}),
    ))
}
