//! What the `certs` tests share: the `certs` command and its `--dir` files, openssl as the
//! independent judge of the certificates, and the cacerts Secret in clusters.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use mesh_testkit::ClusterSpec;
use serde_json::Value;

use super::*;

pub const SECRET_KEYS: [&str; 4] = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"];

/// `<tmp>/certs`, the --dir of most tests.
pub fn certs_dir(env: &Env) -> PathBuf {
    env.dir.path().join("certs")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `kubectl-mesh certs <args>`.
pub fn certs(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["certs"];
    all.extend_from_slice(args);
    env.mesh(&all)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file and directory under `root` (recursively) with its mode and content: what
/// "nothing was written" compares.
pub fn snapshot(root: &Path) -> Snapshot {
    fn walk(path: &Path, out: &mut BTreeMap<PathBuf, (u32, Vec<u8>)>) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        let content = if meta.is_file() {
            std::fs::read(path).unwrap()
        } else {
            Vec::new()
        };
        out.insert(path.to_path_buf(), (meta.permissions().mode(), content));
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    Snapshot(out)
}

/// Files and directories with their modes and contents; `Debug` lists paths and modes only.
#[derive(PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<PathBuf, (u32, Vec<u8>)>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (path, (mode, content)) in &self.0 {
            writeln!(f, "{} {:o} {} bytes", path.display(), mode, content.len())?;
        }
        Ok(())
    }
}

/// Runs openssl in `cwd`, returning (success, stdout + stderr).
pub fn openssl(cwd: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[track_caller]
pub fn openssl_ok(cwd: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(cwd, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

/// `openssl req MODE` in `cwd` with a new P-256 key in `leaf-key.pem`, writing `out` for
/// `subject`, and `extra`: a leaf's certificate request (`-new`) or certificate (`-x509`).
pub fn openssl_leaf(cwd: &Path, mode: &str, out: &str, subject: &str, extra: &[&str]) -> String {
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let files = ["-keyout", "leaf-key.pem", "-out", out, "-subj", subject];
    openssl_ok(cwd, &[&["req", mode][..], &key, &files, extra].concat())
}

/// What openssl thinks of a cluster directory: the intermediate verifies against the root
/// (strictly), the chain file verifies, and a workload certificate that the intermediate
/// signs verifies through cert-chain.pem, as istiod's would.
#[track_caller]
pub fn assert_openssl_verifies(cluster_dir: &Path) {
    let ok = openssl_ok(
        cluster_dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root-cert.pem",
            "ca-cert.pem",
        ],
    );
    assert!(ok.contains("ca-cert.pem: OK"), "{ok}");
    let ok = openssl_ok(
        cluster_dir,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root-cert.pem",
            "-untrusted",
            "cert-chain.pem",
            "cert-chain.pem",
        ],
    );
    assert!(ok.contains("cert-chain.pem: OK"), "{ok}");
    // A workload certificate issued by the intermediate, outside the cluster dir.
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let ca_cert = cluster_dir.join("ca-cert.pem");
    let ca_key = cluster_dir.join("ca-key.pem");
    let chain = cluster_dir.join("cert-chain.pem");
    let root = cluster_dir.join("root-cert.pem");
    openssl_leaf(w, "-new", "leaf.csr", "/O=Istio/CN=workload", &[]);
    std::fs::write(
        w.join("ext.cnf"),
        "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         subjectAltName=URI:spiffe://cluster.local/ns/default/sa/default\n\
         authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n",
    )
    .unwrap();
    openssl_ok(
        w,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            s(&ca_cert),
            "-CAkey",
            s(&ca_key),
            "-set_serial",
            "1",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.pem",
        ],
    );
    let ok = openssl_ok(
        w,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            s(&root),
            "-untrusted",
            s(&chain),
            "leaf.pem",
        ],
    );
    assert!(ok.contains("leaf.pem: OK"), "{ok}");
}

/// Bad input: exit 2, and the message on stderr contains every one of `needles`.
#[track_caller]
pub fn assert_input_error(run: Run, needles: &[&str]) -> Run {
    let run = run.code(2);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr should mention {needle:?}:\n{}",
            run.stderr
        );
    }
    assert!(
        run.stderr.contains("error:"),
        "stderr should say what is wrong:\n{}",
        run.stderr
    );
    run
}

/// An openssl-made root (RSA 2048, CA:true, keyCertSign) in `dir`: (cert path, key path).
pub fn openssl_root(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    openssl_root_for(dir, name, "365")
}

/// [`openssl_root`] valid for `days`.
pub fn openssl_root_for(dir: &Path, name: &str, days: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let cert = dir.join(format!("{name}-cert.pem"));
    let key = dir.join(format!("{name}-key.pem"));
    openssl_ok(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            s(&key),
            "-out",
            s(&cert),
            "-subj",
            &format!("/O=Corp/CN={name}"),
            "-days",
            days,
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ],
    );
    (cert, key)
}

pub fn secret_of(env: &Env, cluster: &str) -> Option<Value> {
    env.cluster(cluster).object(CACERTS)
}

pub fn decoded(secret: &Value, key: &str) -> String {
    let b64 = secret["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("cacerts has no data.{key}: {secret}"));
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64"),
    )
    .unwrap()
}

// The subcommands as the tests call them: `--key-type ec-p256` (fast) unless a root is brought,
// then `extra`. `*_args` are the arguments after `certs`, for any entry point.

