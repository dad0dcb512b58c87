//! The data plane's rules, one scenario each, over hand-built [`ClusterView`]s.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use super::routing::DISTRIBUTION;
use super::view::{echo_text, EASTWEST_SERVICE, ISTIO_SYSTEM, NETWORK_LABEL};
use super::*;
use crate::meta;

const NS: &str = "probe";
const GLOBAL_URL: &str = "http://echo.probe.mesh.internal/";
const LOCAL_URL: &str = "http://echo.probe.svc.cluster.local:80/";

fn cluster(name: &str, port: u16, network: &str) -> ClusterView {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ISTIO_SYSTEM, "labels": {NETWORK_LABEL: network}}});
    ClusterView {
        name: name.to_string(),
        server_url: format!("https://127.0.0.1:{port}"),
        objects: vec![ns],
    }
}

fn service(labels: Value, annotations: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "echo", "namespace": NS, "labels": labels, "annotations": annotations},
        "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80}]}})
}

fn deployment(args: Value, ready: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "echo", "namespace": NS},
        "spec": {"template": {"metadata": {"labels": {"app": "echo", "extra": "x"}},
                 "spec": {"containers": [{"name": "echo", "args": args}]}}},
        "status": {"readyReplicas": ready}})
}

/// Serves `echo` answering `answer-<name>`, marked global unless `global` is false.
fn serve(v: &mut ClusterView, global: bool) {
    let labels = if global {
        json!({"solo.io/service-scope": "global"})
    } else {
        json!({})
    };
    v.objects.push(service(labels, json!({})));
    let text = format!("-text=answer-{}", v.name);
    v.objects.push(deployment(json!(["-listen=:8080", text]), 1));
}

fn set_distribution(v: &mut ClusterView, value: &str) {
    for o in v.objects.iter_mut().filter(|o| o["kind"] == "Service") {
        o["metadata"]["annotations"][DISTRIBUTION] = json!(value);
    }
}

fn gateway(class: &str, spec_addr: Option<&str>, status_addr: Option<&str>) -> Value {
    let mut g = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": class, "namespace": "istio-gateways"},
        "spec": {"gatewayClassName": class}});
    if let Some(a) = spec_addr {
        g["spec"]["addresses"] = json!([{"type": "IPAddress", "value": a}]);
    }
    if let Some(a) = status_addr {
        g["status"]["addresses"] = json!([{"type": "IPAddress", "value": a}]);
    }
    g
}

fn eastwest(v: &mut ClusterView, addr: &str) {
    v.objects.push(gateway("istio-eastwest", None, Some(addr)));
}

fn peer(v: &mut ClusterView, addr: &str) {
    v.objects.push(gateway("istio-remote", Some(addr), None));
}

fn remote_secret(v: &mut ClusterView, server: &str) {
    let kubeconfig =
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: z\n  cluster:\n    server: {server}\n");
    v.objects.push(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("istio-remote-secret-{}", v.objects.len()), "namespace": ISTIO_SYSTEM,
                     "labels": {"istio/multiCluster": "true"}},
        "data": {"z": B64.encode(kubeconfig)}}));
}

/// A cluster on `network` serving `echo` (see [`serve`]) and trusting the mesh root `root`.
fn serving(name: &str, port: u16, network: &str, global: bool, root: &str) -> ClusterView {
    let mut v = cluster(name, port, network);
    serve(&mut v, global);
    cacerts(&mut v, root);
    v
}

fn cacerts(v: &mut ClusterView, root: &str) {
    v.objects.push(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "cacerts", "namespace": ISTIO_SYSTEM},
        "data": {"root-cert.pem": B64.encode(root)}}));
}

fn probe(url: &str, requests: usize) -> Probe {
    let spec = json!({"containers": [{"name": "client", "env": [
        {"name": "PROBE_URL", "value": url}, {"name": "PROBE_REQUESTS", "value": requests.to_string()}]}]});
    probe_of(&spec, "default").expect("probe")
}

