//! Dynamic shell completion, answered by the hidden `kubectl-mesh __complete <words>...`.
//!
//! The protocol is kubectl's plugin completion (kubectl ≥ 1.26), which is cobra's: for
//! `kubectl mesh expose --fla<TAB>` kubectl runs the executable `kubectl_complete-mesh-expose`
//! (or `kubectl_complete-mesh` when no `kubectl-mesh-expose` is on PATH, with `expose` as first
//! argument) with the words after the plugin name, the last one being the word under the cursor
//! (empty for a new word). The answer on stdout is one candidate per line, optionally
//! `candidate\tdescription`, and a last line `:<directive>` (cobra's ShellCompDirective bits).
//! The scripts in completions/ call `kubectl-mesh __complete [<subcommand>] "$@"`.
//!
//! The candidates come from the clap definition itself (subcommands, flags, possible values),
//! plus dynamic values: kubeconfig context names and cluster directories under `--dir`.

pub mod man;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::{Arg, Command};

/// cobra's ShellCompDirective bits.
pub mod directive {
    /// Complete file names when there are no candidates.
    pub const DEFAULT: u32 = 0;
    pub const NO_SPACE: u32 = 2;
    pub const NO_FILE_COMP: u32 = 4;
    pub const FILTER_DIRS: u32 = 16;
}

/// The answer to one completion request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Completions {
    /// `value` or `value\tdescription`, each one line.
    pub candidates: Vec<String>,
    pub directive: u32,
}

impl Completions {
    fn none() -> Self {
        Completions {
            candidates: Vec::new(),
            directive: directive::NO_FILE_COMP,
        }
    }

    /// The lines kubectl (and cobra's shell scripts) read.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for candidate in &self.candidates {
            out.push_str(candidate);
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// `kubectl-mesh __complete <words>...`: prints the candidates for the last word.
pub fn main(words: &[String]) -> std::process::ExitCode {
    let completions = complete(&crate::command(), words);
    crate::output::print(&completions.render());
    std::process::ExitCode::SUCCESS
}

/// What the words before the cursor said.
struct Walk<'a> {
    /// The innermost subcommand, and the names leading to it.
    command: &'a Command,
    path: Vec<String>,
    /// The flag whose value the cursor word is, when the previous word was that flag.
    pending: Option<&'a Arg>,
    /// Flags given so far in `command` (ids), and their last values.
    seen: Vec<(String, Option<String>)>,
    positionals: usize,
    after_double_dash: bool,
}

/// Candidates for the last of `words` (the words after `kubectl mesh`).
pub fn complete(root: &Command, words: &[String]) -> Completions {
    let mut root = root.clone();
    root.build();
    let (current, before) = match words.split_last() {
        Some((last, before)) => (last.as_str(), before),
        None => ("", &[][..]),
    };
    let walk = walk(&root, before);
    if let Some(arg) = walk.pending {
        return values(&walk, arg, current, "");
    }
    if !walk.after_double_dash && current.starts_with("--") {
        if let Some((name, value)) = current.split_once('=') {
            return match find_long(walk.command, &name[2..]) {
                Some(arg) if takes_value(arg) => values(&walk, arg, value, &format!("{name}=")),
                _ => Completions::none(),
            };
        }
    }
    if !walk.after_double_dash && current.starts_with('-') {
        return flags(&walk, current);
    }
    let mut candidates = Vec::new();
    if walk.positionals == 0 && !walk.after_double_dash {
        for sub in walk.command.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name().starts_with(current) {
                candidates.push(described(sub.get_name(), sub.get_about().map(|a| a.to_string())));
            }
        }
    }
    if let Some(arg) = walk.command.get_positionals().nth(walk.positionals) {
        candidates.extend(values(&walk, arg, current, "").candidates);
    }
    Completions {
        candidates,
        directive: directive::NO_FILE_COMP,
    }
}

fn walk<'a>(root: &'a Command, words: &[String]) -> Walk<'a> {
    let mut walk = Walk {
        command: root,
        path: Vec::new(),
        pending: None,
        seen: Vec::new(),
        positionals: 0,
        after_double_dash: false,
    };
    for word in words {
        if let Some(arg) = walk.pending.take() {
            walk.seen.push((arg.get_id().to_string(), Some(word.clone())));
            continue;
        }
        if walk.after_double_dash {
            walk.positionals += 1;
        } else if word == "--" {
            walk.after_double_dash = true;
        } else if let Some(long) = word.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            if let Some(arg) = find_long(walk.command, name) {
                if value.is_none() && takes_value(arg) && !arg.is_require_equals_set() {
                    walk.pending = Some(arg);
                } else {
                    walk.seen.push((arg.get_id().to_string(), value));
                }
            }
        } else if word.len() > 1 && word.starts_with('-') {
            // A cluster of short flags (-vv), or one with its value (-oyaml, -n ns).
            for (i, c) in word.char_indices().skip(1) {
                let Some(arg) = walk.command.get_arguments().find(|a| a.get_short() == Some(c)) else {
                    break;
                };
                if takes_value(arg) {
                    let rest = &word[i + c.len_utf8()..];
                    if rest.is_empty() {
                        walk.pending = Some(arg);
                    } else {
                        let rest = rest.strip_prefix('=').unwrap_or(rest);
                        walk.seen.push((arg.get_id().to_string(), Some(rest.to_string())));
                    }
                    break;
                }
                walk.seen.push((arg.get_id().to_string(), None));
            }
        } else if let Some(sub) = (walk.positionals == 0)
            .then(|| walk.command.find_subcommand(word))
            .flatten()
        {
            walk.command = sub;
            walk.path.push(sub.get_name().to_string());
            walk.seen.clear();
        } else {
            walk.positionals += 1;
        }
    }
    walk
}

