//! The steps between certs and links: network labels, expose, and the closing verify; and
//! the rows that say what the file sets but this run does not use.

use super::*;

pub(super) async fn network_labels(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    limit: usize,
) -> Vec<StepRow> {
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        let Some(member) = topology.member(&cluster.name) else {
            return StepRow::failed("network", &cluster.name, "not in the topology");
        };
        let mut report = ClusterReport::new(&cluster.name, &cluster.context);
        match namespaces::ensure(
            &cluster.api,
            ISTIO_SYSTEM,
            Some(&member.network),
            write,
            &mut report,
        )
        .await
        {
            Ok(outcome) => StepRow::new(
                "network",
                &cluster.name,
                format!("{} ({})", outcome, member.network),
            ),
            Err(e) => StepRow::failed("network", &cluster.name, cluster.explain_write(&e)),
        }
    })
    .await
}

/// The expose rows, and the primary's east-west address (primary-remote remotes need it).
pub(super) async fn expose_step(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    options: &UpOptions,
    progress: &dyn Progress,
) -> (Vec<StepRow>, Option<String>) {
    let exposing: Vec<(Cluster, Result<String, crate::kube::clusters::ClusterError>)> = clusters
        .iter()
        .filter_map(|c| Some((c.clone(), Ok(topology.member(&c.name)?.network.clone()))))
        .collect();
    let primary_remote = topology.model == Model::PrimaryRemote;
    let expose_options = ExposeOptions {
        gateway: EastWest {
            flavor: topology.flavor,
            expose_istiod: primary_remote && topology.flavor == Flavor::Sidecar,
            ..Default::default()
        },
        network: None,
        write: write.clone(),
        wait: (write.dry_run == DryRun::None).then_some(options.wait),
        parallel: options.parallel,
    };
    let reports = expose::apply_all(exposing, &expose_options, progress).await;
    let primary_address = reports
        .iter()
        .find(|r| Some(&r.cluster) == topology.primary.as_ref())
        .and_then(|r| r.address.clone());
    let rows = reports
        .into_iter()
        .map(|r| match (r.error, &r.address) {
            (Some(e), _) => StepRow::failed("expose", &r.cluster, e),
            (None, Some(address)) => StepRow::new("expose", &r.cluster, format!("{} ({address})", r.result)),
            (None, None) => StepRow::new("expose", &r.cluster, r.result.to_string()),
        })
        .collect();
    (rows, primary_address)
}

/// `verify -f` of the clusters at hand; its row counts what passed, warned and failed (as
/// verify's own summary does) and names the members left out, which were not checked.
pub(super) async fn verify_step(
    topology: &Topology,
    clusters: &[Cluster],
    not_checked: &[&str],
    options: &UpOptions,
) -> Vec<StepRow> {
    let gateway = EastWest {
        flavor: topology.flavor,
        ..Default::default()
    };
    let verify_options = VerifyOptions {
        flavor: topology.flavor,
        gateway_namespace: gateway.namespace().to_string(),
        gateway_name: gateway.name().to_string(),
        mode: if uses_peering(topology) {
            LinkMode::Peering
        } else {
            LinkMode::RemoteSecret
        },
        parallel: options.parallel,
        timeout: options.timeout,
        expected_links: expected_links(topology, clusters),
        // Primary-remote: what that model needs, as `verify -f` checks it.
        primary: topology
            .primary
            .clone()
            .filter(|_| topology.model == Model::PrimaryRemote),
        ..Default::default()
    };
    let checks = verify::run(clusters, &verify_options, &NoProgress).await;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| {
            format!(
                "{} {}: {}",
                c.id,
                match (&c.cluster, &c.from, &c.to) {
                    (Some(cluster), _, _) => cluster.clone(),
                    (None, Some(from), Some(to)) => format!("{from} -> {to}"),
                    _ => "mesh".to_string(),
                },
                c.message
            )
        })
        .collect();
    let count = |status: Status| checks.iter().filter(|c| c.status == status).count();
    let mut summary = format!(
        "{} passed, {} warnings, {} failed",
        count(Status::Pass),
        count(Status::Warn),
        failed.len()
    );
    if !not_checked.is_empty() {
        summary.push_str(&format!(
            "; not checked: {} (left out above)",
            not_checked.join(", ")
        ));
    }
    if failed.is_empty() {
        vec![StepRow::new("verify", "mesh", summary)]
    } else {
        vec![StepRow {
            step: "verify",
            target: "mesh".into(),
            result: summary,
            error: Some(failed.join("; ")),
        }]
    }
}

