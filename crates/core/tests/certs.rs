//! `certs` without the binary or a server: issuing into a directory, reading bundles back,
//! planning `cacerts` against what a cluster holds, and rotation. Keys are EC P-256 (fast);
//! cluster reads are given as [`Live`] values, so no request is ever sent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use kubectl_mesh_core::certs::inspect::{self, Inspected, Inspection};
use kubectl_mesh_core::certs::secret::{self, Live};
use kubectl_mesh_core::certs::{issue, rotate, Error};
use kubectl_mesh_core::kube::api::{ApiClient, RetryPolicy};
use kubectl_mesh_core::kube::clusters::{Cluster, ClusterError};
use kubectl_mesh_core::resources::cacerts;
use kubectl_mesh_core::InputError;
use mesh_trust::{CertsDir, Intermediate, KeyType, Options};
use serde_json::Value;
use tempfile::TempDir;

fn options() -> Options {
    Options {
        key_type: KeyType::EcP256,
        ..Default::default()
    }
}

fn names(clusters: &[&str]) -> Vec<String> {
    clusters.iter().map(|c| c.to_string()).collect()
}

/// A directory with a root and the intermediates of `clusters`.
fn generated(clusters: &[&str]) -> (TempDir, CertsDir) {
    let tmp = TempDir::new().expect("temp dir");
    let dir = CertsDir::new(tmp.path().join("certs"));
    issue::generate(&dir, &names(clusters), None, &options(), false, &|_| {}).expect("generate");
    (tmp, dir)
}

fn input(e: Error) -> InputError {
    e.into()
}

/// A cluster that is never called: its client points at a closed port. Needs a runtime.
fn offline(name: &str, context: &str) -> Cluster {
    let uri = "http://127.0.0.1:9".parse().expect("uri");
    let client = kube::Client::try_from(kube::Config::new(uri)).expect("client");
    Cluster {
        name: name.into(),
        context: context.into(),
        server: "http://127.0.0.1:9".into(),
        ca_pem: None,
        api: ApiClient::new(client, Duration::from_secs(1), RetryPolicy::default()),
    }
}

fn live(name: &str, secret: Result<Option<Value>, String>) -> Live {
    Live {
        cluster: offline(name, &format!("ctx-{name}")),
        secret: secret.map_err(|e| ClusterError::state(name, e)),
    }
}

fn bundles(dir: &CertsDir, clusters: &[&str]) -> BTreeMap<String, Intermediate> {
    let read = |c: &&str| (c.to_string(), dir.read_intermediate(c).expect("bundle"));
    clusters.iter().map(read).collect()
}

fn secret_of(bundle: &Intermediate) -> Value {
    cacerts::secret(bundle.entries())
}

// --- issue ---

#[test]
fn key_flags_are_checked() {
    let bad_type = input(issue::options("rsa-1024", None, "Istio").unwrap_err());
    assert!(bad_type.message.contains("invalid key type"), "{bad_type}");
    let empty_org = input(issue::options("ec-p256", None, "  ").unwrap_err());
    assert_eq!(empty_org.message, "--org is empty");
    assert_eq!(empty_org.hint.as_deref(), Some("omit it to use Istio"));
    let ok = issue::options("ec-p384", Some(30), "Corp").expect("valid");
    assert_eq!(
        (ok.key_type, ok.days, ok.org.as_str()),
        (KeyType::EcP384, Some(30), "Corp")
    );
}

#[test]
fn cluster_lists_are_checked() {
    let list = |l: &[&str]| issue::unique_names(&names(l)).map_err(input);
    assert_eq!(list(&[" a ", "", "b"]).expect("valid"), ["a", "b"]);
    assert!(list(&["a", "a"]).unwrap_err().message.contains("listed twice"));
    assert_eq!(list(&["", " "]).unwrap_err().message, "--clusters is empty");
    assert!(list(&["East_1"])
        .unwrap_err()
        .message
        .contains("invalid cluster name"));
}

