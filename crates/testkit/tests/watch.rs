//! Watch and list consistency: 410 `Expired`, bookmarks, streaming lists,
//! `resourceVersionMatch`, and pagination (`limit` / `continue`, with kubectl's
//! `--chunk-size`).
//!
//! Follows the API concepts: "Efficient detection of changes", "Watch bookmarks",
//! "Streaming lists", "Semantics for get and list" and "Retrieving large results sets in
//! chunks" (<https://kubernetes.io/docs/reference/using-api/api-concepts/>).

mod common;

use std::time::Duration;

use common::kubectl::Kubectl;
use common::{one_cluster, Client};
use mesh_testkit::FakeCluster;
use serde_json::{json, Value};

const NS_CM: &str = "/api/v1/namespaces/default/configmaps";

async fn create(c: &Client, name: &str) -> String {
    let r = c.post(NS_CM, &json!({"metadata": {"name": name}})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.rv()
}

/// The events of a short watch (the test client reads whole bodies).
async fn events(c: &Client, query: &str) -> Vec<Value> {
    let r = c
        .get(&format!("{NS_CM}?watch=true&timeoutSeconds=1&{query}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect()
}

fn types(evs: &[Value]) -> Vec<&str> {
    evs.iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_version_older_than_the_history_is_expired() {
    let (sb, c) = one_cluster().await;
    sb.cluster("a").set_watch_history(3);
    let first = create(&c, "c0").await;
    for i in 1..6 {
        create(&c, &format!("c{i}")).await;
    }
    let evs = events(&c, &format!("resourceVersion={first}")).await;
    assert_eq!(types(&evs), ["ERROR"]);
    let status = &evs[0]["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("too old resource version: {first} (")),
        "{status}"
    );
    // Within the history: the changes after it are replayed.
    let recent = create(&c, "c6").await;
    create(&c, "c7").await;
    let evs = events(&c, &format!("resourceVersion={recent}")).await;
    assert_eq!(types(&evs), ["ADDED"]);
    assert_eq!(evs[0]["object"]["metadata"]["name"], "c7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookmarks_only_when_allowed() {
    let (sb, c) = one_cluster().await;
    sb.cluster("a").set_bookmark_interval(Duration::from_millis(200));
    let rv = create(&c, "x").await;
    let evs = events(&c, &format!("resourceVersion={rv}&allowWatchBookmarks=true")).await;
    assert!(
        evs.len() >= 2 && types(&evs).iter().all(|t| *t == "BOOKMARK"),
        "{evs:?}"
    );
    let obj = &evs[0]["object"];
    assert_eq!(obj["kind"], "ConfigMap");
    assert_eq!(obj["apiVersion"], "v1");
    assert!(obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .parse::<u64>()
        .is_ok());
    assert!(events(&c, &format!("resourceVersion={rv}")).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_lists_end_initial_events_with_a_bookmark() {
    let (_sb, c) = one_cluster().await;
    create(&c, "a").await;
    let rv = create(&c, "b").await;
    let evs = events(
        &c,
        "sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=",
    )
    .await;
    assert_eq!(types(&evs)[..3], ["ADDED", "ADDED", "BOOKMARK"]);
    let end = &evs[2]["object"]["metadata"];
    assert_eq!(end["annotations"], json!({"k8s.io/initial-events-end": "true"}));
    assert_eq!(end["resourceVersion"], rv);
    let r = c.get(&format!("{NS_CM}?watch=true&sendInitialEvents=true")).await;
    r.assert_refused(
        422,
        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
    );
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_a_consistent_snapshot() {
    let (_sb, c) = one_cluster().await;
    for n in ["a", "b", "c", "d", "e"] {
        create(&c, n).await;
    }
    let first = c.get(&format!("{NS_CM}?limit=2")).await.json();
    assert_eq!(names(&first), ["a", "b"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    // Changes after the first page do not show in the next ones.
    create(&c, "f").await;
    assert_eq!(c.delete(&format!("{NS_CM}/c")).await.status, 200);
    let second = c.get(&format!("{NS_CM}?limit=2&continue={token}")).await.json();
    assert_eq!(names(&second), ["c", "d"]);
    assert_eq!(
        second["metadata"]["resourceVersion"],
        first["metadata"]["resourceVersion"]
    );
    let token = second["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    let last = c.get(&format!("{NS_CM}?limit=2&continue={token}")).await.json();
    assert_eq!(names(&last), ["e"]);
    assert!(last["metadata"].get("continue").is_none());
    let bad = c.get(&format!("{NS_CM}?limit=2&continue=garbage")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_continue_token_is_410() {
    let (sb, c) = one_cluster().await;
    for n in ["a", "b", "c"] {
        create(&c, n).await;
    }
    let first = c.get(&format!("{NS_CM}?limit=1")).await.json();
    let token = first["metadata"]["continue"]
        .as_str()
        .expect("continue")
        .to_string();
    sb.cluster("a").set_watch_history(1);
    create(&c, "d").await;
    create(&c, "e").await;
    let r = c.get(&format!("{NS_CM}?limit=1&continue={token}")).await;
    assert_eq!(r.status, 410, "{}", r.text);
    assert_eq!(r.json()["reason"], "Expired");
    assert!(r.json()["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("The provided continue parameter is too old to display a consistent list result."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_version_match() {
    let (_sb, c) = one_cluster().await;
    let rv = create(&c, "old").await;
    create(&c, "new").await;
    let exact = c
        .get(&format!(
            "{NS_CM}?resourceVersion={rv}&resourceVersionMatch=Exact"
        ))
        .await
        .json();
    assert_eq!(names(&exact), ["old"]);
    assert_eq!(exact["metadata"]["resourceVersion"], rv);
    let newer = c
        .get(&format!(
            "{NS_CM}?resourceVersion={rv}&resourceVersionMatch=NotOlderThan"
        ))
        .await
        .json();
    assert_eq!(names(&newer), ["new", "old"]);
    let future = c
        .get(&format!(
            "{NS_CM}?resourceVersion=99999999&resourceVersionMatch=NotOlderThan"
        ))
        .await;
    assert_eq!(future.status, 504, "{}", future.text);
    assert_eq!(
        future.json()["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
    let r = c.get(&format!("{NS_CM}?resourceVersionMatch=Exact")).await;
    r.assert_refused(422, "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided");
}

fn list_requests(a: &FakeCluster) -> Vec<String> {
    a.request_log()
        .into_iter()
        .map(|r| format!("{r:?}"))
        .filter(|r| r.contains("limit="))
        .collect()
}

/// `kubectl get --chunk-size` pages through with `limit` and `continue`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_pages_with_chunk_size() {
    let (sb, c) = one_cluster().await;
    for i in 0..5 {
        create(&c, &format!("cm-{i}")).await;
    }
    let k = Kubectl::new(&sb);
    let out = k
        .ok(&[
            "get",
            "configmaps",
            "-n",
            "default",
            "--chunk-size=2",
            "-o",
            "name",
        ])
        .await;
    let listed: Vec<&str> = out.lines().collect();
    for i in 0..5 {
        assert!(listed.contains(&format!("configmap/cm-{i}").as_str()), "{out}");
    }
    let pages = list_requests(sb.cluster("a"));
    assert!(
        pages.iter().filter(|r| r.contains("continue=")).count() >= 2,
        "{pages:?}"
    );
}
