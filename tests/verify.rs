//! `kubectl mesh verify` end to end: for every check a passing case (the healthy mesh) and a
//! failing one, produced by injecting the fault into testkit clusters.

mod common;

use base64::Engine;
use common::*;
use mesh_testkit::{ClusterSpec, IstioSeed};
use serde_json::{json, Value};

/// Clusters a and b with these Istio installs.
fn seeded(a: IstioSeed, b: IstioSeed) -> Env {
    let spec = |seed| ClusterSpec {
        istio: Some(seed),
        ..Default::default()
    };
    start(vec![("a".into(), spec(a)), ("b".into(), spec(b))])
}

fn verify(env: &Env, args: &[&str]) -> (i32, Vec<Value>) {
    let mut full = vec!["verify", "-o", "json"];
    full.extend(args.iter());
    let run = env.mesh(&full);
    let doc = run.json();
    (run.code, doc["checks"].as_array().cloned().unwrap_or_default())
}

/// `verify --services` of `a,b` with upstream ambient's `istio.io/global` label (flavour
/// ambient) on a peering mesh's east-west gateway. That gateway's listeners are peering's,
/// which verify fails as an ambient gateway: those checks are left out, and the code is
/// that of the others (1 when any of them fails).
fn verify_services_as_ambient(env: &Env) -> (i32, Vec<Value>) {
    let ambient = ["--flavor", "ambient", "--mode", "peering"];
    let gateway = ["-n", "istio-gateways", "--gateway", "istio-eastwest"];
    let (_, checks) = verify(
        env,
        &[&["--contexts", "a,b", "--services"][..], &ambient, &gateway].concat(),
    );
    let (eastwest, others): (Vec<Value>, Vec<Value>) =
        checks.into_iter().partition(|c| c["id"] == "eastwest");
    assert!(
        eastwest.iter().all(|c| c["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no HBONE listener on port 15008")),
        "{eastwest:#?}"
    );
    let code = i32::from(others.iter().any(|c| c["status"] == "fail"));
    (code, others)
}

fn find<'a>(checks: &'a [Value], id: &str, cluster: Option<&str>, pair: Option<(&str, &str)>) -> &'a Value {
    checks
        .iter()
        .find(|c| {
            c["id"] == id
                && cluster.is_none_or(|n| c["cluster"] == n)
                && pair.is_none_or(|(f, t)| c["from"] == f && c["to"] == t)
        })
        .unwrap_or_else(|| panic!("no check {id} {cluster:?} {pair:?} in {checks:#?}"))
}

fn status<'a>(checks: &'a [Value], id: &str, cluster: Option<&str>, pair: Option<(&str, &str)>) -> &'a str {
    find(checks, id, cluster, pair)["status"].as_str().unwrap()
}

#[test]
fn healthy_mesh_passes_every_check() {
    let env = mesh_of(&["a", "b", "c"]);
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:#?}");
    for id in [
        "api",
        "istiod",
        "cluster-name",
        "network",
        "trust-domain",
        "cacerts",
        "cacerts-expiry",
        "eastwest",
    ] {
        for cluster in ["a", "b", "c"] {
            assert_eq!(status(&checks, id, Some(cluster), None), "pass");
        }
    }
    assert_eq!(status(&checks, "shared-root", None, None), "pass");
    assert_eq!(status(&checks, "mesh-id", None, None), "pass");
    assert_eq!(
        checks
            .iter()
            .filter(|c| c["id"] == "link" && c["status"] == "pass")
            .count(),
        6
    );
    let human = env.mesh(&["verify", "--contexts", "a,b,c"]).success().stdout;
    assert!(
        human.contains("links (row: from, column: to; ·: itself"),
        "{human}"
    );
    assert!(human.contains("0 warnings, 0 failed"), "{human}");
}

#[test]
fn json_schema_is_stable() {
    let env = mesh_of(&["a", "b"]);
    let run = env.mesh(&["verify", "--contexts", "a,b", "-o", "json"]).success();
    let doc = run.json();
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["apiVersion", "kind", "status", "mode", "summary", "checks"]
    );
    assert_eq!(doc["apiVersion"], "kubectl-mesh.io/v1alpha1");
    assert_eq!(doc["kind"], "VerifyReport");
    assert_eq!(doc["status"], "pass");
    assert_eq!(doc["mode"], "peering");
    assert_eq!(
        doc["summary"],
        json!({"pass": doc["checks"].as_array().unwrap().len(), "warn": 0, "fail": 0})
    );
    let api = &doc["checks"][0];
    let keys: Vec<&str> = api.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "cluster", "status", "message"]);
    let link = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "link")
        .unwrap();
    let keys: Vec<&str> = link.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "from", "to", "status", "message"]);
    let yaml = env
        .mesh(&["verify", "--contexts", "a,b", "-o", "yaml"])
        .success()
        .stdout;
    assert!(
        yaml.starts_with("apiVersion: kubectl-mesh.io/v1alpha1\nkind: VerifyReport\n"),
        "{yaml}"
    );
}

#[test]
fn unreachable_cluster_fails_its_checks_and_pairs() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("b").set_down(true);
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--timeout", "2s"]);
    assert_eq!(code, 1);
    assert_eq!(status(&checks, "api", Some("b"), None), "fail");
    assert_eq!(status(&checks, "api", Some("a"), None), "pass");
    assert_eq!(status(&checks, "link", None, Some(("a", "b"))), "fail");
    assert!(find(&checks, "link", None, Some(("a", "b")))["message"]
        .as_str()
        .unwrap()
        .contains("unreachable"));
}

