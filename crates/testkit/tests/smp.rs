//! Strategic merge patch: built-in kinds merge by the patch strategies and merge keys
//! of the vendored OpenAPI, with the `$patch`, `$retainKeys`,
//! `$deleteFromPrimitiveList` and `$setElementOrder` directives and apimachinery's
//! errors (k8s.io/apimachinery/pkg/util/strategicpatch patch.go); custom resources refuse
//! it with 415 `UnsupportedMediaType`, as the apiserver does ("Patch operations",
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply>;
//! <https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch>).

mod common;

use common::kubectl::Kubectl;
use common::{one_cluster, sandbox, Client, Resp};
use mesh_testkit::{FakeCluster, Sandbox};
use serde_json::{json, Value};

const SMP: &str = "application/strategic-merge-patch+json";
const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments/web";

/// A Deployment `web` whose pod template has containers `app` (ports 80 and 9090, env
/// A and B, args) and `side`, a volume, a grace period, and a RollingUpdate strategy.
fn put_web(a: &FakeCluster) {
    a.put_object(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"a": "1", "b": "2"},
                     "finalizers": ["x.io/one", "x.io/two"]},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "metadata": {"labels": {"app": "web", "tier": "front"}},
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {"runAsNonRoot": true},
                    "containers": [
                        {"name": "app", "image": "app:1", "args": ["--a", "--b"],
                         "ports": [{"containerPort": 80}, {"containerPort": 9090}],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                        {"name": "side", "image": "side:1"}
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "imagePullSecrets": []
                }
            }
        }
    }))
    .expect("deployment");
}

/// A sandbox of one cluster `a` holding [`put_web`]'s Deployment, and an admin client.
async fn web_cluster() -> (Sandbox, Client) {
    let (sb, c) = one_cluster().await;
    put_web(sb.cluster("a"));
    (sb, c)
}

/// A strategic merge patch of the Deployment `web`.
async fn smp(c: &Client, patch: Value) -> Resp {
    c.patch(DEPLOY, SMP, &patch.to_string()).await
}

