//! `kubectl mesh expose` end to end: the real binaries (directly and through kubectl's plugin
//! dispatch) against testkit clusters.

mod common;

use std::time::Duration;

use common::*;
use mesh_testkit::{ClusterSpec, Fault};
use serde_json::Value;

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object["metadata"]["labels"][key].as_str()
}

#[test]
fn applies_to_three_clusters_then_reports_unchanged_with_zero_writes() {
    let env = with_istio(&["a", "b", "c"]);
    let run = env
        .mesh(&["expose", "--contexts", "a,b,c", "-o", "json"])
        .success();
    let report = run.json();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        let cluster = &report["clusters"][i];
        assert_eq!(cluster["cluster"], *name);
        assert_eq!(cluster["result"], "created", "{cluster}");
        assert_eq!(cluster["network"], format!("network-{name}"));
        let gateway = env.cluster(name).object(GATEWAY).expect("gateway created");
        assert_eq!(
            label(&gateway, "topology.istio.io/network"),
            Some(format!("network-{name}").as_str())
        );
        assert_eq!(
            label(&gateway, "app.kubernetes.io/managed-by"),
            Some("kubectl-mesh")
        );
        assert_eq!(gateway["spec"]["gatewayClassName"], "istio-eastwest");
        let ns = env.cluster(name).object(GATEWAYS_NS).expect("namespace created");
        assert_eq!(label(&ns, "app.kubernetes.io/managed-by"), Some("kubectl-mesh"));
        let managers: Vec<&str> = gateway["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["operation"] == "Apply")
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert_eq!(
            managers,
            ["kubectl-mesh"],
            "server-side applied by our field manager"
        );
        env.cluster(name).reset_counts();
    }

    let again = env
        .mesh(&["expose", "--contexts", "a,b,c", "-o", "json"])
        .success();
    for cluster in again.json()["clusters"].as_array().unwrap() {
        assert_eq!(cluster["result"], "unchanged", "{cluster}");
    }
    for name in ["a", "b", "c"] {
        let counts = env.cluster(name).counts();
        assert_eq!(counts.writes(), 0, "cluster {name}: {counts:?}");
        assert!(counts.get > 0, "the re-run did read cluster {name}");
    }
}

/// A cluster with Istio installed but no network label on istio-system yet.
fn without_network(name: &str) -> Env {
    start(vec![(
        name.into(),
        ClusterSpec {
            istio: Some(mesh_testkit::IstioSeed::default()),
            ..Default::default()
        },
    )])
}

#[test]
fn generate_piped_into_kubectl_apply_server_side() {
    let env = without_network("a");
    let yaml = env
        .mesh(&["expose", "--generate", "--network", "n1"])
        .success()
        .stdout;
    env.kubectl_stdin(&["apply", "--server-side", "-f", "-"], &yaml)
        .success();
    let read = env
        .kubectl(&[
            "get",
            "gateways.gateway.networking.k8s.io",
            "-n",
            "istio-gateways",
            "istio-eastwest",
            "-o",
            "json",
        ])
        .success();
    let gateway = read.json();
    assert_eq!(label(&gateway, "topology.istio.io/network"), Some("n1"));
    assert_eq!(gateway["spec"]["listeners"][0]["port"], 15008);
    assert_eq!(gateway["spec"]["listeners"][1]["name"], "xds-tls");
    let ns = env
        .kubectl(&["get", "namespace", "istio-system", "-o", "json"])
        .success()
        .json();
    assert_eq!(label(&ns, "topology.istio.io/network"), Some("n1"));
}

#[test]
fn generate_reads_each_clusters_network() {
    let env = with_istio(&["a", "b"]);
    let out = env
        .mesh(&["expose", "--generate", "--contexts", "a,b"])
        .success()
        .stdout;
    assert!(out.contains("topology.istio.io/network: network-a"), "{out}");
    assert!(out.contains("topology.istio.io/network: network-b"), "{out}");
    assert_eq!(env.cluster("a").counts().writes(), 0);
}

