//! `certs root`, `certs intermediate` and `certs generate`: certificates into a directory,
//! every input checked before anything is written; and [`Row`], what each reports about one
//! certificate.

use std::path::Path;

use mesh_trust::{CaKeyPair, CertsDir, Intermediate, Options};
use serde::Serialize;

use super::secret::same_pem;
use super::Error;
use crate::InputError;

/// Where warnings about the root go (a root ending soon is said, not refused: a corporate
/// root is what it is). A callback rather than a return value, so that a warning is still
/// said when a later step fails.
pub type Warn<'a> = &'a (dyn Fn(&str) + Sync);

/// A root the user brings (`--root-cert`, `--root-key`) instead of a new one.
#[derive(Debug, Clone, Copy)]
pub struct Byo<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

/// One line of a certs report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    /// `root` or `intermediate`: a cluster may be named `root` too.
    pub role: &'static str,
    /// `created`, `imported`, `unchanged` or `rotated`.
    pub result: &'static str,
    pub subject: String,
    pub key_type: String,
    pub not_after: String,
    pub root_fingerprint: String,
}

/// The row of `cert_pem` (the root itself when it equals `root_pem`).
pub fn row(name: &str, result: &'static str, cert_pem: &str, root_pem: &str) -> Result<Row, Error> {
    let info = mesh_trust::inspect(cert_pem)?;
    let root = mesh_trust::inspect(root_pem)?;
    Ok(Row {
        name: name.to_string(),
        role: if cert_pem == root_pem {
            "root"
        } else {
            "intermediate"
        },
        result,
        subject: info.subject,
        key_type: info.key_type,
        not_after: info.not_after.date().to_string(),
        root_fingerprint: root.sha256_fingerprint,
    })
}

/// The key flags, checked: `--key-type`, `--days` and `--org`.
pub fn options(key_type: &str, days: Option<u32>, org: &str) -> Result<Options, Error> {
    let key_type = key_type.parse()?;
    if org.trim().is_empty() {
        return Err(InputError::new("--org is empty")
            .with_hint("omit it to use Istio")
            .into());
    }
    Ok(Options {
        key_type,
        days,
        org: org.to_string(),
    })
}

/// `certs root`: a new root, or `byo` adopted; an existing one is replaced only with `force`.
pub fn root(
    dir: &CertsDir,
    byo: Option<Byo>,
    options: &Options,
    force: bool,
    warn: Warn,
) -> Result<Row, Error> {
    dir.check_writable()?;
    if dir.root_exists() && !force && byo.is_none() {
        return Err(
            InputError::new(format!("{} already exists", dir.root_cert_path().display()))
                .with_hint("keep it (intermediates signed by it stay valid), or pass --force to replace it")
                .into(),
        );
    }
    let (root, result) = obtain_root(dir, byo, options, force)?;
    warn_about_root(&root, None, warn);
    if result != "unchanged" {
        replace_root(dir, &root, force, &[], warn)?;
    }
    row("root", result, root.cert_pem(), root.cert_pem())
}

/// Writes `root`; one it replaces (`--force`) is first copied into a backup folder, never
/// lost, and the intermediates in `dir` it signed — those not re-issued (`reissued`) — are
/// named with the command that re-issues them.
fn replace_root(
    dir: &CertsDir,
    root: &CaKeyPair,
    force: bool,
    reissued: &[&str],
    warn: Warn,
) -> Result<(), Error> {
    let replaced = match dir.root_exists() {
        true => dir
            .read_root_cert()
            .ok()
            .filter(|old| !same_pem(old, root.cert_pem())),
        false => None,
    };
    if let Some(old) = &replaced {
        if let Some(backup) = dir.backup_root()? {
            warn(&format!(
                "the root it replaces (certificate and key) is kept in {}",
                backup.display()
            ));
        }
        let orphaned: Vec<String> = dir
            .clusters()?
            .into_iter()
            .filter(|c| !reissued.contains(&c.as_str()))
            .filter(|c| {
                dir.read_intermediate(c)
                    .is_ok_and(|b| same_pem(&b.root_cert, old))
            })
            .collect();
        if !orphaned.is_empty() {
            // `certs intermediate` signs with the root in the dir (generate --force would
            // replace the root once more).
            let commands: Vec<String> = orphaned
                .iter()
                .map(|c| {
                    format!(
                        "kubectl mesh certs intermediate --cluster {c} --dir {} --force",
                        dir.path().display()
                    )
                })
                .collect();
            warn(&format!(
                "the intermediates of {} were signed by the replaced root and no longer chain to the new one: re-issue them: {}",
                orphaned.join(", "),
                commands.join("; ")
            ));
        }
    }
    dir.write_root(root, force)?;
    Ok(())
}

