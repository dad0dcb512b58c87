//! Which clusters a request lands on: the namesakes that take part in the host (by mesh
//! flavour), those the caller is linked to, the order the Service's traffic distribution
//! prefers, and whether mTLS between two clusters works (one root of trust).

use serde_json::Value;

use super::probe::Target;
use super::view::{annotation, label, ClusterView};

pub(super) const DISTRIBUTION: &str = "networking.istio.io/traffic-distribution";

/// How a Service spreads requests over the clusters that serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Distribution {
    Any,
    PreferNetwork,
    /// `PreferClose` and `PreferRegion`: the caller's own cluster first.
    PreferClose,
}

/// Global in Solo's peering: it has the `mesh.internal` host.
fn is_peering_global(svc: &Value) -> bool {
    matches!(
        label(svc, "solo.io/service-scope"),
        Some("global" | "global-only")
    )
}

/// GLOBAL scope in upstream ambient (the ambient profile's `serviceScopeConfigs`).
fn is_istio_global(svc: &Value) -> bool {
    label(svc, "istio.io/global") == Some("true")
}

/// Whether `z`'s namesake takes part in what `target` reaches from `src` (see the module
/// docs): Solo's global host needs Solo's label; the cluster-local host from an ambient
/// caller reaches other clusters only through `istio.io/global` on both sides; from a
/// sidecar it reaches every namesake.
fn takes_part(target: &Target, ambient: bool, src: &ClusterView, z: &ClusterView, own: bool) -> bool {
    let Some(svc) = z.service(target) else {
        return false;
    };
    if target.global {
        return is_peering_global(svc);
    }
    if !ambient || own {
        return true;
    }
    is_istio_global(svc) && src.service(target).is_none_or(is_istio_global)
}

/// The clusters a request from namespace `caller` of `source` may land on, in sandbox order,
/// with their answers.
pub(super) fn candidates(
    target: &Target,
    caller: &str,
    source: usize,
    world: &[ClusterView],
) -> Vec<(usize, String)> {
    let Some(src) = world.get(source) else {
        return Vec::new();
    };
    let ambient = src.is_ambient(caller);
    let serving: Vec<(usize, String)> = world
        .iter()
        .enumerate()
        .filter(|(i, z)| takes_part(target, ambient, src, z, *i == source))
        .filter_map(|(i, z)| z.answer(target).map(|body| (i, body)))
        .collect();
    let dist = distribution(target, source, world, &serving);
    let reachable: Vec<(usize, String)> = serving
        .into_iter()
        .filter(|(z, _)| *z == source || linked(src, &world[*z]))
        .collect();
    let same_network = |z: &usize| world[*z].network() == src.network();
    match dist {
        Distribution::Any => reachable,
        Distribution::PreferNetwork => prefer(reachable, |(z, _)| same_network(z)),
        Distribution::PreferClose if reachable.iter().any(|(z, _)| *z == source) => {
            reachable.into_iter().filter(|(z, _)| *z == source).collect()
        }
        Distribution::PreferClose => prefer(reachable, |(z, _)| same_network(z)),
    }
}

/// The candidates `keep` accepts, or all of them if it accepts none (a preference, not a
/// requirement).
fn prefer(all: Vec<(usize, String)>, keep: impl Fn(&(usize, String)) -> bool) -> Vec<(usize, String)> {
    let kept: Vec<(usize, String)> = all.iter().filter(|c| keep(c)).cloned().collect();
    if kept.is_empty() {
        all
    } else {
        kept
    }
}

/// The Service's `networking.istio.io/traffic-distribution`: the caller's own Service
/// decides, else the first serving cluster's that has one, else the host's default.
fn distribution(
    target: &Target,
    source: usize,
    world: &[ClusterView],
    serving: &[(usize, String)],
) -> Distribution {
    let service = |i: usize| {
        world
            .get(i)?
            .get("v1", "Service", &target.namespace, &target.service)
    };
    let own = service(source).and_then(|s| annotation(s, DISTRIBUTION));
    let value = own.or_else(|| {
        serving
            .iter()
            .find_map(|(z, _)| service(*z).and_then(|s| annotation(s, DISTRIBUTION)))
    });
    match value {
        Some("Any") => Distribution::Any,
        Some("PreferNetwork") => Distribution::PreferNetwork,
        Some("PreferClose" | "PreferRegion") => Distribution::PreferClose,
        // Istio ignores values it does not know.
        _ if target.global => Distribution::PreferNetwork,
        _ => Distribution::Any,
    }
}

/// Whether `src` knows `dst`'s endpoints and can route to them: peered with its east-west
/// address (ambient), or holding a remote secret for its API server (multi-primary; across
/// networks that also needs `dst`'s east-west gateway).
fn linked(src: &ClusterView, dst: &ClusterView) -> bool {
    let eastwest = dst.eastwest_addresses();
    if src.peered_addresses().iter().any(|a| eastwest.contains(a)) {
        return true;
    }
    let url = dst.server_url.trim_end_matches('/');
    let has_secret = src.remote_servers().iter().any(|s| s == url);
    has_secret && (src.network() == dst.network() || !eastwest.is_empty())
}

/// mTLS between sidecars/ztunnels only works with one root of trust.
pub(super) fn trusted(src: &ClusterView, dst: &ClusterView) -> bool {
    match (src.root_cert(), dst.root_cert()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}
