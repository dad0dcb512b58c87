//! Removing the probe (only namespaces carrying its label), and the checks that say what was
//! kept or left.

use super::*;

/// How long clean-up waits for a deleted probe namespace to be gone.
pub(super) const NAMESPACE_GONE: std::time::Duration = std::time::Duration::from_secs(60);

/// Deletes the probe namespace, but only one that carries the probe label: a namespace of
/// the same name we did not create is left alone. Returns the older probe namespaces still
/// in the cluster (kept with --keep-probe, or left by a killed run), which it does not touch.
pub(super) async fn cleanup(cluster: &Cluster, namespace: &str) -> Result<Vec<String>, String> {
    let path = kinds::NAMESPACE.object_path(None, namespace);
    let live = cluster.api.get(&path).await.map_err(|e| cluster.explain(&e))?;
    if live.as_ref().is_some_and(is_probe) {
        cluster
            .api
            .delete(&path, false)
            .await
            .map_err(|e| cluster.explain(&e))?;
        // Like `kubectl delete`, return once it is really gone (its pods go first).
        let gone = crate::kube::apply::wait_gone(&cluster.api, &path, NAMESPACE_GONE)
            .await
            .map_err(|e| cluster.explain(&e))?;
        if !gone {
            return Err(format!(
                "namespace {namespace} is still terminating after {}s: check it with `kubectl --context {} get namespace {namespace} -o yaml`",
                NAMESPACE_GONE.as_secs(),
                cluster.context
            ));
        }
    }
    let selector = format!("{PROBE_LABEL}=true");
    let probes = cluster
        .api
        .list(&kinds::NAMESPACE.collection_path(None), Some(&selector))
        .await
        .map_err(|e| cluster.explain(&e))?;
    Ok(probes
        .iter()
        .filter(|ns| ns.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|ns| ns.pointer("/metadata/name").and_then(Value::as_str))
        .filter(|name| *name != namespace)
        .map(str::to_owned)
        .collect())
}

pub(super) fn is_probe(namespace: &Value) -> bool {
    crate::labels::value(namespace, PROBE_LABEL) == Some("true")
}

pub(super) fn interrupted_check(clusters: &[Cluster], options: &TrafficOptions) -> Check {
    let refs: Vec<String> = clusters
        .iter()
        .map(|c| crate::kube::clusters::contexts_entry(&c.name, &c.context))
        .collect();
    global("traffic", Status::Fail, "interrupted before the probe finished").hint(format!(
        "kubectl mesh verify --contexts {} --flavor {} --traffic",
        refs.join(","),
        options.flavor
    ))
}

/// What the user asked for, so not a warning; the message carries the command that removes it.
pub(super) fn kept_check(namespace: &str, clusters: &[&Cluster]) -> Check {
    let contexts: Vec<&str> = clusters.iter().map(|c| c.context.as_str()).collect();
    global(
        "traffic-cleanup",
        Status::Pass,
        format!(
            "kept namespace {namespace} (--keep-probe); remove it with: for c in {}; do kubectl --context \"$c\" delete namespace {namespace}; done",
            contexts.join(" ")
        ),
    )
}

/// Only what is left is reported: a clean-up that worked is not news.
pub(super) fn cleanup_checks(
    clusters: &[&Cluster],
    results: Vec<Result<Vec<String>, String>>,
    namespace: &str,
) -> Vec<Check> {
    clusters
        .iter()
        .zip(results)
        .filter_map(|(c, result)| {
            let (message, left) = match result {
                Err(error) => (
                    format!("could not remove namespace {namespace}: {error}"),
                    vec![namespace.to_string()],
                ),
                Ok(older) if older.is_empty() => return None,
                Ok(older) => (
                    format!(
                        "older probe namespaces remain (from --keep-probe or an interrupted run): {}",
                        older.join(", ")
                    ),
                    older,
                ),
            };
            Some(
                check("traffic-cleanup", &c.name, Status::Warn, message).hint(format!(
                    "kubectl --context {} delete namespace {}",
                    c.context,
                    left.join(" ")
                )),
            )
        })
        .collect()
}