#[test]
fn generate_creates_then_keeps() {
    let (_tmp, dir) = generated(&["east", "west"]);
    let rows = issue::generate(
        &dir,
        &names(&["east", "west", "north"]),
        None,
        &options(),
        false,
        &|_| {},
    )
    .expect("second run");
    let results: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r.name.as_str(), r.role, r.result)).collect();
    assert_eq!(
        results,
        [
            ("root", "root", "unchanged"),
            ("east", "intermediate", "unchanged"),
            ("west", "intermediate", "unchanged"),
            ("north", "intermediate", "created"),
        ]
    );
    assert!(rows
        .iter()
        .all(|r| r.root_fingerprint == rows[0].root_fingerprint));
    assert_eq!(rows[3].key_type, "ec-p256");
}

#[test]
fn generate_refuses_to_keep_an_intermediate_of_another_root() {
    let (_tmp, dir) = generated(&["east"]);
    std::fs::remove_file(dir.root_cert_path()).expect("remove root");
    std::fs::remove_file(dir.root_key_path()).expect("remove key");
    let error = input(
        issue::generate(&dir, &names(&["east", "west"]), None, &options(), false, &|_| {}).unwrap_err(),
    );
    assert!(error.message.contains("signed by a different root"), "{error}");
    assert!(!dir.root_exists(), "nothing was written");
}

#[test]
fn root_and_intermediate_are_not_overwritten_without_force() {
    let (_tmp, dir) = generated(&["east"]);
    let root = input(issue::root(&dir, None, &options(), false, &|_| {}).unwrap_err());
    assert!(root.message.ends_with("already exists"), "{root}");
    let again = input(issue::intermediate(&dir, "east", &options(), false, &|_| {}).unwrap_err());
    assert!(again.message.contains("already exists"), "{again}");
    let row = issue::intermediate(&dir, "east", &options(), true, &|_| {}).expect("forced");
    assert_eq!((row.result, row.role), ("created", "intermediate"));
}

#[test]
fn an_intermediate_needs_a_root() {
    let tmp = TempDir::new().expect("temp dir");
    let dir = CertsDir::new(tmp.path());
    let error = input(issue::intermediate(&dir, "east", &options(), false, &|_| {}).unwrap_err());
    assert!(error.message.starts_with("no root CA in"), "{error}");
    assert!(error.hint.is_some_and(|h| h.contains("kubectl mesh certs root")));
}

#[test]
fn a_root_ending_soon_is_warned_about() {
    let tmp = TempDir::new().expect("temp dir");
    let dir = CertsDir::new(tmp.path());
    let short = Options {
        days: Some(100),
        ..options()
    };
    issue::root(&dir, None, &short, false, &|_| {}).expect("root");
    let warnings = Mutex::new(Vec::new());
    let warn = |w: &str| warnings.lock().expect("warnings").push(w.to_string());
    issue::intermediate(&dir, "east", &options(), false, &warn).expect("intermediate");
    let warnings = warnings.into_inner().expect("warnings");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("the root expires on"));
    assert!(warnings[1].contains("intermediates are shortened"));
}

#[test]
fn trust_errors_get_the_hint_of_their_flag() {
    let tmp = TempDir::new().expect("temp dir");
    let missing = tmp.path().join("nope.pem");
    let byo = issue::Byo {
        cert: &missing,
        key: &missing,
    };
    let dir = CertsDir::new(tmp.path().join("certs"));
    let error = input(issue::root(&dir, Some(byo), &options(), false, &|_| {}).unwrap_err());
    assert!(error.message.contains("no such file"), "{error}");
    assert_eq!(error.hint.as_deref(), Some("check the path, or --dir"));
}

// --- secret ---

#[test]
fn a_bundle_that_cannot_be_read_says_how_to_get_one() {
    let (_tmp, dir) = generated(&["east"]);
    let absent = secret::bundle(&dir, "west").unwrap_err();
    assert!(absent
        .hint
        .is_some_and(|h| h.contains("certs generate --clusters west")));
    std::fs::remove_file(dir.cluster_dir("east").expect("dir").join("ca-key.pem")).expect("remove");
    let broken = secret::bundle(&dir, "east").unwrap_err();
    assert!(broken.message.starts_with("cluster east: "), "{broken}");
    assert!(broken
        .hint
        .is_some_and(|h| h.contains("certs intermediate --cluster east") && h.contains("--force")));
}

