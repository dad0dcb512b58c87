//! What the controller tells: the status ConfigMap (per cluster and per pair), Kubernetes
//! Events on the links it writes, and Prometheus metrics. Pure builders over [`MeshState`].

use std::fmt::Write;
use std::time::Duration;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{json, Value};

use super::state::{MeshState, PairState};
use crate::kube::kinds::{self, Kind};

/// Counters of the reconcile loop since start.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub reconciles: u64,
    pub failed_pairs: u64,
    pub duration_sum: f64,
    /// Links the controller changed (created or updated).
    pub writes: u64,
}

/// What the status reports and where it goes.
pub struct StatusTarget<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub identity: &'a str,
    /// Now (Unix seconds) and how close to expiry an intermediate is reported.
    pub now: i64,
    pub cert_warning: Duration,
}

/// The status ConfigMap: a one-line `summary`, and `status.yaml` with every cluster and pair.
pub fn status_config_map(target: &StatusTarget, state: &MeshState) -> Value {
    let StatusTarget {
        name,
        namespace,
        identity,
        ..
    } = *target;
    let counts = state.counts();
    let down: Vec<&str> = state
        .clusters
        .iter()
        .filter(|c| !c.reachable)
        .map(|c| c.name.as_str())
        .collect();
    let mut summary = format!(
        "{} linked, {} stale, {} failed",
        counts[&PairState::Linked],
        counts[&PairState::Stale],
        counts[&PairState::Failed]
    );
    if !down.is_empty() {
        let _ = write!(summary, "; unreachable: {}", down.join(", "));
    }
    let horizon = target.now + secs(target.cert_warning);
    let expiring: Vec<&str> = state
        .clusters
        .iter()
        .filter(|c| c.certs.as_ref().is_some_and(|certs| certs.not_after <= horizon))
        .map(|c| c.name.as_str())
        .collect();
    if !expiring.is_empty() {
        let _ = write!(summary, "; intermediates expiring: {}", expiring.join(", "));
    }
    let mut roots: Vec<&str> = state
        .clusters
        .iter()
        .filter_map(|c| Some(c.certs.as_ref()?.root_fingerprint.as_str()))
        .collect();
    roots.sort_unstable();
    roots.dedup();
    if roots.len() > 1 {
        let _ = write!(summary, "; {} different roots of trust", roots.len());
    }
    let document = json!({
        "leader": identity,
        "clusters": state.clusters,
        "pairs": state.pairs.values().collect::<Vec<_>>(),
    });
    let yaml = crate::yaml::to_string(&document).unwrap_or_else(|e| format!("error: {e}\n"));
    let config_map = ConfigMap {
        metadata: crate::resources::object_meta(name, Some(namespace), &[]),
        data: Some(BTreeMap::from([
            ("summary".to_string(), summary),
            ("status.yaml".to_string(), yaml),
        ])),
        ..ConfigMap::default()
    };
    crate::resources::to_value(&config_map, &[])
}

