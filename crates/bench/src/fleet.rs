//! `mesh-bench fleet`: the scaling targets at fleet sizes (2, 20 and 100 fake clusters by
//! default, 50 ms of latency in every API request), in one run over one sandbox:
//!
//! * `kubectl-mesh link` of the full mesh, T(largest)/T(smallest) — the method of
//!   `mesh-bench link` ([`link::timed_rounds`]), with each run's peak RSS (`wait4`);
//! * `kubectl-mesh verify`, T(largest)/T(smallest) — the method of `mesh-bench verify`;
//! * `kubectl-mesh controller` over the linked mesh of the largest size, started afresh in
//!   each round: the time from one cluster's load balancer moving
//!   ([`mesh_testkit::FakeCluster::set_lb_address`]) as soon as the controller's status
//!   says every pair is linked until every peer Gateway pointing at it carries the new
//!   address, and the peer-Gateway writes that took; then the same once it is idle.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mesh_testkit::{FakeCluster, RequestCounts};

use crate::link::{self, Bench, Run};
use crate::util::{self, contexts, median, secs, verdict};
use crate::verify;
use crate::FleetArgs;

/// T(largest)/T(smallest) of `link` must be at most this.
const TARGET_LINK_GROWTH: f64 = 4.0;
/// T(largest)/T(smallest) of `verify` must be at most this.
const TARGET_VERIFY_GROWTH: f64 = 4.0;
/// The controller's reaction to a moved east-west gateway must take at most this.
const TARGET_REACTION: Duration = Duration::from_secs(2);
/// `kubectl-mesh link`'s peak RSS at the largest size must be at most this (bytes).
const TARGET_LINK_RSS: u64 = 150_000_000;

const GATEWAYS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways";
const PEER_PREFIX: &str = "istio-remote-peer-";
const STATUS: &str = "/api/v1/namespaces/istio-system/configmaps/kubectl-mesh-controller-status";
/// How often the sandbox is looked at while waiting (in-process: no latency, not counted).
const POLL: Duration = Duration::from_millis(5);
/// After the last peer Gateway changed, writes are still counted for at least this long
/// (and until the status says every pair is linked again).
const SETTLE: Duration = Duration::from_secs(3);
/// Longest wait for the controller to start, converge, or react.
const PATIENCE: Duration = Duration::from_secs(600);
const REACTION_PATIENCE: Duration = Duration::from_secs(60);

