//! The background controllers and the Istio seed.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{
    cluster_admin_binding, eventually, eventually_at, kube_client, no_addresses, sandbox, sandbox_with,
    Client,
};
use futures::stream::BoxStream;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, WatchEvent, WatchParams};
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

// --- A load balancer moving to another address ---

const SVCS: &str = "/api/v1/namespaces/default/services";

/// A watch on `api` for object `name` from `rv`, open once this returns: kube-rs returns
/// when the response headers arrive, which the server sends once it registered the watch.
async fn watch_one<K>(api: &Api<K>, name: &str, rv: &str) -> BoxStream<'static, kube::Result<WatchEvent<K>>>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    let params = WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(60);
    api.watch(&params, rv).await.expect("watch").boxed()
}

async fn next_event<K>(events: &mut BoxStream<'static, kube::Result<WatchEvent<K>>>) -> WatchEvent<K> {
    events
        .next()
        .await
        .expect("an event before the watch times out")
        .expect("a decodable event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_load_balancer_address_reaches_watchers_and_new_objects() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    assert_eq!(a.lb_address(), "203.0.113.10");
    let fixed = json!([{"type": "IPAddress", "value": "192.0.2.1"}]);
    for gw in [gateway("ew", None), gateway("fixed", Some(fixed.clone()))] {
        assert_eq!(c.post(GWS, &gw).await.status, 201);
    }
    let lb =
        json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 15443}]}});
    assert_eq!(c.post(SVCS, &lb).await.status, 201);
    // A load balancer someone else gave an address.
    a.put_object(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.50"}]}}}),
    )
    .expect("put");
    let (ew, svc) = (format!("{GWS}/ew"), format!("{SVCS}/lb"));
    let first = Some(json!("203.0.113.10"));
    assert_eq!(eventually_at(a, &ew, "/status/addresses/0/value").await, first);
    assert_eq!(
        eventually_at(a, &svc, "/status/loadBalancer/ingress/0/ip").await,
        first
    );
    assert_eq!(
        eventually_at(a, &format!("{GWS}/fixed"), "/status/addresses").await,
        Some(fixed.clone())
    );
    let untouched = |path: &str| a.object(path).expect("object")["metadata"]["resourceVersion"].clone();
    let (fixed_rv, other_rv) = (
        untouched(&format!("{GWS}/fixed")),
        untouched(&format!("{SVCS}/other")),
    );

    // Watches opened before the move, at the objects' current versions.
    let client = kube_client(&sb, "a", None).await;
    let gvk = GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "Gateway");
    let gateways: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, "gateways"),
    );
    let services: Api<Service> = Api::namespaced(client, "default");
    let gw_before = gateways.get("ew").await.expect("gateway");
    let svc_before = services.get("lb").await.expect("service");
    let gw_rv = gw_before.metadata.resource_version.clone().expect("rv");
    let svc_rv = svc_before.metadata.resource_version.clone().expect("rv");
    let mut gw_events = watch_one(&gateways, "ew", &gw_rv).await;
    let mut svc_events = watch_one(&services, "lb", &svc_rv).await;

    a.set_lb_address("198.51.100.20");
    assert_eq!(a.lb_address(), "198.51.100.20");
    let moved = json!([{"type": "IPAddress", "value": "198.51.100.20"}]);
    // At once: no waiting for a controller pass.
    assert_eq!(a.object(&ew).expect("ew")["status"]["addresses"], moved);

    match next_event(&mut gw_events).await {
        WatchEvent::Modified(gw) => {
            assert_eq!(gw.data["status"]["addresses"], moved);
            assert_ne!(gw.metadata.resource_version, Some(gw_rv));
            // Only the address moved: conditions (and their times) are as they were.
            assert_eq!(
                gw.data["status"]["conditions"],
                gw_before.data["status"]["conditions"]
            );
        }
        other => panic!("not a MODIFIED event: {other:?}"),
    }
    match next_event(&mut svc_events).await {
        WatchEvent::Modified(svc) => {
            let ingress = svc.status.and_then(|s| s.load_balancer).and_then(|l| l.ingress);
            let ingress = ingress.expect("ingress");
            assert_eq!(ingress.len(), 1);
            assert_eq!(ingress[0].ip.as_deref(), Some("198.51.100.20"));
            assert_eq!(ingress[0].ip_mode.as_deref(), Some("VIP"));
            assert_ne!(svc.metadata.resource_version, Some(svc_rv));
        }
        other => panic!("not a MODIFIED event: {other:?}"),
    }
    // What did not carry the cluster's address is left alone.
    assert_eq!(untouched(&format!("{GWS}/fixed")), fixed_rv);
    assert_eq!(untouched(&format!("{SVCS}/other")), other_rv);

    // Objects made after the move get the new address.
    assert_eq!(c.post(GWS, &gateway("late", None)).await.status, 201);
    let mut late = lb.clone();
    late["metadata"]["name"] = json!("late");
    assert_eq!(c.post(SVCS, &late).await.status, 201);
    let now = Some(json!("198.51.100.20"));
    assert_eq!(
        eventually_at(a, &format!("{GWS}/late"), "/status/addresses/0/value").await,
        now
    );
    assert_eq!(
        eventually_at(a, &format!("{SVCS}/late"), "/status/loadBalancer/ingress/0/ip").await,
        now
    );

    // A load balancer known by name (as AWS's are): Hostname addresses, hostname ingress.
    a.set_lb_address("ew-1234.elb.example.com");
    let named = json!([{"type": "Hostname", "value": "ew-1234.elb.example.com"}]);
    for name in ["ew", "late"] {
        let gw = a.object(&format!("{GWS}/{name}")).expect("gateway");
        assert_eq!(gw["status"]["addresses"], named, "{name}");
        let svc = a
            .object(&format!("{SVCS}/{}", if name == "ew" { "lb" } else { "late" }))
            .expect("service");
        assert_eq!(
            svc["status"]["loadBalancer"]["ingress"],
            json!([{"hostname": "ew-1234.elb.example.com"}]),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_address_gives_none_to_objects_still_without_one() {
    let sb = sandbox_with(vec![("a", no_addresses())]).await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    assert_eq!(c.post(GWS, &gateway("gw", None)).await.status, 201);
    let rv = a.object(&format!("{GWS}/gw")).expect("gw")["metadata"]["resourceVersion"].clone();
    a.set_lb_address("198.51.100.30");
    let gw = a.object(&format!("{GWS}/gw")).expect("gw");
    assert!(gw.pointer("/status/addresses").is_none(), "{gw}");
    assert_eq!(gw["metadata"]["resourceVersion"], rv);
    // Once addresses come, they are the new one.
    a.set_address_delay(Some(Duration::ZERO));
    let got = eventually_at(a, &format!("{GWS}/gw"), "/status/addresses/0/value").await;
    assert_eq!(got, Some(json!("198.51.100.30")));
}
