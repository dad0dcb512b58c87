//! Peering links (DESIGN §5.4), for flavour ambient-peering: in every source a peer Gateway
//! describing each target's east-west gateway.
//!
//! Requests are kept to what the result needs: one LIST of gateways and one GET of the mesh
//! config per cluster (the LIST yields both a cluster's own east-west gateway — the facts it
//! offers as a target — and the peer Gateways it holds as a source), then one write per
//! changed pair.

use serde_json::Value;

use super::{Backend, Facts, Links, OurLinks, PairReport, SourceLinks};
use crate::expose::address_of;
use crate::kube::api::ApiError;
use crate::kube::apply::WriteOptions;
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::kinds::{self, name_of, Kind};
use crate::labels::{is_ours, ISTIO_SYSTEM, NETWORK, PEER_CLUSTER};
use crate::report::Outcome;
use crate::resources::peering;
pub use crate::resources::peering::Target;

/// Where the east-west gateways live, and how to write.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Namespace of the east-west gateway, and of the peer Gateways we write.
    pub namespace: String,
    /// Name of the east-west gateway in each cluster.
    pub gateway: String,
    pub write: WriteOptions,
    pub parallel: usize,
}

/// Where the east-west Gateway and our peer Gateways live unless `--namespace` says otherwise.
pub const DEFAULT_NAMESPACE: &str = "istio-gateways";

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions {
            namespace: DEFAULT_NAMESPACE.into(),
            gateway: "istio-eastwest".into(),
            write: WriteOptions::default(),
            parallel: 16,
        }
    }
}

/// The peering backend of the link fan-out.
pub(super) struct Peering<'a>(pub(super) &'a LinkOptions);

impl Backend for Peering<'_> {
    type Target = Target;

    async fn read(&self, cluster: &Cluster, as_target: bool, _as_source: bool) -> Facts<Target> {
        // One LIST serves both roles, so a pure target costs no extra request.
        match read_facts(cluster, self.0, as_target).await {
            Ok(facts) => Facts {
                target: facts.target,
                links: Ok(facts.links),
            },
            Err(e) => Facts {
                target: as_target.then(|| Err(e.clone())),
                links: Err(e),
            },
        }
    }

    async fn read_links_to(&self, cluster: &Cluster, peers: &[&str]) -> Option<Links> {
        let namespace = Some(self.0.namespace.as_str());
        let reads = peers.iter().map(|peer| async move {
            let path = kinds::GATEWAY.object_path(namespace, &peering::name(peer));
            cluster.api.get(&path).await.map(|found| (*peer, found))
        });
        let mut links = SourceLinks::default();
        for read in futures::future::join_all(reads).await {
            match read {
                // Ours and pointing at that peer, as a LIST would have kept it.
                Ok((peer, Some(gateway))) if our_peer(&gateway).as_deref() == Some(peer) => {
                    links.ours.insert(peer.to_string(), gateway);
                }
                Ok((_, Some(gateway))) if !is_ours(&gateway) => {
                    links.others.insert(name_of(&gateway).to_string());
                }
                Ok(_) => {}
                Err(e) => return Some(Err(cluster.error(e))),
            }
        }
        Some(Ok(links))
    }

    fn write(&self) -> &WriteOptions {
        &self.0.write
    }

    fn desired(&self, target: &Target) -> Value {
        peering::gateway(target, &self.0.namespace)
    }

    fn describe(&self, mut report: PairReport, target: &Target) -> PairReport {
        report.address = Some(target.address.clone());
        report.network = Some(target.network.clone());
        report
    }

    fn link_of(&self, peer: &str) -> (Kind, &str, String) {
        (kinds::GATEWAY, &self.0.namespace, peering::name(peer))
    }

    /// Remote secrets (flavours ambient and sidecar), ours.
    fn other_links(&self) -> OurLinks {
        OurLinks::remote_secrets()
    }

    fn source_event(&self, reports: &[PairReport]) -> String {
        let failed = reports.iter().filter(|r| r.result == Outcome::Failed).count();
        let changed = reports.iter().filter(|r| r.result.is_change()).count();
        format!("{} links: {changed} changed, {failed} failed", reports.len())
    }
}

/// What one cluster's reads found.
struct PeeringFacts {
    /// As a target (when asked): its address, network, trust domain; or why it cannot be one.
    target: Option<Result<Target, ClusterError>>,
    /// As a source: our peer Gateways in it, by the peer cluster they describe, and the
    /// names of the Gateways of others beside them.
    links: SourceLinks,
}

