//! `kubectl mesh link --mode remote-secret` (flavours ambient and sidecar) end to end.

mod common;

use base64::Engine;
use common::*;
use serde_json::Value;

fn secret_path(target: &str) -> String {
    format!("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-{target}")
}

const CLUSTER_ROLE: &str = "/apis/rbac.authorization.k8s.io/v1/clusterroles/istio-reader-kubectl-mesh";

/// `kubectl-mesh link --mode remote-secret <args>`.
fn link_remote(env: &Env, args: &[&str]) -> Run {
    env.mesh(&[&["link", "--mode", "remote-secret"], args].concat())
}

/// a and b peer both ways, and hold no remote secret for each other any more.
fn assert_linked_by_peering_only(env: &Env) {
    for (from, to) in [("a", "b"), ("b", "a")] {
        let c = env.cluster(from);
        assert!(
            c.object(&secret_path(to)).is_none(),
            "{from} -> {to}: remote secret"
        );
        assert!(c.object(&peer_path(to)).is_some(), "{from} -> {to}: peer Gateway");
    }
}

fn kubeconfig_in(secret: &Value, target: &str) -> String {
    let encoded = secret["data"][target].as_str().expect("kubeconfig entry");
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap()
}

#[test]
fn full_mesh_of_remote_secrets_that_authenticate() {
    let env = with_istio(&["a", "b", "c"]);
    let run = link_remote(&env, &["--contexts", "a,b,c", "-o", "json"]).success();
    assert_eq!(links(&run).len(), 6);
    assert_links_all(&run, "created");
    for (from, to) in pairs(&["a", "b", "c"]) {
        let secret = env
            .cluster(from)
            .object(&secret_path(to))
            .unwrap_or_else(|| panic!("{from} -> {to}"));
        assert_eq!(secret["metadata"]["labels"]["istio/multiCluster"], "true");
        assert_eq!(
            secret["metadata"]["annotations"]["networking.istio.io/cluster"],
            to
        );
        // The kubeconfig inside really authenticates against the target, as the reader.
        let config = kubeconfig_in(&secret, to);
        let path = env.dir.path().join(format!("remote-{from}-{to}"));
        std::fs::write(&path, &config).unwrap();
        env.cluster(to).reset_counts();
        env.kubectl(&["--kubeconfig", path.to_str().unwrap(), "get", "namespaces"])
            .success();
        let users: Vec<String> = env
            .cluster(to)
            .request_log()
            .iter()
            .map(|r| r.user.clone())
            .collect();
        assert!(
            users
                .iter()
                .any(|u| u == "system:serviceaccount:istio-system:istio-reader-service-account"),
            "{users:?}"
        );
    }
}

/// Issue 13 item 11: the reader ClusterRole is Istio's own (istio 1.30.3 chart
/// istio-reader-clusterrole, as `istioctl create-remote-secret` applies it): secrets
/// cluster-wide for credentialName, tokenreviews/subjectaccessreviews create, Gateway API
/// gateways only (no `*`); no extra Role in istio-system, which istioctl does not create.
#[test]
fn reader_cluster_role_is_istios_reader_and_nothing_else() {
    let env = with_istio(&["a", "b"]);
    link_remote(&env, &["--contexts", "a,b"]).success();
    let role = env.cluster("b").object(CLUSTER_ROLE).expect("cluster role");
    let rules = role["rules"].as_array().unwrap();
    let grants = |group: &str, resource: &str, verb: &str| {
        rules.iter().any(|r| {
            let has = |field: &str, v: &str| r[field].as_array().unwrap().iter().any(|x| x == v);
            has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
        })
    };
    assert!(grants("", "secrets", "list"), "secrets cluster-wide: {rules:?}");
    assert!(grants("authentication.k8s.io", "tokenreviews", "create"));
    assert!(grants("authorization.k8s.io", "subjectaccessreviews", "create"));
    assert!(grants("gateway.networking.k8s.io", "gateways", "watch"));
    assert!(
        !grants("gateway.networking.k8s.io", "*", "get"),
        "no * on Gateway API"
    );
    assert!(!grants("gateway.networking.k8s.io", "httproutes", "get"));
    assert!(!grants("", "configmaps", "update"), "no remote-profile extras");
    for rule in rules {
        for verb in rule["verbs"].as_array().unwrap() {
            assert!(
                ["get", "list", "watch", "create", "delete"].contains(&verb.as_str().unwrap()),
                "{rule}"
            );
        }
    }
    let binding = env
        .cluster("b")
        .object("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/istio-reader-kubectl-mesh")
        .unwrap();
    assert_eq!(binding["subjects"][0]["name"], "istio-reader-service-account");
    assert!(env
        .cluster("b")
        .object("/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/roles/istio-reader-kubectl-mesh")
        .is_none());
}

