//! `kubectl mesh controller` against fake clusters: it keeps the mesh converged with no user
//! action (an address change re-links exactly the affected peers), reports per pair in its
//! status ConfigMap and /metrics, hands over on a Lease, refreshes bounded tokens, and keeps
//! going when a member is down.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::{Duration, Instant};

use base64::Engine;
use common::{mesh_of, peer_path, Env};
use serde_json::Value;

const STATUS: &str = "/api/v1/namespaces/istio-system/configmaps/kubectl-mesh-controller-status";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/istio-system/leases/kubectl-mesh-controller";

/// A running controller, killed (SIGKILL) when dropped.
struct Controller {
    child: Child,
    /// Where its /metrics is.
    url: String,
}

impl Controller {
    fn start(env: &Env, args: &[&str]) -> Controller {
        let mut all = vec!["controller", "--listen", "127.0.0.1:0", "--lease-duration", "3s"];
        all.extend_from_slice(args);
        let mut child = env.spawn_mesh(&all);
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the controller says where it serves")
                .expect("stderr is text");
            if let Some(rest) = line.strip_prefix("serving /metrics, /healthz, /readyz on ") {
                break rest.trim().to_string();
            }
        };
        // Keep draining stderr so the controller never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Controller { child, url }
    }

    /// GET over plain HTTP/1.1 (the endpoints are local and unencrypted, like kubelet probes).
    fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let address = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).expect("the endpoints accept");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("an answer");
        let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it returns `Some`, for at most `limit` (a bound for a hung test, not a
/// performance target).
fn eventually<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn peer_address(env: &Env, source: &str, target: &str) -> Option<String> {
    env.cluster(source)
        .object(&peer_path(target))?
        .pointer("/spec/addresses/0/value")?
        .as_str()
        .map(str::to_string)
}

/// Every write of a peer Gateway, as `cluster path`.
fn peer_writes(env: &Env, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|n| {
            env.cluster(n)
                .request_log()
                .into_iter()
                .filter(|r| r.method == "PATCH" && r.path.contains("/gateways/istio-remote-peer-"))
                .map(move |r| format!("{n} {}", r.path.split('?').next().unwrap_or_default()))
        })
        .collect()
}

fn summary(env: &Env, cluster: &str) -> Option<String> {
    env.cluster(cluster)
        .object(STATUS)?
        .pointer("/data/summary")?
        .as_str()
        .map(str::to_string)
}

