//! Bad input to every command (`docs/errors.md`): each exits 2 with `error:` on the first line
//! of stderr, before any request changes a cluster and before any file is written. The
//! observed table is compared with the committed file; `UPDATE_DOCS=1 cargo test --test
//! bad_input` rewrites it.

mod common;

use std::path::Path;

use common::docs::{check_section, clean};
use common::*;

const CLUSTERS: [&str; 2] = ["a", "b"];

/// A self-signed certificate and its key, written to `dir/<name>-cert.pem` / `-key.pem`.
fn pem_pair(dir: &Path, name: &str, ca: bool, expired: bool) -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} root"));
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
    }
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let cert_path = dir.join(format!("{name}-cert.pem"));
    let key_path = dir.join(format!("{name}-key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (
        cert_path.to_str().unwrap().to_string(),
        key_path.to_str().unwrap().to_string(),
    )
}

type ArgsFn = Box<dyn Fn(&Path) -> Vec<String>>;

/// One bad input: what it is, and the command line (built from the scratch dir).
struct BadInput {
    group: &'static str,
    case: &'static str,
    args: ArgsFn,
}

fn bad(group: &'static str, case: &'static str, args: &'static [&'static str]) -> BadInput {
    BadInput {
        group,
        case,
        args: Box::new(move |_| strings(args)),
    }
}

fn topology(case: &'static str, body: &'static str) -> BadInput {
    BadInput {
        group: "topology file",
        case,
        args: Box::new(move |dir| {
            let path = dir.join(format!("mesh-{}.yaml", case.replace(' ', "-")));
            std::fs::write(&path, format!("mesh_id: m\n{body}")).unwrap();
            strings(&[
                "up",
                "-f",
                path.to_str().unwrap(),
                "--values-dir",
                dir.join("values").to_str().unwrap(),
            ])
        }),
    }
}

fn pem(case: &'static str, files: fn(&Path) -> (String, String)) -> BadInput {
    BadInput {
        group: "PEM files",
        case,
        args: Box::new(move |dir| {
            let (cert, key) = files(&dir.join("pem"));
            strings(&[
                "certs",
                "root",
                "--dir",
                dir.join("certs-out").to_str().unwrap(),
                "--root-cert",
                &cert,
                "--root-key",
                &key,
            ])
        }),
    }
}

