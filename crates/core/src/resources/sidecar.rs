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
use serde_json::{json, Value};

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

fn istio_gateway(gw: &Gateway, name: &str, servers: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": super::metadata(name, Some(gw.namespace), &[]),
        "spec": {"selector": {"istio": SELECTOR.1}, "servers": servers},
    })
}

fn cross_network_gateway(gw: &Gateway) -> Value {
    istio_gateway(
        gw,
        "cross-network-gateway",
        json!([{
            "port": {"number": 15443, "name": "tls", "protocol": "TLS"},
            "tls": {"mode": "AUTO_PASSTHROUGH"},
            "hosts": ["*.local"],
        }]),
    )
}

fn istiod_gateway(gw: &Gateway) -> Value {
    let server = |name: &str, number: u16| {
        json!({
            "port": {"name": name, "number": number, "protocol": "tls"},
            "tls": {"mode": "PASSTHROUGH"},
            "hosts": ["*"],
        })
    };
    istio_gateway(
        gw,
        "istiod-gateway",
        json!([server("tls-istiod", 15012), server("tls-istiodwebhook", 15017)]),
    )
}

fn istiod_virtual_service(gw: &Gateway) -> Value {
    let route = |port: u16, target: u16| {
        json!({
            "match": [{"port": port, "sniHosts": ["*"]}],
            "route": [{"destination": {"host": "istiod.istio-system.svc.cluster.local", "port": {"number": target}}}],
        })
    };
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": super::metadata("istiod-vs", Some(gw.namespace), &[]),
        "spec": {
            "hosts": ["*"],
            "gateways": ["istiod-gateway"],
            "tls": [route(15012, 15012), route(15017, 443)],
        },
    })
}