#[test]
fn an_address_change_is_followed_by_exactly_the_affected_peers() {
    let names = ["a", "b", "c"];
    let env = mesh_of(&names);
    common::reset_counts(&env, &names);
    let controller = Controller::start(&env, &["--contexts", "a,b,c"]);
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("6 linked, 0 stale, 0 failed"))
    });
    let (code, _) = controller.get("/readyz");
    assert_eq!(code, 200);
    // A converged mesh: found right by the watches, nothing re-linked.
    assert!(
        peer_writes(&env, &names).is_empty(),
        "{:#?}",
        peer_writes(&env, &names)
    );

    let logged_before: Vec<usize> = ["a", "b"]
        .iter()
        .map(|n| env.cluster(n).request_log().len())
        .collect();
    env.cluster("c").set_lb_address("198.51.100.77");
    for source in ["a", "b"] {
        eventually(&format!("{source}'s peer for c"), Duration::from_secs(30), || {
            peer_address(&env, source, "c").filter(|a| a == "198.51.100.77")
        });
    }
    // A source with one pair in the run reads that one link (a GET), not all of its links.
    for (source, before) in ["a", "b"].into_iter().zip(logged_before) {
        let reads: Vec<String> = env.cluster(source).request_log()[before..]
            .iter()
            .filter(|r| r.method == "GET" && r.path.contains("/namespaces/istio-gateways/gateways"))
            .filter(|r| !r.path.contains("watch="))
            .map(|r| r.path.split('?').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(
            reads,
            ["/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-remote-peer-c"],
            "{source}"
        );
    }
    // Only the two peers of c were written: no peer Gateway for a or b changed anywhere.
    for (source, target) in [("a", "b"), ("b", "a"), ("c", "a"), ("c", "b")] {
        let address = peer_address(&env, source, target).expect("still linked");
        assert_ne!(address, "198.51.100.77", "{source} -> {target}");
    }
    // A request is logged as it completes, which may be just after its effect is visible.
    let writes = eventually("both writes logged", Duration::from_secs(10), || {
        let writes = peer_writes(&env, &names);
        (writes.len() >= 2).then_some(writes)
    });
    assert_eq!(writes.len(), 2, "exactly the two peers of c: {writes:#?}");
    assert!(
        writes.iter().all(|w| w.ends_with("istio-remote-peer-c")),
        "{writes:#?}"
    );

    // Reported: one Event per source and re-link run (on the peer Gateway when the run
    // wrote one there, as here), metrics, the status.
    for source in ["a", "b"] {
        // Events are sent without waiting, after the run: they may land after its writes.
        let events = eventually(&format!("an Event in {source}"), Duration::from_secs(10), || {
            let events = env
                .cluster(source)
                .objects("/api/v1/namespaces/istio-gateways/events");
            (!events.is_empty()).then_some(events)
        });
        assert_eq!(events.len(), 1, "one run, one Event in {source}: {events:#?}");
        let event = &events[0];
        assert_eq!(
            event["involvedObject"]["name"], "istio-remote-peer-c",
            "{event:#?}"
        );
        assert_eq!(event["reason"], "Linked", "{event:#?}");
        assert_eq!(event["message"], "linked to c at 198.51.100.77", "{event:#?}");
    }
    let (code, metrics) = controller.get("/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains("kubectl_mesh_leader 1"), "{metrics}");
    assert!(
        metrics.contains("kubectl_mesh_pairs{state=\"linked\"} 6"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kubectl_mesh_cert_expiry_timestamp_seconds{cluster=\"a\"}"),
        "{metrics}"
    );
    let lease = env
        .cluster("a")
        .object(LEASE)
        .expect("the lease is in the first member");
    assert!(lease["spec"]["holderIdentity"].is_string(), "{lease}");
}

#[test]
fn a_deleted_peer_is_put_back() {
    let env = mesh_of(&["a", "b"]);
    let _controller = Controller::start(&env, &["--contexts", "a,b"]);
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("2 linked"))
    });
    env.cluster("a").delete_object(&peer_path("b")).expect("deleted");
    let address = eventually("a's peer for b back", Duration::from_secs(30), || {
        peer_address(&env, "a", "b")
    });
    // Edited by hand (the field now belongs to another manager): put back too.
    env.kubectl(&[
        "--context",
        "a",
        "-n",
        "istio-gateways",
        "patch",
        "gateway",
        "istio-remote-peer-b",
        "--type=merge",
        "-p",
        r#"{"spec":{"addresses":[{"type":"IPAddress","value":"10.9.9.9"}]}}"#,
    ])
    .success();
    eventually("a's peer for b put back", Duration::from_secs(30), || {
        peer_address(&env, "a", "b").filter(|a| *a == address)
    });
}

#[test]
fn a_cluster_down_does_not_stop_the_others_and_the_status_says_which() {
    let env = mesh_of(&["a", "b", "c"]);
    let _controller = Controller::start(&env, &["--contexts", "a,b,c"]);
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("6 linked"))
    });
    env.cluster("c").set_down(true);
    env.cluster("b").set_lb_address("198.51.100.88");
    eventually("a's peer for b", Duration::from_secs(30), || {
        peer_address(&env, "a", "b").filter(|a| a == "198.51.100.88")
    });
    let status = eventually("c reported unreachable", Duration::from_secs(60), || {
        summary(&env, "a").filter(|s| s.contains("unreachable: c"))
    });
    assert!(
        status.contains("stale") || status.contains("failed") || status.contains("linked"),
        "{status}"
    );
    let yaml = env.cluster("a").object(STATUS).unwrap()["data"]["status.yaml"]
        .as_str()
        .unwrap()
        .to_string();
    let doc: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let c = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "c")
        .unwrap();
    assert_eq!(c["reachable"], false, "{yaml}");
    // c comes back: its stale peer for b is fixed too.
    env.cluster("c").set_down(false);
    eventually("c's peer for b", Duration::from_secs(60), || {
        peer_address(&env, "c", "b").filter(|a| a == "198.51.100.88")
    });
}

