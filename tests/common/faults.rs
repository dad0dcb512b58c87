//! The fault matrix of issue #9, which every `faults_<command>.rs` test runs for its command.
//! For each (command × fault) cell, a fresh pair of clusters `a`, `b` with the fault on `b`:
//! the exit code, the per-cluster report, what is in every cluster afterwards (the healthy
//! cluster complete, the faulty one with each object whole or absent), that a re-run after the
//! fault clears converges, and that a further re-run writes nothing. The observed results are
//! written as tables into `docs/faults.md` (one section per command) and compared with the
//! committed file; `UPDATE_DOCS=1 cargo test --test 'faults_*'` rewrites them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mesh_testkit::Fault;
use serde_json::Value;

use super::docs::{check_section, clean};
use super::*;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
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

pub const FAULTS: [Kind; 9] = [
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
    pub fn title(self) -> &'static str {
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

/// What a command is, how to set it up and how to read its results.
pub struct Cmd {
    pub name: &'static str,
    /// Clusters `a` and `b` with everything the command needs, and no fault yet.
    pub setup: fn() -> Env,
    /// The command line (without `--timeout`, added per cell).
    pub args: fn(&Env) -> Vec<String>,
    /// Method and path substring of the request the request-level faults hit.
    pub hit: (&'static str, &'static str),
    /// The verb and resource denied by the 403 cell.
    pub deny: (&'static str, &'static str),
    /// Objects the command makes, per cluster (empty: the command writes nothing).
    pub objects: fn(&str) -> Vec<String>,
    /// Makes `b`'s main object belong to another field manager with different values.
    pub conflict: Option<fn(&Env)>,
    /// Makes `b`'s east-west Gateway have no address (and never get one).
    pub no_address: Option<fn(&Env)>,
    /// The expected exit code of the faulted run; `None`: the cell does not apply.
    pub expect: fn(Kind) -> Option<i32>,
    /// Why a cell does not apply.
    pub not_applicable: fn(Kind) -> &'static str,
    /// The slow cell delays only requests whose path contains this (None: every request).
    pub slow_only: Option<&'static str>,
}

pub const CLUSTERS: [&str; 2] = ["a", "b"];

pub fn other(cluster: &str) -> &'static str {
    if cluster == "a" {
        "b"
    } else {
        "a"
    }
}

/// Someone else's field manager owns b's east-west Gateway (its class) already.
pub fn eastwest_owned_by_other(env: &Env) {
    owned_by_other(
        env,
        &["expose", "--generate", "--network", "network-b"],
        (
            "gatewayClassName: istio-eastwest",
            "gatewayClassName: someone-elses",
        ),
    );
}

/// Exit 0 when retries get through the fault (throttling, a burst, resets), else 1.
pub fn retried_faults_pass(kind: Kind) -> Option<i32> {
    Some(match kind {
        Kind::Throttle | Kind::Burst503 | Kind::Reset => 0,
        _ => 1,
    })
}

/// What the `--generate` run `args` prints, with `change.0` replaced by `change.1`, applied to
/// cluster `b` as field manager `other`: someone else owns the object, with other values.
pub fn owned_by_other(env: &Env, args: &[&str], change: (&str, &str)) {
    let yaml = env.mesh(args).success().stdout;
    let apply = ["apply", "--server-side", "--field-manager", "other", "-f", "-"];
    env.kubectl_stdin(
        &[&["--context", "b"][..], &apply].concat(),
        &yaml.replace(change.0, change.1),
    )
    .success();
}

/// `b`'s east-west Gateway loses its address and never gets one back.
pub fn strip_address(env: &Env) {
    let b = env.cluster("b");
    b.set_address_delay(None);
    let mut gw = b.object(GATEWAY).expect("b's east-west gateway");
    gw.as_object_mut().unwrap().remove("status");
    b.put_object(gw).unwrap();
}

pub fn generate_certs(env: &Env) {
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

pub fn exposed() -> Env {
    let env = with_istio(&CLUSTERS);
    env.mesh(&["expose", "--contexts", "a,b", "--wait=30s"]).success();
    env
}

pub fn title(cmd: &Cmd, kind: Kind) -> String {
    match (kind, cmd.slow_only) {
        (Kind::Slow, Some(path)) => format!("2s latency on …{path}, --timeout 1s"),
        _ => kind.title().to_string(),
    }
}

/// One line of a command's report: a cluster, pair, step or check.
pub struct Unit {
    pub name: String,
    pub ok: bool,
    pub text: String,
}

pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The report's lines (from `-o json`).
pub fn units(cmd: &str, run: &Run) -> Vec<Unit> {
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
pub fn involves_b(unit: &str) -> bool {
    unit.split([' ', '→']).any(|w| w == "b" || w == "b→a")
        || unit.contains("→b")
        || unit.contains("b→")
        || unit.ends_with(" all")
}

/// What we compare of an object: everything but server-managed metadata and status.
pub fn essence(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(map) = o.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
        }
    }
    o
}

pub type Snapshot = BTreeMap<(String, String), Option<Value>>;

pub fn snapshot(env: &Env, cmd: &Cmd) -> Snapshot {
    let mut snap = BTreeMap::new();
    for c in CLUSTERS {
        for path in (cmd.objects)(c) {
            let obj = env.cluster(c).object(&path).map(|o| essence(&o));
            snap.insert((c.to_string(), path), obj);
        }
    }
    snap
}

pub fn short(path: &str) -> String {
    let parts: Vec<&str> = path.rsplitn(3, '/').collect();
    format!("{}/{}", parts[1], parts[0])
}

pub fn attempts(env: &Env, method: &str, path: &str) -> usize {
    env.cluster("b")
        .request_log()
        .iter()
        .filter(|r| r.method == method && r.path.contains(path))
        .count()
}

pub fn clear(env: &Env) {
    let b = env.cluster("b");
    b.clear_faults();
    b.clear_denies();
    b.set_latency(Duration::ZERO);
    b.set_address_delay(Some(Duration::ZERO));
}

pub fn wait_for_address(env: &Env, cluster: &str) {
    for _ in 0..200 {
        let gw = env.cluster(cluster).object(GATEWAY);
        if gw.is_some_and(|g| g["status"]["addresses"][0]["value"].is_string()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("cluster {cluster}'s gateway got no address");
}

pub fn inject(env: &Env, cmd: &Cmd, kind: Kind) {
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
pub fn cell(cmd: &Cmd, kind: Kind) -> String {
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

pub const FAULTS_HEADER: &str = "# Faults: what every command does when a cluster misbehaves

Generated by `tests/faults_<command>.rs` from observed runs
(`UPDATE_DOCS=1 cargo test --test 'faults_*'` rewrites it; the tests fail when this file and
the behaviour differ).

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

pub const TABLE_HEAD: &str =
    "| fault on `b` | exit | faulted requests | report | state afterwards | re-run | 2nd re-run |
|---|---|---|---|---|---|---|
";

pub fn run_table(cmd: Cmd) {
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
