//! Fault injection, RBAC denials, down clusters, latency, counts and the request log.

mod common;

use std::time::{Duration, Instant};

use common::{sandbox, Client, MERGE};
use mesh_testkit::{Fault, RequestCounts, Sandbox, Verb};
use serde_json::json;

async fn two_clusters() -> (Sandbox, Client) {
    let sb = sandbox(&["a", "b"]).await;
    let c = Client::new(sb.cluster("a"));
    (sb, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_n_times_with_retry_after() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    a.inject(
        Fault::status(429)
            .retry_after(3)
            .times(2)
            .method("patch")
            .path_contains("configmaps"),
    );
    c.post(
        "/api/v1/namespaces/default/configmaps",
        &json!({"metadata": {"name": "x"}}),
    )
    .await;
    let path = "/api/v1/namespaces/default/configmaps/x";
    for _ in 0..2 {
        let r = c.patch(path, MERGE, "{}").await;
        assert_eq!(r.status, 429);
        assert_eq!(
            r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
            Some("3")
        );
        assert_eq!(r.text, "Too many requests, please try again later.\n");
    }
    assert_eq!(c.patch(path, MERGE, "{}").await.status, 200);
    assert_eq!(c.get(path).await.status, 200, "other methods are not affected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_forever_until_cleared() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    for code in [500u16, 502, 503, 504] {
        a.inject(Fault::status(code));
        for _ in 0..3 {
            assert_eq!(c.get("/api/v1/namespaces").await.status, code);
        }
        a.clear_faults();
    }
    let r = {
        a.inject(Fault::status(503).times(1));
        c.get("/api/v1/namespaces").await
    };
    assert_eq!(r.json()["reason"], "ServiceUnavailable");
    assert_eq!(c.get("/api/v1/namespaces").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_delay_faults() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    a.inject(Fault::reset().times(1));
    assert!(c.try_send("GET", "/api/v1/namespaces", None, "").await.is_err());
    assert_eq!(c.get("/api/v1/namespaces").await.status, 200);
    a.inject(
        Fault::delay(Duration::from_millis(300))
            .times(1)
            .path_contains("kube-system"),
    );
    let t = Instant::now();
    assert_eq!(c.get("/api/v1/namespaces/kube-system").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    a.set_latency(Duration::from_millis(200));
    let t = Instant::now();
    c.get("/api/v1/namespaces").await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    let log = a.request_log();
    assert_eq!(log[0].status, 0, "a reset is logged with status 0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_and_forbidden_fault_use_rbac_messages() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    a.deny("create", "serviceaccounts");
    let r = c
        .post(
            "/api/v1/namespaces/istio-system/serviceaccounts",
            &json!({"metadata": {"name": "x"}}),
        )
        .await;
    assert_eq!(r.status, 403);
    let s = r.json();
    assert_eq!(s["reason"], "Forbidden");
    assert_eq!(
        s["message"],
        "serviceaccounts is forbidden: User \"kubernetes-admin\" cannot create resource \"serviceaccounts\" in API group \"\" in the namespace \"istio-system\""
    );
    assert_eq!(
        c.get("/api/v1/namespaces/default/serviceaccounts").await.status,
        200
    );
    a.clear_denies();
    a.inject(Fault::status(403).times(1));
    let r = c
        .get("/apis/rbac.authorization.k8s.io/v1/clusterroles/reader")
        .await;
    assert_eq!(
        r.json()["message"],
        "clusterroles.rbac.authorization.k8s.io \"reader\" is forbidden: User \"kubernetes-admin\" cannot get resource \"clusterroles\" in API group \"rbac.authorization.k8s.io\" at the cluster scope"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_that_creates_needs_create() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    a.deny("create", "configmaps");
    let path = "/api/v1/namespaces/default/configmaps/cm";
    let doc = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"k": "v"}}"#;
    let r = c.apply(path, "tester", false, doc).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(
        r.json()["message"],
        "configmaps \"cm\" is forbidden: User \"kubernetes-admin\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    assert!(a.object(path).is_none());
    // Applying to an existing object is a patch only.
    a.put_object(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}),
    )
    .expect("put");
    assert_eq!(c.apply(path, "tester", false, doc).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_cluster_refuses_then_recovers_others_unaffected() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    a.set_down(true);
    assert!(c.try_send("GET", "/version", None, "").await.is_err());
    assert_eq!(Client::new(sb.cluster("b")).get("/version").await.status, 200);
    a.set_down(false);
    assert_eq!(c.get("/version").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_by_verb_and_reset() {
    let (sb, c) = two_clusters().await;
    let a = sb.cluster("a");
    c.get("/apis").await;
    c.get("/api/v1/namespaces").await;
    c.get("/api/v1/namespaces/default").await;
    c.post(
        "/api/v1/namespaces/default/configmaps",
        &json!({"metadata": {"name": "x"}}),
    )
    .await;
    c.put(
        "/api/v1/namespaces/default/configmaps/x",
        &json!({"metadata": {"name": "x"}, "data": {"a": "b"}}),
    )
    .await;
    c.patch("/api/v1/namespaces/default/configmaps/x", MERGE, "{}")
        .await;
    c.delete("/api/v1/namespaces/default/configmaps/x").await;
    c.get("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=0")
        .await;
    let want = RequestCounts {
        get: 1,
        list: 1,
        watch: 1,
        create: 1,
        update: 1,
        patch: 1,
        delete: 1,
        other: 1,
    };
    assert_eq!(a.counts(), want);
    assert_eq!(a.counts().writes(), 4);
    assert_eq!(sb.cluster("b").counts().total(), 0);
    let log = a.request_log();
    assert_eq!(log.len(), 8);
    assert_eq!(
        (log[3].method.as_str(), log[3].verb, log[3].status),
        ("POST", Verb::Create, 201)
    );
    assert_eq!(
        log[7].path,
        "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=0"
    );
    a.reset_counts();
    assert_eq!(a.counts(), RequestCounts::default());
    assert!(a.request_log().is_empty());
    // Direct access through the Rust API is not counted.
    a.put_object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}))
        .expect("put");
    assert!(a.object("/api/v1/namespaces/default/configmaps/y").is_some());
    assert_eq!(a.counts().total(), 0);
}