/// Issue 13 item 12: testkit clusters listen on 127.0.0.1, which istiod in another cluster
/// could not reach: istioctl's warning, once per target, unless `--server` replaces it.
#[test]
fn loopback_server_is_warned_about_unless_server_is_given() {
    let env = with_istio(&["a", "b"]);
    let run = link_remote(&env, &["--contexts", "a,b"]).success();
    for target in ["a", "b"] {
        let expected = format!("warning: cluster {target}: server in kubeconfig is https://127.0.0.1:");
        assert_eq!(run.stderr.matches(&expected).count(), 1, "{}", run.stderr);
    }
    assert!(
        run.stderr
            .contains("This is likely not reachable from inside the cluster")
            && run.stderr.contains("pass --server"),
        "{}",
        run.stderr
    );
    let run = link_remote(
        &env,
        &["--from", "a", "--to", "b", "--server", "https://203.0.113.9:6443"],
    )
    .success();
    assert!(!run.stderr.contains("warning:"), "{}", run.stderr);
    let printed = link_remote(&env, &["--generate", "--context", "b"]).success();
    assert!(
        printed
            .stderr
            .contains("warning: cluster b: server in kubeconfig"),
        "{}",
        printed.stderr
    );
}

#[test]
fn rerun_is_unchanged_with_zero_writes() {
    let env = with_istio(&["a", "b"]);
    link_remote(&env, &["--contexts", "a,b"]).success();
    env.cluster("a").reset_counts();
    env.cluster("b").reset_counts();
    let run = env
        .mesh(&["link", "--flavor", "ambient", "--contexts", "a,b", "-o", "json"])
        .success();
    assert_links_all(&run, "unchanged");
    assert_eq!(
        env.cluster("a").counts().writes(),
        0,
        "{:?}",
        env.cluster("a").request_log()
    );
    assert_eq!(env.cluster("b").counts().writes(), 0);
}

#[test]
fn bounded_tokens_use_token_requests() {
    let env = with_istio(&["a", "b"]);
    link_remote(&env, &["--from", "a", "--to", "b", "--token-duration", "720h"]).success();
    let log = env.cluster("b").request_log();
    assert!(log.iter().any(|r| r.method == "POST"
        && r.path
            .contains("serviceaccounts/istio-reader-service-account/token")));
    assert!(env
        .cluster("b")
        .object(
            "/api/v1/namespaces/istio-system/secrets/istio-reader-service-account-istio-remote-secret-token"
        )
        .is_none());
    assert!(env.cluster("a").object(&secret_path("b")).is_some());
    assert!(
        env.cluster("b").object(&secret_path("a")).is_none(),
        "one direction only"
    );
}

#[test]
fn primary_remote_puts_secrets_in_the_primary_and_annotates_remotes() {
    let env = with_istio(&["p", "r1", "r2"]);
    link_remote(&env, &["--primary", "p", "--remotes", "r1,r2"]).success();
    assert!(env.cluster("p").object(&secret_path("r1")).is_some());
    assert!(env.cluster("p").object(&secret_path("r2")).is_some());
    for remote in ["r1", "r2"] {
        assert!(
            env.cluster(remote).object(&secret_path("p")).is_none(),
            "remotes hold no secrets"
        );
        let ns = env.cluster(remote).object(ISTIO_SYSTEM).unwrap();
        assert_eq!(
            ns["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"],
            "p"
        );
    }
}