/// `certs intermediate`: `cluster`'s intermediate from the root in `dir`; an existing one is
/// replaced only with `force`.
pub fn intermediate(
    dir: &CertsDir,
    cluster: &str,
    options: &Options,
    force: bool,
    warn: Warn,
) -> Result<Row, Error> {
    let root = existing_root(dir, cluster)?;
    if !force {
        refuse_existing_intermediate(dir, cluster)?;
    }
    warn_about_root(&root, options.days, warn);
    let issued = mesh_trust::generate_intermediate(&root, cluster, options)?;
    dir.write_intermediate(cluster, &issued, force)?;
    row(cluster, "created", &issued.ca_cert, &issued.root_cert)
}

/// For a command that issues `cluster`'s intermediate from the root already in `dir`: that
/// root, the name and the directory checked first.
pub fn existing_root(dir: &CertsDir, cluster: &str) -> Result<CaKeyPair, Error> {
    mesh_trust::validate_cluster_name(cluster)?;
    dir.check_writable()?;
    if !dir.root_exists() {
        return Err(no_root(dir).into());
    }
    Ok(dir.read_root()?)
}

/// `certs generate`: the root if missing (or `byo`), then the intermediates of `clusters`
/// that are missing (all of them with `force`), concurrently. The root row comes first.
pub fn generate(
    dir: &CertsDir,
    clusters: &[String],
    byo: Option<Byo>,
    options: &Options,
    force: bool,
    warn: Warn,
) -> Result<Vec<Row>, Error> {
    let clusters = unique_names(clusters)?;
    dir.check_writable()?;
    let (todo, kept) = split_kept(dir, &clusters, force)?;
    let (root, root_result, intermediates) = issue_all(dir, &todo, &kept, byo, options, force, warn)?;
    let issued: Vec<(&str, Intermediate)> = todo.into_iter().zip(intermediates).collect();
    if root_result != "unchanged" {
        replace_root(dir, &root, force, &todo_names(&issued), warn)?;
    }
    let mut rows = vec![row("root", root_result, root.cert_pem(), root.cert_pem())?];
    for cluster in &clusters {
        rows.push(write_or_keep(dir, cluster, &issued, force)?);
    }
    Ok(rows)
}

fn todo_names<'a>(issued: &[(&'a str, Intermediate)]) -> Vec<&'a str> {
    issued.iter().map(|(name, _)| *name).collect()
}

/// The clusters to issue and those whose intermediate is kept: existing intermediates are
/// kept (re-running converges), unless `force`.
fn split_kept<'a>(
    dir: &CertsDir,
    clusters: &'a [String],
    force: bool,
) -> Result<(Vec<&'a str>, Vec<&'a str>), Error> {
    let (todo, kept): (Vec<&str>, Vec<&str>) = clusters
        .iter()
        .map(String::as_str)
        .partition(|c| force || dir.read_intermediate(c).is_err());
    if !force {
        // A cluster whose files are there but unreadable would fail to write half-way.
        for cluster in &todo {
            refuse_partial_intermediate(dir, cluster)?;
        }
    }
    Ok((todo, kept))
}

/// The root to sign with, what happened to it, and the new intermediates of `todo`; every
/// `kept` intermediate must chain to that root.
fn issue_all(
    dir: &CertsDir,
    todo: &[&str],
    kept: &[&str],
    byo: Option<Byo>,
    options: &Options,
    force: bool,
    warn: Warn,
) -> Result<(CaKeyPair, &'static str, Vec<Intermediate>), Error> {
    if byo.is_none() && (force || !dir.root_exists()) {
        // Kept intermediates cannot chain to a root that does not exist yet.
        if let Some(cluster) = kept.first() {
            return Err(other_root(dir, cluster).into());
        }
        // Every key (root and intermediates) is generated at once, one thread each.
        let (root, intermediates) = mesh_trust::generate_all(options, todo)?;
        return Ok((root, "created", intermediates));
    }
    let (root, result) = obtain_root(dir, byo, options, force)?;
    warn_about_root(&root, options.days, warn);
    for cluster in kept {
        let bundle = dir.read_intermediate(cluster)?;
        if !same_pem(&bundle.root_cert, root.cert_pem()) {
            return Err(other_root(dir, cluster).into());
        }
    }
    let intermediates = mesh_trust::generate_intermediates(&root, todo, options)?;
    Ok((root, result, intermediates))
}

