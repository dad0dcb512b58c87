//! Istio's `networking.istio.io/v1` `Gateway` and `VirtualService`, typed: the fields the
//! sidecar flavour writes.
//!
//! Names, types and nesting follow the CRDs we vendor as a test fixture,
//! `crates/testkit/upstream/istio-1.30.3/crd-all.gen.yaml` (`gateways.networking.istio.io`,
//! `virtualservices.networking.istio.io`, version `v1`); the reference is
//! https://istio.io/latest/docs/reference/config/networking/gateway/ and
//! .../virtual-service/. The testkit validates what these serialise to against those CRDs.

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// `spec` of an Istio Gateway: the gateway pods it configures and what they listen on.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(group = "networking.istio.io", version = "v1", kind = "Gateway")]
#[kube(namespaced, schema = "disabled")]
pub struct GatewaySpec {
    pub selector: BTreeMap<String, String>,
    pub servers: Vec<Server>,
}

/// `spec.servers[]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Server {
    pub port: Port,
    pub tls: ServerTls,
    pub hosts: Vec<String>,
}

/// `spec.servers[].port` (required: `number`, `protocol`, `name`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Port {
    pub number: u32,
    pub name: String,
    pub protocol: String,
}

/// `spec.servers[].tls`: only `mode` (`AUTO_PASSTHROUGH`, `PASSTHROUGH`) for what we write.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ServerTls {
    pub mode: String,
}

/// `spec` of a VirtualService routing TLS by SNI and port.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(group = "networking.istio.io", version = "v1", kind = "VirtualService")]
#[kube(namespaced, schema = "disabled")]
pub struct VirtualServiceSpec {
    pub hosts: Vec<String>,
    pub gateways: Vec<String>,
    pub tls: Vec<TlsRoute>,
}

/// `spec.tls[]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TlsRoute {
    #[serde(rename = "match")]
    pub match_: Vec<TlsMatch>,
    pub route: Vec<RouteDestination>,
}

/// `spec.tls[].match[]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TlsMatch {
    pub port: u32,
    pub sni_hosts: Vec<String>,
}

/// `spec.tls[].route[]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RouteDestination {
    pub destination: Destination,
}

/// `spec.tls[].route[].destination`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Destination {
    pub host: String,
    pub port: PortSelector,
}

/// `spec.tls[].route[].destination.port`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct PortSelector {
    pub number: u32,
}