fn find_long<'a>(command: &'a Command, name: &str) -> Option<&'a Arg> {
    command
        .get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name)))
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

fn described(value: &str, help: Option<String>) -> String {
    match help {
        Some(help) if !help.is_empty() => {
            // One line: the first line of the help, as cobra shows it.
            let first = help.lines().next().unwrap_or_default();
            format!("{value}\t{first}")
        }
        _ => value.to_string(),
    }
}

/// Flag names of the current command that start with `current`.
fn flags(walk: &Walk, current: &str) -> Completions {
    let mut candidates = Vec::new();
    for arg in walk.command.get_arguments().filter(|a| !a.is_hide_set()) {
        let repeatable = matches!(
            arg.get_action(),
            clap::ArgAction::Append | clap::ArgAction::Count | clap::ArgAction::Help
        );
        let given = walk.seen.iter().any(|(id, _)| id == arg.get_id().as_str());
        if given && !repeatable {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string());
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if flag.starts_with(current) {
                candidates.push(described(&flag, help.clone()));
            }
        }
        if current == "-" {
            if let Some(short) = arg.get_short() {
                candidates.push(described(&format!("-{short}"), help));
            }
        }
    }
    Completions {
        candidates,
        directive: directive::NO_FILE_COMP,
    }
}

/// Values of `arg` that start with `current`, each written after `prefix` (`--flag=`).
fn values(walk: &Walk, arg: &Arg, current: &str, prefix: &str) -> Completions {
    let long = arg.get_long().unwrap_or_default();
    let in_certs = walk.path.first().map(String::as_str) == Some("certs");
    let list = arg.get_value_delimiter().is_some();
    let (done, last) = match list {
        true => match current.rfind(',') {
            Some(i) => current.split_at(i + 1),
            None => ("", current),
        },
        false => ("", current),
    };
    let already: BTreeSet<&str> = done
        .split(',')
        .map(|e| e.rsplit('=').next().unwrap_or(e))
        .filter(|e| !e.is_empty())
        .collect();
    let names: Vec<String> = match long {
        // `--hub` takes cluster names, which are the contexts' unless `--contexts` renames them.
        "context" | "contexts" | "from" | "to" | "primary" | "remotes" | "apply-to" | "hub" => {
            // `[NAME=]CONTEXT`: complete the context after the `=`.
            if let Some((name, context)) = last.split_once('=') {
                let head = format!("{prefix}{done}{name}=");
                let candidates = contexts(walk)
                    .into_iter()
                    .filter(|c| c.starts_with(context))
                    .map(|c| format!("{head}{c}"))
                    .collect();
                return Completions {
                    candidates,
                    directive: directive::NO_FILE_COMP | if list { directive::NO_SPACE } else { 0 },
                };
            }
            contexts(walk)
        }
        "cluster" | "clusters" if in_certs => {
            let mut names = cluster_dirs(walk);
            if walk.path.get(1).map(String::as_str) == Some("generate") {
                // New clusters are named after their contexts, usually.
                names.extend(contexts(walk));
                names.sort();
                names.dedup();
            }
            names
        }
        _ => {
            let possible = arg.get_possible_values();
            if possible.is_empty() {
                let directive = match arg.get_value_names().and_then(|n| n.first()).map(|n| n.as_str()) {
                    Some("PATH") => directive::DEFAULT,
                    Some("DIR") => directive::FILTER_DIRS,
                    _ => directive::NO_FILE_COMP,
                };
                return Completions {
                    candidates: Vec::new(),
                    directive,
                };
            }
            let candidates = possible
                .iter()
                .filter(|p| !p.is_hide_set() && p.get_name().starts_with(last))
                .map(|p| {
                    described(
                        &format!("{prefix}{done}{}", p.get_name()),
                        p.get_help().map(|h| h.to_string()),
                    )
                })
                .collect();
            return Completions {
                candidates,
                directive: directive::NO_FILE_COMP,
            };
        }
    };
    let candidates = names
        .into_iter()
        .filter(|n| n.starts_with(last) && !already.contains(n.as_str()))
        .map(|n| format!("{prefix}{done}{n}"))
        .collect();
    Completions {
        candidates,
        directive: directive::NO_FILE_COMP | if list { directive::NO_SPACE } else { 0 },
    }
}