#[test]
fn missing_istiod_network_and_gateway() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("a")
        .delete_object("/apis/apps/v1/namespaces/istio-system/deployments/istiod");
    let mut ns = env.cluster("b").object(ISTIO_SYSTEM).unwrap();
    ns["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("topology.istio.io/network");
    env.cluster("b").put_object(ns).unwrap();
    env.cluster("b").delete_object(GATEWAY);
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    assert_eq!(status(&checks, "istiod", Some("a"), None), "fail");
    assert_eq!(status(&checks, "istiod", Some("b"), None), "pass");
    assert_eq!(status(&checks, "network", Some("b"), None), "fail");
    assert!(find(&checks, "network", Some("b"), None)["hint"]
        .as_str()
        .unwrap()
        .contains("label namespace istio-system"));
    assert_eq!(status(&checks, "eastwest", Some("b"), None), "fail");
    assert!(find(&checks, "eastwest", Some("b"), None)["hint"]
        .as_str()
        .unwrap()
        .contains("kubectl mesh expose --context b"));
}

#[test]
fn duplicate_cluster_names_fail() {
    let env = mesh_of(&["a", "b"]);
    for name in ["a", "b"] {
        let path = "/apis/apps/v1/namespaces/istio-system/deployments/istiod";
        let mut istiod = env.cluster(name).object(path).unwrap();
        istiod["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "CLUSTER_ID", "value": "prod"}]);
        env.cluster(name).put_object(istiod).unwrap();
    }
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    assert_eq!(status(&checks, "cluster-name", Some("a"), None), "fail");
    assert!(find(&checks, "cluster-name", Some("a"), None)["message"]
        .as_str()
        .unwrap()
        .contains("also used by b"));
}

/// istiod's CLUSTER_ID must be the name the links use for the cluster; the fix names it so.
#[test]
fn an_istiod_cluster_id_other_than_the_links_name_fails() {
    let env = mesh_of(&["a", "b"]);
    let path = "/apis/apps/v1/namespaces/istio-system/deployments/istiod";
    let mut istiod = env.cluster("a").object(path).unwrap();
    istiod["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "CLUSTER_ID", "value": "cluster-1"}]);
    env.cluster("a").put_object(istiod).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    let check = find(&checks, "cluster-name", Some("a"), None);
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .starts_with("istiod calls this cluster cluster-1"),
        "{check}"
    );
    assert!(
        check["hint"].as_str().unwrap().contains("--contexts cluster-1=a"),
        "{check}"
    );
    assert_eq!(status(&checks, "cluster-name", Some("b"), None), "pass");
}

#[test]
fn missing_cacerts_and_different_roots() {
    let env = mesh_of(&["a", "b", "c"]);
    env.cluster("a")
        .delete_object("/api/v1/namespaces/istio-system/secrets/cacerts");
    // c gets an intermediate from another root.
    let other = env.dir.path().join("other-certs");
    env.mesh(&[
        "certs",
        "generate",
        "--clusters",
        "c",
        "--dir",
        other.to_str().unwrap(),
        "--key-type",
        "ec-p256",
    ])
    .success();
    env.mesh(&[
        "certs",
        "secret",
        "--contexts",
        "c",
        "--dir",
        other.to_str().unwrap(),
        "--force",
    ])
    .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1);
    assert_eq!(status(&checks, "cacerts", Some("a"), None), "fail");
    assert!(find(&checks, "cacerts", Some("a"), None)["hint"]
        .as_str()
        .unwrap()
        .contains("kubectl mesh certs"));
    assert_eq!(
        status(&checks, "cacerts", Some("c"), None),
        "pass",
        "c's own chain is fine"
    );
    let shared = find(&checks, "shared-root", None, None);
    assert_eq!(shared["status"], "fail");
    assert!(
        shared["message"]
            .as_str()
            .unwrap()
            .contains("do not share one root"),
        "{shared}"
    );
}

/// A cacerts Secret whose root and intermediate expired in 2021.
fn expired_cacerts() -> Value {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let when = |y| rcgen::date_time_ymd(y, 1, 1);
    let mut root = CertificateParams::default();
    root.distinguished_name.push(DnType::CommonName, "Root CA");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    root.not_before = when(2019);
    root.not_after = when(2030);
    let root_key = KeyPair::generate().unwrap();
    let root_cert = root.self_signed(&root_key).unwrap();
    let mut ca = CertificateParams::new(vec!["istiod.istio-system.svc".to_string()]).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Intermediate CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    ca.not_before = when(2019);
    ca.not_after = when(2021);
    let ca_key = KeyPair::generate().unwrap();
    let issuer = rcgen::Issuer::new(root, root_key);
    let ca_cert = ca.signed_by(&ca_key, &issuer).unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "cacerts", "namespace": "istio-system"},
        "data": {
            "ca-cert.pem": b64(&ca_cert.pem()),
            "ca-key.pem": b64(&ca_key.serialize_pem()),
            "root-cert.pem": b64(&root_cert.pem()),
            "cert-chain.pem": b64(&format!("{}{}", ca_cert.pem(), root_cert.pem())),
        }
    })
}

