//! Shared harness of the end-to-end tests: testkit clusters running in this process, a
//! kubeconfig for them in a temp dir, and the real binaries (and real kubectl) run against them.

#![allow(dead_code)]

pub mod certs;
pub mod docs;
pub mod faults;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mesh_testkit::{ClusterSpec, FakeCluster, IstioSeed, Sandbox};

/// The directory holding the built binaries (`kubectl-mesh`, `kubectl-mesh-expose`, ...).
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kubectl-mesh"))
        .parent()
        .expect("binary dir")
        .to_path_buf()
}

/// A sandbox of fake clusters, the runtime serving them, and a scratch directory.
pub struct Env {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    // Declared last: dropped after the sandbox, whose servers run on it.
    runtime: tokio::runtime::Runtime,
}

/// Clusters `names`, each with an Istio install on network `network-<name>`.
pub fn with_istio(names: &[&str]) -> Env {
    start(
        names
            .iter()
            .map(|n| (n.to_string(), istio_spec(&format!("network-{n}"))))
            .collect(),
    )
}

pub fn istio_spec(network: &str) -> ClusterSpec {
    ClusterSpec {
        istio: Some(IstioSeed::network(network)),
        ..Default::default()
    }
}

/// Clusters `names`, each with an Istio install on no network yet (a topology file gives them
/// theirs).
pub fn with_bare_istio(names: &[&str]) -> Env {
    start(names.iter().map(|n| (n.to_string(), bare_istio_spec())).collect())
}

/// An Istio install without a network label.
pub fn bare_istio_spec() -> ClusterSpec {
    ClusterSpec {
        istio: Some(IstioSeed::default()),
        ..Default::default()
    }
}

/// Writes `<tmp>/mesh.yaml`: mesh `mymesh`, its certificates in `<tmp>/certs` (ec-p256), then
/// `body` (the contexts and any other settings). Returns its path.
pub fn write_topology(env: &Env, body: &str) -> String {
    let certs = env.dir.path().join("certs");
    let text = format!(
        "mesh_id: mymesh\ncerts: {{dir: {}, keyType: ec-p256}}\n{body}",
        certs.display()
    );
    let path = env.dir.path().join("mesh.yaml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

pub fn start(clusters: Vec<(String, ClusterSpec)>) -> Env {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut builder = Sandbox::builder();
    for (name, spec) in clusters {
        builder = builder.cluster_with(&name, spec);
    }
    let sandbox = runtime.block_on(builder.start()).expect("sandbox starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
    Env {
        sandbox,
        dir,
        kubeconfig,
        runtime,
    }
}

/// Owned copies of `args`, for command lines built at run time.
pub fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `<tmp>/<sub>` of `env`'s scratch directory, as a command-line argument.
pub fn dir_arg(env: &Env, sub: &str) -> String {
    env.dir.path().join(sub).to_str().unwrap().to_string()
}

/// The result of running a command, with helpers for assertions.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Env {
    pub fn cluster(&self, name: &str) -> &FakeCluster {
        self.sandbox.cluster(name)
    }

    /// Environment for child processes: our kubeconfig, a private HOME and kubectl cache, and
    /// the built binaries first on PATH (for kubectl's plugin dispatch).
    fn child(&self, program: &OsString) -> Command {
        let mut cmd = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin_dir()];
        paths.extend(std::env::split_paths(&path));
        cmd.env("PATH", std::env::join_paths(paths).expect("PATH"))
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"))
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `kubectl-mesh` (or another of our binaries) with `args`.
    pub fn bin(&self, binary: &str, args: &[&str]) -> Run {
        let program = bin_dir().join(binary).into_os_string();
        Run::from(self.child(&program).args(args).output().expect("binary runs"))
    }

    pub fn mesh(&self, args: &[&str]) -> Run {
        self.bin("kubectl-mesh", args)
    }

    /// Runs `kubectl-mesh` with `cwd` as its current directory.
    pub fn mesh_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let program = bin_dir().join("kubectl-mesh").into_os_string();
        Run::from(
            self.child(&program)
                .current_dir(cwd)
                .args(args)
                .output()
                .expect("binary runs"),
        )
    }

    /// Runs `kubectl-mesh` with `KUBECONFIG` set to `list` (a ':'-separated list of files).
    pub fn mesh_with_kubeconfig_env(&self, list: &str, args: &[&str]) -> Run {
        let program = bin_dir().join("kubectl-mesh").into_os_string();
        Run::from(
            self.child(&program)
                .env("KUBECONFIG", list)
                .args(args)
                .output()
                .expect("binary runs"),
        )
    }

    /// Runs the real kubectl with the same environment.
    pub fn kubectl(&self, args: &[&str]) -> Run {
        Run::from(
            self.child(&OsString::from("kubectl"))
                .args(args)
                .output()
                .expect("kubectl runs"),
        )
    }

    /// Runs `kubectl` with `stdin` piped in.
    pub fn kubectl_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.with_stdin(&OsString::from("kubectl"), args, stdin)
    }

    /// Runs `kubectl-mesh` with `stdin` piped in.
    pub fn mesh_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.with_stdin(&bin_dir().join("kubectl-mesh").into_os_string(), args, stdin)
    }

    fn with_stdin(&self, program: &OsString, args: &[&str], stdin: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .child(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("program runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin written");
        Run::from(child.wait_with_output().expect("program finishes"))
    }

    /// Starts `kubectl-mesh` with `args` without waiting for it (stdout and stderr piped).
    pub fn spawn_mesh(&self, args: &[&str]) -> std::process::Child {
        let program = bin_dir().join("kubectl-mesh").into_os_string();
        self.child(&program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl-mesh starts")
    }

    /// Collects what a spawned child printed, once it has exited.
    pub fn finish(child: std::process::Child) -> Run {
        Run::from(child.wait_with_output().expect("child finishes"))
    }

    /// Runs a closure on the runtime that serves the clusters (for async testkit calls).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// Forgets the requests `clusters` have seen so far.
pub fn reset_counts(env: &Env, clusters: &[&str]) {
    for c in clusters {
        env.cluster(c).reset_counts();
    }
}

/// No request changed anything in `clusters` since their counts were reset.
#[track_caller]
pub fn assert_no_writes(env: &Env, clusters: &[&str]) {
    for c in clusters {
        let counts = env.cluster(c).counts();
        assert_eq!(counts.writes(), 0, "cluster {c}: {counts:?}");
    }
}

/// Row `row` of a per-cluster report (`-o json`: expose, certs secret) failed, with an error
/// that contains `needle`.
#[track_caller]
pub fn assert_cluster_failed(report: &serde_json::Value, row: usize, needle: &str) {
    let cluster = &report["clusters"][row];
    assert_eq!(cluster["result"], "failed", "{report}");
    let error = cluster["error"]
        .as_str()
        .unwrap_or_else(|| panic!("row {row} has no error: {report}"));
    assert!(error.contains(needle), "{report}");
}

/// The links of a `link -o json` report.
pub fn links(run: &Run) -> Vec<serde_json::Value> {
    run.json()["links"].as_array().cloned().unwrap()
}

/// Every link of a `link -o json` report has `result`.
#[track_caller]
pub fn assert_links_all(run: &Run, result: &str) {
    assert!(
        links(run).iter().all(|l| l["result"] == result),
        "not all {result}: {}",
        run.stdout
    );
}

/// Every ordered pair of distinct clusters of `names`: the links of a full mesh.
pub fn pairs<'a>(names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for from in names {
        for to in names.iter().filter(|t| *t != from) {
            out.push((*from, *to));
        }
    }
    out
}

