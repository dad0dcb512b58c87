//! What every command prints for scripts (`-o json`) and for debugging (`-v`).

mod common;

use common::certs::{generate_args, mesh_certs};
use common::*;

#[test]
fn every_json_report_has_api_version_and_kind() {
    let env = with_istio(&["a", "b"]);
    let certs = env.dir.path().join("certs");
    let dir = certs.to_str().unwrap();
    let file = env.dir.path().join("mesh.yaml");
    std::fs::write(
        &file,
        format!("mesh_id: m\ncerts: {{dir: {dir}, keyType: ec-p256}}\ncontexts:\n  a: {{network: network-a}}\n  b: {{network: network-b}}\n"),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    for args in [
        mesh_certs(generate_args("a,b", &certs, &[])),
        vec!["certs", "secret", "--contexts", "a,b", "--dir", dir],
        vec!["certs", "inspect", "--dir", dir],
        vec!["expose", "--contexts", "a,b", "--wait=30s"],
        vec!["link", "--contexts", "a,b"],
        vec!["verify", "--contexts", "a,b"],
        vec!["up", "-f", file, "--wait=30s"],
        vec!["down", "-f", file, "--dry-run=client"],
    ] {
        let mut full = args.clone();
        full.extend(["-o", "json"]);
        let run = env.mesh(&full).success();
        let doc = run.json();
        assert_eq!(doc["apiVersion"], "kubectl-mesh.io/v1alpha1", "{args:?}: {doc}");
        assert!(
            doc["kind"]
                .as_str()
                .is_some_and(|k| k.ends_with("Report") || k == "CertsInspection"),
            "{args:?}: {doc}"
        );
    }
}

#[test]
fn verbose_logs_are_ours_not_the_http_stacks() {
    let env = mesh_of(&["a", "b"]);
    let run = env.mesh(&["verify", "--contexts", "a,b", "-vvv"]).success();
    assert!(
        run.stderr.contains("kubectl_mesh"),
        "our own logs show:\n{}",
        run.stderr
    );
    for noisy in ["h2::", "rustls::", "hyper::", "hyper_util::", "tower::"] {
        assert!(
            !run.stderr.contains(noisy),
            "{noisy} flooded -vvv:\n{}",
            run.stderr
        );
    }
}

#[test]
fn printed_commands_repeat_the_kubeconfig_given() {
    let env = with_istio(&["a", "b"]);
    let kubeconfig = env.kubeconfig.to_str().unwrap();
    // Nothing exposed yet: verify's fixes and link's errors are commands to paste.
    let run = env
        .mesh(&["verify", "--kubeconfig", kubeconfig, "--contexts", "a,b"])
        .code(1);
    let want = format!("kubectl mesh expose --kubeconfig {kubeconfig} --context a");
    assert!(run.stdout.contains(&want), "{want}\n{}", run.stdout);
    let run = env
        .mesh(&["link", "--kubeconfig", kubeconfig, "--contexts", "a,b"])
        .code(1);
    assert!(
        run.stderr.contains(&format!("--kubeconfig {kubeconfig}")),
        "{}",
        run.stderr
    );
    // Without --kubeconfig (KUBECONFIG in the environment), the commands stay as they were.
    let run = env.mesh(&["verify", "--contexts", "a,b"]).code(1);
    assert!(
        run.stdout.contains("kubectl mesh expose --context a"),
        "{}",
        run.stdout
    );
}