/// Rows for what the file says but this run will not use. With `installer: none` nothing
/// installs the file's trust domain: where istiod's differs, the file's is not what runs.
pub(super) async fn ignored_settings(
    topology: &Topology,
    clusters: &[Cluster],
    limit: usize,
) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = topology
        .ignored_settings()
        .into_iter()
        .map(|s| StepRow::new("settings", "file", format!("ignored: {s}")))
        .collect();
    if topology.installer != Installer::None {
        return rows;
    }
    let live = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        (cluster, link::peering::read_trust_domain(cluster).await)
    })
    .await;
    for (cluster, trust_domain) in live {
        let (Some(member), Ok(live)) = (topology.member(&cluster.name), trust_domain) else {
            continue;
        };
        if member.trust_domain != live {
            rows.push(StepRow::new(
                "settings",
                &cluster.name,
                format!(
                    "warning: the file's trustDomain {} is not installed (installer: none); istiod uses {live}",
                    member.trust_domain
                ),
            ));
        }
    }
    rows
}

/// A cluster already in another mesh (its members ConfigMap): two meshes on one cluster share
/// its gateways' namespace and cacerts, so say so before writing over them.
pub(super) async fn other_meshes(topology: &Topology, clusters: &[Cluster], limit: usize) -> Vec<StepRow> {
    let ours = format!("kubectl-mesh-{}", topology.mesh_id);
    let selector = format!("{MANAGED_BY}={MANAGED_BY_VALUE}");
    let found = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| {
        let selector = &selector;
        async move {
            let path = kinds::CONFIG_MAP.collection_path(Some(ISTIO_SYSTEM));
            // Only a warning depends on it; the steps that follow report an unreachable cluster.
            let maps = cluster.api.list(&path, Some(selector)).await.unwrap_or_else(|e| {
                tracing::warn!(cluster = %cluster.name, "cannot look for other meshes: {e}");
                Vec::new()
            });
            (cluster, maps)
        }
    })
    .await;
    let mut rows = Vec::new();
    for (cluster, maps) in found {
        // A mesh's record holds its members; other ConfigMaps of ours (the controller's
        // status, `kubectl-mesh-controller-status`) share the prefix but are no mesh.
        for name in maps
            .iter()
            .filter(|m| m.pointer("/data/members").is_some())
            .filter_map(|m| m.pointer("/metadata/name").and_then(Value::as_str))
        {
            if let Some(other) = name.strip_prefix("kubectl-mesh-").filter(|_| name != ours) {
                rows.push(StepRow::new(
                    "settings",
                    &cluster.name,
                    format!("warning: this cluster is also in mesh {other}: both share its east-west gateway and cacerts"),
                ));
            }
        }
    }
    rows
}

/// The east-west gateways of the flavours the file no longer names: after a switch (ambient to
/// ambient-peering, say) the old one would keep its LoadBalancer and keep taking cross-network
/// traffic. Only ours of this mesh (managed-by and mesh-id labels) go: a gateway `expose` made
/// by hand carries no mesh id; objects the current flavour writes too are kept.
pub(super) async fn retired_gateways_step(
    topology: &Topology,
    clusters: &[Cluster],
    write: &WriteOptions,
    options: &UpOptions,
) -> Vec<StepRow> {
    let retired = retired_gateway_objects(topology.flavor);
    let per_cluster = parallel::map_bounded(clusters.iter().collect(), options.parallel, |cluster| {
        let retired = &retired;
        async move {
            // Each object on its own: a cluster's dozen GETs go out together.
            let retiring = retired.iter().map(|(kind, object, flavor)| {
                retire(cluster, *kind, object, *flavor, &topology.mesh_id, write)
            });
            futures::future::join_all(retiring)
                .await
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
        }
    })
    .await;
    per_cluster.into_iter().flatten().collect()
}