/// `verify`'s flags that try the tokens of a,b's remote secrets.
pub const CHECK_CREDENTIALS: [&str; 5] = [
    "--contexts",
    "a,b",
    "--mode",
    "remote-secret",
    "--check-credentials",
];

/// The peer Gateway through which a cluster reaches `target`.
pub fn peer_path(target: &str) -> String {
    format!(
        "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-remote-peer-{target}"
    )
}

/// Clusters with certs, cacerts, east-west gateways and a full mesh of links.
pub fn healthy(env: Env, names: &[&str]) -> Env {
    let list = names.join(",");
    with_trust(&env, names);
    env.mesh(&["expose", "--contexts", &list, "--wait=30s"]).success();
    env.mesh(&["link", "--contexts", &list]).success();
    env
}

/// A shared root, and each cluster's intermediate in its cacerts Secret.
pub fn with_trust(env: &Env, names: &[&str]) {
    let list = names.join(",");
    let dir = env.dir.path().join("certs");
    let dir = dir.to_str().unwrap();
    env.mesh(&[
        "certs",
        "generate",
        "--clusters",
        &list,
        "--dir",
        dir,
        "--key-type",
        "ec-p256",
    ])
    .success();
    env.mesh(&["certs", "secret", "--contexts", &list, "--dir", dir])
        .success();
}

/// [`with_istio`] clusters made [`healthy`].
pub fn mesh_of(names: &[&str]) -> Env {
    healthy(with_istio(names), names)
}

pub const GATEWAY: &str =
    "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-eastwest";
pub const ISTIO_SYSTEM: &str = "/api/v1/namespaces/istio-system";
pub const GATEWAYS_NS: &str = "/api/v1/namespaces/istio-gateways";
pub const CACERTS: &str = "/api/v1/namespaces/istio-system/secrets/cacerts";
