//! `kubectl mesh certs` end to end (issue 4): the real binaries (umbrella, `kubectl-mesh-certs`
//! and kubectl's plugin dispatch) against files in a temp dir and testkit clusters, with
//! `openssl` as the independent judge of the certificates.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use common::*;
use mesh_testkit::ClusterSpec;
use serde_json::Value;

const CACERTS: &str = "/api/v1/namespaces/istio-system/secrets/cacerts";
const SECRET_KEYS: [&str; 4] = ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"];

// ---- helpers ----

/// `<tmp>/certs`, the --dir of most tests.
fn certs_dir(env: &Env) -> PathBuf {
    env.dir.path().join("certs")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `kubectl-mesh certs <args>`.
fn certs(env: &Env, args: &[&str]) -> Run {
    let mut all = vec!["certs"];
    all.extend_from_slice(args);
    env.mesh(&all)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every file and directory under `root` (recursively) with its mode and content: what
/// "nothing was written" compares.
fn snapshot(root: &Path) -> Snapshot {
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
struct Snapshot(BTreeMap<PathBuf, (u32, Vec<u8>)>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (path, (mode, content)) in &self.0 {
            writeln!(f, "{} {:o} {} bytes", path.display(), mode, content.len())?;
        }
        Ok(())
    }
}

/// Runs openssl in `cwd`, returning (success, stdout + stderr).
fn openssl(cwd: &Path, args: &[&str]) -> (bool, String) {
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
fn openssl_ok(cwd: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(cwd, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

/// What openssl thinks of a cluster directory: the intermediate verifies against the root
/// (strictly), the chain file verifies, and a workload certificate that the intermediate
/// signs verifies through cert-chain.pem, as istiod's would.
#[track_caller]
fn assert_openssl_verifies(cluster_dir: &Path) {
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
fn assert_input_error(run: Run, needles: &[&str]) -> Run {
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
fn openssl_root(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
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

fn secret_of(env: &Env, cluster: &str) -> Option<Value> {
    env.cluster(cluster).object(CACERTS)
}

fn decoded(secret: &Value, key: &str) -> String {
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

fn reset_counts(env: &Env, clusters: &[&str]) {
    for c in clusters {
        env.cluster(c).reset_counts();
    }
}

#[track_caller]
fn assert_no_writes(env: &Env, clusters: &[&str]) {
    for c in clusters {
        let counts = env.cluster(c).counts();
        assert_eq!(counts.writes(), 0, "cluster {c}: {counts:?}");
    }
}

fn generate(env: &Env, clusters: &str) -> Run {
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

// ---- generate: files, modes, openssl ----

fn generate_and_verify(key_type: &str, clusters: &[&str], openssl_algo: &str) {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            &clusters.join(","),
            "--dir",
            s(&dir),
            "--key-type",
            key_type,
            "-o",
            "json",
        ],
    )
    .success();
    let report = run.json();
    assert_eq!(report["items"][0]["name"], "root");
    assert_eq!(report["items"][0]["result"], "created");
    for (i, cluster) in clusters.iter().enumerate() {
        assert_eq!(report["items"][i + 1]["name"], *cluster, "{report}");
        assert_eq!(report["items"][i + 1]["result"], "created", "{report}");
        assert_eq!(report["items"][i + 1]["keyType"], key_type, "{report}");
    }

    assert_eq!(mode(&dir), 0o700, "the certs dir");
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
    assert_eq!(
        mode(&dir.join("root-cert.pem")) & 0o077 & !0o044,
        0,
        "no write for others"
    );
    let root = read(&dir.join("root-cert.pem"));
    let text = openssl_ok(&dir, &["x509", "-in", "root-cert.pem", "-noout", "-text"]);
    assert!(
        text.contains(openssl_algo),
        "root key type {openssl_algo}:\n{text}"
    );
    assert!(text.contains("CA:TRUE"), "{text}");
    for cluster in clusters {
        let cdir = dir.join(cluster);
        assert_eq!(mode(&cdir), 0o700, "{}", cdir.display());
        assert_eq!(mode(&cdir.join("ca-key.pem")), 0o600);
        for file in ["ca-cert.pem", "root-cert.pem", "cert-chain.pem"] {
            assert_eq!(mode(&cdir.join(file)) & 0o022, 0, "{file} writable by others");
        }
        let ca = read(&cdir.join("ca-cert.pem"));
        assert_eq!(
            read(&cdir.join("root-cert.pem")),
            root,
            "cluster {cluster}: the shared root"
        );
        assert_eq!(
            read(&cdir.join("cert-chain.pem")),
            format!("{ca}{root}"),
            "cluster {cluster}: cert-chain.pem = ca-cert.pem + root-cert.pem"
        );
        let text = openssl_ok(&cdir, &["x509", "-in", "ca-cert.pem", "-noout", "-text"]);
        assert!(text.contains(openssl_algo), "{text}");
        assert!(text.contains("pathlen:0"), "{text}");
        assert!(text.contains("DNS:istiod.istio-system.svc"), "{text}");
        assert!(text.contains(&format!("L = {cluster}")), "{text}");
        assert_openssl_verifies(&cdir);
    }
}

#[test]
fn generate_ec_p256_chains_verify_with_openssl() {
    generate_and_verify("ec-p256", &["east-1", "east-2", "west-1"], "prime256v1");
}

#[test]
fn generate_ec_p384_chains_verify_with_openssl() {
    generate_and_verify("ec-p384", &["a", "b"], "secp384r1");
}

#[test]
fn generate_rsa_2048_chains_verify_with_openssl() {
    generate_and_verify("rsa-2048", &["a", "b"], "Public-Key: (2048 bit)");
}

#[test]
fn generate_rsa_4096_chains_verify_with_openssl() {
    generate_and_verify("rsa-4096", &["a"], "Public-Key: (4096 bit)");
}

#[test]
fn root_then_intermediate_verify_with_openssl() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
    certs(
        &env,
        &[
            "intermediate",
            "--cluster",
            "x",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    )
    .success();
    assert_eq!(mode(&dir.join("x")), 0o700);
    assert_eq!(mode(&dir.join("x/ca-key.pem")), 0o600);
    assert_openssl_verifies(&dir.join("x"));
}

// ---- bring your own root ----

#[test]
fn byo_root_from_openssl_with_certs_root_and_generate() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");

    // certs root adopts it.
    let dir = env.dir.path().join("adopted");
    let run = certs(
        &env,
        &[
            "root",
            "--dir",
            s(&dir),
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
            "-o",
            "json",
        ],
    )
    .success();
    assert_eq!(run.json()["items"][0]["result"], "imported", "{}", run.stdout);
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let fingerprint = |path: &Path| {
        openssl_ok(
            path.parent().unwrap(),
            &["x509", "-in", s(path), "-noout", "-fingerprint", "-sha256"],
        )
    };
    assert_eq!(fingerprint(&dir.join("root-cert.pem")), fingerprint(&cert));
    // Adopting the same root again changes nothing.
    let before = snapshot(&dir);
    certs(
        &env,
        &[
            "root",
            "--dir",
            s(&dir),
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
        ],
    )
    .success();
    assert_eq!(snapshot(&dir), before);
    certs(
        &env,
        &[
            "intermediate",
            "--cluster",
            "a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    )
    .success();
    assert_openssl_verifies(&dir.join("a"));

    // certs generate signs with it directly.
    let dir = env.dir.path().join("generated");
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
        ],
    )
    .success();
    assert_eq!(fingerprint(&dir.join("root-cert.pem")), fingerprint(&cert));
    for cluster in ["a", "b"] {
        let cdir = dir.join(cluster);
        assert_eq!(fingerprint(&cdir.join("root-cert.pem")), fingerprint(&cert));
        assert_openssl_verifies(&cdir);
        // And against the corporate file itself.
        let ok = openssl_ok(&cdir, &["verify", "-CAfile", s(&cert), "ca-cert.pem"]);
        assert!(ok.contains("OK"), "{ok}");
    }
}

/// Runs `certs root` and `certs generate` with `--root-cert cert --root-key key`, expecting
/// exit 2 with `needles` in the message and no file written.
#[track_caller]
fn assert_byo_refused(env: &Env, cert: &Path, key: &Path, needles: &[&str]) {
    let dir = env.dir.path().join("refused");
    let root = certs(
        env,
        &[
            "root",
            "--dir",
            s(&dir),
            "--root-cert",
            s(cert),
            "--root-key",
            s(key),
        ],
    );
    assert_input_error(root, needles);
    assert!(!dir.exists(), "certs root wrote {}", dir.display());
    let generate = certs(
        env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(cert),
            "--root-key",
            s(key),
        ],
    );
    assert_input_error(generate, needles);
    assert!(!dir.exists(), "certs generate wrote {}", dir.display());
}

#[test]
fn byo_root_key_not_matching_cert_is_refused() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    let (cert, _) = openssl_root(&corp, "one");
    let (_, other_key) = openssl_root(&corp, "two");
    assert_byo_refused(
        &env,
        &cert,
        &other_key,
        &["one-cert.pem", "two-key.pem", "does not match"],
    );
}

#[test]
fn byo_root_that_is_not_a_ca_is_refused() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    std::fs::create_dir_all(&corp).unwrap();
    openssl_ok(
        &corp,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf-key.pem",
            "-out",
            "leaf-cert.pem",
            "-subj",
            "/CN=not a ca",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:false",
        ],
    );
    assert_byo_refused(
        &env,
        &corp.join("leaf-cert.pem"),
        &corp.join("leaf-key.pem"),
        &["leaf-cert.pem", "not a CA"],
    );
}

#[test]
fn byo_root_that_expired_is_refused() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "old");
    // Re-sign it with notAfter yesterday (openssl 3.0 has no -not_after; -days -1 works).
    let expired = corp.join("expired-cert.pem");
    openssl_ok(
        &corp,
        &[
            "x509",
            "-in",
            s(&cert),
            "-signkey",
            s(&key),
            "-days",
            "-1",
            "-out",
            s(&expired),
        ],
    );
    let (ok, _) = openssl(&corp, &["x509", "-in", s(&expired), "-noout", "-checkend", "0"]);
    assert!(!ok, "the test root should be expired");
    assert_byo_refused(&env, &expired, &key, &["expired-cert.pem", "expired"]);
}

#[test]
fn byo_root_garbage_pem_is_refused_naming_the_file() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "good");
    let garbage = corp.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    assert_byo_refused(&env, &garbage, &key, &["garbage.pem", "malformed PEM"]);
    assert_byo_refused(&env, &cert, &garbage, &["garbage.pem", "malformed PEM"]);
    // A broken base64 body inside a well-formed PEM frame.
    let broken = corp.join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    assert_byo_refused(&env, &broken, &key, &["broken.pem"]);
    // The key given as the certificate (swapped flags): names the file, shows no key.
    let run = certs(
        &env,
        &[
            "root",
            "--dir",
            s(&env.dir.path().join("swapped")),
            "--root-cert",
            s(&key),
            "--root-key",
            s(&cert),
        ],
    );
    let run = assert_input_error(run, &["good-key.pem"]);
    // The message may name the PEM label it found, never the key itself.
    for line in key_bodies(std::slice::from_ref(&key)) {
        assert!(!run.stderr.contains(&line), "{}", run.stderr);
    }
    // A missing file.
    assert_byo_refused(&env, &corp.join("nope.pem"), &key, &["nope.pem"]);
}