#[test]
fn dry_run_client_makes_no_writes_and_server_persists_nothing() {
    let env = with_istio(&["a"]);
    let run = env
        .mesh(&["expose", "--context", "a", "--dry-run=client"])
        .success();
    assert!(run.stdout.contains("created (dry run)"), "{}", run.stdout);
    assert_eq!(env.cluster("a").counts().writes(), 0);
    assert!(env.cluster("a").object(GATEWAY).is_none());

    let run = env
        .mesh(&["expose", "--context", "a", "--dry-run=server"])
        .success();
    assert!(run.stdout.contains("created (server dry run)"), "{}", run.stdout);
    assert!(
        env.cluster("a").counts().patch > 0,
        "server dry run sends the writes"
    );
    assert!(env.cluster("a").object(GATEWAY).is_none(), "nothing persisted");
}

#[test]
fn network_flag_labels_istio_system_and_keeps_its_owner() {
    let env = without_network("a");
    env.mesh(&["expose", "--context", "a", "--network", "net-x"])
        .success();
    let ns = env.cluster("a").object(ISTIO_SYSTEM).unwrap();
    assert_eq!(label(&ns, "topology.istio.io/network"), Some("net-x"));
    assert_eq!(
        label(&ns, "app.kubernetes.io/managed-by"),
        None,
        "istio-system is not ours"
    );
    let gateway = env.cluster("a").object(GATEWAY).unwrap();
    assert_eq!(label(&gateway, "topology.istio.io/network"), Some("net-x"));
}

