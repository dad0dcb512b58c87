//! The peer Gateway: how a source cluster reaches a target cluster's east-west gateway
//! (DESIGN §5.4, flavour ambient-peering).

use std::net::IpAddr;

use serde_json::{json, Value};

use super::eastwest::EastWest;
use crate::labels::{NETWORK, PEER_CLUSTER};
use crate::resource;

pub const NAME_PREFIX: &str = "istio-remote-peer-";
pub const CLASS: &str = "istio-remote";
pub const SERVICE_ACCOUNT: &str = "istio-eastwest";

/// What we know of a target cluster, read from it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub cluster: String,
    pub address: String,
    pub network: String,
    pub trust_domain: String,
}

pub fn name(target_cluster: &str) -> String {
    format!("{NAME_PREFIX}{target_cluster}")
}

/// `IPAddress` for an IP, `Hostname` for a DNS name (as Gateway API spells them).
pub fn address_type(address: &str) -> &'static str {
    if address.parse::<IpAddr>().is_ok() {
        "IPAddress"
    } else {
        "Hostname"
    }
}

/// The Gateway in a source cluster (in `namespace`) that describes `target`.
pub fn gateway(target: &Target, namespace: &str) -> Value {
    let mut metadata = super::metadata(
        &name(&target.cluster),
        Some(namespace),
        &[(NETWORK, &target.network)],
    );
    metadata["labels"][PEER_CLUSTER] = json!(target.cluster);
    metadata["annotations"] = json!({
        "gateway.istio.io/service-account": SERVICE_ACCOUNT,
        "gateway.istio.io/trust-domain": target.trust_domain,
    });
    json!({
        "apiVersion": resource::GATEWAY_API,
        "kind": "Gateway",
        "metadata": metadata,
        "spec": {
            "gatewayClassName": CLASS,
            "addresses": [{"type": address_type(&target.address), "value": target.address}],
            "listeners": EastWest::peering_listeners(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_gateway_shape() {
        let target = Target {
            cluster: "west-1".into(),
            address: "203.0.113.7".into(),
            network: "network-west".into(),
            trust_domain: "west.local".into(),
        };
        let gw = gateway(&target, "istio-gateways");
        let expected = json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {
                "name": "istio-remote-peer-west-1",
                "namespace": "istio-gateways",
                "labels": {
                    "topology.istio.io/network": "network-west",
                    "app.kubernetes.io/managed-by": "kubectl-mesh",
                    "kubectl-mesh.io/peer-cluster": "west-1"
                },
                "annotations": {
                    "gateway.istio.io/service-account": "istio-eastwest",
                    "gateway.istio.io/trust-domain": "west.local"
                }
            },
            "spec": {
                "gatewayClassName": "istio-remote",
                "addresses": [{"type": "IPAddress", "value": "203.0.113.7"}],
                "listeners": [
                    {"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
                    {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}
                ]
            }
        });
        assert_eq!(gw, expected);
        assert_eq!(address_type("eastwest.example.com"), "Hostname");
        assert_eq!(address_type("2001:db8::1"), "IPAddress");
    }
}