#[test]
fn a_standby_takes_over_when_the_leader_is_killed() {
    let env = mesh_of(&["a", "b"]);
    let mut first = Controller::start(&env, &["--contexts", "a,b", "--identity", "first"]);
    eventually("first leads", Duration::from_secs(30), || {
        let lease = env.cluster("a").object(LEASE)?;
        (lease["spec"]["holderIdentity"] == "first").then_some(())
    });
    let second = Controller::start(&env, &["--contexts", "a,b", "--identity", "second"]);
    let (_, metrics) = second.get("/metrics");
    assert!(metrics.contains("kubectl_mesh_leader 0"), "{metrics}");
    first.kill();
    eventually("second leads", Duration::from_secs(30), || {
        let lease = env.cluster("a").object(LEASE)?;
        (lease["spec"]["holderIdentity"] == "second").then_some(())
    });
    // And acts on what changes from then on.
    env.cluster("b").set_lb_address("198.51.100.99");
    eventually("a's peer for b", Duration::from_secs(30), || {
        peer_address(&env, "a", "b").filter(|a| a == "198.51.100.99")
    });
}

/// A leader cut off from its Lease stops writing before the Lease runs out (a standby could
/// take it over then), and leads again once it renews it: no split brain.
#[test]
fn a_leader_that_cannot_renew_its_lease_stops_writing() {
    let env = mesh_of(&["a", "b", "c"]);
    // The Lease is in a, the first member; --lease-duration 3s.
    let controller = Controller::start(&env, &["--contexts", "a,b,c"]);
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("6 linked"))
    });
    env.cluster("a").set_down(true);
    eventually("fenced off", Duration::from_secs(10), || {
        let (_, metrics) = controller.get("/metrics");
        metrics.contains("kubectl_mesh_leader 0").then_some(())
    });
    let before = peer_address(&env, "c", "b").expect("c -> b linked");
    env.cluster("b").set_lb_address("198.51.100.66");
    // Long enough for an unfenced leader to have re-linked c -> b several times over.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        peer_address(&env, "c", "b"),
        Some(before),
        "no write while fenced off"
    );

    env.cluster("a").set_down(false);
    eventually("c's peer for b, leading again", Duration::from_secs(30), || {
        peer_address(&env, "c", "b").filter(|a| a == "198.51.100.66")
    });
    let (_, metrics) = controller.get("/metrics");
    assert!(metrics.contains("kubectl_mesh_leader 1"), "{metrics}");
}

/// The Lease's cluster down at start: the controller waits for it (not leading, not
/// exiting), then leads.
#[test]
fn a_lease_cluster_down_at_start_is_waited_for() {
    let env = mesh_of(&["a", "b"]);
    env.cluster("a").set_down(true);
    let mut controller = Controller::start(&env, &["--contexts", "a,b", "--timeout", "1s"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(controller.child.try_wait().unwrap().is_none(), "still running");
    let (_, metrics) = controller.get("/metrics");
    assert!(metrics.contains("kubectl_mesh_leader 0"), "{metrics}");
    env.cluster("a").set_down(false);
    eventually("leading, all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("2 linked"))
    });
}

/// A TCP proxy in front of a cluster that can be cut (every connection closed, none
/// accepted) and restored on the same port: an outage as a network sees it, where the
/// cluster itself keeps every watch's history.
struct Proxy {
    port: u16,
    target: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Proxy {
    fn start(target: std::net::SocketAddr, port: u16) -> Proxy {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("proxy port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open: Arc<Mutex<Vec<std::net::TcpStream>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (open2, stop2) = (open.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let mut open = open2.lock().unwrap();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                open.extend([client, server]);
            }
        });
        Proxy {
            port,
            target,
            open,
            stop,
        }
    }

    /// Closes every connection and stops accepting; `restart` listens on the same port again.
    fn cut(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        // Let the accept loop see the flag and drop its listener.
        std::thread::sleep(Duration::from_millis(100));
    }

    fn restart(&self) -> Proxy {
        Proxy::start(self.target, self.port)
    }
}

