//! From the clients' logs to checks: per cluster, and per ordered pair with the fix verify
//! already found for a silent pair.

use super::*;

pub(super) fn cluster_check(cluster: &str, status: Status, message: impl Into<String>) -> Check {
    check("traffic", cluster, status, message)
}

/// Turns what every cluster saw into checks: one per cluster (did its probe run), one per
/// ordered pair whose client and server both ran and that the topology links (did the target
/// answer), and one per answer from a cluster the topology does not link the client to.
pub fn evaluate(
    names: &[&str],
    runs: &[ClusterRun],
    probe: &Probe,
    found: &[Check],
    options: &TrafficOptions,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for name in names {
        match runs.iter().find(|r| r.cluster == *name) {
            None => checks.push(cluster_check(
                name,
                Status::Fail,
                "not probed: its API server is unreachable",
            )),
            Some(run) => checks.push(run_check(run, probe)),
        }
    }
    let serving: Vec<&str> = runs
        .iter()
        .filter(|r| r.server.is_ok())
        .map(|r| r.cluster.as_str())
        .collect();
    for run in runs {
        let Some(Ok(answers)) = &run.client else { continue };
        let from = run.cluster.as_str();
        let reached: Vec<&str> = names
            .iter()
            .copied()
            .filter(|to| serving.contains(to) && options.reaches(from, to))
            .collect();
        for to in &reached {
            let silent = Silent {
                serving: reached.len(),
                hint: pair_hint(from, to, answers, found),
            };
            checks.push(pair_check(from, to, answers, silent));
        }
        checks.extend(unlinked_answers(from, answers, options, found));
    }
    checks
}

/// Answers from clusters the topology does not link `from` to: a link it does not want is
/// still in place (our own from an earlier topology, or someone else's).
fn unlinked_answers(from: &str, answers: &Answers, options: &TrafficOptions, found: &[Check]) -> Vec<Check> {
    let Some(expected) = &options.expected else {
        return Vec::new();
    };
    answers
        .by_cluster
        .iter()
        .filter(|(to, _)| !options.reaches(from, to))
        .map(|(to, &count)| {
            let mut check = pair(
                "traffic",
                from,
                to,
                Status::Warn,
                format!(
                    "{to} answered {count} of {} calls from {from}, which the {} topology does not link to it",
                    answers.total(),
                    expected.topology
                ),
            )
            .hint(unlinked_hint(from, to, found));
            check.answered = Some(count);
            check.sent = Some(answers.total());
            check
        })
        .collect()
}

/// What removes the link that let `from` reach `to`, as verify found it: the unwanted link
/// itself (whose fix knows whether it is ours), or links of the other mode left in `from`
/// (a remote secret after a move to peering reaches just as well). Else our link, by name.
fn unlinked_hint(from: &str, to: &str, found: &[Check]) -> String {
    let warned = |c: &&Check| c.status != Status::Pass && c.hint.is_some();
    let link = found
        .iter()
        .filter(warned)
        .find(|c| c.id == "link" && c.from.as_deref() == Some(from) && c.to.as_deref() == Some(to));
    let other = found
        .iter()
        .filter(warned)
        .find(|c| c.id == "other-links" && c.cluster.as_deref() == Some(from));
    match link.or(other).and_then(|c| c.hint.clone()) {
        Some(hint) => hint,
        None => format!("kubectl mesh link --from {from} --to {to} --unlink"),
    }
}

/// Below this chance of missing a cluster by luck alone, a cluster that never answered
/// counts as unreachable.
pub(super) const MISS_CHANCE: f64 = 0.01;

/// The chance that a cluster gets none of `requests` calls spread at random over `clusters`.
pub(super) fn miss_chance(clusters: usize, requests: u32) -> f64 {
    if clusters <= 1 {
        return 0.0;
    }
    (1.0 - 1.0 / clusters as f64).powf(f64::from(requests))
}

pub(super) fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