pub fn run(args: &FleetArgs) -> Result<()> {
    let bin = util::kubectl_mesh(args.bin.as_deref())?;
    let (sizes, smallest, largest) = util::sizes(&args.sizes)?;
    if smallest == largest {
        bail!("--sizes needs two sizes or more (the ratios compare the largest with the smallest)");
    }
    let parallel = args.parallel.unwrap_or(u16::try_from(largest)?);
    let latency = args.latency;

    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let started = Instant::now();
    let (runtime, sandbox, kubeconfig) = util::sandbox(largest, dir.path())?;
    let bench = Bench {
        bin,
        kubeconfig,
        sandbox: &sandbox,
    };
    // Setup without latency: cacerts and an addressed east-west gateway in every cluster.
    let certs = dir.path().join("certs");
    verify::prepare(
        &bench.bin,
        &bench.kubeconfig,
        largest,
        certs.to_str().context("temp path")?,
    )?;
    eprintln!(
        "fleet: {largest} testkit clusters started, certified and exposed in {}; {} ms latency per API request in every timed step",
        secs(started.elapsed()),
        latency.as_millis()
    );

    // 1. link, as `mesh-bench link` times it (no baseline).
    eprintln!(
        "fleet: timing `kubectl-mesh link --contexts c1..cN --parallel {parallel} -o json` on unlinked clusters, {} rounds (sizes interleaved)",
        args.rounds
    );
    let link_runs = link::timed_rounds(&bench, &sizes, parallel, latency, args.rounds)?;

    // 2. verify, as `mesh-bench verify` times it, over the full mesh linked without latency.
    let all = contexts(largest);
    let parallel_text = parallel.to_string();
    verify::setup_step(
        &bench.bin,
        &bench.kubeconfig,
        &["link", "--contexts", &all, "--parallel", &parallel_text],
    )?;
    eprintln!(
        "fleet: {largest} clusters linked; timing `kubectl-mesh verify --contexts c1..cN --parallel {parallel}`, {} rounds (sizes interleaved)",
        args.rounds
    );
    bench.set_latency(latency);
    let verify_runs = (|| -> Result<Vec<Vec<VerifyRun>>> {
        let mut runs: Vec<Vec<VerifyRun>> = sizes.iter().map(|_| Vec::new()).collect();
        for round in 0..args.rounds as usize {
            for k in 0..sizes.len() {
                let i = (k + round) % sizes.len();
                let (wall, cpu, server_cpu) =
                    verify::time_verify(&bench.bin, &bench.kubeconfig, sizes[i], &parallel_text)?;
                eprintln!(
                    "verify: round {}/{} N={}: {} (CPU {} + fake servers {})",
                    round + 1,
                    args.rounds,
                    sizes[i],
                    secs(wall),
                    secs(cpu),
                    secs(server_cpu)
                );
                runs[i].push(VerifyRun {
                    wall,
                    cpu,
                    server_cpu,
                });
            }
        }
        Ok(runs)
    })();
    let verify_runs = verify_runs?;

    // 3. The controller over the linked mesh, latency still on.
    let reactions = controller(&bench, largest, args)?;
    bench.set_latency(Duration::ZERO);

    // The report.
    println!(
        "fleet: sizes {}, {} ms latency per API request, {} rounds of link and verify, {} controller rounds",
        sizes.iter().map(usize::to_string).collect::<Vec<_>>().join(","),
        latency.as_millis(),
        args.rounds,
        args.controller_rounds
    );
    let link_medians = link::report_sizes(&sizes, &link_runs)?;
    let verify_medians = report_verify(&sizes, &verify_runs)?;
    reactions.print();

    let growth = |medians: &[Duration]| medians[medians.len() - 1].as_secs_f64() / medians[0].as_secs_f64();
    let link_growth = growth(&link_medians);
    let verify_growth = growth(&verify_medians);
    let largest_runs: &[Run] = &link_runs[link_runs.len() - 1];
    let link_rss = largest_runs.iter().map(|r| r.max_rss).max().unwrap_or(0);
    let link_rss_all: Vec<String> = largest_runs.iter().map(|r| util::megabytes(r.max_rss)).collect();
    println!(
        "fleet: link T({largest})/T({smallest}) = {} / {} = {link_growth:.2} (target <= {TARGET_LINK_GROWTH}, --parallel {parallel}) {}",
        secs(link_medians[link_medians.len() - 1]),
        secs(link_medians[0]),
        verdict(link_growth <= TARGET_LINK_GROWTH)
    );
    println!(
        "fleet: verify T({largest})/T({smallest}) = {} / {} = {verify_growth:.2} (target <= {TARGET_VERIFY_GROWTH}, --parallel {parallel}) {}",
        secs(verify_medians[verify_medians.len() - 1]),
        secs(verify_medians[0]),
        verdict(verify_growth <= TARGET_VERIFY_GROWTH)
    );
    reactions.verdicts();
    println!(
        "fleet: link peak RSS at N={largest} = {} (largest of the runs [{}], wait4 ru_maxrss of the child) (target <= {}) {}",
        util::megabytes(link_rss),
        link_rss_all.join(" "),
        util::megabytes(TARGET_LINK_RSS),
        verdict(link_rss <= TARGET_LINK_RSS)
    );
    eprintln!("fleet: done in {}", secs(started.elapsed()));
    drop(sandbox);
    drop(runtime);
    Ok(())
}

/// One timed verify.
struct VerifyRun {
    wall: Duration,
    cpu: Duration,
    server_cpu: Duration,
}

fn report_verify(sizes: &[usize], runs: &[Vec<VerifyRun>]) -> Result<Vec<Duration>> {
    let mut medians = Vec::new();
    for (n, runs) in sizes.iter().zip(runs) {
        let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        let cpu: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
        let server_cpu: Vec<Duration> = runs.iter().map(|r| r.server_cpu).collect();
        let t = median(&walls).context("no runs")?;
        println!(
            "verify N={n}: {} (median of {}, runs {}); CPU median {} of kubectl-mesh + {} of the fake servers",
            secs(t),
            walls.len(),
            util::list(&walls),
            secs(median(&cpu).unwrap_or_default()),
            secs(median(&server_cpu).unwrap_or_default())
        );
        medians.push(t);
    }
    Ok(medians)
}

/// What the controller did over every round.
struct Reactions {
    n: usize,
    command: String,
    rounds: Vec<Round>,
}