#[test]
fn generated_secrets_hold_each_clusters_bundle() {
    let (_tmp, dir) = generated(&["east", "west"]);
    let secrets = secret::secrets(&dir, &names(&["west", "east"])).expect("secrets");
    assert_eq!(secrets.len(), 2);
    let west = dir.read_intermediate("west").expect("west");
    // `assert!`, not `assert_eq!`: a failure must not print the private key.
    assert!(secrets[0] == secret_of(&west));
    assert_eq!(secrets[0]["metadata"]["name"], "cacerts");
}

#[tokio::test]
async fn jobs_are_planned_against_what_each_cluster_holds() {
    let (_tmp, dir) = generated(&["east", "west", "north"]);
    let bundles = bundles(&dir, &["east", "west", "north"]);
    let current = Some(secret_of(&bundles["west"]));
    let live = vec![
        live("east", Ok(None)),
        live("west", Ok(current)),
        live(
            "north",
            Err("cluster north (ctx-north): connection refused".into()),
        ),
        live("south", Ok(None)),
    ];
    let jobs = secret::jobs(live, &bundles, false).expect("no refusal");
    let plans: Vec<(&str, Result<bool, String>)> = jobs
        .iter()
        .map(|j| (j.cluster.name.as_str(), j.plan.clone().map_err(|e| e.to_string())))
        .collect();
    assert_eq!(
        plans,
        [
            ("east", Ok(false)),
            ("west", Ok(false)),
            (
                "north",
                Err("cluster north (ctx-north): connection refused".to_string())
            ),
        ],
        "south has no bundle, so no job"
    );
    assert!(jobs[0].secret == secret_of(&bundles["east"]), "east's own bundle");
}

#[tokio::test]
async fn another_root_or_identity_is_refused_without_force() {
    let (_tmp, dir) = generated(&["east", "west"]);
    let (_other_tmp, other) = generated(&["east"]);
    let ours = bundles(&dir, &["east", "west"]);
    let other_root = Some(secret_of(&other.read_intermediate("east").expect("other")));
    let wests = Some(secret_of(&ours["west"]));
    let lives = || vec![live("east", Ok(other_root.clone())), live("west", Ok(None))];
    let refused = secret::jobs(lives(), &ours, false).err().expect("refused");
    let error = refused.first("nothing was changed in any cluster", "pass --force to up");
    assert!(error.message.starts_with("cluster east (context ctx-east): the cacerts Secret in istio-system is signed by a different root"), "{error}");
    assert!(error.message.ends_with("\nnothing was changed in any cluster"));
    assert!(error
        .hint
        .is_some_and(|h| h.ends_with("pass --force to up to replace it")));

    let forced = secret::jobs(lives(), &ours, true).expect("forced");
    assert!(matches!(forced[0].plan, Ok(true)), "replaces the root");
    assert!(matches!(forced[1].plan, Ok(false)));

    let swapped = vec![live("east", Ok(wests)), live("west", Ok(other_root.clone()))];
    let error = secret::jobs(swapped, &ours, false).err().expect("refused").all();
    let lines: Vec<&str> = error.message.lines().collect();
    assert_eq!(lines.len(), 3, "{error}");
    assert!(lines[0].contains("its cacerts holds the intermediate of cluster west, not of east"));
    assert!(lines[1].contains("cluster west (context ctx-west): the cacerts Secret"));
    assert_eq!(lines[2], "nothing was changed");
    assert!(error.hint.is_some_and(|h| h.contains("name=context pairing")));
}

// --- inspect ---

fn inspected(fingerprint: &str, problems: &[&str]) -> Result<Inspected, String> {
    Ok(Inspected {
        cluster: String::new(),
        subject: String::new(),
        issuer: String::new(),
        key_type: String::new(),
        not_after: String::new(),
        days_left: 1,
        chains_to_root: true,
        problems: problems.iter().map(|p| p.to_string()).collect(),
        root_fingerprint: fingerprint.into(),
    })
}

fn inspection(results: Vec<(&str, Result<Inspected, String>)>) -> Inspection {
    let results = results.into_iter().map(|(n, r)| (n.to_string(), r)).collect();
    Inspection { results }
}