#[test]
fn expired_intermediate_fails_and_near_expiry_warns() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("a").put_object(expired_cacerts()).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    let expiry = find(&checks, "cacerts-expiry", Some("a"), None);
    assert_eq!(expiry["status"], "fail", "{expiry}");
    assert!(
        expiry["message"]
            .as_str()
            .unwrap()
            .contains("expired on 2021-01-01"),
        "{expiry}"
    );
    assert!(expiry["hint"]
        .as_str()
        .unwrap()
        .contains("kubectl mesh certs rotate --cluster a"));

    let env = mesh_of(&["a", "b"]);
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--expiry-warn-days", "1000"]);
    assert_eq!(code, 0, "warnings alone pass");
    assert_eq!(status(&checks, "cacerts-expiry", Some("a"), None), "warn");
    let strict = env.mesh(&[
        "verify",
        "--contexts",
        "a,b",
        "--expiry-warn-days",
        "1000",
        "--strict",
    ]);
    assert_eq!(
        strict.code, 3,
        "--strict: only warnings exit 3\n{}",
        strict.stdout
    );
}

#[test]
fn gateway_without_address_is_not_ready() {
    let env = with_istio(&["a", "b"]);
    env.cluster("b").set_address_delay(None);
    with_trust(&env, &["a", "b"]);
    env.mesh(&["expose", "--contexts", "a,b"]).success();
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    let eastwest = find(&checks, "eastwest", Some("b"), None);
    assert_eq!(eastwest["status"], "fail");
    assert!(
        eastwest["message"]
            .as_str()
            .unwrap()
            .contains("not ready (address: none"),
        "{eastwest}"
    );
}

#[test]
fn differing_trust_domains_need_skip_validation() {
    let env = seeded(
        IstioSeed::network("net-a").trust_domain("a.local"),
        IstioSeed::network("net-b").trust_domain("b.local"),
    );
    let env = healthy(env, &["a", "b"]);
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    assert_eq!(
        status(&checks, "skip-validate-trust-domain", Some("a"), None),
        "fail"
    );
    assert_eq!(
        find(&checks, "trust-domain", Some("b"), None)["message"],
        "trust domain b.local"
    );
    let peer = env.cluster("a").object(&peer_path("b")).unwrap();
    assert_eq!(
        peer["metadata"]["annotations"]["gateway.istio.io/trust-domain"],
        "b.local"
    );
    for name in ["a", "b"] {
        let path = "/apis/apps/v1/namespaces/istio-system/deployments/istiod";
        let mut istiod = env.cluster(name).object(path).unwrap();
        istiod["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "PILOT_SKIP_VALIDATE_TRUST_DOMAIN", "value": "true"}]);
        env.cluster(name).put_object(istiod).unwrap();
    }
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(
        status(&checks, "skip-validate-trust-domain", Some("a"), None),
        "pass"
    );
}

#[test]
fn mesh_ids_must_agree() {
    let env = seeded(
        IstioSeed::network("net-a").mesh_id("mesh-1"),
        IstioSeed::network("net-b").mesh_id("mesh-2"),
    );
    let env = healthy(env, &["a", "b"]);
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    let id = find(&checks, "mesh-id", None, None);
    assert_eq!(id["status"], "fail");
    assert!(
        id["message"].as_str().unwrap().contains("a=mesh-1, b=mesh-2"),
        "{id}"
    );
}

#[test]
fn missing_one_way_and_stale_links() {
    let env = mesh_of(&["a", "b", "c"]);
    env.cluster("a").delete_object(&peer_path("b")); // a -> b gone, b -> a still there: one-way
    env.cluster("a").delete_object(&peer_path("c"));
    env.cluster("c").delete_object(&peer_path("a")); // a <-> c gone both ways
    let mut gw = env.cluster("c").object(GATEWAY).unwrap();
    gw["spec"]["addresses"] = json!([{"type": "IPAddress", "value": "198.51.100.7"}]);
    env.cluster("c").put_object(gw).unwrap();
    for _ in 0..100 {
        if env.cluster("c").object(GATEWAY).unwrap()["status"]["addresses"][0]["value"] == "198.51.100.7" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1);
    let one_way = find(&checks, "link", None, Some(("a", "b")));
    assert_eq!(one_way["status"], "warn", "{one_way}");
    assert_eq!(one_way["hint"], "kubectl mesh link --from a --to b");
    assert_eq!(status(&checks, "link", None, Some(("a", "c"))), "fail");
    let stale = find(&checks, "link", None, Some(("b", "c")));
    assert_eq!(stale["status"], "fail");
    assert!(stale["message"].as_str().unwrap().contains("stale"), "{stale}");
    assert_eq!(stale["hint"], "kubectl mesh link --from b --to c");
    assert_eq!(status(&checks, "link", None, Some(("b", "a"))), "pass");
    // Running the printed fixes makes the mesh healthy again.
    env.mesh(&["link", "--contexts", "a,b,c"]).success();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 0, "{checks:#?}");
}

#[test]
fn remote_secret_links_are_checked() {
    let env = with_istio(&["a", "b"]);
    with_trust(&env, &["a", "b"]);
    env.mesh(&["expose", "--contexts", "a,b", "--flavor", "ambient", "--wait=30s"])
        .success();
    let (_, checks) = verify(&env, &["--contexts", "a,b", "--flavor", "ambient"]);
    assert_eq!(status(&checks, "link", None, Some(("a", "b"))), "fail");
    env.mesh(&["link", "--mode", "remote-secret", "--contexts", "a,b"])
        .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--flavor", "ambient"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(status(&checks, "link", None, Some(("a", "b"))), "pass");
    // The flavour's own east-west gateway is the one checked.
    let eastwest = find(&checks, "eastwest", Some("a"), None);
    assert!(eastwest["message"]
        .as_str()
        .unwrap()
        .starts_with("Gateway istio-system/istio-eastwestgateway programmed at"));
}

