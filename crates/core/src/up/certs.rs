//! The certs step: the root and every member's intermediate on disk, and the plan for each
//! cluster's cacerts Secret (a different root, or a new root over clusters that trust one,
//! is refused before anything is written).

use super::*;

/// The target of the root's rows: not a possible cluster name (a cluster may be `root`).
pub(super) const ROOT_ROW: &str = "root CA";

/// The bundles of every member, creating what is missing (root first, keys concurrently).
pub fn certs(
    topology: &Topology,
    dry_run: bool,
) -> Result<(Vec<StepRow>, BTreeMap<String, mesh_trust::Intermediate>), InputError> {
    let trust = |e: mesh_trust::Error| InputError::new(format!("certs ({}): {e}", topology.certs_dir));
    let dir = mesh_trust::CertsDir::new(&topology.certs_dir);
    let options = mesh_trust::Options {
        key_type: topology.key_type.parse().map_err(trust)?,
        ..Default::default()
    };
    let mut rows = Vec::new();
    let mut bundles = BTreeMap::new();
    let root = if dir.root_exists() {
        rows.push(StepRow::new(
            "certs",
            ROOT_ROW,
            match topology.root_cert.is_some() {
                true => "unchanged (certs.rootCert ignored: a root already exists in certs.dir)",
                false => "unchanged",
            },
        ));
        Some(dir.read_root().map_err(trust)?)
    } else if let (Some(cert), Some(key)) = (&topology.root_cert, &topology.root_key) {
        let root =
            mesh_trust::load_root_files(cert.as_ref(), key.as_ref(), mesh_trust::OffsetDateTime::now_utc())
                .map_err(trust)?;
        rows.push(StepRow::new(
            "certs",
            ROOT_ROW,
            if dry_run { "would import" } else { "imported" },
        ));
        let now = mesh_trust::OffsetDateTime::now_utc();
        for warning in mesh_trust::issue::root_warnings(&root, None, now) {
            rows.push(StepRow::new("certs", ROOT_ROW, format!("warning: {warning}")));
        }
        if !dry_run {
            dir.write_root(&root, false).map_err(trust)?;
        }
        Some(root)
    } else {
        None
    };
    let mut missing = Vec::new();
    for member in &topology.members {
        match dir.read_intermediate(&member.cluster) {
            Ok(bundle) => {
                if let Some(root) = &root {
                    if !cacerts::same_pem(&bundle.root_cert, root.cert_pem()) {
                        return Err(InputError::new(format!(
                            "certs: the intermediate of {} was issued by another root",
                            member.cluster
                        ))
                        .with_hint(format!(
                            "re-issue it: kubectl mesh certs rotate --cluster {} --dir {}",
                            member.cluster, topology.certs_dir
                        )));
                    }
                }
                rows.push(StepRow::new("certs", &member.cluster, "unchanged"));
                bundles.insert(member.cluster.clone(), bundle);
            }
            Err(_) => missing.push(member.cluster.as_str()),
        }
    }
    if missing.is_empty() {
        return Ok((rows, bundles));
    }
    if dry_run {
        if root.is_none() {
            rows.push(StepRow::new("certs", ROOT_ROW, "would create"));
        }
        rows.extend(missing.iter().map(|c| StepRow::new("certs", c, "would create")));
        return Ok((rows, bundles));
    }
    dir.check_writable().map_err(trust)?;
    let (root, issued) = match root {
        Some(root) => {
            let issued = mesh_trust::generate_intermediates(&root, &missing, &options).map_err(trust)?;
            (root, issued)
        }
        None => {
            let (root, issued) = mesh_trust::generate_all(&options, &missing).map_err(trust)?;
            dir.write_root(&root, false).map_err(trust)?;
            rows.push(StepRow::new("certs", ROOT_ROW, "created"));
            (root, issued)
        }
    };
    drop(root);
    for (cluster, bundle) in missing.iter().zip(issued) {
        dir.write_intermediate(cluster, &bundle, false).map_err(trust)?;
        rows.push(StepRow::new("certs", cluster, "created"));
        bundles.insert(cluster.to_string(), bundle);
    }
    Ok((rows, bundles))
}

/// No root on disk, but clusters already trust one: minting a new root (a private key on
/// disk) would only end in "signed by a different root". Said before anything is written,
/// pointing at the likely cause: `certs.dir` is not where this mesh's certificates are.
/// A cacerts that could not be read does not count: its plan fails that cluster later.
pub(super) fn refuse_new_root_over_live(
    topology: &Topology,
    live: &[Live],
    options: &UpOptions,
) -> Result<(), InputError> {
    let on_disk = mesh_trust::CertsDir::new(&topology.certs_dir).root_exists();
    if on_disk || topology.root_cert.is_some() || options.force {
        return Ok(());
    }
    let live: Vec<&str> = live
        .iter()
        .filter(|l| matches!(l.secret, Ok(Some(_))))
        .map(|l| l.cluster.name.as_str())
        .collect();
    if live.is_empty() {
        return Ok(());
    }
    Err(InputError::new(format!(
        "certs.dir {} has no root CA, but {} already {} a cacerts Secret: a new root would not be trusted by {}\nnothing was changed in any cluster or on disk",
        topology.certs_dir,
        live.join(", "),
        if live.len() == 1 { "has" } else { "have" },
        if live.len() == 1 { "it" } else { "them" },
    ))
    .with_hint("point certs.dir (or certs.rootCert/rootKey) at the certificates this mesh uses; to replace its root of trust instead, pass --force (istiod must then restart)"))
}

/// Every cluster's cacerts job, planned against what was read before any write: a different
/// root needs --force.
pub(super) fn cacerts_jobs(
    live: Vec<Live>,
    bundles: &BTreeMap<String, mesh_trust::Intermediate>,
    options: &UpOptions,
) -> Result<Vec<Job>, InputError> {
    cacerts::jobs(live, bundles, options.force)
        .map_err(|refused| refused.first("nothing was changed in any cluster", "pass --force to up"))
}