/// A successful one: the patched object.
async fn smp_ok(c: &Client, patch: Value) -> Value {
    let r = smp(c, patch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
}

fn pod_spec(patch: Value) -> Value {
    json!({"spec": {"template": {"spec": patch}}})
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_refuse_strategic_merge_patch() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    a.put_object(
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {"gatewayClassName": "istio", "listeners": [{"name": "l", "port": 80, "protocol": "TCP"}]}}),
    )
    .expect("gateway");
    let k = Kubectl::new(&sb);
    let label = r#"{"metadata":{"labels":{"x":"1"}}}"#;
    let refused = k.run(&["patch", "gateway", "gw", "-p", label]).await;
    refused.assert_failed_with("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml");
    k.ok(&["patch", "gateway", "gw", "--type=merge", "-p", label])
        .await;
    // kubectl label/annotate send merge patches for custom resources.
    k.ok(&["label", "gateway", "gw", "y=2"]).await;
    k.ok(&["annotate", "gateway", "gw", "z=3"]).await;
    let gw = a
        .object("/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw")
        .expect("gw");
    assert_eq!(gw["metadata"]["labels"], json!({"x": "1", "y": "2"}));
    assert_eq!(gw["metadata"]["annotations"]["z"], "3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_and_annotate_built_in_kinds() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    a.put_object(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}),
    )
    .expect("cm");
    let k = Kubectl::new(&sb);
    k.ok(&["label", "configmap", "c", "a=1"]).await;
    k.ok(&["annotate", "configmap", "c", "b=2"]).await;
    k.ok(&["label", "configmap", "c", "a-"]).await;
    let cm = a.object("/api/v1/namespaces/default/configmaps/c").expect("cm");
    assert!(
        cm["metadata"].get("labels").is_none_or(|l| l.get("a").is_none()),
        "{cm}"
    );
    assert_eq!(cm["metadata"]["annotations"]["b"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_merge_by_the_schemas_merge_keys() {
    let (sb, c) = web_cluster().await;
    let a = sb.cluster("a");
    let out = smp_ok(
        &c,
        pod_spec(
            json!({"containers": [{"name": "app", "image": "app:2", "args": ["--c"],
            "ports": [{"containerPort": 8080}, {"containerPort": 80, "name": "http"}],
            "env": [{"name": "B", "value": "9"}, {"name": "C", "value": "3"}]}],
            "volumes": [{"name": "cache", "emptyDir": {}}]}),
        ),
    )
    .await;
    let spec = &out["spec"]["template"]["spec"];
    // Containers by name: `side` is kept, `app` merged field by field.
    assert_eq!(names(&spec["containers"]), ["app", "side"], "{spec}");
    let app = &spec["containers"][0];
    assert_eq!(app["image"], "app:2");
    // Lists without a patch strategy are replaced.
    assert_eq!(app["args"], json!(["--c"]));
    // Ports by containerPort, env by name: patch items in patch order, the server's
    // others before the first patch item the server has after them (new ones first).
    assert_eq!(
        app["ports"],
        json!([{"containerPort": 8080}, {"containerPort": 80, "name": "http"}, {"containerPort": 9090}])
    );
    assert_eq!(
        app["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "9"}, {"name": "C", "value": "3"}])
    );
    assert_eq!(names(&spec["volumes"]), ["cache", "data"]);
    // Finalizers merge as a set.
    let out = smp_ok(
        &c,
        json!({"metadata": {"finalizers": ["x.io/three", "x.io/one"]}}),
    )
    .await;
    assert_eq!(
        out["metadata"]["finalizers"],
        json!(["x.io/three", "x.io/one", "x.io/two"])
    );
    // Service ports by port (not port and protocol, as server-side apply keys them).
    a.put_object(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s", "namespace": "default"},
        "spec": {"ports": [{"port": 80, "name": "http"}]}}))
        .expect("service");
    let r = c
        .patch(
            "/api/v1/namespaces/default/services/s",
            SMP,
            r#"{"spec":{"ports":[{"port":443,"name":"https"},{"port":80,"protocol":"UDP"}]}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["spec"]["ports"],
        json!([{"port": 443, "name": "https"}, {"port": 80, "name": "http", "protocol": "UDP"}])
    );
    // ownerReferences by uid (owners that exist, or the garbage collector takes `s`).
    let uid = |name: &str| {
        let cm = a
            .put_object(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default"}}))
            .expect("owner");
        cm["metadata"]["uid"].as_str().expect("uid").to_string()
    };
    let (u1, u2) = (uid("o1"), uid("o2"));
    let owner =
        |name: &str, uid: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid});
    let set_owners = |owners: Value| {
        let c = c.clone();
        async move {
            let body = json!({"metadata": {"ownerReferences": owners}}).to_string();
            c.patch("/api/v1/namespaces/default/services/s", SMP, &body).await
        }
    };
    let r = set_owners(json!([owner("o1", &u1)])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = set_owners(json!([owner("o2", &u2), {"uid": u1, "blockOwnerDeletion": true}])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let owners = &r.json()["metadata"]["ownerReferences"];
    assert_eq!(names(owners), ["o2", "o1"], "{owners}");
    assert_eq!(owners[1]["blockOwnerDeletion"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_directives() {
    let (_sb, c) = web_cluster().await;
    // `null` deletes a map key, in maps and in merged list items.
    let out = smp_ok(
        &c,
        json!({"metadata": {"labels": {"a": null}},
               "spec": {"template": {"spec": {"containers": [{"name": "app", "env": null}]}}}}),
    )
    .await;
    assert_eq!(out["metadata"]["labels"], json!({"b": "2"}));
    assert!(
        out["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none(),
        "{out}"
    );
    // `$patch: replace` in a map: the map becomes the patch's.
    let out = smp_ok(
        &c,
        json!({"spec": {"template": {"metadata": {"labels": {"$patch": "replace", "app": "web", "new": "x"}}}}}),
    )
    .await;
    assert_eq!(
        out["spec"]["template"]["metadata"]["labels"],
        json!({"app": "web", "new": "x"})
    );
    // `$patch: delete` in a map empties it.
    let out = smp_ok(&c, pod_spec(json!({"securityContext": {"$patch": "delete"}}))).await;
    assert_eq!(out["spec"]["template"]["spec"]["securityContext"], json!({}));
    // `$patch: delete` given for a primitive removes the field.
    let out = smp_ok(
        &c,
        json!({"metadata": {"labels": {"b": {"$patch": "delete"}}},
               "spec": {"template": {"spec": {"terminationGracePeriodSeconds": {"$patch": "delete"}}}}}),
    )
    .await;
    assert!(
        out["metadata"].get("labels").is_none_or(|l| l.get("b").is_none()),
        "{out}"
    );
    assert!(out["spec"]["template"]["spec"]
        .get("terminationGracePeriodSeconds")
        .is_none());
    // `$patch: delete` as a list item removes the item with that merge key.
    let out = smp_ok(
        &c,
        pod_spec(json!({"containers": [{"name": "side", "$patch": "delete"}]})),
    )
    .await;
    assert_eq!(names(&out["spec"]["template"]["spec"]["containers"]), ["app"]);
    // `$patch: replace` as a list item: the other items are the whole list.
    let out = smp_ok(
        &c,
        pod_spec(json!({"containers": [{"name": "only", "image": "o:1"}, {"$patch": "replace"}]})),
    )
    .await;
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "only", "image": "o:1"}])
    );
    // `$retainKeys`: the map keeps only the listed keys.
    let out = smp_ok(
        &c,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    )
    .await;
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    // `$deleteFromPrimitiveList/<field>` deletes from a list of primitives.
    let out = smp_ok(
        &c,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x.io/one"]}}),
    )
    .await;
    assert_eq!(out["metadata"]["finalizers"], json!(["x.io/two"]));
    // `$setElementOrder/<field>` orders the merged list.
    smp_ok(
        &c,
        pod_spec(json!({"containers": [{"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}]})),
    )
    .await;
    let out = smp_ok(
        &c,
        pod_spec(
            json!({"$setElementOrder/containers": [{"name": "only"}, {"name": "c"}, {"name": "b"}],
                        "containers": [{"name": "c", "image": "c:2"}]}),
        ),
    )
    .await;
    let containers = &out["spec"]["template"]["spec"]["containers"];
    assert_eq!(names(containers), ["only", "c", "b"], "{containers}");
    assert_eq!(containers[1]["image"], "c:2");
}

/// Refused as the apiserver refuses them: mergepatch's format errors are 400s, a list of
/// lists a 422, anything else a 500 carrying the Go error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_patches_are_refused_as_the_apiserver_does() {
    let (sb, c) = web_cluster().await;
    let a = sb.cluster("a");
    let refused = |r: &Resp, code: u16, reason: Option<&str>, message: &str| {
        assert_eq!(r.status, code, "{}", r.text);
        let s = r.json();
        assert_eq!(s["kind"], "Status", "{s}");
        assert_eq!(s.get("reason").and_then(Value::as_str), reason, "{s}");
        assert_eq!(s["message"], message, "{s}");
    };
    let cases = [
        (json!({"spec": {"strategy": {"$retainKeys": "type"}}}), 400, Some("BadRequest"), "invalid patch format of retainKeys"),
        (json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}), 400, Some("BadRequest"), "invalid patch format of retainKeys"),
        (json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["x.io/one"]}}), 400, Some("BadRequest"), "invalid patch format of primitive list"),
        (pod_spec(json!({"$setElementOrder": [{"name": "app"}]})), 400, Some("BadRequest"), "invalid patch format of setElementOrder list"),
        (pod_spec(json!({"imagePullSecrets": [["x"]]})), 422, Some("Invalid"), "the server rejected our request due to an error in our request"),
        (pod_spec(json!({"containers": [{"image": "x"}]})), 500, None, "map: map[image:x] does not contain declared merge key: name"),
        (pod_spec(json!({"containers": [{"name": "app", "$patch": "merge"}]})), 500, None, "merging lists cannot yet be specified in the patch"),
        (pod_spec(json!({"containers": [{"name": "app", "$patch": "nope"}]})), 500, None, "unknown patch type: nope in map: map[$patch:nope name:app]"),
        (pod_spec(json!({"securityContext": {"$patch": "merge"}})), 500, None, "unknown patch type: merge in map: map[$patch:merge]"),
        (json!({"metadata": {"finalizers": [{"name": "x"}]}}), 500, None, "list element types are not identical: [[x.io/one x.io/two] [map[name:x]]]"),
        (
            pod_spec(json!({"$setElementOrder/containers": [{"name": "side"}], "containers": [{"name": "app", "image": "y"}]})),
            500,
            None,
            "the order in patch list:\n[map[image:y name:app]]\n doesn't match $setElementOrder list:\n[map[name:side]]",
        ),
    ];
    for (patch, code, reason, message) in cases {
        refused(&smp(&c, patch).await, code, reason, message);
    }
    let r = c.patch(DEPLOY, SMP, "[]").await;
    refused(
        &r,
        400,
        Some("BadRequest"),
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
    );
    // Nothing was changed.
    let web = a.object(DEPLOY).expect("web");
    assert_eq!(
        names(&web["spec"]["template"]["spec"]["containers"]),
        ["app", "side"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_merges_containers_and_deletes_with_a_directive() {
    let (sb, _c) = web_cluster().await;
    let a = sb.cluster("a");
    let k = Kubectl::new(&sb);
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c2","image":"y"}]}}}}"#,
    ])
    .await;
    let web = a.object(DEPLOY).expect("web");
    let containers = &web["spec"]["template"]["spec"]["containers"];
    // Added, not replacing the list; the new container comes first, as in the kubectl
    // patch task's output.
    assert_eq!(names(containers), ["c2", "app", "side"], "{containers}");
    assert_eq!(containers[1]["env"][1]["name"], "B");
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"app","$patch":"delete"}]}}}}"#,
    ])
    .await;
    let web = a.object(DEPLOY).expect("web");
    assert_eq!(
        names(&web["spec"]["template"]["spec"]["containers"]),
        ["c2", "side"]
    );
    // The apiserver's error text reaches the user.
    let bad = k
        .run(&[
            "patch",
            "deployment",
            "web",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#,
        ])
        .await;
    bad.assert_failed_with("Error from server: map: map[image:x] does not contain declared merge key: name");
}

