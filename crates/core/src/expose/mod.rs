//! `expose`: the east-west gateway in every cluster (DESIGN §5.1–5.3).
//!
//! Work is split in two phases so that bad input changes nothing: first every cluster is read
//! (network label, Gateway API present), then — only if no cluster lacks a network — every
//! reachable cluster is written, concurrently.

pub mod service;

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::kube::api::{ApiClient, ApiError};
use crate::kube::apply::{self, ApplyError, DryRun, WriteOptions};
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::kinds;
use crate::kube::{namespaces, parallel};
use crate::labels::{ISTIO_SYSTEM, NETWORK};
use crate::report::{ClusterReport, Outcome, Progress};
use crate::resources::eastwest::{EastWest, Flavor, Readiness};
use crate::resources::namespace;
use crate::InputError;

/// What the user asked of `expose`, the same for every cluster.
#[derive(Debug, Clone, Default)]
pub struct ExposeOptions {
    /// The gateway; its `network` is filled in per cluster.
    pub gateway: EastWest,
    /// `--network`: used for every cluster, and written onto `istio-system`.
    pub network: Option<String>,
    pub write: WriteOptions,
    /// `--wait`: how long to wait for the gateway's address.
    pub wait: Option<Duration>,
    pub parallel: usize,
}

/// The objects `--generate` prints for one cluster whose network is known (and whose name,
/// if known, is `options.gateway.cluster`).
pub fn generate(options: &ExposeOptions, network: &str) -> Vec<Value> {
    let gateway = EastWest {
        network: network.to_string(),
        ..options.gateway.clone()
    };
    let mut objects = Vec::new();
    if gateway.namespace() != ISTIO_SYSTEM {
        objects.push(namespace::owned(gateway.namespace()));
    }
    if options.network.is_some() {
        objects.push(namespace::network_label(ISTIO_SYSTEM, network));
    }
    objects.extend(gateway.objects());
    objects
}

/// The network label on a cluster's `istio-system` namespace, if any.
pub async fn read_network(api: &ApiClient) -> Result<Option<String>, ApiError> {
    let ns = api.get(&kinds::NAMESPACE.object_path(None, ISTIO_SYSTEM)).await?;
    Ok(ns
        .as_ref()
        .and_then(|ns| crate::labels::value(ns, NETWORK))
        .filter(|n| !n.is_empty())
        .map(str::to_string))
}

/// The result of reading one cluster before writing to it.
pub enum Plan {
    Ready {
        network: String,
    },
    /// Input the user must fix (exit 2, nothing is written anywhere).
    Input(InputError),
    /// The cluster cannot be worked on (exit 1, the others proceed).
    Failed(ClusterError),
}

/// Reads what a cluster needs before writing: its network and whether the API group of the
/// gateway exists.
pub async fn plan(cluster: &Cluster, options: &ExposeOptions) -> Plan {
    let network = match &options.network {
        Some(network) => network.clone(),
        None => match read_network(&cluster.api).await {
            Ok(Some(network)) => network,
            Ok(None) => return Plan::Input(no_network(cluster)),
            Err(e) => return Plan::Failed(cluster.error(e)),
        },
    };
    match missing_api(cluster, options.gateway.flavor).await {
        Ok(None) => Plan::Ready { network },
        Ok(Some(missing)) => Plan::Failed(cluster.state_error(missing)),
        Err(e) => Plan::Failed(cluster.error(e)),
    }
}

fn no_network(cluster: &Cluster) -> InputError {
    InputError::new(format!(
        "cluster {}: no network known (namespace istio-system has no {NETWORK} label)",
        cluster.name
    ))
    .with_hint(format!(
        "pass --network NAME, or label it: kubectl --context {} label namespace istio-system {NETWORK}=NAME",
        cluster.context
    ))
}

