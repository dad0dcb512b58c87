//! The peer Gateway: how a source cluster reaches a target cluster's east-west gateway
//! (DESIGN §5.4, flavour ambient-peering).

use std::net::IpAddr;

use serde_json::Value;

use super::eastwest::EastWest;
use super::gateway_api::{Gateway, GatewaySpec, GatewaySpecAddress};
use crate::labels::{CLUSTER, GATEWAY_SERVICE_ACCOUNT, GATEWAY_TRUST_DOMAIN, NETWORK, PEER_CLUSTER};

pub const NAME_PREFIX: &str = "istio-remote-peer-";
pub const CLASS: &str = "istio-remote";

/// What we know of a target cluster, read from it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Its name in `--contexts` (name=context): the `topology.istio.io/cluster` label.
    pub cluster: String,
    pub address: String,
    pub network: String,
    pub trust_domain: String,
    /// The ServiceAccount of its east-west gateway's workload (see [`service_account_of`]).
    pub service_account: String,
}

/// The peer Gateway's name: `istio-remote-peer-<target cluster>`, at most 63 characters.
/// Istio labels what it derives from a Gateway with `gateway.networking.k8s.io/gateway-name:
/// <name>`, and a label value is at most 63 characters; a longer name is shortened the same
/// way every time (a prefix of the cluster name and a hash of all of it), so later runs find
/// the same object.
pub fn name(target_cluster: &str) -> String {
    let full = format!("{NAME_PREFIX}{target_cluster}");
    if full.len() <= 63 {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(target_cluster.as_bytes()));
    let room = 63 - NAME_PREFIX.len() - 1 - hash.len();
    let prefix = target_cluster[..room].trim_end_matches('-');
    format!("{NAME_PREFIX}{prefix}-{hash}")
}

/// FNV-1a, 32 bits: stable across versions and platforms, which is all a name needs.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// `IPAddress` for an IP, `Hostname` for a DNS name (as Gateway API spells them).
pub fn address_type(address: &str) -> &'static str {
    if address.parse::<IpAddr>().is_ok() {
        "IPAddress"
    } else {
        "Hostname"
    }
}

/// The ServiceAccount the workload of a (target's east-west) Gateway runs as: its
/// `gateway.istio.io/service-account` annotation, else the Gateway's name — as Istio's gateway
/// deployment controller names it (istio 1.30.3
/// pilot/pkg/config/kube/gatewaycommon/deploymentcontroller.go:429, with the `-<class>` suffix
/// disabled for east-west classes in gatewaycommon/classinfo.go:161).
pub fn service_account_of(gateway: &Value) -> Option<String> {
    let meta = gateway.get("metadata")?;
    meta.get("annotations")
        .and_then(|a| a.get(GATEWAY_SERVICE_ACCOUNT))
        .or_else(|| meta.get("name"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The Gateway in a source cluster (in `namespace`) that describes `target`. Labels and
/// annotations follow Solo's peering guide
/// (https://docs.solo.io/istio/1.30.x/ambient/multicluster/install/default/manual/): network and
/// cluster labels, the target's east-west ServiceAccount and trust domain as annotations.
pub fn gateway(target: &Target, namespace: &str) -> Value {
    let labels = [
        (NETWORK, target.network.as_str()),
        (CLUSTER, target.cluster.as_str()),
    ];
    let mut metadata = super::object_meta(&name(&target.cluster), Some(namespace), &labels);
    metadata
        .labels
        .get_or_insert_default()
        .insert(PEER_CLUSTER.into(), target.cluster.clone());
    metadata.annotations = Some(super::string_map(&[
        (GATEWAY_SERVICE_ACCOUNT, &target.service_account),
        (GATEWAY_TRUST_DOMAIN, &target.trust_domain),
    ]));
    let gateway = Gateway {
        metadata,
        spec: GatewaySpec {
            gateway_class_name: CLASS.into(),
            addresses: vec![GatewaySpecAddress {
                type_: Some(address_type(&target.address).into()),
                value: target.address.clone(),
            }],
            listeners: EastWest::peering_listeners(),
        },
    };
    let mut order = super::label_order(&labels);
    order.push(PEER_CLUSTER);
    super::to_value(&gateway, &order)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn long_names_are_shortened_the_same_way_every_time() {
        assert_eq!(name("west-1"), "istio-remote-peer-west-1");
        let long = "a-very-long-cluster-name-that-goes-on-and-on-well-past-the-limi";
        assert_eq!(long.len(), 63);
        let short = name(long);
        assert!(short.len() <= 63, "{short}");
        assert_eq!(short, name(long), "deterministic");
        assert!(short.starts_with("istio-remote-peer-a-very-long"), "{short}");
        assert_ne!(
            name(&format!("{long}x")[1..]),
            short,
            "another cluster, another name"
        );
        assert!(crate::kube::validation::is_label(&short));
    }

    #[test]
    fn peer_gateway_shape() {
        let target = Target {
            cluster: "west-1".into(),
            address: "203.0.113.7".into(),
            network: "network-west".into(),
            trust_domain: "west.local".into(),
            service_account: "ew-west".into(),
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
                    "topology.istio.io/cluster": "west-1",
                    "app.kubernetes.io/managed-by": "kubectl-mesh",
                    "kubectl-mesh.io/peer-cluster": "west-1"
                },
                "annotations": {
                    "gateway.istio.io/service-account": "ew-west",
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

    #[test]
    fn service_account_is_the_annotation_else_the_gateway_name() {
        let named = json!({"metadata": {"name": "ew"}});
        assert_eq!(service_account_of(&named).as_deref(), Some("ew"));
        let annotated =
            json!({"metadata": {"name": "ew", "annotations": {GATEWAY_SERVICE_ACCOUNT: "ew-sa"}}});
        assert_eq!(service_account_of(&annotated).as_deref(), Some("ew-sa"));
        assert_eq!(service_account_of(&json!({})), None);
    }
}
