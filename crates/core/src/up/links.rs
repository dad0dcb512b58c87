//! The link step: which pairs the model links (also what the controller keeps linked), and
//! the one dispatch to peer Gateways or remote secrets.

use super::*;

pub fn link_pairs(topology: &Topology, clusters: &[Cluster]) -> Vec<Pair> {
    match (topology.model, &topology.primary) {
        (Model::PrimaryRemote, Some(primary)) => {
            let p = clusters.iter().position(|c| &c.name == primary).unwrap_or(0);
            (0..clusters.len())
                .filter(|&i| i != p)
                .map(|to| Pair { from: p, to })
                .collect()
        }
        // The file's `links:` (a full mesh when absent) among the clusters at hand.
        _ => topology.links_among(&names_of(clusters)),
    }
}

pub(super) fn names_of(clusters: &[Cluster]) -> Vec<&str> {
    clusters.iter().map(|c| c.name.as_str()).collect()
}

/// The links verify expects: the primary's to each remote (primary-remote), those of a file
/// that narrows the full mesh; `None` (every pair) otherwise.
pub(super) fn expected_links(topology: &Topology, clusters: &[Cluster]) -> Option<ExpectedLinks> {
    if let (Model::PrimaryRemote, Some(primary)) = (topology.model, &topology.primary) {
        return Some(ExpectedLinks::primary_remote(&names_of(clusters), primary));
    }
    if topology.links.is_full_mesh() {
        return None;
    }
    let pairs = link_pairs(topology, clusters);
    Some(ExpectedLinks::new(
        topology.links.shape(),
        &names_of(clusters),
        &pairs,
    ))
}

pub fn uses_peering(topology: &Topology) -> bool {
    topology.uses_peering()
}

/// `complete`: every cluster of the file is reachable. Only then are links to clusters that
/// are not listed pruned — an unreachable cluster is not a removed one.
pub(super) async fn link_step(
    topology: &Topology,
    clusters: &[Cluster],
    complete: bool,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let pairs = link_pairs(topology, clusters);
    // The pairs are all the file wants among its clusters, in both models: a link it no
    // longer wants goes too — in primary-remote, a remote's remote secrets (a remote has no
    // istiod to read them; e.g. left from a multi-primary past), which verify warns about.
    let prune = Prune::of(complete, true);
    let mut reports = run_links(topology, clusters, &pairs, prune, write, options).await;
    if let (false, Model::PrimaryRemote, Some(primary)) =
        (uses_peering(topology), topology.model, &topology.primary)
    {
        let remotes: Vec<Cluster> = clusters.iter().filter(|c| &c.name != primary).cloned().collect();
        let remote = remote_options(write, options);
        reports.extend(remote_secrets::annotate_remotes(&remotes, primary, &remote).await);
    }
    pair_rows("link", "", reports)
}

/// Links `pairs` with the flavour's mechanism (peer Gateways or remote secrets), and removes
/// what `prune` says.
pub(super) async fn run_links(
    topology: &Topology,
    clusters: &[Cluster],
    pairs: &[Pair],
    prune: Prune,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<link::PairReport> {
    let mechanism = match uses_peering(topology) {
        true => Mechanism::Peering(LinkOptions {
            write: write.clone(),
            parallel: options.parallel,
            ..Default::default()
        }),
        false => Mechanism::RemoteSecrets(remote_options(write, options)),
    };
    link::run(clusters, pairs, Action::Link, prune, &mechanism, &NoProgress).await
}

pub(super) fn remote_options(write: &WriteOptions, options: &UpOptions) -> RemoteOptions {
    RemoteOptions {
        write: write.clone(),
        parallel: options.parallel,
        token_duration: None,
        server: None,
        token_wait: options.timeout,
    }
}

/// One row per pair; `prefix` says what the outcome is about when the step does not.
pub(super) fn pair_rows(step: &'static str, prefix: &str, reports: Vec<link::PairReport>) -> Vec<StepRow> {
    reports
        .into_iter()
        .map(|r| {
            let target = format!("{} -> {}", r.from, r.to);
            match (r.error, r.note) {
                (Some(e), Some(note)) => StepRow::failed(step, &target, format!("{note}: {e}")),
                (Some(e), None) => StepRow::failed(step, &target, e.to_string()),
                (None, Some(note)) => StepRow::new(step, &target, format!("{prefix}{} {note}", r.result)),
                (None, None) => StepRow::new(step, &target, format!("{prefix}{}", r.result)),
            }
        })
        .collect()
}

/// A row for every pair the link step left out because one of its clusters was skipped, so
/// that the report says per pair what happened.
pub(super) fn skipped_links(topology: &Topology, all: &[Cluster], ready: &[Cluster]) -> Vec<StepRow> {
    let is_ready = |c: &Cluster| ready.iter().any(|r| r.name == c.name);
    link_pairs(topology, all)
        .into_iter()
        .map(|p| (&all[p.from], &all[p.to]))
        .filter(|(from, to)| !is_ready(from) || !is_ready(to))
        .map(|(from, to)| {
            let skipped = if is_ready(from) { to } else { from };
            StepRow::failed(
                "link",
                &format!("{} -> {}", from.name, to.name),
                format!("skipped: the network step of {} failed", skipped.name),
            )
        })
        .collect()
}
