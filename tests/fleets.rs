//! Fleets (issue 14): topologies other than the full mesh in `link`, `verify` and the topology
//! file, end to end on testkit clusters.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

const FOUR: [&str; 4] = ["a", "b", "c", "d"];

/// Clusters with their east-west gateways exposed and addressed.
fn exposed(names: &[&str]) -> Env {
    let env = with_istio(names);
    env.mesh(&["expose", "--contexts", &names.join(","), "--wait=30s"])
        .success();
    env
}

/// Every `from -> to` peer Gateway of ours that the clusters hold.
fn live_links(env: &Env, names: &[&str]) -> BTreeSet<String> {
    let mut links = BTreeSet::new();
    for from in names {
        for gateway in env
            .cluster(from)
            .objects("/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways")
        {
            if let Some(to) = gateway["metadata"]["labels"]["kubectl-mesh.io/peer-cluster"].as_str() {
                links.insert(format!("{from}->{to}"));
            }
        }
    }
    links
}

/// `from->to` for each of `pairs` ("a:b") in both directions.
fn both_ways(pairs: &[&str]) -> BTreeSet<String> {
    pairs
        .iter()
        .flat_map(|p| {
            let (a, b) = p.split_once(':').unwrap();
            [format!("{a}->{b}"), format!("{b}->{a}")]
        })
        .collect()
}

/// The `from->to` of each link of a `link -o json` report with `result`.
fn reported(run: &Run, result: &str) -> BTreeSet<String> {
    links(run)
        .iter()
        .filter(|l| l["result"] == result)
        .map(|l| format!("{}->{}", l["from"].as_str().unwrap(), l["to"].as_str().unwrap()))
        .collect()
}

fn link(env: &Env, args: &[&str]) -> Run {
    let mut full = vec!["link", "--contexts", "a,b,c,d", "-o", "json"];
    full.extend(args);
    env.mesh(&full)
}

#[test]
fn hub_and_spoke_then_full_mesh_then_back_with_prune() {
    let env = exposed(&FOUR);
    let hub = both_ways(&["a:b", "a:c", "a:d"]);

    let run = link(&env, &["--hub", "a"]).success();
    assert_eq!(links(&run).len(), 6, "{}", run.stdout);
    assert_eq!(reported(&run, "created"), hub);
    assert_eq!(live_links(&env, &FOUR), hub, "exactly the 6 directed links");

    // Full mesh: the 6 spoke links are added, the hub's stay as they are.
    let run = link(&env, &[]).success();
    assert_eq!(reported(&run, "unchanged"), hub);
    assert_eq!(reported(&run, "created").len(), 6);
    assert_eq!(live_links(&env, &FOUR).len(), 12);

    // Back to hub-and-spoke without --prune: nothing outside the wanted pairs is touched.
    reset_counts(&env, &FOUR);
    let run = link(&env, &["--topology", "hub-and-spoke", "--hub", "a"]).success();
    assert_links_all(&run, "unchanged");
    assert_no_writes(&env, &FOUR);
    assert_eq!(live_links(&env, &FOUR).len(), 12);

    // With --prune: the spokes' links to each other go, the hub's stay.
    let run = link(&env, &["--hub", "a", "--prune"]).success();
    assert_eq!(reported(&run, "unchanged"), hub);
    let spokes = both_ways(&["b:c", "b:d", "c:d"]);
    assert_eq!(reported(&run, "deleted"), spokes);
    assert_eq!(live_links(&env, &FOUR), hub);
}

#[test]
fn groups_with_a_cross_pair() {
    let names = ["e1", "e2", "w1", "w2", "x"];
    let env = exposed(&names);
    let run = env
        .mesh(&[
            "link",
            "--contexts",
            "e1,e2,w1,w2,x",
            "--group",
            "east=e1,e2",
            "--group",
            "west=w1,w2",
            "--pairs",
            "e1:w1,west:x",
            "-o",
            "json",
        ])
        .success();
    let wanted = both_ways(&["e1:e2", "w1:w2", "e1:w1", "w1:x", "w2:x"]);
    assert_eq!(reported(&run, "created"), wanted);
    assert_eq!(live_links(&env, &names), wanted);
}