/// `kubectl-mesh` arguments for `certs` subcommand `args` (from the `*_args` below).
pub fn mesh_certs(args: Vec<&str>) -> Vec<&str> {
    [&["certs"][..], &args].concat()
}

/// `certs root --dir DIR --key-type ec-p256` and `extra`: a root of our own.
pub fn root(env: &Env, dir: &Path, extra: &[&str]) -> Run {
    certs(env, &root_args(dir, extra))
}

pub fn root_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    [&["root", "--dir", s(dir), "--key-type", "ec-p256"], extra].concat()
}

/// `certs root --dir DIR --root-cert CERT --root-key KEY` and `extra`: adopting a root.
pub fn adopt_root(env: &Env, dir: &Path, cert: &Path, key: &Path, extra: &[&str]) -> Run {
    certs(env, &adopt_root_args(dir, cert, key, extra))
}

pub fn adopt_root_args<'a>(dir: &'a Path, cert: &'a Path, key: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    [&["root", "--dir", s(dir)], &root_flags(cert, key)[..], extra].concat()
}

/// The flags that bring your own root: `--root-cert CERT --root-key KEY`.
pub fn root_flags<'a>(cert: &'a Path, key: &'a Path) -> [&'a str; 4] {
    ["--root-cert", s(cert), "--root-key", s(key)]
}

/// `certs intermediate --cluster CLUSTER --dir DIR --key-type ec-p256` and `extra`.
pub fn intermediate(env: &Env, cluster: &str, dir: &Path, extra: &[&str]) -> Run {
    certs(env, &intermediate_args(cluster, dir, extra))
}

pub fn intermediate_args<'a>(cluster: &'a str, dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    issue_args(["intermediate", "--cluster", cluster], dir, extra)
}

/// `certs generate --clusters CLUSTERS --dir DIR --key-type ec-p256` and `extra`.
pub fn generate_into(env: &Env, clusters: &str, dir: &Path, extra: &[&str]) -> Run {
    certs(env, &generate_args(clusters, dir, extra))
}

pub fn generate_args<'a>(clusters: &'a str, dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    issue_args(["generate", "--clusters", clusters], dir, extra)
}

/// [`generate_into`] `<tmp>/certs`, which succeeds.
pub fn generate(env: &Env, clusters: &str) -> Run {
    generate_into(env, clusters, &certs_dir(env), &[]).success()
}

/// `certs rotate --cluster CLUSTER --dir DIR --key-type ec-p256` and `extra`.
pub fn rotate(env: &Env, cluster: &str, dir: &Path, extra: &[&str]) -> Run {
    certs(env, &rotate_args(cluster, dir, extra))
}

pub fn rotate_args<'a>(cluster: &'a str, dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    issue_args(["rotate", "--cluster", cluster], dir, extra)
}

/// `certs secret --contexts CONTEXTS --dir DIR` and `extra`.
pub fn secret(env: &Env, contexts: &str, dir: &Path, extra: &[&str]) -> Run {
    certs(env, &secret_args(contexts, dir, extra))
}

pub fn secret_args<'a>(contexts: &'a str, dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    [&["secret", "--contexts", contexts, "--dir", s(dir)], extra].concat()
}

/// `SUBCOMMAND FLAG VALUE --dir DIR --key-type ec-p256` and `extra`: the subcommands that
/// issue intermediates.
fn issue_args<'a>(command: [&'a str; 3], dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    [&command[..], &["--dir", s(dir), "--key-type", "ec-p256"], extra].concat()
}

/// Gives `cluster` the cacerts of another mesh: an intermediate of another root, made in
/// `<tmp>/other` (returned) and applied.
pub fn another_meshs_cacerts(env: &Env, cluster: &str) -> PathBuf {
    let other = env.dir.path().join("other");
    generate_into(env, cluster, &other, &[]).success();
    secret(env, cluster, &other, &[]).success();
    other
}

/// Clusters a and b with Istio, c without (no istio-system yet).
pub fn three_clusters() -> Env {
    start(vec![
        ("a".into(), istio_spec("network-a")),
        ("b".into(), istio_spec("network-b")),
        ("c".into(), ClusterSpec::default()),
    ])
}

#[track_caller]
pub fn assert_cacerts_matches_dir(env: &Env, cluster: &str, cluster_dir: &Path) {
    let secret = secret_of(env, cluster).unwrap_or_else(|| panic!("cluster {cluster} has no cacerts"));
    assert_eq!(secret["type"], "Opaque", "{secret}");
    assert_eq!(secret["metadata"]["namespace"], "istio-system");
    assert_eq!(
        secret["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kubectl-mesh"
    );
    let keys: Vec<&String> = secret["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "exactly the four keys: {keys:?}");
    for key in SECRET_KEYS {
        assert_eq!(
            decoded(&secret, key),
            read(&cluster_dir.join(key)),
            "cluster {cluster}: data.{key}"
        );
    }
}

/// The base64 body lines of every `*-key.pem` under `paths` (files or directories).
pub fn key_bodies(paths: &[PathBuf]) -> Vec<String> {
    fn walk(path: &Path, out: &mut Vec<String>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), out);
            }
        } else if path.to_string_lossy().ends_with("key.pem") {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                let line = line.trim();
                // Short last lines ("AQAB==") could match by chance; 16 chars cannot.
                if !line.starts_with("-----") && line.len() >= 16 {
                    out.push(line.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out);
    }
    assert!(!out.is_empty() || paths.is_empty(), "no key found in {paths:?}");
    out
}
