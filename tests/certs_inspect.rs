//! `kubectl mesh certs inspect`: the intermediates in `--dir` or in clusters' cacerts, whether
//! they share one root, in the table, JSON and YAML; different roots, a cluster without
//! cacerts, an unreadable bundle, an empty dir.

mod common;

use std::path::Path;

use common::certs::*;
use common::*;
use serde_json::Value;

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

    secret(&env, "a,b,c", &dir, &[]).success();
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
    secret(&env, "a,b", &dir, &[]).success();
    let other = another_meshs_cacerts(&env, "c");

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
