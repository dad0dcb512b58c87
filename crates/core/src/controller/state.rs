//! What the controller knows about the mesh, and which pairs a change makes stale. Pure:
//! watch events come in as [`Observed`], decisions go out as sets of [`Pair`]s, so every rule
//! is tested without a cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::link::{Pair, PairReport};
use crate::report::Outcome;

/// One thing a watch saw in one cluster (by index into the member list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The cluster's east-west gateway and the address it has now (`None`: none yet / gone).
    Address(Option<String>),
    /// One of our links in this cluster (a peer Gateway or remote secret) to `peer`, as it is
    /// now: `None` when it was deleted.
    Link { peer: String, link: Option<LinkView> },
    /// The cluster's cacerts: its intermediate's expiry and its root's fingerprint.
    Certs(Option<CertView>),
    /// The watch of our links in this cluster has listed them all (at start, or after it
    /// had to list again): a wanted link not seen by now is missing.
    Synced,
    /// The watches of this cluster answered again after an error (or for the first time).
    Reachable,
    /// A watch of this cluster failed: the API server is down or refuses us.
    Unreachable(String),
}

/// What matters of a link object: where it points, and for remote secrets the token's expiry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkView {
    /// A peer Gateway's `spec.addresses` value.
    pub address: Option<String>,
    /// A bounded token's `exp` claim (Unix seconds).
    pub token_expires: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertView {
    /// The intermediate's notAfter (Unix seconds).
    pub not_after: i64,
    pub root_fingerprint: String,
}

/// The state of one directed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PairState {
    /// Written (or found right) since the last change that concerns it.
    Linked,
    /// A change concerns it and it has not been re-linked yet.
    Stale,
    /// The last attempt failed; retried with backoff.
    Failed,
}

/// What the controller knows of one member cluster.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    pub name: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certs: Option<CertView>,
    /// Our links in this cluster, by peer.
    #[serde(skip)]
    pub links: BTreeMap<String, LinkView>,
}

/// One pair's record: its state, and the last error or address written.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PairRecord {
    pub from: String,
    pub to: String,
    pub state: PairState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Attempts failed in a row (for the backoff).
    #[serde(skip)]
    pub failures: u32,
    /// Not retried before this instant.
    #[serde(skip)]
    pub retry_at: Option<Instant>,
}

/// The whole picture: clusters, wanted pairs and their records.
#[derive(Debug, Clone)]
pub struct MeshState {
    pub clusters: Vec<ClusterState>,
    pub pairs: BTreeMap<(usize, usize), PairRecord>,
    /// Whether the peer Gateways carry the target's address (peering); remote secrets don't.
    pub links_carry_addresses: bool,
}