/// One start of the controller, and the two load balancers moved under it.
struct Round {
    /// Spawn to a status of every pair linked.
    converged: Duration,
    /// Peer-Gateway writes from the start until then (a converged mesh needs none).
    startup_writes: u64,
    /// Moved as soon as the status said every pair linked (the protocol of the target).
    fresh: Reaction,
    /// Moved once the controller was idle: the start-up re-check of every pair and the
    /// first reaction finished, and settled. `None` when the first reaction timed out.
    idle: Option<Reaction>,
    /// VmHWM of the controller just before it was stopped.
    peak_rss: Option<u64>,
}

/// One moved load balancer.
struct Reaction {
    target: String,
    /// Until the first and the last peer Gateway carried the new address; `None`: not all
    /// of them within [`REACTION_PATIENCE`].
    first: Option<Duration>,
    last: Option<Duration>,
    updated: usize,
    /// PATCHes of peer Gateways when the last one was seen updated, and after settling.
    patches_at_done: u64,
    patches: u64,
    /// Other requests on peer Gateways (not GET or PATCH) after settling.
    other_peer_writes: u64,
    /// Every request the members received from the change until after settling.
    counts: RequestCounts,
    /// The same, by method and path (peer names and query strings folded).
    breakdown: String,
    settled_after: Duration,
    /// CPU time of the controller, and of the fake API servers (this process), from the
    /// move until the last peer Gateway was seen updated.
    controller_cpu: Option<Duration>,
    server_cpu: Duration,
    /// Pairs in the controller's re-link runs finished before the move, and the runs that
    /// finished from the move until settled (from its log and its /metrics).
    pairs_before: u64,
    relinks: Runs,
}

impl Reaction {
    fn print(&self, n: usize, label: &str) {
        let c = self.counts;
        println!(
            "controller N={n}: {label}: {} moved ({} pairs re-linked or re-checked before): {} of {} peer Gateways carry the new address after {} (first after {}; CPU meanwhile {} of the controller + {} of the fake servers); re-link runs finished until settled {} taking {:.2}s in all; peer-Gateway PATCHes {} when done, {} after settling {} (other writes on peer Gateways {}); requests meanwhile {}: {}",
            self.target,
            self.pairs_before,
            self.updated,
            n - 1,
            self.last
                .map_or_else(|| format!("NOT ALL within {}", secs(REACTION_PATIENCE)), secs),
            self.first.map_or_else(|| "-".into(), secs),
            self.controller_cpu.map_or_else(|| "?".into(), secs),
            secs(self.server_cpu),
            self.relinks.count,
            self.relinks.seconds,
            self.patches_at_done,
            self.patches,
            secs(self.settled_after),
            self.other_peer_writes,
            link::breakdown(&c),
            self.breakdown
        );
    }

    fn exact(&self, n: usize) -> bool {
        self.patches == (n - 1) as u64 && self.other_peer_writes == 0
    }
}

impl Reactions {
    fn print(&self) {
        let n = self.n;
        for (i, round) in self.rounds.iter().enumerate() {
            let k = i + 1;
            println!(
                "controller N={n} round {k}/{}: `{}`: status ConfigMap said every pair linked {} after start, {} peer-Gateway writes on the way (a converged mesh needs 0){}",
                self.rounds.len(),
                self.command,
                secs(round.converged),
                round.startup_writes,
                match round.peak_rss {
                    Some(bytes) => format!("; peak RSS {} (VmHWM before stopping)", util::megabytes(bytes)),
                    None => String::new(),
                }
            );
            round.fresh.print(n, &format!("round {k} move after start"));
            if let Some(idle) = &round.idle {
                idle.print(n, &format!("round {k} move when idle"));
            }
        }
    }

