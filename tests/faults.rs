//! Issue #9: every command under injected faults. For each (command × fault) cell, a fresh
//! pair of clusters `a`, `b` with the fault on `b`: the exit code, the per-cluster report,
//! what is in every cluster afterwards (the healthy cluster complete, the faulty one with
//! each object whole or absent), that a re-run after the fault clears converges, and that a
//! further re-run writes nothing. The observed results are written as tables into
//! `docs/faults.md` (one section per command) and compared with the committed file;
//! `UPDATE_DOCS=1 cargo test --test faults` rewrites them. The bad-input table
//! (`docs/errors.md`) is checked the same way by `bad_input_table_matches_docs`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use mesh_testkit::{ClusterSpec, Fault, IstioSeed};
use serde_json::Value;

// ---- the faults ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Throttle,
    Burst503,
    Reset,
    Forever503,
    Slow,
    WritesDown,
    Conflict,
    Forbidden,
    NoAddress,
}

const FAULTS: [Kind; 9] = [
    Kind::Throttle,
    Kind::Burst503,
    Kind::Reset,
    Kind::Forever503,
    Kind::Slow,
    Kind::WritesDown,
    Kind::Conflict,
    Kind::Forbidden,
    Kind::NoAddress,
];

impl Kind {
    fn title(self) -> &'static str {
        match self {
            Kind::Throttle => "429 + Retry-After: 1, twice",
            Kind::Burst503 => "burst of three 503s (any request)",
            Kind::Reset => "connection reset mid-request, twice",
            Kind::Forever503 => "503 forever",
            Kind::Slow => "2s latency, --timeout 1s",
            Kind::WritesDown => "down mid-run: reads work, every write is reset",
            Kind::Conflict => "SSA conflict with field manager `other`",
            Kind::Forbidden => "403 on one verb",
            Kind::NoAddress => "Gateway address never comes",
        }
    }
}

// ---- the commands ----

/// What a command is, how to set it up and how to read its results.
struct Cmd {
    name: &'static str,
    /// Clusters `a` and `b` with everything the command needs, and no fault yet.
    setup: fn() -> Env,
    /// The command line (without `--timeout`, added per cell).
    args: fn(&Env) -> Vec<String>,
    /// Method and path substring of the request the request-level faults hit.
    hit: (&'static str, &'static str),
    /// The verb and resource denied by the 403 cell.
    deny: (&'static str, &'static str),
    /// Objects the command makes, per cluster (empty: the command writes nothing).
    objects: fn(&str) -> Vec<String>,
    /// Makes `b`'s main object belong to another field manager with different values.
    conflict: Option<fn(&Env)>,
    /// Makes `b`'s east-west Gateway have no address (and never get one).
    no_address: Option<fn(&Env)>,
    /// The expected exit code of the faulted run; `None`: the cell does not apply.
    expect: fn(Kind) -> Option<i32>,
    /// Why a cell does not apply.
    not_applicable: fn(Kind) -> &'static str,
    /// The slow cell delays only requests whose path contains this (None: every request).
    slow_only: Option<&'static str>,
}

const CLUSTERS: [&str; 2] = ["a", "b"];

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn dir_arg(env: &Env, sub: &str) -> String {
    env.dir.path().join(sub).to_str().unwrap().to_string()
}

fn peer_path(target: &str) -> String {
    format!(
        "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-remote-peer-{target}"
    )
}

const CACERTS: &str = "/api/v1/namespaces/istio-system/secrets/cacerts";

fn other(cluster: &str) -> &'static str {
    if cluster == "a" {
        "b"
    } else {
        "a"
    }
}

/// Someone else's field manager owns b's east-west Gateway (its class) already.
fn eastwest_owned_by_other(env: &Env) {
    let yaml = env
        .mesh(&["expose", "--generate", "--network", "network-b"])
        .success()
        .stdout;
    apply_as_other(
        env,
        &yaml.replace(
            "gatewayClassName: istio-eastwest",
            "gatewayClassName: someone-elses",
        ),
    );
}