#[test]
fn forbidden_service_account_fails_only_that_targets_pairs() {
    let env = with_istio(&["a", "b", "c"]);
    env.cluster("c").deny("create", "serviceaccounts");
    env.cluster("c").deny("patch", "serviceaccounts");
    let run = link_remote(&env, &["--contexts", "a,b,c", "-o", "json"]).code(1);
    for link in run.json()["links"].as_array().unwrap() {
        let expected = if link["to"] == "c" { "failed" } else { "created" };
        assert_eq!(link["result"], expected, "{link}");
        if link["to"] == "c" {
            let error = link["error"].as_str().unwrap();
            assert!(
                error.contains("403") && error.contains("ServiceAccount"),
                "{error}"
            );
            assert!(error.contains("kubectl auth can-i"), "says how to check: {error}");
        }
    }
}

#[test]
fn generate_prints_the_secret_and_unlink_removes_them() {
    let env = with_istio(&["a", "b"]);
    let yaml = link_remote(&env, &["--generate", "--context", "b"])
        .success()
        .stdout;
    assert!(yaml.contains("name: istio-remote-secret-b"), "{yaml}");
    assert!(yaml.contains("stringData:"), "{yaml}");
    env.kubectl_stdin(&["--context", "a", "apply", "--server-side", "-f", "-"], &yaml)
        .success();
    assert!(env.cluster("a").object(&secret_path("b")).is_some());

    link_remote(&env, &["--contexts", "a,b"]).success();
    let run = link_remote(&env, &["--contexts", "a,b", "--unlink", "-o", "json"]).success();
    assert_links_all(&run, "deleted");
    assert!(env.cluster("a").object(&secret_path("b")).is_none());
    assert!(env.cluster("b").object(&secret_path("a")).is_none());
}

#[test]
fn remote_secret_flags_are_checked() {
    let env = with_istio(&["a", "b", "c"]);
    for (args, expected) in [
        (
            vec![
                "--contexts",
                "a,b",
                "--server",
                "https://x:6443",
                "--mode",
                "remote-secret",
            ],
            "--server sets the address of one target",
        ),
        (
            vec![
                "--contexts",
                "a,b",
                "--token-duration",
                "1m",
                "--mode",
                "remote-secret",
            ],
            "at least 10m",
        ),
        (
            vec!["--contexts", "a,b", "--token-duration", "1h"],
            "belong to --mode remote-secret",
        ),
        (
            vec!["--primary", "a", "--remotes", "a", "--mode", "remote-secret"],
            "same cluster twice",
        ),
    ] {
        let mut full = vec!["link"];
        full.extend(args.iter());
        let run = env.mesh(&full).code(2);
        assert!(run.stderr.contains(expected), "{full:?}: {}", run.stderr);
    }
    for name in ["a", "b", "c"] {
        assert_eq!(env.cluster(name).counts().total(), 0);
    }
}

