//! `certs root`, `certs intermediate` and `certs generate`: certificates on disk, checked
//! before anything is written.

use super::*;

pub(super) fn root(args: RootArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let dir = args.keys.dir()?;
    if dir.root_exists() && !args.keys.force && args.byo.root_cert.is_none() {
        return Err(
            InputError::new(format!("{} already exists", dir.root_cert_path().display()))
                .with_hint("keep it (intermediates signed by it stay valid), or pass --force to replace it")
                .into(),
        );
    }
    let (root, result) = obtain_root(&dir, &args.byo, &options, args.keys.force)?;
    warn_about_root(&root, None);
    if result != "unchanged" {
        dir.write_root(&root, args.keys.force).map_err(trust_error)?;
    }
    print_rows(
        &[row("root", result, root.cert_pem(), root.cert_pem())?],
        args.output,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn intermediate(args: IntermediateArgs) -> Result<ExitCode, CliError> {
    let (options, dir, root) = existing_root(&args.keys, &args.cluster)?;
    if !args.keys.force {
        refuse_existing_intermediate(&dir, &args.cluster)?;
    }
    warn_about_root(&root, options.days);
    let issued = mesh_trust::generate_intermediate(&root, &args.cluster, &options).map_err(trust_error)?;
    dir.write_intermediate(&args.cluster, &issued, args.keys.force)
        .map_err(trust_error)?;
    print_rows(
        &[row(&args.cluster, "created", &issued.ca_cert, &issued.root_cert)?],
        args.output,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn refuse_existing_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), CliError> {
    if dir.read_intermediate(cluster).is_ok() {
        return Err(InputError::new(format!(
            "the intermediate of cluster {cluster} already exists in {}",
            dir.path().display()
        ))
        .with_hint(
            "pass --force to replace it, or `kubectl mesh certs rotate` to replace it keeping a backup",
        )
        .into());
    }
    Ok(())
}

pub(super) fn generate(args: GenerateArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let clusters = unique_names(&args.clusters)?;
    let dir = args.keys.dir()?;
    // Existing intermediates are kept (re-running converges), unless --force.
    let todo: Vec<&str> = clusters
        .iter()
        .map(String::as_str)
        .filter(|c| args.keys.force || dir.read_intermediate(c).is_err())
        .collect();
    if !args.keys.force {
        // A cluster whose files are there but unreadable would fail to write half-way.
        for cluster in &todo {
            refuse_partial_intermediate(&dir, cluster)?;
        }
    }
    let kept: Vec<&str> = clusters
        .iter()
        .map(String::as_str)
        .filter(|c| !todo.contains(c))
        .collect();
    let new_root = args.byo.root_cert.is_none() && (args.keys.force || !dir.root_exists());
    let (root, root_result, intermediates) = if new_root {
        // Kept intermediates cannot chain to a root that does not exist yet.
        if let Some(cluster) = kept.first() {
            return Err(other_root(&dir, cluster));
        }
        // Every key (root and intermediates) is generated at once, one thread each.
        let (root, intermediates) = mesh_trust::generate_all(&options, &todo).map_err(trust_error)?;
        (root, "created", intermediates)
    } else {
        let (root, result) = obtain_root(&dir, &args.byo, &options, args.keys.force)?;
        warn_about_root(&root, options.days);
        for cluster in &kept {
            let bundle = dir.read_intermediate(cluster).map_err(trust_error)?;
            if !cacerts::same_pem(&bundle.root_cert, root.cert_pem()) {
                return Err(other_root(&dir, cluster));
            }
        }
        let intermediates =
            mesh_trust::generate_intermediates(&root, &todo, &options).map_err(trust_error)?;
        (root, result, intermediates)
    };
    let issued: Vec<(&str, Intermediate)> = todo.iter().copied().zip(intermediates).collect();
    if root_result != "unchanged" {
        dir.write_root(&root, args.keys.force).map_err(trust_error)?;
    }
    let mut rows = vec![row("root", root_result, root.cert_pem(), root.cert_pem())?];
    for cluster in &clusters {
        match issued.iter().find(|(name, _)| name == cluster) {
            Some((_, intermediate)) => {
                dir.write_intermediate(cluster, intermediate, args.keys.force)
                    .map_err(trust_error)?;
                rows.push(row(
                    cluster,
                    "created",
                    &intermediate.ca_cert,
                    &intermediate.root_cert,
                )?);
            }
            None => {
                let kept = dir.read_intermediate(cluster).map_err(trust_error)?;
                rows.push(row(cluster, "unchanged", &kept.ca_cert, &kept.root_cert)?);
            }
        }
    }
    print_rows(&rows, args.output)?;
    Ok(ExitCode::SUCCESS)
}

/// An existing intermediate that another root signed: keeping it would split the mesh.
pub(super) fn other_root(dir: &CertsDir, cluster: &str) -> CliError {
    InputError::new(format!(
        "cluster {cluster}: its intermediate in {} was signed by a different root than the one used now",
        dir.path().display()
    ))
    .with_hint(format!(
        "pass --force to re-issue every intermediate from this root, or `kubectl mesh certs rotate --cluster {cluster}` after restoring its root"
    ))
    .into()
}

/// Files of `cluster` that exist but do not read as a bundle: writing over them needs --force.
pub(super) fn refuse_partial_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), CliError> {
    let cluster_dir = dir.cluster_dir(cluster).map_err(trust_error)?;
    let present: Vec<String> = [
        mesh_trust::layout::CA_CERT,
        mesh_trust::layout::CA_KEY,
        mesh_trust::layout::ROOT_CERT,
        mesh_trust::layout::CERT_CHAIN,
    ]
    .iter()
    .map(|name| cluster_dir.join(name))
    .filter(|path| std::fs::symlink_metadata(path).is_ok())
    .map(|path| path.display().to_string())
    .collect();
    if present.is_empty() {
        return Ok(());
    }
    let reason = match dir.read_intermediate(cluster) {
        Err(e) => e.to_string(),
        Ok(_) => "it is incomplete".to_string(),
    };
    Err(InputError::new(format!(
        "cluster {cluster}: the files in {} cannot be used: {reason}",
        cluster_dir.display()
    ))
    .with_hint(format!(
        "pass --force to replace them (they are: {}), or repair them",
        present.join(", ")
    ))
    .into())
}
