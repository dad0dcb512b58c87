//! `kubectl mesh link` (peering) end to end on testkit clusters.

mod common;

use common::*;
use mesh_testkit::Fault;
use serde_json::Value;

/// Three clusters with their east-west gateways exposed and addressed.
fn exposed(names: &[&str]) -> Env {
    let env = with_istio(names);
    let list = names.join(",");
    env.mesh(&["expose", "--contexts", &list, "--wait=30s"]).success();
    env
}

fn address(env: &Env, cluster: &str) -> String {
    let gw = env.cluster(cluster).object(GATEWAY).expect("east-west gateway");
    gw["status"]["addresses"][0]["value"]
        .as_str()
        .expect("address")
        .to_string()
}

#[test]
fn full_mesh_of_three_then_rerun_is_unchanged_with_zero_writes() {
    let env = exposed(&["a", "b", "c"]);
    let run = env.mesh(&["link", "--contexts", "a,b,c", "-o", "json"]).success();
    assert_eq!(links(&run).len(), 6);
    assert_links_all(&run, "created");
    for (from, to) in pairs(&["a", "b", "c"]) {
        let gw = env
            .cluster(from)
            .object(&peer_path(to))
            .unwrap_or_else(|| panic!("{from} -> {to} missing"));
        assert_eq!(gw["spec"]["gatewayClassName"], "istio-remote");
        assert_eq!(gw["spec"]["addresses"][0]["value"], address(&env, to).as_str());
        assert_eq!(gw["spec"]["addresses"][0]["type"], "IPAddress");
        assert_eq!(
            gw["metadata"]["labels"]["topology.istio.io/network"],
            format!("network-{to}").as_str()
        );
        assert_eq!(gw["metadata"]["labels"]["kubectl-mesh.io/peer-cluster"], to);
        assert_eq!(gw["metadata"]["labels"]["topology.istio.io/cluster"], to);
        assert_eq!(
            gw["metadata"]["annotations"]["gateway.istio.io/trust-domain"],
            "cluster.local"
        );
        assert_eq!(
            gw["metadata"]["annotations"]["gateway.istio.io/service-account"],
            "istio-eastwest"
        );
        assert_eq!(gw["spec"]["listeners"].as_array().map(Vec::len), Some(2));
    }
    reset_counts(&env, &["a", "b", "c"]);
    let again = env.mesh(&["link", "--contexts", "a,b,c", "-o", "json"]).success();
    assert_links_all(&again, "unchanged");
    for name in ["a", "b", "c"] {
        let counts = env.cluster(name).counts();
        assert_eq!(counts.writes(), 0, "{name}: {counts:?}");
        assert!(
            counts.list + counts.get <= 2,
            "{name}: reads are one LIST and one GET: {counts:?}"
        );
    }
}