/// A member cut off mid-run and back, with nothing changed in it meanwhile: its watches
/// resume silently, yet it is counted reachable again and its stale pairs are fixed.
#[test]
fn a_member_back_from_an_outage_is_reachable_again_and_its_pairs_fixed() {
    let env = mesh_of(&["a", "b", "c"]);
    let proxy = Proxy::start(env.cluster("c").addr(), 0);
    let text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let direct = env.cluster("c").server_url();
    assert!(text.contains(&direct), "the kubeconfig names {direct}");
    let via_proxy = env.dir.path().join("via-proxy.kubeconfig");
    std::fs::write(
        &via_proxy,
        text.replace(&direct, &format!("https://127.0.0.1:{}", proxy.port)),
    )
    .unwrap();
    let controller = Controller::start(
        &env,
        &[
            "--contexts",
            "a,b,c",
            "--kubeconfig",
            via_proxy.to_str().unwrap(),
            "--timeout",
            "2s",
        ],
    );
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("6 linked"))
    });
    proxy.cut();
    env.cluster("b").set_lb_address("198.51.100.55");
    eventually("c reported unreachable", Duration::from_secs(60), || {
        summary(&env, "a").filter(|s| s.contains("unreachable: c"))
    });
    let _back = proxy.restart();
    eventually("c's peer for b", Duration::from_secs(30), || {
        peer_address(&env, "c", "b").filter(|a| a == "198.51.100.55")
    });
    eventually("c reachable", Duration::from_secs(10), || {
        let (_, metrics) = controller.get("/metrics");
        metrics
            .contains("kubectl_mesh_cluster_reachable{cluster=\"c\"} 1")
            .then_some(())
    });
}

fn remote_token(env: &Env, source: &str, target: &str) -> Option<String> {
    let secret = env.cluster(source).object(&format!(
        "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-{target}"
    ))?;
    let kubeconfig = kubectl_mesh_core_free::kubeconfig_in(&secret, target)?;
    let config: Value = serde_yaml_ng::from_str(&kubeconfig).ok()?;
    config
        .pointer("/users/0/user/token")?
        .as_str()
        .map(str::to_string)
}

/// Test-side reading of a remote secret (the product's own reader is what is tested).
mod kubectl_mesh_core_free {
    use base64::Engine;
    use serde_json::Value;

    pub fn kubeconfig_in(secret: &Value, target: &str) -> Option<String> {
        let encoded = secret["data"][target].as_str()?;
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).ok()?).ok()
    }

    /// The `exp` claim of a JWT.
    pub fn exp(token: &str) -> Option<i64> {
        let payload = token.split('.').nth(1)?;
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        serde_json::from_slice::<Value>(&claims).ok()?["exp"].as_i64()
    }
}

