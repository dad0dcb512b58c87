//! Reaching clusters the way kubectl does: merged KUBECONFIG lists, current context, named
//! contexts, exec credential plugins, and TLS verification that is on unless the kubeconfig
//! turns it off (and then we say so).

mod common;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A kubeconfig with one context per (context name, cluster entry, user entry).
fn kubeconfig(entries: &[(&str, Value, Value)], current: &str) -> String {
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": entries.iter().map(|(n, c, _)| json!({"name": n, "cluster": c})).collect::<Vec<_>>(),
        "users": entries.iter().map(|(n, _, u)| json!({"name": n, "user": u})).collect::<Vec<_>>(),
        "contexts": entries.iter().map(|(n, _, _)| json!({"name": n, "context": {"cluster": n, "user": n}})).collect::<Vec<_>>(),
    });
    serde_yaml_ng::to_string(&doc).unwrap()
}

fn cluster_entry(env: &Env, name: &str) -> Value {
    let c = env.cluster(name);
    json!({"server": c.server_url(), "certificate-authority-data": b64(c.ca_pem())})
}

fn token_user(env: &Env, name: &str) -> Value {
    json!({"token": env.cluster(name).token()})
}

#[test]
fn kubeconfig_list_is_merged_like_kubectl() {
    let env = with_istio(&["a", "b"]);
    let first = env.dir.path().join("first");
    let second = env.dir.path().join("second");
    std::fs::write(
        &first,
        kubeconfig(&[("a", cluster_entry(&env, "a"), token_user(&env, "a"))], "a"),
    )
    .unwrap();
    std::fs::write(
        &second,
        kubeconfig(&[("b", cluster_entry(&env, "b"), token_user(&env, "b"))], "b"),
    )
    .unwrap();
    let list = format!(
        "{}:{}:{}",
        first.display(),
        env.dir.path().join("missing").display(),
        second.display()
    );
    let run = env.mesh_with_kubeconfig_env(&list, &["expose", "--contexts", "a,b"]);
    run.success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
    assert!(env.cluster("b").object(GATEWAY).is_some());
    // The first file's current-context wins: no --context means cluster a.
    env.cluster("a").delete_object(GATEWAY);
    env.mesh_with_kubeconfig_env(&list, &["expose"]).success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
}

#[test]
fn clusters_can_be_named_apart_from_their_contexts() {
    let env = with_istio(&["a", "b"]);
    let run = env
        .mesh(&["expose", "--contexts", "east-1=a,west-1=b", "-o", "json"])
        .success();
    let report = run.json();
    assert_eq!(report["clusters"][0]["cluster"], "east-1");
    assert_eq!(report["clusters"][0]["context"], "a");
    assert_eq!(report["clusters"][1]["cluster"], "west-1");
}

#[test]
fn exec_credential_plugins_are_run() {
    let env = with_istio(&["a"]);
    let credential = json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": env.cluster("a").token()},
    });
    let plugin = env.dir.path().join("credential-plugin");
    std::fs::write(&plugin, format!("#!/bin/sh\ncat <<'JSON'\n{credential}\nJSON\n")).unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let user = json!({"exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": plugin.to_str().unwrap(),
        "interactiveMode": "Never",
    }});
    let path = env.dir.path().join("exec-config");
    std::fs::write(&path, kubeconfig(&[("a", cluster_entry(&env, "a"), user)], "a")).unwrap();
    env.mesh(&["expose", "--kubeconfig", path.to_str().unwrap()])
        .success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
}

/// `expose` with the kubeconfig at `path` fails on cluster a's certificate, and no request
/// reaches a.
#[track_caller]
fn assert_rejected_in_the_handshake(env: &Env, path: &std::path::Path) -> Run {
    let run = env
        .mesh(&[
            "expose",
            "--kubeconfig",
            path.to_str().unwrap(),
            "--network",
            "n",
            "--timeout",
            "5s",
        ])
        .code(1);
    assert!(
        run.stderr.to_lowercase().contains("certificate"),
        "{}",
        run.stderr
    );
    // Recognised as a TLS rejection (from the error's type): not retried, and the fix named.
    assert!(
        run.stderr
            .contains("does not verify against the certificate-authority of context"),
        "{}",
        run.stderr
    );
    assert_eq!(
        env.cluster("a").counts().total(),
        0,
        "no request got through the handshake"
    );
    run
}

