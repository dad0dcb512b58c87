//! Secrets stay secret: every command, at maximum verbosity, against testkit clusters, and
//! nothing it prints — nor any file it writes other than key files and explicit `--generate`
//! output of a Secret — contains a private key or a token.

mod common;

use std::path::Path;

use base64::Engine;
use common::certs::{generate_args, mesh_certs};
use common::*;
use mesh_testkit::{ClusterSpec, IstioSeed};

/// Every secret value that exists in the setup: cluster tokens, reader tokens, private keys.
fn secrets(env: &Env, names: &[&str], certs: &Path) -> Vec<String> {
    let mut found: Vec<String> = names.iter().map(|n| env.cluster(n).token().to_string()).collect();
    for name in names {
        for secret in env
            .cluster(name)
            .objects("/api/v1/namespaces/istio-system/secrets")
        {
            for key in ["token", "ca-key.pem"] {
                if let Some(value) = secret["data"][key].as_str() {
                    let decoded = base64::engine::general_purpose::STANDARD.decode(value).unwrap();
                    found.push(String::from_utf8(decoded).unwrap());
                }
            }
        }
    }
    for entry in walk(certs) {
        if entry.ends_with("key.pem") {
            found.push(std::fs::read_to_string(&entry).unwrap());
        }
    }
    // Keys are checked line by line (a log might wrap them), skipping the PEM armour, and
    // whole in base64 (the way a Secret's data would show them).
    let encoded: Vec<String> = found
        .iter()
        .map(|s| base64::engine::general_purpose::STANDARD.encode(s))
        .collect();
    found
        .iter()
        .flat_map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
        .chain(encoded)
        .collect()
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

#[test]
fn no_command_prints_keys_or_tokens() {
    let names = ["a", "b"];
    let env = start(
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    ClusterSpec {
                        istio: Some(IstioSeed::network(&format!("net-{n}"))),
                        ..Default::default()
                    },
                )
            })
            .collect(),
    );
    let certs = env.dir.path().join("certs");
    let dir = certs.to_str().unwrap();
    let topology = env.dir.path().join("mesh.yaml");
    std::fs::write(&topology, format!("mesh_id: m\nflavor: ambient\ncerts: {{dir: {dir}, keyType: ec-p256}}\ncontexts:\n  a: {{network: net-a}}\n  b: {{network: net-b}}\n")).unwrap();
    let values = env.dir.path().join("values");
    let runs: Vec<Vec<&str>> = vec![
        mesh_certs(generate_args("a,b", &certs, &["-vvv"])),
        vec!["certs", "secret", "--contexts", "a,b", "--dir", dir, "-vvv"],
        vec!["certs", "inspect", "--contexts", "a,b", "-vvv"],
        vec!["expose", "--contexts", "a,b", "--wait=30s", "-vvv"],
        vec!["link", "--contexts", "a,b", "-vvv"],
        vec!["link", "--mode", "remote-secret", "--contexts", "a,b", "-vvv"],
        vec![
            "link",
            "--mode",
            "remote-secret",
            "--contexts",
            "a,b",
            "--token-duration",
            "1h",
            "-vvv",
        ],
        vec!["verify", "--contexts", "a,b", "-vvv"],
        [&["verify"][..], &CHECK_CREDENTIALS, &["-o", "json", "-vvv"]].concat(),
        vec![
            "up",
            "-f",
            topology.to_str().unwrap(),
            "--values-dir",
            values.to_str().unwrap(),
            "-vv",
        ],
        vec![
            "down",
            "-f",
            topology.to_str().unwrap(),
            "--dry-run=client",
            "-vv",
        ],
        // Failures too: errors must not echo credentials either.
        vec![
            "expose",
            "--contexts",
            "a,b",
            "--kubeconfig",
            "/nonexistent",
            "-vvv",
        ],
    ];
    let mut outputs = Vec::new();
    for args in &runs {
        let run = env.mesh(args);
        outputs.push((args.join(" "), run.stdout, run.stderr));
    }
    env.cluster("b").set_down(true);
    let run = env.mesh(&[
        "link",
        "--mode",
        "remote-secret",
        "--contexts",
        "a,b",
        "--timeout",
        "1s",
        "-vvv",
    ]);
    outputs.push(("link with b down".into(), run.stdout, run.stderr));

    let secrets = secrets(&env, &names, &certs);
    assert!(
        secrets.len() > 10,
        "the test found the secrets it looks for: {}",
        secrets.len()
    );
    for (command, stdout, stderr) in &outputs {
        for secret in &secrets {
            assert!(
                !stdout.contains(secret.as_str()),
                "`{command}` printed a secret on stdout"
            );
            assert!(
                !stderr.contains(secret.as_str()),
                "`{command}` printed a secret on stderr"
            );
        }
        assert!(
            !stdout.contains("PRIVATE KEY") && !stderr.contains("PRIVATE KEY"),
            "`{command}` printed a key"
        );
    }
    // Files written other than keys: values files and certificates.
    for file in walk(env.dir.path())
        .iter()
        .filter(|f| !f.ends_with("key.pem") && !f.ends_with("kubeconfig"))
    {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{file} holds a secret");
        }
    }
}
