//! `certs rotate`: a new intermediate for one cluster from the same root, the old files kept
//! in a backup, and — with `--apply-to` — the job that puts it into that cluster's `cacerts`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use mesh_trust::{CaKeyPair, CertsDir, Options};

use super::issue::{self, Row, Warn};
use super::secret::{self, Job};
use super::Error;
use crate::kube::clusters::Cluster;
use crate::InputError;

/// What a rotation did: the new intermediate's row, where the old files went, and the
/// `cacerts` jobs of the `--apply-to` cluster (none without it).
pub struct Rotation {
    pub row: Row,
    pub backup: PathBuf,
    pub jobs: Vec<Job>,
}

/// Everything checked before connecting to a cluster: the root in `dir`, an intermediate of
/// `cluster` to replace, and an `apply_to` context that is not another cluster's.
pub fn check(dir: &CertsDir, cluster: &str, apply_to: Option<&str>, force: bool) -> Result<CaKeyPair, Error> {
    let root = issue::existing_root(dir, cluster)?;
    dir.read_intermediate(cluster).map_err(|e| {
        InputError::new(format!("cluster {cluster}: nothing to rotate: {e}")).with_hint(format!(
            "create it first: kubectl mesh certs intermediate --cluster {cluster}"
        ))
    })?;
    if let Some(context) = apply_to {
        if !force {
            refuse_other_clusters_context(dir, cluster, context)?;
        }
    }
    Ok(root)
}

/// `--apply-to east-1` while rotating west-9: if east-1 is itself a cluster with its own
/// intermediate here, west-9's would give it another cluster's identity.
fn refuse_other_clusters_context(dir: &CertsDir, cluster: &str, context: &str) -> Result<(), InputError> {
    if context == cluster || dir.read_intermediate(context).is_err() {
        return Ok(());
    }
    Err(InputError::new(format!(
        "--apply-to {context} is the context of cluster {context}, which has its own intermediate in {}: installing {cluster}'s there would give two clusters one identity",
        dir.path().display(),
    ))
    .with_hint(format!(
        "rotate that cluster's own: kubectl mesh certs rotate --cluster {context} --apply-to {context} (or pass --force if {context} really is {cluster}'s context)",
    )))
}

/// Issues `cluster`'s new intermediate from `root`, plans it against `clusters` (the
/// `--apply-to` one, named `cluster`), then rotates the files. Like `certs secret`, a live
/// `cacerts` from another root is replaced only with `force`, and that is found out before
/// any file is touched.
pub async fn rotate(
    dir: &CertsDir,
    root: &CaKeyPair,
    cluster: &str,
    options: &Options,
    clusters: &[Cluster],
    force: bool,
    warn: Warn<'_>,
) -> Result<Rotation, Error> {
    let issued = mesh_trust::generate_intermediate(root, cluster, options)?;
    let bundles = BTreeMap::from([(cluster.to_string(), issued.clone())]);
    let live = secret::read_live(clusters, 1).await;
    let jobs = secret::jobs(live, &bundles, force)
        .map_err(|refused| refused.first("nothing was changed", "pass --force to rotate and replace it"))?;
    issue::warn_about_root(root, options.days, warn);
    let backup = dir.rotate_intermediate(cluster, &issued)?;
    let row = issue::row(cluster, "rotated", &issued.ca_cert, &issued.root_cert)?;
    Ok(Rotation { row, backup, jobs })
}