// ---- existing files, names, directories ----

#[test]
fn root_twice_is_refused_and_changes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let before = snapshot(&dir);
    let run = certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]);
    assert_input_error(run, &["root-cert.pem", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    // --force replaces it.
    certs(
        &env,
        &["root", "--dir", s(&dir), "--key-type", "ec-p256", "--force"],
    )
    .success();
    assert_ne!(
        read(&dir.join("root-cert.pem")).as_bytes(),
        &before.0[&dir.join("root-cert.pem")].1[..]
    );
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
}

#[test]
fn intermediate_twice_is_refused_and_changes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let args = [
        "intermediate",
        "--cluster",
        "x",
        "--dir",
        s(&dir),
        "--key-type",
        "ec-p256",
    ];
    certs(&env, &args).success();
    let before = snapshot(&dir);
    assert_input_error(certs(&env, &args), &["cluster x", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    let mut forced = args.to_vec();
    forced.push("--force");
    certs(&env, &forced).success();
    assert_ne!(snapshot(&dir), before);
    assert_openssl_verifies(&dir.join("x"));
}

#[test]
fn intermediate_without_a_root_is_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    let run = certs(
        &env,
        &[
            "intermediate",
            "--cluster",
            "x",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["no root CA", "certs root"]);
    assert!(!dir.exists());
}

#[test]
fn generate_rerun_keeps_existing_intermediates() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a,b");
    let before = snapshot(&dir);
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b,c",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "-o",
            "json",
        ],
    )
    .success();
    let report = run.json();
    let results: Vec<(&str, &str)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap(), i["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        [
            ("root", "unchanged"),
            ("a", "unchanged"),
            ("b", "unchanged"),
            ("c", "created")
        ]
    );
    let after = snapshot(&dir);
    for (path, content) in &before.0 {
        assert_eq!(after.0.get(path), Some(content), "{} changed", path.display());
    }
    assert_openssl_verifies(&dir.join("c"));
    // The table says so too.
    let table = certs(&env, &["generate", "--clusters", "a,b,c", "--dir", s(&dir)]).success();
    assert!(table.stdout.contains("unchanged"), "{}", table.stdout);
    assert!(!table.stdout.contains("created"), "{}", table.stdout);
    assert_eq!(snapshot(&dir), after);
}

