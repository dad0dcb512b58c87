//! Progress on stderr: one line per cluster redrawn in place on a terminal (run under tmux, a
//! real pseudo-terminal, and read back from its screen), plain lines otherwise, and never
//! anything on stdout that would spoil `--generate | kubectl apply -f -`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin_dir, with_istio, Env};

/// A tmux server of our own (private socket), killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Tmux {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "tmux is missing: run scripts/install-test-deps"
        );
        Tmux {
            socket: dir.join("tmux.sock"),
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    }

    /// Runs `script` (sh) in a 200x50 terminal; returns the screen once it wrote `done`.
    fn screen_after(&self, env: &Env, name: &str, script: &str) -> String {
        let dir = env.dir.path();
        let done = dir.join(format!("{name}.done"));
        let path = std::env::join_paths(std::iter::once(bin_dir()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let file = dir.join(format!("{name}.sh"));
        std::fs::write(
            &file,
            format!(
                "export PATH='{}' KUBECONFIG='{}' HOME='{}' KUBECACHEDIR='{}/kube-cache'\nunset NO_COLOR RUST_LOG\ncd '{}'\n{script}\ntouch '{}'\nsleep 600\n",
                path.to_str().unwrap(),
                env.kubeconfig.display(),
                dir.display(),
                dir.display(),
                dir.display(),
                done.display()
            ),
        )
        .unwrap();
        let command = format!("sh '{}'", file.display());
        let out = self.tmux(&["new-session", "-d", "-s", name, "-x", "200", "-y", "50", &command]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let start = Instant::now();
        while !done.exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "{name} did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = self.tmux(&["capture-pane", "-p", "-t", name]);
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn lines_of<'a>(screen: &'a str, cluster: &str) -> Vec<&'a str> {
    screen
        .lines()
        .filter(|l| l.starts_with(&format!("{cluster}: ")))
        .collect()
}

#[test]
fn terminal_shows_one_line_per_cluster_updated_in_place() {
    let env = with_istio(&["a", "b", "c"]);
    for name in ["a", "b", "c"] {
        env.cluster(name)
            .set_address_delay(Some(Duration::from_millis(400)));
    }
    let tmux = Tmux::start(env.dir.path());
    // stdout to a file: the screen shows stderr only.
    let screen = tmux.screen_after(
        &env,
        "expose",
        "kubectl mesh expose --contexts a,b,c --wait=20s > report.txt; echo $? > code",
    );
    let code = std::fs::read_to_string(env.dir.path().join("code")).unwrap();
    assert_eq!(code.trim(), "0", "screen:\n{screen}");
    for cluster in ["a", "b", "c"] {
        let lines = lines_of(&screen, cluster);
        // Three events per cluster (gateway created, waiting, ready), one line on screen: the last.
        assert_eq!(lines.len(), 1, "one line for {cluster}:\n{screen}");
        assert!(
            lines[0].contains("ready at"),
            "final state of {cluster}:\n{screen}"
        );
    }
    assert!(
        !screen.contains("waiting for"),
        "waiting lines are overwritten:\n{screen}"
    );
    let report = std::fs::read_to_string(env.dir.path().join("report.txt")).unwrap();
    assert!(
        !report.contains('\x1b'),
        "no escape codes in the report:\n{report}"
    );

    // Not a terminal: the same events, one plain line each.
    let env = with_istio(&["a", "b"]);
    for name in ["a", "b"] {
        env.cluster(name)
            .set_address_delay(Some(Duration::from_millis(200)));
    }
    let run = env.mesh(&["expose", "--contexts", "a,b", "--wait=20s"]).success();
    assert!(!run.stderr.contains('\x1b'), "plain stderr:\n{}", run.stderr);
    for cluster in ["a", "b"] {
        let lines = lines_of(&run.stderr, cluster);
        assert!(
            lines.len() >= 3,
            "every event of {cluster} is a line:\n{}",
            run.stderr
        );
        assert!(lines.iter().any(|l| l.contains("waiting for")), "{}", run.stderr);
    }
}

#[test]
fn generate_piped_is_clean_yaml_with_a_terminal_stderr() {
    let env = with_istio(&["a", "b"]);
    let tmux = Tmux::start(env.dir.path());
    let screen = tmux.screen_after(
        &env,
        "generate",
        "kubectl mesh expose --generate --contexts a,b | cat > expose.yaml\n\
         kubectl mesh expose --contexts a,b --wait=20s > /dev/null\n\
         kubectl mesh link --generate --context b | cat > link.yaml\n\
         kubectl mesh certs generate --clusters a,b --key-type ec-p256 > /dev/null\n\
         kubectl mesh certs secret --generate --clusters a,b | cat > secret.yaml",
    );
    for file in ["expose.yaml", "link.yaml", "secret.yaml"] {
        let yaml = std::fs::read_to_string(env.dir.path().join(file)).unwrap();
        assert!(
            yaml.starts_with("---\n"),
            "{file} is a YAML stream:\n{yaml}\nscreen:\n{screen}"
        );
        assert!(!yaml.contains('\x1b'), "{file} has escape codes:\n{yaml}");
        let docs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&yaml)
            .map(|d| serde::Deserialize::deserialize(d).expect("each document parses"))
            .collect();
        assert!(
            docs.iter().all(|d| d.get("kind").is_some()),
            "{file}: every document is an object:\n{yaml}"
        );
    }
    // And kubectl takes the stream as it is.
    let yaml = std::fs::read_to_string(env.dir.path().join("link.yaml")).unwrap();
    env.kubectl_stdin(&["--context", "a", "apply", "--server-side", "-f", "-"], &yaml)
        .success();
}