/// The object a link is, for an Event's `involvedObject`.
#[derive(Debug, Clone)]
pub struct LinkObject {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

/// A core/v1 Event on a link object in its cluster (`Normal` for a change, `Warning` for a
/// failure), named as kubectl's recorder does: the object's name and a unique suffix.
pub fn event(
    object: &LinkObject,
    warning: bool,
    reason: &str,
    message: &str,
    now: Timestamp,
    suffix: u64,
) -> Value {
    let event = Event {
        metadata: crate::resources::object_meta(
            &format!("{}.{suffix:x}", object.name),
            Some(&object.namespace),
            &[],
        ),
        involved_object: ObjectReference {
            api_version: Some(object.kind.api_version.into()),
            kind: Some(object.kind.kind.into()),
            namespace: Some(object.namespace.clone()),
            name: Some(object.name.clone()),
            ..ObjectReference::default()
        },
        reason: Some(reason.into()),
        message: Some(message.into()),
        type_: Some(if warning { "Warning" } else { "Normal" }.into()),
        source: Some(EventSource {
            component: Some(COMPONENT.into()),
            ..EventSource::default()
        }),
        reporting_component: Some(COMPONENT.into()),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        count: Some(1),
        ..Event::default()
    };
    crate::resources::to_value(&event, &[])
}

/// The most links one Event's message names; the rest are counted. A run in a fleet of 100
/// may write 99 links in one source.
const NAMED_IN_EVENT: usize = 10;

/// The message of the `Linked` Event of one re-link run in one source cluster, over the
/// links it wrote (peer, and the address written if any); `None` when it wrote none.
pub fn linked_message(written: &[(&str, Option<&str>)]) -> Option<String> {
    let peer_at = |(peer, address): &(&str, Option<&str>)| match address {
        Some(address) => format!("{peer} at {address}"),
        None => peer.to_string(),
    };
    match written {
        [] => None,
        [one] => Some(format!("linked to {}", peer_at(one))),
        _ => Some(format!(
            "linked to {} peers: {}",
            written.len(),
            listed(written.iter().map(peer_at), written.len())
        )),
    }
}

/// The message of the `LinkFailed` Event of one re-link run in one source cluster, over the
/// links that failed for the first time (peer, error); `None` when none did.
pub fn failed_message(failed: &[(&str, String)]) -> Option<String> {
    match failed {
        [] => None,
        [(peer, error)] => Some(format!("link to {peer}: {error}")),
        _ => Some(format!(
            "{} links failed: {}",
            failed.len(),
            listed(
                failed.iter().map(|(peer, error)| format!("{peer}: {error}")),
                failed.len()
            )
        )),
    }
}

/// The first [`NAMED_IN_EVENT`] of `items`, and how many more there are.
fn listed(items: impl Iterator<Item = String>, len: usize) -> String {
    let mut text = items.take(NAMED_IN_EVENT).collect::<Vec<_>>().join(", ");
    if len > NAMED_IN_EVENT {
        let _ = write!(text, " and {} more", len - NAMED_IN_EVENT);
    }
    text
}

/// The object an Event of a run in one source is on: the link itself when the run touched
/// one (what `kubectl describe` of it shows), else the namespace that holds the links
/// (`kubectl get events -n NAMESPACE`). The Namespace reference carries its own name as
/// namespace so that the Event may live in that namespace, where the member's Role allows
/// Events, rather than in `default`.
pub fn run_event_object(link: LinkObject, links: usize) -> LinkObject {
    match links {
        1 => link,
        _ => LinkObject {
            kind: kinds::NAMESPACE,
            name: link.namespace.clone(),
            namespace: link.namespace,
        },
    }
}

/// Who reports the Events (`source.component`, `reportingComponent`).
const COMPONENT: &str = "kubectl-mesh-controller";

/// Where Events go: core/v1 `events` in the object's namespace.
pub fn event_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/events")
}

