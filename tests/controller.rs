//! `kubectl mesh controller` against fake clusters: it keeps the mesh converged with no user
//! action (an address change re-links exactly the affected peers), reports per pair in its
//! status ConfigMap and /metrics, hands over on a Lease, refreshes bounded tokens, and keeps
//! going when a member is down.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::{Duration, Instant};

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
    let controller = Controller::start(&env, &["--contexts", "a,b,c"]);
    eventually("status: all linked", Duration::from_secs(30), || {
        summary(&env, "a").filter(|s| s.starts_with("6 linked, 0 stale, 0 failed"))
    });
    let (code, _) = controller.get("/readyz");
    assert_eq!(code, 200);
    common::reset_counts(&env, &names);

    env.cluster("c").set_lb_address("198.51.100.77");
    for source in ["a", "b"] {
        eventually(&format!("{source}'s peer for c"), Duration::from_secs(30), || {
            peer_address(&env, source, "c").filter(|a| a == "198.51.100.77")
        });
    }
    // Only the two peers of c were written: no peer Gateway for a or b changed anywhere.
    for (source, target) in [("a", "b"), ("b", "a"), ("c", "a"), ("c", "b")] {
        let address = peer_address(&env, source, target).expect("still linked");
        assert_ne!(address, "198.51.100.77", "{source} -> {target}");
    }
    let writes: Vec<String> = names
        .iter()
        .flat_map(|n| {
            env.cluster(n)
                .request_log()
                .into_iter()
                .filter(|r| r.method == "PATCH" && r.path.contains("/gateways/istio-remote-peer-"))
                .map(move |r| format!("{n} {}", r.path.split('?').next().unwrap_or_default()))
        })
        .collect();
    assert_eq!(writes.len(), 2, "exactly the two peers of c: {writes:#?}");
    assert!(
        writes.iter().all(|w| w.ends_with("istio-remote-peer-c")),
        "{writes:#?}"
    );

    // Reported: an Event on each re-linked peer Gateway, metrics, the status.
    let events = env
        .cluster("a")
        .objects("/api/v1/namespaces/istio-gateways/events");
    assert!(
        events
            .iter()
            .any(|e| e["involvedObject"]["name"] == "istio-remote-peer-c"
                && e["message"].as_str().is_some_and(|m| m.contains("198.51.100.77"))),
        "{events:#?}"
    );
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
    eventually("a's peer for b back", Duration::from_secs(30), || {
        peer_address(&env, "a", "b")
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
