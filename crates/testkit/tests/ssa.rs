//! Server-side apply and managed fields.

mod common;

use common::{sandbox, Client, Resp, MERGE};
use mesh_testkit::Sandbox;
use serde_json::{json, Value};

const GW: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-eastwest";

fn gateway(class: &str, extra_label: Option<&str>) -> String {
    let mut labels =
        json!({"app.kubernetes.io/managed-by": "kubectl-mesh", "topology.istio.io/network": "net-a"});
    if let Some(l) = extra_label {
        labels[l] = json!("x");
    }
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "istio-eastwest", "namespace": "istio-gateways", "labels": labels},
        "spec": {"gatewayClassName": class, "listeners": [{"name": "cross-network", "port": 15008, "protocol": "HBONE", "tls": {"mode": "Passthrough"}}]},
    })
    .to_string()
}

/// Server-side applies the Gateway at `GW` (see [`gateway`]) as `manager`, without force.
async fn apply_gw(c: &Client, manager: &str, class: &str, extra_label: Option<&str>) -> Resp {
    c.apply(GW, manager, false, &gateway(class, extra_label)).await
}

async fn setup() -> (Sandbox, Client) {
    let sb = sandbox(&["a"]).await;
    let c = Client::new(sb.cluster("a"));
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-gateways\n";
    let r = c
        .apply("/api/v1/namespaces/istio-gateways", "kubectl-mesh", false, ns)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (sb, c)
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["manager"].as_str().unwrap_or("").into(),
                        m["operation"].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_with_managed_fields() {
    let (sb, c) = setup().await;
    let r = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let obj = r.json();
    assert_eq!(obj["metadata"]["generation"], 1);
    assert!(obj["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(obj["metadata"]["creationTimestamp"].is_string());
    let mf = &obj["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "kubectl-mesh");
    assert_eq!(mf["operation"], "Apply");
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert_eq!(mf["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(
        mf["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}, "f:topology.istio.io/network": {}}},
               "f:spec": {"f:gatewayClassName": {}, "f:listeners": {"k:{\"name\":\"cross-network\"}": {
                   ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:tls": {"f:mode": {}},
                   // Schema defaults of the applied configuration are the applier's.
                   "f:allowedRoutes": {"f:namespaces": {"f:from": {}}}}}}})
    );
    assert!(sb.cluster("a").object(GW).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_apply_keeps_resource_version() {
    let (sb, c) = setup().await;
    let first = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    // Let the controller write status first, so only our apply could bump the RV.
    let a = sb.cluster("a");
    common::eventually(std::time::Duration::from_secs(5), || {
        a.object(GW)?.pointer("/status/addresses").map(|_| ())
    })
    .await;
    let rv = a.object(GW).expect("gw")["metadata"]["resourceVersion"].clone();
    let cluster_rv = a.resource_version();
    let again = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json()["metadata"]["resourceVersion"], rv);
    assert_eq!(a.resource_version(), cluster_rv);
    assert_ne!(first.rv(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_conflicts_with_another_manager() {
    let (_sb, c) = setup().await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    let r = apply_gw(&c, "other-tool", "istio-remote", None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let s = r.json();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "Conflict");
    assert_eq!(
        s["message"],
        "Apply failed with 1 conflict: conflict with \"kubectl-mesh\": .spec.gatewayClassName"
    );
    assert_eq!(
        s["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"kubectl-mesh\"", "field": ".spec.gatewayClassName"}])
    );
    // Same values: shared ownership, no conflict.
    let r = apply_gw(&c, "other-tool", "istio-eastwest", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // (The Gateway controller may have added its status entry meanwhile.)
    let appliers: Vec<String> = managers(&r.json())
        .into_iter()
        .filter(|(_, op)| op == "Apply")
        .map(|(m, _)| m)
        .collect();
    assert_eq!(
        appliers,
        vec!["kubectl-mesh".to_string(), "other-tool".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_with_update_manager_names_version_and_several_fields() {
    let (_sb, c) = setup().await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    let patch = json!({"metadata": {"labels": {"topology.istio.io/network": "other"}}, "spec": {"gatewayClassName": "edited"}});
    let r = c
        .patch(
            &format!("{GW}?fieldManager=kubectl-edit"),
            MERGE,
            &patch.to_string(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let time = r.json()["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["manager"] == "kubectl-edit"))
        .map(|m| m["time"].as_str().unwrap_or_default().to_string())
        .expect("kubectl-edit entry");
    let r = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let want = format!(
        "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using gateway.networking.k8s.io/v1 at {time}:\n- .metadata.labels.topology.istio.io/network\n- .spec.gatewayClassName"
    );
    assert_eq!(r.json()["message"], want);
    assert_eq!(r.json()["details"]["causes"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_takes_ownership() {
    let (sb, c) = setup().await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    let r = c
        .apply(GW, "other-tool", true, &gateway("istio-remote", None))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let obj = sb.cluster("a").object(GW).expect("gw");
    assert_eq!(obj["spec"]["gatewayClassName"], "istio-remote");
    assert_eq!(obj["metadata"]["generation"], 2);
    let mine = obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["manager"] == "kubectl-mesh").cloned())
        .expect("kubectl-mesh still owns labels and listeners");
    assert!(mine["fieldsV1"]["f:spec"].get("f:gatewayClassName").is_none());
    // Now kubectl-mesh conflicts with other-tool.
    let r = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"other-tool\": .spec.gatewayClassName"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_fields_are_removed_unless_owned_by_another() {
    let (sb, c) = setup().await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", Some("extra")).await;
    apply_gw(&c, "other-tool", "istio-eastwest", Some("shared")).await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", Some("shared")).await;
    // Now drop both: "extra" was only ours (gone already), "shared" is also other-tool's.
    let r = apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let labels = sb.cluster("a").object(GW).expect("gw")["metadata"]["labels"].clone();
    assert!(labels.get("extra").is_none(), "{labels}");
    assert_eq!(labels["shared"], "x");
    // Drop the label other-tool applied: it goes.
    let r = apply_gw(&c, "other-tool", "istio-eastwest", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let labels = sb.cluster("a").object(GW).expect("gw")["metadata"]["labels"].clone();
    assert!(labels.get("shared").is_none(), "{labels}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_requires_field_manager_and_ignores_status() {
    let (sb, c) = setup().await;
    let r = c.patch(GW, common::APPLY, &gateway("x", None)).await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.json()["message"], "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply requests");
    sb.cluster("a").set_address_delay(None);
    let mut doc: Value = serde_json::from_str(&gateway("istio-eastwest", None)).expect("json");
    doc["status"] = json!({"addresses": [{"value": "1.2.3.4"}]});
    let r = c.apply(GW, "kubectl-mesh", false, &doc.to_string()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Only the CRD's default status: the applied one is ignored.
    assert!(r.json().pointer("/status/addresses").is_none(), "{}", r.text);
    assert_eq!(
        r.json()["status"]["conditions"][0]["reason"],
        "Pending",
        "{}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_operations_take_ownership_without_conflict() {
    let (_sb, c) = setup().await;
    apply_gw(&c, "kubectl-mesh", "istio-eastwest", None).await;
    let r = c
        .patch(
            &format!("{GW}?fieldManager=kubectl-label"),
            MERGE,
            r#"{"metadata":{"labels":{"topology.istio.io/network":"b","new":"1"}}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let m = managers(&r.json());
    assert!(m.contains(&("kubectl-label".into(), "Update".into())), "{m:?}");
    // Default manager comes from the User-Agent prefix.
    let r = c.patch(GW, MERGE, r#"{"metadata":{"labels":{"ua":"1"}}}"#).await;
    assert!(managers(&r.json()).contains(&("testkit-tests".into(), "Update".into())));
}

/// An empty map owned by one manager does not make entries another applies a conflict:
/// structured-merge-diff reports only the new entries as changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_map_owned_by_one_manager_takes_entries_from_another() {
    let (_sb, c) = setup().await;
    let cm = |labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "c", "namespace": "istio-gateways", "labels": labels}})
        .to_string()
    };
    let path = "/api/v1/namespaces/istio-gateways/configmaps/c";
    let r = c.apply(path, "owner", false, &cm(json!({}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = c.apply(path, "labeller", false, &cm(json!({"x": "y"}))).await;
    assert_eq!(r.status, 200, "no conflict: {}", r.text);
    assert_eq!(r.json()["metadata"]["labels"]["x"], "y");
}
