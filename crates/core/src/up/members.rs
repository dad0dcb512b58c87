//! The mesh's members, recorded in a ConfigMap so that a later `up` or `down` can reach
//! clusters that left the file: unlinking them both ways, and pruning them when asked.

use super::*;

/// The ConfigMap in which `up` records the members of a mesh, so that a later `up` knows
/// which clusters left the file (and how to reach them). Clusters that left but were not
/// pruned stay recorded until they are.
pub(super) fn members_config_map(topology: &Topology, unpruned: &[(String, String)]) -> Value {
    let current = topology
        .members
        .iter()
        .map(|m| (m.cluster.as_str(), m.context.as_str()));
    let left = unpruned.iter().map(|(c, ctx)| (c.as_str(), ctx.as_str()));
    let members: String = current
        .chain(left)
        .map(|(c, ctx)| format!("{c}={ctx}\n"))
        .collect();
    let config_map = k8s_openapi::api::core::v1::ConfigMap {
        metadata: crate::resources::object_meta(
            &format!("kubectl-mesh-{}", topology.mesh_id),
            Some(ISTIO_SYSTEM),
            &[],
        ),
        data: Some(BTreeMap::from([("members".to_string(), members)])),
        ..Default::default()
    };
    crate::resources::to_value(&config_map, &[])
}

pub(super) async fn record_members(
    topology: &Topology,
    unpruned: &[(String, String)],
    clusters: &[Cluster],
    write: &WriteOptions,
    limit: usize,
) -> Vec<StepRow> {
    let desired = members_config_map(topology, unpruned);
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let desired = &desired;
        async move {
            match apply::apply(&cluster.api, desired, write).await {
                Ok(outcome) => StepRow::new("members", &cluster.name, outcome.to_string()),
                Err(e) => StepRow::failed("members", &cluster.name, cluster.explain_write(&e)),
            }
        }
    })
    .await
}

/// Clusters recorded (in the members ConfigMap of any reachable member) by an earlier `up`
/// but gone from the file: cluster name → context.
pub(super) async fn recorded_former_members(
    topology: &Topology,
    clusters: &[Cluster],
    limit: usize,
) -> BTreeMap<String, String> {
    let name = format!("kubectl-mesh-{}", topology.mesh_id);
    let path = kinds::CONFIG_MAP.object_path(Some(ISTIO_SYSTEM), &name);
    let recorded = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let path = &path;
        async move {
            // Any member's record will do; one that cannot be read is said, not fatal.
            match cluster.api.get(path).await {
                Ok(config) => config,
                Err(e) => {
                    tracing::warn!("the mesh's members record was not read: {}", cluster.error(e));
                    None
                }
            }
        }
    })
    .await;
    let mut removed = BTreeMap::new();
    for config in recorded.into_iter().flatten() {
        let members = config
            .pointer("/data/members")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        for line in members.lines() {
            if let Some((cluster, context)) = line.split_once('=') {
                if topology.member(cluster).is_none() {
                    removed.insert(cluster.to_string(), context.to_string());
                }
            }
        }
    }
    removed
}

/// Connects to a former member, or says why it cannot.
pub(super) async fn reach_former(
    reach: Option<&Reach>,
    cluster: &str,
    context: &str,
) -> Result<Cluster, String> {
    let Some((kubeconfig, connect)) = reach else {
        return Err("no kubeconfig to reach it".into());
    };
    if !kubeconfig.has_context(context) {
        return Err(format!("context {context:?} is not in the kubeconfig"));
    }
    let target = crate::kube::clusters::ClusterRef {
        name: cluster.to_string(),
        context: context.to_string(),
    };
    let mut reached = crate::kube::clusters::connect(kubeconfig, std::slice::from_ref(&target), *connect)
        .await
        .map_err(|e| e.message)?;
    reached.pop().ok_or_else(|| "not reached".to_string())
}

/// Removes the links a former member still has to anyone (the others' links to it are
/// removed by the link step): a cluster that left is unlinked in both directions.
pub(super) async fn unlink_former(
    topology: &Topology,
    former: &Cluster,
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let alone = std::slice::from_ref(former);
    pair_rows(
        "removed",
        "link ",
        run_links(topology, alone, &[], Prune::Unlisted, write, options).await,
    )
}

/// Clusters recorded by an earlier `up` but gone from the file: the others' links to them are
/// removed by the link step, their own links to the others here; with `--prune-removed`,
/// everything `up` made in them is removed too. Returns the report rows and the former
/// members that stay recorded (not pruned, or not reachable), so that a later `up` or `down`
/// still knows how to reach them.
pub(super) async fn removed_members(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    options: &UpOptions,
) -> (Vec<StepRow>, Vec<(String, String)>) {
    let mut rows = Vec::new();
    let mut unpruned = Vec::new();
    for (cluster, context) in recorded_former_members(topology, clusters, options.parallel).await {
        let former = match reach_former(options.reach.as_ref(), &cluster, &context).await {
            Ok(former) => former,
            // Only a failure when asked to prune it: otherwise the others are unlinked from it
            // (the link step did that), which is all `up` promises for a cluster that left.
            Err(e) if options.prune_removed => {
                rows.push(StepRow::failed(
                    "removed",
                    &cluster,
                    format!("cannot prune it: {e}"),
                ));
                unpruned.push((cluster, context));
                continue;
            }
            Err(e) => {
                rows.push(StepRow::new(
                    "removed",
                    &cluster,
                    format!(
                        "warning: unlinked from the others; its own links were not checked ({e}); it stays recorded in ConfigMap istio-system/kubectl-mesh-{} until pruned",
                        topology.mesh_id
                    ),
                ));
                unpruned.push((cluster, context));
                continue;
            }
        };
        let unlinked = unlink_former(topology, &former, write, options).await;
        let mut failed = unlinked.iter().any(StepRow::is_failure);
        rows.extend(unlinked);
        if options.prune_removed {
            let helm = HelmCommand::of(options);
            let pruned = down(
                topology,
                std::slice::from_ref(&former),
                write,
                None,
                &helm,
                options.parallel,
            )
            .await;
            failed |= pruned.iter().any(StepRow::is_failure);
            rows.extend(pruned.into_iter().map(|r| StepRow { step: "removed", ..r }));
        } else {
            rows.push(StepRow::new(
                "removed",
                &cluster,
                "unlinked in both directions; its own objects are left (--prune-removed removes them)",
            ));
        }
        if failed || !options.prune_removed {
            unpruned.push((cluster, context));
        }
    }
    (rows, unpruned)
}
