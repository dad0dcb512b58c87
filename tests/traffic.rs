//! `kubectl mesh verify --traffic` end to end. testkit runs the probe's Job, creates its pod
//! and writes its log from a simulated data plane: a cluster answers a client when it serves
//! the global Service and the client's cluster links to it with a shared root.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const PROBE_PREFIX: &str = "kubectl-mesh-probe-";

fn traffic(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut full = vec!["verify", "--traffic", "-o", "json"];
    full.extend(args.iter());
    let run = env.mesh(&full);
    (run.code, run.json())
}

/// Every check that did not pass (for failure messages).
fn problems(doc: &Value) -> Vec<&Value> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .collect()
}

fn traffic_checks(doc: &Value) -> Vec<Value> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().starts_with("traffic"))
        .cloned()
        .collect()
}

fn pair<'a>(checks: &'a [Value], from: &str, to: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == "traffic" && c["from"] == from && c["to"] == to)
        .unwrap_or_else(|| panic!("no traffic check {from} -> {to} in {checks:#?}"))
}

fn cluster<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == "traffic" && c["cluster"] == name)
        .unwrap_or_else(|| panic!("no traffic check for {name} in {checks:#?}"))
}

/// The probe namespaces left in a cluster.
fn probe_namespaces(env: &Env, name: &str) -> Vec<String> {
    env.cluster(name)
        .objects("/api/v1/namespaces")
        .iter()
        .filter_map(|ns| ns.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|n| n.starts_with(PROBE_PREFIX))
        .map(str::to_owned)
        .collect()
}

#[track_caller]
fn assert_cleaned_up(env: &Env, names: &[&str]) {
    for name in names {
        assert_eq!(
            probe_namespaces(env, name),
            Vec::<String>::new(),
            "cluster {name}"
        );
    }
}