/// Exit 0 when retries get through the fault (throttling, a burst, resets), else 1.
fn retried_faults_pass(kind: Kind) -> Option<i32> {
    Some(match kind {
        Kind::Throttle | Kind::Burst503 | Kind::Reset => 0,
        _ => 1,
    })
}

/// Applies `yaml` to cluster `b` as field manager `other`.
fn apply_as_other(env: &Env, yaml: &str) {
    env.kubectl_stdin(
        &[
            "--context",
            "b",
            "apply",
            "--server-side",
            "--field-manager",
            "other",
            "-f",
            "-",
        ],
        yaml,
    )
    .success();
}

/// `b`'s east-west Gateway loses its address and never gets one back.
fn strip_address(env: &Env) {
    let b = env.cluster("b");
    b.set_address_delay(None);
    let mut gw = b.object(GATEWAY).expect("b's east-west gateway");
    gw.as_object_mut().unwrap().remove("status");
    b.put_object(gw).unwrap();
}

fn generate_certs(env: &Env) {
    env.mesh(&[
        "certs",
        "generate",
        "--clusters",
        "a,b",
        "--dir",
        &dir_arg(env, "certs"),
        "--key-type",
        "ec-p256",
    ])
    .success();
}

fn expose_cmd() -> Cmd {
    Cmd {
        name: "expose",
        setup: || with_istio(&CLUSTERS),
        args: |_| strings(&["expose", "--contexts", "a,b", "--wait=2s", "-o", "json"]),
        hit: ("PATCH", "gateways/istio-eastwest"),
        deny: ("patch", "gateways"),
        objects: |_| vec![GATEWAYS_NS.to_string(), GATEWAY.to_string()],
        conflict: Some(eastwest_owned_by_other),
        no_address: Some(|env| env.cluster("b").set_address_delay(None)),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: None,
    }
}

fn certs_secret_cmd() -> Cmd {
    Cmd {
        name: "certs-secret",
        setup: || {
            let env = with_istio(&CLUSTERS);
            generate_certs(&env);
            env
        },
        args: |env| {
            strings(&[
                "certs",
                "secret",
                "--contexts",
                "a,b",
                "--dir",
                &dir_arg(env, "certs"),
                "-o",
                "json",
            ])
        },
        hit: ("PATCH", "secrets/cacerts"),
        deny: ("patch", "secrets"),
        objects: |_| vec![CACERTS.to_string()],
        conflict: Some(|env| {
            let yaml = env
                .mesh(&[
                    "certs",
                    "secret",
                    "--generate",
                    "--clusters",
                    "b",
                    "--dir",
                    &dir_arg(env, "certs"),
                ])
                .success()
                .stdout;
            apply_as_other(
                env,
                &yaml.replace(
                    "app.kubernetes.io/managed-by: kubectl-mesh",
                    "app.kubernetes.io/managed-by: someone-else",
                ),
            );
        }),
        no_address: None,
        expect: |kind| match kind {
            Kind::Throttle | Kind::Burst503 | Kind::Reset => Some(0),
            Kind::NoAddress => None,
            _ => Some(1),
        },
        not_applicable: |_| "certs secret waits for no address",
        slow_only: None,
    }
}

fn exposed() -> Env {
    let env = with_istio(&CLUSTERS);
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    env
}

fn link_cmd() -> Cmd {
    Cmd {
        name: "link",
        setup: exposed,
        args: |_| strings(&["link", "--contexts", "a,b", "-o", "json"]),
        hit: ("PATCH", "istio-remote-peer-a"),
        deny: ("patch", "gateways"),
        objects: |cluster| vec![peer_path(other(cluster))],
        conflict: Some(|env| {
            let yaml = env
                .mesh(&["link", "--generate", "--context", "a"])
                .success()
                .stdout;
            apply_as_other(
                env,
                &yaml.replace(
                    "gatewayClassName: istio-remote",
                    "gatewayClassName: someone-elses",
                ),
            );
        }),
        no_address: Some(strip_address),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: None,
    }
}

