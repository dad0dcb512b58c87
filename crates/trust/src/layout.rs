//! The files on disk (DESIGN §5.6), like Istio's tools/certs:
//!
//! ```text
//! <dir>/root-cert.pem  <dir>/root-key.pem
//! <dir>/<cluster>/{ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem}
//! <dir>/<cluster>/backup-<UTC timestamp>/...     (kept by rotation)
//! ```
//!
//! Directories are 0700, keys 0600, certificates 0644. Every file is written
//! to a temporary file in the same directory and renamed into place, so a failure
//! never leaves a half-written file; a set of files is written only once all of
//! them have been staged, and nothing is overwritten without `force`.
//! [`write_private`] writes any other secret file by the same rules (and overwrites).

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::issue::{load_root_files, CaKeyPair, Intermediate};
use crate::keys::{self, PrivateKeyPem};
use crate::names::validate_cluster_name;
use crate::pem::{self, read_pem_file};

pub use crate::file_names::{BACKUP_PREFIX, CA_CERT, CA_KEY, CERT_CHAIN, ROOT_CERT, ROOT_KEY};

const DIR_MODE: u32 = 0o700;
const KEY_MODE: u32 = 0o600;
const CERT_MODE: u32 = 0o644;

/// A file to write: where, what, and its mode.
type FileToWrite<'a> = (PathBuf, &'a [u8], u32);

/// A certificates directory (`--dir`, default `certs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertsDir {
    path: PathBuf,
}

impl CertsDir {
    /// The layout rooted at `path`; nothing is touched until something is written.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CertsDir { path: path.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<dir>/root-cert.pem`.
    pub fn root_cert_path(&self) -> PathBuf {
        self.path.join(ROOT_CERT)
    }

    /// `<dir>/root-key.pem`.
    pub fn root_key_path(&self) -> PathBuf {
        self.path.join(ROOT_KEY)
    }

    /// `<dir>/<cluster>`, after checking that `cluster` is a DNS-1123 label (which also
    /// keeps `..` and `/` out of the path).
    pub fn cluster_dir(&self, cluster: &str) -> Result<PathBuf> {
        validate_cluster_name(cluster)?;
        Ok(self.path.join(cluster))
    }

    /// Whether both root files exist.
    pub fn root_exists(&self) -> bool {
        exists(&self.root_cert_path()) && exists(&self.root_key_path())
    }