/// Reads a cluster: gateways in the gateway namespace (one LIST) and, when it is a target,
/// its trust domain (one GET, sent at the same time).
async fn read_facts(
    cluster: &Cluster,
    options: &LinkOptions,
    need_target: bool,
) -> Result<PeeringFacts, ClusterError> {
    let path = kinds::GATEWAY.collection_path(Some(&options.namespace));
    let trust_domain = async {
        if need_target {
            Some(read_trust_domain(cluster).await)
        } else {
            None
        }
    };
    let (gateways, trust_domain) = futures::join!(cluster.api.list(&path, None), trust_domain);
    let gateways = match gateways {
        Ok(items) => items,
        Err(e) if e.is_not_found() => {
            return Err(cluster.state_error(format!("cluster {}: the Gateway API CRDs (gateway.networking.k8s.io/v1) are not installed; install them, then run `kubectl mesh expose --context {}`", cluster.name, cluster.context)));
        }
        Err(e) => return Err(cluster.error(e)),
    };
    let mut links = SourceLinks::default();
    let mut own = None;
    for gateway in gateways {
        let name = name_of(&gateway);
        if name == options.gateway {
            own = Some(gateway);
        } else if let Some(peer) = our_peer(&gateway) {
            links.ours.insert(peer, gateway);
        } else if !is_ours(&gateway) {
            links.others.insert(name.to_string());
        }
    }
    let target = match (trust_domain, own) {
        (None, _) => None,
        (Some(_), None) => Some(Err(cluster.state_error(format!(
            "cluster {} has no east-west Gateway {}/{}: run `kubectl mesh expose --context {}`",
            cluster.name, options.namespace, options.gateway, cluster.context
        )))),
        (Some(trust_domain), Some(gateway)) => {
            let trust_domain = trust_domain.map_err(|e| cluster.error(e))?;
            Some(target_facts(cluster, &gateway, trust_domain, options))
        }
    };
    Ok(PeeringFacts { target, links })
}

/// Reads what a peer needs to know about `cluster` (for `link --generate`): its address,
/// network, trust domain and its east-west gateway's ServiceAccount.
pub async fn read_target(cluster: &Cluster, options: &LinkOptions) -> Result<Target, ClusterError> {
    read_facts(cluster, options, true)
        .await?
        .target
        .unwrap_or_else(
            || Err(cluster.state_error(format!("cluster {}: not read as a target", cluster.name))),
        )
}

/// The peer cluster named by one of our peer Gateways (never someone else's Gateway).
fn our_peer(gateway: &Value) -> Option<String> {
    if !is_ours(gateway) {
        return None;
    }
    crate::labels::value(gateway, PEER_CLUSTER).map(str::to_string)
}

fn target_facts(
    cluster: &Cluster,
    gateway: &Value,
    trust_domain: String,
    options: &LinkOptions,
) -> Result<Target, ClusterError> {
    let Some(address) = address_of(gateway) else {
        return Err(cluster.state_error(format!(
            "cluster {}: east-west Gateway {}/{} has no address yet: run `kubectl mesh expose --context {} --wait`",
            cluster.name, options.namespace, options.gateway, cluster.context
        )));
    };
    let network = crate::labels::value(gateway, NETWORK)
        .map(str::to_string)
        .ok_or_else(|| cluster.state_error(format!(
            "cluster {}: east-west Gateway {}/{} has no {NETWORK} label: re-run `kubectl mesh expose --context {} --network NAME`",
            cluster.name, options.namespace, options.gateway, cluster.context
        )))?;
    // Read from the target's own gateway (honouring `expose --name` / `link --gateway`), not
    // assumed: a gateway named otherwise runs as another ServiceAccount.
    let service_account = peering::service_account_of(gateway).unwrap_or_else(|| options.gateway.clone());
    Ok(Target {
        cluster: cluster.name.clone(),
        address,
        network,
        trust_domain,
        service_account,
    })
}

/// `trustDomain` of the mesh config in the `istio` ConfigMap; Istio's default when unset.
pub async fn read_trust_domain(cluster: &Cluster) -> Result<String, ApiError> {
    let path = kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), "istio");
    let config = cluster.api.get(&path).await?;
    Ok(config
        .as_ref()
        .and_then(trust_domain_of)
        .unwrap_or_else(|| "cluster.local".to_string()))
}

/// Reads `trustDomain` out of the ConfigMap's `mesh` YAML.
pub fn trust_domain_of(config_map: &Value) -> Option<String> {
    let mesh = config_map.pointer("/data/mesh")?.as_str()?;
    let mesh: Value = serde_yaml_ng::from_str(mesh).ok()?;
    mesh.get("trustDomain")?
        .as_str()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{MANAGED_BY, MANAGED_BY_VALUE};
    use serde_json::json;

    #[test]
    fn trust_domain_from_mesh_config() {
        let cm = json!({"data": {"mesh": "defaultConfig:\n  discoveryAddress: istiod:15012\ntrustDomain: east.example\n"}});
        assert_eq!(trust_domain_of(&cm).as_deref(), Some("east.example"));
        assert_eq!(trust_domain_of(&json!({"data": {"mesh": "{}"}})), None);
        assert_eq!(trust_domain_of(&json!({})), None);
    }

    #[test]
    fn only_our_peer_gateways_count() {
        let ours = json!({"metadata": {"labels": {MANAGED_BY: MANAGED_BY_VALUE, PEER_CLUSTER: "b"}}});
        let theirs = json!({"metadata": {"labels": {PEER_CLUSTER: "b"}}});
        assert_eq!(our_peer(&ours).as_deref(), Some("b"));
        assert_eq!(our_peer(&theirs), None);
    }
}
