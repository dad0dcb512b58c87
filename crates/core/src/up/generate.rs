//! `up --generate DIR`: the same objects and values `up` would apply, as files per cluster.

use super::*;

/// `up --generate DIR`: everything `up` would apply, one directory per cluster; no cluster is
/// written to. Objects come from the same builders as `up` ([`install::plan`] for the
/// installer). Links are described from the topology file (cluster, network, trust domain);
/// only what exists nowhere else is read from the clusters: each east-west gateway's address,
/// and the primary's address that remotes of a primary-remote mesh need. Where a cluster
/// disagrees with the file, a row says so.
pub async fn generate(
    topology: &Topology,
    clusters: &[Cluster],
    dir: &std::path::Path,
    options: &UpOptions,
) -> Result<Vec<StepRow>, InputError> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        InputError::new(format!("cannot write {}: {e}", path.display()))
    };
    // The output folder first: a bad one must fail before certs (a new root key) are written.
    std::fs::create_dir_all(dir)
        .and_then(|()| check_writable(dir))
        .map_err(|e| io(dir, e).with_hint("pass --generate a folder you can write to"))?;
    let (mut rows, bundles) = certs(topology, false)?;
    let write = mesh_write(topology, options);
    let targets = match uses_peering(topology) {
        true => planned_targets(topology, &read_targets(clusters, options).await, &mut rows),
        false => BTreeMap::new(),
    };
    let remote = primary_address(topology, clusters).await;
    for member in &topology.members {
        let out = dir.join(&member.cluster);
        std::fs::create_dir_all(&out).map_err(|e| io(&out, e))?;
        let mut files: Vec<(String, Vec<Value>, bool)> = Vec::new();
        if let Some(bundle) = bundles.get(&member.cluster) {
            let secret = cacerts_secret::secret(bundle.entries());
            files.push(("cacerts.yaml".into(), vec![secret], true));
        }
        files.push((
            "eastwest.yaml".into(),
            generated_eastwest(topology, member, &write),
            false,
        ));
        if let (true, Some(primary)) = (install::is_remote(topology, member), &topology.primary) {
            let annotation = crate::resources::remote_secret::control_plane_annotation(primary);
            files.push(("control-plane.yaml".into(), vec![annotation], false));
        }
        let remote_of_member = remote.as_ref().filter(|_| install::is_remote(topology, member));
        if install::is_remote(topology, member) && remote_of_member.is_none() {
            rows.push(StepRow::failed(
                "generate",
                &member.cluster,
                "install values not written: a remote needs the primary's east-west address, and the primary has none yet (run up, or expose the primary, then generate again)",
            ));
        } else {
            match install::plan(topology, member, remote_of_member, options.solo.as_ref()) {
                InstallPlan::None => {}
                InstallPlan::Sail(objects) => files.push(("istio.yaml".into(), objects, false)),
                InstallPlan::Helm(releases) => {
                    for release in &releases {
                        let path = write_values(&out, release).map_err(InputError::new)?;
                        rows.push(StepRow::new(
                            "generate",
                            &member.cluster,
                            path.display().to_string(),
                        ));
                    }
                }
            }
        }
        let peers = generated_links(topology, member, &targets);
        if !peers.is_empty() {
            files.push(("links.yaml".into(), peers, false));
        }
        rows.extend(remove_stale(&out, &member.cluster, &files)?);
        for (name, objects, private) in files {
            let path = out.join(&name);
            let text = yaml_stream(&objects, &write)?;
            write_file(&path, &text, private).map_err(|e| io(&path, e))?;
            rows.push(StepRow::new(
                "generate",
                &member.cluster,
                path.display().to_string(),
            ));
        }
    }
    rows.extend(former_members(dir, topology));
    if !uses_peering(topology) {
        let entry =
            |m: &crate::topology::Member| crate::kube::clusters::contexts_entry(&m.cluster, &m.context);
        let (primary, others): (Vec<_>, Vec<_>) = topology
            .members
            .iter()
            .partition(|m| topology.primary.as_deref() == Some(m.cluster.as_str()));
        let which = match (topology.model, primary.first()) {
            (Model::PrimaryRemote, Some(p)) => format!(
                "--primary {} --remotes {}",
                entry(p),
                others.iter().map(|m| entry(m)).collect::<Vec<_>>().join(",")
            ),
            _ => format!(
                "--contexts {}{}",
                topology.members.iter().map(entry).collect::<Vec<_>>().join(","),
                topology.links.flags()
            ),
        };
        rows.push(StepRow::new(
            "generate",
            "links",
            format!("remote secrets hold credentials and are not written: after applying, run `kubectl mesh link --mode remote-secret {which}`"),
        ));
    }
    Ok(rows)
}

/// The files `generate` writes in a member's folder (besides helm values).
const GENERATED: [&str; 5] = [
    "cacerts.yaml",
    "eastwest.yaml",
    "control-plane.yaml",
    "istio.yaml",
    "links.yaml",
];

/// Removes the files an earlier `generate` wrote into `out` that this one does not: a folder
/// applied as a whole (GitOps) would otherwise keep links the topology dropped.
fn remove_stale(
    out: &std::path::Path,
    cluster: &str,
    files: &[(String, Vec<Value>, bool)],
) -> Result<Vec<StepRow>, InputError> {
    let mut rows = Vec::new();
    for name in GENERATED {
        let path = out.join(name);
        if files.iter().any(|(written, _, _)| written == name) || !path.is_file() {
            continue;
        }
        std::fs::remove_file(&path)
            .map_err(|e| InputError::new(format!("cannot remove {}: {e}", path.display())))?;
        rows.push(StepRow::new(
            "generate",
            cluster,
            format!("removed {}: the file no longer asks for it", path.display()),
        ));
    }
    Ok(rows)
}