#[test]
fn generate_refuses_to_keep_intermediates_of_another_root() {
    // The root was removed (or another root is brought) while intermediates signed by the
    // old one are still there: keeping them would leave clusters that do not chain to the
    // root in --dir.
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a");
    std::fs::remove_file(dir.join("root-cert.pem")).unwrap();
    std::fs::remove_file(dir.join("root-key.pem")).unwrap();
    let before = snapshot(&dir);
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["cluster a", "different root", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
        ],
    );
    assert_input_error(run, &["cluster a", "different root"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    // --force re-issues them all from the new root.
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--force",
        ],
    )
    .success();
    for cluster in ["a", "b"] {
        assert_eq!(
            read(&dir.join(cluster).join("root-cert.pem")),
            read(&dir.join("root-cert.pem"))
        );
        assert_openssl_verifies(&dir.join(cluster));
    }
}

#[test]
fn generate_with_unreadable_intermediate_files_writes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a,b");
    std::fs::write(dir.join("b/ca-cert.pem"), "garbage\n").unwrap();
    let before = snapshot(&dir);
    // c comes before b: it must not be written before b is found unusable.
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,c,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["cluster b", "ca-cert.pem", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");
    assert!(!dir.join("c").exists());
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,c,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--force",
        ],
    )
    .success();
    for cluster in ["a", "b", "c"] {
        assert_openssl_verifies(&dir.join(cluster));
    }
}

