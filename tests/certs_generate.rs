//! `kubectl mesh certs root`, `intermediate` and `generate` making a mesh's certificates in
//! `--dir`: the files and their modes for every key type, chains that openssl verifies, a
//! re-run that keeps what is there, and what is said about the root's lifetime and name.

mod common;

use common::certs::*;
use common::*;

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
    root(&env, &dir, &[]).success();
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
    intermediate(&env, "x", &dir, &[]).success();
    assert_eq!(mode(&dir.join("x")), 0o700);
    assert_eq!(mode(&dir.join("x/ca-key.pem")), 0o600);
    assert_openssl_verifies(&dir.join("x"));
}

#[test]
fn generate_rerun_keeps_existing_intermediates() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a,b");
    let before = snapshot(&dir);
    let run = generate_into(&env, "a,b,c", &dir, &["-o", "json"]).success();
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
fn a_root_that_ends_soon_is_warned_about() {
    let env = three_clusters();
    let corp = env.dir.path().join("corp");
    let run = root(&env, &corp, &["--days", "100"]).success();
    assert!(
        run.stderr.contains("warning: the root expires on"),
        "{}",
        run.stderr
    );
    let dir = certs_dir(&env);
    let cert = corp.join("root-cert.pem");
    let key = corp.join("root-key.pem");
    let run = generate_into(&env, "a", &dir, &root_flags(&cert, &key)).success();
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
    let run = generate_into(&env, "root,a", &dir, &["-o", "json"]).success();
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
    let table = generate_into(&env, "root,a", &dir, &[]).success().stdout;
    assert!(table.lines().any(|l| l.starts_with("root CA ")), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("root ") && l.contains("L=root")),
        "{table}"
    );
}