fn bad_inputs() -> Vec<BadInput> {
    vec![
        bad(
            "kubeconfig",
            "missing file",
            &["expose", "--kubeconfig", "/nonexistent/config"],
        ),
        BadInput {
            group: "kubeconfig",
            case: "malformed file",
            args: Box::new(|dir| {
                let path = dir.join("bad-config");
                std::fs::write(&path, "apiVersion: v1\nclusters: [unclosed\n").unwrap();
                strings(&["expose", "--kubeconfig", path.to_str().unwrap()])
            }),
        },
        BadInput {
            group: "kubeconfig",
            case: "context name twice in one file",
            args: Box::new(|dir| {
                let path = dir.join("dup-config");
                let text = "apiVersion: v1\nkind: Config\nclusters:\n- {name: c, cluster: {server: 'https://127.0.0.1:1'}}\nusers:\n- {name: u, user: {token: t}}\ncontexts:\n- {name: a, context: {cluster: c, user: u}}\n- {name: a, context: {cluster: c, user: u, namespace: other}}\n";
                std::fs::write(&path, text).unwrap();
                strings(&["expose", "--kubeconfig", path.to_str().unwrap(), "--context", "a"])
            }),
        },
        BadInput {
            group: "kubeconfig",
            case: "certificate-authority file missing",
            args: Box::new(|dir| {
                let path = dir.join("no-ca-config");
                let text = "apiVersion: v1\nkind: Config\nclusters:\n- {name: c, cluster: {server: 'https://127.0.0.1:1', certificate-authority: /nonexistent/ca.crt}}\nusers:\n- {name: u, user: {token: t}}\ncontexts:\n- {name: a, context: {cluster: c, user: u}}\n";
                std::fs::write(&path, text).unwrap();
                strings(&["expose", "--kubeconfig", path.to_str().unwrap(), "--context", "a"])
            }),
        },
        bad("kubeconfig", "unknown context", &["expose", "--contexts", "a,zz"]),
        bad(
            "kubeconfig",
            "context listed twice",
            &["expose", "--contexts", "a,b,a"],
        ),
        bad(
            "flags",
            "unknown flavour",
            &["expose", "--context", "a", "--flavor", "mystery"],
        ),
        bad(
            "flags",
            "invalid gateway name",
            &["expose", "--context", "a", "--name", "Bad_Name"],
        ),
        bad(
            "flags",
            "invalid cluster name",
            &["expose", "--contexts", "Upper=a"],
        ),
        bad("flags", "empty --contexts", &["verify", "--contexts", ""]),
        bad(
            "flags",
            "only commas in --contexts",
            &["expose", "--contexts", ","],
        ),
        bad(
            "flags",
            "empty --context",
            &["certs", "secret", "--context", "", "--dir", "certs-none"],
        ),
        bad(
            "flags",
            "--timeout 0",
            &["expose", "--context", "a", "--timeout", "0"],
        ),
        bad(
            "flags",
            "negative --timeout",
            &["verify", "--context", "a", "--timeout=-5s"],
        ),
        bad("flags", "--wait 0", &["expose", "--context", "a", "--wait", "0s"]),
        bad("flags", "--from = --to", &["link", "--from", "a", "--to", "a"]),
        bad(
            "flags",
            "up --generate with --dry-run",
            &["up", "-f", "mesh.yaml", "--generate", "out", "--dry-run=client"],
        ),
        bad("flags", "fewer than two clusters", &["link", "--contexts", "a"]),
        bad(
            "flags",
            "--server with several targets",
            &[
                "link",
                "--contexts",
                "a,b",
                "--mode",
                "remote-secret",
                "--server",
                "https://api.example:6443",
            ],
        ),
        bad(
            "flags",
            "bad --token-duration",
            &[
                "link",
                "--from",
                "a",
                "--to",
                "b",
                "--mode",
                "remote-secret",
                "--token-duration",
                "forever",
            ],
        ),
        bad(
            "flags",
            "bad --dry-run value",
            &["expose", "--context", "a", "--dry-run=maybe"],
        ),
        bad(
            "link topology",
            "unknown hub",
            &["link", "--contexts", "a,b", "--hub", "c"],
        ),
        bad(
            "link topology",
            "a pair of a cluster with itself",
            &["link", "--contexts", "a,b", "--pairs", "a:a"],
        ),
        bad(
            "link topology",
            "a cluster in two groups",
            &["verify", "--contexts", "a,b", "--group", "x=a,b", "--group", "y=b"],
        ),
        bad(
            "link topology",
            "empty group",
            &["link", "--contexts", "a,b", "--group", "x=", "--pairs", "a:b"],
        ),
        bad(
            "link topology",
            "pairs with hub-and-spoke",
            &["link", "--contexts", "a,b", "--hub", "a", "--pairs", "a:b"],
        ),
        bad(
            "primary-remote",
            "primary listed as its own remote",
            &["verify", "--primary", "a", "--remotes", "a"],
        ),
        bad(
            "primary-remote",
            "verify --primary with an ambient flavour",
            &["verify", "--primary", "a", "--remotes", "b", "--flavor", "ambient"],
        ),
        bad(
            "primary-remote",
            "verify --primary with an unknown remote",
            &["verify", "--primary", "a", "--remotes", "zz"],
        ),
        topology("unknown key", "contexts:\n  a: {netwrk: n1}\n"),
        topology(
            "duplicate context",
            "contexts:\n  a: {network: n1}\n  a: {network: n2}\n",
        ),
        topology("missing network", "contexts:\n  a: {cluster: x}\n"),
        topology("a context that is not a map", "contexts:\n  a: 5\n"),
        topology(
            "invalid trust domain",
            "trustDomain: Corp_Local\ncontexts:\n  a: {network: n1}\n",
        ),
        topology("invalid cluster name", "contexts:\n  A_B: {network: n1}\n"),
        topology(
            "unknown installer",
            "installer: yum\ncontexts:\n  a: {network: n1}\n",
        ),
        topology(
            "ambient-peering with primary-remote",
            "model: primary-remote\nprimary: a\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n",
        ),
        topology(
            "sail with ambient-peering",
            "installer: sail\ncontexts:\n  a: {network: n1}\n",
        ),
        topology(
            "helm ambient-peering without solo settings",
            "installer: helm\ncontexts:\n  a: {network: n1}\n",
        ),
        topology(
            "links to an unknown cluster",
            "contexts:\n  a: {network: n1}\n  b: {network: n1}\nlinks:\n  pairs: [a:c]\n",
        ),
        topology(
            "a context not in the kubeconfig",
            "contexts:\n  a: {network: n1}\n  nope: {network: n1}\n",
        ),
        topology(
            "links with a cluster in two groups",
            "contexts:\n  a: {network: n1}\n  b: {network: n1}\nlinks:\n  groups:\n    x: [a, b]\n    y: [b]\n",
        ),
        BadInput {
            group: "topology file",
            case: "--generate into an unwritable folder",
            args: Box::new(|dir| {
                let path = dir.join("mesh-generate.yaml");
                let certs = dir.join("certs-out");
                std::fs::write(
                    &path,
                    format!(
                        "mesh_id: m\ncerts: {{dir: {}}}\ncontexts:\n  a: {{network: n1}}\n",
                        certs.display()
                    ),
                )
                .unwrap();
                strings(&["up", "-f", path.to_str().unwrap(), "--generate", "/proc/nope"])
            }),
        },
        bad("certs", "secret --clusters without --generate", &["certs", "secret", "--contexts", "a", "--clusters", "a"]),
        bad("controller", "one member", &["controller", "--contexts", "a"]),
        bad("controller", "--context instead of --contexts", &["controller", "--context", "a"]),
        bad("controller", "--generate without --image", &["controller", "--contexts", "a,b", "--generate"]),
        bad("controller", "unknown context", &["controller", "--contexts", "a,nope"]),
        bad(
            "controller",
            "token refreshed before it is issued",
            &["controller", "--contexts", "a,b", "--mode", "remote-secret", "--token-duration", "10m", "--token-refresh-before", "10m"],
        ),
        bad("controller", "bad --listen", &["controller", "--contexts", "a,b", "--listen", "nowhere"]),
        bad("controller", "lease too short", &["controller", "--contexts", "a,b", "--lease-duration", "1s"]),
        bad("controller", "empty --identity", &["controller", "--contexts", "a,b", "--identity", ""]),
        bad("controller", "bad --lease-namespace", &["controller", "--contexts", "a,b", "--lease-namespace", "Bad_NS"]),
        bad("controller", "hub not a member", &["controller", "--contexts", "a,b", "--hub", "c"]),
        pem("garbage", |dir| {
            let (_, key) = pem_pair(dir, "good", true, false);
            let garbage = dir.join("garbage.pem");
            std::fs::write(&garbage, "this is not a certificate\n").unwrap();
            (garbage.to_str().unwrap().to_string(), key)
        }),
        pem("key does not match", |dir| {
            let (cert, _) = pem_pair(dir, "one", true, false);
            let (_, key) = pem_pair(dir, "two", true, false);
            (cert, key)
        }),
        pem("not a CA", |dir| pem_pair(dir, "leaf", false, false)),
        pem("expired root", |dir| pem_pair(dir, "old", true, true)),
    ]
}

