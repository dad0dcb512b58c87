//! Every `kubectl mesh certs` subcommand at once: none prints or logs a private key (even at
//! `-vvv`, even failing), and each works the same through `kubectl-mesh-certs` and kubectl's
//! plugin dispatch as through `kubectl-mesh`.

mod common;

use std::path::Path;

use common::certs::*;
use common::*;

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
    run("root", &root_args(&dir, &["-vv"]));
    run("root byo", &adopt_root_args(&byo, &cert, &key, &["-vv"]));
    run("intermediate", &intermediate_args("a", &dir, &["-vv"]));
    run("generate", &generate_args("a,b,c", &dir, &["-vv"]));
    run(
        "generate json",
        &generate_args("a,b,c", &dir, &["-vv", "-o", "json"]),
    );
    let flags = [&root_flags(&cert, &key)[..], &["-vv", "-o", "yaml"]].concat();
    run("generate byo", &generate_args("a", &byo, &flags));
    run("secret", &secret_args("a,b,c", &dir, &["-vv"]));
    run(
        "secret json",
        &secret_args("a,b,c", &dir, &["-vvv", "-o", "json"]),
    );
    run(
        "secret dry-run",
        &secret_args("a,b,c", &dir, &["-vv", "--dry-run=server"]),
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
    run("rotate", &rotate_args("b", &dir, &["-vv"]));
    run(
        "rotate apply",
        &rotate_args("a", &dir, &["--apply-to", "a", "-vv"]),
    );
    run("secret conflict (fails)", &secret_args("a", &byo, &["-vv"]));
    run(
        "secret force",
        &secret_args("a", &byo, &["-vv", "--force", "-o", "json"]),
    );
    // A failing cluster with the Secret in flight.
    env.cluster("c").inject(
        mesh_testkit::Fault::status(422)
            .method("PATCH")
            .path_contains("cacerts"),
    );
    run(
        "secret rejected (fails)",
        &secret_args("c", &byo, &["--force", "-vvv"]),
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

/// Every subcommand through `run`, which invokes some entry point with the args after `certs`.
fn every_subcommand(env: &Env, base: &Path, run: &dyn Fn(&[&str]) -> Run) {
    let dir = base.join("certs");
    let d = s(&dir);
    run(&root_args(&dir, &[])).success();
    run(&intermediate_args("a", &dir, &[])).success();
    let out = run(&generate_args("a,b", &dir, &["-o", "json"])).success();
    let report = out.json();
    assert_eq!(report["items"][1]["result"], "unchanged", "{report}");
    assert_eq!(report["items"][2]["result"], "created", "{report}");
    assert_openssl_verifies(&dir.join("b"));
    run(&secret_args("a,b", &dir, &[])).success();
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
    run(&rotate_args("b", &dir, &["--apply-to", "b"])).success();
    assert_cacerts_matches_dir(env, "b", &dir.join("b"));
    // Input errors keep their exit code through every entry point.
    assert_input_error(run(&root_args(&dir, &[])), &["already exists"]);
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
