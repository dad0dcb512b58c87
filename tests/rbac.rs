//! The remote secret's reader identity under real RBAC (testkit evaluates Roles and
//! bindings as kube-apiserver does): the kubeconfig `kubectl mesh link --mode
//! remote-secret` writes into the source can read what istiod watches in the target and
//! can write nothing outside Istio's reader ClusterRole.

mod common;

use base64::Engine;
use common::*;

const READER: &str = "system:serviceaccount:istio-system:istio-reader-service-account";

/// The kubeconfig for `target` inside the source's remote secret, written to a file.
fn remote_kubeconfig(env: &Env, source: &str, target: &str) -> String {
    let path = format!("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-{target}");
    let secret = env.cluster(source).object(&path).expect("remote secret");
    let encoded = secret["data"][target].as_str().expect("kubeconfig entry");
    let config = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let file = env.dir.path().join(format!("remote-{source}-{target}"));
    std::fs::write(&file, config).expect("kubeconfig written");
    file.to_string_lossy().into_owned()
}

fn forbidden(verb: &str, resource: &str, group: &str, scope: &str) -> String {
    format!("User \"{READER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}")
}

#[test]
fn the_remote_secret_reads_services_and_endpointslices_and_writes_nothing() {
    for duration in [None, Some("1h")] {
        let env = with_istio(&["a", "b"]);
        let mut args = vec!["link", "--mode", "remote-secret", "--contexts", "a,b"];
        if let Some(d) = duration {
            args.extend(["--token-duration", d]);
        }
        env.mesh(&args).success();
        let cfg = remote_kubeconfig(&env, "a", "b");
        let k = |args: &[&str]| {
            let mut full = vec!["--kubeconfig", cfg.as_str()];
            full.extend(args);
            env.kubectl(&full)
        };

        for (verb, resource) in [
            ("list", "services"),
            ("watch", "services"),
            ("list", "endpointslices.discovery.k8s.io"),
            ("watch", "endpointslices.discovery.k8s.io"),
        ] {
            let run = k(&["auth", "can-i", verb, resource, "-A"]);
            assert_eq!(run.stdout.trim(), "yes", "{verb} {resource}: {}", run.stderr);
        }
        k(&["get", "services", "-A"]).success();
        k(&["get", "endpointslices.discovery.k8s.io", "-A"]).success();
        k(&["get", "services", "-A", "--watch-only", "--request-timeout=1s"]);
        assert!(
            env.cluster("b")
                .request_log()
                .iter()
                .any(|r| r.user == READER && r.path.contains("watch=true") && r.status == 200),
            "{:?}",
            env.cluster("b").request_log()
        );

        for (verb, resource) in [
            ("create", "services"),
            ("delete", "services"),
            ("create", "configmaps"),
            ("delete", "namespaces"),
            ("create", "gateways.gateway.networking.k8s.io"),
            ("create", "clusterroles.rbac.authorization.k8s.io"),
            ("patch", "deployments.apps"),
        ] {
            let run = k(&["auth", "can-i", verb, resource, "-A"]);
            assert_eq!(run.stdout.trim(), "no", "{verb} {resource}: {}", run.stderr);
        }
        let run = k(&["create", "configmap", "x", "-n", "istio-system"]).code(1);
        assert!(
            run.stderr.contains(&forbidden(
                "create",
                "configmaps",
                "",
                "in the namespace \"istio-system\""
            )),
            "{}",
            run.stderr
        );
        let run = k(&["delete", "namespace", "istio-system"]).code(1);
        assert!(
            run.stderr
                .contains(&forbidden("delete", "namespaces", "", "at the cluster scope")),
            "{}",
            run.stderr
        );
        let run = k(&["delete", "configmap", "istio", "-n", "istio-system"]).code(1);
        assert!(
            run.stderr.contains(&forbidden(
                "delete",
                "configmaps",
                "",
                "in the namespace \"istio-system\""
            )),
            "{}",
            run.stderr
        );
        let b = env.cluster("b");
        assert!(b.object("/api/v1/namespaces/istio-system").is_some());
        assert!(b
            .object("/api/v1/namespaces/istio-system/configmaps/istio")
            .is_some());
    }
}
