//! `down`: everything `up` created (our labels and this mesh's id), dependants first, never
//! `istio-system` nor a namespace holding what is not this mesh's.

use super::*;

/// What `down` deletes, in order: dependants before what they depend on, namespaces last.
pub(super) const DOWN_KINDS: [Kind; 16] = [
    kinds::GATEWAY,
    kinds::ISTIO_GATEWAY,
    kinds::VIRTUAL_SERVICE,
    kinds::SECRET,
    kinds::SERVICE,
    kinds::DEPLOYMENT,
    kinds::ROLE_BINDING,
    kinds::ROLE,
    kinds::SERVICE_ACCOUNT,
    kinds::CLUSTER_ROLE_BINDING,
    kinds::CLUSTER_ROLE,
    kinds::SAIL_ISTIO,
    kinds::SAIL_ZTUNNEL,
    kinds::SAIL_ISTIO_CNI,
    kinds::CONFIG_MAP,
    kinds::NAMESPACE,
];

/// Deletes every object carrying our managed-by label and this mesh's id, in `clusters` and
/// (with `former`, a way to reach them) in former members recorded by an earlier `up`, and
/// uninstalls the helm releases `up` recorded there. Key material on disk is never touched;
/// istio-system is never deleted (Istio lives there).
pub async fn down(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    former: Option<&Reach>,
    helm: &HelmCommand,
    limit: usize,
) -> Vec<StepRow> {
    let selector = format!("{MANAGED_BY}={MANAGED_BY_VALUE},{MESH_ID}={}", topology.mesh_id);
    let (mut reachable, mut rows) = probe(clusters, limit).await;
    if former.is_some() {
        for (cluster, context) in recorded_former_members(topology, &reachable, limit).await {
            match reach_former(former, &cluster, &context).await {
                Ok(c) => reachable.push(c),
                Err(e) => rows.push(StepRow::failed(
                    "down",
                    &cluster,
                    format!("a former member of the mesh, not reached: {e}"),
                )),
            }
        }
    }
    let per_cluster = parallel::map_bounded(reachable.iter().collect(), limit, |cluster| {
        let selector = selector.clone();
        async move { down_cluster(cluster, &selector, &topology.mesh_id, write, helm).await }
    })
    .await;
    rows.extend(per_cluster.into_iter().flatten());
    in_mood(rows, write.dry_run)
}

pub(super) async fn down_cluster(
    cluster: &Cluster,
    selector: &str,
    mesh_id: &str,
    write: &WriteOptions,
    helm: &HelmCommand,
) -> Vec<StepRow> {
    let mut rows = Vec::new();
    // The record of what helm installed outlives the objects below: it goes only once every
    // release in it is uninstalled, so that a failed uninstall is retried by the next down.
    let record = releases_record_name(mesh_id);
    let releases = match cluster
        .api
        .get(&kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), &record))
        .await
    {
        Ok(found) => found.as_ref().map(recorded_releases),
        Err(e) => {
            rows.push(StepRow::failed(
                "down",
                &cluster.name,
                format!(
                    "reading ConfigMap {ISTIO_SYSTEM}/{record} (the helm releases up installed): {}; nothing uninstalled",
                    cluster.explain(&e)
                ),
            ));
            None
        }
    };
    for kind in DOWN_KINDS {
        let items = match cluster
            .api
            .list(&kind.collection_path(None), Some(selector))
            .await
        {
            Ok(items) => items,
            Err(e) if e.is_not_found() => continue, // that API group is not installed
            Err(e) => {
                rows.push(StepRow::failed(
                    "down",
                    &cluster.name,
                    format!("listing {}: {}", kind.resource_name(), cluster.explain(&e)),
                ));
                continue;
            }
        };
        for item in items {
            let object = ObjectRef::of(&with_kind(item, kind));
            if kind == kinds::CONFIG_MAP && object.name == record {
                continue; // after the uninstall, below
            }
            if kind == kinds::NAMESPACE && object.name == ISTIO_SYSTEM {
                rows.push(StepRow::new(
                    "down",
                    &cluster.name,
                    "kept Namespace istio-system (Istio's own)",
                ));
                continue;
            }
            if kind == kinds::NAMESPACE {
                if let Some(other) = foreign_content(cluster, &object.name, mesh_id).await {
                    rows.push(StepRow::new(
                        "down",
                        &cluster.name,
                        format!("kept {object}: it still holds {other}, not this mesh's"),
                    ));
                    continue;
                }
            }
            let path = kind.object_path(object.namespace.as_deref(), &object.name);
            rows.push(
                match apply::delete(&cluster.api, &object, &path, write.dry_run).await {
                    Ok(Outcome::Deleted) if kind == kinds::NAMESPACE && write.dry_run == DryRun::None => {
                        namespace_gone(cluster, &object, &path).await
                    }
                    Ok(Outcome::Deleted) => StepRow::new("down", &cluster.name, format!("deleted {object}")),
                    Ok(_) => StepRow::new("down", &cluster.name, format!("already gone {object}")),
                    Err(e) => StepRow::failed("down", &cluster.name, cluster.explain_write(&e)),
                },
            );
        }
    }
    if let Some(releases) = releases {
        rows.extend(uninstall(cluster, &releases, &record, write, helm).await);
    }
    rows.extend(release_control_plane(cluster, write).await);
    if rows.is_empty() {
        rows.push(StepRow::new("down", &cluster.name, "nothing to remove"));
    }
    rows
}

