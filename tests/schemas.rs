//! Every object a command prints with `--generate`, in every flavour and model, validated
//! against the real upstream schemas vendored in `crates/testkit/upstream/` (Gateway API
//! v1.6.1, Istio 1.30.3, Sail operator 1.30.3, Kubernetes 1.33), strictly: an unknown field is
//! an error, as with `kubectl apply --validate=strict`. Objects written to clusters are checked
//! by the fake API server itself, with the same validator.

mod common;

use common::*;
use mesh_testkit::schema::Schemas;
use serde_json::Value;

/// The documents of a `---`-separated YAML stream.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("valid YAML"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

#[track_caller]
fn assert_valid(source: &str, text: &str) -> usize {
    let objects = documents(text);
    assert!(!objects.is_empty(), "{source} printed no object:\n{text}");
    for object in &objects {
        if let Err(e) = Schemas::upstream().validate(object) {
            panic!(
                "{source}: {e}\n{}",
                serde_yaml_ng::to_string(object).unwrap_or_default()
            );
        }
    }
    objects.len()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn expose_generate_in_every_flavour() {
    let env = with_istio(&["a"]);
    for extra in [
        &[][..],
        &["--flavor", "ambient"],
        &["--flavor", "sidecar"],
        &["--flavor", "sidecar", "--expose-istiod"],
    ] {
        let mut args = vec!["expose", "--generate", "--network", "n1", "--context", "a"];
        args.extend_from_slice(extra);
        let run = env.mesh(&args).success();
        assert_valid(&args.join(" "), &run.stdout);
    }
}

#[test]
fn link_generate_in_both_modes() {
    let env = mesh_of(&["a", "b"]);
    let run = env.mesh(&["link", "--generate", "--context", "b"]).success();
    assert_valid("link --generate", &run.stdout);
    let env = with_istio(&["a", "b"]);
    for c in ["a", "b"] {
        env.mesh(&["expose", "--context", c, "--flavor", "ambient", "--wait=30s"])
            .success();
    }
    let run = env
        .mesh(&["link", "--mode", "remote-secret", "--generate", "--context", "b"])
        .success();
    assert_valid("link --mode remote-secret --generate", &run.stdout);
}

#[test]
fn certs_secret_generate() {
    let env = with_istio(&["a"]);
    let dir = env.dir.path().join("certs");
    let d = dir.to_str().unwrap();
    env.mesh(&[
        "certs",
        "generate",
        "--clusters",
        "a",
        "--dir",
        d,
        "--key-type",
        "ec-p256",
    ])
    .success();
    let run = env
        .mesh(&["certs", "secret", "--generate", "--clusters", "a", "--dir", d])
        .success();
    assert_valid("certs secret --generate", &run.stdout);
}

/// `up --generate` for every flavour, model and installer that produces Kubernetes objects.
#[test]
fn up_generate_in_every_flavour_model_and_installer() {
    let env = with_istio(&["p", "r"]);
    // Primary-remote remotes need the primary's east-west address.
    env.mesh(&["expose", "--context", "p", "--flavor", "sidecar", "--wait=30s"])
        .success();
    for (n, body) in [
        "contexts:\n  p: {network: n1}\n  r: {network: n2}\n",
        "flavor: ambient\ninstaller: sail\ncontexts:\n  p: {network: n1}\n  r: {network: n2}\n",
        "flavor: sidecar\ninstaller: sail\nmodel: primary-remote\nprimary: p\ncontexts:\n  p: {network: n1}\n  r: {network: n2}\n",
        "flavor: sidecar\ninstaller: sail\ncontexts:\n  p: {network: n1, trustDomain: p.local}\n  r: {network: n2}\n",
    ]
    .iter()
    .enumerate()
    {
        let file = env.dir.path().join(format!("mesh-{n}.yaml"));
        let certs = env.dir.path().join(format!("certs-{n}"));
        std::fs::write(
            &file,
            format!("mesh_id: m{n}\ncerts: {{dir: {}, keyType: ec-p256}}\n{body}", certs.display()),
        )
        .unwrap();
        let out = env.dir.path().join(format!("out-{n}"));
        env.mesh(&["up", "-f", file.to_str().unwrap(), "--generate", out.to_str().unwrap()])
            .success();
        let mut checked = 0;
        for path in files_under(&out) {
            let name = path.to_string_lossy().to_string();
            if name.ends_with(".values.yaml") {
                continue; // helm values, not Kubernetes objects
            }
            checked += assert_valid(&name, &std::fs::read_to_string(&path).unwrap());
        }
        assert!(checked >= 4, "{body}: only {checked} objects");
    }
}

/// The validator is not blind: what the apiserver rejects, it rejects too.
#[test]
fn the_validator_rejects_known_bad_objects() {
    let bad_listener = serde_json::json!({
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "g", "namespace": "n"},
        "spec": {"gatewayClassName": "c", "listeners": [{"name": "Bad_Name", "port": 15008, "protocol": "HBONE"}]},
    });
    assert!(Schemas::upstream().validate(&bad_listener).is_err());
    let unknown_sail_field = serde_json::json!({
        "apiVersion": "sailoperator.io/v1", "kind": "Istio", "metadata": {"name": "default"},
        "spec": {"namespace": "istio-system", "values": {"env": {"A": "b"}}},
    });
    let err = Schemas::upstream().validate(&unknown_sail_field).unwrap_err();
    assert!(err.to_string().contains("spec.values.env"), "{err}");
}
