//! `certs rotate`: a new intermediate for one cluster (old files kept), optionally applied.

use kubectl_mesh_core::certs::rotate as core_rotate;
use kubectl_mesh_core::kube::apply::WriteOptions;

use super::*;

pub(super) async fn rotate(args: RotateArgs) -> Result<ExitCode, CliError> {
    let (dir, force) = (args.keys.dir(), args.keys.force);
    // A rotation keeps the key type (an EC mesh stays EC) unless --key-type says otherwise.
    let current = dir
        .read_intermediate(&args.cluster)
        .ok()
        .and_then(|bundle| mesh_trust::inspect(&bundle.ca_cert).ok())
        .map(|info| info.key_type)
        .filter(|key_type| KEY_TYPES.contains(&key_type.as_str()));
    let options = args
        .keys
        .options_defaulting_to(current.as_deref().unwrap_or(KEY_TYPES[0]))?;
    let apply_to = args.apply_to.as_deref();
    let root = core_rotate::check(&dir, &args.cluster, apply_to, force)?;
    // The context is checked before any file is written, so a typo changes nothing.
    let clusters = match apply_to {
        Some(context) => apply_to_args(&args, context).connect().await?,
        None => Vec::new(),
    };
    let rotation = core_rotate::rotate(&dir, &root, &args.cluster, &options, &clusters, force, &warn).await?;
    print_rows(&[rotation.row], OutputFormat::Table)?;
    eprintln!("previous files kept in {}", rotation.backup.display());
    if apply_to.is_none() {
        eprintln!(
            "next: kubectl mesh certs secret --contexts {} --dir {}",
            args.cluster,
            dir.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let write = WriteOptions::default();
    let reports = cacerts::apply_all(rotation.jobs, &write, 1, &StderrProgress::new()).await;
    print_secret_reports(&reports, OutputFormat::Table, &write)
}

/// The one cluster of `--apply-to`, named after the rotated cluster.
fn apply_to_args(args: &RotateArgs, context: &str) -> ClusterArgs {
    ClusterArgs {
        kubeconfig: args.kubeconfig.clone(),
        context: None,
        contexts: vec![format!("{}={context}", args.cluster)],
        timeout: std::time::Duration::from_secs(30),
        parallel: 1,
        verbose: args.keys.verbose,
    }
}