#[test]
fn every_cluster_answers_every_client_and_the_probe_is_removed() {
    let names = ["a", "b", "c"];
    let env = mesh_of(&names);
    let (code, doc) = traffic(&env, &["--contexts", "a,b,c", "--probe-requests", "6"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 0, "{:#?}", problems(&doc));
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:#?}");
    for from in names {
        // Solo's peering (the default flavour): its global host.
        let message = cluster(&checks, from)["message"].as_str().unwrap();
        assert!(
            message.contains("client called mesh-probe.kubectl-mesh-probe-")
                && message.contains(".mesh.internal 6 times: answered by a 2, b 2, c 2"),
            "{message}"
        );
        for to in names {
            // testkit spreads the calls round robin, as `Any` traffic distribution allows.
            assert_eq!(pair(&checks, from, to)["answered"], 2, "{from} -> {to}");
        }
    }
    assert_cleaned_up(&env, &names);
}

#[test]
fn the_default_number_of_requests_grows_with_the_clusters() {
    let env = mesh_of(&["a", "b", "c"]);
    let (code, doc) = traffic(&env, &["--contexts", "a,b,c"]);
    assert_eq!(code, 0, "{doc:#}");
    // Ten per cluster (at least 20): 30, spread over three clusters.
    assert_eq!(pair(&traffic_checks(&doc), "a", "b")["answered"], 10);
    // Fields for scripts: the calls sent, and where the probe ran.
    let checks = traffic_checks(&doc);
    let ab = pair(&checks, "a", "b");
    assert_eq!(ab["sent"], 30);
    assert!(
        ab["namespace"]
            .as_str()
            .is_some_and(|n| n.starts_with("kubectl-mesh-probe-")),
        "{ab}"
    );
}

#[test]
fn a_missing_link_is_the_pair_that_fails_with_the_fix() {
    let names = ["a", "b", "c"];
    let env = mesh_of(&names);
    env.cluster("a").delete_object(
        "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-remote-peer-b",
    );
    let (code, doc) = traffic(&env, &["--contexts", "a,b,c", "--probe-requests", "30"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1, "{checks:#?}");
    let ab = pair(&checks, "a", "b");
    assert_eq!(ab["status"], "fail");
    assert_eq!(ab["answered"], 0);
    // Silent after a first run, a's client ran a second time before that counted.
    assert_eq!(ab["message"], "b never answered a (60 calls)");
    assert!(ab["hint"]
        .as_str()
        .unwrap()
        .contains("kubectl mesh link --from a --to b"));
    // Only that direction: b still reaches a, and a still reaches c.
    assert_eq!(pair(&checks, "b", "a")["status"], "pass");
    assert_eq!(pair(&checks, "a", "c")["answered"], 30);
    assert_eq!(
        pair(&checks, "b", "c")["answered"],
        10,
        "b heard everyone: one run"
    );
    assert_cleaned_up(&env, &names);
}

#[test]
fn a_stale_link_address_stops_traffic() {
    let env = mesh_of(&["a", "b"]);
    // b's east-west gateway moves; a's peer Gateway still points at the old address.
    let mut gw = env.cluster("b").object(GATEWAY).unwrap();
    gw["spec"]["addresses"] = serde_json::json!([{"type": "IPAddress", "value": "198.51.100.7"}]);
    env.cluster("b").put_object(gw).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while env.cluster("b").object(GATEWAY).unwrap()["status"]["addresses"][0]["value"] != "198.51.100.7" {
        assert!(Instant::now() < deadline, "the address never changed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, doc) = traffic(&env, &["--contexts", "a,b", "--probe-requests", "10"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1);
    assert_eq!(pair(&checks, "a", "b")["status"], "fail");
    assert_eq!(pair(&checks, "b", "a")["status"], "pass");
    // Relinking fixes it.
    env.mesh(&["link", "--contexts", "a,b"]).success();
    let (code, doc) = traffic(&env, &["--contexts", "a,b", "--probe-requests", "10"]);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn different_roots_make_cross_cluster_calls_fail() {
    let env = with_istio(&["a", "b"]);
    healthy_with_separate_roots(&env);
    let (code, doc) = traffic(&env, &["--contexts", "a,b", "--probe-requests", "10"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1, "{checks:#?}");
    let ab = pair(&checks, "a", "b");
    assert_eq!(ab["status"], "fail");
    assert!(
        ab["message"]
            .as_str()
            .unwrap()
            .contains("(20 calls; 10 calls failed, first: curl: (56)"),
        "{ab:#}"
    );
    // Local calls still work, and the cluster check says some requests failed.
    assert_eq!(pair(&checks, "a", "a")["answered"], 10);
    assert_eq!(cluster(&checks, "a")["status"], "warn");
}

/// Like [`healthy`], but each cluster gets a root of its own.
fn healthy_with_separate_roots(env: &Env) {
    for name in ["a", "b"] {
        let dir = env.dir.path().join(format!("certs-{name}"));
        let dir = dir.to_str().unwrap();
        env.mesh(&[
            "certs",
            "generate",
            "--clusters",
            name,
            "--dir",
            dir,
            "--key-type",
            "ec-p256",
        ])
        .success();
        env.mesh(&["certs", "secret", "--contexts", name, "--dir", dir])
            .success();
    }
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    env.mesh(&["link", "--contexts", "a,b"]).success();
}

#[test]
fn one_failing_cluster_does_not_stop_the_others_and_is_cleaned_up_too() {
    let names = ["a", "b", "c"];
    let env = mesh_of(&names);
    env.cluster("b").deny("create", "jobs");
    let (code, doc) = traffic(&env, &["--contexts", "a,b,c", "--probe-requests", "6"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1, "{checks:#?}");
    let b = cluster(&checks, "b");
    assert_eq!(b["status"], "fail");
    let message = b["message"].as_str().unwrap();
    assert!(
        message.starts_with("probe client: Job kubectl-mesh-probe-"),
        "{message}"
    );
    assert!(message.contains("403"), "{message}");
    // b's server still ran: a and c reached it. No pair checks from b.
    assert_eq!(pair(&checks, "a", "b")["answered"], 2);
    assert_eq!(pair(&checks, "c", "b")["status"], "pass");
    assert!(!checks.iter().any(|c| c["from"] == "b"), "{checks:#?}");
    assert_cleaned_up(&env, &names);
}

#[test]
fn an_unreachable_cluster_is_reported_and_the_rest_are_probed() {
    let names = ["a", "b", "c"];
    let env = mesh_of(&names);
    env.cluster("c").set_down(true);
    let (code, doc) = traffic(&env, &["--contexts", "a,b,c", "--probe-requests", "4"]);
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1);
    assert_eq!(
        cluster(&checks, "c")["message"],
        "not probed: its API server is unreachable"
    );
    assert_eq!(pair(&checks, "a", "b")["answered"], 2);
    assert_eq!(pair(&checks, "b", "a")["status"], "pass");
    env.cluster("c").set_down(false);
    assert_cleaned_up(&env, &names);
}

#[test]
fn a_cluster_silent_in_the_first_run_gets_a_second_chance() {
    let names = ["a", "b"];
    let env = mesh_of(&names);
    let peer = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-remote-peer-b";
    let saved = env.cluster("a").object(peer).unwrap();
    env.cluster("a").delete_object(peer);
    for name in names {
        env.cluster(name).set_job_delay(Duration::from_secs(2));
    }
    let child = env.spawn_mesh(&["verify", "--traffic", "--contexts", "a,b", "-o", "json"]);
    // As endpoints that spread late: the link is back once a's first client has finished.
    let deadline = Instant::now() + Duration::from_secs(30);
    let first_done = || {
        probe_namespaces(&env, "a").iter().any(|ns| {
            env.cluster("a")
                .object(&format!("/apis/batch/v1/namespaces/{ns}/jobs/mesh-probe-client"))
                .is_some_and(|job| job.pointer("/status/succeeded").is_some())
        })
    };
    while !first_done() {
        assert!(Instant::now() < deadline, "a's first client never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    env.cluster("a").put_object(saved).unwrap();
    let run = Env::finish(child);
    let checks = traffic_checks(&run.json());
    assert_eq!(pair(&checks, "a", "b")["status"], "pass", "{checks:#?}");
    assert_eq!(pair(&checks, "a", "b")["answered"], 10);
    assert!(cluster(&checks, "a")["message"]
        .as_str()
        .unwrap()
        .contains("40 times in 2 runs (the first left a cluster silent)"));
    assert_cleaned_up(&env, &names);
}

/// Starts `verify --traffic`, sends `signal` once both probe clients run, and checks the exit
/// code and that no probe namespace is left.
fn interrupt_with(signal: &str, exit_code: i32) {
    let names = ["a", "b"];
    let env = mesh_of(&names);
    for name in names {
        env.cluster(name).set_job_delay(Duration::from_secs(600));
    }
    let child = env.spawn_mesh(&["verify", "--traffic", "--contexts", "a,b", "-o", "json"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let jobs = |name: &str| -> usize {
        probe_namespaces(&env, name)
            .iter()
            .map(|ns| {
                env.cluster(name)
                    .objects(&format!("/apis/batch/v1/namespaces/{ns}/jobs"))
                    .len()
            })
            .sum()
    };
    while jobs("a") + jobs("b") < 2 {
        assert!(Instant::now() < deadline, "the probe clients never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let run = Env::finish(child).code(exit_code);
    let doc = run.json();
    let checks = traffic_checks(&doc);
    assert_eq!(
        checks[0]["message"], "interrupted before the probe finished",
        "{checks:#?}"
    );
    assert_eq!(
        checks[0]["hint"],
        "kubectl mesh verify --contexts a,b --flavor ambient-peering --traffic"
    );
    assert_cleaned_up(&env, &names);
}

#[test]
fn ctrl_c_removes_the_probe_from_every_cluster() {
    interrupt_with("-INT", 130);
}

#[test]
fn sigterm_removes_the_probe_too() {
    interrupt_with("-TERM", 143);
}

#[test]
fn keep_probe_leaves_the_namespace_and_says_how_to_remove_it() {
    let env = mesh_of(&["a", "b"]);
    let (code, doc) = traffic(
        &env,
        &["--contexts", "a,b", "--probe-requests", "2", "--keep-probe"],
    );
    assert_eq!(code, 0, "{doc:#}");
    let kept = probe_namespaces(&env, "a");
    assert_eq!(kept.len(), 1);
    assert_eq!(probe_namespaces(&env, "b"), kept);
    let checks = traffic_checks(&doc);
    let note = checks.iter().find(|c| c["id"] == "traffic-cleanup").unwrap();
    assert_eq!(note["status"], "pass");
    assert!(note["message"]
        .as_str()
        .unwrap()
        .contains(&format!("delete namespace {}", kept[0])));
    // The log of the client can be read with kubectl, as the hint of a failure suggests.
    let logs = env
        .kubectl(&["logs", "--context", "a", "-n", &kept[0], "job/mesh-probe-client"])
        .success();
    assert_eq!(
        logs.stdout
            .lines()
            .filter(|l| l.starts_with("kubectl-mesh-probe cluster="))
            .count(),
        2
    );
    // A later run cleans up after itself, leaves the kept namespace alone and points at it.
    let (code, doc) = traffic(&env, &["--contexts", "a,b", "--probe-requests", "2"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(probe_namespaces(&env, "a"), kept);
    let checks = traffic_checks(&doc);
    let left = checks
        .iter()
        .find(|c| c["id"] == "traffic-cleanup" && c["cluster"] == "b")
        .unwrap();
    assert_eq!(left["status"], "warn");
    assert!(left["message"].as_str().unwrap().ends_with(&kept[0]), "{left:#}");
    assert_eq!(
        left["hint"],
        format!("kubectl --context b delete namespace {}", kept[0])
    );
}

#[test]
fn probe_flags_need_traffic() {
    let env = with_istio(&["a", "b"]);
    let run = env
        .mesh(&["verify", "--contexts", "a,b", "--probe-requests", "5"])
        .code(2);
    assert!(run.stderr.contains("--traffic"), "{}", run.stderr);
}

#[test]
fn through_kubectl_with_a_human_report() {
    let env = mesh_of(&["a", "b"]);
    let run = env
        .kubectl(&[
            "mesh",
            "verify",
            "--traffic",
            "--contexts",
            "a,b",
            "--probe-requests",
            "4",
        ])
        .success();
    assert!(
        run.stdout
            .contains("traffic (row: client, column: answering cluster, calls answered; -: not checked"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("  a   ✔ 2   ✔ 2"), "{}", run.stdout);
    assert!(run.stderr.contains("probe client finished"), "{}", run.stderr);
    assert_cleaned_up(&env, &["a", "b"]);
}

/// Clusters a and b of `flavor`, with a shared root, linked by remote secrets.
fn remote_secret_mesh(flavor: &str) -> Env {
    let names = ["a", "b"];
    let env = with_istio(&names);
    with_trust(&env, &names);
    env.mesh(&["expose", "--contexts", "a,b", "--flavor", flavor, "--wait=30s"])
        .success();
    env.mesh(&["link", "--contexts", "a,b", "--mode", "remote-secret"])
        .success();
    env
}

fn traffic_of_flavor(env: &Env, flavor: &str) -> (i32, Value) {
    traffic(
        env,
        &["--contexts", "a,b", "--flavor", flavor, "--probe-requests", "10"],
    )
}

/// Upstream ambient has no global domain (istio 1.30.3 pilot/pkg/serviceregistry/ambient/
/// services.go:690): clients call the `istio.io/global` Service by its cluster-local host,
/// which testkit's data plane merges across clusters for ambient callers. A probe calling
/// `mesh.internal` would resolve nowhere and every pair would fail.
#[test]
fn remote_secret_links_carry_traffic_too() {
    let env = remote_secret_mesh("ambient");
    let (code, doc) = traffic_of_flavor(&env, "ambient");
    let checks = traffic_checks(&doc);
    assert_eq!(code, 0, "{:#?}", problems(&doc));
    assert_eq!(pair(&checks, "a", "b")["answered"], 5);
    let message = cluster(&checks, "a")["message"].as_str().unwrap();
    assert!(message.contains(".svc.cluster.local 10 times"), "{message}");
    assert!(!message.contains("mesh.internal"), "{message}");
    // Without b's remote secret, a's istiod knows nothing of b's endpoints.
    env.cluster("a")
        .delete_object("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-b");
    let (code, doc) = traffic_of_flavor(&env, "ambient");
    let checks = traffic_checks(&doc);
    assert_eq!(code, 1);
    assert_eq!(pair(&checks, "a", "b")["answered"], 0);
    assert_eq!(pair(&checks, "b", "a")["answered"], 5);
    assert_cleaned_up(&env, &["a", "b"]);
}

#[test]
fn sidecar_clients_call_the_cluster_local_host() {
    let env = remote_secret_mesh("sidecar");
    let (code, doc) = traffic_of_flavor(&env, "sidecar");
    let checks = traffic_checks(&doc);
    assert_eq!(code, 0, "{:#?}", problems(&doc));
    assert!(cluster(&checks, "a")["message"]
        .as_str()
        .unwrap()
        .contains(".svc.cluster.local 10 times"));
    assert_eq!(pair(&checks, "b", "a")["answered"], 5);
}
