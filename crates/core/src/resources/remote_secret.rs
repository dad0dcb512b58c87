//! Remote-secret links (DESIGN §5.5): the reader identity istiod uses in a target cluster
//! (Istio's own reader rules, see [`reader_cluster_role`]), and the Secret in a source cluster that holds a kubeconfig for it — what
//! `istioctl create-remote-secret` makes, for every pair at once.

use base64::Engine;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use serde_json::{json, Value};

use crate::labels::{ISTIO_SYSTEM, MANAGED_BY};

pub const READER: &str = "istio-reader-service-account";
pub const READER_ROLE: &str = "istio-reader-kubectl-mesh";
pub const TOKEN_SECRET: &str = "istio-reader-service-account-istio-remote-secret-token";
pub const SECRET_PREFIX: &str = "istio-remote-secret-";
pub const MULTICLUSTER_LABEL: &str = "istio/multiCluster";
pub const CLUSTER_ANNOTATION: &str = "networking.istio.io/cluster";
pub const CONTROL_PLANE_CLUSTERS: &str = "topology.istio.io/controlPlaneClusters";

const READ: [&str; 3] = ["get", "list", "watch"];

/// The chart's default `$mcsAPIGroup` (`or .Values.env.MCS_API_GROUP "multicluster.x-k8s.io"`).
pub const MCS_API_GROUP: &str = "multicluster.x-k8s.io";

/// What istiod in a source reads (and the little it creates) in a target: exactly the rules of
/// Istio's own reader ClusterRole, which `istioctl create-remote-secret` renders and applies
/// with the ServiceAccount and its ClusterRoleBinding — nothing else (istio 1.30.3
/// istioctl/pkg/multicluster/remote_secret.go:431-456, `generateServiceAccountYAML`). The rules
/// are those of manifests/charts/istio-control/istio-discovery/templates/reader-clusterrole.yaml
/// @1.30.3 (vendored at crates/testkit/upstream/istio-1.30.3/reader-clusterrole.yaml), in its
/// order, with `$mcsAPIGroup` at its default:
/// * secrets cluster-wide: istiod reads the TLS `credentialName` Secrets of gateways in any
///   namespace, so a Role limited to istio-system is neither needed nor enough;
/// * tokenreviews / subjectaccessreviews create: istiod authenticates and authorizes callers
///   against the cluster they come from;
/// * serviceexports create/delete: the MCS auto-export controller, which istiod runs per cluster
///   (pilot/pkg/serviceregistry/kube/controller/multicluster.go:302@1.30.3).
///
/// The `istiodRemote.enabled` extras (configmaps create/update, webhook configurations
/// update/patch) are left out: the chart renders them when installing the *remote* profile, in
/// the remote cluster itself, onto this same `istio-reader-service-account` — that is where the
/// primary's namespace controller and webhook patcher (multicluster.go:239-299@1.30.3) get
/// them; istioctl, rendering the default profile, does not add them either.
pub fn reader_cluster_role() -> Value {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(strings(groups)),
        resources: Some(strings(resources)),
        verbs: strings(verbs),
        ..PolicyRule::default()
    };
    let istio_groups = [
        "config.istio.io",
        "security.istio.io",
        "networking.istio.io",
        "authentication.istio.io",
        "rbac.istio.io",
        "telemetry.istio.io",
        "extensions.istio.io",
    ];
    let core = [
        "endpoints",
        "pods",
        "services",
        "nodes",
        "replicationcontrollers",
        "namespaces",
        "secrets",
        "configmaps",
    ];
    // The chart spells this rule's verbs in another order; kept as written upstream.
    let read_gwe = ["get", "watch", "list"];
    let role = ClusterRole {
        metadata: super::object_meta(READER_ROLE, None, &[]),
        rules: Some(vec![
            rule(&istio_groups, &["*"], &READ),
            rule(&[""], &core, &READ),
            rule(&["networking.istio.io"], &["workloadentries"], &read_gwe),
            rule(
                &["networking.x-k8s.io", "gateway.networking.k8s.io"],
                &["gateways"],
                &read_gwe,
            ),
            rule(&["apiextensions.k8s.io"], &["customresourcedefinitions"], &READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
            rule(
                &[MCS_API_GROUP],
                &["serviceexports"],
                &["get", "list", "watch", "create", "delete"],
            ),
            rule(&[MCS_API_GROUP], &["serviceimports"], &READ),
            rule(&["apps"], &["replicasets"], &READ),
            rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            rule(&["authorization.k8s.io"], &["subjectaccessreviews"], &["create"]),
        ]),
        ..ClusterRole::default()
    };
    super::to_value(&role, &[])
}

