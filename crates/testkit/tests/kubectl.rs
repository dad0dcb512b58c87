//! Real kubectl (v1.32, /usr/bin/kubectl) against a sandbox.

use std::path::Path;

use mesh_testkit::ClusterSpec;

mod common;

use common::kubectl::Kubectl;
use common::{no_gateway_api, sandbox, sandbox_with};
use serde_json::Value;

const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: istio-gateways
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: istio-eastwest
  namespace: istio-gateways
  labels:
    istio.io/expose-istiod: "15012"
    topology.istio.io/network: network-a
    app.kubernetes.io/managed-by: kubectl-mesh
spec:
  gatewayClassName: istio-eastwest
  listeners:
  - {name: cross-network, port: 15008, protocol: HBONE, tls: {mode: Passthrough}}
  - {name: xds-tls, port: 15012, protocol: TLS, tls: {mode: Passthrough}}
"#;

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write manifest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_namespaces_prints_a_table() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let out = k.ok(&["get", "ns"]).await;
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, vec!["NAME", "AGE"], "{out}");
    assert!(out.lines().any(|l| l.starts_with("kube-system ")), "{out}");
    assert!(sb.cluster("a").counts().list >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_server_side_apply_round_trip() {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let file = k.path("gw.yaml");
    write(&file, MANIFEST);
    let file = file.to_string_lossy().to_string();
    let out = k.ok(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(
        out,
        "namespace/istio-gateways serverside-applied\ngateway.gateway.networking.k8s.io/istio-eastwest serverside-applied\n"
    );
    let list: Value = serde_json::from_str(
        &k.ok(&[
            "get",
            "gateway",
            "-n",
            "istio-gateways",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await,
    )
    .expect("json");
    let gw = &list["items"][0];
    assert_eq!(gw["spec"]["gatewayClassName"], "istio-eastwest");
    assert_eq!(gw["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(gw["metadata"]["managedFields"][0]["operation"], "Apply");
    // Wait for the controller, then re-apply: kubectl prints serverside-applied again
    // (it has no "unchanged" for SSA) but nothing changes on the server.
    let a = sb.cluster("a");
    let path = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-eastwest";
    let programmed = |a: &mesh_testkit::FakeCluster| {
        a.object(path)
            .and_then(|o| o.pointer("/status/addresses").cloned())
    };
    for _ in 0..200 {
        if programmed(a).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let rv = a.resource_version();
    a.reset_counts();
    k.ok(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(
        a.resource_version(),
        rv,
        "unchanged apply must not bump resourceVersion"
    );
    assert_eq!(a.counts().patch, 2);
    assert_eq!(a.counts().create + a.counts().update + a.counts().delete, 0);
    // Table output for a CRD kind.
    let out = k.ok(&["get", "gateways.gateway.networking.k8s.io", "-A"]).await;
    assert!(out.contains("istio-gateways   istio-eastwest"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_conflict_and_missing_crds() {
    let sb = sandbox_with(vec![("a", ClusterSpec::default()), ("b", no_gateway_api())]).await;
    let k = Kubectl::new(&sb);
    let file = k.path("gw.yaml");
    write(&file, MANIFEST);
    let file = file.to_string_lossy().to_string();
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager",
        "kubectl-mesh",
        "-f",
        &file,
    ])
    .await;
    let edited = k.path("edited.yaml");
    write(
        &edited,
        &MANIFEST.replace("gatewayClassName: istio-eastwest", "gatewayClassName: other"),
    );
    let edited = edited.to_string_lossy().to_string();
    let o = k.run(&["apply", "--server-side", "-f", &edited]).await;
    o.assert_failed_with("conflict with \"kubectl-mesh\": .spec.gatewayClassName");
    k.ok(&["apply", "--server-side", "--force-conflicts", "-f", &edited])
        .await;
    let class = k
        .ok(&[
            "get",
            "gateway",
            "-n",
            "istio-gateways",
            "istio-eastwest",
            "-o",
            "jsonpath={.spec.gatewayClassName}",
        ])
        .await;
    assert_eq!(class, "other");
    // Cluster b has no Gateway API: kubectl cannot map the kind.
    let o = k
        .run(&["--context", "b", "apply", "--server-side", "-f", &file])
        .await;
    o.assert_failed_with("no matches for kind \"Gateway\" in version \"gateway.networking.k8s.io/v1\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_get_delete() {
    let sb = sandbox(&["a", "b"]).await;
    let k = Kubectl::new(&sb);
    let ns = k.path("ns.yaml");
    write(&ns, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n");
    k.ok(&[
        "--context",
        "b",
        "apply",
        "--server-side",
        "-f",
        &ns.to_string_lossy(),
    ])
    .await;
    assert!(
        sb.cluster("a").object("/api/v1/namespaces/x").is_none(),
        "context b is cluster b"
    );
    assert_eq!(
        k.ok(&["--context", "b", "label", "ns", "x", "foo=bar"]).await,
        "namespace/x labeled\n"
    );
    assert_eq!(
        k.ok(&["--context", "b", "get", "ns", "-l", "foo=bar", "-o", "name"])
            .await,
        "namespace/x\n"
    );
    let others = k
        .ok(&[
            "--context",
            "b",
            "get",
            "ns",
            "-l",
            "foo notin (bar)",
            "-o",
            "name",
        ])
        .await;
    assert!(
        !others.contains("namespace/x") && others.contains("namespace/default"),
        "{others}"
    );
    let labels = sb.cluster("b").object("/api/v1/namespaces/x").expect("ns")["metadata"]["labels"].clone();
    assert_eq!(labels["foo"], "bar");
    assert_eq!(
        k.ok(&["--context", "b", "delete", "ns", "x"]).await,
        "namespace \"x\" deleted\n"
    );
    let o = k.run(&["--context", "b", "get", "ns", "x"]).await;
    assert!(!o.ok);
    assert_eq!(
        o.stderr.trim(),
        "Error from server (NotFound): namespaces \"x\" not found"
    );
}