#[test]
fn bad_input_table_matches_docs() {
    let env = with_istio(&CLUSTERS);
    let mut body =
        String::from("| input | case | command | exit | first line of stderr |\n|---|---|---|---|---|\n");
    for input in bad_inputs() {
        for c in CLUSTERS {
            env.cluster(c).reset_counts();
        }
        let args = (input.args)(env.dir.path());
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = env.mesh(&args_ref);
        let what = format!("{} / {}", input.group, input.case);
        assert_eq!(
            run.code, 2,
            "{what}: bad input exits 2\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error:"), "{what}: {}", run.stderr);
        for c in CLUSTERS {
            let counts = env.cluster(c).counts();
            assert_eq!(counts.writes(), 0, "{what}: nothing changed in {c}");
        }
        assert!(
            !env.dir.path().join("certs-out").exists(),
            "{what}: no certificate was written"
        );
        let command = clean(env.dir.path(), &format!("kubectl mesh {}", args.join(" "))).replace("\\|", "|");
        body.push_str(&format!(
            "| {} | {} | `{}` | {} | `{}` |\n",
            input.group,
            input.case,
            command.replace('\n', "\\n"),
            run.code,
            clean(env.dir.path(), first).replace('`', "'")
        ));
    }
    check_section("errors.md", ERRORS_HEADER, "errors", &body);
}

const ERRORS_HEADER: &str = "# Bad input: what you see

Generated by `tests/bad_input.rs` (`bad_input_table_matches_docs`) from the real binaries;
`UPDATE_DOCS=1 cargo test --test bad_input` rewrites it. Every bad input exits `2`, before any
request changes a cluster and before any file is written. Shown is the first line of stderr
(further lines give a hint); `<tmp>` stands for a scratch directory.
";