fn verify_cmd() -> Cmd {
    Cmd {
        name: "verify",
        setup: || {
            let env = exposed();
            generate_certs(&env);
            env.mesh(&[
                "certs",
                "secret",
                "--contexts",
                "a,b",
                "--dir",
                &dir_arg(&env, "certs"),
            ])
            .success();
            env.mesh(&["link", "--contexts", "a,b"]).success();
            env
        },
        args: |_| strings(&["verify", "--contexts", "a,b", "-o", "json"]),
        hit: ("GET", "secrets/cacerts"),
        deny: ("get", "secrets"),
        objects: |_| Vec::new(),
        conflict: None,
        no_address: Some(strip_address),
        expect: |kind| match kind {
            Kind::Throttle | Kind::Burst503 | Kind::Reset | Kind::WritesDown => Some(0),
            Kind::Conflict => None,
            _ => Some(1),
        },
        not_applicable: |_| "verify writes nothing, so no field manager can conflict with it",
        slow_only: None,
    }
}

fn up_cmd() -> Cmd {
    Cmd {
        name: "up",
        setup: || {
            let env = start(
                CLUSTERS
                    .iter()
                    .map(|n| {
                        (
                            n.to_string(),
                            ClusterSpec {
                                istio: Some(IstioSeed::default()),
                                ..Default::default()
                            },
                        )
                    })
                    .collect(),
            );
            let text = format!(
                "mesh_id: mymesh\ncerts: {{dir: {}, keyType: ec-p256}}\ncontexts:\n  a: {{network: network-a}}\n  b: {{network: network-b}}\n",
                dir_arg(&env, "certs")
            );
            std::fs::write(env.dir.path().join("mesh.yaml"), text).unwrap();
            env
        },
        args: |env| {
            strings(&[
                "up",
                "-f",
                &dir_arg(env, "mesh.yaml"),
                "--values-dir",
                &dir_arg(env, "values"),
                "--wait=2s",
                "-o",
                "json",
            ])
        },
        hit: ("PATCH", "gateways/istio-eastwest"),
        deny: ("patch", "gateways"),
        objects: |cluster| {
            vec![
                CACERTS.to_string(),
                GATEWAYS_NS.to_string(),
                GATEWAY.to_string(),
                peer_path(other(cluster)),
            ]
        },
        conflict: Some(eastwest_owned_by_other),
        no_address: Some(|env| env.cluster("b").set_address_delay(None)),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: Some("gateways/istio-eastwest"),
    }
}

fn title(cmd: &Cmd, kind: Kind) -> String {
    match (kind, cmd.slow_only) {
        (Kind::Slow, Some(path)) => format!("2s latency on …{path}, --timeout 1s"),
        _ => kind.title().to_string(),
    }
}

// ---- observing a cell ----

/// One line of a command's report: a cluster, pair, step or check.
struct Unit {
    name: String,
    ok: bool,
    text: String,
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The report's lines (from `-o json`).
fn units(cmd: &str, run: &Run) -> Vec<Unit> {
    let doc: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd}: stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    });
    let rows = |key: &str| doc[key].as_array().cloned().unwrap_or_default();
    let unit = |name: String, row: &Value, failed: bool| Unit {
        name,
        ok: !failed,
        text: if failed {
            str_of(&row["error"])
        } else {
            str_of(&row["result"])
        },
    };
    match cmd {
        "expose" | "certs-secret" => rows("clusters")
            .iter()
            .map(|r| unit(str_of(&r["cluster"]), r, r["result"] == "failed"))
            .collect(),
        "link" => rows("links")
            .iter()
            .map(|r| {
                let name = format!("{}→{}", str_of(&r["from"]), str_of(&r["to"]));
                unit(name, r, r["result"] == "failed")
            })
            .collect(),
        "up" => rows("steps")
            .iter()
            .map(|r| {
                let name = format!("{} {}", str_of(&r["step"]), str_of(&r["target"]));
                unit(name, r, r.get("error").is_some())
            })
            .collect(),
        "verify" => rows("checks")
            .iter()
            .map(|c| {
                let scope = if let Some(cluster) = c["cluster"].as_str() {
                    cluster.to_string()
                } else if c["from"].is_string() {
                    format!("{}→{}", str_of(&c["from"]), str_of(&c["to"]))
                } else {
                    "mesh".to_string()
                };
                Unit {
                    name: format!("{} {scope}", str_of(&c["id"])),
                    ok: c["status"] == "pass",
                    text: format!("{}: {}", str_of(&c["status"]), str_of(&c["message"])),
                }
            })
            .collect(),
        other => panic!("unknown command {other}"),
    }
}

