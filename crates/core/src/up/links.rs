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

/// The links verify expects: the primary's to each remote (primary-remote), else those of
/// the file's `links:` (the full mesh when it has none): what `up` linked, so a direction
/// missing since is a failure, not the one-way warning of a bare `verify --contexts`.
pub(super) fn expected_links(topology: &Topology, clusters: &[Cluster]) -> Option<ExpectedLinks> {
    if let (Model::PrimaryRemote, Some(primary)) = (topology.model, &topology.primary) {
        return Some(ExpectedLinks::primary_remote(&names_of(clusters), primary));
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

/// Links the file's pairs among `all` its clusters. Those in `skipped` (unreachable, or left
/// out by the network step) are not asked: their pairs fail with the reason, and they still
/// count as members, so the links to them that the file wants are kept while those it no
/// longer wants are removed from the clusters at hand.
pub(super) async fn link_step(
    topology: &Topology,
    all: &[Cluster],
    skipped: &BTreeMap<usize, ClusterError>,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let pairs = link_pairs(topology, all);
    // The pairs are all the file wants among its clusters, in both models: a link it no
    // longer wants goes too — in primary-remote, a remote's remote secrets (a remote has no
    // istiod to read them; e.g. left from a multi-primary past), which verify warns about.
    let mechanism = mechanism(topology, write, options);
    let mut reports = link::run_skipping(
        all,
        skipped,
        &pairs,
        Action::Link,
        Prune::Unwanted,
        &mechanism,
        &NoProgress,
    )
    .await;
    if let (false, Model::PrimaryRemote, Some(primary)) =
        (uses_peering(topology), topology.model, &topology.primary)
    {
        let remotes: Vec<Cluster> = all
            .iter()
            .enumerate()
            .filter(|(i, c)| &c.name != primary && !skipped.contains_key(i))
            .map(|(_, c)| c.clone())
            .collect();
        let remote = remote_options(write, options);
        reports.extend(remote_secrets::annotate_remotes(&remotes, primary, &remote).await);
    }
    if write.dry_run != DryRun::None {
        reports = reports
            .into_iter()
            .map(|r| unexposed_in_dry_run(r, skipped, all))
            .collect();
    }
    pair_rows("link", "", reports)
}

/// A dry run has not created the east-west gateways whose addresses links need: a pair
/// whose target has none yet is what the run would link once it has one, not a failure.
fn unexposed_in_dry_run(
    report: link::PairReport,
    skipped: &BTreeMap<usize, ClusterError>,
    all: &[Cluster],
) -> link::PairReport {
    let target_not_ready = report.error.as_ref().is_some_and(|e| {
        e.cluster == report.to
            && matches!(e.cause.as_ref(), Cause::State(_))
            && !skipped.keys().any(|&i| all[i].name == report.to)
    });
    if !target_not_ready {
        return report;
    }
    let to = report.to.clone();
    link::PairReport {
        error: None,
        ..report.with(Outcome::Created)
    }
    .noting(format!("once {to}'s east-west gateway has an address"))
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
    let mechanism = mechanism(topology, write, options);
    link::run(clusters, pairs, Action::Link, prune, &mechanism, &NoProgress).await
}

fn mechanism(topology: &Topology, write: &WriteOptions, options: &UpOptions) -> Mechanism {
    match uses_peering(topology) {
        true => Mechanism::Peering(LinkOptions {
            write: write.clone(),
            parallel: options.parallel,
            ..Default::default()
        }),
        false => Mechanism::RemoteSecrets(remote_options(write, options)),
    }
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