/// The longest wait between two attempts at a failing pair.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl MeshState {
    pub fn new(names: &[String], wanted: &[Pair], links_carry_addresses: bool) -> Self {
        let clusters = names
            .iter()
            .map(|name| ClusterState {
                name: name.clone(),
                ..ClusterState::default()
            })
            .collect();
        let pairs = wanted
            .iter()
            .map(|p| {
                let record = PairRecord {
                    from: names[p.from].clone(),
                    to: names[p.to].clone(),
                    state: PairState::Stale,
                    error: None,
                    failures: 0,
                    retry_at: None,
                };
                ((p.from, p.to), record)
            })
            .collect();
        MeshState {
            clusters,
            pairs,
            links_carry_addresses,
        }
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.name == name)
    }

    fn wanted(&self, from: usize, to: usize) -> bool {
        self.pairs.contains_key(&(from, to))
    }

    /// Records what a watch of cluster `at` saw; returns the pairs it makes stale.
    pub fn observe(&mut self, at: usize, observed: Observed) -> BTreeSet<(usize, usize)> {
        let mut stale = BTreeSet::new();
        match observed {
            Observed::Address(address) => {
                if self.clusters[at].address != address {
                    self.clusters[at].address = address;
                    stale.extend(self.pointing_elsewhere(at));
                }
            }
            Observed::Link { peer, link } => {
                let peer_index = self.index_of(&peer);
                let cluster = &mut self.clusters[at];
                match &link {
                    Some(view) => cluster.links.insert(peer.clone(), view.clone()),
                    None => cluster.links.remove(&peer),
                };
                if let Some(to) = peer_index.filter(|&to| self.wanted(at, to)) {
                    if self.link_is_wrong(to, link.as_ref()) {
                        stale.insert((at, to));
                    } else if let Some(record) = self.pairs.get_mut(&(at, to)) {
                        // Found right (ours, or someone re-applied it): nothing to do.
                        if record.state == PairState::Stale {
                            record.state = PairState::Linked;
                        }
                    }
                }
            }
            Observed::Synced => stale.extend(self.missing_from(at)),
            Observed::Certs(certs) => self.clusters[at].certs = certs,
            Observed::Reachable => {
                let cluster = &mut self.clusters[at];
                // Back after an error (not the first answer, where the links it lists decide):
                // what failed or went stale while it was away is worth another try now.
                let back = cluster.error.take().is_some();
                cluster.reachable = true;
                if back {
                    for (key, record) in self.pairs.iter_mut() {
                        if (key.0 == at || key.1 == at) && record.state != PairState::Linked {
                            // Its failures were the outage's: try now, not when the backoff
                            // they built up (up to a minute) runs out.
                            record.retry_at = None;
                            stale.insert(*key);
                        }
                    }
                }
            }
            Observed::Unreachable(error) => {
                let cluster = &mut self.clusters[at];
                cluster.reachable = false;
                cluster.error = Some(error);
            }
        }
        for key in &stale {
            if let Some(record) = self.pairs.get_mut(key) {
                if record.state == PairState::Linked {
                    record.state = PairState::Stale;
                }
            }
        }
        stale
    }

    /// A link that is gone, or (peering) points elsewhere than the target's current address.
    fn link_is_wrong(&self, to: usize, link: Option<&LinkView>) -> bool {
        let Some(link) = link else {
            return true;
        };
        self.links_carry_addresses
            && self.clusters[to].address.is_some()
            && link.address != self.clusters[to].address
    }

    /// The pairs into `target` whose link (as last seen) points elsewhere than its address.
    /// Links not seen yet are judged when they are ([`Observed::Link`], [`Observed::Synced`]).
    fn pointing_elsewhere(&self, target: usize) -> Vec<(usize, usize)> {
        if !self.links_carry_addresses {
            return Vec::new();
        }
        let name = &self.clusters[target].name;
        self.pairs
            .keys()
            .filter(|(_, to)| *to == target)
            .filter(|(from, _)| {
                self.clusters[*from]
                    .links
                    .get(name)
                    .is_some_and(|link| self.link_is_wrong(target, Some(link)))
            })
            .copied()
            .collect()
    }

    /// Our links between members that no wanted pair names (`controller --prune`): made by
    /// hand, or left by an earlier topology. Links to clusters that are no members are not
    /// among them: they name no pair of this mesh.
    pub fn unwanted(&self) -> BTreeSet<(usize, usize)> {
        let mut unwanted = BTreeSet::new();
        for (from, cluster) in self.clusters.iter().enumerate() {
            for peer in cluster.links.keys() {
                if let Some(to) = self.index_of(peer).filter(|&to| to != from) {
                    if !self.wanted(from, to) {
                        unwanted.insert((from, to));
                    }
                }
            }
        }
        unwanted
    }

    /// A link we deleted: forgotten now, before its watch says so, or it would look unwanted
    /// (and be deleted) again meanwhile.
    pub fn forget_link(&mut self, from: usize, peer: &str) {
        self.clusters[from].links.remove(peer);
    }

    /// The wanted pairs from `source` with no link in it.
    fn missing_from(&self, source: usize) -> Vec<(usize, usize)> {
        self.pairs
            .keys()
            .filter(|(from, to)| {
                *from == source && !self.clusters[source].links.contains_key(&self.clusters[*to].name)
            })
            .copied()
            .collect()
    }

    /// What a resync or a new leader checks again. Peer Gateways: every pair (re-applying
    /// an unchanged one writes nothing). Remote secrets: only the missing ones, since each
    /// re-link mints a token and rewrites the secret, and istiod reloads the cluster on it.
    pub fn recheck(&self) -> BTreeSet<(usize, usize)> {
        if self.links_carry_addresses {
            return self.all_pairs();
        }
        (0..self.clusters.len())
            .flat_map(|source| self.missing_from(source))
            .collect()
    }

    /// Pairs whose bounded token expires within `before` of `now` (Unix seconds).
    pub fn expiring_tokens(&self, now: i64, before: Duration) -> BTreeSet<(usize, usize)> {
        let horizon = now + i64::try_from(before.as_secs()).unwrap_or(i64::MAX / 2);
        let mut due = BTreeSet::new();
        for (from, cluster) in self.clusters.iter().enumerate() {
            for (peer, link) in &cluster.links {
                let expiring = link.token_expires.is_some_and(|exp| exp <= horizon);
                if let Some(to) = self
                    .index_of(peer)
                    .filter(|&to| expiring && self.wanted(from, to))
                {
                    due.insert((from, to));
                }
            }
        }
        due
    }

    /// Of `candidates`, those to attempt now: both clusters reachable (as far as the watches
    /// know) and past their backoff.
    pub fn ready(&self, candidates: &BTreeSet<(usize, usize)>, now: Instant) -> Vec<Pair> {
        candidates
            .iter()
            .filter(|(from, to)| self.clusters[*from].reachable && self.clusters[*to].reachable)
            .filter(|key| {
                self.pairs
                    .get(key)
                    .is_some_and(|r| r.retry_at.is_none_or(|at| at <= now))
            })
            .map(|&(from, to)| Pair { from, to })
            .collect()
    }

    /// Records the outcome of a link run; returns the pairs that failed (to retry later).
    pub fn record(&mut self, reports: &[PairReport], now: Instant) -> BTreeSet<(usize, usize)> {
        let mut failed = BTreeSet::new();
        for report in reports {
            let (Some(from), Some(to)) = (self.index_of(&report.from), self.index_of(&report.to)) else {
                continue;
            };
            let Some(record) = self.pairs.get_mut(&(from, to)) else {
                continue;
            };
            if report.result == Outcome::Failed {
                record.state = PairState::Failed;
                record.error = report.error.as_ref().map(ToString::to_string);
                record.failures += 1;
                record.retry_at = Some(now + backoff(record.failures));
                failed.insert((from, to));
            } else {
                record.state = PairState::Linked;
                record.error = None;
                record.failures = 0;
                record.retry_at = None;
            }
        }
        failed
    }

    /// The state of the pair `from` -> `to`, by cluster names.
    pub fn state_of(&self, from: &str, to: &str) -> Option<PairState> {
        let key = (self.index_of(from)?, self.index_of(to)?);
        self.pairs.get(&key).map(|r| r.state)
    }

    /// How many pairs are in each state.
    pub fn counts(&self) -> BTreeMap<PairState, usize> {
        let mut counts = BTreeMap::from([
            (PairState::Linked, 0),
            (PairState::Stale, 0),
            (PairState::Failed, 0),
        ]);
        for record in self.pairs.values() {
            *counts.entry(record.state).or_default() += 1;
        }
        counts
    }

    /// Every wanted pair (a full resync).
    pub fn all_pairs(&self) -> BTreeSet<(usize, usize)> {
        self.pairs.keys().copied().collect()
    }
}