#[test]
fn sidecar_east_west_is_a_load_balancer_service() {
    let env = with_istio(&["a", "b"]);
    with_trust(&env, &["a", "b"]);
    env.mesh(&["link", "--mode", "remote-secret", "--contexts", "a,b"])
        .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--flavor", "sidecar"]);
    assert_eq!(code, 1);
    let missing = find(&checks, "eastwest", Some("a"), None);
    assert_eq!(
        missing["message"],
        "no east-west Service istio-system/istio-eastwestgateway"
    );
    env.mesh(&["expose", "--contexts", "a,b", "--flavor", "sidecar", "--wait=30s"])
        .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--flavor", "sidecar"]);
    assert_eq!(code, 0, "{checks:#?}");
    let eastwest = find(&checks, "eastwest", Some("b"), None);
    assert!(eastwest["message"]
        .as_str()
        .unwrap()
        .starts_with("Service istio-system/istio-eastwestgateway ready at"));
}

#[test]
fn forbidden_reads_are_reported() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("b").deny("get", "secrets");
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1);
    let cacerts = find(&checks, "cacerts", Some("b"), None);
    assert_eq!(cacerts["status"], "fail");
    assert!(cacerts["message"].as_str().unwrap().contains("403"), "{cacerts}");
}

#[test]
fn verify_through_kubectl_and_its_own_binary() {
    let env = mesh_of(&["a", "b"]);
    env.kubectl(&["mesh", "verify", "--contexts", "a,b"]).success();
    env.bin("kubectl-mesh-verify", &["--contexts", "a,b"]).success();
}

fn service(namespace: &str, name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 9080}]},
    })
}

#[test]
fn global_services_are_listed_with_their_clusters_and_namesakes() {
    let env = mesh_of(&["a", "b", "c"]);
    for name in ["a", "b", "c"] {
        env.cluster(name)
            .put_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}))
            .unwrap();
        env.cluster(name)
            .put_object(service("shop", "reviews", json!({"app": "reviews"})))
            .unwrap();
    }
    let (_, checks) = verify(&env, &["--contexts", "a,b,c", "--services"]);
    assert!(
        !checks.iter().any(|c| c["id"] == "global-service"),
        "no global service yet"
    );

    // Made global in a and b only: c's namesake is the classic mistake.
    let make_global = |contexts: &str| {
        let service = ["expose", "--service", "reviews", "-n", "shop"];
        let rest = ["--contexts", contexts, "--traffic-distribution", "PreferClose"];
        env.mesh(&[&service[..], &rest].concat())
    };
    make_global("a,b").success();
    let live = env
        .cluster("a")
        .object("/api/v1/namespaces/shop/services/reviews")
        .unwrap();
    assert_eq!(live["metadata"]["labels"]["solo.io/service-scope"], "global");
    assert_eq!(
        live["metadata"]["annotations"]["networking.istio.io/traffic-distribution"],
        "PreferClose"
    );
    assert_eq!(
        live["spec"]["ports"][0]["port"], 9080,
        "the rest of the Service is untouched"
    );
    let (code, checks) = verify(&env, &["--contexts", "a,b,c", "--services"]);
    assert_eq!(code, 0, "a warning alone passes");
    let check = checks.iter().find(|c| c["id"] == "global-service").unwrap();
    assert_eq!(check["service"], "reviews.shop.mesh.internal");
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("reviews in c is not"),
        "{check}"
    );
    assert_eq!(
        check["hint"],
        "kubectl mesh expose --service reviews -n shop --scope global --contexts c"
    );

    make_global("c").success();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c", "--services"]);
    assert_eq!(code, 0);
    let check = checks.iter().find(|c| c["id"] == "global-service").unwrap();
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("endpoints from a, b, c; traffic PreferClose"),
        "{check}"
    );
    let human = env
        .mesh(&["verify", "--contexts", "a,b,c", "--services"])
        .success()
        .stdout;
    assert!(
        human.contains("global services\n  ✔ reviews.shop.mesh.internal"),
        "{human}"
    );
}

#[test]
fn istio_global_label_and_bad_distribution() {
    let env = mesh_of(&["a", "b"]);
    let mut svc = service("default", "ratings", json!({"istio.io/global": "true"}));
    svc["metadata"]["annotations"] = json!({"networking.istio.io/traffic-distribution": "Everywhere"});
    env.cluster("a").put_object(svc).unwrap();
    // istio.io/global is upstream ambient's label (flavour ambient); the rest of this mesh is
    // peering, so everything else stays healthy.
    let (code, checks) = verify_services_as_ambient(&env);
    assert_eq!(code, 1);
    let check = checks.iter().find(|c| c["id"] == "global-service").unwrap();
    assert_eq!(check["status"], "fail");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("unknown traffic distribution \"Everywhere\""),
        "{check}"
    );
}

#[test]
fn expose_service_reports_where_it_is_missing() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("a")
        .put_object(service("default", "web", json!({})))
        .unwrap();
    let run = env
        .mesh(&["expose", "--service", "web", "--contexts", "a,b", "-o", "json"])
        .code(1);
    let report = run.json();
    assert_eq!(report["clusters"][0]["result"], "configured", "{report}");
    assert_cluster_failed(&report, 1, "does not exist in cluster b");
    let again = env
        .mesh(&["expose", "--service", "web", "--contexts", "a", "-o", "json"])
        .success();
    assert_eq!(again.json()["clusters"][0]["result"], "unchanged");
    let bad = env
        .mesh(&[
            "expose",
            "--service",
            "web",
            "--contexts",
            "a",
            "--traffic-distribution",
            "Nearest",
        ])
        .code(2);
    assert!(bad.stderr.contains("invalid value 'Nearest'"), "{}", bad.stderr);
}

