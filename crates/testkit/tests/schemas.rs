//! Validation against the vendored upstream schemas: the library API product tests call
//! on generated objects, the fake server's 422s, pruning and `fieldValidation`, and real
//! kubectl (`apply --server-side`, `explain`).

mod common;

use common::kubectl::Kubectl;
use common::{one_cluster, sandbox, APPLY};
use mesh_testkit::schema::Schemas;
use serde_json::{json, Value};

const GWS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways";

fn gateway(listeners: Value) -> Value {
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
           "metadata": {"name": "g", "namespace": "default"},
           "spec": {"gatewayClassName": "istio-eastwest", "listeners": listeners}})
}

/// The two listeners of DESIGN.md §5.1 (and §5.4).
fn peering_listeners() -> Value {
    json!([{"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}},
           {"name": "xds-tls", "port": 15012, "protocol": "TLS", "tls": {"mode": "Passthrough"}}])
}

fn error(obj: &Value) -> String {
    Schemas::upstream()
        .validate(obj)
        .map(|()| panic!("should be invalid: {obj}"))
        .unwrap_or_else(|e| e.to_string())
}

#[test]
fn design_gateways_are_valid() {
    let s = Schemas::upstream();
    // §5.1 east-west Gateway.
    s.validate(&gateway(peering_listeners())).expect("5.1");
    // §5.2 ambient east-west Gateway.
    let mut ambient = gateway(json!([{"name": "mesh", "port": 15008, "protocol": "HBONE",
        "tls": {"mode": "Terminate", "options": {"gateway.istio.io/tls-terminate-mode": "ISTIO_MUTUAL"}}}]));
    ambient["metadata"] = json!({"name": "istio-eastwestgateway", "namespace": "istio-system",
        "labels": {"topology.istio.io/network": "net-a"}});
    ambient["spec"]["gatewayClassName"] = json!("istio-east-west");
    s.validate(&ambient).expect("5.2");
    // §5.4 peering link Gateway.
    let mut remote = gateway(peering_listeners());
    remote["metadata"]["annotations"] = json!({"gateway.istio.io/service-account": "istio-eastwest",
        "gateway.istio.io/trust-domain": "cluster.local"});
    remote["spec"]["gatewayClassName"] = json!("istio-remote");
    remote["spec"]["addresses"] = json!([{"type": "IPAddress", "value": "203.0.113.10"}]);
    s.validate(&remote).expect("5.4");
    remote["spec"]["addresses"] = json!([{"type": "Hostname", "value": "ew.example.com"}]);
    s.validate(&remote).expect("5.4 hostname");
}

#[test]
fn tls_listeners_need_what_gateway_api_cel_requires() {
    let tls = gateway(json!([{"name": "xds", "port": 15012, "protocol": "TLS"}]));
    assert_eq!(
        error(&tls),
        "Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners: Invalid value: \"array\": tls mode must be set for protocol TLS"
    );
    // HTTPS: tls.mode defaults to Terminate, which needs certificateRefs or options (the
    // rule reads both, so with neither set it fails evaluating, as in cel-go).
    let https = gateway(json!([{"name": "web", "port": 443, "protocol": "HTTPS", "tls": {}}]));
    let e = error(&https);
    assert!(e.starts_with("Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners[0].tls: Invalid value: \"object\": "), "{e}");
    assert!(
        e.ends_with("evaluating rule: certificateRefs or options must be specified when mode is Terminate"),
        "{e}"
    );
    let empty_refs = gateway(
        json!([{"name": "web", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": [], "options": {}}}]),
    );
    assert_eq!(
        error(&empty_refs),
        "Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners[0].tls: Invalid value: \"object\": certificateRefs or options must be specified when mode is Terminate"
    );
    let passthrough =
        gateway(json!([{"name": "web", "port": 443, "protocol": "HTTPS", "tls": {"mode": "Passthrough"}}]));
    assert!(error(&passthrough).contains("tls mode must be Terminate for protocol HTTPS"));
}

#[test]
fn listener_names_follow_the_pattern_and_are_unique() {
    let bad = gateway(json!([{"name": "Bad_Name", "port": 80, "protocol": "HTTP"}]));
    let e = Schemas::upstream().validate(&bad).expect_err("pattern");
    assert_eq!(
        e.to_string(),
        "Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners[0].name: Invalid value: \"Bad_Name\": spec.listeners[0].name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'"
    );
    assert_eq!(e.causes()[0].1, "FieldValueInvalid");
    let dup = gateway(
        json!([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "a", "port": 81, "protocol": "HTTP"}]),
    );
    let e = Schemas::upstream().validate(&dup).expect_err("duplicate");
    let causes = e.causes();
    assert!(
        causes.contains(&(
            "spec.listeners[1]",
            "FieldValueDuplicate",
            "Duplicate value: map[string]interface {}{\"name\":\"a\"}"
        )),
        "{causes:?}"
    );
    assert!(
        e.to_string().contains(
            "spec.listeners: Invalid value: \"array\": Listener name must be unique within the Gateway"
        ) || causes.len() == 1,
        "{e}"
    );
}

#[test]
fn wrong_types_missing_fields_and_unknown_kinds() {
    let wrong = gateway(json!([{"name": "a", "port": "80", "protocol": "HTTP"}]));
    let e = Schemas::upstream().validate(&wrong).expect_err("type");
    assert_eq!(
        e.causes(),
        vec![(
            "spec.listeners[0].port",
            "FieldValueTypeInvalid",
            "Invalid value: \"string\": spec.listeners[0].port in body must be of type integer: \"string\""
        )]
    );
    let mut missing = gateway(peering_listeners());
    missing["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("gatewayClassName");
    assert_eq!(
        error(&missing),
        "Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.gatewayClassName: Required value"
    );
    let unsupported = gateway(json!([{"name": "a", "port": 80, "protocol": "HTTP",
        "allowedRoutes": {"namespaces": {"from": "Everywhere"}}}]));
    assert!(
        error(&unsupported).contains("spec.listeners[0].allowedRoutes.namespaces.from: Unsupported value: \"Everywhere\": supported values: \"All\", \"Selector\", \"Same\""),
        "{}",
        error(&unsupported)
    );
    let typo =
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gatway", "metadata": {"name": "g"}});
    assert!(error(&typo).starts_with("no schema for"), "{}", error(&typo));
    // Core kinds: the Kubernetes OpenAPI, and the name rules.
    let cm =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}, "data": {"a": 1}});
    let e = error(&cm);
    assert!(
        e.contains("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"),
        "{e}"
    );
    assert!(
        e.contains("data[a]: Invalid value: \"integer\": data[a] in body must be of type string"),
        "{e}"
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1svc"},
        "spec": {"ports": [{"port": 80}]}});
    assert!(
        error(&svc).contains("metadata.name: Invalid value: \"1svc\": a DNS-1035 label"),
        "{}",
        error(&svc)
    );
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "system:x"}, "roleRef": {"kind": "ClusterRole", "name": "x"}, "subjects": []});
    assert_eq!(
        error(&rb),
        "ClusterRoleBinding.rbac.authorization.k8s.io \"system:x\" is invalid: roleRef.apiGroup: Required value"
    );
}