fn lines(url: &str, requests: usize, source: usize, world: &[ClusterView]) -> Vec<String> {
    log(&probe(url, requests), source, world)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Two clusters on different networks, both serving globally, sharing a root.
fn pair() -> Vec<ClusterView> {
    let mut a = serving("a", 1000, "net-a", true, "root-1");
    let mut b = serving("b", 2000, "net-b", true, "root-1");
    eastwest(&mut a, "203.0.113.10");
    eastwest(&mut b, "203.0.113.11");
    vec![a, b]
}

#[test]
fn local_only_answers_itself() {
    let mut world = pair();
    set_distribution(&mut world[0], "Any");
    assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
}

#[test]
fn the_log_ends_every_line() {
    let world = pair();
    assert_eq!(log(&probe(GLOBAL_URL, 2), 0, &world), "answer-a\nanswer-a\n");
    assert_eq!(log(&probe(GLOBAL_URL, 0), 0, &world), "");
}

#[test]
fn peering_links_and_any_spreads_round_robin() {
    let mut world = pair();
    peer(&mut world[0], "203.0.113.11");
    set_distribution(&mut world[0], "Any");
    assert_eq!(
        lines(GLOBAL_URL, 4, 0, &world),
        vec!["answer-a", "answer-b", "answer-a", "answer-b"]
    );
    // Links are one-way: b has no peer of a.
    set_distribution(&mut world[1], "Any");
    assert_eq!(lines(GLOBAL_URL, 2, 1, &world), vec!["answer-b"; 2]);
}

#[test]
fn candidates_follow_sandbox_order_from_any_source() {
    let mut world = pair();
    world.push(serving("c", 3000, "net-c", true, "root-1"));
    peer(&mut world[2], "203.0.113.10");
    peer(&mut world[2], "203.0.113.11");
    set_distribution(&mut world[2], "Any");
    assert_eq!(
        lines(GLOBAL_URL, 4, 2, &world),
        vec!["answer-a", "answer-b", "answer-c", "answer-a"]
    );
}

#[test]
fn stale_peer_address_is_not_reached() {
    let mut world = pair();
    peer(&mut world[0], "203.0.113.99");
    set_distribution(&mut world[0], "Any");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
}

#[test]
fn eastwest_service_ingress_counts_as_an_address() {
    let mut world = pair();
    world[1].objects.retain(|o| o["kind"] != "Gateway");
    world[1]
        .objects
        .push(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": EASTWEST_SERVICE, "namespace": ISTIO_SYSTEM},
        "spec": {"type": "LoadBalancer"},
        "status": {"loadBalancer": {"ingress": [{"hostname": "ew.b.example"}]}}}));
    peer(&mut world[0], "ew.b.example");
    set_distribution(&mut world[0], "Any");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
}

#[test]
fn remote_secret_links_within_a_network() {
    let mut a = serving("a", 1000, "net-1", false, "root-1");
    let b = serving("b", 2000, "net-1", false, "root-1");
    remote_secret(&mut a, "https://127.0.0.1:2000");
    let world = vec![a, b];
    // Cluster-local hosts default to Any: namesakes are merged mesh-wide.
    assert_eq!(lines(LOCAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
    assert_eq!(
        lines("http://echo.probe/", 2, 0, &world),
        vec!["answer-a", "answer-b"]
    );
}

/// `a` on `net_a`, serving nothing, holding a remote secret for `server`; `b` on `net_b`
/// serving `echo` (not globally); one root.
fn remote_secret_pair(net_a: &str, net_b: &str, server: &str) -> Vec<ClusterView> {
    let mut a = cluster("a", 1000, net_a);
    cacerts(&mut a, "r");
    remote_secret(&mut a, server);
    vec![a, serving("b", 2000, net_b, false, "r")]
}

#[test]
fn remote_secret_server_must_match_exactly() {
    let world = remote_secret_pair("net-1", "net-1", "https://127.0.0.1:20001");
    assert_eq!(
        lines(LOCAL_URL, 1, 0, &world),
        vec!["error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local"]
    );
}

#[test]
fn remote_secret_across_networks_needs_an_eastwest_address() {
    let mut world = remote_secret_pair("net-a", "net-b", "https://127.0.0.1:2000/");
    let unresolved = "error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local";
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec![unresolved]);
    eastwest(&mut world[1], "203.0.113.11");
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["answer-b"]);
}

#[test]
fn different_or_missing_roots_reset_remote_requests() {
    let mut world = pair();
    peer(&mut world[0], "203.0.113.11");
    set_distribution(&mut world[0], "Any");
    world[1].objects.retain(|o| meta::name_of(o) != "cacerts");
    cacerts(&mut world[1], "root-2");
    assert_eq!(
        lines(GLOBAL_URL, 4, 0, &world),
        vec!["answer-a", RESET, "answer-a", RESET]
    );
    world[1].objects.retain(|o| meta::name_of(o) != "cacerts");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", RESET]);
    // The caller's own endpoints never need a shared root.
    world[0].objects.retain(|o| meta::name_of(o) != "cacerts");
    assert_eq!(lines(GLOBAL_URL, 1, 0, &world), vec!["answer-a"]);
}

