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

pub(super) async fn verify_step(
    topology: &Topology,
    clusters: &[Cluster],
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
    let passed = checks.iter().filter(|c| c.status == Status::Pass).count();
    let summary = format!("{passed} passed, {} failed", failed.len());
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
            let maps = cluster.api.list(&path, Some(selector)).await.unwrap_or_default();
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
