//! `verify --traffic`: the end-to-end proof users otherwise do by hand (helloworld, sleep,
//! curl). In a temporary namespace of every cluster: an echo server behind a global Service;
//! once every server is ready, a client Job per cluster calls the flavour's global host
//! ([`Probe::host`]: Solo's `<svc>.<ns>.mesh.internal` for ambient-peering; for upstream ambient
//! the Service's own `<svc>.<ns>.svc.cluster.local`, as upstream has no global domain —
//! istio 1.30.3 pilot/pkg/serviceregistry/ambient/services.go:690 — and for sidecars the same);
//! its log says which clusters answered. The namespaces go away afterwards — also when a step
//! fails or the run is interrupted.
//!
//! Here: the options, the run (namespace, servers, barrier, clients, clean-up, also on Ctrl-C)
//! and what one cluster's run found; `workloads` (server, client, waits), `cleanup`, and
//! `outcome` (the checks) hold the rest.

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::checks::{check, global, pair};
use super::facts::ClusterFacts;
use super::{Check, ExpectedLinks, Status};
use crate::kube::api::with_query;
use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::Cluster;
use crate::kube::kinds;
use crate::kube::parallel;
use crate::report::Progress;
use crate::resources::eastwest::Flavor;
use crate::resources::probe::{self, Answers, Probe, PROBE_LABEL};

mod cleanup;
mod outcome;
mod workloads;

use cleanup::*;
pub use outcome::evaluate;
use outcome::*;
use workloads::*;

/// Settings of `--traffic`.
#[derive(Debug, Clone)]
pub struct TrafficOptions {
    pub flavor: Flavor,
    /// Requests per client; `None`: ten per cluster (at least 20), so that with calls spread
    /// at random every cluster is all but certain to be hit.
    pub requests: Option<u32>,
    pub server_image: String,
    pub client_image: String,
    /// How long to wait for the servers to be ready, and again for the clients to finish.
    pub wait: Duration,
    /// Leave the probe namespaces in place (to debug a failure).
    pub keep: bool,
    pub parallel: usize,
    /// The links the topology wants (hub-and-spoke, pairs, groups): a client then expects
    /// answers from its own cluster and those it links to, no others. `None`: a full mesh,
    /// every cluster answers every client.
    pub expected: Option<ExpectedLinks>,
}

impl TrafficOptions {
    /// Whether a client in `from` should hear from `to`: its own cluster always; another when
    /// the topology links `from` to it (a link is one-way: `from` knows `to`'s endpoints).
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        from == to || self.expected.as_ref().is_none_or(|e| e.wants(from, to))
    }
}

impl Default for TrafficOptions {
    fn default() -> Self {
        TrafficOptions {
            flavor: Flavor::AmbientPeering,
            requests: None,
            server_image: probe::DEFAULT_SERVER_IMAGE.into(),
            client_image: probe::DEFAULT_CLIENT_IMAGE.into(),
            wait: Duration::from_secs(180),
            keep: false,
            parallel: 16,
            expected: None,
        }
    }
}

/// What `--traffic` found.
#[derive(Debug, Clone)]
pub struct TrafficReport {
    pub checks: Vec<Check>,
    /// The run was interrupted; the probe was still cleaned up.
    pub interrupted: bool,
}

/// Runs the probe in every reachable cluster, then removes it (unless `keep`). `interrupt`
/// resolving (Ctrl-C) stops the probe at once and goes straight to the clean-up. `found`
/// are the configuration checks already made: a silent pair's fix comes from them.
pub async fn run(
    clusters: &[Cluster],
    facts: &[ClusterFacts],
    found: &[Check],
    options: &TrafficOptions,
    progress: &dyn Progress,
    interrupt: impl Future<Output = ()>,
) -> TrafficReport {
    let reachable: Vec<&Cluster> = clusters
        .iter()
        .filter(|c| facts.iter().any(|f| f.name == c.name && f.reachable()))
        .collect();
    let probe = Probe {
        namespace: format!("kubectl-mesh-probe-{}", random_suffix()),
        flavor: options.flavor,
        requests: options
            .requests
            .unwrap_or_else(|| (10 * clusters.len() as u32).max(20)),
        server_image: options.server_image.clone(),
        client_image: options.client_image.clone(),
    };
    let exercise = exercise(&reachable, &probe, options, progress);
    let outcome = tokio::select! {
        outcome = exercise => Some(outcome),
        () = interrupt => None,
    };
    let cleanup = if options.keep {
        Vec::new()
    } else {
        parallel::map_bounded(reachable.clone(), options.parallel, |c| {
            cleanup(c, &probe.namespace)
        })
        .await
    };
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    let mut checks = match &outcome {
        Some(runs) => evaluate(&names, runs, &probe, found, options),
        None => vec![interrupted_check(clusters, options)],
    };
    checks.extend(cleanup_checks(&reachable, cleanup, &probe.namespace));
    if options.keep {
        checks.push(kept_check(&probe.namespace, &reachable));
    }
    // Scripts find the probe's namespace in a field of its own, not only in messages.
    for check in &mut checks {
        check.namespace = Some(probe.namespace.clone());
    }
    TrafficReport {
        checks,
        interrupted: outcome.is_none(),
    }
}

