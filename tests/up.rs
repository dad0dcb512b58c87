//! `kubectl mesh up` / `down` end to end: the whole mesh from one topology file.

mod common;

use common::*;
use serde_json::Value;

const THREE: &str = "contexts:\n  east-1: {network: network-east}\n  east-2: {network: network-east}\n  west-1: {network: network-west}\n";

fn up(env: &Env, file: &str, extra: &[&str]) -> Run {
    let values = env.dir.path().join("values");
    let mut args = vec![
        "up",
        "-f",
        file,
        "--values-dir",
        values.to_str().unwrap(),
        "--wait=30s",
    ];
    args.extend(extra.iter());
    env.mesh(&args)
}

/// The result of every step of an `up` or `down -o json` report.
fn step_results(run: &Run) -> Vec<String> {
    run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["result"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn three_clusters_up_verify_rerun_and_down() {
    let env = with_bare_istio(&["east-1", "east-2", "west-1"]);
    let file = write_topology(&env, THREE);
    let run = up(&env, &file, &["-o", "json"]).success();
    let steps = run.json()["steps"].as_array().cloned().unwrap();
    for step in [
        "certs", "cacerts", "network", "install", "expose", "link", "verify",
    ] {
        assert!(
            steps.iter().any(|s| s["step"] == step),
            "no {step} step: {steps:#?}"
        );
    }
    assert!(steps.iter().all(|s| s.get("error").is_none()), "{steps:#?}");
    let ns = env.cluster("east-2").object(ISTIO_SYSTEM).unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["topology.istio.io/network"],
        "network-east"
    );
    let gw = env.cluster("west-1").object(&peer_path("east-1")).unwrap();
    assert_eq!(gw["metadata"]["labels"]["kubectl-mesh.io/mesh-id"], "mymesh");
    assert_eq!(
        gw["metadata"]["labels"]["topology.istio.io/network"],
        "network-east"
    );
    env.mesh(&["verify", "--contexts", "east-1,east-2,west-1"])
        .success();

    for name in ["east-1", "east-2", "west-1"] {
        env.cluster(name).reset_counts();
    }
    up(&env, &file, &[]).success();
    for name in ["east-1", "east-2", "west-1"] {
        let counts = env.cluster(name).counts();
        assert_eq!(
            counts.writes(),
            0,
            "{name}: a second up writes nothing: {:?}",
            env.cluster(name).request_log()
        );
    }

    let run = env.mesh(&["down", "-f", &file, "-o", "json"]).success();
    let removed = step_results(&run);
    assert!(
        removed
            .iter()
            .any(|r| r == "deleted Gateway istio-gateways/istio-eastwest"),
        "{removed:?}"
    );
    assert!(
        removed.iter().any(|r| r == "deleted Secret istio-system/cacerts"),
        "{removed:?}"
    );
    for name in ["east-1", "east-2", "west-1"] {
        let c = env.cluster(name);
        for collection in [
            "/apis/gateway.networking.k8s.io/v1/gateways",
            "/api/v1/secrets",
            "/api/v1/namespaces",
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        ] {
            let managed: Vec<Value> = c
                .objects(collection)
                .into_iter()
                .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "kubectl-mesh")
                .filter(|o| o["metadata"]["name"] != "istio-system")
                .collect();
            assert!(
                managed.is_empty(),
                "{name}: left behind in {collection}: {managed:#?}"
            );
        }
        assert!(c.object(ISTIO_SYSTEM).is_some(), "istio-system is never deleted");
    }
    assert!(
        env.dir.path().join("certs/root-key.pem").exists(),
        "key material stays on disk"
    );
}

#[test]
fn adding_and_removing_a_cluster() {
    let env = with_bare_istio(&["a", "b", "c", "d"]);
    let file = write_topology(
        &env,
        "contexts:\n  a: {network: n1}\n  b: {network: n2}\n  c: {network: n3}\n",
    );
    up(&env, &file, &[]).success();
    assert!(env.cluster("d").object(GATEWAY).is_none());

    let file = write_topology(
        &env,
        "contexts:\n  a: {network: n1}\n  b: {network: n2}\n  c: {network: n3}\n  d: {network: n4}\n",
    );
    let run = up(&env, &file, &["-o", "json"]).success();
    let created = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "link" && s["result"] == "created")
        .count();
    assert_eq!(created, 6, "d links with a, b and c both ways\n{}", run.stdout);
    for other in ["a", "b", "c"] {
        assert!(
            env.cluster(other).object(&peer_path("d")).is_some(),
            "{other} -> d"
        );
        assert!(
            env.cluster("d").object(&peer_path(other)).is_some(),
            "d -> {other}"
        );
    }

    let file = write_topology(
        &env,
        "contexts:\n  a: {network: n1}\n  b: {network: n2}\n  d: {network: n4}\n",
    );
    up(&env, &file, &[]).success();
    for other in ["a", "b", "d"] {
        assert!(
            env.cluster(other).object(&peer_path("c")).is_none(),
            "{other} no longer links to c"
        );
    }
    assert!(
        env.cluster("c").object(GATEWAY).is_some(),
        "the removed cluster's own install is left alone"
    );
}

/// A stand-in for helm that records its arguments (one call a line in `<tmp>/helm-calls`) and
/// keeps releases as files `<tmp>/helm-releases/<kube-context>/<namespace>/<release>`:
/// `upgrade --install` creates one, `uninstall` removes it, or answers as helm 3 does when
/// there is none ("release: not found", exit 1). An `uninstall` in a context that has a file
/// `<tmp>/helm-releases/<kube-context>/fail-uninstall` fails.
fn fake_helm(env: &Env) -> (String, std::path::PathBuf) {
    let record = env.dir.path().join("helm-calls");
    let state = env.dir.path().join("helm-releases");
    let helm = env.dir.path().join("helm");
    let script = format!(
        r#"#!/bin/sh
echo "$@" >> {record}
verb=$1; release=$2; [ "$verb" = upgrade ] && release=$3
ctx=; ns=default; prev=
for arg in "$@"; do
  case "$prev" in --kube-context) ctx=$arg ;; --namespace|-n) ns=$arg ;; esac
  prev=$arg