#[test]
fn unknown_fields_are_errors_in_the_library() {
    let istio = json!({"apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": "default"},
        "spec": {"namespace": "istio-system", "foo": 1, "values": {"global": {"network": "n"}}}});
    assert_eq!(
        error(&istio),
        "Istio.sailoperator.io \"default\" is invalid: spec.foo: field not declared in schema"
    );
}

/// Rules that call a function the validator lacks are never enforced: pinned here so
/// nobody believes they are. Adding a function makes this list shorter.
#[test]
fn cel_rules_not_checked_are_pinned() {
    let unchecked: Vec<(String, Vec<String>)> = Schemas::upstream()
        .unchecked_rules()
        .into_iter()
        .map(|r| (r.crd, r.missing))
        .collect();
    assert_eq!(unchecked, Vec::<(String, Vec<String>)>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_422_with_causes() {
    let (_sb, c) = one_cluster().await;
    let r = c
        .post(
            GWS,
            &gateway(json!([{"name": "Bad_Name", "port": 80, "protocol": "HTTP"}])),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    let s = r.json();
    assert_eq!(s["reason"], "Invalid");
    assert_eq!(s["details"]["kind"], "Gateway");
    assert_eq!(s["details"]["group"], "gateway.networking.k8s.io");
    assert_eq!(s["details"]["causes"][0]["field"], "spec.listeners[0].name");
    assert!(s["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners[0].name: Invalid value: \"Bad_Name\""));
    // A merge patch producing an invalid object is refused; the stored one stays.
    let r = c.post(GWS, &gateway(peering_listeners())).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = c
        .patch(
            &format!("{GWS}/g"),
            common::MERGE,
            r#"{"spec":{"gatewayClassName":null}}"#,
        )
        .await;
    r.assert_refused(422, "spec.gatewayClassName: Required value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_pruned_warned_or_refused() {
    let (_sb, c) = one_cluster().await;
    let mut gw = gateway(peering_listeners());
    gw["spec"]["foo"] = json!("bar");
    // Default (Warn): dropped, with a warning.
    let r = c.post(GWS, &gw).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json()["spec"].get("foo").is_none());
    let warning = r
        .headers
        .get("warning")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(warning, "299 - \"unknown field \\\"spec.foo\\\"\"");
    // Strict: a create fails decoding.
    gw["metadata"]["name"] = json!("strict");
    let r = c.post(&format!("{GWS}?fieldValidation=Strict"), &gw).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.json()["message"],
        "Gateway in version \"v1\" cannot be handled as a Gateway: strict decoding error: unknown field \"spec.foo\""
    );
    // Strict apply: the typed-object error.
    let r = c
        .send(
            "PATCH",
            &format!("{GWS}/strict?fieldManager=t&fieldValidation=Strict"),
            Some(APPLY),
            &gw.to_string(),
        )
        .await;
    r.assert_refused(422, ".spec.foo: field not declared in schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_are_installed() {
    let (_sb, c) = one_cluster().await;
    let r = c
        .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gateways.gateway.networking.k8s.io")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["spec"]["names"]["kind"], "Gateway");
    let r = c
        .get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        .await;
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    for n in [
        "istios.sailoperator.io",
        "virtualservices.networking.istio.io",
        "httproutes.gateway.networking.k8s.io",
    ] {
        assert!(names.iter().any(|x| x == n), "{n}: {names:?}");
    }
}

const BAD_GATEWAY: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: bad
  namespace: default
spec:
  gatewayClassName: istio-eastwest
  listeners:
  - name: xds-tls
    port: 15012
    protocol: TLS
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_sees_the_errors_and_explains() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let file = k.path("bad.yaml");
    std::fs::write(&file, BAD_GATEWAY).expect("write");
    let file = file.to_string_lossy().to_string();
    let o = k.run(&["apply", "--server-side", "-f", &file]).await;
    assert!(!o.ok, "{}", o.stdout);
    assert!(
        o.stderr
            .contains("spec.listeners: Invalid value: \"array\": tls mode must be set for protocol TLS"),
        "{}",
        o.stderr
    );
    let out = k
        .ok(&["explain", "gateways.gateway.networking.k8s.io.spec.listeners"])
        .await;
    assert!(out.contains("allowedRoutes"), "{out}");
    assert!(out.contains("protocol"), "{out}");
    let out = k.ok(&["explain", "deployment.spec.replicas"]).await;
    assert!(out.contains("replicas"), "{out}");
}
