//! `certs rotate`: a new intermediate for one cluster (old files kept), optionally applied.

use super::*;

pub(super) async fn rotate(args: RotateArgs) -> Result<ExitCode, CliError> {
    let (options, dir, root) = existing_root(&args.keys, &args.cluster)?;
    dir.read_intermediate(&args.cluster).map_err(|e| {
        InputError::new(format!("cluster {}: nothing to rotate: {e}", args.cluster)).with_hint(format!(
            "create it first: kubectl mesh certs intermediate --cluster {}",
            args.cluster
        ))
    })?;
    // `--apply-to east-1` while rotating west-9: if east-1 is itself a cluster with its own
    // intermediate here, west-9's would give it another cluster's identity.
    if let Some(context) = args.apply_to.as_deref() {
        if context != args.cluster && !args.keys.force && dir.read_intermediate(context).is_ok() {
            return Err(InputError::new(format!(
                "--apply-to {context} is the context of cluster {context}, which has its own intermediate in {}: installing {}'s there would give two clusters one identity",
                dir.path().display(),
                args.cluster
            ))
            .with_hint(format!(
                "rotate that cluster's own: kubectl mesh certs rotate --cluster {context} --apply-to {context} (or pass --force if {context} really is {}'s context)",
                args.cluster
            ))
            .into());
        }
    }
    // Check the context before writing files, so a typo changes nothing.
    let cluster_args = args.apply_to.as_ref().map(|context| ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: None,
        contexts: vec![format!("{}={context}", args.cluster)],
        timeout: std::time::Duration::from_secs(30),
        parallel: 1,
        verbose: args.keys.verbose,
    });
    let clusters = match &cluster_args {
        Some(c) => Some(c.connect().await?),
        None => None,
    };
    // Like `certs secret`: a live cacerts from another root is replaced only with --force,
    // and that is found out before any file is rotated.
    let mut plans = Vec::new();
    for cluster in clusters.iter().flatten() {
        let planned = cacerts::Planned {
            root_pem: root.cert_pem(),
            intermediate_of: &args.cluster,
            force: args.keys.force,
        };
        match cacerts::plan(cluster, &planned).await {
            Plan::Ready { replaces_root } => plans.push(Ok(replaces_root)),
            Plan::Failed(reason) => plans.push(Err(reason)),
            Plan::Input(e) => {
                let mut error = InputError::new(format!("{}\nnothing was changed", e.message));
                error.hint = e
                    .hint
                    .map(|h| h.replace("pass --force", "pass --force to rotate and replace it"));
                return Err(error.into());
            }
        }
    }
    warn_about_root(&root, options.days);
    let issued = mesh_trust::generate_intermediate(&root, &args.cluster, &options).map_err(trust_error)?;
    let backup = dir
        .rotate_intermediate(&args.cluster, &issued)
        .map_err(trust_error)?;
    print_rows(
        &[row(&args.cluster, "rotated", &issued.ca_cert, &issued.root_cert)?],
        OutputFormat::Table,
    )?;
    eprintln!("previous files kept in {}", backup.display());
    let Some(clusters) = clusters else {
        eprintln!(
            "next: kubectl mesh certs secret --contexts {} --dir {}",
            args.cluster,
            dir.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let write = kubectl_mesh_core::kube::apply::WriteOptions::default();
    let jobs = clusters
        .into_iter()
        .zip(plans)
        .map(|(cluster, plan)| Job {
            cluster,
            secret: secret::secret(issued.entries()),
            plan,
        })
        .collect();
    let reports = cacerts::apply_all(jobs, &write, 1, &StderrProgress).await;
    output::print(&output::cluster_reports(
        &reports,
        OutputFormat::Table,
        write.dry_run,
        "CertsSecretReport",
    )?);
    for report in &reports {
        for note in &report.notes {
            crate::hints::eprint(&format!("{}: {note}", report.cluster));
        }
    }
    output::print_errors(&reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}
