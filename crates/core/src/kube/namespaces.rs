//! Making sure a namespace exists (and carries the network label) before objects go into it.

use serde_json::Value;

use crate::kube::api::ApiClient;
use crate::kube::apply::{self, ApplyError, DryRun, WriteOptions};
use crate::kube::kinds::{self, ObjectRef};
use crate::labels::is_ours;
use crate::report::{ClusterReport, Outcome};
use crate::resources::namespace;

/// Creates namespace `name` if it is missing (as ours), and when `network` is given puts that
/// label on it. A namespace someone else created gets the label and nothing else.
pub async fn ensure(
    api: &ApiClient,
    name: &str,
    network: Option<&str>,
    write: &WriteOptions,
    report: &mut ClusterReport,
) -> Result<Outcome, ApplyError> {
    let path = kinds::NAMESPACE.object_path(None, name);
    let live = api.get(&path).await.map_err(|source| ApplyError::Api {
        object: ObjectRef {
            kind: "Namespace".into(),
            namespace: None,
            name: name.to_string(),
        },
        source: Box::new(source),
    })?;
    let desired = match (&live, network) {
        (Some(ns), Some(network)) if !is_ours(ns) => namespace::network_label(name, network),
        (Some(_), None) => return Ok(Outcome::Unchanged),
        // Ours (or about to be): keep the managed-by label, which applying without it would drop.
        (_, Some(network)) => namespace::owned_with_network(name, network),
        (None, None) => namespace::owned(name),
    };
    let outcome = apply::apply_over(api, &desired, live.as_ref(), write).await;
    record(report, &desired, outcome.clone())?;
    outcome
}

/// How to write objects into a namespace that `ensure` just reported on. A server dry run
/// cannot create the namespace, so the server would answer 404 for everything in it: such
/// objects are compared client-side instead (they would all be created).
pub fn write_into(write: &WriteOptions, namespace: Outcome) -> WriteOptions {
    if write.dry_run == DryRun::Server && namespace == Outcome::Created {
        WriteOptions {
            dry_run: DryRun::Client,
            ..write.clone()
        }
    } else {
        write.clone()
    }
}

/// Records an object's outcome in the report, passing the error on.
pub fn record(
    report: &mut ClusterReport,
    object: &Value,
    outcome: Result<Outcome, ApplyError>,
) -> Result<(), ApplyError> {
    match outcome {
        Ok(outcome) => {
            report.record(ObjectRef::of(object), outcome);
            Ok(())
        }
        Err(e) => {
            report.record(ObjectRef::of(object), Outcome::Failed);
            Err(e)
        }
    }
}