/// Says which CRDs are missing when the API group our objects need is not served.
async fn missing_api(cluster: &Cluster, flavor: Flavor) -> Result<Option<String>, ApiError> {
    let (kind, what) = match flavor {
        Flavor::Sidecar => (
            kinds::ISTIO_GATEWAY,
            "Istio's CRDs (networking.istio.io) are not installed: install Istio first (e.g. `helm install istio-base istio/base -n istio-system`)",
        ),
        _ => (
            kinds::GATEWAY,
            "the Gateway API CRDs (gateway.networking.k8s.io/v1) are not installed: install the standard channel, e.g. `kubectl apply --server-side -f standard-install.yaml` from the gateway-api release matching your Istio",
        ),
    };
    match cluster.api.get(&kind.group_version_path()).await? {
        Some(_) => Ok(None),
        None => Ok(Some(format!("cluster {}: {what}", cluster.name))),
    }
}

/// Applies the plans: one report per cluster, in the order of `clusters`.
pub async fn apply_all(
    clusters: Vec<(Cluster, Result<String, ClusterError>)>,
    options: &ExposeOptions,
    progress: &dyn Progress,
) -> Vec<ClusterReport> {
    parallel::map_bounded(clusters, options.parallel, |(cluster, planned)| async move {
        let mut report = ClusterReport::new(&cluster.name, &cluster.context);
        match planned {
            Ok(network) => {
                report.network = Some(network.clone());
                apply_cluster(&cluster, options, &network, &mut report, progress).await;
            }
            Err(reason) => report.fail(reason),
        }
        report
    })
    .await
}

async fn apply_cluster(
    cluster: &Cluster,
    options: &ExposeOptions,
    network: &str,
    report: &mut ClusterReport,
    progress: &dyn Progress,
) {
    let gateway = EastWest {
        network: network.to_string(),
        cluster: Some(cluster.name.clone()),
        ..options.gateway.clone()
    };
    let result = async {
        let namespace = ensure_namespaces(cluster, &gateway, options, report).await?;
        let write = namespaces::write_into(&options.write, namespace);
        for object in gateway.objects() {
            let outcome = apply::apply(&cluster.api, &object, &write).await;
            namespaces::record(report, &object, outcome)?;
        }
        Ok::<(), ApplyError>(())
    }
    .await;
    if let Err(e) = result {
        report.fail(cluster.write_error(e));
        return;
    }
    let done = match options.write.dry_run {
        DryRun::None => report.result.to_string(),
        _ => format!("would be {}", report.result),
    };
    progress.event(&cluster.name, &format!("east-west gateway {done}"));
    let Some(wait) = options.wait else {
        report.address = current_address(&cluster.api, &gateway.readiness()).await;
        return;
    };
    if options.write.dry_run != DryRun::None {
        return;
    }
    match wait_ready(cluster, &gateway.readiness(), wait, progress).await {
        Ok(address) => report.address = Some(address),
        Err(reason) => report.fail(reason),
    }
}

/// Creates the gateway's namespace if missing, and puts `--network` on `istio-system`.
async fn ensure_namespaces(
    cluster: &Cluster,
    gateway: &EastWest,
    options: &ExposeOptions,
    report: &mut ClusterReport,
) -> Result<Outcome, ApplyError> {
    let network = |ns: &str| options.network.as_deref().filter(|_| ns == ISTIO_SYSTEM);
    let own = gateway.namespace();
    let outcome = namespaces::ensure(&cluster.api, own, network(own), &options.write, report).await?;
    if options.network.is_some() && own != ISTIO_SYSTEM {
        namespaces::ensure(
            &cluster.api,
            ISTIO_SYSTEM,
            network(ISTIO_SYSTEM),
            &options.write,
            report,
        )
        .await?;
    }
    Ok(outcome)
}

/// The address of a ready gateway or LoadBalancer Service, if it has one.
pub fn address_of(object: &Value) -> Option<String> {
    let first = |pointer: &str, field: &str| {
        object
            .pointer(pointer)?
            .as_array()?
            .iter()
            .find_map(|a| a.get(field)?.as_str().map(str::to_string))
    };
    first("/status/addresses", "value")
        .or_else(|| first("/status/loadBalancer/ingress", "ip"))
        .or_else(|| first("/status/loadBalancer/ingress", "hostname"))
}