#[test]
fn tls_is_verified_against_the_kubeconfig_ca() {
    let env = with_istio(&["a", "b"]);
    // Cluster a's server, but cluster b's CA: the server certificate must not be accepted.
    let wrong = json!({"server": env.cluster("a").server_url(), "certificate-authority-data": b64(env.cluster("b").ca_pem())});
    let path = env.dir.path().join("wrong-ca");
    std::fs::write(&path, kubeconfig(&[("a", wrong, token_user(&env, "a"))], "a")).unwrap();
    let run = assert_rejected_in_the_handshake(&env, &path);
    assert!(
        !run.stderr.contains(env.cluster("a").token()),
        "tokens never appear in errors"
    );
}

#[test]
fn skipping_tls_verification_is_never_silent() {
    let env = with_istio(&["a"]);
    let insecure = json!({"server": env.cluster("a").server_url(), "insecure-skip-tls-verify": true});
    let path = env.dir.path().join("insecure");
    std::fs::write(&path, kubeconfig(&[("a", insecure, token_user(&env, "a"))], "a")).unwrap();
    let run = env
        .mesh(&["expose", "--kubeconfig", path.to_str().unwrap()])
        .success();
    assert!(run.stderr.contains("TLS verification is OFF"), "{}", run.stderr);
}

#[test]
fn client_certificates_authenticate() {
    let env = with_istio(&["a", "b"]);
    let path = env.dir.path().join("cert-config");
    env.sandbox
        .write_kubeconfig_with(&path, mesh_testkit::Auth::ClientCert)
        .unwrap();
    let config = std::fs::read_to_string(&path).unwrap();
    assert!(
        config.contains("client-key-data") && !config.contains("token:"),
        "a cert-only kubeconfig"
    );
    env.mesh(&[
        "expose",
        "--kubeconfig",
        path.to_str().unwrap(),
        "--contexts",
        "a,b",
    ])
    .success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
    let users: Vec<String> = env
        .cluster("a")
        .request_log()
        .iter()
        .map(|r| r.user.clone())
        .collect();
    assert!(
        users.iter().all(|u| u == "kubernetes-admin"),
        "authenticated by the certificate: {users:?}"
    );
}

#[test]
fn requests_go_over_http2_like_kubectl() {
    let env = with_istio(&["a", "b"]);
    env.mesh(&["expose", "--contexts", "a,b", "--wait=10s"]).success();
    env.mesh(&["link", "--contexts", "a,b"]).success();
    let log = env.cluster("b").request_log();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| r.http_version == "HTTP/2.0"),
        "{:?}",
        log.iter().map(|r| &r.http_version).collect::<Vec<_>>()
    );
}

#[test]
fn tls_server_name_is_the_name_verified() {
    let env = with_istio(&["a"]);
    // The serving certificate is for localhost and 127.0.0.1.
    let entry = |name: &str| json!({"server": env.cluster("a").server_url(), "certificate-authority-data": b64(env.cluster("a").ca_pem()), "tls-server-name": name});
    let good = env.dir.path().join("good-name");
    std::fs::write(
        &good,
        kubeconfig(&[("a", entry("localhost"), token_user(&env, "a"))], "a"),
    )
    .unwrap();
    env.mesh(&[
        "verify",
        "--kubeconfig",
        good.to_str().unwrap(),
        "--contexts",
        "a",
        "-o",
        "json",
    ])
    .code(1); // a lone cluster with no gateway fails checks, but it was reached:
    assert!(env.cluster("a").counts().total() > 0);
    env.cluster("a").reset_counts();
    let bad = env.dir.path().join("bad-name");
    std::fs::write(
        &bad,
        kubeconfig(&[("a", entry("kubernetes.example"), token_user(&env, "a"))], "a"),
    )
    .unwrap();
    assert_rejected_in_the_handshake(&env, &bad);
}
