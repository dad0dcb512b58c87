//! The simulated mesh data plane behind probe Jobs: what each request a Job's pod makes to
//! a service host gets back, given which clusters serve the service, how the clusters are
//! linked and whether they share a root of trust.
//!
//! Pure functions over [`ClusterView`] snapshots, so every rule has a plain unit test. The
//! contract: the first container's env `PROBE_URL` names the host, `PROBE_REQUESTS`
//! (default 1) the number of requests; the log has one line per request, the answer or
//! `error: <what curl says>`.
//!
//! Which clusters a host reaches depends on the mesh flavour, read from the caller's side:
//! * `<svc>.<ns>.mesh.internal` is Solo's global host (ambient peering): Services labelled
//!   `solo.io/service-scope: global|global-only`. Upstream Istio has no such domain, so
//!   `istio.io/global` does not create it.
//! * The cluster-local host from a namespace labelled `istio.io/dataplane-mode: ambient`
//!   (upstream ambient multi-network, istio 1.30.3): the caller's own Service, merged with the
//!   other clusters' Services labelled `istio.io/global: "true"` when the caller's own is
//!   global too (or absent). pilot/pkg/serviceregistry/ambient/services.go:242-253 keeps a
//!   remote Service only when GLOBAL, services.go:690 names it `<svc>.<ns>.svc.<domain>`,
//!   multicluster.go:653-664 skips the merge for a LOCAL Service of the caller's cluster.
//! * The cluster-local host from any other namespace (sidecars): every namesake Service.
//!
//! The pieces: [`probe`] reads what a Job's pod asks for, [`view`] what a cluster's objects
//! say (its Services, addresses, links and root of trust), [`routing`] which clusters a
//! request may land on and in what order; this module runs the requests.

mod probe;
mod routing;
mod secrets;
#[cfg(test)]
mod tests;
mod view;

pub(crate) use probe::{probe_of, Probe};
pub(crate) use view::ClusterView;

use routing::{candidates, trusted};

/// What curl prints when the peer's sidecar rejects the mTLS handshake.
pub(crate) const RESET: &str = "error: curl: (56) Recv failure: Connection reset by peer";

/// The log of `probe` run in `world[source]`: one line per request.
pub(crate) fn log(probe: &Probe, source: usize, world: &[ClusterView]) -> String {
    responses(probe, source, world)
        .into_iter()
        .map(|line| line + "\n")
        .collect()
}

fn responses(probe: &Probe, source: usize, world: &[ClusterView]) -> Vec<String> {
    let candidates = match &probe.target {
        Some(target) => candidates(target, &probe.namespace, source, world),
        None => Vec::new(),
    };
    if candidates.is_empty() {
        let line = format!("error: curl: (6) Could not resolve host: {}", probe.host);
        return vec![line; probe.requests];
    }
    (0..probe.requests)
        .map(|i| {
            let (z, body) = &candidates[i % candidates.len()];
            if *z == source || trusted(&world[source], &world[*z]) {
                body.clone()
            } else {
                RESET.to_string()
            }
        })
        .collect()
}