#[test]
fn bounded_tokens_are_replaced_before_they_expire() {
    let env = common::with_istio(&["a", "b"]);
    let remote = ["--mode", "remote-secret", "--token-duration", "10m"];
    env.mesh(&[&["link", "--contexts", "a,b"][..], &remote].concat())
        .success();
    let first = remote_token(&env, "a", "b").expect("a holds a token for b");
    // A token is due when it expires within --token-refresh-before: with 595s of a 600s
    // token, every token is due some seconds after it is issued.
    let _controller = Controller::start(
        &env,
        &[
            &["--contexts", "a,b", "--token-refresh-before", "595s"][..],
            &remote,
        ]
        .concat(),
    );
    let second = eventually("a new token in a's secret for b", Duration::from_secs(60), || {
        remote_token(&env, "a", "b").filter(|t| *t != first)
    });
    let exp = |t: &str| kubectl_mesh_core_free::exp(t).expect("a JWT with exp");
    assert!(exp(&second) > exp(&first), "the new token lives longer");
    assert_eq!(
        env.cluster("b").user_for_token(&second).as_deref(),
        Some("system:serviceaccount:istio-system:istio-reader-service-account"),
        "the new token is the reader's, and valid"
    );
}

#[test]
fn generate_prints_objects_a_cluster_accepts() {
    let env = mesh_of(&["a", "b"]);
    let run = env
        .mesh(&[
            "controller",
            "--contexts",
            "a,b",
            "--generate",
            "--image",
            "registry.example/kubectl-mesh:0.1.0",
        ])
        .success();
    assert!(
        !run.stdout.contains("token:"),
        "no credentials printed:\n{}",
        run.stdout
    );
    let kinds: Vec<String> = serde_yaml_ng::Deserializer::from_str(&run.stdout)
        .map(|d| {
            let v: Value = serde::Deserialize::deserialize(d).expect("a YAML document");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Secret",
            "Deployment"
        ]
    );
    // The fake API server validates against the real OpenAPI schemas.
    env.kubectl_stdin(
        &["--context", "a", "apply", "--server-side", "-f", "-"],
        &run.stdout,
    )
    .success();
    let deployment = env
        .cluster("a")
        .object("/apis/apps/v1/namespaces/kubectl-mesh/deployments/kubectl-mesh-controller")
        .expect("applied");
    assert_eq!(deployment["spec"]["replicas"], 2);
}

#[test]
fn a_topology_file_names_the_members_and_their_mechanism() {
    let env = common::with_istio(&["a", "b"]);
    // Upstream ambient links with remote secrets: the controller creates the missing ones.
    let file = common::write_topology(
        &env,
        "flavor: ambient\ninstaller: none\ncontexts:\n  a: {network: network-a}\n  b: {network: network-b}\n",
    );
    let _controller = Controller::start(&env, &["-f", &file]);
    for (from, to) in [("a", "b"), ("b", "a")] {
        eventually(
            &format!("{from}'s remote secret for {to}"),
            Duration::from_secs(30),
            || remote_token(&env, from, to),
        );
    }
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("2 linked"))
    });
}

/// a, b, c exposed and linked hub-and-spoke around a (4 links).
fn hub_of_three() -> Env {
    let names = ["a", "b", "c"];
    let env = common::with_istio(&names);
    common::with_trust(&env, &names);
    env.mesh(&["expose", "--contexts", "a,b,c", "--wait=30s"])
        .success();
    env.mesh(&["link", "--contexts", "a,b,c", "--hub", "a"]).success();
    env
}

#[test]
fn a_fleet_topology_is_kept_and_nothing_outside_it_is_added() {
    let env = hub_of_three();
    let _controller = Controller::start(&env, &["--contexts", "a,b,c", "--hub", "a"]);
    eventually("status: the 4 hub links", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("4 linked, 0 stale, 0 failed"))
    });
    env.cluster("b").set_lb_address("198.51.100.66");
    eventually("the hub's peer for b", Duration::from_secs(30), || {
        peer_address(&env, "a", "b").filter(|a| a == "198.51.100.66")
    });
    assert!(
        peer_address(&env, "c", "b").is_none(),
        "spokes are not linked with each other"
    );
}

