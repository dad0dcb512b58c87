//! Server-side apply of keyed lists, sets and atomic lists, driven with real kubectl.
//!
//! Follows "Server-Side Apply: Merge strategy" and "Field management"
//! (<https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy>):
//! `x-kubernetes-list-type: map` items are merged and owned by their
//! `x-kubernetes-list-map-keys`, `set` items by value, `atomic` lists whole.

mod common;

use common::kubectl::Kubectl;
use common::sandbox;
use mesh_testkit::Sandbox;
use serde_json::{json, Value};

const GW: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw";

fn gateway(listeners: &[(&str, u16)]) -> String {
    let listeners: Vec<Value> = listeners
        .iter()
        .map(|(name, port)| json!({"name": name, "port": port, "protocol": "TCP"}))
        .collect();
    json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
           "metadata": {"name": "gw", "namespace": "default"},
           "spec": {"gatewayClassName": "istio", "listeners": listeners}})
    .to_string()
}

/// `kubectl apply --server-side --field-manager <manager>` of `doc`.
async fn apply(k: &Kubectl, manager: &str, doc: &str) -> common::kubectl::Out {
    let file = k.path(&format!("{manager}.json"));
    std::fs::write(&file, doc).expect("write");
    let file = file.to_string_lossy().to_string();
    k.run(&["apply", "--server-side", "--field-manager", manager, "-f", &file])
        .await
}

fn listener_names(sb: &Sandbox, path: &str) -> Vec<String> {
    let obj = sb.cluster("a").object(path).expect("object");
    obj["spec"]["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .map(|l| l["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn fields_of(obj: &Value, manager: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["manager"] == manager))
        .map(|m| m["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

/// Two managers applying different listeners of one Gateway share it without conflict,
/// each owning its own item (`k:{"name":...}`); a manager that stops sending its
/// listener removes only that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_own_their_own_listeners() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let a = apply(&k, "alpha", &gateway(&[("a", 80)])).await;
    assert!(a.ok, "{}{}", a.stdout, a.stderr);
    let b = apply(&k, "beta", &gateway(&[("b", 81)])).await;
    assert!(b.ok, "{}{}", b.stdout, b.stderr);
    assert_eq!(listener_names(&sb, GW), ["a", "b"]);
    let obj = sb.cluster("a").object(GW).expect("gw");
    let beta = fields_of(&obj, "beta");
    let items = beta["f:spec"]["f:listeners"].as_object().expect("items");
    assert_eq!(items.keys().collect::<Vec<_>>(), ["k:{\"name\":\"b\"}"], "{beta}");
    assert_eq!(items["k:{\"name\":\"b\"}"]["."], json!({}));
    // Both applied the class: shared, no conflict.
    assert!(beta["f:spec"].get("f:gatewayClassName").is_some());

    let a = apply(&k, "alpha", &gateway(&[("c", 82)])).await;
    assert!(a.ok, "{}{}", a.stdout, a.stderr);
    assert_eq!(listener_names(&sb, GW), ["b", "c"]);
}

/// Changing a field of an item another manager owns conflicts, naming the item by key as
/// structured-merge-diff prints paths; `--force-conflicts` takes it over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_of_another_managers_item_conflicts() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    assert!(apply(&k, "alpha", &gateway(&[("a", 80)])).await.ok);
    let b = apply(&k, "beta", &gateway(&[("a", 90)])).await;
    b.assert_failed_with(
        "Apply failed with 1 conflict: conflict with \"alpha\": .spec.listeners[name=\"a\"].port",
    );
    let file = k.path("beta.json").to_string_lossy().to_string();
    let forced = k
        .run(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "beta",
            "-f",
            &file,
        ])
        .await;
    assert!(forced.ok, "{}", forced.stderr);
    let obj = sb.cluster("a").object(GW).expect("gw");
    assert_eq!(obj["spec"]["listeners"][0]["port"], 90);
    let alpha = fields_of(&obj, "alpha");
    let item = &alpha["f:spec"]["f:listeners"]["k:{\"name\":\"a\"}"];
    assert!(
        item.get("f:port").is_none() && item.get("f:name").is_some(),
        "{alpha}"
    );
}

/// Service ports are keyed by port and protocol: 53/TCP and 53/UDP are two items that
/// two managers own apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_ports_are_keyed_by_port_and_protocol() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let svc = |proto: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns", "namespace": "default"},
               "spec": {"ports": [{"name": format!("dns-{}", proto.to_lowercase()), "port": 53, "protocol": proto}]}})
        .to_string()
    };
    assert!(apply(&k, "tcp", &svc("TCP")).await.ok);
    let udp = apply(&k, "udp", &svc("UDP")).await;
    assert!(udp.ok, "{}", udp.stderr);
    let obj = sb
        .cluster("a")
        .object("/api/v1/namespaces/default/services/dns")
        .expect("svc");
    assert_eq!(obj["spec"]["ports"].as_array().map(Vec::len), Some(2), "{obj}");
    let udp = fields_of(&obj, "udp");
    assert!(
        udp["f:spec"]["f:ports"]
            .get("k:{\"port\":53,\"protocol\":\"UDP\"}")
            .is_some(),
        "{udp}"
    );
}

/// Containers and their env are keyed by name: a second manager adds an env var to a
/// container it did not create; `args` is atomic, so changing it conflicts as a whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_and_env_merge_by_name_args_are_atomic() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let deploy = |container: Value| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
               "spec": {"selector": {"matchLabels": {"app": "d"}},
                        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [container]}}}})
        .to_string()
    };
    let first =
        deploy(json!({"name": "app", "image": "i", "args": ["-a"], "env": [{"name": "X", "value": "1"}]}));
    assert!(apply(&k, "alpha", &first).await.ok);
    let env = apply(
        &k,
        "beta",
        &deploy(json!({"name": "app", "env": [{"name": "Y", "value": "2"}]})),
    )
    .await;
    assert!(env.ok, "{}", env.stderr);
    let path = "/apis/apps/v1/namespaces/default/deployments/d";
    let obj = sb.cluster("a").object(path).expect("deployment");
    let c = &obj["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        json!([{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}])
    );
    assert_eq!(c["image"], "i");
    let args = apply(&k, "beta", &deploy(json!({"name": "app", "args": ["-b"]}))).await;
    assert!(
        args.stderr
            .contains(".spec.template.spec.containers[name=\"app\"].args"),
        "{}",
        args.stderr
    );
}

/// `metadata.finalizers` is a set: each value is owned on its own (`v:"x"`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_are_a_set() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let cm = |f: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "default", "finalizers": [f]}})
        .to_string()
    };
    assert!(apply(&k, "alpha", &cm("example.com/a")).await.ok);
    assert!(apply(&k, "beta", &cm("example.com/b")).await.ok);
    let path = "/api/v1/namespaces/default/configmaps/c";
    let obj = sb.cluster("a").object(path).expect("cm");
    assert_eq!(
        obj["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
    assert_eq!(
        fields_of(&obj, "beta"),
        json!({"f:metadata": {"f:finalizers": {"v:\"example.com/b\"": {}}}})
    );
}
