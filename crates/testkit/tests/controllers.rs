//! The background controllers and the Istio seed.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{cluster_admin_binding, eventually, eventually_at, no_addresses, sandbox, sandbox_with, Client};
use mesh_testkit::{ClusterSpec, IstioSeed};
use serde_json::{json, Value};

const GWS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways";

fn gateway(name: &str, addresses: Option<Value>) -> Value {
    let mut g = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": name},
        "spec": {"gatewayClassName": "istio-eastwest", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}});
    if let Some(a) = addresses {
        g["spec"]["addresses"] = a;
    }
    g
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_get_addresses_after_the_delay() {
    let sb = sandbox(&["a", "b"]).await;
    let b = sb.cluster("b");
    b.set_address_delay(Some(Duration::from_millis(1000)));
    let c = Client::new(b);
    let r = c.post(GWS, &gateway("gw", None)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Only the CRD's default status (conditions Unknown) so far.
    assert!(
        b.object(&format!("{GWS}/gw"))
            .expect("gw")
            .pointer("/status/addresses")
            .is_none(),
        "too early"
    );
    let status = eventually(Duration::from_secs(5), || {
        let gw = b.object(&format!("{GWS}/gw"))?;
        gw.pointer("/status/addresses")?;
        gw.get("status").cloned()
    })
    .await
    .expect("status");
    assert_eq!(
        status["addresses"],
        json!([{"type": "IPAddress", "value": "203.0.113.11"}])
    );
    let conds: Vec<(&str, &str, i64)> = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
                c["observedGeneration"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(conds, vec![("Accepted", "True", 1), ("Programmed", "True", 1)]);
    // Spec addresses win.
    let addrs = json!([{"type": "Hostname", "value": "gw.example.com"}]);
    c.post(GWS, &gateway("gw2", Some(addrs.clone()))).await;
    let got = eventually_at(b, &format!("{GWS}/gw2"), "/status/addresses").await;
    assert_eq!(got, Some(addrs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_never_come_when_disabled() {
    let sb = sandbox_with(vec![("a", no_addresses())]).await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    c.post(GWS, &gateway("gw", None)).await;
    c.post(
        "/api/v1/namespaces/default/services",
        &json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(a
        .object(&format!("{GWS}/gw"))
        .expect("gw")
        .pointer("/status/addresses")
        .is_none());
    assert!(a
        .object("/api/v1/namespaces/default/services/lb")
        .expect("svc")
        .pointer("/status/loadBalancer/ingress")
        .is_none());
    a.set_address_delay(Some(Duration::ZERO));
    let lb = "/api/v1/namespaces/default/services/lb";
    let ip = eventually_at(a, lb, "/status/loadBalancer/ingress/0/ip").await;
    assert_eq!(ip, Some(json!("203.0.113.10")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_token_secret_authenticates() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    c.post(
        "/api/v1/namespaces/default/serviceaccounts",
        &json!({"metadata": {"name": "reader"}}),
    )
    .await;
    let secret = json!({"metadata": {"name": "reader-token", "annotations": {"kubernetes.io/service-account.name": "reader"}},
        "type": "kubernetes.io/service-account-token"});
    assert_eq!(
        c.post("/api/v1/namespaces/default/secrets", &secret).await.status,
        201
    );
    let data = eventually_at(a, "/api/v1/namespaces/default/secrets/reader-token", "/data")
        .await
        .expect("data");
    let dec = |k: &str| {
        let b = base64::engine::general_purpose::STANDARD
            .decode(data[k].as_str().unwrap_or(""))
            .expect("base64");
        String::from_utf8(b).expect("utf8")
    };
    assert_eq!(dec("namespace"), "default");
    assert_eq!(dec("ca.crt"), a.ca_pem());
    let token = dec("token");
    assert_eq!(
        a.user_for_token(&token).as_deref(),
        Some("system:serviceaccount:default:reader")
    );
    // Authenticated (403, not 401): the account has no RBAC grant yet.
    let as_sa = c.with_token(&token);
    assert_eq!(as_sa.get("/api/v1/namespaces/default/secrets").await.status, 403);
    let reader = json!({"kind": "ServiceAccount", "name": "reader", "namespace": "default"});
    let binding = cluster_admin_binding("reader", reader);
    c.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", &binding)
        .await;
    assert_eq!(as_sa.get("/api/v1/namespaces/default/secrets").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_after_delay() {
    let delayed = ClusterSpec {
        job_delay: Duration::from_millis(800),
        ..Default::default()
    };
    let sb = sandbox_with(vec![("a", delayed)]).await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    let r = c
        .post(
            "/apis/batch/v1/namespaces/default/jobs",
            &json!({"metadata": {"name": "j"}, "spec": {"template": {}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(a
        .object("/apis/batch/v1/namespaces/default/jobs/j")
        .expect("job")
        .get("status")
        .is_none());
    let st = eventually_at(a, "/apis/batch/v1/namespaces/default/jobs/j", "/status")
        .await
        .expect("status");
    assert_eq!(st["succeeded"], 1);
    assert!(st["conditions"]
        .as_array()
        .expect("c")
        .iter()
        .any(|c| c["type"] == "Complete" && c["status"] == "True"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_seed() {
    let seed = IstioSeed::network("net-b")
        .trust_domain("b.example")
        .mesh_id("mesh1")
        .version("1.27.1");
    let istio = ClusterSpec {
        istio: Some(seed),
        ..Default::default()
    };
    let sb = sandbox_with(vec![("b", istio)]).await;
    let b = sb.cluster("b");
    let ns = b.object("/api/v1/namespaces/istio-system").expect("ns");
    assert_eq!(ns["metadata"]["labels"]["topology.istio.io/network"], "net-b");
    let mesh = b
        .object("/api/v1/namespaces/istio-system/configmaps/istio")
        .expect("cm")["data"]["mesh"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mesh: Value = serde_yaml_ng::from_str(&mesh).expect("yaml");
    assert_eq!(mesh["trustDomain"], "b.example");
    assert_eq!(mesh["defaultConfig"]["meshId"], "mesh1");
    let d = b
        .object("/apis/apps/v1/namespaces/istio-system/deployments/istiod")
        .expect("istiod");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "docker.io/istio/pilot:1.27.1"
    );
    assert_eq!(d["status"]["readyReplicas"], 1);
    let bare = sandbox(&["a"]).await;
    assert!(bare
        .cluster("a")
        .object("/api/v1/namespaces/istio-system")
        .is_none());
}