/// `--prune`: a link the topology does not want (made by hand here) is deleted, with an
/// `Unlinked` Event; the wanted links stay.
#[test]
fn prune_deletes_a_link_the_topology_does_not_want() {
    let env = hub_of_three();
    let _controller = Controller::start(&env, &["--contexts", "a,b,c", "--hub", "a", "--prune"]);
    eventually("status: the 4 hub links", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("4 linked, 0 stale, 0 failed"))
    });
    env.mesh(&["link", "--from", "b", "--to", "c"]).success();
    eventually("b's link to c deleted", Duration::from_secs(30), || {
        peer_address(&env, "b", "c").is_none().then_some(())
    });
    let event = eventually("an Unlinked Event in b", Duration::from_secs(10), || {
        env.cluster("b")
            .objects("/api/v1/namespaces/istio-gateways/events")
            .into_iter()
            .find(|e| e["reason"] == "Unlinked")
    });
    assert_eq!(
        event["message"], "deleted our links the topology does not want, to c",
        "{event:#?}"
    );
    for (from, to) in [("a", "b"), ("a", "c"), ("b", "a"), ("c", "a")] {
        assert!(peer_address(&env, from, to).is_some(), "{from} -> {to} kept");
    }
}

/// `kubeconfig` with, for every cluster `c`, a context `ctl-c` that reaches it as `token`s[c].
fn with_token_contexts(kubeconfig: &std::path::Path, tokens: &[(&str, String)], out: &std::path::Path) {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let mut config: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut contexts = config["contexts"].as_sequence().unwrap().clone();
    let mut users = config["users"].as_sequence().unwrap().clone();
    for (name, token) in tokens {
        let cluster = contexts
            .iter()
            .find(|c| c["name"].as_str() == Some(name))
            .map(|c| c["context"]["cluster"].clone())
            .expect("the admin context names the cluster");
        let user = format!("ctl-{name}");
        contexts.push(
            serde_yaml_ng::from_str(&format!(
                "{{name: {user}, context: {{cluster: x, user: {user}}}}}"
            ))
            .unwrap(),
        );
        contexts.last_mut().unwrap()["context"]["cluster"] = cluster;
        users.push(serde_yaml_ng::from_str(&format!("{{name: {user}, user: {{token: {token}}}}}")).unwrap());
    }
    config["contexts"] = serde_yaml_ng::Value::Sequence(contexts);
    config["users"] = serde_yaml_ng::Value::Sequence(users);
    std::fs::write(out, serde_yaml_ng::to_string(&config).unwrap()).unwrap();
}

/// Applies `--generate --member-rbac` (with `mode`) in each member, and writes a kubeconfig
/// with a context `ctl-<name>` reaching each as the controller's ServiceAccount.
fn member_identity(env: &Env, names: &[&str], mode: &[&str]) -> String {
    let list = names.join(",");
    let generate = [
        &["controller", "--contexts", &list, "--generate", "--member-rbac"][..],
        mode,
    ]
    .concat();
    let rbac = env.mesh(&generate).success().stdout;
    let mut tokens = Vec::new();
    for &name in names {
        env.kubectl_stdin(&["--context", name, "apply", "--server-side", "-f", "-"], &rbac)
            .success();
        // The long-lived token the printed Secret asks the token controller for, as the
        // README says to take it.
        let token = eventually("the member token", Duration::from_secs(10), || {
            let run = env.kubectl(&[
                "--context",
                name,
                "-n",
                "kubectl-mesh",
                "get",
                "secret",
                "kubectl-mesh-controller-token",
                "-o",
                "jsonpath={.data.token}",
            ]);
            (run.code == 0 && !run.stdout.trim().is_empty()).then(|| run.stdout.trim().to_string())
        });
        let token = base64::engine::general_purpose::STANDARD
            .decode(token)
            .expect("base64");
        tokens.push((name, String::from_utf8(token).expect("a token is text")));
    }
    let kubeconfig = env.dir.path().join("members.kubeconfig");
    with_token_contexts(&env.kubeconfig, &tokens, &kubeconfig);
    kubeconfig.to_str().unwrap().to_string()
}