/// A probe name nobody else uses: a random-keyed hash of the time and our process id.
fn random_suffix() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:06x}", hasher.finish() & 0xff_ffff)
}

/// How the probe went in one cluster: its server, then its client.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    pub cluster: String,
    pub server: Result<(), String>,
    /// `None` when the client never ran (its own server failed, or another step did).
    pub client: Option<Result<Answers, String>>,
}

async fn exercise<'a>(
    clusters: &[&'a Cluster],
    probe: &Probe,
    options: &TrafficOptions,
    progress: &dyn Progress,
) -> Vec<ClusterRun> {
    let deadline = Instant::now() + options.wait;
    let servers = parallel::map_bounded(clusters.to_vec(), options.parallel, |c| async move {
        let result = start_server(c, probe, deadline, options.wait).await;
        progress.event(
            &c.name,
            if result.is_ok() {
                "probe server ready"
            } else {
                "probe server failed"
            },
        );
        result
    })
    .await;
    // Clients start only once every server is up, or early ones would miss late servers.
    let deadline = Instant::now() + options.wait;
    let ready: Vec<&Cluster> = clusters
        .iter()
        .zip(&servers)
        .filter(|(_, s)| s.is_ok())
        .map(|(c, _)| *c)
        .collect();
    let run_all = |clients: Vec<&'a Cluster>, run: u32| {
        parallel::map_bounded(clients, options.parallel, move |c| async move {
            let result = run_client(c, probe, run, deadline, options.wait).await;
            let what = match (&result, run) {
                (Err(_), _) => "probe client failed".to_string(),
                (Ok(_), 1) => "probe client finished".to_string(),
                (Ok(_), n) => format!("probe client finished (run {n})"),
            };
            progress.event(&c.name, &what);
            (c.name.clone(), result)
        })
    };
    let mut clients: Vec<(String, Result<Answers, String>)> = run_all(ready.clone(), 1).await;
    // Endpoints of other clusters take a few seconds to spread through the mesh, so a
    // client that heard nothing from a serving cluster runs once more (its pod's start-up is
    // the wait) before that counts as a failure.
    let serving: Vec<&str> = ready.iter().map(|c| c.name.as_str()).collect();
    let silent: Vec<&Cluster> = ready
        .iter()
        .zip(&clients)
        .filter(|(c, (_, r))| {
            let expected: Vec<&str> = serving
                .iter()
                .copied()
                .filter(|to| options.reaches(&c.name, to))
                .collect();
            r.as_ref().is_ok_and(|a| heard_nothing_from(a, &expected))
        })
        .map(|(c, _)| *c)
        .collect();
    if !silent.is_empty() {
        let again: BTreeMap<String, Result<Answers, String>> = run_all(silent, 2).await.into_iter().collect();
        for (name, result) in &mut clients {
            if let (Ok(first), Some(second)) = (result.as_mut(), again.get(name)) {
                match second {
                    Ok(more) => first.add(more),
                    Err(e) => *result = Err(format!("second run: {e}")),
                }
            }
        }
    }
    let mut clients: BTreeMap<String, Result<Answers, String>> = clients.into_iter().collect();
    clusters
        .iter()
        .zip(servers)
        .map(|(c, server)| ClusterRun {
            cluster: c.name.clone(),
            server,
            client: clients.remove(&c.name),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> Probe {
        Probe {
            namespace: "kubectl-mesh-probe-000001".into(),
            flavor: Flavor::AmbientPeering,
            requests: 4,
            server_image: "s".into(),
            client_image: "c".into(),
        }
    }

    fn answers(log: &str) -> Option<Result<Answers, String>> {
        Some(Ok(probe::parse_log(log)))
    }

    fn log(lines: &[&str]) -> Option<Result<Answers, String>> {
        answers(&(lines.join("\n") + "\n"))
    }

    fn answer(cluster: &str, times: usize) -> Vec<String> {
        vec![format!("kubectl-mesh-probe cluster={cluster}"); times]
    }

    fn run(cluster: &str, lines: Vec<String>) -> ClusterRun {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        ClusterRun {
            cluster: cluster.into(),
            server: Ok(()),
            client: log(&lines),
        }
    }

    fn find<'a>(checks: &'a [Check], from: &str, to: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.from.as_deref() == Some(from) && c.to.as_deref() == Some(to))
            .unwrap()
    }

    #[test]
    fn every_pair_that_answered_passes() {
        let runs = vec![
            run("a", [answer("a", 1), answer("b", 1)].concat()),
            run("b", [answer("b", 1), answer("a", 1)].concat()),
        ];
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[], &TrafficOptions::default());
        assert_eq!(checks.len(), 6, "{checks:#?}");
        assert!(checks.iter().all(|c| c.status == Status::Pass), "{checks:#?}");
        assert_eq!(find(&checks, "a", "b").answered, Some(1));
        assert_eq!(find(&checks, "a", "b").message, "b answered 1 of 2 calls from a");
        let a = checks.iter().find(|c| c.cluster.as_deref() == Some("a")).unwrap();
        assert!(
            a.message.ends_with("2 times: answered by a 1, b 1"),
            "{}",
            a.message
        );
    }

    #[test]
    fn a_silent_target_fails_with_the_fix_and_errors_warn() {
        let errors = vec!["error: curl: (56) Recv failure".to_string(); 10];
        let runs = vec![
            run("a", [answer("a", 10), errors].concat()),
            run("b", answer("b", 1)),
        ];
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[], &TrafficOptions::default());
        let ab = find(&checks, "a", "b");
        assert_eq!(ab.status, Status::Fail);
        assert_eq!(
            ab.message,
            "b never answered a (20 calls; 10 calls failed, first: curl: (56) Recv failure)"
        );
        assert!(ab.hint.as_deref().unwrap().contains("mTLS failed"), "{ab:?}");
        let a = checks.iter().find(|c| c.cluster.as_deref() == Some("a")).unwrap();
        assert_eq!(a.status, Status::Warn);
    }

    #[test]
    fn too_few_calls_to_tell_is_a_warning() {
        // Two calls over three serving clusters: missing one is likely by chance alone.
        let runs = vec![
            run("a", [answer("a", 1), answer("b", 1)].concat()),
            run("b", answer("b", 30)),
            run("c", answer("c", 30)),
        ];
        let checks = evaluate(&["a", "b", "c"], &runs, &probe(), &[], &TrafficOptions::default());
        let ac = find(&checks, "a", "c");
        assert_eq!(ac.status, Status::Warn);
        assert_eq!(ac.message, "c did not answer a in 2 calls: too few to tell");
        assert_eq!(
            ac.hint.as_deref(),
            Some("run again with more calls: --probe-requests 30")
        );
        // Thirty calls are plenty: b never answering c is a failure.
        assert_eq!(find(&checks, "c", "b").status, Status::Fail);
    }

    #[test]
    fn the_fix_comes_from_what_verify_already_found() {
        let runs = vec![run("a", answer("a", 20)), run("b", answer("b", 20))];
        let link = pair("link", "a", "b", Status::Warn, "one-way").hint("kubectl mesh link --from a --to b");
        let root = global("shared-root", Status::Fail, "roots differ")
            .hint("kubectl mesh certs secret --contexts b --dir DIR --force");
        let checks = evaluate(
            &["a", "b"],
            &runs,
            &probe(),
            &[link.clone(), root.clone()],
            &TrafficOptions::default(),
        );
        assert_eq!(find(&checks, "a", "b").hint, link.hint);
        assert_eq!(find(&checks, "b", "a").hint, root.hint);
        let checks = evaluate(&["a", "b"], &runs, &probe(), &[], &TrafficOptions::default());
        assert_eq!(
            find(&checks, "b", "a").hint.as_deref(),
            Some("kubectl mesh link --from b --to a")
        );
    }

    #[test]
    fn a_failed_server_or_client_is_one_cluster_check_not_many_pairs() {
        let runs = vec![
            ClusterRun {
                cluster: "a".into(),
                server: Err("403".into()),
                client: None,
            },
            ClusterRun {
                cluster: "b".into(),
                server: Ok(()),
                client: Some(Err("Job failed".into())),
            },
            ClusterRun {
                cluster: "c".into(),
                server: Ok(()),
                client: answers("kubectl-mesh-probe cluster=c\nkubectl-mesh-probe cluster=b\n"),
            },
        ];
        let checks = evaluate(
            &["a", "b", "c", "d"],
            &runs,
            &probe(),
            &[],
            &TrafficOptions::default(),
        );
        let by_cluster = |n: &str| checks.iter().find(|c| c.cluster.as_deref() == Some(n)).unwrap();
        assert_eq!(by_cluster("a").message, "probe server: 403");
        assert_eq!(by_cluster("b").message, "probe client: Job failed");
        assert_eq!(by_cluster("d").status, Status::Fail);
        let pairs: Vec<(&str, &str)> = checks
            .iter()
            .filter_map(|c| Some((c.from.as_deref()?, c.to.as_deref()?)))
            .collect();
        assert_eq!(pairs, vec![("c", "b"), ("c", "c")]);
    }

    /// Hub-and-spoke: spokes hear the hub and themselves, never each other; an answer across
    /// spokes means a link the topology does not want.
    #[test]
    fn a_partial_topology_expects_only_its_links() {
        use crate::link::topology::Shape;
        use crate::link::Pair;
        let names = ["hub", "s1", "s2"];
        let pairs: Vec<Pair> = [(0, 1), (1, 0), (0, 2), (2, 0)]
            .into_iter()
            .map(|(from, to)| Pair { from, to })
            .collect();
        let options = TrafficOptions {
            expected: Some(ExpectedLinks::new(Shape::HubAndSpoke, &names, &pairs)),
            ..TrafficOptions::default()
        };
        let runs = vec![
            run(
                "hub",
                [answer("hub", 20), answer("s1", 20), answer("s2", 20)].concat(),
            ),
            run("s1", [answer("s1", 30), answer("hub", 30)].concat()),
            run(
                "s2",
                [answer("s2", 30), answer("hub", 20), answer("s1", 10)].concat(),
            ),
        ];
        let checks = evaluate(&names, &runs, &probe(), &[], &options);
        let pairs: Vec<(&str, &str, Status)> = checks
            .iter()
            .filter_map(|c| Some((c.from.as_deref()?, c.to.as_deref()?, c.status)))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("hub", "hub", Status::Pass),
                ("hub", "s1", Status::Pass),
                ("hub", "s2", Status::Pass),
                ("s1", "hub", Status::Pass),
                ("s1", "s1", Status::Pass),
                ("s2", "hub", Status::Pass),
                ("s2", "s2", Status::Pass),
                ("s2", "s1", Status::Warn),
            ]
        );
        let unwanted = find(&checks, "s2", "s1");
        assert!(
            unwanted.message.contains("hub-and-spoke topology does not link"),
            "{}",
            unwanted.message
        );
        assert!(options.reaches("s1", "s1") && options.reaches("s1", "hub") && !options.reaches("s1", "s2"));
        assert_eq!(
            unwanted.hint.as_deref(),
            Some("kubectl mesh link --from s2 --to s1 --unlink")
        );
        // What verify found in s2 says what actually links it: a remote secret left from a
        // switch to peering. Its fix is the one to run.
        let other = check(
            "other-links",
            "s2",
            Status::Warn,
            "1 of our remote-secret links left",
        )
        .hint("kubectl mesh link --mode remote-secret --unlink --contexts hub,s1,s2");
        let checks = evaluate(&names, &runs, &probe(), &[other], &options);
        assert_eq!(
            find(&checks, "s2", "s1").hint.as_deref(),
            Some("kubectl mesh link --mode remote-secret --unlink --contexts hub,s1,s2")
        );
    }

    #[test]
    fn deployment_and_job_states() {
        let ready = serde_json::json!({"metadata": {"generation": 2}, "status": {"readyReplicas": 1, "observedGeneration": 2}});
        assert!(matches!(deployment_ready(&ready), Poll::Done));
        let old = serde_json::json!({"metadata": {"generation": 3}, "status": {"readyReplicas": 1, "observedGeneration": 2}});
        assert!(matches!(deployment_ready(&old), Poll::Pending(_)));
        let complete =
            serde_json::json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(matches!(job_finished(&complete), Poll::Done));
        let failed = serde_json::json!({"metadata": {"name": "j"}, "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]}});
        assert!(matches!(job_finished(&failed), Poll::Failed(m) if m == "Job j failed: DeadlineExceeded"));
        assert!(matches!(
            job_finished(&serde_json::json!({})),
            Poll::Pending(None)
        ));
    }

    #[test]
    fn suffixes_differ() {
        assert_ne!(random_suffix(), random_suffix());
        assert_eq!(random_suffix().len(), 6);
    }
}