pub(super) fn run_check(run: &ClusterRun, probe: &Probe) -> Check {
    let name = run.cluster.as_str();
    match (&run.server, &run.client) {
        (Err(e), _) => cluster_check(name, Status::Fail, format!("probe server: {e}")),
        (Ok(()), None) => cluster_check(name, Status::Fail, "probe client did not run"),
        (Ok(()), Some(Err(e))) => cluster_check(name, Status::Fail, format!("probe client: {e}")),
        (Ok(()), Some(Ok(answers))) => {
            let total = answers.total();
            let answered = total - answers.errors - answers.unexpected;
            let by: Vec<String> = answers
                .by_cluster
                .iter()
                .map(|(cluster, n)| format!("{cluster} {n}"))
                .collect();
            let runs = match answers.runs {
                0 | 1 => String::new(),
                n => format!(" in {n} runs (the first left a cluster silent)"),
            };
            let mut message = format!(
                "client called {} {}{runs}: answered by {}",
                probe.host(),
                plural(total, "time"),
                if by.is_empty() {
                    "none".to_string()
                } else {
                    by.join(", ")
                }
            );
            let status = if answers.errors > 0 || answers.unexpected > 0 || answered == 0 {
                if let Some(e) = &answers.first_error {
                    message.push_str(&format!(
                        "; {} failed, first: {e}",
                        plural(answers.errors, "call")
                    ));
                }
                if answers.unexpected > 0 {
                    message.push_str(&format!("; {} unexpected", plural(answers.unexpected, "answer")));
                }
                Status::Warn
            } else {
                Status::Pass
            };
            cluster_check(name, status, message)
        }
    }
}

/// How to judge and fix a pair that never answered.
pub(super) struct Silent {
    /// How many clusters serve: the calls spread over them.
    serving: usize,
    hint: String,
}

/// The fix for a silent pair, from what verify already knows: the link check of the pair,
/// then the shared root, then what the calls said.
pub(super) fn pair_hint(from: &str, to: &str, answers: &Answers, found: &[Check]) -> String {
    let failing = |c: &&Check| c.status != Status::Pass && c.hint.is_some();
    let link = found
        .iter()
        .filter(failing)
        .find(|c| c.id == "link" && c.from.as_deref() == Some(from) && c.to.as_deref() == Some(to));
    let root = found.iter().filter(failing).find(|c| c.id == "shared-root");
    match (link, root) {
        _ if from == to => {
            format!("check the data plane of {to}: kubectl --context {to} get pods -n istio-system")
        }
        (Some(link), _) => link.hint.clone().unwrap_or_default(),
        (None, Some(root)) => root.hint.clone().unwrap_or_default(),
        (None, None) if answers.first_error.as_deref().is_some_and(|e| e.contains("(56)")) => {
            format!("calls reached {to} but mTLS failed: compare the roots with kubectl mesh certs inspect --contexts {from},{to}")
        }
        (None, None) => format!("kubectl mesh link --from {from} --to {to}"),
    }
}

pub(super) fn pair_check(from: &str, to: &str, answers: &Answers, silent: Silent) -> Check {
    let count = answers.by_cluster.get(to).copied().unwrap_or(0);
    let total = answers.total();
    let mut check = if count > 0 {
        pair(
            "traffic",
            from,
            to,
            Status::Pass,
            format!("{to} answered {count} of {total} calls from {from}"),
        )
    } else if miss_chance(silent.serving, total) >= MISS_CHANCE {
        // Calls spread at random: with few of them, missing a cluster proves nothing.
        pair(
            "traffic",
            from,
            to,
            Status::Warn,
            format!(
                "{to} did not answer {from} in {}: too few to tell",
                plural(total, "call")
            ),
        )
        .hint(format!(
            "run again with more calls: --probe-requests {}",
            10 * silent.serving.max(2)
        ))
    } else {
        let errors = match &answers.first_error {
            Some(e) => format!("; {} failed, first: {e}", plural(answers.errors, "call")),
            None => String::new(),
        };
        let who = if from == to {
            "its own client".to_string()
        } else {
            from.to_string()
        };
        pair(
            "traffic",
            from,
            to,
            Status::Fail,
            format!("{to} never answered {who} ({}{errors})", plural(total, "call")),
        )
        .hint(silent.hint)
    };
    check.answered = Some(count);
    check.sent = Some(total);
    check
}