const WEB_V1: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
      - name: side
        image: side:1
"#;

/// Client-side `kubectl apply`: kubectl computes a three-way strategic merge patch from
/// the last-applied-configuration annotation, the file and the live object, and the
/// server merges it; what another writer added survives, what the file dropped goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_client_side_apply_round_trip() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let k = Kubectl::new(&sb);
    let file = k.path("web.yaml");
    std::fs::write(&file, WEB_V1).expect("write");
    let file = file.to_string_lossy().to_string();
    let out = k.ok(&["apply", "-f", &file]).await;
    assert_eq!(out, "deployment.apps/web created\n");
    // Another writer adds a container and a label.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"metadata":{"labels":{"team":"x"}},"spec":{"template":{"spec":{"containers":[{"name":"injected","image":"i:1"}]}}}}"#,
    ])
    .await;
    // One image changes, one env var goes.
    let v2 = WEB_V1
        .replace("image: app:1", "image: app:2")
        .replace("        - {name: B, value: \"2\"}\n", "");
    std::fs::write(&file, v2).expect("write");
    let out = k.ok(&["apply", "-f", &file]).await;
    assert_eq!(out, "deployment.apps/web configured\n");
    let web = a.object(DEPLOY).expect("web");
    let containers = &web["spec"]["template"]["spec"]["containers"];
    assert_eq!(names(containers), ["injected", "app", "side"], "{containers}");
    assert_eq!(containers[1]["image"], "app:2");
    assert_eq!(containers[1]["env"], json!([{"name": "A", "value": "1"}]));
    assert_eq!(containers[2], json!({"name": "side", "image": "side:1"}));
    assert_eq!(web["metadata"]["labels"]["team"], "x");
    let last: Value = serde_json::from_str(
        web["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .expect("last-applied"),
    )
    .expect("json");
    assert_eq!(
        last["spec"]["template"]["spec"]["containers"][0]["image"],
        "app:2"
    );
    // Applying the same file again changes nothing. kubectl still sends (and reports
    // "configured" for) a patch: the live list's order differs from the file's, so
    // the patch carries `$setElementOrder/containers`, which leaves the list as it is.
    let out = k.ok(&["apply", "-f", &file]).await;
    assert_eq!(out, "deployment.apps/web configured\n");
    let again = a.object(DEPLOY).expect("web");
    assert_eq!(again["spec"], web["spec"]);
    assert_eq!(again["metadata"]["generation"], web["metadata"]["generation"]);
}
