//! CRUD, errors, selectors, status subresource, tokens, tables and watch.

mod common;

use common::{
    cluster_admin_binding, no_addresses, no_gateway_api, one_cluster, sandbox, sandbox_with, Client,
    JSON_PATCH, MERGE,
};
use mesh_testkit::ClusterSpec;
use serde_json::{json, Value};

fn cm(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_without_or_with_wrong_token() {
    let (_sb, c) = one_cluster().await;
    for client in [c.with_token(""), c.with_token("nope")] {
        let r = client.get("/api/v1/namespaces").await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.json(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
        );
    }
    assert_eq!(c.get("/api/v1/namespaces").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_namespaces_and_stable_kube_system_uid() {
    let (sb, c) = one_cluster().await;
    let names: Vec<String> = c.get("/api/v1/namespaces").await.json()["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    for want in ["default", "kube-system", "kube-public"] {
        assert!(names.contains(&want.to_string()), "{names:?}");
    }
    let uid = sb
        .cluster("a")
        .object("/api/v1/namespaces/kube-system")
        .expect("ks")["metadata"]["uid"]
        .clone();
    let sb2 = sandbox(&["a"]).await;
    assert_eq!(
        sb2.cluster("a")
            .object("/api/v1/namespaces/kube-system")
            .expect("ks")["metadata"]["uid"],
        uid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_messages() {
    let (_sb, c) = one_cluster().await;
    let r = c
        .get("/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/x")
        .await;
    assert_eq!(r.status, 404);
    let s = r.json();
    assert_eq!(s["message"], "gateways.gateway.networking.k8s.io \"x\" not found");
    assert_eq!(
        s["details"],
        json!({"name": "x", "group": "gateway.networking.k8s.io", "kind": "gateways"})
    );
    let r = c
        .post(
            "/api/v1/namespaces/istio-gateways/configmaps",
            &cm("x", json!({})),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"istio-gateways\" not found");
    let r = c.get("/apis/nope.example.com/v1/things").await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_conflicts_and_invalid_names() {
    let (_sb, c) = one_cluster().await;
    let path = "/api/v1/namespaces/default/configmaps";
    assert_eq!(c.post(path, &cm("x", json!({}))).await.status, 201);
    let r = c.post(path, &cm("x", json!({}))).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "AlreadyExists");
    assert_eq!(r.json()["message"], "configmaps \"x\" already exists");
    let r = c
        .post("/api/v1/namespaces", &json!({"metadata": {"name": "Bad_Name"}}))
        .await;
    assert_eq!(r.status, 422);
    let s = r.json();
    assert_eq!(s["reason"], "Invalid");
    assert!(s["message"].as_str().unwrap_or("").starts_with("Namespace \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 label"), "{s}");
    assert_eq!(s["details"]["causes"][0]["field"], "metadata.name");
    assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueInvalid");
    // a.b is a fine subdomain (ConfigMap) but not a label (Namespace).
    assert_eq!(c.post(path, &cm("a.b", json!({}))).await.status, 201);
    assert_eq!(
        c.post("/api/v1/namespaces", &json!({"metadata": {"name": "a.b"}}))
            .await
            .status,
        422
    );
    let r = c
        .post(path, &json!({"metadata": {"generateName": "gen-"}, "data": {}}))
        .await;
    assert_eq!(r.status, 201);
    assert!(r.json()["metadata"]["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("gen-") && n.len() == 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_checks_resource_version_and_patches_work() {
    let (_sb, c) = one_cluster().await;
    let path = "/api/v1/namespaces/default/configmaps/x";
    let created = c
        .post(
            "/api/v1/namespaces/default/configmaps",
            &cm("x", json!({"a": "1"})),
        )
        .await
        .json();
    let mut stale = created.clone();
    stale["data"]["k"] = json!("v2");
    let r = c.put(path, &stale).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c.put(path, &stale).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    assert_eq!(r.json()["message"], "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again");
    let r = c
        .patch(path, MERGE, r#"{"metadata":{"labels":{"b":"2","a":null}}}"#)
        .await;
    assert_eq!(r.json()["metadata"]["labels"], json!({"b": "2"}));
    let r = c
        .patch(
            path,
            "application/strategic-merge-patch+json",
            r#"{"data":{"n":"1"}}"#,
        )
        .await;
    assert_eq!(r.json()["data"], json!({"k": "v2", "n": "1"}));
    let r = c.patch(path, JSON_PATCH, r#"[{"op":"replace","path":"/data/k","value":"v3"},{"op":"remove","path":"/data/n"},{"op":"add","path":"/metadata/labels/c","value":"3"}]"#).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"], json!({"k": "v3"}));
    assert_eq!(r.json()["metadata"]["labels"]["c"], "3");
    // A no-op patch does not bump the resourceVersion.
    let rv = r.rv();
    assert_eq!(c.patch(path, MERGE, r#"{"data":{"k":"v3"}}"#).await.rv(), rv);
    let missing = "/api/v1/namespaces/default/configmaps/none";
    assert_eq!(c.patch(missing, MERGE, "{}").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_and_field_selectors() {
    let (_sb, c) = one_cluster().await;
    let path = "/api/v1/namespaces/default/configmaps";
    c.post(path, &cm("one", json!({"app": "x", "tier": "web"}))).await;
    c.post(path, &cm("two", json!({"app": "y"}))).await;
    c.post(path, &cm("three", json!({}))).await;
    let names = |r: common::Resp| -> Vec<String> {
        let mut v: Vec<String> = r.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap_or("").into())
            .collect();
        v.sort();
        v
    };
    for (sel, want) in [
        ("app=x", vec!["one"]),
        ("app==y", vec!["two"]),
        ("app!=x", vec!["three", "two"]),
        ("app", vec!["one", "two"]),
        ("!app", vec!["three"]),
        ("app+in+(x,y)", vec!["one", "two"]),
        ("app+notin+(x)", vec!["three", "two"]),
        ("app=x,tier", vec!["one"]),
    ] {
        let r = c
            .get(&format!(
                "{path}?labelSelector={}",
                sel.replace('=', "%3D").replace('!', "%21")
            ))
            .await;
        assert_eq!(names(r), want, "{sel}");
    }
    let r = c.get(&format!("{path}?labelSelector=app+in+x")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "BadRequest");
    let r = c
        .get("/api/v1/configmaps?fieldSelector=metadata.name%3Dtwo")
        .await;
    assert_eq!(names(r), vec!["two"]);
    let r = c
        .get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dkube-system")
        .await;
    assert!(names(r).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_subresource_and_generation() {
    let sb = sandbox_with(vec![("a", no_addresses())]).await;
    let c = Client::new(sb.cluster("a"));
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let d = json!({"metadata": {"name": "d"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        "status": {"readyReplicas": 9}});
    let r = c.post(path, &d).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json().get("status").is_none());
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let item = format!("{path}/d");
    let r = c
        .patch(
            &item,
            MERGE,
            r#"{"spec":{"replicas":3},"status":{"readyReplicas":7}}"#,
        )
        .await;
    assert_eq!(r.json()["metadata"]["generation"], 2);
    assert_ne!(r.json()["status"]["readyReplicas"], 7);
    // Labels do not bump generation.
    let r = c
        .patch(&item, MERGE, r#"{"metadata":{"labels":{"x":"y"}}}"#)
        .await;
    assert_eq!(r.json()["metadata"]["generation"], 2);
    // Services: writes to /status change only status.
    c.post(
        "/api/v1/namespaces/default/services",
        &json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}),
    )
    .await;
    let s = "/api/v1/namespaces/default/services/s/status";
    let r = c
        .patch(
            s,
            MERGE,
            r#"{"spec":{"type":"NodePort"},"status":{"loadBalancer":{"ingress":[{"ip":"1.1.1.1"}]}}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["spec"]["type"], "ClusterIP");
    assert_eq!(r.json()["status"]["loadBalancer"]["ingress"][0]["ip"], "1.1.1.1");
    assert_eq!(
        c.get(s).await.json()["status"]["loadBalancer"]["ingress"][0]["ip"],
        "1.1.1.1"
    );
    let mut whole = c.get(s).await.json();
    whole["status"] = json!({"loadBalancer": {}});
    assert_eq!(
        c.put(s, &whole).await.json()["status"],
        json!({"loadBalancer": {}})
    );
    let no_status = "/api/v1/namespaces/default/configmaps/x/status";
    assert_eq!(c.get(no_status).await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_does_not_persist() {
    let (sb, c) = one_cluster().await;
    let before = sb.cluster("a").resource_version();
    let r = c
        .post(
            "/api/v1/namespaces/default/configmaps?dryRun=All",
            &cm("x", json!({})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["metadata"]["name"], "x");
    assert!(sb
        .cluster("a")
        .object("/api/v1/namespaces/default/configmaps/x")
        .is_none());
    let doc = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"}}"#;
    assert_eq!(
        c.apply("/api/v1/namespaces/n?dryRun=All", "m", false, doc)
            .await
            .status,
        201
    );
    assert!(sb.cluster("a").object("/api/v1/namespaces/n").is_none());
    assert_eq!(sb.cluster("a").resource_version(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_delete_removes_contents() {
    let (sb, c) = one_cluster().await;
    c.post("/api/v1/namespaces", &json!({"metadata": {"name": "n"}}))
        .await;
    c.post(
        "/api/v1/namespaces/n/secrets",
        &json!({"metadata": {"name": "s"}}),
    )
    .await;
    let r = c.delete("/api/v1/namespaces/n").await;
    assert_eq!(r.status, 200);
    // Terminating first; the namespace controller empties it, then it goes.
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    let gone = common::eventually(std::time::Duration::from_secs(5), || {
        sb.cluster("a")
            .object("/api/v1/namespaces/n")
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some());
    assert!(sb.cluster("a").objects("/api/v1/namespaces/n/secrets").is_empty());
    assert_eq!(c.delete("/api/v1/namespaces/n").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_token_authenticates() {
    let (_sb, c) = one_cluster().await;
    let tr = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}});
    let r = c
        .post("/api/v1/namespaces/default/serviceaccounts/reader/token", &tr)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "serviceaccounts \"reader\" not found");
    c.post(
        "/api/v1/namespaces/default/serviceaccounts",
        &json!({"metadata": {"name": "reader"}}),
    )
    .await;
    let r = c
        .post("/api/v1/namespaces/default/serviceaccounts/reader/token", &tr)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.json()["status"]["token"].as_str().expect("token").to_string();
    // Authenticated as the account (403 from RBAC, not 401) until a binding grants it.
    let r = c.with_token(&token).get("/api/v1/namespaces").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.text.contains("system:serviceaccount:default:reader"),
        "{}",
        r.text
    );
    let reader = json!({"kind": "ServiceAccount", "name": "reader", "namespace": "default"});
    let binding = cluster_admin_binding("reader", reader);
    c.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", &binding)
        .await;
    assert_eq!(c.with_token(&token).get("/api/v1/namespaces").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_output() {
    let (_sb, mut c) = one_cluster().await;
    c.accept = Some("application/json;as=Table;v=v1;g=meta.k8s.io,application/json".into());
    let t = c.get("/api/v1/namespaces").await.json();
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["columnDefinitions"][0]["name"], "Name");
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(
        t["rows"][0]["cells"][0],
        t["rows"][0]["object"]["metadata"]["name"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_missing_gateway_api() {
    let sb = sandbox_with(vec![("a", ClusterSpec::default()), ("b", no_gateway_api())]).await;
    let groups = |c: &Client| {
        let c = c.clone();
        async move {
            c.get("/apis").await.json()["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| g["name"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        }
    };
    let (a, b) = (Client::new(sb.cluster("a")), Client::new(sb.cluster("b")));
    assert!(groups(&a)
        .await
        .contains(&"gateway.networking.k8s.io".to_string()));
    assert!(!groups(&b)
        .await
        .contains(&"gateway.networking.k8s.io".to_string()));
    assert_eq!(b.get("/apis/gateway.networking.k8s.io/v1").await.status, 404);
    assert_eq!(
        b.get("/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways")
            .await
            .status,
        404
    );
    let core = a.get("/api/v1").await.json();
    let names: Vec<&str> = core["resources"]
        .as_array()
        .expect("r")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(names.contains(&"serviceaccounts/token") && names.contains(&"services/status"));
    assert_eq!(a.get("/version").await.json()["gitVersion"], "v1.32.0");
    let root = a.get("/openapi/v3").await.json();
    let url = root["paths"]["apis/gateway.networking.k8s.io/v1"]["serverRelativeURL"]
        .as_str()
        .expect("url")
        .to_string();
    let doc = a.get(&url).await.json();
    let p =
        &doc["paths"]["/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways/{name}"]["patch"];
    assert_eq!(p["x-kubernetes-group-version-kind"]["kind"], "Gateway");
    assert!(p["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .any(|x| x["name"] == "fieldValidation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_changes() {
    let (sb, c) = one_cluster().await;
    // The test client reads whole bodies, so use a short watch and collect it.
    let watcher = {
        let c = c.clone();
        tokio::spawn(async move {
            c.get("/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1")
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    c.post("/api/v1/namespaces/default/configmaps", &cm("w", json!({})))
        .await;
    c.delete("/api/v1/namespaces/default/configmaps/w").await;
    let r = watcher.await.expect("join");
    let events: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, vec!["ADDED", "DELETED"], "{}", r.text);
    drop(sb);
}
