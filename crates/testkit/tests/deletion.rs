//! Graceful deletion, finalizers, namespace termination and garbage collection, driven
//! with real kubectl where it can.
//!
//! Follows the API conventions on `metadata.deletionTimestamp` and finalizers
//! (<https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#metadata>),
//! "Finalizers" (<https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/>),
//! "Garbage Collection" (<https://kubernetes.io/docs/concepts/architecture/garbage-collection/>)
//! and "Namespaces" (<https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/>).

mod common;

use std::time::Duration;

use common::kubectl::Kubectl;
use common::{eventually, sandbox, Client, MERGE};
use mesh_testkit::{FakeCluster, Sandbox};
use serde_json::{json, Value};

const CM: &str = "/api/v1/namespaces/default/configmaps";

async fn setup() -> (Sandbox, Kubectl, Client) {
    let sb = sandbox(&["a"]).await;
    let k = Kubectl::new(&sb);
    let c = Client::new(sb.cluster("a"));
    (sb, k, c)
}

fn put(a: &FakeCluster, ns: &str, name: &str, meta: Value) -> Value {
    let mut metadata = json!({"name": name, "namespace": ns});
    if let (Some(m), Some(extra)) = (metadata.as_object_mut(), meta.as_object()) {
        m.extend(extra.clone());
    }
    a.put_object(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}))
        .expect("put")
}

fn uid(o: &Value) -> String {
    o["metadata"]["uid"].as_str().unwrap_or_default().to_string()
}

fn owned_by(owner: &Value, block: bool) -> Value {
    json!({"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                                 "uid": uid(owner), "blockOwnerDeletion": block}]})
}

/// ConfigMaps `owner` and `dep` in `default`: `dep` owned by `owner` (blocking its
/// deletion if `block`), with `finalizers`.
fn owner_and_dependent(a: &FakeCluster, block: bool, finalizers: &[&str]) {
    let owner = put(a, "default", "owner", json!({}));
    let mut meta = owned_by(&owner, block);
    if !finalizers.is_empty() {
        meta["finalizers"] = json!(finalizers);
    }
    put(a, "default", "dep", meta);
}

/// `kubectl apply` of a namespace (`kubectl create namespace` sends protobuf, which the
/// fake server does not decode).
async fn create_namespace(k: &Kubectl, name: &str) {
    let file = k.path(&format!("{name}.yaml"));
    std::fs::write(
        &file,
        format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"),
    )
    .expect("write");
    k.ok(&["apply", "-f", &file.to_string_lossy()]).await;
}

async fn gone(a: &FakeCluster, path: &str) -> bool {
    eventually(Duration::from_secs(5), || a.object(path).is_none().then_some(()))
        .await
        .is_some()
}

/// An object with a finalizer is only marked on delete; it takes no new finalizers then,
/// and goes when the last one is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalizers_hold_an_object_until_removed() {
    let (sb, k, c) = setup().await;
    let a = &sb.cluster("a");
    put(a, "default", "held", json!({"finalizers": ["example.com/hold"]}));
    let out = k.ok(&["delete", "configmap", "held", "--wait=false"]).await;
    assert_eq!(out, "configmap \"held\" deleted\n");
    let obj = a.object(&format!("{CM}/held")).expect("still there");
    assert!(obj["metadata"]["deletionTimestamp"].is_string(), "{obj}");
    assert_eq!(obj["metadata"]["deletionGracePeriodSeconds"], 0);

    let r = c
        .patch(
            &format!("{CM}/held"),
            MERGE,
            r#"{"metadata":{"finalizers":["example.com/hold","example.com/new"]}}"#,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.json()["message"].as_str().unwrap_or_default().contains(
            "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"example.com/new\"}"
        ),
        "{}",
        r.text
    );
    // Other updates still go through, and cannot clear the deletion mark.
    let r = c
        .patch(
            &format!("{CM}/held"),
            MERGE,
            r#"{"data":{"x":"1"},"metadata":{"deletionTimestamp":null}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["metadata"]["deletionTimestamp"].is_string());

    k.ok(&[
        "patch",
        "configmap",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])
    .await;
    assert!(a.object(&format!("{CM}/held")).is_none());
}

/// A namespace being deleted is Terminating, refuses new objects with the
/// NamespaceLifecycle message, and goes once its content is gone; `kubectl delete ns
/// --wait` returns only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_terminate_then_go() {
    let (sb, k, _c) = setup().await;
    let a = &sb.cluster("a");
    create_namespace(&k, "doomed").await;
    let ns: Value = serde_json::from_str(&k.ok(&["get", "ns", "doomed", "-o", "json"]).await).expect("json");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
    put(a, "doomed", "held", json!({"finalizers": ["example.com/hold"]}));
    put(a, "doomed", "free", json!({}));
    k.ok(&["delete", "namespace", "doomed", "--wait=false"]).await;
    let phase = k
        .ok(&["get", "ns", "doomed", "-o", "jsonpath={.status.phase}"])
        .await;
    assert_eq!(phase, "Terminating");
    assert!(gone(a, "/api/v1/namespaces/doomed/configmaps/free").await);
    let file = k.path("new.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: new, namespace: doomed}\n",
    )
    .expect("write");
    let refused = k.run(&["apply", "-f", &file.to_string_lossy()]).await;
    refused.assert_failed_with("configmaps \"new\" is forbidden: unable to create new content in namespace doomed because it is being terminated");
    // Held by the configmap's finalizer.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(a.object("/api/v1/namespaces/doomed").is_some());
    k.ok(&[
        "patch",
        "configmap",
        "held",
        "-n",
        "doomed",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ])
    .await;
    let waited = k
        .ok(&["delete", "namespace", "doomed", "--ignore-not-found", "--wait"])
        .await;
    assert!(waited.is_empty() || waited.contains("deleted"), "{waited}");
    assert!(a.object("/api/v1/namespaces/doomed").is_none());
}