/// The metrics in Prometheus' text format (version 0.0.4).
pub fn metrics(state: &MeshState, stats: &Stats, leader: bool, now: i64, cert_warning: Duration) -> String {
    let mut out = String::new();
    header(
        &mut out,
        "kubectl_mesh_leader",
        "gauge",
        "1 when this replica holds the lease.",
    );
    let _ = writeln!(out, "kubectl_mesh_leader {}", u8::from(leader));
    header(
        &mut out,
        "kubectl_mesh_pairs",
        "gauge",
        "Directed links by state.",
    );
    for (state_name, count) in state.counts() {
        let label = serde_json::to_value(state_name).ok();
        let label = label.as_ref().and_then(Value::as_str).unwrap_or("unknown");
        let _ = writeln!(out, "kubectl_mesh_pairs{{state=\"{label}\"}} {count}");
    }
    header(
        &mut out,
        "kubectl_mesh_cluster_reachable",
        "gauge",
        "1 when the cluster's watches answer.",
    );
    for cluster in &state.clusters {
        let _ = writeln!(
            out,
            "kubectl_mesh_cluster_reachable{{cluster=\"{}\"}} {}",
            cluster.name,
            u8::from(cluster.reachable)
        );
    }
    header(
        &mut out,
        "kubectl_mesh_cert_expiry_timestamp_seconds",
        "gauge",
        "notAfter of each cluster's intermediate (cacerts ca-cert.pem).",
    );
    for cluster in &state.clusters {
        if let Some(certs) = &cluster.certs {
            let _ = writeln!(
                out,
                "kubectl_mesh_cert_expiry_timestamp_seconds{{cluster=\"{}\"}} {}",
                cluster.name, certs.not_after
            );
        }
    }
    header(
        &mut out,
        "kubectl_mesh_cert_expiring",
        "gauge",
        "1 when a cluster's intermediate expires within the warning threshold.",
    );
    for cluster in &state.clusters {
        if let Some(certs) = &cluster.certs {
            let expiring = certs.not_after - now <= secs(cert_warning);
            let _ = writeln!(
                out,
                "kubectl_mesh_cert_expiring{{cluster=\"{}\"}} {}",
                cluster.name,
                u8::from(expiring)
            );
        }
    }
    header(
        &mut out,
        "kubectl_mesh_token_expiry_timestamp_seconds",
        "gauge",
        "exp of the bounded token in each remote secret.",
    );
    for cluster in &state.clusters {
        for (peer, link) in &cluster.links {
            if let Some(exp) = link.token_expires {
                let _ = writeln!(
                    out,
                    "kubectl_mesh_token_expiry_timestamp_seconds{{from=\"{}\",to=\"{peer}\"}} {exp}",
                    cluster.name
                );
            }
        }
    }
    header(
        &mut out,
        "kubectl_mesh_reconcile_duration_seconds",
        "summary",
        "Time of each re-link run.",
    );
    let _ = writeln!(
        out,
        "kubectl_mesh_reconcile_duration_seconds_sum {}",
        stats.duration_sum
    );
    let _ = writeln!(
        out,
        "kubectl_mesh_reconcile_duration_seconds_count {}",
        stats.reconciles
    );
    header(
        &mut out,
        "kubectl_mesh_link_writes_total",
        "counter",
        "Links created or updated.",
    );
    let _ = writeln!(out, "kubectl_mesh_link_writes_total {}", stats.writes);
    header(
        &mut out,
        "kubectl_mesh_link_failures_total",
        "counter",
        "Failed attempts at a link.",
    );
    let _ = writeln!(out, "kubectl_mesh_link_failures_total {}", stats.failed_pairs);
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// The kind of a peering link (a Gateway) or a remote-secret link (a Secret).
pub fn link_kind(peering: bool) -> Kind {
    if peering {
        kinds::GATEWAY
    } else {
        kinds::SECRET
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::state::{CertView, Observed};
    use crate::link::full_mesh;

    fn state() -> MeshState {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let mut state = MeshState::new(&names, &full_mesh(3), true);
        state.observe(0, Observed::Reachable);
        state.observe(1, Observed::Reachable);
        state.observe(2, Observed::Unreachable("connection refused".into()));
        state.observe(
            0,
            Observed::Certs(Some(CertView {
                not_after: 1_000,
                root_fingerprint: "AB".into(),
            })),
        );
        state
    }

    #[test]
    fn the_status_says_what_is_stale_and_who_is_down() {
        let target = StatusTarget {
            name: "kubectl-mesh-controller",
            namespace: "istio-system",
            identity: "pod-1",
            now: 500,
            cert_warning: Duration::from_secs(600),
        };
        let cm = status_config_map(&target, &state());
        assert_eq!(
            cm["data"]["summary"],
            "0 linked, 6 stale, 0 failed; unreachable: c; intermediates expiring: a"
        );
        let later = StatusTarget {
            cert_warning: Duration::from_secs(60),
            ..target
        };
        let mut two_roots = state();
        two_roots.observe(
            1,
            Observed::Certs(Some(CertView {
                not_after: 99_999,
                root_fingerprint: "CD".into(),
            })),
        );
        let summary = status_config_map(&later, &two_roots)["data"]["summary"].clone();
        assert_eq!(
            summary,
            "0 linked, 6 stale, 0 failed; unreachable: c; 2 different roots of trust"
        );
        let yaml = cm["data"]["status.yaml"].as_str().unwrap();
        let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(doc["leader"], "pod-1");
        assert_eq!(doc["clusters"][2]["error"], "connection refused");
        assert_eq!(doc["pairs"].as_array().unwrap().len(), 6);
        assert_eq!(doc["pairs"][0]["state"], "stale");
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let text = metrics(&state(), &Stats::default(), true, 500, Duration::from_secs(600));
        assert!(text.contains("kubectl_mesh_leader 1\n"), "{text}");
        assert!(text.contains("kubectl_mesh_pairs{state=\"stale\"} 6\n"), "{text}");
        assert!(
            text.contains("kubectl_mesh_cluster_reachable{cluster=\"c\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("kubectl_mesh_cert_expiry_timestamp_seconds{cluster=\"a\"} 1000\n"),
            "{text}"
        );
        assert!(
            text.contains("kubectl_mesh_cert_expiring{cluster=\"a\"} 1\n"),
            "{text}"
        );
        // Every sample belongs to a declared family.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = name.trim_end_matches("_sum").trim_end_matches("_count");
            assert!(text.contains(&format!("# TYPE {family} ")), "{line}");
        }
    }

    #[test]
    fn one_event_per_run_and_source_names_its_links() {
        assert_eq!(linked_message(&[]), None);
        assert_eq!(failed_message(&[]), None);
        assert_eq!(
            linked_message(&[("c", Some("198.51.100.7"))]).unwrap(),
            "linked to c at 198.51.100.7"
        );
        assert_eq!(linked_message(&[("c", None)]).unwrap(), "linked to c");
        let many: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        let written: Vec<(&str, Option<&str>)> =
            many.iter().map(|p| (p.as_str(), Some("10.0.0.1"))).collect();
        let message = linked_message(&written).unwrap();
        assert!(
            message.starts_with("linked to 12 peers: c0 at 10.0.0.1, c1 at 10.0.0.1,"),
            "{message}"
        );
        assert!(message.ends_with("c9 at 10.0.0.1 and 2 more"), "{message}");
        assert_eq!(
            failed_message(&[("b", "403 Forbidden".to_string())]).unwrap(),
            "link to b: 403 Forbidden"
        );
        let failed = [("b", "403 Forbidden".to_string()), ("d", "timeout".to_string())];
        assert_eq!(
            failed_message(&failed).unwrap(),
            "2 links failed: b: 403 Forbidden, d: timeout"
        );
    }

    #[test]
    fn a_run_event_is_on_its_link_or_on_the_namespace_of_several() {
        let link = || LinkObject {
            kind: kinds::GATEWAY,
            namespace: "istio-gateways".into(),
            name: "istio-remote-peer-b".into(),
        };
        assert_eq!(run_event_object(link(), 1).name, "istio-remote-peer-b");
        let several = run_event_object(link(), 3);
        assert_eq!(several.kind.kind, "Namespace");
        assert_eq!(
            (several.name.as_str(), several.namespace.as_str()),
            ("istio-gateways", "istio-gateways")
        );
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let e = event(&several, false, "Linked", "linked to 3 peers", now, 1);
        assert_eq!(e["metadata"]["namespace"], "istio-gateways");
        assert_eq!(e["involvedObject"]["kind"], "Namespace");
    }

    #[test]
    fn events_name_their_object() {
        let object = LinkObject {
            kind: kinds::GATEWAY,
            namespace: "istio-gateways".into(),
            name: "istio-remote-peer-b".into(),
        };
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let e = event(&object, false, "Relinked", "address 1.2.3.4", now, 255);
        assert_eq!(e["type"], "Normal");
        assert_eq!(e["apiVersion"], "v1");
        assert_eq!(e["lastTimestamp"], "2026-01-01T00:00:00Z");
    }
}