/// No request of the controller's ServiceAccount was refused, and it did reach every member.
fn assert_never_refused(env: &Env, names: &[&str]) {
    let user = "system:serviceaccount:kubectl-mesh:kubectl-mesh-controller";
    for name in names {
        let log = env.cluster(name).request_log();
        assert!(
            log.iter().any(|r| r.user == user),
            "{name} was reached as the ServiceAccount"
        );
        let refused: Vec<String> = log
            .iter()
            .filter(|r| r.user == user && r.status == 403)
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(refused.is_empty(), "{name} refused: {refused:#?}");
    }
}

#[test]
fn the_member_rbac_is_all_the_controller_needs() {
    let names = ["a", "b"];
    let env = mesh_of(&names);
    let kubeconfig = member_identity(&env, &names, &[]);
    // The members as the controller's ServiceAccount; the Lease and status with the admin.
    let _controller = Controller::start(
        &env,
        &[
            "--kubeconfig",
            &kubeconfig,
            "--contexts",
            "a=ctl-a,b=ctl-b",
            "--lease-context",
            "a",
        ],
    );
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("2 linked, 0 stale, 0 failed"))
    });
    env.cluster("b").set_lb_address("198.51.100.55");
    eventually("a's peer for b", Duration::from_secs(30), || {
        peer_address(&env, "a", "b").filter(|a| a == "198.51.100.55")
    });
    assert_never_refused(&env, &names);
}

#[test]
fn the_member_rbac_of_remote_secrets_refreshes_tokens() {
    let names = ["a", "b"];
    let env = common::with_istio(&names);
    let remote = ["--mode", "remote-secret", "--token-duration", "10m"];
    env.mesh(&[&["link", "--contexts", "a,b"][..], &remote].concat())
        .success();
    let first = remote_token(&env, "a", "b").expect("a holds a token for b");
    let kubeconfig = member_identity(&env, &names, &remote[..2]);
    let args = [
        &[
            "--kubeconfig",
            &kubeconfig,
            "--contexts",
            "a=ctl-a,b=ctl-b",
            "--lease-context",
            "a",
        ][..],
        &["--token-refresh-before", "595s"],
        &remote,
    ]
    .concat();
    let _controller = Controller::start(&env, &args);
    eventually("a new token in a's secret for b", Duration::from_secs(60), || {
        remote_token(&env, "a", "b").filter(|t| *t != first)
    });
    assert_never_refused(&env, &names);
}

/// New credentials in the kubeconfig (a members Secret with renewed tokens, in a pod) are
/// not picked up by running clients: with --exit-on-kubeconfig-change the controller says
/// so, releases the Lease and exits, for its Deployment to start it again.
#[test]
fn a_changed_kubeconfig_ends_the_controller_when_asked() {
    let env = mesh_of(&["a", "b"]);
    let copy = env.dir.path().join("members.kubeconfig");
    std::fs::copy(&env.kubeconfig, &copy).unwrap();
    let path = copy.to_str().unwrap();
    let mut controller = Controller::start(
        &env,
        &[
            "--contexts",
            "a,b",
            "--kubeconfig",
            path,
            "--exit-on-kubeconfig-change",
            "--identity",
            "one",
        ],
    );
    eventually("leading", Duration::from_secs(30), || {
        let lease = env.cluster("a").object(LEASE)?;
        (lease["spec"]["holderIdentity"] == "one").then_some(())
    });
    let mut text = std::fs::read_to_string(&copy).unwrap();
    text.push('\n');
    std::fs::write(&copy, text).unwrap();
    let status = eventually("exited", Duration::from_secs(20), || {
        controller.child.try_wait().unwrap()
    });
    assert!(status.success(), "{status:?}");
    let lease = env.cluster("a").object(LEASE).expect("lease");
    assert_ne!(lease["spec"]["holderIdentity"], "one", "released: {lease}");
}