/// Uninstalls the releases `up` installed in one cluster, last installed first (ztunnel,
/// istio-cni, istiod, then base, as istio.io uninstalls them: istio/istio.io
/// `content/en/docs/ambient/install/helm/index.md`, snips `delete_ztunnel` .. `delete_base`), then
/// deletes the record. The first failure stops the rest: what came before it (base under
/// istiod) is still needed by what is left.
async fn uninstall(
    cluster: &Cluster,
    releases: &[(String, String)],
    record: &str,
    write: &WriteOptions,
    helm: &HelmCommand,
) -> Vec<StepRow> {
    let mut rows = Vec::new();
    for (namespace, release) in releases.iter().rev() {
        let what = format!("helm release {namespace}/{release}");
        if write.dry_run != DryRun::None {
            // No helm under a dry run (of either kind): the record says what would go.
            rows.push(StepRow::new(
                "down",
                &cluster.name,
                format!("would uninstall {what}"),
            ));
            continue;
        }
        match run_helm_uninstall(helm, namespace, release, cluster).await {
            Ok(Uninstalled::Done) => {
                rows.push(StepRow::new("down", &cluster.name, format!("uninstalled {what}")))
            }
            Ok(Uninstalled::NotFound) => rows.push(StepRow::new(
                "down",
                &cluster.name,
                format!("already gone {what}"),
            )),
            Err(e) => {
                rows.push(StepRow::failed("down", &cluster.name, e));
                let left: Vec<&str> = releases
                    .iter()
                    .rev()
                    .skip_while(|(_, r)| r != release)
                    .skip(1)
                    .map(|(_, r)| r.as_str())
                    .collect();
                if !left.is_empty() {
                    rows.push(StepRow::failed(
                        "down",
                        &cluster.name,
                        format!(
                            "not uninstalled: {} (they come before {release}); fix that, then re-run down",
                            left.join(", ")
                        ),
                    ));
                }
                return rows;
            }
        }
    }
    let object = ObjectRef {
        kind: kinds::CONFIG_MAP.kind.to_string(),
        namespace: Some(ISTIO_SYSTEM.to_string()),
        name: record.to_string(),
    };
    let path = kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), record);
    rows.push(
        match apply::delete(&cluster.api, &object, &path, write.dry_run).await {
            Ok(Outcome::Deleted) => StepRow::new("down", &cluster.name, format!("deleted {object}")),
            Ok(_) => StepRow::new("down", &cluster.name, format!("already gone {object}")),
            Err(e) => StepRow::failed("down", &cluster.name, cluster.explain_write(&e)),
        },
    );
    rows
}

/// Primary-remote: `up` annotated each remote's istio-system with its control plane, under a
/// field manager of its own (`<manager>-control-plane`). Applying the bare Namespace under that
/// manager makes server-side apply drop the annotation it owns, and nothing else.
async fn release_control_plane(cluster: &Cluster, write: &WriteOptions) -> Option<StepRow> {
    let manager = format!("{}-control-plane", write.field_manager);
    let path = kinds::NAMESPACE.object_path(None, ISTIO_SYSTEM);
    let live = cluster.api.get(&path).await.ok().flatten()?;
    let owned = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries
                .iter()
                .any(|e| e.get("manager").and_then(Value::as_str) == Some(&manager))
        });
    if !owned {
        return None;
    }
    let what = "the topology.istio.io/controlPlaneClusters annotation of Namespace istio-system";
    let done = match write.dry_run {
        DryRun::None => format!("removed {what}"),
        _ => format!("would remove {what}"),
    };
    if write.dry_run == DryRun::Client {
        return Some(StepRow::new("down", &cluster.name, done));
    }
    let bare =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_SYSTEM}});
    let params = crate::kube::api::ApplyParams {
        field_manager: &manager,
        force: false,
        dry_run: write.dry_run == DryRun::Server,
    };
    Some(match cluster.api.apply(&path, &bare, &params).await {
        Ok(_) => StepRow::new("down", &cluster.name, done),
        Err(e) => StepRow::failed("down", &cluster.name, cluster.explain(&e)),
    })
}

