//! Reads the vendored files in `upstream/` (see its README for where each comes from):
//! CustomResourceDefinitions (YAML) and the apiserver's OpenAPI v3 documents (JSON).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// A kind's schema and REST names.
#[derive(Debug, Clone)]
pub struct KindSchema {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// Has the `status` subresource.
    pub status: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// The version discovery prefers among the CRD's served ones (the only one the fake
    /// server routes); always true for built-in kinds.
    pub preferred: bool,
    /// Defined by a CustomResourceDefinition (validated as apiextensions-apiserver does),
    /// else a built-in kind described by the Kubernetes OpenAPI.
    pub crd: bool,
    /// The root schema (`openAPIV3Schema`, or the OpenAPI component).
    pub root: Value,
}

impl KindSchema {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

pub const CRD_FILES: &[&str] = &[
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_gatewayclasses.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_grpcroutes.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_referencegrants.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_backendtlspolicies.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_listenersets.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_tcproutes.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_tlsroutes.yaml"),
    include_str!("../../upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_udproutes.yaml"),
    include_str!("../../upstream/istio-1.30.3/crd-all.gen.yaml"),
    include_str!("../../upstream/sail-operator-1.30.3/sailoperator.io_istios.yaml"),
    include_str!("../../upstream/sail-operator-1.30.3/sailoperator.io_istiocnis.yaml"),
    include_str!("../../upstream/sail-operator-1.30.3/sailoperator.io_ztunnels.yaml"),
];

/// `(path key as in /openapi/v3/<key>, document)`.
pub const OPENAPI_FILES: &[(&str, &str)] = &[
    (
        "api/v1",
        include_str!("../../upstream/kubernetes-1.33/api__v1_openapi.json"),
    ),
    (
        "apis/apps/v1",
        include_str!("../../upstream/kubernetes-1.33/apis__apps__v1_openapi.json"),
    ),
    (
        "apis/batch/v1",
        include_str!("../../upstream/kubernetes-1.33/apis__batch__v1_openapi.json"),
    ),
    (
        "apis/rbac.authorization.k8s.io/v1",
        include_str!("../../upstream/kubernetes-1.33/apis__rbac.authorization.k8s.io__v1_openapi.json"),
    ),
    (
        "apis/coordination.k8s.io/v1",
        include_str!("../../upstream/kubernetes-1.33/apis__coordination.k8s.io__v1_openapi.json"),
    ),
    (
        "apis/apiextensions.k8s.io/v1",
        include_str!("../../upstream/kubernetes-1.33/apis__apiextensions.k8s.io__v1_openapi.json"),
    ),
];

/// Every CRD in the vendored files, in file order.
pub fn crds() -> Vec<Value> {
    let mut out = Vec::new();
    for text in CRD_FILES {
        for doc in serde_yaml_ng::Deserializer::from_str(text) {
            match Value::deserialize(doc) {
                Ok(v) if v.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") => {
                    out.push(v)
                }
                _ => {}
            }
        }
    }
    out
}

/// Kubernetes' version priority (`version.CompareKubeAwareVersionStrings`): GA above beta
/// above alpha, higher numbers first.
fn version_rank(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let split = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let major = rest[..split].parse().unwrap_or(0);
    let tail = &rest[split..];
    let (stage, minor) = if tail.is_empty() {
        (3, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (2, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, major, minor)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The served versions of a CRD, as kinds.
pub fn crd_kinds(crd: &Value) -> Vec<KindSchema> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let served: Vec<&Value> = spec["versions"]
        .as_array()
        .map(|vs| vs.iter().filter(|v| v["served"] == true).collect())
        .unwrap_or_default();
    let preferred = served
        .iter()
        .filter_map(|v| v["name"].as_str())
        .max_by_key(|n| version_rank(n))
        .unwrap_or_default()
        .to_string();
    served
        .iter()
        .map(|v| {
            let version = v["name"].as_str().unwrap_or_default().to_string();
            KindSchema {
                group: spec["group"].as_str().unwrap_or_default().to_string(),
                preferred: version == preferred,
                version,
                kind: names["kind"].as_str().unwrap_or_default().to_string(),
                plural: names["plural"].as_str().unwrap_or_default().to_string(),
                namespaced: spec["scope"] == "Namespaced",
                status: v.pointer("/subresources/status").is_some(),
                short_names: strings(names.get("shortNames")),
                categories: strings(names.get("categories")),
                crd: true,
                root: v
                    .pointer("/schema/openAPIV3Schema")
                    .cloned()
                    .unwrap_or(Value::Null),
            }
        })
        .collect()
}

/// The parsed OpenAPI documents, by path key.
pub fn openapi_docs() -> Vec<(String, Value)> {
    OPENAPI_FILES
        .iter()
        .filter_map(|(key, text)| Some((key.to_string(), serde_json::from_str(text).ok()?)))
        .collect()
}

/// Every component schema of the documents, by name (names are global, such as
/// `io.k8s.api.core.v1.PodSpec`).
pub fn definitions(docs: &[(String, Value)]) -> HashMap<String, Value> {
    let mut defs = HashMap::new();
    for (_, doc) in docs {
        if let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object) {
            for (name, s) in schemas {
                defs.entry(name.clone()).or_insert_with(|| s.clone());
            }
        }
    }
    defs
}

/// The built-in kinds the fake server writes, and their REST facts (the OpenAPI documents
/// carry the schemas, not the plural or scope).
const BUILTINS: &[(&str, &str, &str, bool, bool)] = &[
    ("v1", "Namespace", "namespaces", false, true),
    ("v1", "Secret", "secrets", true, false),
    ("v1", "ConfigMap", "configmaps", true, false),
    ("v1", "ServiceAccount", "serviceaccounts", true, false),
    ("v1", "Service", "services", true, true),
    ("v1", "Pod", "pods", true, true),
    ("v1", "Endpoints", "endpoints", true, false),
    ("v1", "Event", "events", true, false),
    ("apps/v1", "Deployment", "deployments", true, true),
    ("batch/v1", "Job", "jobs", true, true),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true, false),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        false,
    ),
    ("coordination.k8s.io/v1", "Lease", "leases", true, false),
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        true,
    ),
];

/// The OpenAPI component whose `x-kubernetes-group-version-kind` is this kind.
fn component<'a>(
    defs: &'a HashMap<String, Value>,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<&'a Value> {
    defs.values().find(|s| {
        s["x-kubernetes-group-version-kind"]
            .as_array()
            .is_some_and(|gvks| {
                gvks.iter()
                    .any(|g| g["group"] == group && g["version"] == version && g["kind"] == kind)
            })
    })
}

pub fn builtin_kinds(defs: &HashMap<String, Value>) -> Vec<KindSchema> {
    BUILTINS
        .iter()
        .filter_map(|(av, kind, plural, namespaced, status)| {
            let (group, version) = av.rsplit_once('/').unwrap_or(("", av));
            Some(KindSchema {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced: *namespaced,
                status: *status,
                short_names: Vec::new(),
                categories: Vec::new(),
                preferred: true,
                crd: false,
                root: component(defs, group, version, kind)?.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_rank_like_kubernetes() {
        let mut v = vec!["v1alpha3", "v1", "v1beta1", "v2alpha1"];
        v.sort_by_key(|n| std::cmp::Reverse(version_rank(n)));
        assert_eq!(v, ["v1", "v1beta1", "v2alpha1", "v1alpha3"]);
    }
}
