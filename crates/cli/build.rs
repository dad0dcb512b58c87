//! Sets `KUBECTL_MESH_GIT_COMMIT` for `kubectl mesh version`: the commit every build comes from,
//! `cargo build`, `cargo install --path .` and scripts/release alike (the one place it is decided).
//!
//! In order: `git rev-parse --short=12 HEAD` when the crate sits in a git work tree and git runs;
//! else `KUBECTL_MESH_GIT_COMMIT` from the environment (a packager building from an export that
//! knows its commit); else the commit `cargo package` recorded in `.cargo_vcs_info.json` (a
//! crates.io tarball); else "unknown".
//!
//! The build script reruns when HEAD moves: it watches `HEAD` and the ref HEAD names (the loose
//! ref file, or `packed-refs` and the directory a loose ref would appear in), in the repository
//! found by walking up from the crate, including a worktree's own HEAD and its common directory.
//!
//! No `-dirty` mark: edits to the work tree do not rerun this script, so the mark would describe
//! the tree as it was at the last commit or checkout, not the one the binary was built from.

use std::path::{Path, PathBuf};
use std::process::Command;

const VAR: &str = "KUBECTL_MESH_GIT_COMMIT";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={VAR}");

    if let Some(git) = GitDirs::find(&manifest_dir) {
        for path in git.watched() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let vcs_info = manifest_dir.join(".cargo_vcs_info.json");
    if vcs_info.is_file() {
        println!("cargo:rerun-if-changed={}", vcs_info.display());
    }

    let commit = git_commit(&manifest_dir)
        .or_else(|| std::env::var(VAR).ok().filter(|c| !c.trim().is_empty()))
        .or_else(|| packaged_commit(&vcs_info))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env={VAR}={}", commit.trim());
}

/// `git rev-parse --short=12 HEAD` run in the crate's directory, if git runs and answers.
fn git_commit(dir: &Path) -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !commit.is_empty() && commit.chars().all(|c| c.is_ascii_hexdigit()))
        .then_some(commit)
}

/// The `"sha1"` `cargo package` writes into `.cargo_vcs_info.json`, cut to 12 digits.
fn packaged_commit(vcs_info: &Path) -> Option<String> {
    let text = std::fs::read_to_string(vcs_info).ok()?;
    let rest = &text[text.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let sha: String = value.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    (sha.len() >= 12).then(|| sha[..12].to_string())
}

/// Where a repository keeps HEAD (`git_dir`: `.git`, or `.git/worktrees/<name>` for a worktree)
/// and its refs (`common_dir`: the same `.git` for both).
struct GitDirs {
    git_dir: PathBuf,
    common_dir: PathBuf,
}

impl GitDirs {
    /// The nearest `.git` (directory, or a worktree's/submodule's `gitdir: <path>` file) at or above `dir`.
    fn find(dir: &Path) -> Option<GitDirs> {
        let dot_git = dir.ancestors().map(|d| d.join(".git")).find(|p| p.exists())?;
        let git_dir = if dot_git.is_dir() {
            dot_git
        } else {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let target = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
            dot_git.parent()?.join(target)
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(text) => git_dir.join(text.trim()),
            Err(_) => git_dir.clone(),
        };
        let common_dir = std::fs::canonicalize(&common_dir).unwrap_or(common_dir);
        Some(GitDirs { git_dir, common_dir })
    }

    /// The files (and directories, which cargo scans whole) whose change means HEAD may have moved.
    /// Only existing paths: cargo reruns a build script every time for a path that is missing.
    fn watched(&self) -> Vec<PathBuf> {
        let head = self.git_dir.join("HEAD");
        let mut paths = vec![head.clone()];
        let Ok(text) = std::fs::read_to_string(&head) else {
            return paths;
        };
        let Some(reference) = text.trim().strip_prefix("ref:").map(str::trim) else {
            return paths; // detached: HEAD holds the commit itself
        };
        // Per-worktree refs (e.g. refs/bisect) live in the worktree's directory, the rest in the
        // common one; a ref that is not loose is in packed-refs until a commit writes it loose,
        // into a directory watched for that.
        let loose = [&self.git_dir, &self.common_dir]
            .into_iter()
            .map(|d| d.join(reference))
            .find(|p| p.is_file());
        match loose {
            Some(file) => paths.push(file),
            None => {
                let refs = self.common_dir.join("refs");
                let dir = self.common_dir.join(reference);
                let mut parents = dir.ancestors().skip(1).take_while(|d| d.starts_with(&refs));
                paths.extend(parents.find(|d| d.is_dir()).map(Path::to_path_buf));
            }
        }
        for extra in ["packed-refs", "reftable"] {
            let path = self.common_dir.join(extra);
            if path.exists() {
                paths.push(path);
            }
        }
        paths
    }
}
