//! Label and annotation keys that form part of our contract (DESIGN §4, §5, §6).

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "kubectl-mesh";
pub const MESH_ID: &str = "kubectl-mesh.io/mesh-id";
pub const PEER_CLUSTER: &str = "kubectl-mesh.io/peer-cluster";
pub const NETWORK: &str = "topology.istio.io/network";
/// The cluster a peering Gateway stands for. Solo's peering translator falls back to
/// cluster = network without it (DESIGN §5.4; Solo's peering guide,
/// https://docs.solo.io/istio/1.30.x/ambient/multicluster/install/default/manual/).
pub const CLUSTER: &str = "topology.istio.io/cluster";
pub const EXPOSE_ISTIOD: &str = "istio.io/expose-istiod";
/// The ServiceAccount of a Gateway's workload; istio 1.30.3
/// pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go:429 defaults it to the
/// Gateway's name (east-west classes set DisableNameSuffix, gatewaycommon/classinfo.go:161).
pub const GATEWAY_SERVICE_ACCOUNT: &str = "gateway.istio.io/service-account";
pub const GATEWAY_TRUST_DOMAIN: &str = "gateway.istio.io/trust-domain";
/// Solo's global-service label (ambient-peering): `global` or `global-only`
/// (https://docs.solo.io/gloo-mesh/latest/ambient/multicluster/multi-apps/multi-apps/).
pub const SERVICE_SCOPE: &str = "solo.io/service-scope";
/// Upstream ambient's global-service label: the ambient profile's meshConfig
/// `serviceScopeConfigs` selects `istio.io/global In ["true"]` as scope GLOBAL (istio 1.30.3
/// manifests/charts/istio-control/istio-discovery/files/profile-ambient.yaml:10-16), which
/// istiod matches in pilot/pkg/serviceregistry/ambient/services.go:375 (`matchServiceScope`).
pub const GLOBAL: &str = "istio.io/global";
pub const TRAFFIC_DISTRIBUTION: &str = "networking.istio.io/traffic-distribution";
/// The values of [`TRAFFIC_DISTRIBUTION`] that `expose --traffic-distribution` offers and
/// `verify --services` accepts.
pub const TRAFFIC_DISTRIBUTIONS: [&str; 4] = ["PreferClose", "PreferNetwork", "PreferRegion", "Any"];
pub const DEFAULT_FIELD_MANAGER: &str = "kubectl-mesh";
pub const ISTIO_SYSTEM: &str = "istio-system";

/// The value of label `key` on a Kubernetes object, if it has that label as a string.
pub fn value<'a>(object: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/labels")?.get(key)?.as_str()
}

/// Whether an object carries our managed-by label: made by kubectl-mesh, or handed over to it.
pub fn is_ours(object: &serde_json::Value) -> bool {
    value(object, MANAGED_BY) == Some(MANAGED_BY_VALUE)
}