#[test]
fn remote_secret_credentials_are_tried() {
    let env = with_istio(&["a", "b"]);
    with_trust(&env, &["a", "b"]);
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    env.mesh(&[
        "link",
        "--mode",
        "remote-secret",
        "--contexts",
        "a,b",
        "--token-duration",
        "24h",
    ])
    .success();
    let (code, checks) = verify(&env, &CHECK_CREDENTIALS);
    assert_eq!(code, 0, "{checks:#?}");
    let creds = find(&checks, "link-credentials", None, Some(("a", "b")));
    assert_eq!(creds["status"], "pass");
    assert!(
        creds["message"]
            .as_str()
            .unwrap()
            .contains("token authenticates; expires "),
        "{creds}"
    );
    // Break a's secret for b: the token no longer authenticates.
    let path = "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-b";
    let mut secret = env.cluster("a").object(path).unwrap();
    let config = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(secret["data"]["b"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let broken: String = config
        .lines()
        .map(|l| {
            if l.trim().starts_with("token: ") {
                "    token: revoked\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    secret["data"]["b"] = json!(base64::engine::general_purpose::STANDARD.encode(broken));
    env.cluster("a").put_object(secret).unwrap();
    let run = env.mesh(&[&["verify", "-o", "json"][..], &CHECK_CREDENTIALS].concat());
    assert_eq!(run.code, 1);
    assert!(
        !run.stdout.contains("revoked") && !run.stderr.contains("revoked"),
        "tokens are never printed"
    );
    let checks = run.json()["checks"].as_array().cloned().unwrap();
    let creds = find(&checks, "link-credentials", None, Some(("a", "b")));
    assert_eq!(creds["status"], "fail");
    assert!(creds["message"].as_str().unwrap().contains("401"), "{creds}");
}

/// Issue 13 item 3: a peer Gateway without `topology.istio.io/cluster`, or naming another
/// cluster, is a failed link (Solo's translator would take the network for the cluster), with
/// the link command as its fix.
#[test]
fn peer_gateway_without_the_right_cluster_label_fails_its_link() {
    let env = mesh_of(&["a", "b", "c"]);
    let mut missing = env.cluster("a").object(&peer_path("b")).unwrap();
    missing["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("topology.istio.io/cluster");
    env.cluster("a").put_object(missing).unwrap();
    let mut wrong = env.cluster("b").object(&peer_path("c")).unwrap();
    wrong["metadata"]["labels"]["topology.istio.io/cluster"] = json!("network-c");
    env.cluster("b").put_object(wrong).unwrap();

    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1);
    let check = find(&checks, "link", None, Some(("a", "b")));
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("cluster label is missing (want b)"),
        "{check}"
    );
    assert_eq!(check["hint"], "kubectl mesh link --from a --to b");
    let check = find(&checks, "link", None, Some(("b", "c")));
    assert_eq!(check["status"], "fail", "{check}");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("cluster label is network-c, want c"),
        "{check}"
    );
    // The missing label is ours to add; the wrong one was written by another field manager
    // (the seed), whose value server-side apply will not take over without being asked.
    env.mesh(&["link", "--contexts", "a,b,c"]).code(1);
    env.mesh(&["link", "--from", "b", "--to", "c", "--force-conflicts"])
        .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 0, "{checks:#?}");
}

/// Issue 13 item 5: `expose --service` writes the label of the flavour, and `verify --services`
/// reads the same rule: istio.io/global for upstream ambient, solo.io/service-scope for
/// ambient-peering; sidecar has no such label (exit 2, nothing written).
#[test]
fn each_flavour_makes_a_service_global_with_its_own_label() {
    let env = mesh_of(&["a", "b"]);
    for name in ["a", "b"] {
        env.cluster(name)
            .put_object(service("default", "ratings", json!({"app": "ratings"})))
            .unwrap();
    }
    let path = "/api/v1/namespaces/default/services/ratings";
    env.mesh(&[
        "expose",
        "--flavor",
        "ambient",
        "--service",
        "ratings",
        "--contexts",
        "a,b",
    ])
    .success();
    let live = env.cluster("a").object(path).unwrap();
    assert_eq!(live["metadata"]["labels"]["istio.io/global"], "true");
    assert!(
        live["metadata"]["labels"].get("solo.io/service-scope").is_none(),
        "{live}"
    );

    let (code, checks) = verify_services_as_ambient(&env);
    assert_eq!(code, 0, "{checks:#?}");
    let check = checks.iter().find(|c| c["id"] == "global-service").unwrap();
    assert_eq!(check["status"], "pass", "{check}");
    assert!(
        check["message"].as_str().unwrap().contains("endpoints from a, b"),
        "{check}"
    );
    // Upstream ambient has no global domain: clients keep the Service's own host.
    assert_eq!(check["service"], "ratings.default.svc.cluster.local");
    // The peering flavour does not read istio.io/global: verify says which label it wants.
    let (_, checks) = verify(&env, &["--contexts", "a,b", "--services"]);
    let check = checks.iter().find(|c| c["id"] == "global-service").unwrap();
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(check["service"], "ratings.default.mesh.internal");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("labelled istio.io/global"),
        "{check}"
    );

    for (flags, expected) in [
        (
            vec!["--flavor", "sidecar"],
            "no label to write for flavour sidecar",
        ),
        (
            vec!["--flavor", "ambient", "--scope", "global-only"],
            "--scope global-only is Solo's",
        ),
    ] {
        env.cluster("b").reset_counts();
        let mut full = vec!["expose", "--service", "ratings", "--contexts", "a,b"];
        full.extend(flags);
        let run = env.mesh(&full).code(2);
        assert!(run.stderr.contains(expected), "{}", run.stderr);
        assert_eq!(env.cluster("b").counts().writes(), 0);
    }
}

#[test]
fn gateway_on_another_network_than_istio_system_fails() {
    let env = mesh_of(&["a", "b"]);
    let a = env.cluster("a");
    let mut ns = a.object(ISTIO_SYSTEM).unwrap();
    ns["metadata"]["labels"]["topology.istio.io/network"] = json!("moved");
    a.put_object(ns).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 1, "{checks:#?}");
    let check = find(&checks, "eastwest", Some("a"), None);
    assert_eq!(check["status"], "fail");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .contains("is on network network-a, but istio-system's topology.istio.io/network is moved"),
        "{check}"
    );
    assert!(
        check["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("--network moved"),
        "{check}"
    );
    assert_eq!(status(&checks, "eastwest", Some("b"), None), "pass");
}

