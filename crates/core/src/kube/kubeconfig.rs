//! Loading kubeconfig files the way kubectl does: `--kubeconfig PATH`, else every file of the
//! `:`-separated `$KUBECONFIG` list merged (first value wins), else `~/.kube/config`.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use crate::InputError;

/// A merged kubeconfig and where it came from (for error messages).
#[derive(Clone)]
pub struct LoadedKubeconfig {
    pub config: Kubeconfig,
    pub sources: Vec<PathBuf>,
}

/// Only the files: the kubeconfig itself holds credentials, which are never printed.
impl std::fmt::Debug for LoadedKubeconfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedKubeconfig")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl LoadedKubeconfig {
    /// Loads from an explicit path, `$KUBECONFIG`, or the default location.
    pub fn load(explicit: Option<&Path>) -> Result<Self, InputError> {
        if let Some(path) = explicit {
            return Self::from_files(&[path.to_path_buf()], true);
        }
        if let Some(value) = std::env::var_os("KUBECONFIG") {
            let paths: Vec<PathBuf> = std::env::split_paths(&value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            if !paths.is_empty() {
                // Like kubectl, files of the list that do not exist are skipped.
                return Self::from_files(&paths, false);
            }
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        Self::from_files(&[home.join(".kube").join("config")], true)
    }

    fn from_files(paths: &[PathBuf], must_exist: bool) -> Result<Self, InputError> {
        let mut merged: Option<Kubeconfig> = None;
        let mut sources = Vec::new();
        for path in paths {
            if !path.exists() {
                if must_exist {
                    return Err(
                        InputError::new(format!("kubeconfig {} does not exist", path.display()))
                            .with_hint("pass --kubeconfig with an existing file, or set KUBECONFIG"),
                    );
                }
                continue;
            }
            let config = read_file(path)?;
            sources.push(path.clone());
            merged = Some(match merged {
                Some(m) => m.merge(config).map_err(|e| {
                    InputError::new(format!("cannot merge kubeconfig {}: {e}", path.display()))
                })?,
                None => config,
            });
        }
        let Some(config) = merged else {
            return Err(
                InputError::new("no kubeconfig found: none of the files in KUBECONFIG exists")
                    .with_hint("pass --kubeconfig PATH, or fix KUBECONFIG"),
            );
        };
        Ok(LoadedKubeconfig { config, sources })
    }

    pub fn context_names(&self) -> Vec<String> {
        self.config.contexts.iter().map(|c| c.name.clone()).collect()
    }

    pub fn current_context(&self) -> Option<&str> {
        self.config.current_context.as_deref().filter(|c| !c.is_empty())
    }

    pub fn has_context(&self, name: &str) -> bool {
        self.config.contexts.iter().any(|c| c.name == name)
    }

    /// An error for a context that is not in the kubeconfig, listing those that are.
    pub fn unknown_context(&self, name: &str) -> InputError {
        let known = self.context_names();
        let files: Vec<String> = self.sources.iter().map(|p| p.display().to_string()).collect();
        let hint = if known.is_empty() {
            "the kubeconfig has no contexts; create one with `kubectl config set-context`".to_string()
        } else {
            format!("known contexts: {}", known.join(", "))
        };
        InputError::new(format!(
            "context {name:?} not found in kubeconfig {}",
            files.join(":")
        ))
        .with_hint(hint)
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::new(format!("cannot read kubeconfig {}: {e}", path.display()))
            .with_hint("check the path and its permissions")
    })?;
    // Parse once here for a clear error; kube's reader then remaps relative file references.
    Kubeconfig::from_yaml(&text).map_err(|e| malformed(path, &e))?;
    let config = Kubeconfig::read_from(path).map_err(|e| malformed(path, &e))?;
    refuse_duplicates(path, &config)?;
    Ok(config)
}

/// One file naming a context, cluster or user twice is an error for kubectl (client-go's
/// `clientcmd/api/v1/conversion.go`: "duplicate name ... in list"): which one would be meant?
/// Across the files of `$KUBECONFIG`, the first one wins instead (merged above).
fn refuse_duplicates(path: &Path, config: &Kubeconfig) -> Result<(), InputError> {
    let lists: [(&str, Vec<&str>); 3] = [
        (
            "context",
            config.contexts.iter().map(|c| c.name.as_str()).collect(),
        ),
        (
            "cluster",
            config.clusters.iter().map(|c| c.name.as_str()).collect(),
        ),
        (
            "user",
            config.auth_infos.iter().map(|u| u.name.as_str()).collect(),
        ),
    ];
    for (what, names) in lists {
        if let Some(dup) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
            return Err(malformed(path, &format!("duplicate {what} name {:?}", dup.1)));
        }
    }
    Ok(())
}

fn malformed(path: &Path, error: &dyn std::fmt::Display) -> InputError {
    InputError::new(format!("kubeconfig {} is not valid: {error}", path.display()))
        .with_hint("fix the file, or point --kubeconfig / KUBECONFIG at a valid one (`kubectl config view` shows what kubectl reads)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: a
  user: {token: secret-a}
contexts:
- name: a
  context: {cluster: a, user: a}
"#;

    #[test]
    fn merges_files_first_wins() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("one");
        let second = dir.path().join("two");
        std::fs::write(&first, ONE).unwrap();
        std::fs::write(
            &second,
            ONE.replace("current-context: a", "current-context: b")
                .replace("name: a", "name: b")
                .replace("cluster: a", "cluster: b")
                .replace("user: a", "user: b"),
        )
        .unwrap();
        let loaded =
            LoadedKubeconfig::from_files(&[first, dir.path().join("missing"), second], false).unwrap();
        assert_eq!(loaded.context_names(), vec!["a", "b"]);
        assert_eq!(loaded.current_context(), Some("a"));
    }

    #[test]
    fn explains_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        std::fs::write(&path, "clusters: [unclosed").unwrap();
        let err = LoadedKubeconfig::from_files(std::slice::from_ref(&path), true)
            .err()
            .unwrap();
        assert!(err.message.contains("is not valid"), "{err}");
        let err = LoadedKubeconfig::from_files(&[dir.path().join("nope")], true)
            .err()
            .unwrap();
        assert!(err.message.contains("does not exist"), "{err}");
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn unknown_context_lists_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, ONE).unwrap();
        let loaded = LoadedKubeconfig::from_files(&[path], true).unwrap();
        let err = loaded.unknown_context("zz");
        assert!(err.to_string().contains("known contexts: a"), "{err}");
    }
}