pub fn reader_cluster_role_binding() -> Value {
    let binding = ClusterRoleBinding {
        metadata: super::object_meta(READER_ROLE, None, &[]),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: READER_ROLE.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: READER.into(),
            namespace: Some(ISTIO_SYSTEM.into()),
            ..Subject::default()
        }]),
    };
    super::to_value(&binding, &[])
}

pub fn reader_service_account() -> Value {
    let account = ServiceAccount {
        metadata: super::object_meta(READER, Some(ISTIO_SYSTEM), &[]),
        ..ServiceAccount::default()
    };
    super::to_value(&account, &[])
}

/// A long-lived token for the reader, filled in by the token controller (istioctl's default).
pub fn token_secret() -> Value {
    let secret = super::service_account_token(TOKEN_SECRET, ISTIO_SYSTEM, READER, &[]);
    super::to_value(&secret, &[])
}

/// A TokenRequest for a bounded token (`--token-duration`). Not k8s-openapi's `TokenRequest`:
/// it would also send `metadata: {}` and `audiences: []` (a required field), which this body
/// never held.
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

/// The kubeconfig istiod in the source uses to watch the target. istiod reads it with
/// client-go's clientcmd (YAML 1.1): a cluster named `no` is quoted, as istioctl's
/// clientcmd.Write quotes it.
pub fn kubeconfig(creds: &Credentials) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(&creds.ca_pem);
    let name = &creds.cluster;
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server}\n  name: {name}\ncontexts:\n- context:\n    cluster: {name}\n    user: {name}\n  name: {name}\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user:\n    token: {token}\n",
        server = creds.server,
        token = creds.token,
    );
    crate::yaml::quote_yaml_1_1(&text)
}

pub fn secret_name(target: &str) -> String {
    format!("{SECRET_PREFIX}{target}")
}

/// The remote secret without its kubeconfig.
fn remote_secret_shell(creds: &Credentials) -> Secret {
    Secret {
        metadata: ObjectMeta {
            annotations: Some(super::string_map(&[(CLUSTER_ANNOTATION, &creds.cluster)])),
            ..super::object_meta(
                &secret_name(&creds.cluster),
                Some(ISTIO_SYSTEM),
                &[(MULTICLUSTER_LABEL, "true")],
            )
        },
        ..Secret::default()
    }
}

/// The remote secret as DESIGN §5.5 shows it (`stringData`), for `--generate`.
pub fn remote_secret(creds: &Credentials) -> Value {
    let secret = Secret {
        string_data: Some(super::string_map(&[(&creds.cluster, &kubeconfig(creds))])),
        ..remote_secret_shell(creds)
    };
    super::to_value(&secret, &[MULTICLUSTER_LABEL, MANAGED_BY])
}

/// The same Secret with `data` instead of `stringData`, for server-side apply: the server
/// keeps only `data`, so this is what lets a re-run see "unchanged" and write nothing.
pub fn remote_secret_for_apply(creds: &Credentials) -> Value {
    let kubeconfig = ByteString(kubeconfig(creds).into_bytes());
    let secret = Secret {
        data: Some([(creds.cluster.clone(), kubeconfig)].into()),
        ..remote_secret_shell(creds)
    };
    super::to_value(&secret, &[MULTICLUSTER_LABEL, MANAGED_BY])
}

