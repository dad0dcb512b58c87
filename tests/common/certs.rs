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
    openssl_ok(
        w,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf-key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            "/O=Istio/CN=workload",
        ],
    );
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
            "365",
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

pub fn reset_counts(env: &Env, clusters: &[&str]) {
    for c in clusters {
        env.cluster(c).reset_counts();
    }
}

#[track_caller]
pub fn assert_no_writes(env: &Env, clusters: &[&str]) {
    for c in clusters {
        let counts = env.cluster(c).counts();
        assert_eq!(counts.writes(), 0, "cluster {c}: {counts:?}");
    }
}

pub fn generate(env: &Env, clusters: &str) -> Run {
    let dir = certs_dir(env);
    certs(
        env,
        &[
            "generate",
            "--clusters",
            clusters,
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    )
    .success()
}

/// `certs rotate --cluster CLUSTER --dir DIR --key-type ec-p256` and `extra`.
pub fn rotate(env: &Env, cluster: &str, dir: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "rotate",
        "--cluster",
        cluster,
        "--dir",
        dir,
        "--key-type",
        "ec-p256",
    ];
    args.extend_from_slice(extra);
    certs(env, &args)
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