/// An object in `namespace` that is not this mesh's (another mesh's gateways, or anything
/// someone else put there): deleting the namespace would delete it too.
pub(super) async fn foreign_content(cluster: &Cluster, namespace: &str, mesh_id: &str) -> Option<String> {
    for kind in DOWN_KINDS.iter().filter(|k| k.namespaced) {
        let Ok(items) = cluster
            .api
            .list(&kind.collection_path(Some(namespace)), None)
            .await
        else {
            continue;
        };
        let foreign = items.into_iter().find(|item| {
            let ours = crate::labels::value(item, MESH_ID) == Some(mesh_id);
            !ours && !made_by_kubernetes(*kind, item)
        });
        if let Some(item) = foreign {
            return Some(ObjectRef::of(&with_kind(item, *kind)).to_string());
        }
    }
    other_kinds_content(cluster, namespace, mesh_id).await
}

/// Kinds that are no one's content: records of what happened (Events), and what the
/// control plane derives from a Service (Endpoints; EndpointSlices also have an owner).
const NOT_CONTENT: [&str; 2] = ["events", "endpoints"];

/// An object of any other namespaced kind the API server serves (an HTTPRoute, an
/// AuthorizationPolicy, a DestinationRule...) in `namespace`: deleting the namespace deletes
/// every kind, so every kind is looked at, as the namespace controller finds them (discovery).
/// Objects with an owner go with it (the Deployment and Pods istio runs for our Gateway), and
/// kinds this identity may not list are passed over. Discovery failing keeps the namespace.
async fn other_kinds_content(cluster: &Cluster, namespace: &str, mesh_id: &str) -> Option<String> {
    use kube::api::{Api, DynamicObject, ListParams};
    use kube::discovery::{verbs, Discovery, Scope};
    let client = cluster.api.kube_client();
    let discovery = match Discovery::new(client.clone()).run().await {
        Ok(discovery) => discovery,
        Err(e) => return Some(format!("kinds discovery could not list (it failed: {e})")),
    };
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            let known = DOWN_KINDS
                .iter()
                .any(|k| k.plural == resource.plural && k.api_version == resource.api_version);
            if caps.scope != Scope::Namespaced
                || !caps.supports_operation(verbs::LIST)
                || known
                || NOT_CONTENT.contains(&resource.plural.as_str())
            {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
            let Ok(list) = api.list(&ListParams::default()).await else {
                continue;
            };
            let foreign = list.items.iter().find(|item| {
                let owned = item
                    .metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|r| !r.is_empty());
                let ours = item
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(MESH_ID))
                    .map(String::as_str)
                    == Some(mesh_id);
                !owned && !ours
            });
            if let Some(item) = foreign {
                let name = item.metadata.name.clone().unwrap_or_default();
                return Some(format!("{} {namespace}/{name}", resource.kind));
            }
        }
    }
    None
}

/// What Kubernetes puts in every namespace (the `default` ServiceAccount and its token, the
/// `kube-root-ca.crt` ConfigMap): it goes with the namespace and says nothing of who uses it.
pub(super) fn made_by_kubernetes(kind: Kind, item: &Value) -> bool {
    let name = item.pointer("/metadata/name").and_then(Value::as_str);
    match kind {
        k if k == kinds::SERVICE_ACCOUNT => name == Some("default"),
        k if k == kinds::CONFIG_MAP => name == Some("kube-root-ca.crt"),
        k if k == kinds::SECRET => {
            item.get("type").and_then(Value::as_str) == Some("kubernetes.io/service-account-token")
        }
        _ => false,
    }
}

/// A deleted namespace is Terminating until its content is removed: `down` reports it
/// deleted once it is gone, as `kubectl delete` waits for it.
pub(super) async fn namespace_gone(cluster: &Cluster, object: &ObjectRef, path: &str) -> StepRow {
    const TIMEOUT: Duration = Duration::from_secs(120);
    match apply::wait_gone(&cluster.api, path, TIMEOUT).await {
        Ok(true) => StepRow::new("down", &cluster.name, format!("deleted {object}")),
        Ok(false) => StepRow::failed(
            "down",
            &cluster.name,
            format!(
                "{object} is still terminating after {}s: see what holds it with `kubectl --context {} get namespace {} -o yaml`",
                TIMEOUT.as_secs(),
                cluster.context,
                object.name
            ),
        ),
        Err(e) => StepRow::failed("down", &cluster.name, cluster.explain(&e)),
    }
}

/// Items of a LIST may come without apiVersion/kind; give them the kind that was listed.
pub(super) fn with_kind(mut item: Value, kind: Kind) -> Value {
    item["apiVersion"] = Value::String(kind.api_version.to_string());
    item["kind"] = Value::String(kind.kind.to_string());
    item
}