#[test]
fn an_intermediate_of_another_cluster_or_in_two_clusters_fails() {
    let env = mesh_of(&["a", "b", "c"]);
    let path = "/api/v1/namespaces/istio-system/secrets/cacerts";
    // a's cacerts copied into b, as `certs secret --contexts a=b --force` would do.
    let mut secret = env.cluster("a").object(path).unwrap();
    for key in ["uid", "resourceVersion", "creationTimestamp", "managedFields"] {
        secret["metadata"].as_object_mut().unwrap().remove(key);
    }
    env.cluster("b").put_object(secret).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1, "{checks:#?}");
    let b = find(&checks, "cacerts", Some("b"), None);
    assert_eq!(b["status"], "fail");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("issued for cluster a, not for b"),
        "{b}"
    );
    assert_eq!(status(&checks, "cacerts", Some("a"), None), "pass");
    let shared = find(&checks, "unique-intermediate", None, None);
    assert_eq!(shared["status"], "fail");
    assert!(shared["message"].as_str().unwrap().contains("a, b"), "{shared}");
}

#[test]
fn a_global_service_configured_differently_per_cluster_is_a_warning() {
    let env = mesh_of(&["a", "b"]);
    for c in ["a", "b"] {
        env.cluster(c)
            .put_object(service("default", "web", json!({})))
            .unwrap();
    }
    env.mesh(&[
        "expose",
        "--service",
        "web",
        "--contexts",
        "a,b",
        "--traffic-distribution",
        "PreferNetwork",
    ])
    .success();
    env.mesh(&[
        "expose",
        "--service",
        "web",
        "--contexts",
        "a",
        "--scope",
        "global-only",
    ])
    .success();
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--services"]);
    assert_eq!(code, 0, "a warning: {checks:#?}");
    let web: Vec<&Value> = checks.iter().filter(|c| c["id"] == "global-service").collect();
    assert_eq!(web.len(), 1, "one check per service: {web:#?}");
    assert_eq!(web[0]["status"], "warn");
    let message = web[0]["message"].as_str().unwrap();
    assert!(
        message.contains("configured differently per cluster"),
        "{message}"
    );
    assert!(
        message.contains("a: global-only") && message.contains("b: global, PreferNetwork"),
        "{message}"
    );
}

/// p primary, r1 and r2 its remotes (sidecar): east-west gateways, istiod exposed in p, the
/// primary's remote secrets and the remotes' control-plane annotation, as `link --primary`
/// makes them; r1 runs no istiod of its own (istio.io primary-remote: `pilot.enabled=false`).
fn primary_remote_mesh() -> Env {
    let env = with_istio(&["p", "r1", "r2"]);
    with_trust(&env, &["p", "r1", "r2"]);
    env.mesh(&[
        "expose",
        "--context",
        "p",
        "--flavor",
        "sidecar",
        "--expose-istiod",
        "--wait=30s",
    ])
    .success();
    env.mesh(&[
        "expose",
        "--contexts",
        "r1,r2",
        "--flavor",
        "sidecar",
        "--wait=30s",
    ])
    .success();
    env.mesh(&[
        "link",
        "--mode",
        "remote-secret",
        "--primary",
        "p",
        "--remotes",
        "r1,r2",
    ])
    .success();
    env.kubectl(&[
        "--context",
        "r1",
        "-n",
        "istio-system",
        "delete",
        "deployment",
        "istiod",
    ])
    .success();
    env
}

