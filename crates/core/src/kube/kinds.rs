//! Where objects live in the API: the kinds we read and write, and their REST paths.
//!
//! We only ever write a fixed set of kinds, so a static table replaces a discovery round trip
//! per cluster (speed) and lets `--dry-run=client` work without a server.

use serde_json::Value;

/// One kind of object we know how to address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

pub const NAMESPACE: Kind = core("Namespace", "namespaces", false);
pub const SECRET: Kind = core("Secret", "secrets", true);
pub const CONFIG_MAP: Kind = core("ConfigMap", "configmaps", true);
pub const SERVICE_ACCOUNT: Kind = core("ServiceAccount", "serviceaccounts", true);
pub const SERVICE: Kind = core("Service", "services", true);
/// Read only (the probe Job's pod and its log), never written.
pub const POD: Kind = core("Pod", "pods", true);
pub const DEPLOYMENT: Kind = kind("apps/v1", "Deployment", "deployments", true);
pub const JOB: Kind = kind("batch/v1", "Job", "jobs", true);
pub const ROLE: Kind = kind(RBAC, "Role", "roles", true);
pub const ROLE_BINDING: Kind = kind(RBAC, "RoleBinding", "rolebindings", true);
pub const CLUSTER_ROLE: Kind = kind(RBAC, "ClusterRole", "clusterroles", false);
pub const CLUSTER_ROLE_BINDING: Kind = kind(RBAC, "ClusterRoleBinding", "clusterrolebindings", false);
pub const GATEWAY: Kind = kind(GATEWAY_API, "Gateway", "gateways", true);
pub const ISTIO_GATEWAY: Kind = kind("networking.istio.io/v1", "Gateway", "gateways", true);
pub const VIRTUAL_SERVICE: Kind = kind(
    "networking.istio.io/v1",
    "VirtualService",
    "virtualservices",
    true,
);
pub const SAIL_ISTIO: Kind = kind("sailoperator.io/v1", "Istio", "istios", false);
pub const SAIL_ISTIO_CNI: Kind = kind("sailoperator.io/v1", "IstioCNI", "istiocnis", false);
pub const SAIL_ZTUNNEL: Kind = kind("sailoperator.io/v1", "ZTunnel", "ztunnels", false);

pub const GATEWAY_API: &str = "gateway.networking.k8s.io/v1";
const RBAC: &str = "rbac.authorization.k8s.io/v1";

const KNOWN: &[Kind] = &[
    NAMESPACE,
    SECRET,
    CONFIG_MAP,
    SERVICE_ACCOUNT,
    SERVICE,
    DEPLOYMENT,
    JOB,
    ROLE,
    ROLE_BINDING,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    GATEWAY,
    ISTIO_GATEWAY,
    VIRTUAL_SERVICE,
    SAIL_ISTIO,
    SAIL_ISTIO_CNI,
    SAIL_ZTUNNEL,
];

const fn core(kind: &'static str, plural: &'static str, namespaced: bool) -> Kind {
    Kind {
        api_version: "v1",
        kind,
        plural,
        namespaced,
    }
}

const fn kind(api_version: &'static str, kind: &'static str, plural: &'static str, namespaced: bool) -> Kind {
    Kind {
        api_version,
        kind,
        plural,
        namespaced,
    }
}

impl Kind {
    /// Finds the kind of an object from its `apiVersion` and `kind`.
    pub fn of(object: &Value) -> Option<Kind> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        KNOWN
            .iter()
            .copied()
            .find(|k| k.api_version == api_version && k.kind == kind)
    }

    /// `/api/v1` or `/apis/<group>/<version>`.
    pub fn group_version_path(&self) -> String {
        if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        }
    }

    /// The collection path, in `namespace` for namespaced kinds.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}/namespaces/{ns}/{}", self.group_version_path(), self.plural),
            _ => format!("{}/{}", self.group_version_path(), self.plural),
        }
    }

    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{name}", self.collection_path(namespace))
    }

    /// The group part of the apiVersion ("" for the core group), as RBAC and errors name it.
    pub fn group(&self) -> &'static str {
        self.api_version.rsplit_once('/').map_or("", |(group, _)| group)
    }

    /// `gateways.gateway.networking.k8s.io`, the way kubectl and the API server name a resource.
    pub fn resource_name(&self) -> String {
        match self.group() {
            "" => self.plural.to_string(),
            group => format!("{}.{group}", self.plural),
        }
    }
}

/// Name and namespace of an object, as we print them: `Gateway istio-gateways/istio-eastwest`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectRef {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn of(object: &Value) -> ObjectRef {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let meta = object.get("metadata");
        ObjectRef {
            kind: text(object.get("kind")),
            namespace: meta
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_string),
            name: text(meta.and_then(|m| m.get("name"))),
        }
    }
}

/// An object's `metadata.name` (empty when it has none).
pub fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The REST path of an object we build, or `None` for a kind we do not know.
pub fn path_of(object: &Value) -> Option<String> {
    let kind = Kind::of(object)?;
    let r = ObjectRef::of(object);
    Some(kind.object_path(r.namespace.as_deref(), &r.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths() {
        assert_eq!(
            NAMESPACE.object_path(None, "istio-system"),
            "/api/v1/namespaces/istio-system"
        );
        assert_eq!(
            GATEWAY.object_path(Some("istio-gateways"), "istio-eastwest"),
            "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-eastwest"
        );
        assert_eq!(
            CLUSTER_ROLE.collection_path(Some("ignored")),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles"
        );
        assert_eq!(GATEWAY.resource_name(), "gateways.gateway.networking.k8s.io");
        assert_eq!(SECRET.resource_name(), "secrets");
    }

    #[test]
    fn kind_of_object() {
        let gw = json!({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "g", "namespace": "n"}});
        assert_eq!(Kind::of(&gw), Some(ISTIO_GATEWAY));
        assert_eq!(
            path_of(&gw).unwrap(),
            "/apis/networking.istio.io/v1/namespaces/n/gateways/g"
        );
        assert_eq!(ObjectRef::of(&gw).to_string(), "Gateway n/g");
        assert_eq!(Kind::of(&json!({"apiVersion": "v9", "kind": "Nope"})), None);
    }
}
