//! Real kubectl against a sandbox: a private kubeconfig and discovery cache per test.

use std::path::PathBuf;

use mesh_testkit::Sandbox;

pub struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
    _dir: tempfile::TempDir,
}

pub struct Out {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Asserts kubectl failed, saying `needle` on stderr.
    pub fn assert_failed_with(&self, needle: &str) {
        assert!(!self.ok, "kubectl succeeded: {}", self.stdout);
        assert!(self.stderr.contains(needle), "{}", self.stderr);
    }
}

impl Kubectl {
    pub fn new(sb: &Sandbox) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        sb.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        // A private discovery/OpenAPI cache per test, so nothing leaks between runs.
        let cache = dir.path().join("cache");
        Kubectl {
            kubeconfig,
            cache,
            _dir: dir,
        }
    }

    /// kubectl with the kubeconfig `yaml` (e.g. one with client certificates).
    pub fn with_yaml(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, yaml).expect("kubeconfig");
        let cache = dir.path().join("cache");
        Kubectl {
            kubeconfig,
            cache,
            _dir: dir,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self._dir.path().join(name)
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        let out = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .await
            .expect("run kubectl");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args).await;
        assert!(o.ok, "kubectl {args:?} failed: {}{}", o.stdout, o.stderr);
        o.stdout
    }
}