/// `(id, where, status)` of every check of a JSON report.
fn check_rows(run: &Run) -> Vec<(String, String, String)> {
    run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let place = match (c.get("cluster"), c.get("from"), c.get("to")) {
                (Some(cluster), _, _) => cluster.as_str().unwrap().to_string(),
                (None, Some(from), Some(to)) => {
                    format!("{} -> {}", from.as_str().unwrap(), to.as_str().unwrap())
                }
                _ => "mesh".to_string(),
            };
            (
                c["id"].as_str().unwrap().to_string(),
                place,
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn primary_remote_is_verified_as_primary_remote() {
    let env = primary_remote_mesh();
    // As a full mesh, it fails: the remotes hold no remote secrets, r1 no istiod.
    env.mesh(&["verify", "--contexts", "p,r1,r2", "--flavor", "sidecar"])
        .code(1);

    let run = env
        .mesh(&["verify", "--primary", "p", "--remotes", "r1,r2", "-o", "json"])
        .success();
    let rows = check_rows(&run);
    let has = |id: &str, place: &str, status: &str| {
        rows.iter().any(|(i, p, s)| i == id && p == place && s == status)
    };
    for remote in ["r1", "r2"] {
        assert!(has("link", &format!("p -> {remote}"), "pass"), "{rows:#?}");
        assert!(has("control-plane", remote, "pass"), "{rows:#?}");
        assert!(
            !rows.iter().any(|(i, p, _)| i == "link" && p.starts_with(remote)),
            "a remote needs no remote secret: {rows:#?}"
        );
    }
    assert!(has("istiod-exposed", "p", "pass"), "{rows:#?}");
    assert!(
        !rows.iter().any(|(i, p, _)| i == "istiod" && p == "r1"),
        "a remote runs no istiod: {rows:#?}"
    );
    let doc = run.json();
    assert_eq!(doc["topology"]["name"], "primary-remote");
    assert_eq!(doc["topology"]["expectedLinks"], 2);
    // The same from a topology file.
    let file = write_topology(
        &env,
        "flavor: sidecar\nmodel: primary-remote\nprimary: p\ncontexts:\n  p: {network: network-p}\n  r1: {network: network-r1}\n  r2: {network: network-r2}\n",
    );
    let run = env.mesh(&["verify", "-f", &file, "-o", "json"]).success();
    assert_eq!(check_rows(&run).iter().filter(|(_, _, s)| s == "fail").count(), 0);

    // A remote holding a secret for another remote: not needed, so a warning.
    env.mesh(&["link", "--mode", "remote-secret", "--from", "r1", "--to", "r2"])
        .success();
    let run = env
        .mesh(&[
            "verify",
            "--primary",
            "p",
            "--remotes",
            "r1,r2",
            "-o",
            "json",
            "--strict",
        ])
        .code(3);
    assert!(check_rows(&run).contains(&("link".into(), "r1 -> r2".into(), "warn".into())));

    // What primary-remote needs, broken one piece at a time: reported where it is.
    env.kubectl(&[
        "--context",
        "r2",
        "annotate",
        "namespace",
        "istio-system",
        "topology.istio.io/controlPlaneClusters-",
    ])
    .success();
    env.kubectl(&[
        "--context",
        "p",
        "-n",
        "istio-system",
        "delete",
        "virtualservice",
        "istiod-vs",
    ])
    .success();
    env.kubectl(&[
        "--context",
        "p",
        "-n",
        "istio-system",
        "delete",
        "secret",
        "istio-remote-secret-r1",
    ])
    .success();
    let run = env
        .mesh(&["verify", "--primary", "p", "--remotes", "r1,r2", "-o", "json"])
        .code(1);
    let checks = run.json()["checks"].as_array().cloned().unwrap();
    let find = |id: &str, key: &str, value: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id && c[key] == value && c["status"] == "fail")
            .unwrap_or_else(|| panic!("no failed {id} at {value}: {checks:#?}"))
            .clone()
    };
    let control = find("control-plane", "cluster", "r2");
    assert!(
        control["message"]
            .as_str()
            .unwrap()
            .contains("no topology.istio.io/controlPlaneClusters annotation"),
        "{control:#}"
    );
    assert_eq!(
        control["hint"],
        "kubectl mesh link --mode remote-secret --primary p --remotes r2"
    );
    let exposed = find("istiod-exposed", "cluster", "p");
    assert!(
        exposed["message"]
            .as_str()
            .unwrap()
            .contains("VirtualService istio-system/istiod-vs"),
        "{exposed:#}"
    );
    let link = checks
        .iter()
        .find(|c| c["id"] == "link" && c["from"] == "p" && c["to"] == "r1")
        .unwrap();
    assert_eq!(link["status"], "fail", "{link:#}");
    assert!(
        checks
            .iter()
            .any(|c| c["id"] == "link" && c["from"] == "p" && c["to"] == "r2" && c["status"] == "pass"),
        "the other pair is fine"
    );
}

