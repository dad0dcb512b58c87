//! `verify`: is the mesh consistent? Every cluster is read concurrently (its reads in
//! parallel too), then every check is computed from those facts by pure functions — so a
//! verify of 20 clusters costs about what one costs, and each check is unit-testable.

mod checks;
mod credentials;
mod facts;
mod services;
pub mod traffic;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::kube::clusters::Cluster;
use crate::kube::parallel;
use crate::link::Pair;
use crate::report::Progress;
use crate::resources::eastwest::{EastWest, Flavor, Readiness};

pub use checks::evaluate;
pub use facts::{collect, ClusterFacts};

/// How a check came out. Ordered: worse is greater.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✔",
            Status::Warn => "⚠",
            Status::Fail => "✘",
        }
    }
}

/// One check's result. `id` is stable (part of the JSON schema); `hint` is the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// For `--services` checks: the host clients use (`<name>.<namespace>.mesh.internal` for
    /// ambient-peering, the cluster-local name for upstream ambient).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// For `--traffic` pair checks: how many of the source's requests the target answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<u32>,
    /// For `--traffic` pair checks: how many requests the source's client sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<u32>,
    /// For `--traffic` checks: the probe's namespace (the same in every cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Which kind of links to expect between clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMode {
    Peering,
    RemoteSecret,
}

/// The links a topology wants (`verify --hub ...`, or `-f` with a `links:` section): only
/// these pairs must be linked; a link between other clusters is a warning, and their absence
/// is what the topology asks for, so no check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLinks {
    /// The kind of topology (`hub-and-spoke`, `primary-remote`, ...), for messages.
    pub topology: String,
    /// `(from, to)` by cluster name.
    pub pairs: BTreeSet<(String, String)>,
}

impl ExpectedLinks {
    /// The directed `pairs` among `clusters` (indexes into it).
    pub fn new(topology: impl fmt::Display, clusters: &[&str], pairs: &[Pair]) -> Self {
        let pairs = pairs
            .iter()
            .map(|p| (clusters[p.from].to_string(), clusters[p.to].to_string()))
            .collect();
        ExpectedLinks {
            topology: topology.to_string(),
            pairs,
        }
    }

    /// Primary-remote: the primary holds a remote secret for each remote, and that is all
    /// (istio.io `docs/setup/install/multicluster/primary-remote_multi-network`, "Attach
    /// cluster2 as a remote cluster of cluster1": `istioctl create-remote-secret --context
    /// <remote> | kubectl apply --context <primary>`, never the other way). What `link
    /// --primary --remotes` and `up` with `model: primary-remote` create.
    pub fn primary_remote(clusters: &[&str], primary: &str) -> Self {
        let pairs = clusters
            .iter()
            .filter(|c| **c != primary)
            .map(|remote| (primary.to_string(), remote.to_string()))
            .collect();
        ExpectedLinks {
            topology: Self::PRIMARY_REMOTE.into(),
            pairs,
        }
    }

    /// The `topology` of [`Self::primary_remote`].
    pub const PRIMARY_REMOTE: &'static str = "primary-remote";

    pub fn is_primary_remote(&self) -> bool {
        self.topology == Self::PRIMARY_REMOTE
    }

    pub fn wants(&self, from: &str, to: &str) -> bool {
        self.pairs.contains(&(from.to_string(), to.to_string()))
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub mode: LinkMode,
    /// Decides what the east-west gateway is: a Gateway, or (sidecar) a LoadBalancer Service.
    pub flavor: Flavor,
    /// Namespace and name of the east-west gateway.
    pub gateway_namespace: String,
    pub gateway_name: String,
    /// Warn when an intermediate expires within this many days.
    pub expiry_warn_days: i64,
    pub parallel: usize,
    /// `--services`: also check global services.
    pub services: bool,
    /// `--check-credentials`: log in with every remote secret's token.
    pub check_credentials: bool,
    /// Timeout of each API call made with a remote secret's credentials.
    pub timeout: std::time::Duration,
    /// The links a topology wants; `None`: every ordered pair (the full mesh).
    pub expected_links: Option<ExpectedLinks>,
    /// Primary-remote (sidecar): the cluster whose istiod is every other cluster's control
    /// plane. Remotes then need no istiod of their own but the `controlPlaneClusters`
    /// annotation, and the primary must expose istiod through its east-west gateway.
    pub primary: Option<String>,
}

impl VerifyOptions {
    /// Whether `cluster` is a remote of a primary-remote mesh.
    pub fn is_remote(&self, cluster: &str) -> bool {
        self.primary.as_deref().is_some_and(|p| p != cluster)
    }

    /// The object that is the east-west gateway, where its address shows.
    pub fn eastwest(&self) -> Readiness {
        EastWest {
            flavor: self.flavor,
            name: Some(self.gateway_name.clone()),
            namespace: Some(self.gateway_namespace.clone()),
            ..Default::default()
        }
        .readiness()
    }
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            mode: LinkMode::Peering,
            flavor: Flavor::AmbientPeering,
            gateway_namespace: "istio-gateways".into(),
            gateway_name: "istio-eastwest".into(),
            expiry_warn_days: 30,
            parallel: 16,
            services: false,
            check_credentials: false,
            timeout: std::time::Duration::from_secs(30),
            expected_links: None,
            primary: None,
        }
    }
}

/// Reads every cluster concurrently and evaluates every check.
pub async fn run(clusters: &[Cluster], options: &VerifyOptions, progress: &dyn Progress) -> Vec<Check> {
    let facts = collect_all(clusters, options, progress).await;
    check_all(&facts, options).await
}

/// Reads every cluster, at most `options.parallel` at once.
pub async fn collect_all(
    clusters: &[Cluster],
    options: &VerifyOptions,
    progress: &dyn Progress,
) -> Vec<ClusterFacts> {
    parallel::map_bounded(
        clusters.iter().collect(),
        options.parallel,
        |cluster| async move {
            let facts = collect(cluster, options).await;
            progress.event(&cluster.name, "read");
            facts
        },
    )
    .await
}

/// Every check over what [`collect_all`] read (`--check-credentials` makes more requests).
pub async fn check_all(facts: &[ClusterFacts], options: &VerifyOptions) -> Vec<Check> {
    let mut checks = evaluate(facts, options);
    if options.services {
        checks.extend(services::evaluate(facts, options.flavor));
    }
    if options.check_credentials && options.mode == LinkMode::RemoteSecret {
        checks.extend(credentials::check(facts, options).await);
    }
    checks
}

/// The worst status among `checks` (Pass when empty).
pub fn overall(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass)
}