#[test]
fn changed_address_updates_exactly_the_affected_pairs() {
    let env = exposed(&["a", "b", "c"]);
    env.mesh(&["link", "--contexts", "a,b,c"]).success();
    // The cloud load balancer of c moves: its gateway's address changes.
    let mut gw = env.cluster("c").object(GATEWAY).unwrap();
    gw["spec"]["addresses"] = serde_json::json!([{"type": "Hostname", "value": "c.eastwest.example"}]);
    env.cluster("c").put_object(gw).unwrap();
    for _ in 0..100 {
        if env.cluster("c").object(GATEWAY).unwrap()["status"]["addresses"][0]["value"]
            == "c.eastwest.example"
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let run = env.mesh(&["link", "--contexts", "a,b,c", "-o", "json"]).success();
    let links = run.json()["links"].as_array().cloned().unwrap();
    for link in &links {
        let expected = if link["to"] == "c" {
            "configured"
        } else {
            "unchanged"
        };
        assert_eq!(link["result"], expected, "{link}");
    }
    let peer = env.cluster("a").object(&peer_path("c")).unwrap();
    assert_eq!(
        peer["spec"]["addresses"][0],
        serde_json::json!({"type": "Hostname", "value": "c.eastwest.example"})
    );
}

#[test]
fn one_direction_unlink_and_prune() {
    let env = exposed(&["a", "b", "c"]);
    env.mesh(&["link", "--from", "a", "--to", "b"]).success();
    assert!(env.cluster("a").object(&peer_path("b")).is_some());
    assert!(
        env.cluster("b").object(&peer_path("a")).is_none(),
        "asymmetric: only a -> b"
    );

    env.mesh(&["link", "--contexts", "a,b,c"]).success();
    env.mesh(&["link", "--contexts", "a,b", "--prune"]).success();
    assert!(env.cluster("a").object(&peer_path("c")).is_none(), "pruned");
    assert!(env.cluster("b").object(&peer_path("c")).is_none(), "pruned");
    assert!(env.cluster("a").object(&peer_path("b")).is_some(), "kept");

    let run = env
        .mesh(&["link", "--contexts", "a,b", "--unlink", "-o", "json"])
        .success();
    assert_links_all(&run, "deleted");
    assert!(env.cluster("a").object(&peer_path("b")).is_none());
    assert!(env.cluster("b").object(&peer_path("a")).is_none());
    assert!(
        env.cluster("c").object(&peer_path("a")).is_some(),
        "c was not listed: untouched"
    );
    // Again: nothing to remove, and the report says why rather than "unchanged".
    let run = env.mesh(&["link", "--contexts", "a,b", "--unlink"]).success();
    assert_eq!(run.stdout.matches("not linked").count(), 2, "{}", run.stdout);
}

#[test]
fn generate_piped_into_kubectl_apply() {
    let env = exposed(&["a", "b"]);
    let yaml = env
        .mesh(&["link", "--generate", "--context", "b"])
        .success()
        .stdout;
    env.kubectl_stdin(
        &[
            "--context",
            "a",
            "apply",
            "--server-side",
            "--field-manager",
            "kubectl-mesh",
            "-f",
            "-",
        ],
        &yaml,
    )
    .success();
    let gw = env
        .cluster("a")
        .object(&peer_path("b"))
        .expect("applied by kubectl");
    assert_eq!(gw["spec"]["addresses"][0]["value"], address(&env, "b").as_str());
    let run = env
        .mesh(&["link", "--from", "a", "--to", "b", "-o", "json"])
        .success();
    assert_eq!(
        run.json()["links"][0]["result"],
        "unchanged",
        "kubectl applied exactly what link would"
    );
}

#[test]
fn one_cluster_down_fails_only_its_pairs() {
    let env = exposed(&["a", "b", "c"]);
    env.cluster("c").set_down(true);
    let run = env
        .mesh(&["link", "--contexts", "a,b,c", "--timeout", "2s", "-o", "json"])
        .code(1);
    let links = run.json()["links"].as_array().cloned().unwrap();
    for link in &links {
        let involves_c = link["from"] == "c" || link["to"] == "c";
        let expected = if involves_c { "failed" } else { "created" };
        assert_eq!(link["result"], expected, "{link}");
        if involves_c {
            assert!(link["error"].as_str().unwrap().contains("cluster c"), "{link}");
        }
    }
    assert!(env.cluster("a").object(&peer_path("b")).is_some());
}

#[test]
fn target_without_address_fails_that_pair_with_a_hint() {
    let env = with_istio(&["a", "b"]);
    env.cluster("b").set_address_delay(None);
    env.mesh(&["expose", "--contexts", "a,b"]).success();
    env.mesh(&["expose", "--context", "a", "--wait=30s"]).success();
    let run = env.mesh(&["link", "--contexts", "a,b", "-o", "json"]).code(1);
    let links: Vec<Value> = run.json()["links"].as_array().cloned().unwrap();
    let to_b = links.iter().find(|l| l["to"] == "b").unwrap();
    assert_eq!(to_b["result"], "failed");
    assert!(
        to_b["error"]
            .as_str()
            .unwrap()
            .contains("expose --context b --wait"),
        "{to_b}"
    );
    let to_a = links.iter().find(|l| l["to"] == "a").unwrap();
    assert_eq!(to_a["result"], "created");
}

#[test]
fn missing_east_west_gateway_is_reported() {
    let env = with_istio(&["a", "b"]);
    env.mesh(&["expose", "--context", "a", "--wait=30s"]).success();
    let run = env.mesh(&["link", "--contexts", "a,b"]).code(1);
    assert!(
        run.stderr.contains("cluster b has no east-west Gateway"),
        "{}",
        run.stderr
    );
}

#[test]
fn throttled_writes_are_retried() {
    let env = exposed(&["a", "b"]);
    env.cluster("a")
        .inject(Fault::status(429).retry_after(1).times(1).method("PATCH"));
    env.mesh(&["link", "--contexts", "a,b"]).success();
    assert!(env.cluster("a").object(&peer_path("b")).is_some());
}

#[test]
fn bad_input_changes_nothing() {
    let env = exposed(&["a", "b"]);
    for name in ["a", "b"] {
        env.cluster(name).reset_counts();
    }
    for (args, expected) in [
        (vec!["--contexts", "a"], "at least two clusters"),
        (vec!["--contexts", "a,b,a"], "listed twice"),
        (vec!["--from", "a", "--to", "a"], "same cluster"),
        (vec!["--from", "a", "--contexts", "b"], "cannot be used with"),
        (
            vec!["--contexts", "a,b", "--mode", "carrier-pigeon"],
            "invalid value 'carrier-pigeon'",
        ),
        (vec!["--contexts", "a,nope"], "context \"nope\" not found"),
    ] {
        let mut full = vec!["link"];
        full.extend(args.iter());
        let run = env.mesh(&full).code(2);
        assert!(run.stderr.contains(expected), "{full:?}: {}", run.stderr);
    }
    for name in ["a", "b"] {
        assert_eq!(
            env.cluster(name).counts().total(),
            0,
            "no request at all to {name}"
        );
    }
}

/// Issue 13 items 3 and 4: a peer Gateway names the target cluster (`--contexts` name=context)
/// in `topology.istio.io/cluster`, and carries the ServiceAccount of the target's own east-west
/// gateway (here renamed with `expose --name` / `link --gateway`), not a constant.
#[test]
fn peer_gateways_name_the_target_cluster_and_its_gateways_service_account() {
    let env = with_istio(&["a", "b"]);
    let contexts = "east=a,west=b";
    env.mesh(&["expose", "--contexts", contexts, "--name", "ew", "--wait=30s"])
        .success();
    let own = env
        .cluster("a")
        .object("/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/ew")
        .expect("renamed east-west gateway");
    assert_eq!(own["metadata"]["labels"]["topology.istio.io/cluster"], "east");
    env.mesh(&["link", "--contexts", contexts, "--gateway", "ew"])
        .success();
    let gw = env.cluster("a").object(&peer_path("west")).expect("east -> west");
    assert_eq!(gw["metadata"]["labels"]["topology.istio.io/cluster"], "west");
    assert_eq!(gw["metadata"]["labels"]["topology.istio.io/network"], "network-b");
    assert_eq!(
        gw["metadata"]["annotations"]["gateway.istio.io/service-account"],
        "ew"
    );
    let printed = env
        .mesh(&["link", "--generate", "--context", "b", "--gateway", "ew"])
        .success()
        .stdout;
    assert!(printed.contains("topology.istio.io/cluster: b\n"), "{printed}");
    assert!(
        printed.contains("gateway.istio.io/service-account: ew\n"),
        "{printed}"
    );
}

#[test]
fn a_long_cluster_name_gets_a_peer_gateway_name_that_fits() {
    let env = exposed(&["a", "b"]);
    let long = "cluster-with-a-name-long-enough-to-overflow-the-gateway-name";
    let contexts = format!("{long}=a,b");
    env.mesh(&["link", "--contexts", &contexts]).success();
    let gateways = env
        .cluster("b")
        .objects("/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways");
    let peer = gateways
        .iter()
        .find(|g| g["metadata"]["labels"]["kubectl-mesh.io/peer-cluster"] == long)
        .expect("b has a peer Gateway for the long-named cluster");
    let name = peer["metadata"]["name"].as_str().unwrap();
    assert!(name.len() <= 63, "{name}");
    // Found again by later runs: a re-link changes nothing, verify passes, unlink removes it.
    let run = env
        .mesh(&["link", "--contexts", &contexts, "-o", "json"])
        .success();
    assert_links_all(&run, "unchanged");
    let run = env.mesh(&["verify", "--contexts", &contexts, "-o", "json"]);
    let checks = run.json()["checks"].as_array().cloned().unwrap();
    let links: Vec<&serde_json::Value> = checks.iter().filter(|c| c["id"] == "link").collect();
    assert_eq!(links.len(), 2);
    assert!(links.iter().all(|c| c["status"] == "pass"), "{links:#?}");
    env.mesh(&["link", "--contexts", &contexts, "--unlink"]).success();
    assert!(env
        .cluster("b")
        .object(&format!(
            "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/{name}"
        ))
        .is_none());
}

/// A Gateway someone else made under a peer Gateway's name is not taken over: that pair
/// fails and says how to hand it over, the object stays as it was (so `down` and `--prune`,
/// which delete what carries our label, never delete it), the other pairs are linked.
#[test]
fn a_gateway_of_someone_else_under_a_links_name_is_refused_not_taken_over() {
    let env = exposed(&["a", "b"]);
    let theirs = r#"{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "istio-remote-peer-b", "namespace": "istio-gateways", "labels": {"team": "platform"}},
        "spec": {"gatewayClassName": "istio-remote", "addresses": [{"type": "IPAddress", "value": "198.51.100.9"}],
                 "listeners": [{"name": "cross-network", "port": 15008, "protocol": "HBONE"}]}}"#;
    env.kubectl_stdin(&["--context", "a", "apply", "--server-side", "-f", "-"], theirs)
        .success();
    // What is theirs: spec, labels and who manages what (the fake gateway controller writes
    // its status whenever it gets to it).
    let theirs = |env: &Env| {
        let gw = env.cluster("a").object(&peer_path("b")).expect("their Gateway");
        let managers: Vec<Value> = gw["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m.get("subresource").is_none())
            .cloned()
            .collect();
        (gw["spec"].clone(), gw["metadata"]["labels"].clone(), managers)
    };
    let before = theirs(&env);

    let run = env.mesh(&["link", "--contexts", "a,b", "-o", "json"]).code(1);
    let report = links(&run);
    let a_to_b = report.iter().find(|l| l["from"] == "a").expect("a -> b");
    assert_eq!(a_to_b["result"], "failed", "{a_to_b}");
    let error = a_to_b["error"].to_string();
    for needle in [
        "Gateway istio-gateways/istio-remote-peer-b exists and was not made by kubectl-mesh",
        "kubectl --context a delete gateways -n istio-gateways istio-remote-peer-b",
        "label it app.kubernetes.io/managed-by=kubectl-mesh",
    ] {
        assert!(error.contains(needle), "{needle}: {error}");
    }
    let b_to_a = report.iter().find(|l| l["from"] == "b").expect("b -> a");
    assert_eq!(b_to_a["result"], "created");
    assert_eq!(theirs(&env), before, "untouched");

    // Unlink and prune leave it too, and say why.
    let run = env
        .mesh(&["link", "--from", "a", "--to", "b", "--unlink"])
        .success();
    assert!(
        run.stdout.contains("is not ours, left as it is"),
        "{}",
        run.stdout
    );
    env.mesh(&["link", "--contexts", "a", "--prune"]).success();
    assert_eq!(theirs(&env), before, "untouched");

    // Handed over with our label, it becomes our link.
    env.kubectl(&[
        "--context",
        "a",
        "label",
        "gateway",
        "-n",
        "istio-gateways",
        "istio-remote-peer-b",
        "app.kubernetes.io/managed-by=kubectl-mesh",
    ])
    .success();
    let run = env.mesh(&["link", "--contexts", "a,b"]).code(1);
    assert!(
        run.stderr.contains("re-run with --force-conflicts"),
        "{}",
        run.stderr
    );
    env.mesh(&["link", "--contexts", "a,b", "--force-conflicts"])
        .success();
    let linked = env.cluster("a").object(&peer_path("b")).expect("our Gateway now");
    assert_eq!(linked["metadata"]["labels"]["kubectl-mesh.io/peer-cluster"], "b");
    assert_eq!(
        linked["spec"]["addresses"][0]["value"],
        address(&env, "b").as_str()
    );
}

/// Clusters named with YAML 1.1 booleans (`no`, `on`): kubectl reads what `--generate`
/// prints as the same strings, not as false and true.
#[test]
fn generated_yaml_keeps_names_kubectl_would_read_as_booleans() {
    let env = exposed(&["no", "on"]);
    let yaml = env
        .mesh(&["link", "--generate", "--context", "on"])
        .success()
        .stdout;
    assert!(yaml.contains("kubectl-mesh.io/peer-cluster: 'on'"), "{yaml}");
    env.kubectl_stdin(&["--context", "no", "apply", "--server-side", "-f", "-"], &yaml)
        .success();
    let gw = env.cluster("no").object(&peer_path("on")).expect("applied");
    assert_eq!(gw["metadata"]["labels"]["kubectl-mesh.io/peer-cluster"], "on");
    assert_eq!(gw["metadata"]["labels"]["topology.istio.io/cluster"], "on");
}