    /// Fails with [`Error::NotWritable`] unless a file can be created in the directory
    /// (or, if it does not exist yet, in its nearest existing parent). We probe by
    /// creating a file because permission bits lie (root, read-only mounts, ACLs).
    pub fn check_writable(&self) -> Result<()> {
        let dir = nearest_existing(&self.path);
        let not_writable = |source| Error::NotWritable {
            path: dir.clone(),
            source,
        };
        if !dir.is_dir() {
            return Err(not_writable(std::io::Error::from(ErrorKind::NotADirectory)));
        }
        let probe = dir.join(format!(".mesh-write-probe-{}-{}", std::process::id(), next_id()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(KEY_MODE)
            .open(&probe)
            .map_err(not_writable)?;
        fs::remove_file(&probe).map_err(not_writable)
    }

    /// Writes root-cert.pem and root-key.pem. Without `force`, fails listing the files
    /// that exist, having written nothing.
    pub fn write_root(&self, root: &CaKeyPair, force: bool) -> Result<()> {
        let files = [
            (self.root_cert_path(), root.cert_pem().as_bytes(), CERT_MODE),
            (self.root_key_path(), root.key_pem().expose().as_bytes(), KEY_MODE),
        ];
        refuse_existing(&files, force)?;
        ensure_private_dir(&self.path)?;
        write_all_atomically(&files)
    }

    /// Reads and checks the root (a CA, valid now, key matching); errors name the file.
    pub fn read_root(&self) -> Result<CaKeyPair> {
        load_root_files(
            &self.root_cert_path(),
            &self.root_key_path(),
            OffsetDateTime::now_utc(),
        )
    }

    /// The root certificate's PEM only (for inspection: no key needed, expiry not an error).
    pub fn read_root_cert(&self) -> Result<String> {
        let path = self.root_cert_path();
        let text = read_pem_file(&path)?;
        pem::cert_ders(&text, &path.display().to_string())?;
        Ok(text)
    }

    /// Writes the four files of `cluster`. Without `force`, fails listing the files that
    /// exist, having written nothing.
    pub fn write_intermediate(&self, cluster: &str, int: &Intermediate, force: bool) -> Result<()> {
        let dir = self.cluster_dir(cluster)?;
        let files = int
            .entries()
            .map(|(name, text)| (dir.join(name), text.as_bytes(), mode_for(name)));
        refuse_existing(&files, force)?;
        ensure_private_dir(&self.path)?;
        ensure_private_dir(&dir)?;
        write_all_atomically(&files)
    }

    /// Reads the four files of `cluster`, checking that each parses; errors name the file.
    pub fn read_intermediate(&self, cluster: &str) -> Result<Intermediate> {
        read_intermediate_in(&self.cluster_dir(cluster)?)
    }

    /// The clusters that have an intermediate (a valid name and a ca-cert.pem), sorted.
    /// A directory that does not exist has none.
    pub fn clusters(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.path) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.map_err(|e| Error::io(&self.path, e))?,
        };
        let mut clusters = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.path, e))?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if validate_cluster_name(&name).is_ok() && entry.path().join(CA_CERT).is_file() {
                clusters.push(name);
            }
        }
        clusters.sort();
        Ok(clusters)
    }

    /// Copies the current files of `cluster` into a new `backup-<YYYYMMDDTHHMMSSZ>`
    /// directory inside the cluster directory and returns it. The originals stay in
    /// place, so a rotation that fails afterwards leaves the cluster as it was.
    pub fn backup_intermediate(&self, cluster: &str) -> Result<PathBuf> {
        let dir = self.cluster_dir(cluster)?;
        backup_files(&dir, &[CA_CERT, CA_KEY, ROOT_CERT, CERT_CHAIN])?.ok_or_else(|| Error::Missing {
            path: dir.join(CA_CERT),
        })
    }

    /// Copies the current root (certificate and key) into a new `backup-<YYYYMMDDTHHMMSSZ>`
    /// directory beside them and returns it; `None` when there is no root. The originals stay
    /// in place: a root replaced with `--force` can be brought back, and the intermediates it
    /// signed re-issued from it.
    pub fn backup_root(&self) -> Result<Option<PathBuf>> {
        backup_files(&self.path, &[ROOT_CERT, ROOT_KEY])
    }

    /// Rotation: backs up the current files of `cluster`, then replaces them with `int`.
    /// Returns the backup directory.
    pub fn rotate_intermediate(&self, cluster: &str, int: &Intermediate) -> Result<PathBuf> {
        let backup = self.backup_intermediate(cluster)?;
        self.write_intermediate(cluster, int, true)?;
        Ok(backup)
    }

    /// The backup directories of `cluster`, oldest first.
    pub fn backups(&self, cluster: &str) -> Result<Vec<PathBuf>> {
        let dir = self.cluster_dir(cluster)?;
        let entries = match fs::read_dir(&dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.map_err(|e| Error::io(&dir, e))?,
        };
        let mut backups = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            if entry.file_name().to_string_lossy().starts_with(BACKUP_PREFIX) && entry.path().is_dir() {
                backups.push(entry.path());
            }
        }
        // The timestamp format sorts chronologically as text.
        backups.sort();
        Ok(backups)
    }
}

/// Writes `contents` to `path` so that only its owner can read it: the file is 0600 and
/// its folder 0700, whatever the umask. The rule of the key files above, for any other
/// secret kubectl-mesh writes (a Secret's manifest, Helm values that hold a token).
///
/// - The folder holding `path` is created if it is missing (missing parents too, each
///   0700) and set to 0700 if it exists, so give it a folder meant for such files; the
///   folders above it are left as they are. A bare file name is refused
///   ([`ErrorKind::InvalidInput`]) rather than making the current directory private.
/// - Atomic: the bytes go to a temporary file beside `path`, created 0600 (never readable
///   by others, not even for a moment) and synced, which is then renamed over `path`. A
///   reader sees the old file or the new one, never a part of either, and a failure leaves
///   no temporary file behind.
/// - An existing file is replaced, with no `force` check (unlike [`CertsDir`]'s writers);
///   a symlink at `path` is replaced, not followed.
///
/// The error is the bare [`std::io::Error`], as from [`std::fs::write`]: the caller names
/// the path.
pub fn write_private(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> std::io::Result<()> {
    let path = path.as_ref();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => {
            return Err(std::io::Error::new(
                ErrorKind::InvalidInput,
                "a private file needs a folder of its own: give a path with its folder",
            ))
        }
    };
    let files = [(path.to_path_buf(), contents.as_ref(), KEY_MODE)];
    ensure_private_dir(dir)
        .and_then(|()| write_all_atomically(&files))
        .map_err(|e| match e {
            Error::Io { source, .. } => source,
            // Not reached: creating folders and writing files fail only with Error::Io.
            other => std::io::Error::other(other.to_string()),
        })
}