    fn verdicts(&self) {
        let n = self.n;
        let fresh: Vec<&Reaction> = self.rounds.iter().map(|r| &r.fresh).collect();
        let idle: Vec<&Reaction> = self.rounds.iter().filter_map(|r| r.idle.as_ref()).collect();
        let line = |moves: &[&Reaction], what: &str, target: bool| {
            let times: Vec<Duration> = moves.iter().filter_map(|r| r.last).collect();
            let complete = !times.is_empty() && times.len() == moves.len();
            let tail = if target {
                format!("(target <= {})", secs(TARGET_REACTION))
            } else {
                format!("(for reference, against the same {})", secs(TARGET_REACTION))
            };
            match median(&times).filter(|_| complete) {
                Some(med) => println!(
                    "fleet: controller reaction at N={n}, {what} = {} (median of {}, runs {}, worst {}) {tail} {}",
                    secs(med),
                    times.len(),
                    util::list(&times),
                    secs(times.iter().max().copied().unwrap_or_default()),
                    verdict(med <= TARGET_REACTION)
                ),
                None => println!(
                    "fleet: controller reaction at N={n}, {what}: {} of {} moves completed within {} {tail} FAIL",
                    times.len(),
                    moves.len(),
                    secs(REACTION_PATIENCE)
                ),
            }
        };
        line(&fresh, "move as soon as the status says every pair linked", true);
        if !idle.is_empty() {
            line(&idle, "move once the controller is idle", false);
        }
        let all: Vec<&Reaction> = fresh.iter().chain(&idle).copied().collect();
        let writes: Vec<String> = all.iter().map(|r| r.patches.to_string()).collect();
        let exact = !all.is_empty() && all.iter().all(|r| r.exact(n));
        println!(
            "fleet: controller peer-Gateway writes per move at N={n} = [{}] (after start, then when idle; target = N-1 = {} each) {}",
            writes.join(" "),
            n - 1,
            verdict(exact)
        );
    }
}

/// The running controller; stopped (SIGTERM, then SIGKILL) when dropped.
struct Controller {
    child: Child,
    /// Its last lines of stderr.
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Pairs in the re-link runs it finished, from its `re-link run finished pairs=K` log.
    relinked: Arc<AtomicU64>,
    /// `http://ADDR` of its /metrics.
    addr: String,
}

impl Controller {
    fn start(bench: &Bench, args: &[&str]) -> Result<Controller> {
        let mut cmd = bench.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("starting the controller")?;
        let pipe = child.stderr.take().context("controller stderr")?;
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let relinked = Arc::new(AtomicU64::new(0));
        let (serving_tx, serving) = mpsc::channel();
        let (lines, pairs) = (stderr.clone(), relinked.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("serving /metrics, /healthz, /readyz on ") {
                    let _ = serving_tx.send(addr.to_string());
                }
                if let Some(k) = relinked_pairs(&line) {
                    pairs.fetch_add(k, Ordering::SeqCst);
                }
                let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                if lines.len() == 40 {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
        });
        let mut controller = Controller {
            child,
            stderr,
            relinked,
            addr: String::new(),
        };
        controller.addr = serving
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| controller.died("did not say where it serves within 60s"))?;
        Ok(controller)
    }

    fn relinked(&self) -> u64 {
        self.relinked.load(Ordering::SeqCst)
    }

    fn died(&self, what: &str) -> anyhow::Error {
        let lines = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        anyhow::anyhow!(
            "the controller {what}; its last stderr lines:\n{}",
            lines.iter().cloned().collect::<Vec<_>>().join("\n")
        )
    }

    fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("waiting for the controller")? {
            return Err(self.died(&format!("exited ({status})")));
        }
        Ok(())
    }

    /// VmHWM (the kernel's high-water mark of its resident set) from /proc.
    fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        Some(util::vm_hwm_kib(&status)? * 1024)
    }
}

/// `K` of a `re-link run finished pairs=K ...` log line.
fn relinked_pairs(line: &str) -> Option<u64> {
    let rest = &line[line.find("re-link run finished")?..];
    let digits = rest[rest.find("pairs=")? + "pairs=".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    digits.parse().ok()
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: a signal to our own child, by its process id.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The controller's re-link runs so far, from its `/metrics`: how many, and their total time
/// (`kubectl_mesh_reconcile_duration_seconds_count` and `_sum`).
#[derive(Debug, Clone, Copy, Default)]
struct Runs {
    count: u64,
    seconds: f64,
}

impl Runs {
    fn since(self, before: Runs) -> Runs {
        Runs {
            count: self.count.saturating_sub(before.count),
            seconds: self.seconds - before.seconds,
        }
    }
}

/// `GET /metrics` over plain HTTP/1.1 from `http://ADDR`.
fn reconcile_runs(base: &str) -> Result<Runs> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text).context("reading /metrics")?;
    let value = |name: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse::<f64>()
                .ok()
        })
    };
    Ok(Runs {
        count: value("kubectl_mesh_reconcile_duration_seconds_count")
            .context("no kubectl_mesh_reconcile_duration_seconds_count in /metrics")? as u64,
        seconds: value("kubectl_mesh_reconcile_duration_seconds_sum").unwrap_or(0.0),
    })
}

fn summary(cluster: &FakeCluster) -> Option<String> {
    cluster
        .object(STATUS)?
        .pointer("/data/summary")?
        .as_str()
        .map(str::to_string)
}

