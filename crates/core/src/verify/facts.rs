//! What verify reads from one cluster: a handful of GETs and LISTs, all at once.

use serde_json::Value;

use super::{LinkMode, VerifyOptions};
use crate::kube::api::ApiError;
use crate::kube::clusters::Cluster;
use crate::kube::kinds;
use crate::labels::ISTIO_SYSTEM;
use crate::link::OurLinks;
use crate::resources::{cacerts, remote_secret};

/// One read: the object (`None` when absent), or why it could not be read.
pub type Read = Result<Option<Value>, String>;

/// Everything the checks need to know about one cluster.
#[derive(Debug, Clone)]
pub struct ClusterFacts {
    pub name: String,
    pub context: String,
    pub server: String,
    /// `/version`; an error here means the cluster is unreachable and nothing else was read.
    pub version: Result<String, String>,
    pub istiod: Read,
    pub istio_system: Read,
    pub mesh_config: Read,
    pub cacerts: Read,
    /// Gateways in the gateway namespace (the east-west gateway and our peer Gateways;
    /// peering mode only), without their `status`: they are only compared with what `link`
    /// writes. [`ClusterFacts::eastwest`] has the east-west Gateway whole.
    pub gateways: Result<Vec<Value>, String>,
    /// The east-west gateway: a Gateway, or for sidecars a Service.
    pub eastwest: Read,
    /// Our remote secrets (remote-secret mode only).
    pub remote_secrets: Result<Vec<Value>, String>,
    /// Every Service in the cluster (`--services` only).
    pub services: Result<Vec<Value>, String>,
    /// The primary of a primary-remote mesh only: the `networking.istio.io` Gateway
    /// `istiod-gateway` and VirtualService `istiod-vs` that expose istiod to the remotes.
    pub istiod_gateway: Read,
    pub istiod_vs: Read,
    /// Our links of the other mode (remote secrets when the mesh links by peering, peer
    /// Gateways otherwise), as `<what> <namespace>/<name>`: what a change of flavour left.
    /// Empty when they cannot be read: verify asks for no access beyond what it checks.
    pub other_links: Vec<String>,
}

impl ClusterFacts {
    /// A cluster's facts before anything but its version is read: nothing found yet.
    pub fn new(name: &str, context: &str, server: &str, version: Result<String, String>) -> Self {
        ClusterFacts {
            name: name.into(),
            context: context.into(),
            server: server.into(),
            version,
            istiod: Ok(None),
            istio_system: Ok(None),
            mesh_config: Ok(None),
            cacerts: Ok(None),
            gateways: Ok(Vec::new()),
            eastwest: Ok(None),
            remote_secrets: Ok(Vec::new()),
            services: Ok(Vec::new()),
            other_links: Vec::new(),
            istiod_gateway: Ok(None),
            istiod_vs: Ok(None),
        }
    }
}

impl ClusterFacts {
    pub fn reachable(&self) -> bool {
        self.version.is_ok()
    }
}

fn describe(cluster: &Cluster, e: ApiError) -> String {
    cluster.explain(&e)
}

async fn read(cluster: &Cluster, path: String) -> Read {
    cluster.api.get(&path).await.map_err(|e| describe(cluster, e))
}

/// A GET whose API may not be installed (a CRD's): not installed reads as absent.
async fn read_optional(cluster: &Cluster, path: String) -> Read {
    match cluster.api.get(&path).await {
        Err(e) if e.is_not_found() => Ok(None),
        other => other.map_err(|e| describe(cluster, e)),
    }
}

/// expose-istiod.yaml's objects (istio 1.30.3 samples/multicluster/expose-istiod.yaml), as
/// `expose --expose-istiod` writes them (`resources::sidecar`).
pub const ISTIOD_GATEWAY: &str = "istiod-gateway";
pub const ISTIOD_VS: &str = "istiod-vs";