/// Whether a report line is about cluster `b`.
fn involves_b(unit: &str) -> bool {
    unit.split([' ', '→']).any(|w| w == "b" || w == "b→a")
        || unit.contains("→b")
        || unit.contains("b→")
        || unit.ends_with(" all")
}

/// Messages made stable for the docs: no ports, temp paths or transport detail.
fn clean(env_dir: &Path, text: &str) -> String {
    let mut s = text.replace(env_dir.to_str().unwrap(), "<tmp>");
    // https://127.0.0.1:<port>
    while let Some(i) = s.find("https://127.0.0.1:") {
        let start = i + "https://127.0.0.1:".len();
        let end = s[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s.len(), |n| start + n);
        s.replace_range(i..end, "https://<server>");
    }
    // Transport detail varies with the exact moment the connection dropped.
    let marker = "cannot reach the API server: ";
    let mut from = 0;
    while let Some(i) = s[from..].find(marker) {
        let start = from + i + marker.len();
        let end = s[start..].find("; check").map_or(s.len(), |n| start + n);
        s.replace_range(start..end, "<transport error>");
        from = start + "<transport error>".len();
    }
    s.replace('|', "\\|").replace('\n', " ")
}

/// What we compare of an object: everything but server-managed metadata and status.
fn essence(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(map) = o.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
        }
    }
    o
}

type Snapshot = BTreeMap<(String, String), Option<Value>>;

fn snapshot(env: &Env, cmd: &Cmd) -> Snapshot {
    let mut snap = BTreeMap::new();
    for c in CLUSTERS {
        for path in (cmd.objects)(c) {
            let obj = env.cluster(c).object(&path).map(|o| essence(&o));
            snap.insert((c.to_string(), path), obj);
        }
    }
    snap
}

fn short(path: &str) -> String {
    let parts: Vec<&str> = path.rsplitn(3, '/').collect();
    format!("{}/{}", parts[1], parts[0])
}

fn attempts(env: &Env, method: &str, path: &str) -> usize {
    env.cluster("b")
        .request_log()
        .iter()
        .filter(|r| r.method == method && r.path.contains(path))
        .count()
}

fn clear(env: &Env) {
    let b = env.cluster("b");
    b.clear_faults();
    b.clear_denies();
    b.set_latency(Duration::ZERO);
    b.set_address_delay(Some(Duration::ZERO));
}