/// Only the annotation that tells a remote which cluster runs its control plane.
pub fn control_plane_annotation(primary: &str) -> Value {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(ISTIO_SYSTEM.into()),
            annotations: Some(super::string_map(&[(CONTROL_PLANE_CLUSTERS, primary)])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    super::to_value(&namespace, &[])
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

    /// The rules of the vendored chart template (istio 1.30.3 reader-clusterrole.yaml): the
    /// `rules:` block up to the `istiodRemote.enabled` extras, `$mcsAPIGroup` at its default.
    /// Returns (base rules, the remote-profile extras).
    fn chart_rules() -> (Value, Value) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testkit/upstream/istio-1.30.3/reader-clusterrole.yaml");
        let template = std::fs::read_to_string(&path).expect("vendored chart template");
        let rules = &template[template.find("rules:").expect("a rules: block")..];
        let rules = rules.replace("{{ $mcsAPIGroup }}", MCS_API_GROUP);
        let (base, extras) = rules
            .split_once("{{- if .Values.istiodRemote.enabled }}")
            .expect("the istiodRemote block");
        let extras = extras.split("{{- end}}").next().expect("its end");
        let parse = |yaml: &str| -> Value {
            let no_helm: String = yaml
                .lines()
                .filter(|l| !l.trim_start().starts_with("{{"))
                .map(|l| format!("{l}\n"))
                .collect();
            serde_yaml_ng::from_str(&no_helm).expect("rules parse")
        };
        (
            parse(base)["rules"].clone(),
            parse(&format!("rules:\n{extras}"))["rules"].clone(),
        )
    }

    #[test]
    fn cluster_role_has_exactly_the_rules_of_istios_reader_chart() {
        let (base, extras) = chart_rules();
        let ours = reader_cluster_role();
        assert_eq!(ours["rules"], base);
        // Nothing broader: no wildcard outside Istio's own groups, none of the remote extras.
        for rule in ours["rules"].as_array().unwrap() {
            let wildcard = rule["resources"].as_array().unwrap().contains(&json!("*"));
            let istio_only = rule["apiGroups"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g.as_str().unwrap().ends_with(".istio.io"));
            assert!(!wildcard || istio_only, "{rule}");
        }
        assert_eq!(extras.as_array().map(Vec::len), Some(3), "{extras}");
        for extra in extras.as_array().unwrap() {
            assert!(!base.as_array().unwrap().contains(extra), "{extra}");
        }
    }

    /// What `link --generate` prints, fields in the order we have always written them
    /// (k8s-openapi's own is alphabetical, and sorts labels).
    #[test]
    fn remote_secret_printed_in_our_order() {
        let yaml = serde_yaml_ng::to_string(&remote_secret(&creds())).unwrap();
        let expected = "\
apiVersion: v1
kind: Secret
metadata:
  name: istio-remote-secret-west-1
  namespace: istio-system
  labels:
    istio/multiCluster: 'true'
    app.kubernetes.io/managed-by: kubectl-mesh
  annotations:
    networking.istio.io/cluster: west-1
stringData:
  west-1: |
    apiVersion: v1
    kind: Config
    clusters:
    - cluster:
        certificate-authority-data: Q0E=
        server: https://203.0.113.9:6443
      name: west-1
    contexts:
    - context:
        cluster: west-1
        user: west-1
      name: west-1
    current-context: west-1
    preferences: {}
    users:
    - name: west-1
      user:
        token: t0k3n
";
        assert_eq!(yaml, expected);
        let applied = serde_json::to_string(&remote_secret_for_apply(&creds())).unwrap();
        let data = base64::engine::general_purpose::STANDARD.encode(kubeconfig(&creds()));
        assert_eq!(
            applied,
            format!(
                r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"istio-remote-secret-west-1","namespace":"istio-system","labels":{{"istio/multiCluster":"true","app.kubernetes.io/managed-by":"kubectl-mesh"}},"annotations":{{"networking.istio.io/cluster":"west-1"}}}},"data":{{"west-1":"{data}"}}}}"#
            )
        );
    }

    /// What we apply for the reader, field for field as the API server receives it.
    #[test]
    fn reader_objects_as_sent() {
        let text = |v: Value| serde_json::to_string(&v).unwrap();
        assert_eq!(
            text(reader_service_account()),
            r#"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"istio-reader-service-account","namespace":"istio-system","labels":{"app.kubernetes.io/managed-by":"kubectl-mesh"}}}"#
        );
        assert_eq!(
            text(reader_cluster_role_binding()),
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"istio-reader-kubectl-mesh","labels":{"app.kubernetes.io/managed-by":"kubectl-mesh"}},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"istio-reader-kubectl-mesh"},"subjects":[{"kind":"ServiceAccount","name":"istio-reader-service-account","namespace":"istio-system"}]}"#
        );
        assert_eq!(
            text(token_secret()),
            r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"istio-reader-service-account-istio-remote-secret-token","namespace":"istio-system","labels":{"app.kubernetes.io/managed-by":"kubectl-mesh"},"annotations":{"kubernetes.io/service-account.name":"istio-reader-service-account"}},"type":"kubernetes.io/service-account-token"}"#
        );
        assert_eq!(
            text(control_plane_annotation("p")),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"istio-system","annotations":{"topology.istio.io/controlPlaneClusters":"p"}}}"#
        );
        assert_eq!(
            text(token_request(600)),
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":600}}"#
        );
        let role = reader_cluster_role();
        assert_eq!(
            role.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["apiVersion", "kind", "metadata", "rules"]
        );
        assert_eq!(
            role["rules"][0].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["apiGroups", "resources", "verbs"]
        );
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
