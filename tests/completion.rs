//! Shell completion: the committed scripts in completions/ match what `kubectl mesh completion`
//! prints (UPDATE_COMPLETIONS=1 rewrites them), and `kubectl mesh <TAB>` works through the real
//! kubectl's plugin completion (`kubectl __complete mesh ...` runs `kubectl_complete-mesh*` from
//! PATH, which call `kubectl-mesh __complete`).

mod common;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{bin_dir, with_istio, Env};

const SHELLS: [(&str, &str); 4] = [
    ("bash", "kubectl-mesh.bash"),
    ("zsh", "_kubectl-mesh"),
    ("fish", "kubectl-mesh.fish"),
    ("powershell", "_kubectl-mesh.ps1"),
];

/// One completion script per plugin binary: kubectl asks `kubectl_complete-mesh-expose` when
/// `kubectl-mesh-expose` is on PATH, `kubectl_complete-mesh` otherwise.
const KUBECTL_SCRIPTS: [&str; 5] = [
    "kubectl_complete-mesh",
    "kubectl_complete-mesh-expose",
    "kubectl_complete-mesh-link",
    "kubectl_complete-mesh-certs",
    "kubectl_complete-mesh-verify",
];

fn completions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("completions")
}

#[test]
fn committed_scripts_are_up_to_date() {
    let env = with_istio(&[]);
    let update = std::env::var_os("UPDATE_COMPLETIONS").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for (shell, file) in SHELLS {
        let script = env.mesh(&["completion", shell]).success().stdout;
        assert!(script.contains("kubectl-mesh"), "{shell}: {script}");
        let path = completions_dir().join(file);
        if update {
            std::fs::write(&path, &script).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(script.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions/{stale:?} differ from `kubectl mesh completion`: run \
         UPDATE_COMPLETIONS=1 cargo test --test completion"
    );
    for script in KUBECTL_SCRIPTS {
        let path = completions_dir().join(script);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{script}: {e}"))
            .permissions()
            .mode();
        assert!(mode & 0o111 == 0o111, "{script} is executable");
        let text = std::fs::read_to_string(&path).unwrap();
        let sub = script
            .strip_prefix("kubectl_complete-mesh")
            .unwrap()
            .trim_start_matches('-');
        let call = format!(
            "exec kubectl-mesh __complete{}{sub} \"$@\"",
            if sub.is_empty() { "" } else { " " }
        );
        assert!(text.contains(&call), "{script} calls `{call}`:\n{text}");
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let env = with_istio(&[]);
    env.mesh(&["completion", "tcsh"]).code(2);
}

/// What `kubectl __complete` answered: the candidates (without descriptions) and the directive.
struct Answer {
    values: Vec<String>,
    directive: u32,
    stdout: String,
}

impl Answer {
    #[track_caller]
    fn has(&self, expected: &[&str]) -> &Self {
        for value in expected {
            assert!(
                self.values.iter().any(|v| v == value),
                "{value} missing from:\n{}",
                self.stdout
            );
        }
        self
    }

    #[track_caller]
    fn lacks(&self, unexpected: &[&str]) -> &Self {
        for value in unexpected {
            assert!(
                !self.values.iter().any(|v| v == value),
                "{value} unexpected in:\n{}",
                self.stdout
            );
        }
        self
    }
}

/// The real kubectl with `path` first on PATH, in `env`'s directory, with its kubeconfig.
fn kubectl_complete(env: &Env, path: &[PathBuf], words: &[&str]) -> Answer {
    let mut paths = path.to_vec();
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let output = Command::new("kubectl")
        .arg("__complete")
        .arg("mesh")
        .args(words)
        .current_dir(env.dir.path())
        .env("PATH", std::env::join_paths(paths).unwrap())
        .env("KUBECONFIG", &env.kubeconfig)
        .env("HOME", env.dir.path())
        .env("KUBECACHEDIR", env.dir.path().join("kube-cache"))
        .stdin(Stdio::null())
        .output()
        .expect("kubectl runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "kubectl __complete mesh {words:?}: {stdout}"
    );
    let mut lines: Vec<&str> = stdout.lines().collect();
    let directive = lines
        .pop()
        .and_then(|l| l.strip_prefix(':'))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no directive line:\n{stdout}"));
    let values = lines
        .iter()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    Answer {
        values,
        directive,
        stdout,
    }
}

/// A directory holding the kubectl_complete-mesh* scripts (as installed next to the binaries).
fn scripts_dir(env: &Env) -> PathBuf {
    let dir = env.dir.path().join("completion-bin");
    std::fs::create_dir_all(&dir).unwrap();
    for script in KUBECTL_SCRIPTS {
        let to = dir.join(script);
        std::fs::copy(completions_dir().join(script), &to).unwrap();
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

const NO_SPACE: u32 = 2;
const NO_FILE_COMP: u32 = 4;

#[test]
fn kubectl_completes_the_plugin() {
    let env = with_istio(&["a", "b", "c"]);
    let path = [bin_dir(), scripts_dir(&env)];
    let complete = |words: &[&str]| kubectl_complete(&env, &path, words);

    complete(&[""]).has(&["expose", "link", "certs", "verify", "version", "completion"]);
    complete(&["ce"]).has(&["certs"]).lacks(&["expose"]);
    complete(&["certs", ""]).has(&["root", "intermediate", "generate", "secret", "inspect", "rotate"]);

    let flags = complete(&["expose", "--"]);
    flags.has(&[
        "--flavor",
        "--network",
        "--generate",
        "--wait",
        "--contexts",
        "--context",
        "--kubeconfig",
        "--dry-run",
        "--output",
    ]);
    assert_eq!(flags.directive, NO_FILE_COMP);
    complete(&["expose", "--generate", "--ge"]).lacks(&["--generate"]);

    // Context names from the kubeconfig, the last element of a comma list.
    let contexts = complete(&["expose", "--contexts", "a,"]);
    contexts.has(&["a,b", "a,c"]).lacks(&["a,a"]);
    assert_eq!(contexts.directive, NO_FILE_COMP | NO_SPACE);
    complete(&["link", "--from", ""]).has(&["a", "b", "c"]);
    complete(&["link", "--contexts", "east=b,west=c"]).has(&["east=b,west=c"]);
    complete(&["expose", "--context="]).has(&["--context=a", "--context=b", "--context=c"]);

    // Flavours and output formats.
    let flavors = complete(&["expose", "--flavor", ""]);
    flavors.has(&["ambient-peering", "ambient", "sidecar"]);
    assert_eq!(flavors.values.len(), 3, "{}", flavors.stdout);
    complete(&["link", "--flavor", "s"])
        .has(&["sidecar"])
        .lacks(&["ambient"]);
    complete(&["verify", "-o", ""]).has(&["table", "yaml", "json"]);
    complete(&["completion", ""]).has(&["bash", "zsh", "fish", "powershell"]);

    // Cluster names: the directories of --dir (default certs) with a ca-cert.pem.
    for (dir, cluster) in [("certs", "east-1"), ("certs", "west-1"), ("other", "x")] {
        let d = env.dir.path().join(dir).join(cluster);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("ca-cert.pem"), "").unwrap();
    }
    std::fs::create_dir_all(env.dir.path().join("certs/not-a-cluster")).unwrap();
    complete(&["certs", "rotate", "--cluster", ""])
        .has(&["east-1", "west-1"])
        .lacks(&["not-a-cluster"]);
    complete(&["certs", "secret", "--dir", "other", "--clusters", ""])
        .has(&["x"])
        .lacks(&["east-1"]);
    complete(&["certs", "secret", "--clusters", "west-1,"]).has(&["west-1,east-1"]);
}

#[test]
fn kubeconfig_flag_and_env_choose_the_contexts() {
    let env = with_istio(&["a", "b"]);
    let other = env.dir.path().join("other-kubeconfig");
    std::fs::write(
        &other,
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: prod-east\n  context: {cluster: x, user: y}\n",
    )
    .unwrap();
    let path = [bin_dir(), scripts_dir(&env)];
    let other_arg = other.to_str().unwrap();
    kubectl_complete(&env, &path, &["link", "--kubeconfig", other_arg, "--to", ""])
        .has(&["prod-east"])
        .lacks(&["a"]);
    kubectl_complete(
        &env,
        &path,
        &["link", &format!("--kubeconfig={other_arg}"), "--to", ""],
    )
    .has(&["prod-east"]);

    // $KUBECONFIG lists several files: their contexts are merged.
    let list: OsString = std::env::join_paths([env.kubeconfig.clone(), other.clone()]).unwrap();
    let output = Command::new(bin_dir().join("kubectl-mesh"))
        .args(["__complete", "verify", "--contexts", ""])
        .env("KUBECONFIG", &list)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    for context in ["a", "b", "prod-east"] {
        assert!(stdout.lines().any(|l| l == context), "{context} in:\n{stdout}");
    }
    assert_eq!(stdout.lines().last(), Some(":6"));
}

/// Installed by krew, only `kubectl-mesh` is on PATH: kubectl asks `kubectl_complete-mesh` for
/// everything after `kubectl mesh`, subcommand included.
#[test]
fn umbrella_alone_completes_everything() {
    let env = with_istio(&["a", "b"]);
    let bin = env.dir.path().join("krew-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(bin_dir().join("kubectl-mesh"), bin.join("kubectl-mesh")).unwrap();
    std::fs::copy(
        completions_dir().join("kubectl_complete-mesh"),
        bin.join("kubectl_complete-mesh"),
    )
    .unwrap();
    let path = [bin];
    let complete = |words: &[&str]| kubectl_complete(&env, &path, words);
    complete(&[""]).has(&["expose", "link", "certs", "verify"]);
    complete(&["expose", "--fl"]).has(&["--flavor"]);
    complete(&["link", "--contexts", "b,"]).has(&["b,a"]);
    complete(&["certs", "generate", "--key-type", "ec"]).has(&["ec-p256", "ec-p384"]);
}