fn wait_for_address(env: &Env, cluster: &str) {
    for _ in 0..200 {
        let gw = env.cluster(cluster).object(GATEWAY);
        if gw.is_some_and(|g| g["status"]["addresses"][0]["value"].is_string()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("cluster {cluster}'s gateway got no address");
}

fn inject(env: &Env, cmd: &Cmd, kind: Kind) {
    let b = env.cluster("b");
    let (method, path) = cmd.hit;
    match kind {
        Kind::Throttle => b.inject(
            Fault::status(429)
                .retry_after(1)
                .times(2)
                .method(method)
                .path_contains(path),
        ),
        Kind::Burst503 => b.inject(Fault::status(503).times(3)),
        Kind::Reset => b.inject(Fault::reset().times(2).method(method).path_contains(path)),
        Kind::Forever503 => b.inject(Fault::status(503).method(method).path_contains(path)),
        Kind::Slow => match cmd.slow_only {
            Some(path) => b.inject(Fault::delay(Duration::from_secs(2)).path_contains(path)),
            None => b.set_latency(Duration::from_secs(2)),
        },
        Kind::WritesDown => {
            for m in ["PATCH", "POST", "PUT", "DELETE"] {
                b.inject(Fault::reset().method(m));
            }
        }
        Kind::Conflict => (cmd.conflict.expect("conflict setup"))(env),
        Kind::Forbidden => b.deny(cmd.deny.0, cmd.deny.1),
        Kind::NoAddress => (cmd.no_address.expect("no-address setup"))(env),
    }
}

/// Runs one cell and returns its row of the table.
fn cell(cmd: &Cmd, kind: Kind) -> String {
    let what = format!("{} × {:?}", cmd.name, kind);
    let Some(expected) = (cmd.expect)(kind) else {
        return format!(
            "| {} | n/a | | {} | | | |",
            title(cmd, kind),
            (cmd.not_applicable)(kind)
        );
    };
    let env = (cmd.setup)();
    let dir = env.dir.path().to_path_buf();
    let mut args = (cmd.args)(&env);
    args.extend(strings(&["--timeout", "1s"]));
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    inject(&env, cmd, kind);
    let before = snapshot(&env, cmd);
    for c in CLUSTERS {
        env.cluster(c).reset_counts();
    }

    // The faulted run.
    let started = Instant::now();
    let run = env.mesh(&args_ref);
    let elapsed = started.elapsed();
    assert_eq!(
        run.code, expected,
        "{what}: exit code\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        elapsed < Duration::from_secs(25),
        "{what}: took {elapsed:?}, retries must be bounded in time"
    );
    let report = units(cmd.name, &run);
    assert!(!report.is_empty(), "{what}: empty report\n{}", run.stdout);
    for u in &report {
        assert!(
            u.ok || involves_b(&u.name) || (u.name == "verify mesh" && u.text.contains(" b:")),
            "{what}: {} failed though the fault is in b only: {}",
            u.name,
            u.text
        );
    }
    if expected == 0 {
        assert!(
            report.iter().all(|u| u.ok),
            "{what}: the fault should have been retried away\n{}",
            run.stdout
        );
    } else {
        assert!(
            report.iter().any(|u| !u.ok),
            "{what}: exit {expected} but no failure reported\n{}",
            run.stdout
        );
        assert!(
            run.stderr.contains("error") || run.stdout.contains("fail"),
            "{what}: says what failed\n{}",
            run.stderr
        );
    }
    let failed: Vec<String> = report
        .iter()
        .filter(|u| !u.ok)
        .map(|u| format!("{}: {}", u.name, clean(&dir, &u.text)))
        .collect();
    let succeeded: Vec<&str> = report.iter().filter(|u| u.ok).map(|u| u.name.as_str()).collect();

    // Bounded retries: the faulted request was sent at most 5 times; 4xx never repeated.
    let (method, path) = cmd.hit;
    let hits = attempts(&env, method, path);
    let b_log = env.cluster("b").request_log();
    let mut per_request: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in b_log.iter().filter(|r| matches!(r.status, 0 | 429 | 500..=599)) {
        *per_request.entry((r.method.clone(), r.path.clone())).or_default() += 1;
    }
    for ((m, p), n) in &per_request {
        assert!(
            *n <= 5,
            "{what}: {m} {p} failed {n} times: retries must stop at 5"
        );
    }
    for r in b_log.iter().filter(|r| matches!(r.status, 403 | 409)) {
        let n = b_log
            .iter()
            .filter(|x| x.method == r.method && x.path == r.path && x.status == r.status)
            .count();
        assert_eq!(
            n, 1,
            "{what}: {} {} ({}) must not be retried",
            r.method, r.path, r.status
        );
    }
    let attempts_text = match kind {
        Kind::Slow => "(cut off by --timeout)".to_string(),
        Kind::NoAddress => "—".to_string(),
        Kind::WritesDown | Kind::Burst503 => {
            let max = per_request.values().copied().max().unwrap_or(0);
            format!(
                "{} failed, at most {max} per request",
                per_request.values().sum::<usize>()
            )
        }
        _ => format!("{hits} × {method} …{path}"),
    };
    if kind == Kind::Forever503 {
        assert_eq!(hits, 5, "{what}: forever-503 is tried exactly 5 times");
    }
    let writes = !(cmd.objects)("a").is_empty();
    if !writes {
        for c in CLUSTERS {
            assert_eq!(env.cluster(c).counts().writes(), 0, "{what}: {c} was written to");
        }
    }

    // State afterwards: every object complete or absent (or still the other manager's).
    let after_fault = snapshot(&env, cmd);
    clear(&env);
    if kind == Kind::NoAddress && cmd.name != "expose" && cmd.name != "up" {
        wait_for_address(&env, "b");
    }
    let mut rerun_args = args_ref.clone();
    if kind == Kind::Conflict {
        rerun_args.push("--force-conflicts");
    }
    let rerun = env.mesh(&rerun_args);
    assert_eq!(
        rerun.code, 0,
        "{what}: re-run after the fault cleared must converge\nstdout:\n{}\nstderr:\n{}",
        rerun.stdout, rerun.stderr
    );
    let converged = snapshot(&env, cmd);
    let mut state = Vec::new();
    for c in CLUSTERS {
        let mut parts = Vec::new();
        for path in (cmd.objects)(c) {
            let key = (c.to_string(), path.clone());
            let now = &after_fault[&key];
            let done = converged[&key]
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: {c} {path} missing after the converging re-run"));
            let word = match now {
                None => "absent",
                Some(v) if v == done => "complete",
                Some(v) if kind == Kind::Conflict && Some(v) == before[&key].as_ref() => "other's, untouched",
                Some(v) => {
                    panic!("{what}: {c} {path} is half-made after the fault:\n{v:#}\nconverged:\n{done:#}")
                }
            };
            // a's link to b needs b's address: complete exactly when the report says a→b worked.
            let needs_b = path == peer_path("b");
            let a_to_b_ok = report
                .iter()
                .filter(|u| u.name.contains("a→b") || u.name.contains("a -> b"))
                .all(|u| u.ok);
            if c == "a" && (!needs_b || a_to_b_ok) {
                assert_eq!(word, "complete", "{what}: healthy cluster a: {path}");
            }
            parts.push(format!("{} {word}", short(&path)));
        }
        if parts.is_empty() {
            parts.push("0 writes".to_string());
        }
        state.push(format!("{c}: {}", parts.join(", ")));
    }

    // A further re-run writes nothing.
    for c in CLUSTERS {
        env.cluster(c).reset_counts();
    }
    let again = env.mesh(&args_ref);
    assert_eq!(
        again.code, 0,
        "{what}: second re-run\nstdout:\n{}\nstderr:\n{}",
        again.stdout, again.stderr
    );
    for c in CLUSTERS {
        let counts = env.cluster(c).counts();
        assert_eq!(
            counts.writes(),
            0,
            "{what}: the second re-run wrote to {c}: {:?}",
            env.cluster(c).request_log()
        );
    }

    let ok_list = if succeeded.len() > 4 {
        format!("{} others", succeeded.len())
    } else if succeeded.is_empty() {
        "—".to_string()
    } else {
        succeeded.join(", ")
    };
    let report_text = if failed.is_empty() {
        format!("all ok ({ok_list})")
    } else {
        format!("failed: {}<br>ok: {ok_list}", failed.join("<br>"))
    };
    let rerun_text = if kind == Kind::Conflict {
        "exit 0 with `--force-conflicts`"
    } else {
        "exit 0"
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | 0 writes |",
        title(cmd, kind),
        run.code,
        attempts_text,
        report_text,
        state.join("; "),
        rerun_text
    )
}

// ---- the docs ----

static DOCS: Mutex<()> = Mutex::new(());

const SECTIONS: [&str; 5] = ["expose", "certs-secret", "link", "verify", "up"];

fn docs_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(file)
}

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1")
}

