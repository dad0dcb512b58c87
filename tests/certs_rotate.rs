//! `kubectl mesh certs rotate`: a new intermediate from the same root with a backup of the old
//! one, applied to a cluster with `--apply-to`; bad input and another root in the cluster
//! change nothing.

mod common;

use std::path::PathBuf;

use common::certs::*;
use common::*;

#[test]
fn rotate_issues_a_new_intermediate_and_keeps_a_backup() {
    let env = three_clusters();
    generate(&env, "a,b");
    let dir = certs_dir(&env);
    secret(&env, "a,b", &dir, &[]).success();
    let old = snapshot(&dir.join("a"));
    let old_ca = read(&dir.join("a/ca-cert.pem"));
    let old_key = read(&dir.join("a/ca-key.pem"));
    let root = read(&dir.join("root-cert.pem"));
    let b_before = snapshot(&dir.join("b"));

    let run = rotate(&env, "a", &dir, &[]).success();
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
    let run = rotate(&env, "a", &dir, &["--apply-to", "a"]).success();
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
    let run = rotate(&env, "b", &dir, &[]);
    assert_input_error(
        run,
        &["cluster b", "nothing to rotate", "certs intermediate --cluster b"],
    );
    // An unknown context.
    let run = rotate(&env, "a", &dir, &["--apply-to", "nope"]);
    assert_input_error(run, &["nope"]);
    // No root.
    let empty = env.dir.path().join("empty");
    let run = rotate(&env, "a", &empty, &[]);
    assert_input_error(run, &["no root CA"]);
    assert!(!empty.exists());
    assert_eq!(snapshot(&dir), before);

    // The cluster's cacerts comes from another root: replacing it needs --force.
    another_meshs_cacerts(&env, "a");
    let live = secret_of(&env, "a").unwrap();
    reset_counts(&env, &["a"]);
    let run = rotate(&env, "a", &dir, &["--apply-to", "a"]);
    assert_input_error(run, &["cluster a", "different root", "--force"]);
    assert_eq!(snapshot(&dir), before, "no files rotated");
    assert_no_writes(&env, &["a"]);
    assert_eq!(secret_of(&env, "a").unwrap()["data"], live["data"]);
    let run = rotate(&env, "a", &dir, &["--apply-to", "a", "--force"]).success();
    assert!(run.stderr.contains("istiod must restart"), "{}", run.stderr);
    assert_cacerts_matches_dir(&env, "a", &dir.join("a"));
}

/// A rotation keeps the intermediate's key type unless --key-type says otherwise: an EC mesh
/// does not silently get an RSA intermediate.
#[test]
fn rotate_keeps_the_key_type_unless_told() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    // The helpers pass --key-type ec-p256 (fast keys): generate makes EC keys, rotate is run
    // without them to see what it chooses.
    generate_into(&env, "a", &dir, &[]).success();
    let bare_rotate = |extra: &[&str]| {
        env.mesh(
            &[
                &["certs", "rotate", "--cluster", "a", "--dir", s(&dir)][..],
                extra,
            ]
            .concat(),
        )
    };
    let key_type = |dir: &std::path::Path| {
        let text = openssl_ok(&dir.join("a"), &["x509", "-noout", "-text", "-in", "ca-cert.pem"]);
        match (
            text.contains("prime256v1"),
            text.contains("RSA Public-Key: (2048 bit)") || text.contains("Public-Key: (2048 bit)"),
        ) {
            (true, _) => "ec-p256",
            (false, true) => "rsa-2048",
            _ => "other",
        }
    };
    assert_eq!(key_type(&dir), "ec-p256");
    bare_rotate(&[]).success();
    assert_eq!(key_type(&dir), "ec-p256", "kept");
    bare_rotate(&["--key-type", "rsa-2048"]).success();
    assert_eq!(key_type(&dir), "rsa-2048", "as told");
}