fn read_intermediate_in(dir: &Path) -> Result<Intermediate> {
    let read_certs = |name: &str| -> Result<String> {
        let path = dir.join(name);
        let text = read_pem_file(&path)?;
        pem::cert_ders(&text, &path.display().to_string())?;
        Ok(text)
    };
    let key_path = dir.join(CA_KEY);
    let ca_key = PrivateKeyPem::new(read_pem_file(&key_path)?);
    keys::parse(&ca_key, &key_path.display().to_string())?;
    Ok(Intermediate {
        ca_cert: read_certs(CA_CERT)?,
        ca_key,
        root_cert: read_certs(ROOT_CERT)?,
        cert_chain: read_certs(CERT_CHAIN)?,
    })
}

/// Copies those of `names` that are in `folder` into a new `backup-<YYYYMMDDTHHMMSSZ>`
/// folder inside it and returns that; `None` when none of them is there.
fn backup_files(folder: &Path, names: &[&str]) -> Result<Option<PathBuf>> {
    let present: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| exists(&folder.join(n)))
        .collect();
    if present.is_empty() {
        return Ok(None);
    }
    let contents = present
        .iter()
        .map(|name| read_pem_file(&folder.join(name)).map(|text| (*name, PrivateKeyPem::new(text))))
        .collect::<Result<Vec<_>>>()?;
    let backup = create_backup_dir(folder, OffsetDateTime::now_utc())?;
    // Everything goes through PrivateKeyPem so the key's copy is wiped too.
    let files: Vec<_> = contents
        .iter()
        .map(|(name, text)| (backup.join(name), text.expose().as_bytes(), mode_for(name)))
        .collect();
    write_all_atomically(&files)?;
    Ok(Some(backup))
}

fn mode_for(name: &str) -> u32 {
    if name.ends_with("-key.pem") {
        KEY_MODE
    } else {
        CERT_MODE
    }
}

fn exists(path: &Path) -> bool {
    // symlink_metadata: a dangling symlink is still something we would overwrite.
    fs::symlink_metadata(path).is_ok()
}

fn refuse_existing(files: &[FileToWrite<'_>], force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    let paths: Vec<PathBuf> = files
        .iter()
        .map(|(p, _, _)| p.clone())
        .filter(|p| exists(p))
        .collect();
    if paths.is_empty() {
        Ok(())
    } else {
        Err(Error::Exists { paths })
    }
}

fn nearest_existing(path: &Path) -> PathBuf {
    let mut candidate = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    loop {
        if exists(candidate) {
            return candidate.to_path_buf();
        }
        match candidate.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => candidate = parent,
            _ => return PathBuf::from("."),
        }
    }
}

/// Creates `dir` (and missing parents) as 0700, and tightens an existing one to 0700:
/// the directory holds private keys and is ours by construction.
fn ensure_private_dir(dir: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(|e| Error::io(dir, e))
}

fn create_backup_dir(cluster_dir: &Path, now: OffsetDateTime) -> Result<PathBuf> {
    let stamp = format!(
        "{BACKUP_PREFIX}{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    // Two rotations within a second get -1, -2, ... rather than sharing a backup.
    for n in 0..1000 {
        let path = if n == 0 {
            cluster_dir.join(&stamp)
        } else {
            cluster_dir.join(format!("{stamp}-{n}"))
        };
        match DirBuilder::new().mode(DIR_MODE).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::io(
        cluster_dir,
        std::io::Error::new(ErrorKind::AlreadyExists, "too many backups in one second"),
    ))
}

fn next_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// A temporary file beside its destination; removed on drop unless renamed into place.
struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn stage(dest: &Path, contents: &[u8], mode: u32) -> Result<Staged> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}-{}", std::process::id(), next_id()));
    // Created with the final mode, so a key is never readable by others, not even briefly.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    let staged = Staged {
        tmp,
        dest: dest.to_path_buf(),
        committed: false,
    };
    write_and_sync(&mut file, contents, mode).map_err(|e| Error::io(&staged.tmp, e))?;
    Ok(staged)
}

fn write_and_sync(file: &mut File, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    file.write_all(bytes)?;
    // The umask may have narrowed the mode at creation; certificates are meant to be 0644.
    file.set_permissions(Permissions::from_mode(mode))?;
    file.sync_all()
}

/// Stages every file first, then renames them all: a failure while staging leaves the
/// destinations untouched and no temporary file behind.
fn write_all_atomically(files: &[FileToWrite<'_>]) -> Result<()> {
    let mut staged = Vec::with_capacity(files.len());
    for (dest, contents, mode) in files {
        staged.push(stage(dest, contents, *mode)?);
    }
    for s in &mut staged {
        fs::rename(&s.tmp, &s.dest).map_err(|e| Error::io(&s.dest, e))?;
        s.committed = true;
    }
    sync_parent_dirs(files)
}

/// Makes the renames durable.
fn sync_parent_dirs(files: &[FileToWrite<'_>]) -> Result<()> {
    let mut dirs: Vec<&Path> = files.iter().filter_map(|(p, _, _)| p.parent()).collect();
    dirs.dedup();
    for dir in dirs {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}
