//! `certs secret`: each cluster's intermediate into its `cacerts` Secret (or printed).

use super::*;

/// The Secret of one cluster, from its directory; a missing or broken bundle is bad input.
pub(super) fn cluster_secret(
    dir: &CertsDir,
    cluster: &str,
) -> Result<(serde_json::Value, String), InputError> {
    let bundle = dir.read_intermediate(cluster).map_err(|e| {
        // Broken files are only replaced with --force: a hint without it would just fail.
        let has_files = dir
            .cluster_dir(cluster)
            .ok()
            .and_then(|d| std::fs::read_dir(d).ok())
            .is_some_and(|mut entries| entries.next().is_some());
        // `intermediate --force` re-issues from the existing root; `generate --force` would
        // replace the root too, and with it every other cluster's trust.
        let hint = match has_files {
            true => format!(
                "re-issue it from the existing root: `kubectl mesh certs intermediate --cluster {cluster} --dir {} --force`",
                dir.path().display()
            ),
            false => format!(
                "create it with `kubectl mesh certs generate --clusters {cluster} --dir {}`",
                dir.path().display()
            ),
        };
        InputError::new(format!("cluster {cluster}: {e}")).with_hint(hint)
    })?;
    let report = mesh_trust::check_intermediate(&bundle)
        .map_err(|e| InputError::new(format!("cluster {cluster}: {e}")))?;
    if !report.is_ok() {
        return Err(
            InputError::new(format!("cluster {cluster}: {}", report.problems.join("; "))).with_hint(format!(
                "re-issue it with `kubectl mesh certs rotate --cluster {cluster} --dir {}`",
                dir.path().display()
            )),
        );
    }
    Ok((secret::secret(bundle.entries()), bundle.root_cert.clone()))
}

pub(super) async fn apply_secret(args: SecretArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let dir = CertsDir::new(&args.dir);
    let write = args.write.options()?;
    if args.generate {
        return print_secrets(&args, &dir);
    }
    let format = args.output.unwrap_or_default();
    let clusters = args.cluster_args.connect().await?;
    let mut secrets = Vec::new();
    for cluster in &clusters {
        secrets.push(cluster_secret(&dir, &cluster.name)?);
    }
    let limit = usize::from(args.cluster_args.parallel);
    let plans = parallel::map_bounded(
        clusters.into_iter().zip(secrets).collect(),
        limit,
        |(cluster, (body, root)): (Cluster, _)| async move {
            let planned = cacerts::Planned {
                root_pem: &root,
                intermediate_of: &cluster.name,
                force: args.force,
            };
            let plan = cacerts::plan(&cluster, &planned).await;
            (cluster, body, plan)
        },
    )
    .await;
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for (cluster, body, plan) in plans {
        let plan = match plan {
            Plan::Ready { replaces_root } => Ok(replaces_root),
            Plan::Failed(reason) => Err(reason),
            Plan::Input(e) => {
                refused.push(e);
                continue;
            }
        };
        jobs.push(Job {
            cluster,
            secret: body,
            plan,
        });
    }
    if let Some(error) = InputError::combine(refused) {
        return Err(error.into());
    }
    let reports = cacerts::apply_all(jobs, &write, limit, &StderrProgress).await;
    output::print(&output::cluster_reports(
        &reports,
        format,
        write.dry_run,
        "CertsSecretReport",
    )?);
    for note in reports.iter().flat_map(|r| r.notes.iter().map(move |n| (r, n))) {
        crate::hints::eprint(&format!("{}: {}", note.0.cluster, note.1));
    }
    output::print_errors(&reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}

pub(super) fn print_secrets(args: &SecretArgs, dir: &CertsDir) -> Result<ExitCode, CliError> {
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    let names: Vec<String> = if !args.clusters.is_empty() {
        unique_names(&args.clusters)?
    } else if !args.cluster_args.contexts.is_empty() || args.cluster_args.context.is_some() {
        let kubeconfig = args.cluster_args.load_kubeconfig()?;
        args.cluster_args
            .select(&kubeconfig)?
            .into_iter()
            .map(|r| r.name)
            .collect()
    } else {
        return Err(
            InputError::new("certs secret --generate needs the clusters to print")
                .with_hint("pass --clusters a,b (names in --dir) or --contexts a,b")
                .into(),
        );
    };
    let mut objects = Vec::new();
    for name in &names {
        objects.push(cluster_secret(dir, name)?.0);
    }
    output::print(&output::objects(&objects, format)?);
    Ok(ExitCode::SUCCESS)
}
