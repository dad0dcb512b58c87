//! The sidecar-flavour east-west gateway (DESIGN §5.3): what Istio's gen-eastwest-gateway.sh,
//! expose-services.yaml and expose-istiod.yaml produce, as plain objects using gateway injection.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, PodSpec, PodTemplateSpec, Service, ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::istio_networking::{
    Destination, Gateway as IstioGateway, GatewaySpec, Port, PortSelector, RouteDestination, Server,
    ServerTls, TlsMatch, TlsRoute, VirtualService, VirtualServiceSpec,
};
use crate::labels::{MANAGED_BY, NETWORK};

const SELECTOR: (&str, &str) = ("istio", "eastwestgateway");

/// What shapes a sidecar east-west gateway, resolved by the caller (its names defaulted);
/// these builders need nothing else of the east-west settings.
pub struct Gateway<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub network: &'a str,
    /// Also route istiod's ports through the gateway (primary-remote).
    pub expose_istiod: bool,
}

pub fn objects(gw: &Gateway) -> Vec<Value> {
    let mut objects = vec![
        service_account(gw),
        role(gw),
        role_binding(gw),
        deployment(gw),
        service(gw),
        cross_network_gateway(gw),
    ];
    if gw.expose_istiod {
        objects.push(istiod_gateway(gw));
        objects.push(istiod_virtual_service(gw));
    }
    objects
}

fn workload_labels<'a>(gw: &Gateway<'a>) -> Vec<(&'a str, &'a str)> {
    vec![SELECTOR, ("app", gw.name), (NETWORK, gw.network)]
}

/// The order of the label keys in every label map of these objects.
const LABEL_ORDER: [&str; 5] = [SELECTOR.0, "app", NETWORK, MANAGED_BY, INJECT];
const INJECT: &str = "sidecar.istio.io/inject";

fn meta(gw: &Gateway, name: &str) -> ObjectMeta {
    super::object_meta(name, Some(gw.namespace), &workload_labels(gw))
}

fn sds_name(gw: &Gateway) -> String {
    format!("{}-sds", gw.name)
}

fn service_account(gw: &Gateway) -> Value {
    let account = ServiceAccount {
        metadata: meta(gw, gw.name),
        ..ServiceAccount::default()
    };
    super::to_value(&account, &LABEL_ORDER)
}

/// Gateways read their TLS credentials (SDS) from secrets in their own namespace.
fn role(gw: &Gateway) -> Value {
    let role = Role {
        metadata: meta(gw, &sds_name(gw)),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["secrets".into()]),
            verbs: vec!["get".into(), "watch".into(), "list".into()],
            ..PolicyRule::default()
        }]),
    };
    super::to_value(&role, &LABEL_ORDER)
}

fn role_binding(gw: &Gateway) -> Value {
    let binding = RoleBinding {
        metadata: meta(gw, &sds_name(gw)),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: sds_name(gw),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: gw.name.into(),
            ..Subject::default()
        }]),
    };
    super::to_value(&binding, &LABEL_ORDER)
}

/// The gateway's pods: `istio` and `app`.
fn selector(gw: &Gateway) -> BTreeMap<String, String> {
    super::string_map(&[SELECTOR, ("app", gw.name)])
}

fn deployment(gw: &Gateway) -> Value {
    let mut pod_labels = workload_labels(gw);
    pod_labels.push((INJECT, "true"));
    let deployment = Deployment {
        metadata: meta(gw, gw.name),
        spec: Some(DeploymentSpec {
            selector: LabelSelector {
                match_labels: Some(selector(gw)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    // The gateway injection template turns this pod into an Envoy gateway.
                    annotations: Some(super::string_map(&[("inject.istio.io/templates", "gateway")])),
                    labels: Some(super::string_map(&pod_labels)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(gw.name.into()),
                    containers: vec![Container {
                        name: "istio-proxy".into(),
                        // "auto": the injector fills in the proxy image of the control plane.
                        image: Some("auto".into()),
                        env: Some(vec![EnvVar {
                            name: "ISTIO_META_REQUESTED_NETWORK_VIEW".into(),
                            value: Some(gw.network.to_string()),
                            ..EnvVar::default()
                        }]),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    super::to_value(&deployment, &LABEL_ORDER)
}

fn service(gw: &Gateway) -> Value {
    let port = |name: &str, port: u16| ServicePort {
        name: Some(name.into()),
        port: port.into(),
        target_port: Some(IntOrString::Int(port.into())),
        ..ServicePort::default()
    };
    let service = Service {
        metadata: meta(gw, gw.name),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            selector: Some(selector(gw)),
            ports: Some(vec![
                port("status-port", 15021),
                port("tls", 15443),
                port("tls-istiod", 15012),
                port("tls-webhook", 15017),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    super::to_value(&service, &LABEL_ORDER)
}

/// The Istio Gateways and VirtualService follow istio 1.30.3
/// samples/multicluster/expose-services.yaml and expose-istiod.yaml.
fn istio_gateway(gw: &Gateway, name: &str, servers: Vec<Server>) -> Value {
    let gateway = IstioGateway {
        metadata: super::object_meta(name, Some(gw.namespace), &[]),
        spec: GatewaySpec {
            selector: super::string_map(&[("istio", SELECTOR.1)]),
            servers,
        },
    };
    super::to_value(&gateway, &[])
}

fn server(name: &str, number: u32, protocol: &str, tls_mode: &str, host: &str) -> Server {
    Server {
        port: Port {
            number,
            name: name.into(),
            protocol: protocol.into(),
        },
        tls: ServerTls {
            mode: tls_mode.into(),
        },
        hosts: vec![host.into()],
    }
}

fn cross_network_gateway(gw: &Gateway) -> Value {
    let server = server("tls", 15443, "TLS", "AUTO_PASSTHROUGH", "*.local");
    istio_gateway(gw, "cross-network-gateway", vec![server])
}

fn istiod_gateway(gw: &Gateway) -> Value {
    let servers = vec![
        server("tls-istiod", 15012, "tls", "PASSTHROUGH", "*"),
        server("tls-istiodwebhook", 15017, "tls", "PASSTHROUGH", "*"),
    ];
    istio_gateway(gw, "istiod-gateway", servers)
}

fn istiod_virtual_service(gw: &Gateway) -> Value {
    let route = |port: u32, target: u32| TlsRoute {
        match_: vec![TlsMatch {
            port,
            sni_hosts: vec!["*".into()],
        }],
        route: vec![RouteDestination {
            destination: Destination {
                host: "istiod.istio-system.svc.cluster.local".into(),
                port: PortSelector { number: target },
            },
        }],
    };
    let service = VirtualService {
        metadata: super::object_meta("istiod-vs", Some(gw.namespace), &[]),
        spec: VirtualServiceSpec {
            hosts: vec!["*".into()],
            gateways: vec!["istiod-gateway".into()],
            tls: vec![route(15012, 15012), route(15017, 443)],
        },
    };
    super::to_value(&service, &[])
}
