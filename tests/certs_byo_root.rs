//! Bringing your own root to `kubectl mesh certs root` and `certs generate`
//! (`--root-cert`/`--root-key`): an openssl-made root is adopted and signs the intermediates;
//! a key that does not match, a non-CA, an expired root, garbage or a missing file is refused
//! naming the file, and nothing is written.

mod common;

use std::path::Path;

use common::certs::*;
use common::*;

#[test]
fn byo_root_from_openssl_with_certs_root_and_generate() {
    let env = start(Vec::new());
    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");

    // certs root adopts it.
    let dir = env.dir.path().join("adopted");
    let run = adopt_root(&env, &dir, &cert, &key, &["-o", "json"]).success();
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
    adopt_root(&env, &dir, &cert, &key, &[]).success();
    assert_eq!(snapshot(&dir), before);
    intermediate(&env, "a", &dir, &[]).success();
    assert_openssl_verifies(&dir.join("a"));

    // certs generate signs with it directly.
    let dir = env.dir.path().join("generated");
    generate_into(&env, "a,b", &dir, &root_flags(&cert, &key)).success();
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
    let root = adopt_root(env, &dir, cert, key, &[]);
    assert_input_error(root, needles);
    assert!(!dir.exists(), "certs root wrote {}", dir.display());
    let generate = generate_into(env, "a,b", &dir, &root_flags(cert, key));
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
    let not_ca = ["-days", "30", "-addext", "basicConstraints=critical,CA:false"];
    openssl_leaf(&corp, "-x509", "leaf-cert.pem", "/CN=not a ca", &not_ca);
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
    let run = adopt_root(&env, &env.dir.path().join("swapped"), &key, &cert, &[]);
    let run = assert_input_error(run, &["good-key.pem"]);
    // The message may name the PEM label it found, never the key itself.
    for line in key_bodies(std::slice::from_ref(&key)) {
        assert!(!run.stderr.contains(&line), "{}", run.stderr);
    }
    // A missing file.
    assert_byo_refused(&env, &corp.join("nope.pem"), &key, &["nope.pem"]);
}