/// Folders of `dir` holding generated files for clusters the file no longer names: said, not
/// deleted (they may be someone's), since whatever applies them keeps those objects alive.
fn former_members(dir: &std::path::Path, topology: &Topology) -> Vec<StepRow> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut former: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !topology.members.iter().any(|m| &m.cluster == name))
        .filter(|name| GENERATED.iter().any(|file| dir.join(name).join(file).is_file()))
        .collect();
    former.sort();
    former
        .into_iter()
        .map(|name| {
            StepRow::new(
                "generate",
                &name,
                format!(
                    "warning: {} holds files generated for {name}, which the file no longer names: delete the folder (and what was applied from it)",
                    dir.join(&name).display()
                ),
            )
        })
        .collect()
}

/// `---`-separated YAML documents, marked with the mesh id like what `up` applies.
pub(super) fn yaml_stream(objects: &[Value], write: &WriteOptions) -> Result<String, InputError> {
    let mut text = String::new();
    for object in objects {
        let object = apply::with_mesh_id(object, write).unwrap_or_else(|| object.clone());
        let yaml = crate::yaml::to_string(&object)
            .map_err(|e| InputError::new(format!("cannot serialise {}: {e}", ObjectRef::of(&object))))?;
        text.push_str("---\n");
        text.push_str(&yaml);
    }
    Ok(text)
}

pub(super) fn generated_eastwest(
    topology: &Topology,
    member: &crate::topology::Member,
    write: &WriteOptions,
) -> Vec<Value> {
    let expose_options = ExposeOptions {
        gateway: EastWest {
            flavor: topology.flavor,
            expose_istiod: topology.model == Model::PrimaryRemote && topology.flavor == Flavor::Sidecar,
            cluster: Some(member.cluster.clone()),
            ..Default::default()
        },
        network: Some(member.network.clone()),
        write: write.clone(),
        ..Default::default()
    };
    expose::generate(&expose_options, &member.network)
}

/// What each reachable cluster's east-west gateway says about it, by cluster name.
pub(super) async fn read_targets(
    clusters: &[Cluster],
    options: &UpOptions,
) -> BTreeMap<String, Result<Target, crate::kube::clusters::ClusterError>> {
    let link_options = &LinkOptions::default();
    parallel::map_bounded(
        clusters.iter().collect(),
        options.parallel,
        |cluster| async move {
            (
                cluster.name.clone(),
                link::peering::read_target(cluster, link_options).await,
            )
        },
    )
    .await
    .into_iter()
    .collect()
}

/// The targets as the topology file describes them, with the address read from the cluster.
/// A member without an address gets a row saying why its links are missing; a cluster whose
/// labels or trust domain disagree with the file gets a row saying so (the file wins).
pub(super) fn planned_targets(
    topology: &Topology,
    live: &BTreeMap<String, Result<Target, crate::kube::clusters::ClusterError>>,
    rows: &mut Vec<StepRow>,
) -> BTreeMap<String, Target> {
    let mut targets = BTreeMap::new();
    for member in &topology.members {
        match live.get(&member.cluster) {
            Some(Ok(found)) => {
                let mut target = found.clone();
                for (what, file, cluster) in [
                    ("network", &member.network, &found.network),
                    ("trust domain", &member.trust_domain, &found.trust_domain),
                ] {
                    if file != cluster {
                        rows.push(StepRow::new(
                            "generate",
                            &member.cluster,
                            format!("warning: the cluster says {what} {cluster:?}, the file {file:?}; links use the file's (apply eastwest.yaml to align the cluster)"),
                        ));
                    }
                }
                target.cluster = member.cluster.clone();
                target.network = member.network.clone();
                target.trust_domain = member.trust_domain.clone();
                targets.insert(member.cluster.clone(), target);
            }
            Some(Err(e)) => rows.push(StepRow::new(
                "generate",
                &member.cluster,
                format!("links to it not written: {e}; apply eastwest.yaml, wait for its address, then generate again"),
            )),
            None => rows.push(StepRow::new(
                "generate",
                &member.cluster,
                "links to it not written: the cluster did not answer",
            )),
        }
    }
    targets
}

/// Primary-remote: the primary's east-west address, as the live `up` takes it from expose.
pub(super) async fn primary_address(topology: &Topology, clusters: &[Cluster]) -> Option<Remote> {
    let primary = topology
        .primary
        .as_ref()
        .filter(|_| topology.model == Model::PrimaryRemote)?;
    let cluster = clusters.iter().find(|c| &c.name == primary)?;
    let readiness = EastWest {
        flavor: topology.flavor,
        ..Default::default()
    }
    .readiness();
    let pilot_address = expose::current_address(&cluster.api, &readiness).await?;
    Some(Remote { pilot_address })
}

/// The peer Gateways `member` gets (peering flavour): one per member the file links it to
/// (every other, unless `links:` says otherwise) that has an address.
pub(super) fn generated_links(
    topology: &Topology,
    member: &crate::topology::Member,
    targets: &BTreeMap<String, Target>,
) -> Vec<Value> {
    if !uses_peering(topology) {
        return Vec::new();
    }
    // The links the file wants from this member, in the order of the file.
    let Some(from) = topology.members.iter().position(|m| m.cluster == member.cluster) else {
        return Vec::new();
    };
    topology
        .link_pairs
        .iter()
        .filter(|p| p.from == from)
        .filter_map(|p| targets.get(&topology.members.get(p.to)?.cluster))
        .map(|t| crate::resources::peering::gateway(t, "istio-gateways"))
        .collect()
}