/// The last value given to flag `long` in the current command.
fn seen_value(walk: &Walk, id: &str) -> Option<String> {
    walk.seen
        .iter()
        .rev()
        .find(|(i, _)| i == id)
        .and_then(|(_, v)| v.clone())
}

/// A path as typed on the command line (the shell has not expanded `~` yet).
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The kubeconfig files kubectl would read: `--kubeconfig`, else `$KUBECONFIG`, else ~/.kube/config.
fn kubeconfig_files(walk: &Walk) -> Vec<PathBuf> {
    if let Some(path) = seen_value(walk, "kubeconfig") {
        return vec![expand_home(&path)];
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|l| !l.is_empty()) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    std::env::var_os("HOME")
        .map(|home| vec![Path::new(&home).join(".kube").join("config")])
        .unwrap_or_default()
}

/// Context names of the kubeconfig, in file order, each once. Unreadable files are skipped:
/// completion never fails.
fn contexts(walk: &Walk) -> Vec<String> {
    let mut names = Vec::new();
    for file in kubeconfig_files(walk) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        names.extend(context_names(&text));
    }
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The `contexts[].name` of one kubeconfig document.
pub fn context_names(kubeconfig: &str) -> Vec<String> {
    let Ok(doc) = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(kubeconfig) else {
        return Vec::new();
    };
    doc.get("contexts")
        .and_then(|c| c.as_sequence())
        .map(|contexts| {
            contexts
                .iter()
                .filter_map(|c| c.get("name").and_then(|n| n.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Sub-directories of `--dir` (default `certs`) holding a cluster's `ca-cert.pem`.
fn cluster_dirs(walk: &Walk) -> Vec<String> {
    let dir = seen_value(walk, "dir").map_or_else(|| PathBuf::from("certs"), |d| expand_home(&d));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("ca-cert.pem").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
        if line.is_empty() {
            words = vec![String::new()];
        }
        words
    }

    fn names(line: &str) -> Vec<String> {
        complete(&crate::command(), &words(line))
            .candidates
            .into_iter()
            .map(|c| c.split('\t').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn subcommands_and_flags() {
        let top = names("");
        for sub in ["expose", "link", "certs", "verify", "version", "completion"] {
            assert!(top.contains(&sub.to_string()), "{sub} in {top:?}");
        }
        assert_eq!(names("ex"), ["expose"]);
        let flags = names("expose --");
        assert!(flags.contains(&"--flavor".to_string()), "{flags:?}");
        assert!(flags.contains(&"--contexts".to_string()), "{flags:?}");
        assert!(!names("expose --generate --").contains(&"--generate".to_string()));
        assert!(names("certs ").contains(&"generate".to_string()));
    }

    #[test]
    fn possible_values() {
        assert_eq!(names("expose --flavor s"), ["sidecar"]);
        assert_eq!(names("expose --flavor=s"), ["--flavor=sidecar"]);
        assert_eq!(names("link -o j"), ["json"]);
        assert_eq!(names("completion z"), ["zsh"]);
        assert_eq!(names("expose --dry-run=s"), ["--dry-run=server"]);
    }

    #[test]
    fn kubeconfig_contexts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: east-1\n  context: {cluster: a}\n- name: west-1\n  context: {cluster: b}\n",
        )
        .unwrap();
        let kc = file.to_str().unwrap();
        assert_eq!(
            names(&format!("expose --kubeconfig {kc} --context ")),
            ["east-1", "west-1"]
        );
        assert_eq!(
            names(&format!("link --kubeconfig={kc} --contexts east-1,")),
            ["east-1,west-1"]
        );
        assert_eq!(
            names(&format!("link --kubeconfig {kc} --contexts e1=e")),
            ["e1=east-1"]
        );
        let c = complete(
            &crate::command(),
            &words(&format!("link --kubeconfig {kc} --to w")),
        );
        assert_eq!(c.directive, directive::NO_FILE_COMP | directive::NO_SPACE);
    }

    #[test]
    fn cluster_directories() {
        let dir = tempfile::tempdir().unwrap();
        for (name, ca) in [("east-1", true), ("west-1", true), ("junk", false)] {
            std::fs::create_dir_all(dir.path().join(name)).unwrap();
            if ca {
                std::fs::write(dir.path().join(name).join("ca-cert.pem"), "x").unwrap();
            }
        }
        let d = dir.path().to_str().unwrap();
        assert_eq!(
            names(&format!("certs rotate --dir {d} --cluster ")),
            ["east-1", "west-1"]
        );
        assert_eq!(
            names(&format!("certs secret --dir {d} --clusters west-1,")),
            ["west-1,east-1"]
        );
    }
}
