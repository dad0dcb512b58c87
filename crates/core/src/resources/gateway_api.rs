//! Gateway API's `Gateway` (`gateway.networking.k8s.io/v1`), typed: the fields we write.
//!
//! Names, types and nesting follow the CRD we vendor as a test fixture,
//! `crates/testkit/upstream/gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml`
//! (standard channel, bundle v1.6.1, version `v1`). The `gateway-api` crate (kube-rs/gateway-api-rs
//! 0.22) would hold the whole API, but it is built on kube 4 / k8s-openapi 0.28, one major
//! version behind ours; kube's own `CustomResource` derive gives the same typed object for the
//! handful of fields we need. The testkit validates what these serialise to against that CRD.

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `spec` of a Gateway.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(group = "gateway.networking.k8s.io", version = "v1", kind = "Gateway")]
#[kube(namespaced, schema = "disabled")]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    pub gateway_class_name: String,
    /// `spec.addresses`: where a peer Gateway points; left out when empty (the east-west
    /// gateway gets its address from its LoadBalancer Service).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<GatewaySpecAddress>,
    pub listeners: Vec<Listener>,
}

/// `spec.addresses[]`: `type` is `IPAddress` or `Hostname` for what we write.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct GatewaySpecAddress {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    pub value: String,
}

/// `spec.listeners[]` (required: `name`, `port`, `protocol`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Listener {
    pub name: String,
    pub port: i32,
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
}

/// `spec.listeners[].tls`: `mode` is `Terminate` or `Passthrough`; `options` are
/// implementation-specific (Istio reads `gateway.istio.io/tls-terminate-mode`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ListenerTls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

impl Listener {
    /// A listener with TLS `mode` and no options.
    pub fn new(name: &str, port: i32, protocol: &str, tls_mode: &str) -> Self {
        Listener {
            name: name.into(),
            port,
            protocol: protocol.into(),
            tls: Some(ListenerTls {
                mode: Some(tls_mode.into()),
                options: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What the API server returns holds defaults and status we do not model; the typed
    /// object still reads the fields we write.
    #[test]
    fn reads_a_live_gateway_with_fields_it_does_not_model() {
        let live = json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "istio-eastwest", "namespace": "istio-gateways", "resourceVersion": "7"},
            "spec": {
                "gatewayClassName": "istio-eastwest",
                "listeners": [{"name": "xds-tls", "port": 15012, "protocol": "TLS",
                    "tls": {"mode": "Passthrough"}, "allowedRoutes": {"namespaces": {"from": "Same"}}}],
            },
            "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.7"}]},
        });
        let gateway: Gateway = serde_json::from_value(live).unwrap();
        assert_eq!(gateway.spec.gateway_class_name, "istio-eastwest");
        assert_eq!(
            gateway.spec.listeners,
            vec![Listener::new("xds-tls", 15012, "TLS", "Passthrough")]
        );
        assert!(gateway.spec.addresses.is_empty());
        let written = serde_json::to_value(&gateway).unwrap();
        assert_eq!(written["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(written["kind"], "Gateway");
        assert!(written["spec"].get("addresses").is_none(), "{written}");
    }
}
