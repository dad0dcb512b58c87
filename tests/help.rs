//! Help: every command and flag explains itself in one line, every subcommand shows examples
//! from the real flow, `kubectl mesh` alone prints the flow, `version` prints version and commit.

mod common;

use clap::Command;
use common::with_istio;

/// Every visible argument and subcommand under `command` without help text, as paths.
fn undocumented(command: &Command, path: &str, missing: &mut Vec<String>) {
    for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        if help.trim().is_empty() {
            missing.push(format!(
                "{path} {}",
                arg.get_long()
                    .map_or(arg.get_id().to_string(), |l| format!("--{l}"))
            ));
        } else if help.trim().contains('\n') {
            missing.push(format!("{path} {} (more than one line)", arg.get_id()));
        }
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_path = format!("{path} {}", sub.get_name());
        if sub.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
            missing.push(sub_path.clone());
        }
        undocumented(sub, &sub_path, missing);
    }
}

#[test]
fn every_command_and_flag_has_one_line_of_help() {
    let mut command = kubectl_mesh_cli::command();
    command.build();
    let mut missing = Vec::new();
    undocumented(&command, "kubectl mesh", &mut missing);
    assert!(missing.is_empty(), "without help text:\n{}", missing.join("\n"));
}

#[test]
fn every_subcommand_has_examples() {
    let mut command = kubectl_mesh_cli::command();
    command.build();
    let mut missing = Vec::new();
    for sub in command
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let after = sub.get_after_help().map(|h| h.to_string()).unwrap_or_default();
        let examples = after.split("Examples:").nth(1).unwrap_or_default();
        // At least one example line, which is a real `kubectl mesh` command.
        if !examples
            .lines()
            .any(|l| l.trim_start().starts_with("kubectl mesh "))
        {
            missing.push(sub.get_name().to_string());
        }
    }
    assert!(missing.is_empty(), "without an Examples: section: {missing:?}");
}

#[test]
fn help_through_kubectl_shows_examples() {
    let env = with_istio(&[]);
    for sub in ["expose", "link", "certs", "verify"] {
        // kubectl runs kubectl-mesh-<sub> for these.
        let run = env.kubectl(&["mesh", sub, "--help"]).success();
        assert!(
            run.stdout.contains("Examples:"),
            "kubectl mesh {sub} --help:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("kubectl mesh {sub}")),
            "{}",
            run.stdout
        );
    }
    let run = env.kubectl(&["mesh", "completion", "--help"]).success();
    assert!(run.stdout.contains("Examples:"), "{}", run.stdout);
}

#[test]
fn kubectl_mesh_alone_prints_the_flow() {
    let env = with_istio(&[]);
    let run = env.kubectl(&["mesh"]).success();
    let position = |step: &str| {
        run.stdout
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing from:\n{}", run.stdout))
    };
    let steps = [
        "kubectl mesh certs generate",
        "kubectl mesh certs secret",
        "kubectl mesh expose",
        "kubectl mesh link",
        "kubectl mesh verify",
    ];
    let positions: Vec<usize> = steps.iter().map(|s| position(s)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "in flow order:\n{}",
        run.stdout
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn version_prints_version_and_commit() {
    let env = with_istio(&[]);
    let run = env.kubectl(&["mesh", "version"]).success();
    let expected = format!("kubectl-mesh {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(run.stdout.starts_with(&expected), "{}", run.stdout);
    // The commit the build script reads from git ("unknown" only outside a git checkout;
    // tests/krew.rs checks it is exactly HEAD).
    let commit = run
        .stdout
        .trim()
        .strip_prefix(&expected)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap();
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.mesh(&["--version"]).success().stdout.trim(),
        format!("kubectl-mesh {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn force_says_what_it_replaces_in_clusters() {
    let env = with_istio(&[]);
    let run = env.mesh(&["certs", "rotate", "--help"]).success();
    let text = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("replace a live cacerts Secret signed by another root"),
        "{}",
        run.stdout
    );
    assert!(text.contains("istiod must restart"), "{}", run.stdout);
}