#[test]
fn primary_remote_bad_input_sends_nothing() {
    let env = with_istio(&["p", "r1"]);
    for (args, expected) in [
        (
            vec!["verify", "--primary", "p", "--remotes", "r1", "--mode", "peering"],
            "--primary: primary-remote needs flavour sidecar with remote-secret links",
        ),
        (
            vec!["verify", "--primary", "p", "--remotes", "r1,p"],
            "--primary and --remotes name the same cluster twice",
        ),
        (
            vec!["verify", "--primary", "p", "--remotes", "nope"],
            "context \"nope\" not found",
        ),
        (
            vec![
                "verify",
                "--primary",
                "p",
                "--remotes",
                "r1",
                "--contexts",
                "p,r1",
            ],
            "cannot be used with",
        ),
    ] {
        let run = env.mesh(&args).code(2);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
    for c in ["p", "r1"] {
        assert_eq!(env.cluster(c).counts().total(), 0, "no request to {c}");
    }
}

/// istiod loads every secret labelled istio/multiCluster, ours or not: one made by
/// `istioctl create-remote-secret` links its pair, and verify says so.
#[test]
fn a_remote_secret_istioctl_made_counts_as_a_link() {
    let env = with_istio(&["a", "b"]);
    with_trust(&env, &["a", "b"]);
    env.mesh(&["expose", "--contexts", "a,b", "--flavor", "ambient", "--wait=30s"])
        .success();
    env.mesh(&["link", "--mode", "remote-secret", "--contexts", "a,b"])
        .success();
    // The same secret, as istioctl makes it: without our managed-by label.
    let path = "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-b";
    let mut secret = env.cluster("a").object(path).expect("a's secret for b");
    let metadata = secret["metadata"].as_object_mut().expect("metadata");
    metadata.retain(|key, _| ["name", "namespace", "labels", "annotations"].contains(&key.as_str()));
    metadata["labels"] = serde_json::json!({"istio/multiCluster": "true"});
    env.mesh(&[
        "link",
        "--mode",
        "remote-secret",
        "--from",
        "a",
        "--to",
        "b",
        "--unlink",
    ])
    .success();
    env.kubectl_stdin(&["--context", "a", "create", "-f", "-"], &secret.to_string())
        .success();

    let (code, checks) = verify(&env, &["--contexts", "a,b", "--flavor", "ambient"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(status(&checks, "link", None, Some(("a", "b"))), "pass");
}

/// istiod signs with ca-key.pem: a cacerts without it (istiod falls back to a self-signed
/// root) or with another cluster's key (istiod cannot load it) fails its cacerts check.
#[test]
fn cacerts_without_its_key_or_with_another_key_fails() {
    let env = mesh_of(&["a", "b", "c"]);
    let path = "/api/v1/namespaces/istio-system/secrets/cacerts";
    let b_key = env.cluster("b").object(path).unwrap()["data"]["ca-key.pem"].clone();
    let mut a = env.cluster("a").object(path).unwrap();
    a["data"]["ca-key.pem"] = b_key;
    env.cluster("a").put_object(a).unwrap();
    let mut c = env.cluster("c").object(path).unwrap();
    c["data"].as_object_mut().unwrap().remove("ca-key.pem");
    env.cluster("c").put_object(c).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1);
    let message = |cluster| find(&checks, "cacerts", Some(cluster), None)["message"].to_string();
    assert!(
        message("a").contains("ca-key.pem does not match ca-cert.pem"),
        "{}",
        message("a")
    );
    assert!(message("c").contains("no ca-key.pem"), "{}", message("c"));
    assert_eq!(status(&checks, "cacerts", Some("b"), None), "pass");
    // The key is compared, never shown.
    let b_pem = env.cluster("b").object(path).unwrap()["data"]["ca-key.pem"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!serde_json::to_string(&checks).unwrap().contains(&b_pem));
}

/// A root that runs out soon ends every intermediate it signed: said on its own, with a fix
/// that is not "rotate the intermediate".
#[test]
fn a_root_expiring_soon_is_reported() {
    let env = with_istio(&["a"]);
    let (cert, key) = common::certs::openssl_root_for(&env.dir.path().join("short-root"), "short", "20");
    let certs = env.dir.path().join("certs");
    common::certs::generate_into(&env, "a", &certs, &common::certs::root_flags(&cert, &key)).success();
    common::certs::secret(&env, "a", &certs, &["--force"]).success();
    let (_, checks) = verify(&env, &["--contexts", "a"]);
    let root = checks
        .iter()
        .find(|c| {
            c["id"] == "cacerts-expiry"
                && c["message"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("the root expires in")
        })
        .unwrap_or_else(|| panic!("{checks:#?}"));
    assert_eq!(root["status"], "warn", "{root}");
    assert!(
        root["hint"].as_str().unwrap().contains("certs root --force"),
        "{root}"
    );
}

/// An east-west gateway Istio cannot use as one fails, with what is wrong: a peering
/// Gateway turned into an ingress (class istio, 443/TLS), one without its network label, and
/// a sidecar Service without port 15443.
#[test]
fn an_east_west_gateway_of_the_wrong_shape_fails() {
    let env = mesh_of(&["a", "b", "c"]);
    let mut a = env.cluster("a").object(GATEWAY).unwrap();
    a["spec"]["gatewayClassName"] = json!("istio");
    a["spec"]["listeners"][0] =
        json!({"name": "cross-network", "port": 443, "protocol": "TLS", "tls": {"mode": "Passthrough"}});
    env.cluster("a").put_object(a).unwrap();
    let mut b = env.cluster("b").object(GATEWAY).unwrap();
    b["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("topology.istio.io/network");
    env.cluster("b").put_object(b).unwrap();
    let (code, checks) = verify(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 1);
    let a = find(&checks, "eastwest", Some("a"), None);
    let message = a["message"].as_str().unwrap();
    assert!(
        message.contains("its class istio is not an east-west class"),
        "{message}"
    );
    assert!(
        message.contains("no HBONE listener on port 15008 (TLS Passthrough)"),
        "{message}"
    );
    let b = find(&checks, "eastwest", Some("b"), None);
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .ends_with("has no topology.istio.io/network label"),
        "{b}"
    );
    assert_eq!(b["hint"], "kubectl mesh expose --context b --network network-b");
    assert_eq!(status(&checks, "eastwest", Some("c"), None), "pass");
}

/// A direction missing is a warning for bare --contexts (link --from --to may have made one
/// on purpose) and a failure where a topology wants it: the full mesh given as one included.
#[test]
fn a_one_way_link_fails_when_the_full_mesh_is_asked_for() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("a").delete_object(&peer_path("b")).expect("deleted");
    let (code, checks) = verify(&env, &["--contexts", "a,b"]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(status(&checks, "link", None, Some(("a", "b"))), "warn");
    let (code, checks) = verify(&env, &["--contexts", "a,b", "--topology", "full-mesh"]);
    assert_eq!(code, 1);
    let check = find(&checks, "link", None, Some(("a", "b")));
    assert_eq!(check["status"], "fail");
    assert!(
        check["message"]
            .as_str()
            .unwrap()
            .ends_with("which the full-mesh topology wants"),
        "{check}"
    );
}
