//! Background controllers standing in for the cluster's own: Gateway and
//! LoadBalancer addresses, service-account token Secrets, Jobs (see [`crate::jobs`]),
//! Deployments and ClusterRole aggregation ([`crate::rbac::aggregate`]).
//!
//! They poll the store every few milliseconds and do each read-modify-write under
//! one lock, so they never overwrite a concurrent client write.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cluster::{write_locked, Shared};
use crate::reconcile::{gen_key, pending, write_status};
use crate::registry::GATEWAY_API_GROUP;
use crate::store::Store;
use crate::world::World;
use crate::{jobs, meta};

const TICK: Duration = Duration::from_millis(20);

/// Runs the controllers of `shared`; `world` is the sandbox's clusters (this one included),
/// for the Job controller that looks across them.
pub(crate) async fn run(shared: Arc<Shared>, world: Arc<World>) {
    let mut pass = Pass::default();
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        let due_jobs = pass.run(&shared);
        // After the pass released the store lock: completing a Job reads other clusters.
        jobs::complete(&shared, &world, due_jobs);
    }
}

/// What the controllers remember between passes.
#[derive(Default)]
struct Pass {
    /// When each delayed change (by [`gen_key`]) was first seen.
    seen: HashMap<String, Instant>,
    /// The resourceVersion and settings (delays, load-balancer address) the last pass
    /// ran at.
    last: Option<(u64, Option<Duration>, Duration, String)>,
    /// A delay was still running at the last pass.
    waiting: bool,
}

impl Pass {
    /// One pass under the store lock, if anything could have changed since the last;
    /// returns the Jobs now due, for [`jobs::complete`] once the lock is released.
    ///
    /// Only looks at the store when something could have changed: a write since the last
    /// pass, a delay still running, or new settings. Scanning every cluster's objects on
    /// every tick costs CPU that tests and benchmarks would otherwise pay for. Completing
    /// due Jobs writes after this pass, so the resourceVersion moves and the next tick
    /// runs one more pass, which also covers client writes made in between.
    fn run(&mut self, shared: &Shared) -> Vec<Value> {
        let address_delay = shared.address_delay();
        let job_delay = shared.job_delay();
        let ca = shared.ca_pem.clone();
        let mut st = shared.store();
        // Read under the store's lock, as `set_lb_address` changes it: a pass never writes
        // an address that was replaced (and its objects re-addressed) meanwhile.
        let lb = shared.lb_address();
        let now = (st.rv(), address_delay, job_delay, lb.clone());
        if !self.waiting && self.last.as_ref() == Some(&now) {
            return Vec::new();
        }
        self.waiting = false;
        let (seen, waiting) = (&mut self.seen, &mut self.waiting);
        let mut due = |key: String, delay: Duration| {
            let ready = seen.entry(key).or_insert_with(Instant::now).elapsed() >= delay;
            *waiting |= !ready;
            ready
        };
        if let Some(d) = address_delay {
            gateways(&mut st, &lb, d, &mut due);
            services(&mut st, &lb, d, &mut due);
        }
        let due_jobs = jobs::due(&st, job_delay, &mut due);
        token_secrets(&mut st, &mut shared.authn(), &ca);
        crate::rbac::aggregate(&mut st);
        deployments(&mut st);
        crate::gc::collect(&mut st);
        self.last = Some((st.rv(), address_delay, job_delay, lb));
        due_jobs
    }
}

fn condition(kind: &str, generation: i64, since: &str) -> Value {
    json!({"type": kind, "status": "True", "reason": kind, "message": "", "observedGeneration": generation, "lastTransitionTime": since})
}

fn generation_of(o: &Value) -> i64 {
    o.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn is_ip(addr: &str) -> bool {
    addr.parse::<std::net::IpAddr>().is_ok()
}

/// The addresses a Gateway gets: those it asks for, else the cluster's (an `IPAddress`,
/// or a `Hostname` when the load balancer has a name instead).
fn gateway_addresses(gw: &Value, lb: &str) -> Value {
    match gw.pointer("/spec/addresses").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            json!(a.iter().map(|x| json!({"type": x.get("type").cloned().unwrap_or(json!("IPAddress")), "value": x["value"]})).collect::<Vec<_>>())
        }
        _ => {
            let kind = if is_ip(lb) { "IPAddress" } else { "Hostname" };
            json!([{"type": kind, "value": lb}])
        }
    }
}

/// `status.loadBalancer.ingress` of a LoadBalancer Service at `lb`: an `ip` with the
/// `ipMode: VIP` kube-apiserver defaults beside an `ip` (`SetDefaults_Service`), or a
/// `hostname`, which gets none.
fn ingress(lb: &str) -> Value {
    if is_ip(lb) {
        json!([{"ip": lb, "ipMode": "VIP"}])
    } else {
        json!([{"hostname": lb}])
    }
}

fn is_load_balancer(svc: &Value) -> bool {
    svc.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
}