#[test]
fn prefer_network_keeps_traffic_local() {
    let mut world = pair();
    peer(&mut world[0], "203.0.113.11");
    // The default for the global host.
    assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
    set_distribution(&mut world[0], "PreferNetwork");
    assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
    // Nothing in the network serves: other networks do.
    world[0].objects.retain(|o| o["kind"] != "Deployment");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b"; 2]);
}

#[test]
fn prefer_close_keeps_the_own_cluster_first() {
    let mut a = serving("a", 1000, "n1", true, "r");
    let mut b = serving("b", 2000, "n1", true, "r");
    let mut c = serving("c", 3000, "n2", true, "r");
    eastwest(&mut b, "10.0.0.2");
    eastwest(&mut c, "10.0.0.3");
    peer(&mut a, "10.0.0.2");
    peer(&mut a, "10.0.0.3");
    set_distribution(&mut a, "PreferClose");
    let mut world = vec![a, b, c];
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    // Not serving itself: the same network next.
    world[0].objects.retain(|o| o["kind"] != "Deployment");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b"; 2]);
    set_distribution(&mut world[0], "PreferRegion");
    world[1].objects.retain(|o| o["kind"] != "Deployment");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-c"; 2]);
}

#[test]
fn distribution_comes_from_a_serving_cluster_without_an_own_service() {
    let mut world = pair();
    let mut c = serving("c", 3000, "net-a", true, "root-1");
    eastwest(&mut c, "203.0.113.12");
    world.push(c);
    world[0]
        .objects
        .retain(|o| o["kind"] != "Service" && o["kind"] != "Deployment");
    peer(&mut world[0], "203.0.113.11");
    peer(&mut world[0], "203.0.113.12");
    // The default (PreferNetwork) keeps to c, a's network.
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-c"; 2]);
    set_distribution(&mut world[1], "Any");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b", "answer-c"]);
}

#[test]
fn global_host_needs_a_global_service() {
    let mut world = pair();
    peer(&mut world[0], "203.0.113.11");
    set_distribution(&mut world[0], "Any");
    let b_svc = world[1]
        .objects
        .iter_mut()
        .find(|o| o["kind"] == "Service")
        .expect("svc");
    b_svc["metadata"]["labels"] = json!({});
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    // The cluster-local host ignores the label.
    assert_eq!(lines(LOCAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
    let b_svc = world[1]
        .objects
        .iter_mut()
        .find(|o| o["kind"] == "Service")
        .expect("svc");
    // Upstream ambient's label makes no mesh.internal host: upstream has no global domain.
    b_svc["metadata"]["labels"] = json!({"istio.io/global": "true"});
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    b_svc_scope(&mut world[1], "global");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
    b_svc_scope(&mut world[1], "global-only");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
    b_svc_scope(&mut world[1], "cluster");
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
}

fn b_svc_scope(v: &mut ClusterView, scope: &str) {
    set_labels(v, json!({"solo.io/service-scope": scope}));
}

fn set_labels(v: &mut ClusterView, labels: Value) {
    if let Some(s) = v.objects.iter_mut().find(|o| o["kind"] == "Service") {
        s["metadata"]["labels"] = labels;
    }
}

/// Namespace `probe` of `v` in `mode` (`istio.io/dataplane-mode`, or sidecar injection).
fn probe_namespace(v: &mut ClusterView, ambient: bool) {
    let labels = if ambient {
        json!({"istio.io/dataplane-mode": "ambient"})
    } else {
        json!({"istio-injection": "enabled"})
    };
    v.objects.push(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": NS, "labels": labels}}));
}

/// Like [`lines`], called from namespace `probe`.
fn lines_from_probe_ns(url: &str, requests: usize, source: usize, world: &[ClusterView]) -> Vec<String> {
    let spec = json!({"containers": [{"name": "client", "env": [
        {"name": "PROBE_URL", "value": url}, {"name": "PROBE_REQUESTS", "value": requests.to_string()}]}]});
    let probe = probe_of(&spec, NS).expect("probe");
    log(&probe, source, world).lines().map(str::to_string).collect()
}

/// Two clusters on one network, linked both ways by remote secrets, sharing a root,
/// each serving `echo` labelled `istio.io/global: "true"` from an ambient namespace.
fn upstream_ambient_pair() -> Vec<ClusterView> {
    let mut a = serving("a", 1000, "net-1", false, "root-1");
    let mut b = serving("b", 2000, "net-1", false, "root-1");
    for v in [&mut a, &mut b] {
        set_labels(v, json!({"istio.io/global": "true"}));
        probe_namespace(v, true);
    }
    remote_secret(&mut a, "https://127.0.0.1:2000");
    remote_secret(&mut b, "https://127.0.0.1:1000");
    vec![a, b]
}

/// Upstream ambient (istio 1.30.3) has no global domain: a Service labelled
/// `istio.io/global` is reached as `<svc>.<ns>.svc.cluster.local`, with the endpoints of
/// every cluster where it is global; `mesh.internal` resolves nowhere.
#[test]
fn upstream_ambient_global_services_keep_their_cluster_local_host() {
    let mut world = upstream_ambient_pair();
    assert_eq!(
        lines_from_probe_ns(LOCAL_URL, 4, 0, &world),
        vec!["answer-a", "answer-b", "answer-a", "answer-b"]
    );
    assert_eq!(
        lines_from_probe_ns("http://echo.probe/", 2, 1, &world),
        vec!["answer-a", "answer-b"]
    );
    let unresolved = "error: curl: (6) Could not resolve host: echo.probe.mesh.internal";
    assert_eq!(lines_from_probe_ns(GLOBAL_URL, 2, 0, &world), vec![unresolved; 2]);
    // b's Service not global: a's ztunnel never learns b's endpoints (services.go:248).
    set_labels(&mut world[1], json!({}));
    assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    // ... and b's own LOCAL Service is not merged with a's global one (multicluster.go:654).
    assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 1, &world), vec!["answer-b"; 2]);
    // Without a Service of its own the caller takes the global one of the others.
    world[1].objects.retain(|o| o["kind"] != "Service");
    assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 1, &world), vec!["answer-a"; 2]);
}