/// `kubectl delete ns` (waiting by default) returns once the namespace is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_namespace_waits_until_gone() {
    let (sb, k, _c) = setup().await;
    let a = &sb.cluster("a");
    create_namespace(&k, "brief").await;
    put(a, "brief", "x", json!({}));
    assert_eq!(
        k.ok(&["delete", "namespace", "brief"]).await,
        "namespace \"brief\" deleted\n"
    );
    assert!(a.object("/api/v1/namespaces/brief").is_none());
    assert!(a.objects("/api/v1/namespaces/brief/configmaps").is_empty());
}

/// Background (kubectl's default): the owner goes at once, the garbage collector then
/// deletes its dependents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_collects_dependents() {
    let (sb, k, _c) = setup().await;
    let a = &sb.cluster("a");
    owner_and_dependent(a, false, &[]);
    k.ok(&["delete", "configmap", "owner"]).await;
    assert!(a.object(&format!("{CM}/owner")).is_none());
    assert!(gone(a, &format!("{CM}/dep")).await);
}

/// Orphan: the dependents stay, without the owner's reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_deletion_keeps_dependents() {
    let (sb, k, _c) = setup().await;
    let a = &sb.cluster("a");
    owner_and_dependent(a, true, &[]);
    k.ok(&["delete", "configmap", "owner", "--cascade=orphan"]).await;
    assert!(gone(a, &format!("{CM}/owner")).await);
    let dep = a.object(&format!("{CM}/dep")).expect("dependent kept");
    assert!(dep["metadata"].get("ownerReferences").is_none(), "{dep}");
}

/// Foreground: the owner keeps `foregroundDeletion` until its blocking dependents are
/// gone (here one held by a finalizer), then goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let (sb, k, c) = setup().await;
    let a = &sb.cluster("a");
    owner_and_dependent(a, true, &["example.com/hold"]);
    k.ok(&[
        "delete",
        "configmap",
        "owner",
        "--cascade=foreground",
        "--wait=false",
    ])
    .await;
    let dep = eventually(Duration::from_secs(5), || {
        a.object(&format!("{CM}/dep"))
            .filter(|d| d["metadata"]["deletionTimestamp"].is_string())
    })
    .await;
    assert!(dep.is_some(), "the dependent is being deleted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let o = a.object(&format!("{CM}/owner")).expect("owner waits");
    assert_eq!(o["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    let r = c
        .patch(&format!("{CM}/dep"), MERGE, r#"{"metadata":{"finalizers":null}}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(gone(a, &format!("{CM}/owner")).await);
}

/// A batch/v1 Job deleted without a policy orphans its pods, with the Job registry's
/// warning; kubectl (Background) has them collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_and_their_pods() {
    let (sb, k, c) = setup().await;
    let a = &sb.cluster("a");
    let job = |name: &str| {
        json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
               "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}})
    };
    let pods_of = |name: &str| {
        a.objects("/api/v1/namespaces/default/pods")
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["job-name"] == name)
            .collect::<Vec<_>>()
    };
    for name in ["kept", "collected"] {
        assert_eq!(
            c.post("/apis/batch/v1/namespaces/default/jobs", &job(name))
                .await
                .status,
            201
        );
        let pod = eventually(Duration::from_secs(5), || pods_of(name).into_iter().next()).await;
        assert!(pod.is_some(), "{name} pod");
    }
    let r = c.delete("/apis/batch/v1/namespaces/default/jobs/kept").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let warning = r
        .headers
        .get("warning")
        .and_then(|w| w.to_str().ok())
        .unwrap_or_default();
    assert!(
        warning.contains("child pods are preserved by default when jobs are deleted"),
        "{warning}"
    );
    assert!(gone(a, "/apis/batch/v1/namespaces/default/jobs/kept").await);
    let orphans = eventually(Duration::from_secs(5), || {
        pods_of("kept")
            .into_iter()
            .find(|p| p["metadata"].get("ownerReferences").is_none())
    })
    .await;
    assert!(orphans.is_some(), "pod orphaned");

    k.ok(&["delete", "job", "collected"]).await;
    let collected = eventually(Duration::from_secs(5), || {
        pods_of("collected").is_empty().then_some(())
    })
    .await;
    assert!(collected.is_some(), "pod collected");
}