/// Where cluster `at`'s peer Gateway to `peer` points.
fn peer_address(cluster: &FakeCluster, peer: &str) -> Option<String> {
    cluster
        .object(&format!("{GATEWAYS}/{PEER_PREFIX}{peer}"))?
        .pointer("/spec/addresses/0/value")?
        .as_str()
        .map(str::to_string)
}

/// PATCHes of peer Gateways, and other non-GET requests on them, in every request log.
fn peer_gateway_writes(clusters: &[FakeCluster]) -> (u64, u64) {
    let needle = format!("/gateways/{PEER_PREFIX}");
    let mut patches = 0;
    let mut others = 0;
    for c in clusters {
        for r in c.request_log() {
            if !r.path.contains(&needle) {
                continue;
            }
            match r.method.as_str() {
                "PATCH" => patches += 1,
                "GET" => {}
                _ => others += 1,
            }
        }
    }
    (patches, others)
}

/// Every request in the request logs by method and path, most frequent first: `PATCH
/// .../gateways/istio-remote-peer-* 99, ...` (peer names and query strings folded).
fn breakdown(clusters: &[FakeCluster]) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for c in clusters {
        for r in c.request_log() {
            let path = r.path.split('?').next().unwrap_or_default();
            let path = match path.find(PEER_PREFIX) {
                Some(i) => format!("{}{PEER_PREFIX}*", &path[..i]),
                None => path.to_string(),
            };
            let watch = if r.path.contains("watch=") { " (watch)" } else { "" };
            *counts.entry(format!("{} {path}{watch}", r.method)).or_default() += 1;
        }
    }
    let mut sorted: Vec<(String, u64)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rounds of: start `kubectl-mesh controller` over the linked mesh of `n` clusters (latency
/// on), wait until its status says every pair is linked, move one load balancer at once;
/// then, once the controller is idle, move another; stop it.
fn controller(bench: &Bench, n: usize, args: &FleetArgs) -> Result<Reactions> {
    let clusters = bench.sandbox.clusters();
    let all = contexts(n);
    let parallel = args.controller_parallel.map(|p| p.to_string());
    let mut argv = vec![
        "controller",
        "--contexts",
        &all,
        "--listen",
        "127.0.0.1:0",
        "--lease-duration",
        "3s",
    ];
    if let Some(p) = &parallel {
        argv.extend(["--parallel", p]);
    }
    let command = format!("kubectl-mesh {}", argv.join(" ")).replace(&all, &format!("c1,...,c{n}"));
    let pairs = n * (n - 1);
    let converged = format!("{pairs} linked, 0 stale, 0 failed");
    let mut rounds = Vec::new();
    let mut moves = 0;
    for round in 0..args.controller_rounds as usize {
        // The last round's status would say "every pair linked" before this one looked.
        clusters[0].delete_object(STATUS);
        for c in clusters {
            c.reset_counts();
        }
        let spawned = Instant::now();
        let mut controller = Controller::start(bench, &argv)?;
        eprintln!(
            "controller: round {}/{}: `{command}` serving on {}; waiting for its status to say {converged:?}",
            round + 1,
            args.controller_rounds,
            controller.addr
        );
        wait_converged(&mut controller, &clusters[0], &converged, spawned + PATIENCE)?;
        let converged_after = spawned.elapsed();
        let (writes, others) = peer_gateway_writes(clusters);
        eprintln!(
            "controller: every pair linked after {} ({} peer-Gateway writes)",
            secs(converged_after),
            writes + others
        );
        let fresh = move_lb(&mut controller, clusters, n, moves, &converged)?;
        moves += 1;
        let idle = match fresh.last {
            Some(_) => {
                // Idle: the first reaction's re-link is done (a new leader starts from what its
                // watches found, with no re-check of every pair).
                let due = u64::try_from(n - 1)?;
                let deadline = Instant::now() + PATIENCE;
                while controller.relinked() < due {
                    controller.check_alive()?;
                    if Instant::now() > deadline {
                        return Err(controller.died(&format!(
                            "re-linked or re-checked {} pairs within {}, not {due}",
                            controller.relinked(),
                            secs(PATIENCE)
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                wait_converged(
                    &mut controller,
                    &clusters[0],
                    &converged,
                    Instant::now() + PATIENCE,
                )?;
                std::thread::sleep(Duration::from_secs(1));
                let idle = move_lb(&mut controller, clusters, n, moves, &converged)?;
                moves += 1;
                Some(idle)
            }
            None => None,
        };
        let peak_rss = controller.peak_rss();
        drop(controller);
        let timed_out = fresh.last.is_none() || idle.as_ref().is_some_and(|r| r.last.is_none());
        rounds.push(Round {
            converged: converged_after,
            startup_writes: writes + others,
            fresh,
            idle,
            peak_rss,
        });
        if timed_out {
            break;
        }
    }
    Ok(Reactions { n, command, rounds })
}

/// Waits until the status ConfigMap in `home` says `converged`.
fn wait_converged(
    controller: &mut Controller,
    home: &FakeCluster,
    converged: &str,
    deadline: Instant,
) -> Result<()> {
    loop {
        controller.check_alive()?;
        if summary(home).as_deref() == Some(converged) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let seen = summary(home);
            return Err(controller.died(&format!(
                "did not report {converged:?} in time (status summary {seen:?})"
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Move number `k`: one cluster's load balancer to a new address; timed until every peer
/// Gateway pointing at it carries it, then counted until settled.
fn move_lb(
    controller: &mut Controller,
    clusters: &[FakeCluster],
    n: usize,
    k: usize,
    converged: &str,
) -> Result<Reaction> {
    // Spread the moved clusters over the mesh: the last, then about a third further on.
    let t = (n - 1 + k * (n / 3 + 1)) % n;
    let target = clusters[t].name().to_string();
    let address = format!("198.51.100.{}", 1 + k % 250);
    for c in clusters {
        c.reset_counts();
    }
    let pairs_before = controller.relinked();
    let runs_before = reconcile_runs(&controller.addr)?;
    let controller_cpu = util::proc_cpu(controller.child.id());
    let server_cpu = util::own_cpu();
    let start = Instant::now();
    clusters[t].set_lb_address(&address);
    let mut pending: Vec<usize> = (0..n).filter(|&i| i != t).collect();
    let mut first = None;
    let last = loop {
        pending.retain(|&i| peer_address(&clusters[i], &target).as_deref() != Some(address.as_str()));
        let now = start.elapsed();
        if first.is_none() && pending.len() < n - 1 {
            first = Some(now);
        }
        if pending.is_empty() {
            break Some(now);
        }
        if now > REACTION_PATIENCE {
            break None;
        }
        controller.check_alive()?;
        std::thread::sleep(POLL);
    };
    let server_cpu = util::own_cpu().saturating_sub(server_cpu);
    let controller_cpu = util::proc_cpu(controller.child.id())
        .zip(controller_cpu)
        .map(|(after, before)| after.saturating_sub(before));
    let (patches_at_done, _) = peer_gateway_writes(clusters);
    // Settle: keep counting for SETTLE, and until the status is all linked again.
    std::thread::sleep(SETTLE);
    wait_converged(controller, &clusters[0], converged, Instant::now() + PATIENCE)?;
    let settled_after = start.elapsed();
    let relinks = reconcile_runs(&controller.addr)?.since(runs_before);
    let (patches, other_peer_writes) = peer_gateway_writes(clusters);
    let counts = link::sum(clusters.iter().map(|c| c.counts()));
    let updated = n - 1 - pending.len();
    eprintln!(
        "controller: moved {target} to {address}: {updated}/{} peer Gateways after {} ({patches} peer-Gateway PATCHes)",
        n - 1,
        last.map_or_else(|| "TIMEOUT".into(), secs),
    );
    Ok(Reaction {
        target,
        first,
        last,
        updated,
        patches_at_done,
        patches,
        other_peer_writes,
        counts,
        breakdown: breakdown(clusters),
        settled_after,
        controller_cpu,
        server_cpu,
        pairs_before,
        relinks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_relinked_pairs_from_the_log() {
        let line = " INFO re-link run finished pairs=9900 elapsed=8.166823255s";
        assert_eq!(relinked_pairs(line), Some(9900));
        assert_eq!(relinked_pairs("re-link run finished pairs=99"), Some(99));
        assert_eq!(
            relinked_pairs(" INFO leading: checking every pair identity=x"),
            None
        );
    }

    #[test]
    fn runs_since() {
        let before = Runs {
            count: 2,
            seconds: 1.5,
        };
        let after = Runs {
            count: 3,
            seconds: 3.5,
        };
        let d = after.since(before);
        assert_eq!(d.count, 1);
        assert!((d.seconds - 2.0).abs() < 1e-9);
    }
}