/// What the other flavours' east-west gateways are made of (default names), less what the
/// current flavour's is made of, with the flavour each belongs to.
fn retired_gateway_objects(current: Flavor) -> Vec<(Kind, ObjectRef, Flavor)> {
    let objects = |flavor: Flavor| -> Vec<(Kind, ObjectRef)> {
        let gateway = EastWest {
            flavor,
            // The sidecar gateway with everything it may have had (istiod exposed too).
            expose_istiod: true,
            ..Default::default()
        };
        gateway
            .objects()
            .iter()
            .filter_map(|object| Some((Kind::of(object)?, ObjectRef::of(object))))
            .collect()
    };
    let kept = objects(current);
    Flavor::ALL
        .into_iter()
        .filter(|flavor| *flavor != current)
        .flat_map(|flavor| objects(flavor).into_iter().map(move |(k, o)| (k, o, flavor)))
        .filter(|(kind, object, _)| !kept.iter().any(|(k, o)| k == kind && o == object))
        .collect()
}

/// Deletes one retired object if it is ours and this mesh's; a row only when something was
/// (or would be) deleted, or could not be.
async fn retire(
    cluster: &Cluster,
    kind: Kind,
    object: &ObjectRef,
    flavor: Flavor,
    mesh_id: &str,
    write: &WriteOptions,
) -> Option<StepRow> {
    let path = kind.object_path(object.namespace.as_deref(), &object.name);
    let live = match cluster.api.get(&path).await {
        Ok(Some(live)) => live,
        Ok(None) => return None,
        // That API is not installed (no Gateway API, no Istio CRDs): nothing of it to retire.
        // Not allowed to read it: up could not have written it with these rights either, and
        // this clean-up must not fail an up whose own flavour needs no such rights.
        Err(e) if e.is_not_found() || e.code() == Some(403) => return None,
        Err(e) => {
            let message = format!(
                "reading {object} (flavour {flavor}'s gateway): {}",
                cluster.explain(&e)
            );
            return Some(StepRow::failed("expose", &cluster.name, message));
        }
    };
    if !crate::labels::is_ours(&live) || crate::labels::value(&live, MESH_ID) != Some(mesh_id) {
        return None;
    }
    // Owned by another object (a Service Istio's gateway controller adopted for a Gateway of
    // the same name): its owner decides.
    if live
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|o| !o.is_empty())
    {
        return None;
    }
    let why = format!("the east-west gateway of flavour {flavor}, which the file no longer names");
    Some(
        match apply::delete(&cluster.api, object, &path, write.dry_run).await {
            Ok(Outcome::Deleted) => StepRow::new("expose", &cluster.name, format!("deleted {object}: {why}")),
            Ok(_) => return None,
            Err(e) => StepRow::failed("expose", &cluster.name, cluster.explain_write(&e)),
        },
    )
}

#[cfg(test)]
mod retired_tests {
    use super::*;

    fn names(current: Flavor) -> Vec<String> {
        retired_gateway_objects(current)
            .into_iter()
            .map(|(_, object, flavor)| format!("{flavor}: {object}"))
            .collect()
    }

    #[test]
    fn the_other_flavours_gateways_less_what_the_current_one_writes() {
        let peering = names(Flavor::AmbientPeering);
        assert!(
            peering.contains(&"ambient: Gateway istio-system/istio-eastwestgateway".to_string()),
            "{peering:?}"
        );
        assert!(
            peering.contains(&"sidecar: Service istio-system/istio-eastwestgateway".to_string()),
            "{peering:?}"
        );
        assert!(
            peering.contains(&"sidecar: VirtualService istio-system/istiod-vs".to_string()),
            "{peering:?}"
        );
        assert!(
            !peering.iter().any(|n| n.starts_with("ambient-peering")),
            "{peering:?}"
        );
        let sidecar = names(Flavor::Sidecar);
        assert!(
            sidecar.contains(&"ambient-peering: Gateway istio-gateways/istio-eastwest".to_string()),
            "{sidecar:?}"
        );
        // Same name, other kind: the sidecar's Service is not the ambient Gateway.
        assert!(
            sidecar.contains(&"ambient: Gateway istio-system/istio-eastwestgateway".to_string()),
            "{sidecar:?}"
        );
        assert!(!sidecar.iter().any(|n| n.starts_with("sidecar")), "{sidecar:?}");
    }
}
