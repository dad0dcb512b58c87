//! Real kubectl with client-certificate kubeconfigs, and proof that kubectl really
//! verifies the serving certificate against `certificate-authority-data`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use mesh_testkit::{Auth, Sandbox};

mod common;

use common::kubectl::Kubectl;
use common::sandbox;
use serde_yaml_ng::Value;

/// The kubeconfig's `section` entry called `name` (e.g. `users`/`a`), mutably.
fn entry<'v>(cfg: &'v mut Value, section: &str, name: &str) -> &'v mut Value {
    cfg[section]
        .as_sequence_mut()
        .and_then(|s| s.iter_mut().find(|e| e["name"].as_str() == Some(name)))
        .unwrap_or_else(|| panic!("no {section} entry {name}"))
}

/// kubectl whose user for cluster `a` presents the client certificate `cert` (key `key`).
fn kubectl_with_cert(sb: &Sandbox, (cert, key): (String, String)) -> Kubectl {
    let mut cfg: Value = serde_yaml_ng::from_str(&sb.kubeconfig_yaml_with(Auth::ClientCert)).expect("YAML");
    let user = &mut entry(&mut cfg, "users", "a")["user"];
    user["client-certificate-data"] = B64.encode(cert).into();
    user["client-key-data"] = B64.encode(key).into();
    Kubectl::with_yaml(&serde_yaml_ng::to_string(&cfg).expect("YAML"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_ns_with_a_client_cert_kubeconfig() {
    let sb = sandbox(&["a", "b"]).await;
    let yaml = sb.kubeconfig_yaml_with(Auth::ClientCert);
    let cfg: Value = serde_yaml_ng::from_str(&yaml).expect("kubeconfig YAML");
    for u in cfg["users"].as_sequence().expect("users") {
        assert!(u["user"].get("token").is_none(), "{yaml}");
        assert!(u["user"]["client-certificate-data"].is_string(), "{yaml}");
        assert!(u["user"]["client-key-data"].is_string(), "{yaml}");
    }
    // The token kubeconfig is unchanged.
    assert!(sb.kubeconfig_yaml().contains(sb.cluster("a").token()));

    let k = Kubectl::with_yaml(&yaml);
    for ctx in ["a", "b"] {
        let o = k.run(&["--context", ctx, "get", "ns"]).await;
        assert!(o.ok, "kubectl get ns ({ctx}): {}{}", o.stdout, o.stderr);
        assert!(
            o.stdout.lines().any(|l| l.starts_with("kube-system ")),
            "{}",
            o.stdout
        );
        let c = sb.cluster(ctx);
        assert!(c.counts().list >= 1);
        let log = c.request_log();
        assert!(!log.is_empty());
        for l in &log {
            assert_eq!(l.user, "kubernetes-admin", "{log:?}");
            assert_eq!(l.groups, vec!["system:masters".to_string()], "{log:?}");
            assert_eq!(l.status, 200, "{log:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_forbidden_names_the_certificate_user() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let k = kubectl_with_cert(&sb, a.client_cert("erin"));

    a.deny("list", "namespaces");
    let o = k.run(&["get", "ns"]).await;
    assert!(!o.ok, "{}", o.stdout);
    assert!(
        o.stderr.contains(
            "User \"erin\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
        ),
        "{}",
        o.stderr
    );
    assert!(a
        .request_log()
        .iter()
        .any(|l| l.status == 403 && l.user == "erin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_rejects_a_client_cert_from_another_clusters_ca() {
    let sb = sandbox(&["a", "b"]).await;
    let (a, b) = (sb.cluster("a"), sb.cluster("b"));
    let k = kubectl_with_cert(&sb, b.client_cert("mallory"));

    let o = k.run(&["--request-timeout", "10s", "get", "ns"]).await;
    assert!(!o.ok, "{}", o.stdout);
    assert!(o.stderr.contains("unknown certificate authority"), "{}", o.stderr);
    assert!(
        a.request_log().iter().all(|l| l.user != "mallory"),
        "{:?}",
        a.request_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_verifies_the_serving_certificate() {
    let sb = sandbox(&["a", "b"]).await;
    let (a, b) = (sb.cluster("a"), sb.cluster("b"));
    for auth in [Auth::Token, Auth::ClientCert] {
        let mut cfg: Value = serde_yaml_ng::from_str(&sb.kubeconfig_yaml_with(auth)).expect("YAML");
        // Cluster a's entry trusts b's CA instead of a's.
        entry(&mut cfg, "clusters", "a")["cluster"]["certificate-authority-data"] =
            B64.encode(b.ca_pem()).into();
        let k = Kubectl::with_yaml(&serde_yaml_ng::to_string(&cfg).expect("YAML"));

        let o = k.run(&["--request-timeout", "10s", "get", "ns"]).await;
        assert!(!o.ok, "{auth:?}: {}", o.stdout);
        assert!(
            o.stderr.contains("x509: certificate signed by unknown authority"),
            "{auth:?}: {}",
            o.stderr
        );
        // The client gave up in the handshake: no HTTP request reached a.
        assert_eq!(a.counts().total(), 0, "{auth:?}: {:?}", a.request_log());

        // The same kubeconfig still works for b, whose entry is untouched.
        let o = k.run(&["--context", "b", "get", "ns"]).await;
        assert!(o.ok, "{auth:?}: {}{}", o.stdout, o.stderr);
    }
}