#[test]
fn bad_topology_input_exits_2_and_writes_nothing() {
    let env = exposed(&["a", "b", "c"]);
    reset_counts(&env, &["a", "b", "c"]);
    for (args, expected) in [
        (
            vec!["--hub", "zz"],
            "error: --hub zz: hub zz is not one of the clusters being linked",
        ),
        (
            vec!["--pairs", "a:b,c:c"],
            "error: --pairs c:c: pair c:c links c with itself",
        ),
        (
            vec!["--group", "x=a,b", "--group", "y=b,c"],
            "error: --group y=b,c: cluster b is in two groups, x and y",
        ),
        (
            vec!["--group", "x=a,b", "--group", "y="],
            "error: --group y=: group y is empty",
        ),
        (
            vec!["--group", "x"],
            "error: --group x: \"x\" is not NAME=CLUSTER,...",
        ),
        (
            vec!["--hub", "a", "--pairs", "b:c"],
            "error: --pairs: a hub-and-spoke topology takes no pairs",
        ),
        (
            vec!["--topology", "pairs"],
            "error: --pairs: a pairs topology needs at least one pair",
        ),
        (
            vec!["--topology", "ring"],
            "error: invalid value 'ring' for '--topology <TOPOLOGY>'",
        ),
    ] {
        let mut full = vec!["link", "--contexts", "a,b,c"];
        full.extend(args.iter());
        let run = env.mesh(&full).code(2);
        assert!(run.stderr.starts_with(expected), "{full:?}: {}", run.stderr);
        if !expected.contains("invalid value") {
            assert!(run.stderr.contains("hint: "), "{full:?}: {}", run.stderr);
        }
        // verify shares the flags and their checks.
        full[0] = "verify";
        let run = env.mesh(&full).code(2);
        assert!(
            run.stderr.starts_with(expected),
            "verify {full:?}: {}",
            run.stderr
        );
    }
    let run = env
        .mesh(&["link", "--from", "a", "--to", "b", "--hub", "a"])
        .code(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    for name in ["a", "b", "c"] {
        assert_eq!(
            env.cluster(name).counts().total(),
            0,
            "no request at all to {name}"
        );
    }
}

/// `verify -o json`: its exit code and report.
fn verify(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut full = vec!["verify", "-o", "json"];
    full.extend(args);
    let run = env.mesh(&full);
    (run.code, run.json())
}

fn link_checks(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "link")
        .map(|c| {
            (
                format!("{}->{}", c["from"].as_str().unwrap(), c["to"].as_str().unwrap()),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn verify_with_the_topology_passes_where_full_mesh_verify_fails() {
    let env = with_istio(&FOUR);
    with_trust(&env, &FOUR);
    env.mesh(&["expose", "--contexts", "a,b,c,d", "--wait=30s"])
        .success();
    link(&env, &["--hub", "a"]).success();

    let (code, report) = verify(&env, &["--contexts", "a,b,c,d"]);
    assert_eq!(code, 1, "full mesh expected: the spokes' links are missing");
    assert_eq!(
        link_checks(&report).iter().filter(|(_, s)| s == "fail").count(),
        6
    );

    let (code, report) = verify(&env, &["--contexts", "a,b,c,d", "--hub", "a"]);
    assert_eq!(code, 0, "{report:#}");
    let checks = link_checks(&report);
    assert_eq!(checks.len(), 6, "only the wanted pairs: {checks:?}");
    assert!(checks.iter().all(|(_, s)| s == "pass"), "{checks:?}");
    assert_eq!(
        report["topology"],
        serde_json::json!({"name": "hub-and-spoke", "expectedLinks": 6})
    );
    let table = env
        .mesh(&["verify", "--contexts", "a,b,c,d", "--hub", "a"])
        .success()
        .stdout;
    assert!(table.contains("links of the hub-and-spoke topology"), "{table}");
    assert!(table.contains("  b   ✔   ·   ○   ○"), "{table}");

    // A link the topology does not want: a warning (exit 3 with --strict), with its removal.
    env.mesh(&["link", "--from", "b", "--to", "c"]).success();
    let (code, report) = verify(&env, &["--contexts", "a,b,c,d", "--hub", "a", "--strict"]);
    assert_eq!(code, 3, "{report:#}");
    let unwanted = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "link" && c["from"] == "b" && c["to"] == "c")
        .cloned()
        .unwrap();
    assert_eq!(unwanted["status"], "warn");
    assert_eq!(
        unwanted["message"],
        "linked, but the hub-and-spoke topology does not link b to c"
    );
    assert_eq!(unwanted["hint"], "kubectl mesh link --from b --to c --unlink");
    // Without a topology, nothing changes: every pair is checked.
    let (_, report) = verify(&env, &["--contexts", "a,b,c,d"]);
    assert_eq!(link_checks(&report).len(), 12);
}

/// `verify --traffic` with a topology: each client hears its own cluster and those it links
/// to; an answer across a link the topology does not want is a warning.
#[test]
fn traffic_follows_the_topology() {
    let names = ["a", "b", "c"];
    let env = with_istio(&names);
    with_trust(&env, &names);
    env.mesh(&["expose", "--contexts", "a,b,c", "--wait=30s"])
        .success();
    env.mesh(&["link", "--contexts", "a,b,c", "--hub", "a"]).success();
    let traffic = ["--traffic", "--contexts", "a,b,c", "--hub", "a", "--strict"];

    let (code, report) = verify(&env, &traffic);
    assert_eq!(code, 0, "{report:#}");
    let mut pairs = traffic_pairs(&report);
    pairs.sort();
    assert_eq!(
        pairs,
        ["a->a", "a->b", "a->c", "b->a", "b->b", "c->a", "c->c"].map(|p| (p.to_string(), "pass".to_string())),
        "spokes expect the hub and themselves only"
    );

    env.mesh(&["link", "--from", "b", "--to", "c"]).success();
    let (code, report) = verify(&env, &traffic);
    assert_eq!(code, 3, "a warning: {report:#}");
    let unwanted = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "traffic" && c["from"] == "b" && c["to"] == "c")
        .cloned()
        .unwrap();
    assert_eq!(unwanted["status"], "warn", "{unwanted:#}");
    assert!(
        unwanted["message"]
            .as_str()
            .unwrap()
            .contains("which the hub-and-spoke topology does not link to it"),
        "{unwanted:#}"
    );
    assert_eq!(unwanted["hint"], "kubectl mesh link --from b --to c --unlink");
}

/// `(from->to, status)` of every pair check of `--traffic`.
fn traffic_pairs(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "traffic" && c["from"].is_string())
        .map(|c| {
            (
                format!("{}->{}", c["from"].as_str().unwrap(), c["to"].as_str().unwrap()),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn generate_prints_the_links_of_the_topology_by_source() {
    let env = exposed(&FOUR);
    reset_counts(&env, &FOUR);
    let run = env
        .mesh(&["link", "--contexts", "a,b,c,d", "--hub", "a", "--generate"])
        .success();
    assert_no_writes(&env, &FOUR);
    let text = run.stdout;
    assert_eq!(text.matches("kind: Gateway").count(), 6, "{text}");
    assert!(
        text.starts_with("# in cluster a: kubectl --context a apply --server-side -f -\n---\n"),
        "{text}"
    );
    // Each spoke holds one link: to the hub.
    let of_b = text.split("# in cluster b:").nth(1).unwrap();
    let of_b = of_b.split("# in cluster c:").next().unwrap();
    assert_eq!(of_b.matches("kind: Gateway").count(), 1, "{of_b}");
    assert!(of_b.contains("name: istio-remote-peer-a\n"), "{of_b}");

    let json = env
        .mesh(&[
            "link",
            "--contexts",
            "a,b,c,d",
            "--hub",
            "a",
            "--generate",
            "-o",
            "json",
        ])
        .success()
        .json();
    assert_eq!(json["kind"], "LinkObjects");
    let counts: Vec<(String, usize)> = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["cluster"].as_str().unwrap().to_string(),
                s["items"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("a".into(), 3), ("b".into(), 1), ("c".into(), 1), ("d".into(), 1)]
    );
}

fn up(env: &Env, file: &str) -> Run {
    let values = env.dir.path().join("values");
    env.mesh(&[
        "up",
        "-f",
        file,
        "--values-dir",
        values.to_str().unwrap(),
        "--wait=30s",
        "-o",
        "json",
    ])
}

const FOUR_CONTEXTS: &str =
    "contexts:\n  a: {network: net-1}\n  b: {network: net-1}\n  c: {network: net-2}\n  d: {network: net-2}\n";

#[test]
fn up_with_a_links_section_links_verifies_and_converges() {
    let env = with_bare_istio(&FOUR);
    let hub_file = format!("{FOUR_CONTEXTS}links:\n  topology: hub-and-spoke\n  hubs: [a]\n");
    let file = write_topology(&env, &hub_file);
    let run = up(&env, &file).success();
    let steps = run.json()["steps"].as_array().cloned().unwrap();
    let links = steps.iter().filter(|s| s["step"] == "link").count();
    assert_eq!(links, 6, "{steps:#?}");
    let verified = steps.iter().find(|s| s["step"] == "verify").unwrap();
    assert!(verified.get("error").is_none(), "{verified:#}");
    let hub = both_ways(&["a:b", "a:c", "a:d"]);
    assert_eq!(live_links(&env, &FOUR), hub);
    let (code, report) = verify(&env, &["-f", &file]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(link_checks(&report).len(), 6);

    // The file goes full mesh: up adds the spokes' links...
    write_topology(&env, FOUR_CONTEXTS);
    up(&env, &file).success();
    assert_eq!(live_links(&env, &FOUR).len(), 12);
    // ... and back: up converges, so the links the file no longer wants go.
    write_topology(&env, &hub_file);
    let run = up(&env, &file).success();
    assert_eq!(live_links(&env, &FOUR), hub, "{}", run.stdout);
    let (code, _) = verify(&env, &["-f", &file]);
    assert_eq!(code, 0);
}

/// `up` removes the links its topology no longer wants, but only its own mesh's: a link a
/// plain `link` made stays (verify warns about it), whichever object the flavour links with.
#[test]
fn up_prunes_only_its_own_meshs_links_in_either_flavour() {
    for (flavor, mode, path) in [
        ("ambient-peering", "peering", peer_path("c")),
        (
            "ambient",
            "remote-secret",
            "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-c".to_string(),
        ),
    ] {
        let env = with_bare_istio(&FOUR);
        let file = write_topology(
            &env,
            &format!("flavor: {flavor}\n{FOUR_CONTEXTS}links: {{hubs: [a]}}\n"),
        );
        up(&env, &file).success();
        env.mesh(&["link", "--mode", mode, "--from", "b", "--to", "c"])
            .success();
        assert!(
            env.cluster("b").object(&path).is_some(),
            "{flavor}: b -> c by hand"
        );
        let run = up(&env, &file).success();
        assert!(
            env.cluster("b").object(&path).is_some(),
            "{flavor}: not this mesh's, kept\n{}",
            run.stdout
        );
        let (code, report) = verify(&env, &["-f", &file]);
        assert_eq!(code, 0, "{flavor}: {report:#}");
        let b_to_c = link_checks(&report)
            .into_iter()
            .find(|(pair, _)| pair == "b->c")
            .unwrap_or_else(|| panic!("{flavor}: b -> c checked: {report:#}"));
        assert_eq!(b_to_c.1, "warn", "{flavor}: {report:#}");
    }
}

/// The `link` rows of an `up -o json` run: (pair, result, error).
fn link_rows(run: &Run) -> Vec<(String, String, String)> {
    run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "link")
        .map(|s| {
            let text = |key: &str| s[key].as_str().unwrap_or_default().to_string();
            (text("target"), text("result"), text("error"))
        })
        .collect()
}

/// A member that does not answer: each of its pairs gets a row saying so, the links to it
/// the file wants stay, those it no longer wants go from the members at hand, and the
/// verify row names what it could not check.
#[test]
fn up_with_a_member_down_reports_its_pairs_and_still_prunes_the_others() {
    let env = with_bare_istio(&FOUR);
    let file = write_topology(&env, FOUR_CONTEXTS);
    up(&env, &file).success();
    assert_eq!(live_links(&env, &FOUR).len(), 12);
    env.cluster("c").set_down(true);
    write_topology(&env, &format!("{FOUR_CONTEXTS}links: {{hubs: [a]}}\n"));
    let values = env.dir.path().join("values");
    let run = env
        .mesh(&[
            "up",
            "-f",
            &file,
            "--values-dir",
            values.to_str().unwrap(),
            "--timeout",
            "2s",
            "-o",
            "json",
        ])
        .code(1);
    let rows = link_rows(&run);
    for pair in ["a -> c", "c -> a"] {
        let row = rows
            .iter()
            .find(|r| r.0 == pair)
            .unwrap_or_else(|| panic!("{pair}: {rows:#?}"));
        assert_eq!(row.1, "failed", "{row:?}");
        assert!(row.2.contains("skipped: cluster c is unreachable"), "{row:?}");
    }
    // b -> c and d -> c live in b and d, which answer: the hub topology does not want them.
    let left = live_links(&env, &["a", "b", "d"]);
    let wanted: BTreeSet<String> = ["a->b", "a->c", "a->d", "b->a", "d->a"].map(String::from).into();
    assert_eq!(left, wanted, "{rows:#?}");
    let verify_row = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "verify")
        .cloned()
        .expect("verify row");
    let summary = verify_row["result"].as_str().unwrap();
    assert!(summary.contains(" warnings, "), "{summary}");
    assert!(summary.ends_with("not checked: c (left out above)"), "{summary}");
}

/// `up --dry-run` says per pair what the link step would change, as `link --dry-run` does.
#[test]
fn up_dry_run_lists_each_link_it_would_change() {
    let env = with_bare_istio(&FOUR);
    let file = write_topology(&env, FOUR_CONTEXTS);
    // Before anything is exposed: each pair is what the run would link, nothing failed.
    let run = env
        .mesh(&["up", "-f", &file, "--dry-run=client", "-o", "json"])
        .success();
    // Progress says what would happen too.
    assert!(
        run.stderr.contains("east-west gateway would be created"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("east-west gateway created"),
        "{}",
        run.stderr
    );
    let rows = link_rows(&run);
    assert_eq!(rows.len(), 12, "{rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r.1.starts_with("would create") && r.1.contains("east-west gateway has an address")),
        "{rows:#?}"
    );
    up(&env, &file).success();
    write_topology(&env, &format!("{FOUR_CONTEXTS}links: {{hubs: [a]}}\n"));
    let run = env
        .mesh(&["up", "-f", &file, "--dry-run=client", "-o", "json"])
        .success();
    let mut deleted: Vec<String> = link_rows(&run)
        .into_iter()
        .filter(|r| r.1 == "would delete")
        .map(|r| r.0)
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["b -> c", "b -> d", "c -> b", "c -> d", "d -> b", "d -> c"]
    );
    assert_eq!(live_links(&env, &FOUR).len(), 12, "a dry run deletes nothing");
}

/// `up --generate DIR` again after the topology changed: files it no longer asks for go, so
/// a folder applied as a whole does not keep the links the topology dropped; the folder of
/// a cluster the file no longer names is pointed out.
#[test]
fn generate_again_removes_what_the_topology_dropped() {
    let env = with_bare_istio(&FOUR);
    let file = write_topology(&env, FOUR_CONTEXTS);
    let out = env.dir.path().join("out");
    let generate = |extra: &[&str]| {
        env.mesh(
            &[
                &[
                    "up",
                    "-f",
                    &file,
                    "--generate",
                    out.to_str().unwrap(),
                    "-o",
                    "json",
                ][..],
                extra,
            ]
            .concat(),
        )
    };
    up(&env, &file).success(); // the east-west addresses links are described with
    generate(&[]).success();
    assert!(out.join("d/links.yaml").is_file());
    // d leaves the file, c links to nobody.
    write_topology(
        &env,
        "contexts:\n  a: {network: net-1}\n  b: {network: net-1}\n  c: {network: net-2}\nlinks:\n  groups:\n    x: [a, b]\n    y: [c]\n",
    );
    let run = generate(&[]).success();
    assert!(!out.join("c/links.yaml").exists(), "{}", run.stdout);
    assert!(out.join("a/links.yaml").is_file());
    assert!(out.join("c/eastwest.yaml").is_file());
    let steps = run.json()["steps"].as_array().cloned().unwrap();
    let said = |needle: &str| {
        steps
            .iter()
            .any(|s| s["result"].as_str().unwrap_or_default().contains(needle))
    };
    assert!(said("c/links.yaml: the file no longer asks for it"), "{steps:#?}");
    assert!(
        said("holds files generated for d, which the file no longer names"),
        "{steps:#?}"
    );
    assert!(
        out.join("d/links.yaml").is_file(),
        "a former member's folder is not deleted"
    );
}

#[test]
fn up_with_bad_links_exits_2_and_writes_nothing() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(
        &env,
        "contexts:\n  a: {network: n}\n  b: {network: n}\nlinks:\n  hubs: [a, z]\n",
    );
    reset_counts(&env, &["a", "b"]);
    let run = up(&env, &file).code(2);
    assert!(
        run.stderr
            .contains("mesh.yaml:7:13: links.hubs[1]: hub z is not one of the clusters being linked"),
        "{}",
        run.stderr
    );
    let run = env.mesh(&["verify", "-f", &file]).code(2);
    assert!(run.stderr.contains("links.hubs[1]"), "{}", run.stderr);
    for name in ["a", "b"] {
        assert_eq!(
            env.cluster(name).counts().total(),
            0,
            "no request at all to {name}"
        );
    }
    assert!(!env.dir.path().join("certs").exists(), "no key material either");
}

#[test]
fn remote_secrets_follow_the_topology_too() {
    let env = with_istio(&["a", "b", "c"]);
    let secrets = |env: &Env| -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for from in ["a", "b", "c"] {
            for to in ["a", "b", "c"] {
                let path = format!("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-{to}");
                if env.cluster(from).object(&path).is_some() {
                    found.insert(format!("{from}->{to}"));
                }
            }
        }
        found
    };
    let args = ["link", "--mode", "remote-secret", "--contexts", "a,b,c"];
    env.mesh(&[&args[..], &["--pairs", "a:b"]].concat()).success();
    assert_eq!(secrets(&env), both_ways(&["a:b"]));
    env.mesh(&args).success();
    assert_eq!(secrets(&env).len(), 6);
    env.mesh(&[&args[..], &["--pairs", "a:b,b:c", "--prune"]].concat())
        .success();
    assert_eq!(secrets(&env), both_ways(&["a:b", "b:c"]));
}

#[test]
fn up_generate_writes_only_the_links_the_file_wants() {
    let env = with_bare_istio(&FOUR);
    let file = write_topology(&env, &format!("{FOUR_CONTEXTS}links: {{hubs: [a]}}\n"));
    up(&env, &file).success();
    let out = env.dir.path().join("out");
    let values = env.dir.path().join("values");
    env.mesh(&[
        "up",
        "-f",
        &file,
        "--generate",
        out.to_str().unwrap(),
        "--values-dir",
        values.to_str().unwrap(),
    ])
    .success();
    let gateways = |cluster: &str| {
        let text = std::fs::read_to_string(out.join(cluster).join("links.yaml")).unwrap();
        text.matches("kind: Gateway").count()
    };
    assert_eq!(gateways("a"), 3);
    for spoke in ["b", "c", "d"] {
        assert_eq!(gateways(spoke), 1, "{spoke} links to the hub only");
    }
}

/// A fleet large enough that every source's list of Gateways is over 64 KiB of JSON (the
/// client decodes such lists in tasks of their own, and verify checks pairs on every core):
/// all 870 pairs pass, and a moved east-west gateway makes exactly the 29 links to it stale.
#[test]
fn a_fleet_of_thirty_checks_every_pair() {
    let names: Vec<String> = (1..=30).map(|i| format!("f{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let all = names.join(",");
    let env = exposed(&names);
    with_trust(&env, &names);
    env.mesh(&["link", "--contexts", &all]).success();
    let listed = env
        .cluster("f1")
        .objects("/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways");
    let size = serde_json::to_vec(&listed).unwrap().len();
    assert!(size > 64 * 1024, "f1's Gateways are only {size} bytes");

    let (code, report) = verify(&env, &["--contexts", &all]);
    assert_eq!(code, 0, "{:#}", report["summary"]);
    let checks = link_checks(&report);
    assert_eq!(checks.len(), 30 * 29);
    assert!(checks.iter().all(|(_, s)| s == "pass"));

    env.cluster("f7").set_lb_address("198.51.100.7");
    let (code, report) = verify(&env, &["--contexts", &all]);
    assert_eq!(code, 1);
    let failed: Vec<String> = link_checks(&report)
        .into_iter()
        .filter(|(_, s)| s == "fail")
        .map(|(pair, _)| pair)
        .collect();
    let expected: Vec<String> = names
        .iter()
        .filter(|n| **n != "f7")
        .map(|n| format!("{n}->f7"))
        .collect();
    assert_eq!(failed, expected);
}