pub async fn collect(cluster: &Cluster, options: &VerifyOptions) -> ClusterFacts {
    let version = cluster
        .api
        .get_required("/version")
        .await
        .map(|v| {
            v.get("gitVersion")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string()
        })
        .map_err(|e| describe(cluster, e));
    let mut facts = ClusterFacts::new(&cluster.name, &cluster.context, &cluster.server, version);
    if !facts.reachable() {
        return facts;
    }
    let eastwest = options.eastwest();
    let gateways = async {
        if options.mode != LinkMode::Peering {
            return Ok(Vec::new());
        }
        // Only compared with the peer Gateways `link` writes, so read without their status
        // (a third of each, and 10 000 of them in a fleet of 100). The east-west Gateway's
        // status holds its address: it is read on its own, at the same time.
        let path = kinds::GATEWAY.collection_path(Some(&options.gateway_namespace));
        match cluster.api.list_without_status(&path).await {
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            other => other.map_err(|e| describe(cluster, e)),
        }
    };
    let secrets = async {
        if options.mode != LinkMode::RemoteSecret {
            return Ok(Vec::new());
        }
        // Every remote secret istiod loads, ours or not: istiod selects them by this label
        // alone (istio 1.30.3 pkg/kube/multicluster/secretcontroller.go), so one made by
        // `istioctl create-remote-secret` links the pair just as well.
        let path = kinds::SECRET.collection_path(Some(ISTIO_SYSTEM));
        let selector = format!("{}=true", remote_secret::MULTICLUSTER_LABEL);
        cluster
            .api
            .list(&path, Some(&selector))
            .await
            .map_err(|e| describe(cluster, e))
    };
    let services = async {
        if !options.services {
            return Ok(Vec::new());
        }
        cluster
            .api
            .list(&kinds::SERVICE.collection_path(None), None)
            .await
            .map_err(|e| describe(cluster, e))
    };
    // No Gateway API at all: there is no east-west Gateway either.
    let eastwest_read = read_optional(cluster, eastwest.path());
    let exposure = async {
        if options.primary.as_deref() != Some(cluster.name.as_str()) {
            return (Ok(None), Ok(None));
        }
        let namespace = Some(options.gateway_namespace.as_str());
        let (gateway, vs) = futures::join!(
            read_optional(
                cluster,
                kinds::ISTIO_GATEWAY.object_path(namespace, ISTIOD_GATEWAY)
            ),
            read_optional(cluster, kinds::VIRTUAL_SERVICE.object_path(namespace, ISTIOD_VS)),
        );
        (gateway, vs)
    };
    let (
        istiod,
        istio_system,
        mesh_config,
        cacerts,
        gateways,
        secrets,
        services,
        eastwest_read,
        exposure,
        other_links,
    ) = futures::join!(
        read(
            cluster,
            kinds::DEPLOYMENT.object_path(Some(ISTIO_SYSTEM), "istiod")
        ),
        read(cluster, kinds::NAMESPACE.object_path(None, ISTIO_SYSTEM)),
        read(
            cluster,
            kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), "istio")
        ),
        read(
            cluster,
            kinds::SECRET.object_path(Some(ISTIO_SYSTEM), cacerts::NAME)
        ),
        gateways,
        secrets,
        services,
        eastwest_read,
        exposure,
        other_mode_links(cluster, options.mode),
    );
    facts.other_links = other_links;
    (facts.istiod_gateway, facts.istiod_vs) = exposure;
    facts.istiod = istiod;
    facts.istio_system = istio_system;
    facts.mesh_config = mesh_config;
    facts.cacerts = cacerts;
    facts.eastwest = eastwest_read;
    facts.gateways = gateways;
    facts.remote_secrets = secrets;
    facts.services = services;
    facts
}

/// Our links of the mode the mesh does not link by ([`ClusterFacts::other_links`]).
async fn other_mode_links(cluster: &Cluster, mode: LinkMode) -> Vec<String> {
    let other = match mode {
        LinkMode::Peering => OurLinks::remote_secrets(),
        LinkMode::RemoteSecret => OurLinks::peer_gateways(),
    };
    let path = other.kind.collection_path(Some(other.namespace));
    match cluster.api.list(&path, Some(&other.label_selector)).await {
        Ok(items) => items
            .iter()
            .filter_map(|item| item.pointer("/metadata/name").and_then(Value::as_str))
            .map(|name| format!("{} {}/{name}", other.what, other.namespace))
            .collect(),
        Err(e) => {
            tracing::debug!(cluster = %cluster.name, "not checking for {}s: {e}", other.what);
            Vec::new()
        }
    }
}