#[test]
fn sidecar_callers_reach_every_namesake() {
    let mut world = upstream_ambient_pair();
    for v in &mut world {
        v.objects
            .retain(|o| o["kind"] != "Namespace" || o["metadata"]["name"] != NS);
        probe_namespace(v, false);
    }
    set_labels(&mut world[1], json!({}));
    assert_eq!(
        lines_from_probe_ns(LOCAL_URL, 2, 0, &world),
        vec!["answer-a", "answer-b"]
    );
}

#[test]
fn no_candidates_is_a_resolve_error() {
    let world = vec![cluster("a", 1000, "n")];
    let want = "error: curl: (6) Could not resolve host: echo.probe.mesh.internal";
    assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec![want; 2]);
    assert_eq!(
        lines("http://example.com.evil.org/", 1, 0, &world),
        vec!["error: curl: (6) Could not resolve host: example.com.evil.org"]
    );
}

#[test]
fn unready_or_unselected_deployments_do_not_serve() {
    let mut world = vec![cluster("a", 1000, "n")];
    world[0].objects.push(service(json!({}), json!({})));
    world[0].objects.push(deployment(json!(["-text=x"]), 0));
    let unresolved = vec!["error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local"];
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), unresolved);
    let mut other = deployment(json!(["-text=x"]), 1);
    other["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
    world[0].objects.push(other);
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), unresolved);
    world[0].objects.push(deployment(json!(["-text=x"]), 2));
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["x"]);
}

#[test]
fn echo_text_forms() {
    let text = |args: Value| echo_text(&deployment(args, 1));
    assert_eq!(
        text(json!(["-text=kubectl-mesh-probe cluster=east-1"])).as_deref(),
        Some("kubectl-mesh-probe cluster=east-1")
    );
    assert_eq!(
        text(json!(["-listen=:8080", "-text", "hi there"])).as_deref(),
        Some("hi there")
    );
    assert_eq!(text(json!(["--text=x"])).as_deref(), Some("x"));
    assert_eq!(text(json!(["-text=two\nlines"])).as_deref(), Some("two lines"));
    assert_eq!(text(json!(["-texts=x", "-listen=:80"])), None);
    assert_eq!(text(json!(["-text"])), None);
    // Without a -text the answer is the cluster's name.
    let mut world = vec![cluster("east-1", 1000, "n")];
    world[0].objects.push(service(json!({}), json!({})));
    world[0].objects.push(deployment(json!(["-listen=:8080"]), 1));
    assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["east-1"]);
}