#[test]
fn inspection_tells_a_shared_root_from_an_unreadable_bundle() {
    let shared = inspection(vec![("a", inspected("R", &[])), ("b", inspected("R", &[]))]);
    assert!(shared.shared_root() && !shared.failed());
    assert_eq!(shared.roots(), 1);

    let split = inspection(vec![("a", inspected("R", &[])), ("b", inspected("S", &[]))]);
    assert!(!split.shared_root() && split.failed());
    assert_eq!(split.roots(), 2);

    let unreadable = inspection(vec![("a", inspected("R", &[])), ("b", Err("no cacerts".into()))]);
    assert!(!unreadable.shared_root() && unreadable.failed());
    assert_eq!((unreadable.unreadable(), unreadable.roots()), (vec!["b"], 1));

    let expiring = inspection(vec![("a", inspected("R", &["expires in 3 days"]))]);
    assert!(expiring.shared_root() && expiring.failed());
    assert!(!inspection(Vec::new()).shared_root());
}

#[test]
fn inspection_from_a_directory() {
    let (_tmp, dir) = generated(&["west", "east"]);
    let found = inspect::from_dir(&dir).expect("inspection");
    let clusters: Vec<&str> = found.results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(clusters, ["east", "west"]);
    assert!(found.shared_root() && !found.failed());
    let east = found.results[0].1.as_ref().expect("east");
    assert!(east.chains_to_root && east.subject.contains("east"), "{east:?}");

    let empty = TempDir::new().expect("temp dir");
    let error = input(inspect::from_dir(&CertsDir::new(empty.path())).unwrap_err());
    assert!(error.message.starts_with("no cluster certificates in"), "{error}");
}

#[test]
fn a_live_bundle_needs_every_entry() {
    let (_tmp, dir) = generated(&["east"]);
    let bundle = dir.read_intermediate("east").expect("east");
    let secret = secret_of(&bundle);
    assert_eq!(inspect::bundle_of("east", Some(&secret)).expect("bundle"), bundle);
    let absent = inspect::bundle_of("east", None).unwrap_err();
    assert!(absent.contains("no cacerts Secret in istio-system"), "{absent}");
    let mut partial = secret.clone();
    partial["data"]
        .as_object_mut()
        .expect("data")
        .remove("cert-chain.pem");
    let error = inspect::bundle_of("east", Some(&partial)).unwrap_err();
    assert_eq!(error, "cluster east: cacerts has no cert-chain.pem");
}

// --- rotate ---

#[test]
fn rotation_is_checked_before_anything_is_written() {
    let (_tmp, dir) = generated(&["east", "west"]);
    let nothing = input(rotate::check(&dir, "north", None, false).unwrap_err());
    assert!(
        nothing.message.starts_with("cluster north: nothing to rotate"),
        "{nothing}"
    );
    let other = input(rotate::check(&dir, "west", Some("east"), false).unwrap_err());
    assert!(
        other
            .message
            .contains("--apply-to east is the context of cluster east"),
        "{other}"
    );
    assert!(
        rotate::check(&dir, "west", Some("east"), true).is_ok(),
        "--force allows it"
    );
    assert!(rotate::check(&dir, "west", Some("west"), false).is_ok());
    assert!(rotate::check(&dir, "west", Some("kind-west"), false).is_ok());
}

#[tokio::test]
async fn rotation_keeps_the_old_files_and_the_root() {
    let (_tmp, dir) = generated(&["east"]);
    let before = dir.read_intermediate("east").expect("before");
    let root = rotate::check(&dir, "east", None, false).expect("checked");
    let rotation = rotate::rotate(&dir, &root, "east", &options(), &[], false, &|_| {})
        .await
        .expect("rotated");
    let after = dir.read_intermediate("east").expect("after");
    assert_ne!(after.ca_cert, before.ca_cert);
    assert_eq!(after.root_cert, before.root_cert);
    assert_eq!((rotation.row.result, rotation.jobs.len()), ("rotated", 0));
    let kept = std::fs::read_to_string(rotation.backup.join("ca-cert.pem")).expect("backup");
    assert_eq!(kept, before.ca_cert);
}
