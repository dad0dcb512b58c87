//! Label and annotation keys that form part of our contract (DESIGN §4, §5).

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "kubectl-mesh";
pub const MESH_ID: &str = "kubectl-mesh.io/mesh-id";
pub const PEER_CLUSTER: &str = "kubectl-mesh.io/peer-cluster";
pub const NETWORK: &str = "topology.istio.io/network";
pub const EXPOSE_ISTIOD: &str = "istio.io/expose-istiod";
pub const DEFAULT_FIELD_MANAGER: &str = "kubectl-mesh";
pub const ISTIO_SYSTEM: &str = "istio-system";