/// The load balancer moved from `old` to `new` ([`crate::FakeCluster::set_lb_address`]):
/// what the cloud's service controller and the gateway controller then do. Every Gateway
/// and LoadBalancer Service whose status holds `old` as the controllers wrote it gets `new`
/// in its place at once (no address delay: the load balancer already exists), the rest
/// of its status (conditions and their times) kept.
pub(crate) fn readdress(st: &mut Store, old: &str, new: &str) {
    if old == new {
        return;
    }
    let carries = |gw: &Value| {
        let was = gateway_addresses(gw, old);
        gw.pointer("/status/addresses") == Some(&was) && was != gateway_addresses(gw, new)
    };
    for gw in pending(st, GATEWAY_API_GROUP, "v1", "gateways", carries) {
        let mut status = gw["status"].clone();
        status["addresses"] = gateway_addresses(&gw, new);
        write_status(st, gw, status);
    }
    let old_ingress = ingress(old);
    let carries = |svc: &Value| {
        is_load_balancer(svc) && svc.pointer("/status/loadBalancer/ingress") == Some(&old_ingress)
    };
    for svc in pending(st, "", "v1", "services", carries) {
        let mut status = svc["status"].clone();
        status["loadBalancer"]["ingress"] = ingress(new);
        write_status(st, svc, status);
    }
}

const GATEWAY_CONDITIONS: [&str; 2] = ["Accepted", "Programmed"];

/// Whether a Gateway's status already is what [`gateway_status`] would write, times aside.
/// Checked without building that status: passes run after every write, over every Gateway.
fn gateway_is_current(gw: &Value, lb: &str) -> bool {
    let generation = generation_of(gw);
    let conditions_current = gw
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.len() == GATEWAY_CONDITIONS.len()
                && c.iter().zip(GATEWAY_CONDITIONS).all(|(c, kind)| {
                    c["type"] == kind && c["status"] == "True" && c["observedGeneration"] == generation
                })
        });
    conditions_current && gw.pointer("/status/addresses") == Some(&gateway_addresses(gw, lb))
}

/// The status a Gateway gets: its addresses, accepted and programmed at its generation.
fn gateway_status(gw: &Value, lb: &str, now: &str) -> Value {
    let generation = generation_of(gw);
    let conditions: Vec<Value> = GATEWAY_CONDITIONS
        .iter()
        .map(|kind| condition(kind, generation, now))
        .collect();
    json!({"addresses": gateway_addresses(gw, lb), "conditions": conditions})
}

fn gateways(st: &mut Store, lb: &str, delay: Duration, due: &mut impl FnMut(String, Duration) -> bool) {
    for gw in pending(st, GATEWAY_API_GROUP, "v1", "gateways", |gw| {
        !gateway_is_current(gw, lb)
    }) {
        if !due(gen_key("gw", &gw), delay) {
            continue;
        }
        let status = gateway_status(&gw, lb, &meta::now_rfc3339());
        let mut merged = gw.get("status").cloned().unwrap_or(json!({}));
        crate::patch::merge(&mut merged, &status);
        write_status(st, gw, merged);
    }
}

fn services(st: &mut Store, lb: &str, delay: Duration, due: &mut impl FnMut(String, Duration) -> bool) {
    let unaddressed = |svc: &Value| {
        let has = svc
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        is_load_balancer(svc) && !has
    };
    for svc in pending(st, "", "v1", "services", unaddressed) {
        if !due(gen_key("svc", &svc), delay) {
            continue;
        }
        write_status(st, svc, json!({"loadBalancer": {"ingress": ingress(lb)}}));
    }
}

fn replicas(d: &Value) -> (i64, i64) {
    let want = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let generation = d
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    (want, generation)
}

fn deployments(st: &mut Store) {
    let unready = |d: &Value| {
        let (want, generation) = replicas(d);
        let ready = d.pointer("/status/readyReplicas").and_then(Value::as_i64);
        let observed = d.pointer("/status/observedGeneration").and_then(Value::as_i64);
        ready != Some(want) || observed.is_some_and(|o| o != generation)
    };
    for d in pending(st, "apps", "v1", "deployments", unready) {
        let (want, generation) = replicas(&d);
        let status = json!({
            "observedGeneration": generation, "replicas": want, "updatedReplicas": want,
            "readyReplicas": want, "availableReplicas": want,
        });
        write_status(st, d, status);
    }
}

/// Fills `kubernetes.io/service-account-token` Secrets like the token controller.
fn token_secrets(st: &mut Store, authn: &mut crate::tokens::Authn, ca_pem: &str) {
    let unfilled = |secret: &Value| {
        secret.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
            && secret.pointer("/data/token").is_none()
    };
    for mut secret in pending(st, "", "v1", "secrets", unfilled) {
        if crate::authn::fill_token_secret(st, authn, &mut secret, ca_pem) {
            let _ = write_locked(st, secret, "kube-controller-manager", "");
        }
    }
}