/// 1s, 2s, 4s, ... up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(6);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::clusters::ClusterError;
    use crate::link::full_mesh;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn linked(state: &mut MeshState) {
        for record in state.pairs.values_mut() {
            record.state = PairState::Linked;
        }
        for cluster in &mut state.clusters {
            cluster.reachable = true;
        }
    }

    fn link_to(state: &mut MeshState, from: usize, to: &str, address: &str) {
        let view = LinkView {
            address: Some(address.into()),
            token_expires: None,
        };
        state.observe(
            from,
            Observed::Link {
                peer: to.into(),
                link: Some(view),
            },
        );
    }

    #[test]
    fn an_address_change_makes_exactly_the_pairs_into_that_cluster_stale() {
        let mut state = MeshState::new(&names(4), &full_mesh(4), true);
        linked(&mut state);
        state.observe(2, Observed::Address(Some("10.0.0.1".into())));
        for from in [0, 1, 3] {
            link_to(&mut state, from, "c2", "10.0.0.1");
        }
        link_to(&mut state, 0, "c1", "10.0.0.5");
        let stale = state.observe(2, Observed::Address(Some("10.0.0.9".into())));
        assert_eq!(stale, BTreeSet::from([(0, 2), (1, 2), (3, 2)]));
        assert_eq!(state.counts()[&PairState::Stale], 3);
        // The same address again changes nothing.
        assert!(state
            .observe(2, Observed::Address(Some("10.0.0.9".into())))
            .is_empty());
    }

    #[test]
    fn links_found_right_are_linked_missing_ones_are_stale_once_listed() {
        let mut state = MeshState::new(&names(3), &full_mesh(3), false);
        // A first answer re-links nothing by itself: the links it lists decide.
        assert!(state.observe(0, Observed::Reachable).is_empty());
        let remote = |state: &mut MeshState, to: &str| {
            let link = Some(LinkView::default());
            state.observe(
                0,
                Observed::Link {
                    peer: to.into(),
                    link,
                },
            )
        };
        assert!(remote(&mut state, "c1").is_empty());
        assert_eq!(state.pairs[&(0, 1)].state, PairState::Linked);
        assert_eq!(state.observe(0, Observed::Synced), BTreeSet::from([(0, 2)]));
        // Remote secrets: a recheck re-links only what is missing (no needless new tokens).
        assert_eq!(
            state.recheck().len(),
            5,
            "all but 0 -> 1 (c1 and c2 have no links yet)"
        );
        assert!(!state.recheck().contains(&(0, 1)));
        let peering = MeshState::new(&names(3), &full_mesh(3), true);
        assert_eq!(peering.recheck().len(), 6);
    }

    #[test]
    fn a_deleted_or_wrong_link_is_stale_a_right_one_is_not() {
        let mut state = MeshState::new(&names(3), &full_mesh(3), true);
        linked(&mut state);
        state.observe(1, Observed::Address(Some("10.0.0.1".into())));
        linked(&mut state);
        let right = LinkView {
            address: Some("10.0.0.1".into()),
            token_expires: None,
        };
        let link = |view: Option<LinkView>| Observed::Link {
            peer: "c1".into(),
            link: view,
        };
        assert!(state.observe(0, link(Some(right.clone()))).is_empty());
        let wrong = LinkView {
            address: Some("10.9.9.9".into()),
            ..right
        };
        assert_eq!(state.observe(0, link(Some(wrong))), BTreeSet::from([(0, 1)]));
        assert_eq!(state.observe(0, link(None)), BTreeSet::from([(0, 1)]));
        // A link to a cluster outside the wanted pairs is not ours to fix.
        let other = Observed::Link {
            peer: "elsewhere".into(),
            link: None,
        };
        assert!(state.observe(0, other).is_empty());
    }

    #[test]
    fn remote_secrets_do_not_follow_gateway_addresses() {
        let mut state = MeshState::new(&names(2), &full_mesh(2), false);
        linked(&mut state);
        state.observe(1, Observed::Address(Some("10.0.0.1".into())));
        let view = LinkView {
            address: None,
            token_expires: Some(100),
        };
        let seen = state.observe(
            0,
            Observed::Link {
                peer: "c1".into(),
                link: Some(view),
            },
        );
        assert!(seen.is_empty());
    }

    #[test]
    fn tokens_within_the_horizon_are_due() {
        let mut state = MeshState::new(&names(3), &full_mesh(3), false);
        let token = |exp| LinkView {
            address: None,
            token_expires: Some(exp),
        };
        state.clusters[0].links.insert("c1".into(), token(1_000));
        state.clusters[0].links.insert("c2".into(), token(5_000));
        state.clusters[2].links.insert("c0".into(), LinkView::default());
        let due = state.expiring_tokens(500, Duration::from_secs(600));
        assert_eq!(due, BTreeSet::from([(0, 1)]));
    }

    #[test]
    fn unreachable_clusters_and_backoff_hold_pairs_back() {
        let mut state = MeshState::new(&names(3), &full_mesh(3), true);
        linked(&mut state);
        let now = Instant::now();
        state.observe(2, Observed::Unreachable("connection refused".into()));
        let ready = state.ready(&state.all_pairs(), now);
        assert_eq!(ready.len(), 2, "only c0<->c1: {ready:?}");
        let failed = PairReport::new("c0", "c1").failed(ClusterError::state("c0", "boom"));
        state.record(&[failed], now);
        let ready = state.ready(&state.all_pairs(), now);
        assert_eq!(ready, vec![Pair { from: 1, to: 0 }]);
        assert!(state.ready(&state.all_pairs(), now + MAX_BACKOFF).len() == 2);
        // Back: what is not linked involving c2 is tried again, at once, whatever backoff
        // its failures during the outage built up.
        let failed = PairReport::new("c2", "c0").failed(ClusterError::state("c2", "down"));
        for _ in 0..5 {
            state.record(std::slice::from_ref(&failed), now);
        }
        let back = state.observe(2, Observed::Reachable);
        assert_eq!(back, BTreeSet::from([(2, 0)]));
        assert!(state.ready(&back, now).contains(&Pair { from: 2, to: 0 }));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