/// Checks (or with `UPDATE_DOCS=1` rewrites) the part of `file` between
/// `<!-- faults:NAME -->` and `<!-- /faults:NAME -->`.
fn check_section(file: &str, header: &str, name: &str, body: &str) {
    let _guard = DOCS.lock().unwrap_or_else(|e| e.into_inner());
    let path = docs_path(file);
    let open = format!("<!-- faults:{name} -->");
    let close = format!("<!-- /faults:{name} -->");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let current = text.find(&open).and_then(|start| {
        let end = text[start..].find(&close)? + start;
        Some((start, end))
    });
    let wanted = format!("{open}\n{body}{close}");
    match current {
        Some((start, end)) if text[start..end + close.len()] == wanted => {}
        _ if updating() => {
            let new = match current {
                Some((start, end)) => format!(
                    "{}{wanted}{}",
                    &text[..start],
                    &text[end + close.len()..]
                ),
                None if text.is_empty() => format!("{header}\n{wanted}\n"),
                None if file == "faults.md" => {
                    // Keep the sections in the order of SECTIONS, whichever test writes first.
                    let mine = SECTIONS.iter().position(|s| *s == name).unwrap_or(usize::MAX);
                    let next = SECTIONS[mine.saturating_add(1).min(SECTIONS.len())..]
                        .iter()
                        .find_map(|s| text.find(&format!("<!-- faults:{s} -->")));
                    match next {
                        Some(at) => format!("{}{wanted}\n{}", &text[..at], &text[at..]),
                        None => format!("{}\n{wanted}\n", text.trim_end()),
                    }
                }
                None => format!("{}\n{wanted}\n", text.trim_end()),
            };
            std::fs::write(&path, new).unwrap();
        }
        Some((start, end)) => panic!(
            "docs/{file} section {name} is out of date (UPDATE_DOCS=1 cargo test --test faults rewrites it)\n--- committed:\n{}\n--- observed:\n{wanted}",
            &text[start..end + close.len()]
        ),
        None => panic!(
            "docs/{file} has no section {name} (UPDATE_DOCS=1 cargo test --test faults writes it)\n--- observed:\n{wanted}"
        ),
    }
}