done
dir={state}/$ctx/$ns
case "$verb" in
  upgrade) mkdir -p "$dir" && touch "$dir/$release" ;;
  uninstall)
    if [ -e {state}/$ctx/fail-uninstall ]; then echo "Error: uninstall: timed out waiting for the condition" >&2; exit 1; fi
    if [ ! -e "$dir/$release" ]; then echo "Error: uninstall: Release not loaded: $release: release: not found" >&2; exit 1; fi
    rm "$dir/$release" ;;
esac
"#,
        record = record.display(),
        state = state.display(),
    );
    std::fs::write(&helm, script).unwrap();
    std::fs::set_permissions(&helm, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    (helm.to_str().unwrap().to_string(), record)
}

/// The releases the fake helm holds in `context`'s `istio-system`.
fn helm_releases(env: &Env, context: &str) -> Vec<String> {
    let dir = env
        .dir
        .path()
        .join("helm-releases")
        .join(context)
        .join("istio-system");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn values(env: &Env, cluster: &str, release: &str) -> Value {
    let path = env
        .dir
        .path()
        .join(format!("values/mymesh/{cluster}/{release}.values.yaml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap()
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

const SOLO: &str = "solo: {hub: registry.example/solo, tag: 1.30.3-solo, licenseFile: solo.key}\n";

#[test]
fn helm_installer_runs_helm_with_values() {
    let env = with_bare_istio(&["a", "b"]);
    let (helm, record) = fake_helm(&env);
    std::fs::write(env.dir.path().join("solo.key"), "SECRET-LICENCE\n").unwrap();
    let file = write_topology(
        &env,
        &format!("installer: helm\n{SOLO}contexts:\n  a: {{network: n1}}\n  b: {{network: n2, trustDomain: b.local}}\n"),
    );
    let run = up(
        &env,
        &file,
        &["--helm", &helm, "--chart-repo", "oci://charts.example/solo"],
    )
    .success();
    let calls = std::fs::read_to_string(&record).unwrap();
    for (release, chart) in [
        ("istio-base", "base"),
        ("istiod", "istiod"),
        ("istio-cni", "cni"),
        ("ztunnel", "ztunnel"),
    ] {
        for context in ["a", "b"] {
            let expected = format!(
                "upgrade --install {release} oci://charts.example/solo/{chart} --kube-context {context} --namespace istio-system"
            );
            assert!(calls.contains(&expected), "missing `{expected}` in\n{calls}");
        }
    }
    let istiod = values(&env, "b", "istiod");
    assert_eq!(istiod["meshConfig"]["trustDomain"], "b.local");
    assert_eq!(istiod["global"]["multiCluster"]["clusterName"], "b");
    assert_eq!(istiod["global"]["network"], "n2");
    assert_eq!(istiod["global"]["meshID"], "mymesh");
    assert_eq!(istiod["env"]["PILOT_SKIP_VALIDATE_TRUST_DOMAIN"], "true");
    assert_eq!(istiod["platforms"]["peering"]["enabled"], true);
    // Solo's distribution: its images and the licence (docs.solo.io, Solo Enterprise for Istio 1.30).
    assert_eq!(istiod["global"]["hub"], "registry.example/solo");
    assert_eq!(istiod["global"]["tag"], "1.30.3-solo");
    assert_eq!(istiod["license"]["value"], "SECRET-LICENCE");
    assert_eq!(values(&env, "b", "ztunnel")["hub"], "registry.example/solo");
    let dir = env.dir.path().join("values/mymesh/b");
    assert_eq!(
        mode(&dir.join("istiod.values.yaml")),
        0o600,
        "the licence is a secret"
    );
    assert_eq!(mode(&dir), 0o700);
    assert!(!run.stdout.contains("SECRET-LICENCE") && !run.stderr.contains("SECRET-LICENCE"));
}

#[test]
fn down_uninstalls_exactly_the_helm_releases_up_installed() {
    let env = with_bare_istio(&["a", "b", "c"]);
    let (helm, record) = fake_helm(&env);
    let file = write_topology(
        &env,
        "installer: helm\nflavor: ambient\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n  c: {network: n3}\n",
    );
    up(&env, &file, &["--helm", &helm]).success();
    let installed = ["istio-base", "istio-cni", "istiod", "ztunnel"];
    for c in ["a", "b", "c"] {
        assert_eq!(helm_releases(&env, c), installed, "{c}");
    }
    // Someone else's release beside ours; one of ours already removed by hand in b; c's
    // helm fails to uninstall.
    let state = env.dir.path().join("helm-releases");
    std::fs::write(state.join("a/istio-system/their-app"), "").unwrap();
    std::fs::remove_file(state.join("b/istio-system/istiod")).unwrap();
    std::fs::write(state.join("c/fail-uninstall"), "").unwrap();
    std::fs::remove_file(&record).unwrap();

    let run = env
        .mesh(&["down", "-f", &file, "--helm", &helm, "-o", "json"])
        .code(1);
    let steps = run.json()["steps"].as_array().cloned().unwrap();
    let rows = |c: &str| -> Vec<String> {
        steps
            .iter()
            .filter(|s| s["target"] == c)
            .map(|s| match s.get("error") {
                Some(e) => format!("failed: {}", e.as_str().unwrap()),
                None => s["result"].as_str().unwrap().to_string(),
            })
            .collect()
    };
    for release in ["ztunnel", "istio-cni", "istiod", "istio-base"] {
        let done = format!("uninstalled helm release istio-system/{release}");
        assert!(rows("a").contains(&done), "{:?}", rows("a"));
    }
    assert!(
        rows("b").contains(&"already gone helm release istio-system/istiod".to_string()),
        "{:?}",
        rows("b")
    );
    assert_eq!(helm_releases(&env, "a"), ["their-app"], "not ours: kept");
    assert!(helm_releases(&env, "b").is_empty());
    // Last installed first, with helm's own flags, each cluster by its context.
    let calls = std::fs::read_to_string(&record).unwrap();
    let order: Vec<&str> = calls.lines().filter(|l| l.contains("--kube-context a")).collect();
    assert_eq!(
        order,
        [
            "uninstall ztunnel --namespace istio-system --kube-context a --wait",
            "uninstall istio-cni --namespace istio-system --kube-context a --wait",
            "uninstall istiod --namespace istio-system --kube-context a --wait",
            "uninstall istio-base --namespace istio-system --kube-context a --wait",
        ],
        "{calls}"
    );
    // c failed on its first release: the others stay (they come before it), so does the
    // record, and a and b went on regardless.
    let c = rows("c");
    assert!(
        c.iter()
            .any(|r| r.starts_with("failed: helm uninstall ztunnel") && r.contains("timed out")),
        "{c:?}"
    );
    assert!(
        c.iter()
            .any(|r| r.contains("not uninstalled: istio-cni, istiod, istio-base")),
        "{c:?}"
    );
    assert_eq!(helm_releases(&env, "c"), installed);
    let record_path = "/api/v1/namespaces/istio-system/configmaps/kubectl-mesh-mymesh-helm-releases";
    assert!(
        env.cluster("c").object(record_path).is_some(),
        "kept for the next down"
    );
    assert!(env.cluster("a").object(record_path).is_none());

    // Fixed, a second down finishes c and finds nothing left to uninstall elsewhere.
    std::fs::remove_file(state.join("c/fail-uninstall")).unwrap();
    let run = env.mesh(&["down", "-f", &file, "--helm", &helm]).success();
    assert!(
        run.stdout
            .contains("uninstalled helm release istio-system/istio-base"),
        "{}",
        run.stdout
    );
    assert!(helm_releases(&env, "c").is_empty());
    assert!(env.cluster("c").object(record_path).is_none());
}

const REMOTE_SECRET_B: &str = "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-b";

/// A remote secret in `context` that is not this mesh's: `labels` say whose.
fn foreign_remote_secret(env: &Env, context: &str, name: &str, labels: &str) {
    env.kubectl_stdin(
        &["--context", context, "apply", "--server-side", "--field-manager", "someone", "-f", "-"],
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: istio-system, labels: {{istio/multiCluster: \"true\"{labels}}}, annotations: {{networking.istio.io/cluster: x}}}}\nstringData: {{x: config}}\n"
        ),
    )
    .success();
}

#[test]
fn a_flavour_switch_replaces_the_links_of_the_old_flavour() {
    let env = with_bare_istio(&["a", "b"]);
    let contexts = "contexts:\n  a: {network: n1}\n  b: {network: n2}\n";
    let file = write_topology(&env, &format!("flavor: ambient\n{contexts}"));
    up(&env, &file, &[]).success();
    assert!(env.cluster("a").object(REMOTE_SECRET_B).is_some());
    // Not ours, and ours but another mesh's: both stay whatever this mesh's flavour.
    foreign_remote_secret(&env, "a", "istio-remote-secret-x", "");
    foreign_remote_secret(
        &env,
        "a",
        "istio-remote-secret-y",
        ", app.kubernetes.io/managed-by: kubectl-mesh, kubectl-mesh.io/mesh-id: other",
    );

    let file = write_topology(&env, &format!("flavor: ambient-peering\n{contexts}"));
    let run = up(&env, &file, &["-o", "json"]).success();
    for (from, to) in [("a", "b"), ("b", "a")] {
        let c = env.cluster(from);
        assert!(c.object(&peer_path(to)).is_some(), "{from} -> {to} peers now");
        assert!(
            c.object(&format!(
                "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-{to}"
            ))
            .is_none(),
            "{from} -> {to}: the remote secret of flavour ambient is gone"
        );
    }
    assert!(
        step_results(&run).iter().any(|r| {
            r
            == "deleted remote secret Secret istio-system/istio-remote-secret-b: a link of the other flavour"
        }),
        "{}",
        run.stdout
    );
    let a = env.cluster("a");
    for kept in ["istio-remote-secret-x", "istio-remote-secret-y"] {
        assert!(
            a.object(&format!("/api/v1/namespaces/istio-system/secrets/{kept}"))
                .is_some(),
            "{kept} is not this mesh's"
        );
    }
    // The ambient east-west Gateway goes too: it would keep its LoadBalancer.
    let ambient_gateway =
        "/apis/gateway.networking.k8s.io/v1/namespaces/istio-system/gateways/istio-eastwestgateway";
    assert!(a.object(ambient_gateway).is_none(), "ambient's gateway retired");
    assert!(
        step_results(&run).iter().any(|r| r
            == "deleted Gateway istio-system/istio-eastwestgateway: the east-west gateway of flavour ambient, which the file no longer names"),
        "{}",
        run.stdout
    );
    env.mesh(&["verify", "-f", &file]).success();

    // And back, to sidecar: the peer Gateways go, remote secrets link again.
    let file = write_topology(&env, &format!("flavor: sidecar\n{contexts}"));
    up(&env, &file, &[]).success();
    assert!(a.object(GATEWAY).is_none(), "ambient-peering's gateway retired");
    assert!(
        a.object("/api/v1/namespaces/istio-system/services/istio-eastwestgateway")
            .is_some(),
        "sidecar's gateway Service in place"
    );
    assert!(a.object(&peer_path("b")).is_none(), "peer Gateway removed");
    assert!(env.cluster("b").object(&peer_path("a")).is_none());
    assert!(a.object(REMOTE_SECRET_B).is_some());
    env.mesh(&["verify", "-f", &file]).success();
}

#[test]
fn multi_primary_to_primary_remote_leaves_the_remote_no_secrets_and_verifies() {
    let env = with_bare_istio(&["p", "r"]);
    let contexts = "contexts:\n  p: {network: n1}\n  r: {network: n2}\n";
    let file = write_topology(&env, &format!("flavor: sidecar\n{contexts}"));
    up(&env, &file, &[]).success();
    let secret_p = "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-p";
    assert!(
        env.cluster("r").object(secret_p).is_some(),
        "multi-primary: r -> p"
    );
    let file = write_topology(
        &env,
        &format!("flavor: sidecar\nmodel: primary-remote\nprimary: p\n{contexts}"),
    );
    let run = up(&env, &file, &["-o", "json"]).success();
    assert!(
        env.cluster("r").object(secret_p).is_none(),
        "a remote holds no remote secret"
    );
    assert!(env.cluster("p").object(REMOTE_SECRET_R).is_some());
    let verify = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "verify")
        .cloned()
        .unwrap();
    assert!(verify.get("error").is_none(), "{verify:#}");
    let run = env.mesh(&["verify", "-f", &file, "-o", "json"]).success();
    let ids: Vec<String> = run.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {}", c["id"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    for expected in ["control-plane pass", "istiod-exposed pass"] {
        assert!(ids.iter().any(|i| i == expected), "{ids:?}");
    }
}

const REMOTE_SECRET_R: &str = "/api/v1/namespaces/istio-system/secrets/istio-remote-secret-r";

#[test]
fn down_dry_run_names_the_helm_releases_and_uninstalls_none() {
    let env = with_bare_istio(&["a"]);
    let (helm, record) = fake_helm(&env);
    let file = write_topology(
        &env,
        "installer: helm\nflavor: ambient\ncontexts:\n  a: {network: n1}\n",
    );
    up(&env, &file, &["--helm", &helm]).success();
    std::fs::remove_file(&record).unwrap();
    let run = env
        .mesh(&["down", "-f", &file, "--helm", &helm, "--dry-run=client"])
        .success();
    assert!(
        run.stdout
            .contains("would uninstall helm release istio-system/ztunnel"),
        "{}",
        run.stdout
    );
    assert!(!record.exists(), "helm never ran");
    assert_eq!(helm_releases(&env, "a").len(), 4);
}

#[test]
fn solo_settings_are_required_before_anything_is_written() {
    let env = with_bare_istio(&["a"]);
    let (helm, record) = fake_helm(&env);
    for (body, expected) in [
        (
            "",
            "mesh.yaml: flavor ambient-peering installs Solo's distribution of Istio, which needs solo.hub",
        ),
        ("solo: {hub: r.example}\n", "needs solo.tag"),
        (
            "solo: {hub: r.example, tag: 1.30.3-solo}\n",
            "needs Solo's licence key",
        ),
        (
            "solo: {hub: r.example, tag: 1.30.3-solo, licenseFile: missing.key}\n",
            "cannot read solo.licenseFile",
        ),
    ] {
        let file = write_topology(
            &env,
            &format!("installer: helm\n{body}contexts:\n  a: {{network: n1}}\n"),
        );
        let run = env.mesh(&["up", "-f", &file, "--helm", &helm]).code(2);
        assert!(run.stderr.contains(expected), "{body}: {}", run.stderr);
    }
    assert_eq!(env.cluster("a").counts().total(), 0, "no request was sent");
    assert!(
        !env.dir.path().join("certs").exists(),
        "no certificate was written"
    );
    assert!(!record.exists(), "helm never ran");
}

#[test]
fn upstream_ambient_with_helm_enables_multi_network() {
    let env = with_bare_istio(&["a", "b"]);
    let (helm, _) = fake_helm(&env);
    let file = write_topology(
        &env,
        "installer: helm\nflavor: ambient\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n",
    );
    up(&env, &file, &["--helm", &helm]).success();
    let istiod = values(&env, "a", "istiod");
    // istio.io docs/ambient/install/multicluster/multi-primary_multi-network (Istio 1.30).
    assert_eq!(istiod["env"]["AMBIENT_ENABLE_MULTI_NETWORK"], "true");
    assert_eq!(istiod["profile"], "ambient");
    assert!(istiod.get("platforms").is_none(), "peering is Solo's");
    assert_eq!(values(&env, "a", "istio-cni")["profile"], "ambient");
}

#[test]
fn helm_primary_remote_values() {
    let env = with_bare_istio(&["p", "r"]);
    let (helm, _) = fake_helm(&env);
    let file = write_topology(&env, "installer: helm\nflavor: sidecar\nmodel: primary-remote\nprimary: p\ncontexts:\n  p: {network: n1}\n  r: {network: n2}\n");
    up(&env, &file, &["--helm", &helm]).success();
    // istio.io docs/setup/install/multicluster/primary-remote_multi-network.
    assert_eq!(values(&env, "p", "istio-base")["global"]["externalIstiod"], true);
    assert_eq!(values(&env, "p", "istiod")["global"]["externalIstiod"], true);
    assert_eq!(values(&env, "r", "istio-base")["profile"], "remote");
    let remote = values(&env, "r", "istiod");
    assert_eq!(remote["profile"], "remote");
    assert_eq!(remote["global"]["configCluster"], true);
    assert_eq!(
        remote["istiodRemote"]["injectionPath"],
        "/inject/cluster/r/net/n2"
    );
    assert!(remote["global"]["remotePilotAddress"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));
}

#[test]
fn sail_installer_and_primary_remote() {
    let env = with_bare_istio(&["p", "r"]);
    let file = write_topology(&env, "installer: sail\nflavor: sidecar\nmodel: primary-remote\nprimary: p\ncontexts:\n  p: {network: n1}\n  r: {network: n2}\n");
    up(&env, &file, &[]).success();
    let primary = env
        .cluster("p")
        .object("/apis/sailoperator.io/v1/istios/default")
        .expect("Istio CR");
    assert_eq!(primary["spec"]["values"]["global"]["meshID"], "mymesh");
    assert_eq!(primary["spec"]["values"]["global"]["externalIstiod"], true);
    assert_eq!(
        primary["spec"]["values"]["pilot"]["env"]["PILOT_ENABLE_IP_AUTOALLOCATE"],
        "true"
    );
    assert!(
        primary["spec"]["values"].get("env").is_none(),
        "the Sail CRD has no values.env"
    );
    let remote = env
        .cluster("r")
        .object("/apis/sailoperator.io/v1/istios/default")
        .unwrap();
    assert_eq!(remote["spec"]["profile"], "remote");
    assert_eq!(remote["spec"]["values"]["global"]["configCluster"], true);
    assert!(remote["spec"]["values"]["global"]["remotePilotAddress"]
        .as_str()
        .is_some_and(|a| !a.is_empty()));
    assert_eq!(
        remote["spec"]["values"]["istiodRemote"]["injectionPath"],
        "/inject/cluster/r/net/n2"
    );
    assert!(env
        .cluster("p")
        .object("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-r")
        .is_some());
    assert!(env
        .cluster("r")
        .object("/api/v1/namespaces/istio-system/secrets/istio-remote-secret-p")
        .is_none());
    let ns = env.cluster("r").object(ISTIO_SYSTEM).unwrap();
    assert_eq!(
        ns["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"],
        "p"
    );
    // down undoes it: the annotation goes, the namespace (Istio's) stays.
    let run = env.mesh(&["down", "-f", &file]).success();
    assert!(
        run.stdout
            .contains("removed the topology.istio.io/controlPlaneClusters annotation"),
        "{}",
        run.stdout
    );
    let ns = env.cluster("r").object(ISTIO_SYSTEM).unwrap();
    assert!(
        ns["metadata"]["annotations"]
            .get("topology.istio.io/controlPlaneClusters")
            .is_none(),
        "{ns:#}"
    );
}

#[test]
fn sail_ambient_creates_cni_and_ztunnel() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(
        &env,
        "installer: sail\nflavor: ambient\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n",
    );
    up(&env, &file, &[]).success();
    let c = env.cluster("b");
    // sail-operator 1.30.3 docs/deployment-models/multicluster.adoc, ambient multi-network.
    let ztunnel = c
        .object("/apis/sailoperator.io/v1/ztunnels/default")
        .expect("ZTunnel");
    assert_eq!(ztunnel["spec"]["namespace"], "ztunnel");
    assert_eq!(ztunnel["spec"]["values"]["ztunnel"]["network"], "n2");
    assert_eq!(
        ztunnel["spec"]["values"]["ztunnel"]["multiCluster"]["clusterName"],
        "b"
    );
    let cni = c
        .object("/apis/sailoperator.io/v1/istiocnis/default")
        .expect("IstioCNI");
    assert_eq!(cni["spec"]["profile"], "ambient");
    assert_eq!(cni["spec"]["namespace"], "istio-cni");
    for ns in ["istio-cni", "ztunnel"] {
        assert!(
            c.object(&format!("/api/v1/namespaces/{ns}")).is_some(),
            "namespace {ns}"
        );
    }
    let istio = c.object("/apis/sailoperator.io/v1/istios/default").unwrap();
    assert_eq!(istio["spec"]["profile"], "ambient");
    assert_eq!(
        istio["spec"]["values"]["pilot"]["env"]["AMBIENT_ENABLE_MULTI_NETWORK"],
        "true"
    );
    assert_eq!(
        istio["spec"]["values"]["pilot"]["trustedZtunnelNamespace"],
        "ztunnel"
    );
    env.mesh(&["down", "-f", &file]).success();
    assert!(
        c.object("/apis/sailoperator.io/v1/ztunnels/default").is_none(),
        "down removes it"
    );
    assert!(
        c.object("/apis/sailoperator.io/v1/istios/default").is_none(),
        "and the Istio resource up created"
    );
    assert!(c.object("/apis/sailoperator.io/v1/istiocnis/default").is_none());
}

#[test]
fn generate_primary_remote_writes_remote_values_like_up() {
    let env = with_bare_istio(&["p", "r"]);
    let (helm, _) = fake_helm(&env);
    let file = write_topology(&env, "installer: helm\nflavor: sidecar\nmodel: primary-remote\nprimary: p\ncontexts:\n  p: {network: n1}\n  r: {network: n2}\n");
    let out = env.dir.path().join("out");
    let run = up(&env, &file, &["--generate", out.to_str().unwrap()]).code(1);
    assert!(
        run.stderr
            .contains("a remote needs the primary's east-west address"),
        "{}",
        run.stderr
    );
    env.mesh(&[
        "expose",
        "--context",
        "p",
        "--flavor",
        "sidecar",
        "--network",
        "n1",
        "--wait=30s",
    ])
    .success();
    let run = up(&env, &file, &["--generate", out.to_str().unwrap()]).success();
    assert!(
        run.stdout
            .contains("kubectl mesh link --mode remote-secret --primary p --remotes r"),
        "what to run next, ready to paste: {}",
        run.stdout
    );
    let read = |path: &str| -> Value {
        serde_yaml_ng::from_str(&std::fs::read_to_string(out.join(path)).unwrap()).unwrap()
    };
    let remote = read("r/istiod.values.yaml");
    assert_eq!(remote["profile"], "remote");
    assert_eq!(remote["global"]["configCluster"], true);
    assert_eq!(
        remote["istiodRemote"]["injectionPath"],
        "/inject/cluster/r/net/n2"
    );
    let address = env.cluster("p").lb_address();
    assert_eq!(remote["global"]["remotePilotAddress"], address.as_str());
    assert_eq!(read("r/istio-base.values.yaml")["profile"], "remote");
    assert_eq!(read("p/istiod.values.yaml")["global"]["externalIstiod"], true);
    let annotation = read("r/control-plane.yaml");
    assert_eq!(
        annotation["metadata"]["annotations"]["topology.istio.io/controlPlaneClusters"],
        "p"
    );
    assert!(!out.join("p/control-plane.yaml").exists());
    // And what up then applies is the same.
    up(&env, &file, &["--helm", &helm]).success();
    let live = values(&env, "r", "istiod");
    assert_eq!(live, remote, "up and --generate build one plan");
}

#[test]
fn generate_links_follow_the_file() {
    let env = start(vec![
        ("a".into(), istio_spec("old-net")),
        ("b".into(), istio_spec("n2")),
    ]);
    for (c, net) in [("a", "old-net"), ("b", "n2")] {
        env.mesh(&["expose", "--context", c, "--network", net, "--wait=30s"])
            .success();
        env.cluster(c).reset_counts();
    }
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    let out = env.dir.path().join("out");
    let run = up(&env, &file, &["--generate", out.to_str().unwrap(), "-o", "json"]).success();
    let text = std::fs::read_to_string(out.join("b/links.yaml")).unwrap();
    let link: Value = serde_yaml_ng::from_str(text.trim_start_matches("---\n")).unwrap();
    assert_eq!(
        link["metadata"]["labels"]["topology.istio.io/network"], "n1",
        "the file's network"
    );
    assert!(
        run.stdout
            .contains("the cluster says network \\\"old-net\\\", the file \\\"n1\\\""),
        "{}",
        run.stdout
    );
    for c in ["a", "b"] {
        assert_eq!(
            env.cluster(c).counts().writes(),
            0,
            "generate writes to no cluster"
        );
    }
}

#[test]
fn dry_run_and_generate_change_nothing() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    let run = up(&env, &file, &["--dry-run=client"]).success();
    assert!(run.stdout.contains("would create"), "{}", run.stdout);
    let out = env.dir.path().join("out");
    up(&env, &file, &["--generate", out.to_str().unwrap()]).success();
    for name in ["a", "b"] {
        assert_eq!(env.cluster(name).counts().writes(), 0, "{name}");
    }
    let eastwest = std::fs::read_to_string(out.join("a/eastwest.yaml")).unwrap();
    assert!(eastwest.contains("kubectl-mesh.io/mesh-id: mymesh"), "{eastwest}");
    // cacerts.yaml holds the intermediate's key: private, whatever the umask.
    assert_eq!(mode(&out.join("b/cacerts.yaml")), 0o600);
    assert_eq!(mode(&out.join("b")), 0o700);
}

#[test]
fn generate_into_an_unwritable_place_writes_nothing() {
    let env = with_bare_istio(&["a"]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n");
    let run = up(&env, &file, &["--generate", "/proc/nope"]).code(2);
    assert!(run.stderr.contains("cannot write /proc/nope"), "{}", run.stderr);
    assert!(!env.dir.path().join("certs").exists(), "no root key was minted");
}

#[test]
fn paths_in_the_file_are_relative_to_the_file() {
    let env = with_bare_istio(&["a"]);
    let sub = env.dir.path().join("mesh");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("mesh.yaml");
    std::fs::write(
        &file,
        "mesh_id: m\ncerts: {dir: pki, keyType: ec-p256}\ncontexts:\n  a: {network: n1}\n",
    )
    .unwrap();
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = env.dir.path().join("out");
    env.mesh_in(
        &elsewhere,
        &[
            "up",
            "-f",
            file.to_str().unwrap(),
            "--generate",
            out.to_str().unwrap(),
        ],
    )
    .success();
    assert!(
        sub.join("pki/root-key.pem").exists(),
        "certs.dir is relative to mesh.yaml"
    );
    assert!(!elsewhere.join("pki").exists(), "not to the current directory");
}

#[test]
fn bad_files_send_no_request() {
    let env = with_bare_istio(&["a", "b"]);
    for (body, expected) in [
        ("contexts:\n  a: {netwrk: n1}\n", "did you mean `network`"),
        (
            "contexts:\n  a: {network: n1}\n  a: {network: n2}\n",
            "context `a` is listed twice",
        ),
        ("contexts:\n  a: {cluster: x}\n", "missing field `network`"),
        ("contexts:\n  A_B: {network: n1}\n", "invalid cluster name"),
        (
            "installer: yum\ncontexts:\n  a: {network: n1}\n",
            "unknown installer \"yum\"",
        ),
        ("contexts:\n  zz: {network: n1}\n", "context \"zz\" not found"),
        (
            "model: primary-remote\nprimary: a\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n",
            "flavor ambient-peering does not support model primary-remote",
        ),
    ] {
        let file = write_topology(&env, body);
        let run = up(&env, &file, &[]).code(2);
        assert!(run.stderr.contains(expected), "{body}: {}", run.stderr);
        assert!(run.stderr.contains("mesh.yaml"), "names the file: {}", run.stderr);
    }
    for name in ["a", "b"] {
        assert_eq!(
            env.cluster(name).counts().total(),
            0,
            "no request was sent to {name}"
        );
    }
    assert!(
        !env.dir.path().join("certs").exists(),
        "no certificate was written"
    );
}

/// Clusters a, b and c brought up from the file, then c taken out of it (now a, b): c is a
/// former member, recorded by up.
fn c_dropped_from_the_file() -> (Env, String) {
    let env = with_bare_istio(&["a", "b", "c"]);
    let file = write_topology(
        &env,
        "contexts:\n  a: {network: n1}\n  b: {network: n2}\n  c: {network: n3}\n",
    );
    up(&env, &file, &[]).success();
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    (env, file)
}

#[test]
fn removed_clusters_are_pruned_only_when_asked() {
    let (env, file) = c_dropped_from_the_file();
    let run = up(&env, &file, &["-o", "json"]).success();
    let removed: Vec<Value> = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "removed")
        .cloned()
        .collect();
    let about_c: Vec<&Value> = removed.iter().filter(|r| r["target"] == "c").collect();
    assert_eq!(about_c.len(), 1, "{removed:?}");
    assert!(about_c[0]["result"].as_str().unwrap().contains("--prune-removed"));
    assert!(
        env.cluster("c").object(GATEWAY).is_some(),
        "left alone without --prune-removed"
    );
    assert!(
        env.cluster("a").object(&peer_path("c")).is_none(),
        "but unlinked from the others"
    );
    for other in ["a", "b"] {
        assert!(
            env.cluster("c").object(&peer_path(other)).is_none(),
            "and its own link to {other} is gone: unlinked in both directions"
        );
    }
    assert!(
        removed
            .iter()
            .any(|r| r["target"] == "c -> a" && r["result"] == "link deleted"),
        "{removed:?}"
    );

    // verify of the remaining mesh does not suggest re-linking c.
    let run = env.mesh(&["verify", "--contexts", "a,b", "-o", "json"]).success();
    let text = run.stdout.replace(' ', "");
    assert!(
        !text.contains("\"to\":\"c\"") && !text.contains("\"from\":\"c\""),
        "{}",
        run.stdout
    );
    up(&env, &file, &["--prune-removed"]).success();
    assert!(env.cluster("c").object(GATEWAY).is_none(), "c's gateway removed");
    assert!(
        env.cluster("c").object(&peer_path("a")).is_none(),
        "c's links removed"
    );
    assert!(env
        .cluster("c")
        .object("/api/v1/namespaces/istio-system/secrets/cacerts")
        .is_none());
    assert!(
        env.cluster("a").object(GATEWAY).is_some(),
        "the remaining clusters keep theirs"
    );
    // Once pruned and no longer recorded, nothing more is said about c.
    let run = up(&env, &file, &["-o", "json"]).success();
    assert!(
        !run.json()["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["step"] == "removed"),
        "{}",
        run.stdout
    );
}

/// a without a network label; b's labelled "old" by another field manager, which `up` may not
/// take over without --force-conflicts: b's network step fails. The file puts b on n2.
fn b_network_owned_by_another() -> (Env, String) {
    let env = start(vec![
        ("a".into(), bare_istio_spec()),
        ("b".into(), istio_spec("old")),
    ]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    (env, file)
}

#[test]
fn a_failed_network_step_skips_that_clusters_later_steps() {
    // b's istio-system carries network "old", set by another field manager: up may not take
    // the label over without --force-conflicts, so b's network step fails.
    let (env, file) = b_network_owned_by_another();
    let run = up(&env, &file, &["-o", "json"]).code(1);
    let steps = run.json()["steps"].as_array().cloned().unwrap();
    let row = |step: &str, target: &str| {
        steps
            .iter()
            .find(|s| s["step"] == step && s["target"] == target)
            .cloned()
    };
    assert!(row("network", "b").unwrap()["error"]
        .as_str()
        .unwrap()
        .contains("conflict"));
    assert!(row("skipped", "b").is_some(), "{steps:#?}");
    assert!(row("expose", "b").is_none(), "b is not exposed: {steps:#?}");
    assert!(
        env.cluster("b").object(GATEWAY).is_none(),
        "no gateway on a network istio-system disagrees with"
    );
    assert!(env.cluster("a").object(GATEWAY).is_some(), "a goes on");
    assert!(row("expose", "a").unwrap().get("error").is_none());
}

#[test]
fn dry_runs_say_would_and_server_dry_run_finds_the_conflict() {
    let (env, file) = b_network_owned_by_another();
    let run = up(&env, &file, &["--dry-run=client", "-o", "json"]).success();
    let results = step_results(&run);
    assert!(
        results.iter().any(|r| r.starts_with("would create")),
        "{results:?}"
    );
    assert!(
        !results
            .iter()
            .any(|r| r.starts_with("created") || r.starts_with("configured")),
        "{results:?}"
    );
    // The server runs the real checks: b's network label belongs to another manager.
    let run = up(&env, &file, &["--dry-run=server"]).code(1);
    assert!(
        run.stderr.contains("error: network b") && run.stderr.contains("conflict"),
        "{}",
        run.stderr
    );
    for c in ["a", "b"] {
        assert!(
            env.cluster(c).object(GATEWAY).is_none(),
            "nothing persisted in {c}"
        );
    }
    up(&env, &file, &[]).code(1);
    let run = env
        .mesh(&["down", "-f", &file, "--dry-run=client", "-o", "json"])
        .success();
    assert!(run.stdout.contains("would delete Gateway"), "{}", run.stdout);
    assert!(
        env.cluster("a").object(GATEWAY).is_some(),
        "a dry run deletes nothing"
    );
}

#[test]
fn down_reaches_former_members_recorded_by_up() {
    let (env, file) = c_dropped_from_the_file();
    up(&env, &file, &[]).success();
    assert!(
        env.cluster("c").object(GATEWAY).is_some(),
        "c keeps its objects without --prune-removed"
    );
    env.mesh(&["down", "-f", &file]).success();
    for c in ["a", "b", "c"] {
        assert!(
            env.cluster(c).object(GATEWAY).is_none(),
            "down removed the mesh from {c}"
        );
    }
}

#[test]
fn the_topology_can_come_from_stdin() {
    let env = with_bare_istio(&["a"]);
    let certs = env.dir.path().join("certs");
    let text = format!(
        "mesh_id: m\ncerts: {{dir: {}, keyType: ec-p256}}\ncontexts:\n  a: {{network: n1}}\n",
        certs.display()
    );
    let out = env.dir.path().join("out");
    env.mesh_stdin(&["up", "-f", "-", "--generate", out.to_str().unwrap()], &text)
        .success();
    assert!(out.join("a/eastwest.yaml").exists());
    let run = env
        .mesh_stdin(&["up", "-f", "-"], "contexts:\n  a: {network: n1}\n")
        .code(2);
    assert!(
        run.stderr.contains("<stdin>:1:1: missing field `mesh_id`"),
        "{}",
        run.stderr
    );
}

#[test]
fn settings_the_run_does_not_use_are_reported() {
    let env = with_bare_istio(&["a"]);
    let file = write_topology(
        &env,
        "trustDomain: corp.example\nsolo: {hub: r.example, tag: t}\ncontexts:\n  a: {network: n1}\n",
    );
    let run = up(&env, &file, &["-o", "json"]).success();
    let results: Vec<(String, String)> = run.json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "settings")
        .map(|s| {
            (
                s["target"].as_str().unwrap().to_string(),
                s["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        results
            .iter()
            .any(|(t, r)| t == "file" && r.contains("ignored: solo")),
        "{results:?}"
    );
    assert!(
        results.iter().any(|(t, r)| t == "a"
            && r.contains("trustDomain corp.example is not installed")
            && r.contains("istiod uses cluster.local")),
        "{results:?}"
    );
}

#[test]
fn down_of_one_mesh_leaves_another_on_the_same_clusters() {
    let env = with_bare_istio(&["a", "b"]);
    let write = |id: &str| {
        let certs = env.dir.path().join("certs");
        let path = env.dir.path().join(format!("{id}.yaml"));
        std::fs::write(
            &path,
            format!("mesh_id: {id}\ncerts: {{dir: {}, keyType: ec-p256}}\ncontexts:\n  a: {{network: n1}}\n  b: {{network: n2}}\n", certs.display()),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    };
    let (x, y) = (write("mx"), write("my"));
    // The controller's status ConfigMap shares the prefix of a mesh record, and is none.
    env.kubectl_stdin(
        &["--context", "a", "apply", "--server-side", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kubectl-mesh-controller-status, namespace: istio-system, labels: {app.kubernetes.io/managed-by: kubectl-mesh}}\ndata: {summary: x}\n",
    )
    .success();
    up(&env, &x, &[]).success();
    let run = up(&env, &y, &["-o", "json"]).success();
    assert!(
        run.stdout.contains("this cluster is also in mesh mx"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("mesh controller-status"), "{}", run.stdout);
    let run = env.mesh(&["down", "-f", &x]).success();
    assert!(
        run.stdout.contains("kept Namespace istio-gateways"),
        "{}",
        run.stdout
    );
    for c in ["a", "b"] {
        assert!(
            env.cluster(c).object(GATEWAY).is_some(),
            "mesh my keeps its gateway in {c}"
        );
    }
}

#[test]
fn single_commands_keep_the_mesh_id_so_down_still_removes_their_objects() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    up(&env, &file, &[]).success();
    let certs = env.dir.path().join("certs");
    env.mesh(&[
        "certs",
        "rotate",
        "--cluster",
        "a",
        "--dir",
        certs.to_str().unwrap(),
        "--key-type",
        "ec-p256",
        "--apply-to",
        "a",
    ])
    .success();
    env.mesh(&["link", "--contexts", "a,b"]).success();
    let secret = env
        .cluster("a")
        .object("/api/v1/namespaces/istio-system/secrets/cacerts")
        .unwrap();
    assert_eq!(secret["metadata"]["labels"]["kubectl-mesh.io/mesh-id"], "mymesh");
    env.mesh(&["down", "-f", &file]).success();
    assert!(
        env.cluster("a")
            .object("/api/v1/namespaces/istio-system/secrets/cacerts")
            .is_none(),
        "the rotated cacerts (a private key) is removed by down"
    );
}

#[test]
fn helm_gets_the_kubeconfig_given_and_the_values_dir_is_checked_first() {
    let env = with_bare_istio(&["a"]);
    let (helm, record) = fake_helm(&env);
    let file = write_topology(
        &env,
        "installer: helm\nflavor: ambient\ncontexts:\n  a: {network: n1}\n",
    );
    let kubeconfig = env.kubeconfig.to_str().unwrap();
    up(&env, &file, &["--helm", &helm, "--kubeconfig", kubeconfig]).success();
    let calls = std::fs::read_to_string(&record).unwrap();
    assert!(calls.contains(&format!("--kubeconfig {kubeconfig}")), "{calls}");
    let not_a_dir = env.dir.path().join("afile");
    std::fs::write(&not_a_dir, "").unwrap();
    env.cluster("a").reset_counts();
    let run = env
        .mesh(&[
            "up",
            "-f",
            &file,
            "--helm",
            &helm,
            "--values-dir",
            not_a_dir.to_str().unwrap(),
        ])
        .code(2);
    assert!(
        run.stderr.contains("cannot write helm values into"),
        "{}",
        run.stderr
    );
    assert_eq!(env.cluster("a").counts().writes(), 0, "nothing changed");
}

#[test]
fn no_new_root_is_minted_over_clusters_that_trust_one() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    up(&env, &file, &[]).success();
    // The same mesh from another folder, whose certs.dir holds nothing yet.
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let other = elsewhere.join("mesh.yaml");
    std::fs::write(&other, "mesh_id: mymesh\ncerts: {dir: fresh, keyType: ec-p256}\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n").unwrap();
    let run = env.mesh(&["up", "-f", other.to_str().unwrap()]).code(2);
    assert!(
        run.stderr
            .contains("has no root CA, but a, b already have a cacerts Secret"),
        "{}",
        run.stderr
    );
    assert!(!elsewhere.join("fresh").exists(), "no root key written");
}

#[test]
fn a_former_member_out_of_the_kubeconfig_is_a_warning_not_a_failure() {
    let (env, file) = c_dropped_from_the_file();
    up(&env, &file, &[]).success();
    // A kubeconfig without context c.
    let text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let mut config: Value = serde_yaml_ng::from_str(&text).unwrap();
    config["contexts"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["name"] != "c");
    let without_c = env.dir.path().join("no-c");
    std::fs::write(&without_c, serde_yaml_ng::to_string(&config).unwrap()).unwrap();
    let run = up(&env, &file, &["--kubeconfig", without_c.to_str().unwrap()]).success();
    assert!(
        run.stdout.contains("its own links were not checked"),
        "{}",
        run.stdout
    );
    up(
        &env,
        &file,
        &["--kubeconfig", without_c.to_str().unwrap(), "--prune-removed"],
    )
    .code(1);
}

/// `down` keeps a namespace that still holds objects of any kind that are not this mesh's (a
/// namespace's deletion deletes every kind), and deletes one that holds only its own.
#[test]
fn down_keeps_a_namespace_holding_a_users_route_of_a_kind_it_never_writes() {
    let env = with_bare_istio(&["a", "b"]);
    let file = write_topology(&env, "contexts:\n  a: {network: n1}\n  b: {network: n2}\n");
    up(&env, &file, &[]).success();
    let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: mine, namespace: istio-gateways}\nspec:\n  parentRefs: [{name: istio-eastwest}]\n";
    env.kubectl_stdin(&["--context", "a", "apply", "--server-side", "-f", "-"], route)
        .success();
    let run = env.mesh(&["down", "-f", &file, "-o", "json"]).success();
    assert!(
        run.stdout
            .contains("kept Namespace istio-gateways: it still holds HTTPRoute istio-gateways/mine"),
        "{}",
        run.stdout
    );
    let route_path = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/httproutes/mine";
    assert!(
        env.cluster("a").object(route_path).is_some(),
        "the user's route stays"
    );
    assert!(
        env.cluster("b")
            .object("/api/v1/namespaces/istio-gateways")
            .is_none(),
        "b's namespace held only the mesh's objects: deleted"
    );
}