#[test]
fn network_flag_does_not_silently_relabel_another_managers_network() {
    let env = with_istio(&["a"]);
    let run = env
        .mesh(&["expose", "--context", "a", "--network", "net-x"])
        .code(1);
    assert!(
        run.stderr
            .contains("Namespace istio-system: conflict with field manager"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(".metadata.labels.topology.istio.io/network"),
        "{}",
        run.stderr
    );
    let ns = env.cluster("a").object(ISTIO_SYSTEM).unwrap();
    assert_eq!(label(&ns, "topology.istio.io/network"), Some("network-a"));
    assert!(
        env.cluster("a").object(GATEWAY).is_none(),
        "stopped before the gateway"
    );
    env.mesh(&[
        "expose",
        "--context",
        "a",
        "--network",
        "net-x",
        "--force-conflicts",
    ])
    .success();
    let ns = env.cluster("a").object(ISTIO_SYSTEM).unwrap();
    assert_eq!(label(&ns, "topology.istio.io/network"), Some("net-x"));
}

#[test]
fn wait_reports_the_address() {
    let env = with_istio(&["a"]);
    env.cluster("a")
        .set_address_delay(Some(Duration::from_millis(300)));
    let run = env
        .mesh(&["expose", "--context", "a", "--wait=20s", "-o", "json"])
        .success();
    let address = run.json()["clusters"][0]["address"].as_str().map(str::to_string);
    assert!(address.is_some_and(|a| !a.is_empty()), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("waiting for Gateway istio-gateways/istio-eastwest"),
        "{}",
        run.stderr
    );
}

#[test]
fn wait_timeout_fails_that_cluster_only() {
    let env = with_istio(&["a", "b"]);
    env.cluster("a").set_address_delay(None);
    let run = env
        .mesh(&["expose", "--contexts", "a,b", "--wait=1s", "-o", "json"])
        .code(1);
    let report = run.json();
    assert_cluster_failed(&report, 0, "has no address after");
    assert_ne!(report["clusters"][1]["result"], "failed");
    assert!(
        env.cluster("a").object(GATEWAY).is_some(),
        "what succeeded stays applied"
    );
    // The table says so too, not only the exit code and stderr.
    let table = env
        .mesh(&["expose", "--contexts", "a", "--wait=1s"])
        .code(1)
        .stdout;
    assert!(table.contains("failed (see the error below)"), "{table}");
}

#[test]
fn sidecar_flavour_applies_every_object() {
    let env = with_istio(&["a"]);
    env.cluster("a")
        .set_address_delay(Some(Duration::from_millis(100)));
    let run = env
        .mesh(&[
            "expose",
            "--context",
            "a",
            "--flavor",
            "sidecar",
            "--expose-istiod",
            "--wait=20s",
        ])
        .success();
    for path in [
        "/api/v1/namespaces/istio-system/serviceaccounts/istio-eastwestgateway",
        "/apis/apps/v1/namespaces/istio-system/deployments/istio-eastwestgateway",
        "/api/v1/namespaces/istio-system/services/istio-eastwestgateway",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/roles/istio-eastwestgateway-sds",
        "/apis/rbac.authorization.k8s.io/v1/namespaces/istio-system/rolebindings/istio-eastwestgateway-sds",
        "/apis/networking.istio.io/v1/namespaces/istio-system/gateways/cross-network-gateway",
        "/apis/networking.istio.io/v1/namespaces/istio-system/gateways/istiod-gateway",
        "/apis/networking.istio.io/v1/namespaces/istio-system/virtualservices/istiod-vs",
    ] {
        assert!(
            env.cluster("a").object(path).is_some(),
            "{path} missing\n{}",
            run.stdout
        );
    }
}

#[test]
fn retries_throttling_and_server_errors() {
    let env = with_istio(&["a"]);
    env.cluster("a")
        .inject(Fault::status(429).retry_after(1).times(1).method("PATCH"));
    env.cluster("a").inject(
        Fault::status(503)
            .times(2)
            .method("GET")
            .path_contains("gateways"),
    );
    env.mesh(&["expose", "--context", "a"]).success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
    let log = env.cluster("a").request_log();
    assert!(log.iter().any(|r| r.status == 429), "the 429 was served");
    assert!(
        log.iter().filter(|r| r.status == 503).count() == 2,
        "both 503s were served"
    );
}

#[test]
fn conflict_names_the_other_field_manager_and_force_takes_over() {
    let env = with_istio(&["a"]);
    let yaml = env
        .mesh(&["expose", "--generate", "--network", "network-a"])
        .success()
        .stdout;
    let other = yaml.replace(
        "gatewayClassName: istio-eastwest",
        "gatewayClassName: someone-elses",
    );
    env.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "platform-team",
            "-f",
            "-",
        ],
        &other,
    )
    .success();

    let run = env.mesh(&["expose", "--context", "a"]).code(1);
    assert!(
        run.stderr
            .contains("conflict with field manager \"platform-team\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(".spec.gatewayClassName"), "{}", run.stderr);
    assert!(run.stderr.contains("--force-conflicts"), "{}", run.stderr);
    let gateway = env.cluster("a").object(GATEWAY).unwrap();
    assert_eq!(
        gateway["spec"]["gatewayClassName"], "someone-elses",
        "nothing changed"
    );

    env.mesh(&["expose", "--context", "a", "--force-conflicts"])
        .success();
    let gateway = env.cluster("a").object(GATEWAY).unwrap();
    assert_eq!(gateway["spec"]["gatewayClassName"], "istio-eastwest");
}

// ---- bad input: exit 2, a clear message, nothing changed anywhere ----

fn assert_untouched(env: &Env, names: &[&str]) {
    for name in names {
        assert_eq!(
            env.cluster(name).counts().writes(),
            0,
            "cluster {name} was written to"
        );
        assert!(env.cluster(name).object(GATEWAY).is_none());
    }
}

#[test]
fn unknown_context_lists_known_ones() {
    let env = with_istio(&["a", "b"]);
    let run = env.mesh(&["expose", "--contexts", "a,zz"]).code(2);
    assert!(run.stderr.contains("context \"zz\" not found"), "{}", run.stderr);
    assert!(run.stderr.contains("known contexts: a, b"), "{}", run.stderr);
    assert_untouched(&env, &["a", "b"]);
}

#[test]
fn duplicate_context_is_refused() {
    let env = with_istio(&["a", "b"]);
    let run = env.mesh(&["expose", "--contexts", "a,b,a"]).code(2);
    assert!(run.stderr.contains("listed twice"), "{}", run.stderr);
    assert_untouched(&env, &["a", "b"]);
}

#[test]
fn missing_and_malformed_kubeconfig() {
    let env = with_istio(&["a"]);
    let run = env
        .mesh(&["expose", "--kubeconfig", "/nonexistent/config"])
        .code(2);
    assert!(
        run.stderr
            .contains("kubeconfig /nonexistent/config does not exist"),
        "{}",
        run.stderr
    );
    let bad = env.dir.path().join("bad-config");
    std::fs::write(&bad, "apiVersion: v1\nclusters: [unclosed\n").unwrap();
    let run = env
        .mesh(&["expose", "--kubeconfig", bad.to_str().unwrap()])
        .code(2);
    assert!(run.stderr.contains("is not valid"), "{}", run.stderr);
    assert_untouched(&env, &["a"]);
}

#[test]
fn cluster_without_network_stops_everything() {
    let env = start(vec![
        ("a".into(), istio_spec("network-a")),
        (
            "b".into(),
            ClusterSpec {
                istio: Some(mesh_testkit::IstioSeed::default()),
                ..Default::default()
            },
        ),
    ]);
    let run = env.mesh(&["expose", "--contexts", "a,b"]).code(2);
    assert!(
        run.stderr.contains("cluster b: no network known"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--network"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_untouched(&env, &["a", "b"]);
}

#[test]
fn invalid_names_and_flavour() {
    let env = with_istio(&["a"]);
    for (args, expected) in [
        (
            vec!["--name", "Bad_Name"],
            "invalid gateway name (--name) \"Bad_Name\"",
        ),
        (
            vec!["-n", "Bad_NS"],
            "invalid namespace (-n/--namespace) \"Bad_NS\"",
        ),
        (vec!["--network", "net work"], "invalid network (--network)"),
        (vec!["--contexts", "Upper=a"], "invalid cluster name \"Upper\""),
        (
            vec!["--flavor", "mystery"],
            "invalid value 'mystery' for '--flavor <FLAVOR>'",
        ),
        (
            vec!["--flavor", "ambient", "--expose-istiod"],
            "--expose-istiod applies to --flavor sidecar",
        ),
    ] {
        let mut full = vec!["expose", "--context", "a"];
        if args[0] == "--contexts" {
            full.pop();
            full.pop();
        }
        full.extend(args.iter());
        let run = env.mesh(&full).code(2);
        assert!(run.stderr.contains(expected), "{full:?}: {}", run.stderr);
    }
    assert_untouched(&env, &["a"]);
}

// ---- cluster-side failures: exit 1, reported per cluster, others unaffected ----

#[test]
fn unreachable_cluster_fails_alone() {
    let env = with_istio(&["a", "b", "c"]);
    env.cluster("b").set_down(true);
    let run = env
        .mesh(&["expose", "--contexts", "a,b,c", "--timeout", "2s", "-o", "json"])
        .code(1);
    let report = run.json();
    assert_eq!(report["clusters"][0]["result"], "created");
    assert_cluster_failed(&report, 1, "cluster b");
    assert_eq!(report["clusters"][2]["result"], "created");
    assert!(env.cluster("a").object(GATEWAY).is_some());
    assert!(env.cluster("c").object(GATEWAY).is_some());
}

#[test]
fn rejected_credentials_are_reported_with_a_hint() {
    let env = with_istio(&["a", "b"]);
    let config = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let token = env.cluster("b").token().to_string();
    std::fs::write(&env.kubeconfig, config.replace(&token, "not-the-token")).unwrap();
    let run = env.mesh(&["expose", "--contexts", "a,b"]).code(1);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        run.stderr.contains("credentials of context \"b\" were rejected"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("not-the-token"),
        "tokens never appear in errors"
    );
    assert!(env.cluster("a").object(GATEWAY).is_some());
}

#[test]
fn forbidden_verb_fails_that_cluster() {
    let env = with_istio(&["a", "b"]);
    env.cluster("a").deny("patch", "gateways");
    let run = env.mesh(&["expose", "--contexts", "a,b", "-o", "json"]).code(1);
    let report = run.json();
    assert_eq!(report["clusters"][0]["result"], "failed");
    let error = report["clusters"][0]["error"].as_str().unwrap();
    assert!(error.contains("403") && error.contains("forbidden"), "{error}");
    assert!(env.cluster("b").object(GATEWAY).is_some());
}

#[test]
fn missing_gateway_api_crds_say_what_to_install() {
    let env = start(vec![
        (
            "a".into(),
            ClusterSpec {
                gateway_api: false,
                ..istio_spec("network-a")
            },
        ),
        ("b".into(), istio_spec("network-b")),
    ]);
    let run = env.mesh(&["expose", "--contexts", "a,b"]).code(1);
    assert!(run.stderr.contains("Gateway API CRDs"), "{}", run.stderr);
    assert_eq!(env.cluster("a").counts().writes(), 0, "nothing half-made in a");
    assert!(env.cluster("b").object(GATEWAY).is_some());
}

// ---- kubectl plugin dispatch ----

#[test]
fn kubectl_finds_all_five_plugins() {
    let env = with_istio(&["a"]);
    let run = env.kubectl(&["plugin", "list"]);
    for binary in [
        "kubectl-mesh",
        "kubectl-mesh-expose",
        "kubectl-mesh-link",
        "kubectl-mesh-certs",
        "kubectl-mesh-verify",
    ] {
        assert!(
            run.stdout.contains(&format!("/{binary}\n")),
            "{binary} not found:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn expose_through_kubectl() {
    let env = with_istio(&["a", "b"]);
    let help = env.kubectl(&["mesh", "expose", "--help"]).success();
    assert!(
        help.stdout.contains("Usage: kubectl mesh expose"),
        "{}",
        help.stdout
    );
    env.kubectl(&["mesh", "expose", "--contexts", "a,b"]).success();
    assert!(env.cluster("a").object(GATEWAY).is_some());
    assert!(env.cluster("b").object(GATEWAY).is_some());
    let version = env.kubectl(&["mesh", "version"]).success();
    assert!(version.stdout.starts_with("kubectl-mesh "), "{}", version.stdout);
}

/// Issue 13 item 3: the peering east-west Gateway carries `topology.istio.io/cluster` with the
/// cluster's `--contexts` name, applied or generated (offline, from the flags alone).
#[test]
fn peering_gateway_is_labelled_with_the_cluster_name() {
    let env = with_istio(&["a", "b"]);
    env.mesh(&["expose", "--contexts", "east=a,b"]).success();
    for (context, name) in [("a", "east"), ("b", "b")] {
        let gateway = env.cluster(context).object(GATEWAY).unwrap();
        assert_eq!(label(&gateway, "topology.istio.io/cluster"), Some(name));
    }
    let offline = env
        .mesh(&[
            "expose",
            "--generate",
            "--network",
            "n1",
            "--contexts",
            "east=a,west=b",
        ])
        .success()
        .stdout;
    assert!(offline.contains("topology.istio.io/cluster: east\n"), "{offline}");
    assert!(offline.contains("topology.istio.io/cluster: west\n"), "{offline}");
    // No cluster named: offline output is often applied elsewhere, so no guessed label, and
    // stderr says how to add it.
    let unnamed = env.mesh(&["expose", "--generate", "--network", "n1"]).success();
    assert!(
        !unnamed.stdout.contains("topology.istio.io/cluster"),
        "{}",
        unnamed.stdout
    );
    assert!(
        unnamed.stderr.contains("pass --context NAME"),
        "{}",
        unnamed.stderr
    );
    let ambient = env
        .mesh(&["expose", "--generate", "--network", "n1", "--flavor", "ambient"])
        .success()
        .stdout;
    assert!(!ambient.contains("topology.istio.io/cluster"), "{ambient}");
}

#[test]
fn generated_output_applied_by_kubectl_is_then_unchanged() {
    let env = with_istio(&["a"]);
    let yaml = env
        .mesh(&["expose", "--generate", "--context", "a", "--network", "network-a"])
        .success()
        .stdout;
    env.kubectl_stdin(&["--context", "a", "apply", "--server-side", "-f", "-"], &yaml)
        .success();
    env.cluster("a").reset_counts();
    let run = env
        .mesh(&["expose", "--context", "a", "--network", "network-a", "-o", "json"])
        .success();
    let report = run.json();
    for object in report["clusters"][0]["objects"].as_array().unwrap() {
        assert_eq!(object["result"], "unchanged", "{report}");
    }
    assert_eq!(
        env.cluster("a").counts().writes(),
        0,
        "nothing rewritten under our name"
    );
}

#[test]
fn wait_takes_its_value_with_or_without_equals() {
    let env = with_istio(&["a", "b"]);
    env.mesh(&["expose", "--context", "a", "--wait", "30s"]).success();
    env.mesh(&["expose", "--context", "b", "--wait=30s"]).success();
    for c in ["a", "b"] {
        assert!(env.cluster(c).object(GATEWAY).is_some());
    }
}