#[test]
fn prune_with_peering_removes_our_remote_secrets_only() {
    let env = with_istio(&["a", "b"]);
    link_remote(&env, &["--contexts", "a,b"]).success();
    // Someone else's remote secret in a: never ours to delete.
    env.kubectl_stdin(
        &["--context", "a", "apply", "--server-side", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata: {name: istio-remote-secret-x, namespace: istio-system, labels: {istio/multiCluster: \"true\"}}\nstringData: {x: config}\n",
    )
    .success();
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    // Without --prune, a link run touches only its pairs' peer Gateways.
    env.mesh(&["link", "--contexts", "a,b"]).success();
    assert!(env.cluster("a").object(&secret_path("b")).is_some());
    // verify (peering) sees what the switch left: a warning per cluster, naming our secret
    // and not the foreign one.
    let other_links = |env: &Env| -> Vec<(String, String)> {
        let run = env.mesh(&["verify", "--contexts", "a,b", "-o", "json"]);
        run.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == "other-links")
            .map(|c| {
                (
                    c["cluster"].as_str().unwrap().to_string(),
                    c["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let found = other_links(&env);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, "a");
    assert_eq!(
        found[0].1,
        "1 of our remote-secret links left while the mesh links by peering: remote secret Secret istio-system/istio-remote-secret-b"
    );
    let run = env.mesh(&["link", "--contexts", "a,b", "--prune"]).success();
    assert!(
        run.stdout.contains(
            "deleted remote secret Secret istio-system/istio-remote-secret-b: a link of the other flavour"
        ),
        "{}",
        run.stdout
    );
    assert_linked_by_peering_only(&env);
    assert!(env.cluster("a").object(&secret_path("x")).is_some(), "not ours");
    assert_eq!(other_links(&env), Vec::new(), "nothing left after --prune");
    // The other way round: remote secrets with --prune remove our peer Gateways.
    link_remote(&env, &["--contexts", "a,b", "--prune"]).success();
    assert!(env.cluster("a").object(&peer_path("b")).is_none());
    assert!(env.cluster("a").object(&secret_path("b")).is_some());
}

/// A remote secret `istioctl create-remote-secret` made has our secret's name: it is seen
/// (listed by istiod's own label, istio/multiCluster) and left alone, not overwritten.
#[test]
fn a_remote_secret_istioctl_made_is_refused_not_overwritten() {
    let env = with_istio(&["a", "b"]);
    let istioctls = r#"{"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "istio-remote-secret-b", "namespace": "istio-system",
                     "labels": {"istio/multiCluster": "true"},
                     "annotations": {"networking.istio.io/cluster": "b"}},
        "stringData": {"b": "apiVersion: v1\nkind: Config\n"}}"#;
    env.kubectl_stdin(&["--context", "a", "create", "-f", "-"], istioctls)
        .success();
    let before = env
        .cluster("a")
        .object(&secret_path("b"))
        .expect("istioctl's secret");

    let run = link_remote(&env, &["--contexts", "a,b", "-o", "json"]).code(1);
    let report = links(&run);
    let a_to_b = report.iter().find(|l| l["from"] == "a").expect("a -> b");
    assert_eq!(a_to_b["result"], "failed", "{a_to_b}");
    assert!(
        a_to_b["error"]
            .to_string()
            .contains("Secret istio-system/istio-remote-secret-b exists and was not made by kubectl-mesh"),
        "{a_to_b}"
    );
    assert_eq!(
        report.iter().find(|l| l["from"] == "b").expect("b -> a")["result"],
        "created"
    );
    assert_eq!(
        env.cluster("a").object(&secret_path("b")),
        Some(before),
        "untouched"
    );
}

/// verify's fix for remote secrets left by a switch to peering runs as printed: it deletes
/// them and links nothing.
#[test]
fn the_fix_for_links_of_the_other_mode_runs_as_printed() {
    let env = with_istio(&["a", "b"]);
    link_remote(&env, &["--contexts", "a,b"]).success();
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    env.mesh(&["link", "--contexts", "a,b"]).success();
    let run = env.mesh(&["verify", "--contexts", "a,b", "-o", "json"]);
    let checks = run.json()["checks"].as_array().cloned().unwrap();
    let hint = checks
        .iter()
        .find(|c| c["id"] == "other-links")
        .and_then(|c| c["hint"].as_str())
        .expect("other-links hint")
        .to_string();
    assert_eq!(
        hint,
        "kubectl mesh link --mode remote-secret --unlink --contexts a,b"
    );
    let words: Vec<&str> = hint.split_whitespace().skip(2).collect();
    env.mesh(&words).success();
    assert_linked_by_peering_only(&env);
    let run = env.mesh(&["verify", "--contexts", "a,b", "-o", "json"]);
    assert!(
        !run.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "other-links"),
        "{}",
        run.stdout
    );
}