#[test]
fn invalid_cluster_names_are_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    for bad in ["East", "a_b", "../x", "-a", "a.b"] {
        let run = certs(
            &env,
            &[
                "generate",
                "--clusters",
                &format!("ok,{bad}"),
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
        assert!(!dir.exists(), "generate with {bad:?} wrote files");
    }
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["listed twice"]);
    assert!(!dir.exists());

    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let before = snapshot(&dir);
    for bad in ["East", "../x", "a/b"] {
        let run = certs(
            &env,
            &[
                "intermediate",
                "--cluster",
                bad,
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
        let run = certs(
            &env,
            &[
                "rotate",
                "--cluster",
                bad,
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
        let run = certs(
            &env,
            &["secret", "--generate", "--clusters", bad, "--dir", s(&dir)],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
    }
    assert_eq!(snapshot(&dir), before);
}

/// `certs rotate --cluster CLUSTER --dir DIR --key-type ec-p256` and `extra`.
fn rotate(env: &Env, cluster: &str, dir: &str, extra: &[&str]) -> Run {
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

#[test]
fn unwritable_directory_is_refused() {
    // Root ignores permission bits; a path under a regular file is unwritable for anyone.
    let env = start(Vec::new());
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "not a directory\n").unwrap();
    let dir = file.join("certs");
    let runs = [
        certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]),
        certs(
            &env,
            &[
                "generate",
                "--clusters",
                "a",
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        ),
        certs(
            &env,
            &[
                "intermediate",
                "--cluster",
                "a",
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        ),
        rotate(&env, "a", s(&dir), &[]),
    ];
    for run in runs {
        assert_input_error(run, &["a-file", "not writable", "--dir"]);
    }
    assert_eq!(read(&file), "not a directory\n");

    // A read-only bind of a real directory is also unwritable for root: a directory whose
    // own path is a file is the portable version of that.
    let run = certs(&env, &["root", "--dir", s(&file), "--key-type", "ec-p256"]);
    assert_input_error(run, &["a-file", "not writable"]);
    assert_eq!(read(&file), "not a directory\n");
}

// ---- the cacerts Secret in clusters ----

/// Clusters a and b with Istio, c without (no istio-system yet).
fn three_clusters() -> Env {
    start(vec![
        ("a".into(), istio_spec("network-a")),
        ("b".into(), istio_spec("network-b")),
        ("c".into(), ClusterSpec::default()),
    ])
}

#[track_caller]
fn assert_cacerts_matches_dir(env: &Env, cluster: &str, cluster_dir: &Path) {
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

#[test]
fn secret_applies_to_three_clusters_then_is_unchanged_with_zero_writes() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    assert!(env.cluster("c").object(ISTIO_SYSTEM).is_none());
    let run = certs(
        &env,
        &["secret", "--contexts", "a,b,c", "--dir", s(&dir), "-o", "json"],
    )
    .success();
    let report = run.json();
    for (i, cluster) in ["a", "b", "c"].iter().enumerate() {
        assert_eq!(report["clusters"][i]["cluster"], *cluster);
        assert_eq!(report["clusters"][i]["result"], "created", "{report}");
        assert_cacerts_matches_dir(&env, cluster, &dir.join(cluster));
    }
    let ns = env
        .cluster("c")
        .object(ISTIO_SYSTEM)
        .expect("istio-system created in c");
    assert_eq!(
        ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kubectl-mesh"
    );

    reset_counts(&env, &["a", "b", "c"]);
    let run = certs(
        &env,
        &["secret", "--contexts", "a,b,c", "--dir", s(&dir), "-o", "json"],
    )
    .success();
    for cluster in run.json()["clusters"].as_array().unwrap() {
        assert_eq!(cluster["result"], "unchanged", "{cluster}");
    }
    assert_no_writes(&env, &["a", "b", "c"]);
    // The table too.
    let run = certs(&env, &["secret", "--contexts", "a,b,c", "--dir", s(&dir)]).success();
    assert!(run.stdout.contains("unchanged"), "{}", run.stdout);
    assert_no_writes(&env, &["a", "b", "c"]);

    // And kubectl reads what we wrote.
    let got = env
        .kubectl(&[
            "--context",
            "b",
            "-n",
            "istio-system",
            "get",
            "secret",
            "cacerts",
            "-o",
            "json",
        ])
        .success()
        .json();
    assert_eq!(got["type"], "Opaque");
}

#[test]
fn secret_generate_prints_the_secret_and_writes_nothing() {
    let env = three_clusters();
    generate(&env, "a,b");
    let dir = certs_dir(&env);
    let run = certs(
        &env,
        &["secret", "--generate", "--clusters", "a", "--dir", s(&dir)],
    )
    .success();
    let secret: Value = serde_yaml_ng::from_str(&run.stdout).expect("YAML");
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["metadata"]["name"], "cacerts");
    assert_eq!(secret["metadata"]["namespace"], "istio-system");
    assert_eq!(secret["type"], "Opaque");
    for key in SECRET_KEYS {
        assert_eq!(decoded(&secret, key), read(&dir.join("a").join(key)), "{key}");
    }
    let run = certs(
        &env,
        &[
            "secret",
            "--generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "-o",
            "json",
        ],
    )
    .success();
    let list = run.json();
    assert_eq!(list["kind"], "List", "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    // From --contexts: the names of the contexts, no writes.
    let run = certs(
        &env,
        &["secret", "--generate", "--contexts", "b", "--dir", s(&dir)],
    )
    .success();
    let secret: Value = serde_yaml_ng::from_str(&run.stdout).expect("YAML");
    assert_eq!(decoded(&secret, "ca-cert.pem"), read(&dir.join("b/ca-cert.pem")));
    assert_no_writes(&env, &["a", "b", "c"]);
    // Piped into kubectl, it is what certs secret would have applied.
    env.kubectl_stdin(
        &["--context", "a", "apply", "--server-side", "-f", "-"],
        &run.stdout,
    )
    .success();
    assert_cacerts_matches_dir(&env, "a", &dir.join("b"));
    // Without clusters: an input error.
    let run = certs(&env, &["secret", "--generate", "--dir", s(&dir)]);
    assert_input_error(run, &["--clusters"]);
}

#[test]
fn secret_dry_run_client_makes_no_writes() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    reset_counts(&env, &["a", "b", "c"]);
    let run = certs(
        &env,
        &[
            "secret",
            "--contexts",
            "a,b,c",
            "--dir",
            s(&dir),
            "--dry-run=client",
            "-o",
            "json",
        ],
    )
    .success();
    for cluster in run.json()["clusters"].as_array().unwrap() {
        assert_eq!(cluster["result"], "created", "{cluster}");
    }
    assert_no_writes(&env, &["a", "b", "c"]);
    for cluster in ["a", "b", "c"] {
        assert!(secret_of(&env, cluster).is_none());
    }
    assert!(env.cluster("c").object(ISTIO_SYSTEM).is_none());
}

#[test]
fn secret_refuses_to_replace_another_root_without_force() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    // Cluster b already has the cacerts of another mesh.
    let other = env.dir.path().join("other");
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "b",
            "--dir",
            s(&other),
            "--key-type",
            "ec-p256",
        ],
    )
    .success();
    certs(&env, &["secret", "--contexts", "b", "--dir", s(&other)]).success();
    let old = secret_of(&env, "b").unwrap();
    reset_counts(&env, &["a", "b", "c"]);

    let run = certs(&env, &["secret", "--contexts", "a,b,c", "--dir", s(&dir)]);
    assert_input_error(
        run,
        &["cluster b", "different root", "--force", "nothing was changed"],
    );
    assert_no_writes(&env, &["a", "b", "c"]);
    assert!(secret_of(&env, "a").is_none());
    assert!(secret_of(&env, "c").is_none());
    assert_eq!(secret_of(&env, "b").unwrap()["data"], old["data"]);

    let run = certs(
        &env,
        &["secret", "--contexts", "a,b,c", "--dir", s(&dir), "--force"],
    )
    .success();
    for cluster in ["a", "b", "c"] {
        assert_cacerts_matches_dir(&env, cluster, &dir.join(cluster));
    }
    assert!(
        run.stderr.contains("istiod must restart"),
        "stderr:\n{}\nstdout:\n{}",
        run.stderr,
        run.stdout
    );
    assert!(
        run.stderr.contains("b: "),
        "the note names the cluster:\n{}",
        run.stderr
    );
    // Only b changed root: a and c are not told to restart.
    assert!(
        !run.stderr.contains("a: the root of trust changed"),
        "{}",
        run.stderr
    );
}

#[test]
fn secret_with_one_cluster_down_applies_to_the_others() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    env.cluster("b").set_down(true);
    let run = certs(
        &env,
        &[
            "secret",
            "--contexts",
            "a,b,c",
            "--dir",
            s(&dir),
            "--timeout",
            "2s",
            "-o",
            "json",
        ],
    )
    .code(1);
    let report = run.json();
    assert_eq!(report["clusters"][0]["result"], "created");
    assert_eq!(report["clusters"][1]["result"], "failed");
    assert!(
        report["clusters"][1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("cluster b"),
        "{report}"
    );
    assert_eq!(report["clusters"][2]["result"], "created");
    assert_cacerts_matches_dir(&env, "a", &dir.join("a"));
    assert_cacerts_matches_dir(&env, "c", &dir.join("c"));
    env.cluster("b").set_down(false);
    assert!(secret_of(&env, "b").is_none());
}

#[test]
fn secret_with_a_missing_intermediate_writes_nothing() {
    let env = three_clusters();
    generate(&env, "a,c");
    let dir = certs_dir(&env);
    reset_counts(&env, &["a", "b", "c"]);
    let run = certs(&env, &["secret", "--contexts", "a,b,c", "--dir", s(&dir)]);
    assert_input_error(run, &["cluster b", "certs generate --clusters b"]);
    assert_no_writes(&env, &["a", "b", "c"]);
    for cluster in ["a", "b", "c"] {
        assert!(secret_of(&env, cluster).is_none());
    }
    // A broken file is as bad as a missing one.
    generate(&env, "b");
    std::fs::write(dir.join("b/ca-key.pem"), "garbage\n").unwrap();
    let run = certs(&env, &["secret", "--contexts", "a,b,c", "--dir", s(&dir)]);
    assert_input_error(run, &["cluster b", "ca-key.pem"]);
    assert_no_writes(&env, &["a", "b", "c"]);
}

// ---- inspect ----

const INSPECT_FIELDS: [&str; 9] = [
    "cluster",
    "subject",
    "issuer",
    "keyType",
    "notAfter",
    "daysLeft",
    "chainsToRoot",
    "problems",
    "rootFingerprint",
];

#[track_caller]
fn assert_inspection_shape(doc: &Value, clusters: &[&str]) {
    assert!(doc["sharedRoot"].is_boolean(), "{doc}");
    let items = doc["clusters"].as_array().expect("clusters");
    let names: Vec<&str> = items.iter().map(|i| i["cluster"].as_str().unwrap()).collect();
    assert_eq!(names, clusters);
    for item in items {
        let fields: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(fields, INSPECT_FIELDS, "{item}");
        assert_eq!(item["keyType"], "ec-p256");
        assert!(
            item["subject"].as_str().unwrap().contains("Intermediate CA"),
            "{item}"
        );
        assert!(item["issuer"].as_str().unwrap().contains("Root CA"), "{item}");
        assert!(item["daysLeft"].as_i64().unwrap() > 700, "{item}");
        assert!(item["notAfter"].as_str().unwrap().starts_with("20"), "{item}");
        assert!(!item.to_string().contains("PRIVATE"), "{item}");
    }
}

#[test]
fn inspect_from_dir_and_from_clusters() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    let root_fp = openssl_ok(
        &dir,
        &[
            "x509",
            "-in",
            "root-cert.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    let root_fp = root_fp.trim().split_once('=').unwrap().1.to_string();

    let run = certs(&env, &["inspect", "--dir", s(&dir), "-o", "json"]).success();
    let doc = run.json();
    assert_inspection_shape(&doc, &["a", "b", "c"]);
    assert_eq!(doc["sharedRoot"], true);
    for item in doc["clusters"].as_array().unwrap() {
        assert_eq!(item["chainsToRoot"], true);
        assert_eq!(item["problems"], serde_json::json!([]));
        assert_eq!(
            item["rootFingerprint"],
            root_fp.as_str(),
            "like openssl -fingerprint"
        );
    }
    let table = certs(&env, &["inspect", "--dir", s(&dir)]).success();
    for header in [
        "CLUSTER",
        "SUBJECT",
        "KEY",
        "NOT AFTER",
        "DAYS LEFT",
        "CHAIN",
        "ROOT",
    ] {
        assert!(table.stdout.contains(header), "{}", table.stdout);
    }
    assert!(
        table.stdout.contains("all clusters share one root"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("ec-p256"), "{}", table.stdout);

    certs(&env, &["secret", "--contexts", "a,b,c", "--dir", s(&dir)]).success();
    reset_counts(&env, &["a", "b", "c"]);
    let run = certs(&env, &["inspect", "--contexts", "a,b,c", "-o", "json"]).success();
    let doc = run.json();
    assert_inspection_shape(&doc, &["a", "b", "c"]);
    assert_eq!(doc["sharedRoot"], true);
    let table = certs(&env, &["inspect", "--contexts", "a,b,c"]).success();
    assert!(
        table.stdout.contains("all clusters share one root"),
        "{}",
        table.stdout
    );
    assert_no_writes(&env, &["a", "b", "c"]);
    let yaml = certs(&env, &["inspect", "--contexts", "a,b", "-o", "yaml"]).success();
    let doc: Value = serde_yaml_ng::from_str(&yaml.stdout).unwrap();
    assert_eq!(doc["sharedRoot"], true);
}

#[test]
fn inspect_reports_clusters_with_different_roots() {
    let env = three_clusters();
    generate(&env, "a,b");
    let dir = certs_dir(&env);
    let other = env.dir.path().join("other");
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "c",
            "--dir",
            s(&other),
            "--key-type",
            "ec-p256",
        ],
    )
    .success();
    certs(&env, &["secret", "--contexts", "a,b", "--dir", s(&dir)]).success();
    certs(&env, &["secret", "--contexts", "c", "--dir", s(&other)]).success();

    let run = certs(&env, &["inspect", "--contexts", "a,b,c", "-o", "json"]).code(1);
    let doc = run.json();
    assert_inspection_shape(&doc, &["a", "b", "c"]);
    assert_eq!(doc["sharedRoot"], false);
    let fp: Vec<&str> = doc["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rootFingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fp[0], fp[1]);
    assert_ne!(fp[0], fp[2]);
    let table = certs(&env, &["inspect", "--contexts", "a,b,c"]).code(1);
    assert!(table.stdout.contains("do NOT share one root"), "{}", table.stdout);

    // A cluster without cacerts: reported, exit 1.
    let env2 = three_clusters();
    let run = env2
        .mesh(&["certs", "inspect", "--contexts", "a", "-o", "json"])
        .code(1);
    let doc = run.json();
    assert_eq!(doc["sharedRoot"], false);
    assert!(
        doc["clusters"][0]["error"].as_str().unwrap().contains("cacerts"),
        "{doc}"
    );

    // From --dir, a cluster dir whose intermediate comes from another root.
    let mixed = env.dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    copy_dir(&dir.join("a"), &mixed.join("a"));
    copy_dir(&other.join("c"), &mixed.join("c"));
    let run = certs(&env, &["inspect", "--dir", s(&mixed), "-o", "json"]).code(1);
    assert_eq!(run.json()["sharedRoot"], false);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn inspect_of_an_empty_dir_is_an_input_error() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    let run = certs(&env, &["inspect", "--dir", s(&dir)]);
    assert_input_error(run, &["no cluster certificates", "certs generate"]);
}

// ---- rotate ----

#[test]
fn rotate_issues_a_new_intermediate_and_keeps_a_backup() {
    let env = three_clusters();
    generate(&env, "a,b");
    let dir = certs_dir(&env);
    certs(&env, &["secret", "--contexts", "a,b", "--dir", s(&dir)]).success();
    let old = snapshot(&dir.join("a"));
    let old_ca = read(&dir.join("a/ca-cert.pem"));
    let old_key = read(&dir.join("a/ca-key.pem"));
    let root = read(&dir.join("root-cert.pem"));
    let b_before = snapshot(&dir.join("b"));

    let run = rotate(&env, "a", s(&dir), &[]).success();
    assert!(run.stdout.contains("rotated"), "{}", run.stdout);
    let new_ca = read(&dir.join("a/ca-cert.pem"));
    assert_ne!(new_ca, old_ca);
    assert_ne!(read(&dir.join("a/ca-key.pem")), old_key);
    assert_eq!(read(&dir.join("a/root-cert.pem")), root, "same root");
    assert_eq!(read(&dir.join("a/cert-chain.pem")), format!("{new_ca}{root}"));
    assert_eq!(mode(&dir.join("a/ca-key.pem")), 0o600);
    assert_openssl_verifies(&dir.join("a"));
    assert_eq!(snapshot(&dir.join("b")), b_before, "other clusters untouched");

    // The backup: a timestamped dir holding the previous files, keys still private.
    let backups: Vec<PathBuf> = std::fs::read_dir(dir.join("a"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let backup = &backups[0];
    let name = backup.file_name().unwrap().to_str().unwrap();
    let stamp = name.strip_prefix("backup-").expect("backup-<timestamp>");
    assert!(
        stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
        "timestamp like 20250101T120000Z: {name}"
    );
    assert!(run.stderr.contains(name), "the backup is named:\n{}", run.stderr);
    assert_eq!(mode(backup), 0o700);
    assert_eq!(mode(&backup.join("ca-key.pem")), 0o600);
    for file in SECRET_KEYS {
        assert_eq!(
            std::fs::read(backup.join(file)).unwrap(),
            old.0[&dir.join("a").join(file)].1,
            "backup of {file}"
        );
    }
    // The cluster still holds the old intermediate: rotate without --apply-to writes nothing.
    assert_eq!(decoded(&secret_of(&env, "a").unwrap(), "ca-cert.pem"), old_ca);

    // With --apply-to, the cluster's cacerts follows.
    reset_counts(&env, &["a", "b"]);
    let run = rotate(&env, "a", s(&dir), &["--apply-to", "a"]).success();
    assert!(run.stdout.contains("configured"), "{}", run.stdout);
    assert_cacerts_matches_dir(&env, "a", &dir.join("a"));
    assert_ne!(read(&dir.join("a/ca-cert.pem")), new_ca);
    assert_openssl_verifies(&dir.join("a"));
    assert_no_writes(&env, &["b"]);
    let backups = std::fs::read_dir(dir.join("a"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(backups, 2);
}

#[test]
fn rotate_bad_input_changes_nothing() {
    let env = three_clusters();
    generate(&env, "a");
    let dir = certs_dir(&env);
    let before = snapshot(&dir);
    // Nothing to rotate.
    let run = rotate(&env, "b", s(&dir), &[]);
    assert_input_error(
        run,
        &["cluster b", "nothing to rotate", "certs intermediate --cluster b"],
    );
    // An unknown context.
    let run = rotate(&env, "a", s(&dir), &["--apply-to", "nope"]);
    assert_input_error(run, &["nope"]);
    // No root.
    let empty = env.dir.path().join("empty");
    let run = rotate(&env, "a", s(&empty), &[]);
    assert_input_error(run, &["no root CA"]);
    assert!(!empty.exists());
    assert_eq!(snapshot(&dir), before);

    // The cluster's cacerts comes from another root: replacing it needs --force.
    let other = env.dir.path().join("other");
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a",
            "--dir",
            s(&other),
            "--key-type",
            "ec-p256",
        ],
    )
    .success();
    certs(&env, &["secret", "--contexts", "a", "--dir", s(&other)]).success();
    let live = secret_of(&env, "a").unwrap();
    reset_counts(&env, &["a"]);
    let run = rotate(&env, "a", s(&dir), &["--apply-to", "a"]);
    assert_input_error(run, &["cluster a", "different root", "--force"]);
    assert_eq!(snapshot(&dir), before, "no files rotated");
    assert_no_writes(&env, &["a"]);
    assert_eq!(secret_of(&env, "a").unwrap()["data"], live["data"]);
    let run = rotate(&env, "a", s(&dir), &["--apply-to", "a", "--force"]).success();
    assert!(run.stderr.contains("istiod must restart"), "{}", run.stderr);
    assert_cacerts_matches_dir(&env, "a", &dir.join("a"));
}

// ---- secrets stay secret ----

/// The base64 body lines of every `*-key.pem` under `paths` (files or directories).
fn key_bodies(paths: &[PathBuf]) -> Vec<String> {
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

#[track_caller]
fn assert_no_key_material(runs: &[Run], bodies: &[String], what: &str) {
    for run in runs {
        for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(
                !text.contains("PRIVATE KEY"),
                "{what}: {stream} shows a private key:\n{text}"
            );
            for body in bodies {
                assert!(
                    !text.contains(body.as_str()),
                    "{what}: {stream} contains a line of a key file:\n{text}"
                );
            }
        }
    }
}

#[test]
fn no_subcommand_prints_or_logs_private_keys() {
    let env = three_clusters();
    let dir = certs_dir(&env);
    let d = s(&dir);
    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");
    let byo = env.dir.path().join("byo");
    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut run = |label: &str, args: &[&str]| {
        let r = certs(&env, args);
        assert!(
            r.code == 0 || label.ends_with("(fails)"),
            "{label}: exit {}\n{}\n{}",
            r.code,
            r.stdout,
            r.stderr
        );
        runs.push((label.to_string(), r));
    };
    run("root", &["root", "--dir", d, "--key-type", "ec-p256", "-vv"]);
    run(
        "root byo",
        &[
            "root",
            "--dir",
            s(&byo),
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
            "-vv",
        ],
    );
    run(
        "intermediate",
        &[
            "intermediate",
            "--cluster",
            "a",
            "--dir",
            d,
            "--key-type",
            "ec-p256",
            "-vv",
        ],
    );
    run(
        "generate",
        &[
            "generate",
            "--clusters",
            "a,b,c",
            "--dir",
            d,
            "--key-type",
            "ec-p256",
            "-vv",
        ],
    );
    run(
        "generate json",
        &[
            "generate",
            "--clusters",
            "a,b,c",
            "--dir",
            d,
            "--key-type",
            "ec-p256",
            "-vv",
            "-o",
            "json",
        ],
    );
    run(
        "generate byo",
        &[
            "generate",
            "--clusters",
            "a",
            "--dir",
            s(&byo),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
            "-vv",
            "-o",
            "yaml",
        ],
    );
    run("secret", &["secret", "--contexts", "a,b,c", "--dir", d, "-vv"]);
    run(
        "secret json",
        &["secret", "--contexts", "a,b,c", "--dir", d, "-vvv", "-o", "json"],
    );
    run(
        "secret dry-run",
        &[
            "secret",
            "--contexts",
            "a,b,c",
            "--dir",
            d,
            "-vv",
            "--dry-run=server",
        ],
    );
    run("inspect dir", &["inspect", "--dir", d, "-vv", "-o", "json"]);
    run("inspect dir table", &["inspect", "--dir", d, "-vv"]);
    run(
        "inspect clusters",
        &["inspect", "--contexts", "a,b,c", "-vv", "-o", "yaml"],
    );
    run(
        "inspect clusters table",
        &["inspect", "--contexts", "a,b,c", "-vvv"],
    );
    run(
        "rotate",
        &[
            "rotate",
            "--cluster",
            "b",
            "--dir",
            d,
            "--key-type",
            "ec-p256",
            "-vv",
        ],
    );
    run(
        "rotate apply",
        &[
            "rotate",
            "--cluster",
            "a",
            "--dir",
            d,
            "--key-type",
            "ec-p256",
            "--apply-to",
            "a",
            "-vv",
        ],
    );
    run(
        "secret conflict (fails)",
        &["secret", "--contexts", "a", "--dir", s(&byo), "-vv"],
    );
    run(
        "secret force",
        &[
            "secret",
            "--contexts",
            "a",
            "--dir",
            s(&byo),
            "-vv",
            "--force",
            "-o",
            "json",
        ],
    );
    // A failing cluster with the Secret in flight.
    env.cluster("c").inject(
        mesh_testkit::Fault::status(422)
            .method("PATCH")
            .path_contains("cacerts"),
    );
    run(
        "secret rejected (fails)",
        &["secret", "--contexts", "c", "--dir", s(&byo), "--force", "-vvv"],
    );
    // Rotated-in and rotated-out keys, BYO and generated roots.
    let bodies = key_bodies(&[dir.clone(), byo.clone(), corp.clone()]);
    for (label, r) in &runs {
        assert_no_key_material(std::slice::from_ref(r), &bodies, label);
    }

    // The one exception: --generate prints a Secret, which holds the key by design.
    let printed = certs(
        &env,
        &["secret", "--generate", "--clusters", "a", "--dir", d, "-vv"],
    )
    .success();
    assert!(printed.stdout.contains("ca-key.pem"), "{}", printed.stdout);
    assert!(!printed.stderr.contains("PRIVATE KEY"), "{}", printed.stderr);
}

// ---- the other entry points: kubectl-mesh-certs and kubectl plugin dispatch ----

/// Every subcommand through `run`, which invokes some entry point with the args after `certs`.
fn every_subcommand(env: &Env, base: &Path, run: &dyn Fn(&[&str]) -> Run) {
    let dir = base.join("certs");
    let d = s(&dir);
    run(&["root", "--dir", d, "--key-type", "ec-p256"]).success();
    run(&[
        "intermediate",
        "--cluster",
        "a",
        "--dir",
        d,
        "--key-type",
        "ec-p256",
    ])
    .success();
    let out = run(&[
        "generate",
        "--clusters",
        "a,b",
        "--dir",
        d,
        "--key-type",
        "ec-p256",
        "-o",
        "json",
    ])
    .success();
    let report = out.json();
    assert_eq!(report["items"][1]["result"], "unchanged", "{report}");
    assert_eq!(report["items"][2]["result"], "created", "{report}");
    assert_openssl_verifies(&dir.join("b"));
    run(&["secret", "--contexts", "a,b", "--dir", d]).success();
    assert_cacerts_matches_dir(env, "a", &dir.join("a"));
    assert_cacerts_matches_dir(env, "b", &dir.join("b"));
    let printed = run(&["secret", "--generate", "--clusters", "a", "--dir", d]).success();
    assert!(printed.stdout.contains("name: cacerts"), "{}", printed.stdout);
    let doc = run(&["inspect", "--contexts", "a,b", "-o", "json"])
        .success()
        .json();
    assert_eq!(doc["sharedRoot"], true);
    let doc = run(&["inspect", "--dir", d, "-o", "json"]).success().json();
    assert_eq!(doc["sharedRoot"], true);
    run(&[
        "rotate",
        "--cluster",
        "b",
        "--dir",
        d,
        "--key-type",
        "ec-p256",
        "--apply-to",
        "b",
    ])
    .success();
    assert_cacerts_matches_dir(env, "b", &dir.join("b"));
    // Input errors keep their exit code through every entry point.
    assert_input_error(
        run(&["root", "--dir", d, "--key-type", "ec-p256"]),
        &["already exists"],
    );
    let help = run(&["--help"]).success();
    for sub in ["root", "intermediate", "generate", "secret", "inspect", "rotate"] {
        assert!(help.stdout.contains(sub), "{}", help.stdout);
    }
}

#[test]
fn every_subcommand_works_through_kubectl_mesh_certs() {
    let env = with_istio(&["a", "b"]);
    let base = env.dir.path().join("single");
    every_subcommand(&env, &base, &|args| env.bin("kubectl-mesh-certs", args));
}

#[test]
fn every_subcommand_works_through_kubectl_plugin_dispatch() {
    let env = with_istio(&["a", "b"]);
    let base = env.dir.path().join("plugin");
    every_subcommand(&env, &base, &|args| {
        let mut all = vec!["mesh", "certs"];
        all.extend_from_slice(args);
        env.kubectl(&all)
    });
}

#[test]
fn another_clusters_intermediate_is_refused_without_force() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    certs(&env, &["secret", "--contexts", "a,b", "--dir", s(&dir)]).success();
    reset_counts(&env, &["a", "b"]);

    // b's intermediate sent to a's cluster: a would then share b's identity.
    let run = certs(&env, &["secret", "--contexts", "b=a", "--dir", s(&dir)]).code(2);
    assert!(
        run.stderr
            .contains("cluster b (context a): its cacerts holds the intermediate of cluster a, not of b"),
        "{}",
        run.stderr
    );
    assert_no_writes(&env, &["a", "b"]);

    // rotate c's intermediate into a's context: refused before any file is rotated.
    let before = read(&dir.join("c/ca-cert.pem"));
    let run = rotate(&env, "c", s(&dir), &["--apply-to", "a"]).code(2);
    assert!(
        run.stderr.contains("--apply-to a is the context of cluster a"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&dir.join("c/ca-cert.pem")), before, "nothing rotated");
    assert_no_writes(&env, &["a"]);

    // With --force it is done, and the row names the context it went to.
    let run = rotate(&env, "c", s(&dir), &["--apply-to", "a", "--force"]).success();
    assert!(run.stdout.contains("c (context a)"), "{}", run.stdout);
}

#[test]
fn secret_hints_are_commands_that_work() {
    let env = three_clusters();
    generate(&env, "a");
    let dir = certs_dir(&env);
    std::fs::write(dir.join("a/ca-cert.pem"), "not a certificate\n").unwrap();
    let run = certs(&env, &["secret", "--contexts", "a", "--dir", s(&dir)]).code(2);
    let hint = format!(
        "kubectl mesh certs intermediate --cluster a --dir {} --force",
        dir.display()
    );
    assert!(
        run.stderr.contains(&hint),
        "the files exist: only --force replaces them\n{}",
        run.stderr
    );
    // The hinted command repairs it, from the same root.
    let root = read(&dir.join("root-cert.pem"));
    certs(
        &env,
        &[
            "intermediate",
            "--cluster",
            "a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--force",
        ],
    )
    .success();
    assert_eq!(read(&dir.join("root-cert.pem")), root, "the root is kept");
    certs(&env, &["secret", "--contexts", "a", "--dir", s(&dir)]).success();
}

#[test]
fn inspect_names_an_unreadable_bundle_instead_of_blaming_the_root() {
    let env = three_clusters();
    generate(&env, "a,b");
    let dir = certs_dir(&env);
    std::fs::write(dir.join("b/root-cert.pem"), "garbage\n").unwrap();
    let run = certs(&env, &["inspect", "--dir", s(&dir)]).code(1);
    assert!(
        run.stdout.contains("b/root-cert.pem: malformed PEM"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("could not read the certificates of b (see above); the others share one root"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("clusters do NOT share"), "{}", run.stdout);
}

#[test]
fn a_root_that_ends_soon_is_warned_about() {
    let env = three_clusters();
    let corp = env.dir.path().join("corp");
    let run = certs(
        &env,
        &[
            "root",
            "--dir",
            s(&corp),
            "--key-type",
            "ec-p256",
            "--days",
            "100",
        ],
    )
    .success();
    assert!(
        run.stderr.contains("warning: the root expires on"),
        "{}",
        run.stderr
    );
    let dir = certs_dir(&env);
    let cert = corp.join("root-cert.pem");
    let key = corp.join("root-key.pem");
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
        ],
    )
    .success();
    assert!(
        run.stderr
            .contains("intermediates are shortened to end with the root on"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("instead of 730"), "{}", run.stderr);
}

#[test]
fn a_cluster_named_root_is_not_the_root_ca() {
    let env = three_clusters();
    let dir = certs_dir(&env);
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "root,a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "-o",
            "json",
        ],
    )
    .success();
    let roles: Vec<(String, String)> = run.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("root".into(), "root".into()),
            ("root".into(), "intermediate".into()),
            ("a".into(), "intermediate".into())
        ]
    );
    let table = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "root,a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    )
    .success()
    .stdout;
    assert!(table.lines().any(|l| l.starts_with("root CA ")), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("root ") && l.contains("L=root")),
        "{table}"
    );
}
