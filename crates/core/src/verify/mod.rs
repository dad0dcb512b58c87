//! `verify`: is the mesh consistent? Every cluster is read concurrently (its reads in
//! parallel too), then every check is computed from those facts by pure functions — so a
//! verify of 20 clusters costs about what one costs, and each check is unit-testable.

mod checks;
mod credentials;
mod facts;
mod services;

use serde::Serialize;

use crate::clusters::Cluster;
use crate::parallel;
use crate::report::Progress;

pub use checks::evaluate;
pub use facts::{collect, ClusterFacts};
pub use services::{DISTRIBUTIONS, GLOBAL_LABEL, SCOPE_LABEL, TRAFFIC_DISTRIBUTION};

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
    /// For `--services` checks: the global host, `<name>.<namespace>.mesh.internal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Which kind of links to expect between clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMode {
    Peering,
    RemoteSecret,
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub mode: LinkMode,
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
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            mode: LinkMode::Peering,
            gateway_namespace: "istio-gateways".into(),
            gateway_name: "istio-eastwest".into(),
            expiry_warn_days: 30,
            parallel: 16,
            services: false,
            check_credentials: false,
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Reads every cluster concurrently and evaluates every check.
pub async fn run(clusters: &[Cluster], options: &VerifyOptions, progress: &dyn Progress) -> Vec<Check> {
    let facts = parallel::map_bounded(
        clusters.iter().collect(),
        options.parallel,
        |cluster| async move {
            let facts = collect(cluster, options).await;
            progress.event(&cluster.name, "read");
            facts
        },
    )
    .await;
    let mut checks = evaluate(&facts, options);
    if options.services {
        checks.extend(services::evaluate(&facts));
    }
    if options.check_credentials && options.mode == LinkMode::RemoteSecret {
        checks.extend(credentials::check(&facts, options).await);
    }
    checks
}

/// The worst status among `checks` (Pass when empty).
pub fn overall(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Pass)
}