/// Writes `cluster`'s new intermediate if it was issued, else reads the kept one: its row.
fn write_or_keep(
    dir: &CertsDir,
    cluster: &str,
    issued: &[(&str, Intermediate)],
    force: bool,
) -> Result<Row, Error> {
    match issued.iter().find(|(name, _)| *name == cluster) {
        Some((_, intermediate)) => {
            dir.write_intermediate(cluster, intermediate, force)?;
            row(cluster, "created", &intermediate.ca_cert, &intermediate.root_cert)
        }
        None => {
            let kept = dir.read_intermediate(cluster)?;
            row(cluster, "unchanged", &kept.ca_cert, &kept.root_cert)
        }
    }
}

/// The root to sign with: an existing one in the dir, a BYO one, or a new one; and whether
/// it is `unchanged`, `imported` or `created`.
fn obtain_root(
    dir: &CertsDir,
    byo: Option<Byo>,
    options: &Options,
    force: bool,
) -> Result<(CaKeyPair, &'static str), Error> {
    if let Some(byo) = byo {
        return adopt_root(dir, byo, force);
    }
    if dir.root_exists() && !force {
        return Ok((dir.read_root()?, "unchanged"));
    }
    Ok((mesh_trust::generate_root(options)?, "created"))
}

/// A BYO root, refused when `dir` already holds a different one (unless `force`).
fn adopt_root(dir: &CertsDir, byo: Byo, force: bool) -> Result<(CaKeyPair, &'static str), Error> {
    let now = mesh_trust::OffsetDateTime::now_utc();
    let root = mesh_trust::load_root_files(byo.cert, byo.key, now)?;
    if !dir.root_exists() || force {
        return Ok((root, "imported"));
    }
    let existing = dir.read_root_cert()?;
    if existing.trim() != root.cert_pem().trim() {
        return Err(InputError::new(format!(
            "{} already holds a different root",
            dir.root_cert_path().display()
        ))
        .with_hint("use another --dir, or --force to replace it (every intermediate must then be re-issued)")
        .into());
    }
    Ok((root, "unchanged"))
}

/// Says what a root ending soon means for intermediates of `days` signed now.
pub(super) fn warn_about_root(root: &CaKeyPair, days: Option<u32>, warn: Warn) {
    let now = mesh_trust::OffsetDateTime::now_utc();
    for warning in mesh_trust::issue::root_warnings(root, days, now) {
        warn(&warning);
    }
}

fn no_root(dir: &CertsDir) -> InputError {
    InputError::new(format!("no root CA in {}", dir.path().display()))
        .with_hint("create one with `kubectl mesh certs root` (or pass --dir where it is)")
}

fn refuse_existing_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), InputError> {
    if dir.read_intermediate(cluster).is_ok() {
        return Err(InputError::new(format!(
            "the intermediate of cluster {cluster} already exists in {}",
            dir.path().display()
        ))
        .with_hint(
            "pass --force to replace it, or `kubectl mesh certs rotate` to replace it keeping a backup",
        ));
    }
    Ok(())
}

/// An existing intermediate that another root signed: keeping it would split the mesh.
fn other_root(dir: &CertsDir, cluster: &str) -> InputError {
    InputError::new(format!(
        "cluster {cluster}: its intermediate in {} was signed by a different root than the one used now",
        dir.path().display()
    ))
    .with_hint(format!(
        "pass --force to re-issue every intermediate from this root, or `kubectl mesh certs rotate --cluster {cluster}` after restoring its root"
    ))
}

/// Files of `cluster` that exist but do not read as a bundle: writing over them needs --force.
fn refuse_partial_intermediate(dir: &CertsDir, cluster: &str) -> Result<(), Error> {
    let cluster_dir = dir.cluster_dir(cluster)?;
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

/// `--clusters` as valid names, each once, blanks dropped; empty is refused.
pub fn unique_names(names: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        mesh_trust::validate_cluster_name(name)?;
        if out.iter().any(|n| n == name) {
            return Err(InputError::new(format!("cluster {name:?} is listed twice in --clusters")).into());
        }
        out.push(name.to_string());
    }
    if out.is_empty() {
        return Err(InputError::new("--clusters is empty")
            .with_hint("e.g. --clusters east-1,west-1")
            .into());
    }
    Ok(out)
}
