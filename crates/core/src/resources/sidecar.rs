//! The sidecar-flavour east-west gateway (DESIGN §5.3): what Istio's gen-eastwest-gateway.sh,
//! expose-services.yaml and expose-istiod.yaml produce, as plain objects using gateway injection.

use serde_json::{json, Value};

use super::eastwest::EastWest;
use crate::labels::NETWORK;

const SELECTOR: (&str, &str) = ("istio", "eastwestgateway");

pub fn objects(gw: &EastWest) -> Vec<Value> {
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

fn workload_labels(gw: &EastWest) -> Vec<(&str, &str)> {
    vec![SELECTOR, ("app", gw.name()), (NETWORK, gw.network.as_str())]
}

fn meta(gw: &EastWest, name: &str) -> Value {
    super::metadata(name, Some(gw.namespace()), &workload_labels(gw))
}

fn sds_name(gw: &EastWest) -> String {
    format!("{}-sds", gw.name())
}

fn service_account(gw: &EastWest) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(gw, gw.name())})
}

/// Gateways read their TLS credentials (SDS) from secrets in their own namespace.
fn role(gw: &EastWest) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(gw, &sds_name(gw)),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}],
    })
}

fn role_binding(gw: &EastWest) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(gw, &sds_name(gw)),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sds_name(gw)},
        "subjects": [{"kind": "ServiceAccount", "name": gw.name()}],
    })
}

fn deployment(gw: &EastWest) -> Value {
    let labels = json!({"istio": SELECTOR.1, "app": gw.name(), NETWORK: gw.network});
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(gw, gw.name()),
        "spec": {
            "selector": {"matchLabels": {"istio": SELECTOR.1, "app": gw.name()}},
            "template": {
                "metadata": {
                    // The gateway injection template turns this pod into an Envoy gateway.
                    "annotations": {"inject.istio.io/templates": "gateway"},
                    "labels": merge(labels, json!({"sidecar.istio.io/inject": "true"})),
                },
                "spec": {
                    "serviceAccountName": gw.name(),
                    "containers": [{
                        "name": "istio-proxy",
                        // "auto": the injector fills in the proxy image of the control plane.
                        "image": "auto",
                        "env": [{"name": "ISTIO_META_REQUESTED_NETWORK_VIEW", "value": gw.network}],
                    }],
                },
            },
        },
    })
}

fn service(gw: &EastWest) -> Value {
    let port = |name: &str, port: u16| json!({"name": name, "port": port, "targetPort": port});
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(gw, gw.name()),
        "spec": {
            "type": "LoadBalancer",
            "selector": {"istio": SELECTOR.1, "app": gw.name()},
            "ports": [
                port("status-port", 15021),
                port("tls", 15443),
                port("tls-istiod", 15012),
                port("tls-webhook", 15017),
            ],
        },
    })
}

fn istio_gateway(gw: &EastWest, name: &str, servers: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": super::metadata(name, Some(gw.namespace()), &[]),
        "spec": {"selector": {"istio": SELECTOR.1}, "servers": servers},
    })
}

fn cross_network_gateway(gw: &EastWest) -> Value {
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

fn istiod_gateway(gw: &EastWest) -> Value {
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

fn istiod_virtual_service(gw: &EastWest) -> Value {
    let route = |port: u16, target: u16| {
        json!({
            "match": [{"port": port, "sniHosts": ["*"]}],
            "route": [{"destination": {"host": "istiod.istio-system.svc.cluster.local", "port": {"number": target}}}],
        })
    };
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": super::metadata("istiod-vs", Some(gw.namespace()), &[]),
        "spec": {
            "hosts": ["*"],
            "gateways": ["istiod-gateway"],
            "tls": [route(15012, 15012), route(15017, 443)],
        },
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(base_map), Value::Object(extra_map)) = (base.as_object_mut(), extra) {
        base_map.extend(extra_map);
    }
    base
}
