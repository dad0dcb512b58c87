//! Commands we print (hints, fixes, "next:" lines) must work when pasted into the same shell.
//! When the user passed `--kubeconfig`, every printed `kubectl ...` and `kubectl mesh <cmd>`
//! gets it too; the clusters were already named as the user named them (`name=context`).
//!
//! The core builds its hints without knowing how it was invoked, so this is done once, where
//! text leaves the process: [`localize`] on everything printed.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static KUBECONFIG: OnceLock<PathBuf> = OnceLock::new();

/// Subcommands that take `--kubeconfig` right after their name.
const CLUSTER_COMMANDS: &[&str] = &["expose", "link", "verify", "up", "down"];
/// `kubectl mesh certs <sub>` that take `--kubeconfig`.
const CERTS_CLUSTER_COMMANDS: &[&str] = &["secret", "inspect", "rotate"];

/// Records the `--kubeconfig` the user gave (the first one wins; one per process).
pub fn remember_kubeconfig(path: Option<&Path>) {
    if let Some(path) = path {
        let _ = KUBECONFIG.set(path.to_path_buf());
    }
}

/// Prints a line on stderr, localized.
pub fn eprint(line: &str) {
    eprintln!("{}", localize(line));
}

/// `text` with `--kubeconfig <path>` added to every command in it, when one was given.
pub fn localize(text: &str) -> Cow<'_, str> {
    match KUBECONFIG.get() {
        Some(path) => Cow::Owned(with_kubeconfig(text, &shell_word(&path.display().to_string()))),
        None => Cow::Borrowed(text),
    }
}

fn with_kubeconfig(text: &str, path: &str) -> String {
    let flag = format!("--kubeconfig {path}");
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(at) = find_kubectl(rest) {
        let (before, command) = rest.split_at(at);
        out.push_str(before);
        let insert_at = insertion_point(command);
        let already = command.lines().next().is_some_and(|l| l.contains("--kubeconfig"));
        match insert_at {
            Some(i) if !already => {
                out.push_str(&command[..i]);
                out.push(' ');
                out.push_str(&flag);
                rest = &command[i..];
            }
            _ => {
                out.push_str(&command[..KUBECTL.len()]);
                rest = &command[KUBECTL.len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

const KUBECTL: &str = "kubectl";

/// The next `kubectl` that starts a command (not `kubectl-mesh`, not inside another word).
fn find_kubectl(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(KUBECTL).map(|i| i + from) {
        let before_ok = text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
        let after_ok = text[i + KUBECTL.len()..].starts_with(' ');
        if before_ok && after_ok {
            return Some(i);
        }
        from = i + KUBECTL.len();
    }
    None
}

/// Where `--kubeconfig` goes in `command` (which starts with `kubectl `): after
/// `kubectl mesh <cmd>` (or `certs <sub>`) for our commands, right after `kubectl` otherwise;
/// `None` for our commands that take no kubeconfig (e.g. `certs generate`).
fn insertion_point(command: &str) -> Option<usize> {
    let words = words_with_ends(command, 4);
    match words.as_slice() {
        [_, ("mesh", _), ("certs", _), (sub, end), ..] if CERTS_CLUSTER_COMMANDS.contains(sub) => Some(*end),
        [_, ("mesh", _), (cmd, end), ..] if CLUSTER_COMMANDS.contains(cmd) => Some(*end),
        [_, ("mesh", _), ..] => None,
        _ => Some(KUBECTL.len()),
    }
}

/// The first `n` space-separated words of `text` with the byte offset where each ends; a word
/// ends at a space or at a character that cannot be part of a command word (a backtick).
fn words_with_ends(text: &str, n: usize) -> Vec<(&str, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        let word_char = !c.is_whitespace() && c != '`' && c != '"' && c != '\'';
        match (start, word_char) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                words.push((&text[s..i], i));
                start = None;
                if words.len() == n || c == '`' || c == '\n' {
                    break;
                }
            }
            _ => {}
        }
    }
    words
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str) -> String {
        with_kubeconfig(text, "/tmp/k.yaml")
    }

    #[test]
    fn our_commands_get_it_after_their_name() {
        assert_eq!(
            add("run `kubectl mesh expose --context b --wait`"),
            "run `kubectl mesh expose --kubeconfig /tmp/k.yaml --context b --wait`"
        );
        assert_eq!(
            add("kubectl mesh certs secret --contexts a"),
            "kubectl mesh certs secret --kubeconfig /tmp/k.yaml --contexts a"
        );
        assert_eq!(
            add("kubectl mesh certs generate --clusters a && kubectl mesh certs secret --contexts a"),
            "kubectl mesh certs generate --clusters a && kubectl mesh certs secret --kubeconfig /tmp/k.yaml --contexts a"
        );
    }

    #[test]
    fn kubectl_gets_it_first() {
        assert_eq!(
            add("check: kubectl --context a get ns"),
            "check: kubectl --kubeconfig /tmp/k.yaml --context a get ns"
        );
        assert_eq!(add("kubectl-mesh is fine"), "kubectl-mesh is fine");
        assert_eq!(
            add("kubectl --kubeconfig x get ns"),
            "kubectl --kubeconfig x get ns",
            "already there"
        );
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_word("/home/me/.kube/config"), "/home/me/.kube/config");
        assert_eq!(shell_word("/tmp/my config"), "'/tmp/my config'");
    }
}
