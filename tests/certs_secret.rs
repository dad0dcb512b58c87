//! `kubectl mesh certs secret`: the cacerts Secret applied to clusters from `--dir` (then
//! unchanged with zero writes), printed with `--generate`, dry runs, another root or another
//! cluster's intermediate refused without `--force`, a cluster down, missing or broken files,
//! and hints that are commands that work.

mod common;

use common::certs::*;
use common::*;
use serde_json::Value;

#[test]
fn secret_applies_to_three_clusters_then_is_unchanged_with_zero_writes() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    assert!(env.cluster("c").object(ISTIO_SYSTEM).is_none());
    let run = secret(&env, "a,b,c", &dir, &["-o", "json"]).success();
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
    let run = secret(&env, "a,b,c", &dir, &["-o", "json"]).success();
    for cluster in run.json()["clusters"].as_array().unwrap() {
        assert_eq!(cluster["result"], "unchanged", "{cluster}");
    }
    assert_no_writes(&env, &["a", "b", "c"]);
    // The table too.
    let run = secret(&env, "a,b,c", &dir, &[]).success();
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
    let run = secret(&env, "a,b,c", &dir, &["--dry-run=client", "-o", "json"]).success();
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
    another_meshs_cacerts(&env, "b");
    let old = secret_of(&env, "b").unwrap();
    reset_counts(&env, &["a", "b", "c"]);

    let run = secret(&env, "a,b,c", &dir, &[]);
    assert_input_error(
        run,
        &["cluster b", "different root", "--force", "nothing was changed"],
    );
    assert_no_writes(&env, &["a", "b", "c"]);
    assert!(secret_of(&env, "a").is_none());
    assert!(secret_of(&env, "c").is_none());
    assert_eq!(secret_of(&env, "b").unwrap()["data"], old["data"]);

    let run = secret(&env, "a,b,c", &dir, &["--force"]).success();
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
    let run = secret(&env, "a,b,c", &dir, &["--timeout", "2s", "-o", "json"]).code(1);
    let report = run.json();
    assert_eq!(report["clusters"][0]["result"], "created");
    assert_cluster_failed(&report, 1, "cluster b");
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
    let run = secret(&env, "a,b,c", &dir, &[]);
    assert_input_error(run, &["cluster b", "certs generate --clusters b"]);
    assert_no_writes(&env, &["a", "b", "c"]);
    for cluster in ["a", "b", "c"] {
        assert!(secret_of(&env, cluster).is_none());
    }
    // A broken file is as bad as a missing one.
    generate(&env, "b");
    std::fs::write(dir.join("b/ca-key.pem"), "garbage\n").unwrap();
    let run = secret(&env, "a,b,c", &dir, &[]);
    assert_input_error(run, &["cluster b", "ca-key.pem"]);
    assert_no_writes(&env, &["a", "b", "c"]);
}

#[test]
fn another_clusters_intermediate_is_refused_without_force() {
    let env = three_clusters();
    generate(&env, "a,b,c");
    let dir = certs_dir(&env);
    secret(&env, "a,b", &dir, &[]).success();
    reset_counts(&env, &["a", "b"]);

    // b's intermediate sent to a's cluster: a would then share b's identity.
    let run = secret(&env, "b=a", &dir, &[]).code(2);
    assert!(
        run.stderr
            .contains("cluster b (context a): its cacerts holds the intermediate of cluster a, not of b"),
        "{}",
        run.stderr
    );
    assert_no_writes(&env, &["a", "b"]);

    // rotate c's intermediate into a's context: refused before any file is rotated.
    let before = read(&dir.join("c/ca-cert.pem"));
    let run = rotate(&env, "c", &dir, &["--apply-to", "a"]).code(2);
    assert!(
        run.stderr.contains("--apply-to a is the context of cluster a"),
        "{}",
        run.stderr
    );
    assert_eq!(read(&dir.join("c/ca-cert.pem")), before, "nothing rotated");
    assert_no_writes(&env, &["a"]);

    // With --force it is done, and the row names the context it went to.
    let run = rotate(&env, "c", &dir, &["--apply-to", "a", "--force"]).success();
    assert!(run.stdout.contains("c (context a)"), "{}", run.stdout);
}

#[test]
fn secret_hints_are_commands_that_work() {
    let env = three_clusters();
    generate(&env, "a");
    let dir = certs_dir(&env);
    std::fs::write(dir.join("a/ca-cert.pem"), "not a certificate\n").unwrap();
    let run = secret(&env, "a", &dir, &[]).code(2);
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
    intermediate(&env, "a", &dir, &["--force"]).success();
    assert_eq!(read(&dir.join("root-cert.pem")), root, "the root is kept");
    secret(&env, "a", &dir, &[]).success();
}
