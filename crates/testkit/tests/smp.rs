//! Strategic merge patch, as far as testkit implements it: accepted for built-in kinds
//! (applied as a JSON merge patch, which is what `kubectl label`/`annotate` need), refused
//! for custom resources with 415 `UnsupportedMediaType`, as the apiserver does ("Patch
//! operations", <https://kubernetes.io/docs/reference/using-api/api-concepts/#patch-and-apply>;
//! <https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/#notes-on-the-strategic-merge-patch>).

mod common;

use common::kubectl::Kubectl;
use common::sandbox;
use serde_json::json;

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
    let refused = k
        .run(&[
            "patch",
            "gateway",
            "gw",
            "-p",
            r#"{"metadata":{"labels":{"x":"1"}}}"#,
        ])
        .await;
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        ),
        "{}",
        refused.stderr
    );
    k.ok(&[
        "patch",
        "gateway",
        "gw",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"x":"1"}}}"#,
    ])
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
