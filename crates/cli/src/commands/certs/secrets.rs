//! `certs secret`: each cluster's intermediate into its `cacerts` Secret (or printed).

use super::*;

pub(super) async fn apply_secret(args: SecretArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let dir = CertsDir::new(&args.dir);
    let write = args.write.options()?;
    if args.generate {
        return print_secrets(&args, &dir);
    }
    let format = args.output.unwrap_or_default();
    let clusters = args.cluster_args.connect().await?;
    let limit = usize::from(args.cluster_args.parallel);
    let jobs = cacerts::jobs_from_dir(&dir, &clusters, args.force, limit).await?;
    let reports = cacerts::apply_all(jobs, &write, limit, &StderrProgress::new()).await;
    print_secret_reports(&reports, format, &write)
}

/// The reports of `certs secret` (and `rotate --apply-to`), their notes as hints on stderr.
pub(super) fn print_secret_reports(
    reports: &[kubectl_mesh_core::report::ClusterReport],
    format: OutputFormat,
    write: &kubectl_mesh_core::kube::apply::WriteOptions,
) -> Result<ExitCode, CliError> {
    output::print(&output::cluster_reports(
        reports,
        format,
        write.dry_run,
        "CertsSecretReport",
    )?);
    for report in reports {
        for note in &report.notes {
            crate::hints::eprint(&format!("{}: {note}", report.cluster));
        }
    }
    output::print_errors(reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}

/// `--generate`: the Secrets of `--clusters` (names in `--dir`), else of the selected contexts.
pub(super) fn print_secrets(args: &SecretArgs, dir: &CertsDir) -> Result<ExitCode, CliError> {
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    let names: Vec<String> = if !args.clusters.is_empty() {
        core_issue::unique_names(&args.clusters)?
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
    output::print(&output::objects(&cacerts::secrets(dir, &names)?, format)?);
    Ok(ExitCode::SUCCESS)
}