const FAULTS_HEADER: &str = "# Faults: what every command does when a cluster misbehaves

Generated by `tests/faults.rs` from observed runs (`UPDATE_DOCS=1 cargo test --test faults`
rewrites it; the test fails when this file and the behaviour differ).

Every cell starts from fresh fake clusters `a` and `b`; the fault is injected into `b` only.
Commands run with `--timeout 1s` (and `--wait=2s` where they wait). Columns:

- **exit**: exit code of the faulted run (0 ok, 1 something failed, see the report).
- **faulted requests**: how often `b` saw the faulted request. Retries are bounded: no
  request is sent more than 5 times; 403 and 409 are never retried.
- **report**: the report's lines (clusters, pairs, steps or checks), which failed and why
  (addresses and transport detail replaced by placeholders).
- **state afterwards**: every object the command makes, per cluster, right after the faulted
  run: `complete` (exactly what the converged run leaves), `absent`, or `other's, untouched`
  (the conflicting manager's object, unchanged). Nothing is ever half-made.
- **re-run**: the same command once the fault is cleared.
- **2nd re-run**: writes made by one more run (always none).
";

const TABLE_HEAD: &str =
    "| fault on `b` | exit | faulted requests | report | state afterwards | re-run | 2nd re-run |
|---|---|---|---|---|---|---|
";

fn run_table(cmd: Cmd) {
    let mut body = format!("\n## `{}`\n\n{TABLE_HEAD}", cmd.name.replace('-', " "));
    // Cells are independent (each has its own clusters): run them at once, keep their order.
    let rows: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = FAULTS
            .iter()
            .map(|kind| scope.spawn(|| cell(&cmd, *kind)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for row in rows {
        body.push_str(&row);
        body.push('\n');
    }
    body.push('\n');
    check_section("faults.md", FAULTS_HEADER, cmd.name, &body);
}

#[test]
fn expose_under_faults() {
    run_table(expose_cmd());
}

#[test]
fn certs_secret_under_faults() {
    run_table(certs_secret_cmd());
}

#[test]
fn link_under_faults() {
    run_table(link_cmd());
}

#[test]
fn verify_under_faults() {
    run_table(verify_cmd());
}

#[test]
fn up_under_faults() {
    run_table(up_cmd());
}

// ---- bad input: docs/errors.md ----

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

Generated by `tests/faults.rs` (`bad_input_table_matches_docs`) from the real binaries;
`UPDATE_DOCS=1 cargo test --test faults` rewrites it. Every bad input exits `2`, before any
request changes a cluster and before any file is written. Shown is the first line of stderr
(further lines give a hint); `<tmp>` stands for a scratch directory.
";
