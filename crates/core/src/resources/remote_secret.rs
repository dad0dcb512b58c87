//! Remote-secret links (DESIGN §5.5): the read-only identity istiod uses in a target cluster,
//! and the Secret in a source cluster that holds a kubeconfig for it — what
//! `istioctl create-remote-secret` makes, for every pair at once.

use base64::Engine;
use serde_json::{json, Value};

use crate::labels::ISTIO_SYSTEM;

pub const READER: &str = "istio-reader-service-account";
pub const READER_ROLE: &str = "istio-reader-kubectl-mesh";
pub const TOKEN_SECRET: &str = "istio-reader-service-account-istio-remote-secret-token";
pub const SECRET_PREFIX: &str = "istio-remote-secret-";
pub const MULTICLUSTER_LABEL: &str = "istio/multiCluster";
pub const CLUSTER_ANNOTATION: &str = "networking.istio.io/cluster";
pub const CONTROL_PLANE_CLUSTERS: &str = "topology.istio.io/controlPlaneClusters";

const READ: [&str; 3] = ["get", "list", "watch"];

/// What istiod reads from a remote cluster: service discovery, Istio and Gateway API config.
/// Only get/list/watch — no write verb — and no Secrets here (those are in [`reader_role`],
/// limited to istio-system).
pub fn reader_cluster_role() -> Value {
    let rule = |groups: &[&str], resources: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": READ});
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": super::metadata(READER_ROLE, None, &[]),
        "rules": [
            rule(&[""], &["endpoints", "pods", "services", "nodes", "namespaces", "replicationcontrollers", "configmaps"]),
            rule(&["discovery.k8s.io"], &["endpointslices"]),
            rule(&["apps"], &["replicasets", "deployments"]),
            rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"]),
            rule(&["networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"], &["*"]),
            rule(&["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"], &["*"]),
            rule(&["multicluster.x-k8s.io"], &["serviceexports", "serviceimports"]),
        ],
    })
}

/// Secrets, readable only in istio-system (istiod's own namespace in the remote).
pub fn reader_role() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": super::metadata(READER_ROLE, Some(ISTIO_SYSTEM), &[]),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": READ}],
    })
}

fn subject() -> Value {
    json!([{"kind": "ServiceAccount", "name": READER, "namespace": ISTIO_SYSTEM}])
}

pub fn reader_cluster_role_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": super::metadata(READER_ROLE, None, &[]),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": READER_ROLE},
        "subjects": subject(),
    })
}

pub fn reader_role_binding() -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": super::metadata(READER_ROLE, Some(ISTIO_SYSTEM), &[]),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": READER_ROLE},
        "subjects": subject(),
    })
}

pub fn reader_service_account() -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": super::metadata(READER, Some(ISTIO_SYSTEM), &[])})
}

/// A long-lived token for the reader, filled in by the token controller (istioctl's default).
pub fn token_secret() -> Value {
    let mut metadata = super::metadata(TOKEN_SECRET, Some(ISTIO_SYSTEM), &[]);
    metadata["annotations"] = json!({"kubernetes.io/service-account.name": READER});
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "kubernetes.io/service-account-token"})
}

/// A TokenRequest for a bounded token (`--token-duration`).
pub fn token_request(seconds: u64) -> Value {
    json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": seconds}})
}

/// How a source reaches a target.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub cluster: String,
    pub server: String,
    /// The target's CA bundle, PEM.
    pub ca_pem: String,
    pub token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("cluster", &self.cluster)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// The kubeconfig istiod in the source uses to watch the target.
pub fn kubeconfig(creds: &Credentials) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(&creds.ca_pem);
    let name = &creds.cluster;
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {name}\n  name: {name}\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user:\n    token: {token}\n",
        server = creds.server,
        token = creds.token,
    )
}

pub fn secret_name(target: &str) -> String {
    format!("{SECRET_PREFIX}{target}")
}

/// The remote secret as DESIGN §5.5 shows it (`stringData`), for `--generate`.
pub fn remote_secret(creds: &Credentials) -> Value {
    let mut metadata = super::metadata(
        &secret_name(&creds.cluster),
        Some(ISTIO_SYSTEM),
        &[(MULTICLUSTER_LABEL, "true")],
    );
    metadata["annotations"] = json!({CLUSTER_ANNOTATION: creds.cluster});
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "stringData": {creds.cluster.clone(): kubeconfig(creds)},
    })
}

/// The same Secret with `data` instead of `stringData`, for server-side apply: the server
/// keeps only `data`, so this is what lets a re-run see "unchanged" and write nothing.
pub fn remote_secret_for_apply(creds: &Credentials) -> Value {
    let mut secret = remote_secret(creds);
    let encoded = base64::engine::general_purpose::STANDARD.encode(kubeconfig(creds));
    if let Some(map) = secret.as_object_mut() {
        map.remove("stringData");
        map.insert("data".into(), json!({creds.cluster.clone(): encoded}));
    }
    secret
}

/// Only the annotation that tells a remote which cluster runs its control plane.
pub fn control_plane_annotation(primary: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ISTIO_SYSTEM, "annotations": {CONTROL_PLANE_CLUSTERS: primary}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            cluster: "west-1".into(),
            server: "https://203.0.113.9:6443".into(),
            ca_pem: "CA".into(),
            token: "t0k3n".into(),
        }
    }

    #[test]
    fn cluster_role_reads_only() {
        let role = reader_cluster_role();
        for rule in role["rules"].as_array().unwrap() {
            assert_eq!(rule["verbs"], json!(["get", "list", "watch"]), "{rule}");
            assert!(
                !rule["resources"].as_array().unwrap().contains(&json!("secrets")),
                "{rule}"
            );
        }
        assert_eq!(reader_role()["metadata"]["namespace"], "istio-system");
    }

    #[test]
    fn remote_secret_shape() {
        let s = remote_secret(&creds());
        assert_eq!(s["metadata"]["name"], "istio-remote-secret-west-1");
        assert_eq!(s["metadata"]["labels"]["istio/multiCluster"], "true");
        assert_eq!(
            s["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kubectl-mesh"
        );
        assert_eq!(
            s["metadata"]["annotations"]["networking.istio.io/cluster"],
            "west-1"
        );
        let config = s["stringData"]["west-1"].as_str().unwrap();
        assert!(config.contains("server: https://203.0.113.9:6443"));
        assert!(config.contains("certificate-authority-data: Q0E="));
        assert!(config.contains("token: t0k3n"));
        let applied = remote_secret_for_apply(&creds());
        assert!(applied.get("stringData").is_none());
        assert!(applied["data"]["west-1"].is_string());
        assert!(
            !format!("{:?}", creds()).contains("t0k3n"),
            "Debug hides the token"
        );
    }
}