/// Whether a Gateway reports `Programmed: True` (Services have no such condition).
pub fn is_programmed(object: &Value) -> bool {
    if object.get("kind").and_then(Value::as_str) != Some("Gateway") {
        return true;
    }
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conds| {
            conds.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Programmed")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

pub async fn current_address(api: &ApiClient, readiness: &Readiness) -> Option<String> {
    api.get(&readiness.path())
        .await
        .ok()
        .flatten()
        .as_ref()
        .and_then(address_of)
}

/// Polls until the gateway has an address (and, for a Gateway, is Programmed).
async fn wait_ready(
    cluster: &Cluster,
    readiness: &Readiness,
    limit: Duration,
    progress: &dyn Progress,
) -> Result<String, ClusterError> {
    use crate::kube::poll::{self, Pace, State, Waited};
    let started = Instant::now();
    let what = format!(
        "{} {}/{}",
        readiness.kind.kind, readiness.namespace, readiness.name
    );
    progress.event(&cluster.name, &format!("waiting for {what} to get an address"));
    let mut last_note = Instant::now();
    let ready = |object: Option<&Value>| match object {
        None => State::Failed(format!(
            "cluster {}: {what} disappeared while waiting",
            cluster.name
        )),
        Some(object) => match (address_of(object), is_programmed(object)) {
            (Some(address), true) => State::Done(address),
            _ => State::Pending(None),
        },
    };
    let note = || {
        if last_note.elapsed() >= Duration::from_secs(10) {
            let waited = crate::duration::display(started.elapsed());
            progress.event(&cluster.name, &format!("still waiting for {what} ({waited})"));
            last_note = Instant::now();
        }
    };
    let deadline = tokio::time::Instant::now() + limit;
    let pace = Pace::fixed(Duration::from_millis(250));
    match poll::until(&cluster.api, &readiness.path(), deadline, pace, ready, note).await {
        Ok(address) => {
            let took = crate::duration::display(started.elapsed());
            progress.event(&cluster.name, &format!("{what} ready at {address} after {took}"));
            Ok(address)
        }
        Err(Waited::Failed(why)) => Err(cluster.state_error(why)),
        Err(Waited::Api(e)) => Err(cluster.error(e)),
        Err(Waited::Timeout(_)) => Err(cluster.state_error(format!(
            "cluster {}: {what} has no address after {}; check that LoadBalancer Services get addresses in this cluster (`kubectl --context {} get svc -n {}`), then re-run with a longer --wait",
            cluster.name,
            crate::duration::display(limit),
            cluster.context,
            readiness.namespace
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::kinds::ObjectRef;
    use serde_json::json;

    #[test]
    fn addresses_and_programmed() {
        let gw = json!({"kind": "Gateway", "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.10"}],
            "conditions": [{"type": "Programmed", "status": "True"}]}});
        assert_eq!(address_of(&gw).as_deref(), Some("203.0.113.10"));
        assert!(is_programmed(&gw));
        let pending =
            json!({"kind": "Gateway", "status": {"conditions": [{"type": "Programmed", "status": "False"}]}});
        assert_eq!(address_of(&pending), None);
        assert!(!is_programmed(&pending));
        let svc =
            json!({"kind": "Service", "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}});
        assert_eq!(address_of(&svc).as_deref(), Some("lb.example"));
        assert!(is_programmed(&svc));
    }

    #[test]
    fn generate_includes_namespaces() {
        let options = ExposeOptions {
            network: Some("n1".into()),
            ..Default::default()
        };
        let objects = generate(&options, "n1");
        let kinds: Vec<String> = objects.iter().map(|o| ObjectRef::of(o).to_string()).collect();
        assert_eq!(
            kinds,
            [
                "Namespace istio-gateways",
                "Namespace istio-system",
                "Gateway istio-gateways/istio-eastwest"
            ]
        );
        let offline = ExposeOptions::default();
        assert_eq!(generate(&offline, "n1").len(), 2);
    }
}
