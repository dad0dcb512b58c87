//! `mesh-bench link`: `kubectl-mesh link --contexts c1..cN` over N in-process testkit
//! clusters with latency injected in every API request, against linking one ordered pair at
//! a time (what running `istioctl create-remote-secret` per pair amounts to).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mesh_testkit::{RequestCounts, Sandbox};
use serde_json::Value;

use crate::util::{self, contexts, median, secs, verdict};
use crate::LinkArgs;

/// T(largest N) / T(smallest N) must be at most this.
const TARGET_GROWTH: f64 = 2.0;
/// The one-pair-at-a-time baseline / ours at the largest N must be at least this.
const TARGET_SPEEDUP: f64 = 20.0;
const GATEWAYS: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways";

/// The binary under test, the sandbox and its kubeconfig.
pub(crate) struct Bench<'a> {
    pub(crate) bin: PathBuf,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) sandbox: &'a Sandbox,
}

/// What one `link` run did.
pub(crate) struct Run {
    pub(crate) wall: Duration,
    pub(crate) counts: RequestCounts,
    pub(crate) changed: usize,
    /// The process's peak RSS in bytes (`wait4`'s `ru_maxrss`, see [`util::run_child`]).
    pub(crate) max_rss: u64,
    /// The measuring helper's own peak RSS when it spawned the process (an upper bound of
    /// what of `max_rss` is not the process's own).
    pub(crate) helper_rss: u64,
    /// The process's CPU time, and the fake API servers' (this process's) meanwhile.
    pub(crate) cpu: Duration,
    pub(crate) server_cpu: Duration,
}

pub(crate) fn sum(counts: impl Iterator<Item = RequestCounts>) -> RequestCounts {
    counts.fold(RequestCounts::default(), |mut a, c| {
        a.get += c.get;
        a.list += c.list;
        a.watch += c.watch;
        a.create += c.create;
        a.update += c.update;
        a.patch += c.patch;
        a.delete += c.delete;
        a.other += c.other;
        a
    })
}

/// A `kubectl-mesh` run that exited non-zero, with what it said.
fn failed(args: &[&str], status: std::process::ExitStatus, stderr: &[u8]) -> anyhow::Error {
    anyhow::anyhow!(
        "`kubectl-mesh {}` failed ({status}):\n{}",
        args.join(" "),
        String::from_utf8_lossy(stderr).trim_end()
    )
}

pub(crate) fn reads(c: &RequestCounts) -> u64 {
    c.get + c.list + c.watch
}

/// `N = reads R (l list, g get, w watch) + writes W (p patch, c create, u update, d delete) + other o`.
pub(crate) fn breakdown(c: &RequestCounts) -> String {
    format!(
        "{} = reads {} ({} list, {} get, {} watch) + writes {} ({} patch, {} create, {} update, {} delete) + other {}",
        c.total(),
        reads(c),
        c.list,
        c.get,
        c.watch,
        c.writes(),
        c.patch,
        c.create,
        c.update,
        c.delete,
        c.other
    )
}

impl Bench<'_> {
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs kubectl-mesh; its stdout on success, an error with its stderr otherwise.
    fn run(&self, args: &[&str]) -> Result<(Duration, String)> {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let out = cmd
            .output()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let wall = start.elapsed();
        if !out.status.success() {
            return Err(failed(args, out.status, &out.stderr));
        }
        Ok((wall, String::from_utf8_lossy(&out.stdout).into_owned()))
    }

    /// [`Bench::run`] measured by [`util::run_child`] (wall time, peak RSS, CPU).
    fn run_measured(&self, args: &[&str]) -> Result<util::ChildRun> {
        let out = util::run_child(&self.command(args), &self.bin.display().to_string())?;
        if !out.status.success() {
            return Err(failed(args, out.status, &out.stderr));
        }
        Ok(out)
    }

    pub(crate) fn set_latency(&self, d: Duration) {
        for c in self.sandbox.clusters() {
            c.set_latency(d);
        }
    }

    pub(crate) fn reset_counts(&self) {
        for c in self.sandbox.clusters() {
            c.reset_counts();
        }
    }

    fn counts(&self) -> RequestCounts {
        sum(self.sandbox.clusters().iter().map(|c| c.counts()))
    }

    /// Gateways in each of the first `n` clusters' istio-gateways (1 = only its own).
    fn gateway_counts(&self, n: usize) -> Vec<usize> {
        self.sandbox.clusters()[..n]
            .iter()
            .map(|c| c.objects(GATEWAYS).len())
            .collect()
    }

    /// Setup, without latency: removes every peer link among all clusters.
    pub(crate) fn unlink_all(&self) -> Result<()> {
        let all = self.sandbox.clusters().len();
        self.set_latency(Duration::ZERO);
        let parallel = all.to_string();
        self.run(&[
            "link",
            "--contexts",
            &contexts(all),
            "--unlink",
            "--parallel",
            &parallel,
        ])?;
        let left = self.gateway_counts(all);
        if left.iter().any(|&g| g != 1) {
            bail!("after unlink, clusters hold {left:?} gateways (expected 1 each)");
        }
        Ok(())
    }

    /// One timed `link --contexts c1..cN` on freshly unlinked clusters.
    pub(crate) fn link(&self, n: usize, parallel: u16, latency: Duration) -> Result<Run> {
        self.unlink_all()?;
        self.reset_counts();
        self.set_latency(latency);
        let parallel = parallel.to_string();
        let server_cpu = util::own_cpu();
        let result = self.run_measured(&[
            "link",
            "--contexts",
            &contexts(n),
            "--parallel",
            &parallel,
            "-o",
            "json",
        ]);
        let server_cpu = util::own_cpu().saturating_sub(server_cpu);
        self.set_latency(Duration::ZERO);
        let out = result?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let counts = self.counts();
        let report: Value = serde_json::from_str(&stdout).context("parsing `link -o json`")?;
        let links = report["links"].as_array().cloned().unwrap_or_default();
        let changed = links
            .iter()
            .filter(|l| matches!(l["result"].as_str(), Some("created" | "configured" | "deleted")))
            .count();
        if links.len() != n * (n - 1) || changed != links.len() {
            bail!(
                "link N={n}: expected {} created links, got {} links ({changed} changed)",
                n * (n - 1),
                links.len()
            );
        }
        let gateways = self.gateway_counts(n);
        if gateways.iter().any(|&g| g != n) {
            bail!("link N={n}: clusters hold {gateways:?} gateways (expected {n} each)");
        }
        Ok(Run {
            wall: out.wall,
            counts,
            changed,
            max_rss: out.max_rss,
            helper_rss: out.helper_rss,
            cpu: out.cpu,
            server_cpu,
        })
    }
}

pub fn run(args: &LinkArgs) -> Result<()> {
    let bin = util::kubectl_mesh(args.bin.as_deref())?;
    let (sizes, smallest, largest) = util::sizes(&args.sizes)?;
    let parallel = args.parallel.unwrap_or(u16::try_from(largest)?);
    let latency = args.latency;

    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let (runtime, sandbox, kubeconfig) = util::sandbox(largest, dir.path())?;
    let bench = Bench {
        bin,
        kubeconfig,
        sandbox: &sandbox,
    };

    // Setup without latency: an addressed east-west gateway in every cluster.
    bench.run(&[
        "expose",
        "--contexts",
        &contexts(largest),
        "--wait",
        "--parallel",
        &largest.to_string(),
    ])?;
    eprintln!(
        "link: {largest} testkit clusters exposed; timing `kubectl-mesh link --contexts c1..cN --parallel {parallel}` with {} ms latency per API request, {} rounds (sizes interleaved)",
        latency.as_millis(),
        args.rounds
    );

    let runs = timed_rounds(&bench, &sizes, parallel, latency, args.rounds)?;
    let medians = report_sizes(&sizes, &runs)?;

    let t_small = medians[0];
    let t_large = medians[medians.len() - 1];
    if largest > smallest {
        let growth = t_large.as_secs_f64() / t_small.as_secs_f64();
        println!(
            "link: T({largest})/T({smallest}) = {} / {} = {growth:.2} (target <= {TARGET_GROWTH}, --parallel {parallel}) {}",
            secs(t_large),
            secs(t_small),
            verdict(growth <= TARGET_GROWTH)
        );
        if !latency.is_zero() {
            let per_cluster = (t_large.as_secs_f64() - t_small.as_secs_f64()) / (largest - smallest) as f64;
            println!(
                "link: each extra cluster adds {:.0} ms = {:.2} x the injected latency",
                per_cluster * 1000.0,
                per_cluster / latency.as_secs_f64()
            );
        }
    }

    if !args.no_baseline {
        let base = baseline(&bench, largest, latency, args.baseline_budget)?;
        let speedup = base.total.as_secs_f64() / t_large.as_secs_f64();
        let how = if base.extrapolated {
            format!(
                "EXTRAPOLATED from a sample of {} of {} pairs ({} measured, mean {} per pair)",
                base.measured,
                base.pairs,
                secs(base.measured_time),
                secs(base.measured_time / base.measured as u32)
            )
        } else {
            format!("measured, all {} pairs", base.pairs)
        };
        println!(
            "link: sequential baseline N={largest} ({} x `kubectl-mesh link --from ci --to cj --parallel 1`, one after another): {} ({how}), requests per pair {:.1}",
            base.pairs,
            secs(base.total),
            base.requests as f64 / base.measured as f64
        );
        println!(
            "link: baseline/ours at N={largest} = {} / {} = {speedup:.1} (target >= {TARGET_SPEEDUP}) {}",
            secs(base.total),
            secs(t_large),
            verdict(speedup >= TARGET_SPEEDUP)
        );
    }
    drop(sandbox);
    drop(runtime);
    Ok(())
}

/// `rounds` timed links of each size in `sizes`, the order of sizes rotated every round so
/// none always runs first or last; `[size][round]`.
pub(crate) fn timed_rounds(
    bench: &Bench,
    sizes: &[usize],
    parallel: u16,
    latency: Duration,
    rounds: u32,
) -> Result<Vec<Vec<Run>>> {
    let mut runs: Vec<Vec<Run>> = sizes.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds as usize {
        for k in 0..sizes.len() {
            let i = (k + round) % sizes.len();
            let r = bench.link(sizes[i], parallel, latency)?;
            eprintln!(
                "link: round {}/{rounds} N={}: {} ({} requests, peak RSS {}, CPU {} + fake servers {})",
                round + 1,
                sizes[i],
                secs(r.wall),
                r.counts.total(),
                util::megabytes(r.max_rss),
                secs(r.cpu),
                secs(r.server_cpu)
            );
            runs[i].push(r);
        }
    }
    Ok(runs)
}

/// Prints one line per size (median, every run, requests against the bound, peak RSS) and
/// returns the medians.
pub(crate) fn report_sizes(sizes: &[usize], runs: &[Vec<Run>]) -> Result<Vec<Duration>> {
    let mut medians = Vec::new();
    for (n, runs) in sizes.iter().zip(runs) {
        let n = *n;
        let walls: Vec<Duration> = runs.iter().map(|r| r.wall).collect();
        let t = median(&walls).context("no runs")?;
        medians.push(t);
        // Requests do not depend on timing: report the largest seen over the rounds.
        let worst = runs.iter().max_by_key(|r| r.counts.total()).context("no runs")?;
        let c = worst.counts;
        let bound_reads = 2 * n as u64;
        let changed = worst.changed as u64;
        let ok = reads(&c) <= bound_reads && c.writes() <= changed && c.total() <= bound_reads + changed;
        let peak = runs.iter().map(|r| r.max_rss).max().unwrap_or(0);
        let helper = runs.iter().map(|r| r.helper_rss).max().unwrap_or(0);
        let cpu: Vec<Duration> = runs.iter().map(|r| r.cpu).collect();
        let server_cpu: Vec<Duration> = runs.iter().map(|r| r.server_cpu).collect();
        println!(
            "link N={n}: {} (median of {}, runs {}), requests {}; <= 2N reads + 1 write per changed pair = {bound_reads} + {changed}: {}; peak RSS {} (largest of the runs; ru_maxrss is the larger of the process's and the measuring helper's {}, so exact when above it); CPU median {} of kubectl-mesh + {} of the fake servers",
            secs(t),
            walls.len(),
            util::list(&walls),
            breakdown(&c),
            if ok { "OK" } else { "EXCEEDED" },
            util::megabytes(peak),
            util::megabytes(helper),
            secs(median(&cpu).unwrap_or_default()),
            secs(median(&server_cpu).unwrap_or_default())
        );
    }
    Ok(medians)
}

struct Baseline {
    /// Measured, or extrapolated from the sample.
    total: Duration,
    pairs: usize,
    measured: usize,
    measured_time: Duration,
    requests: u64,
    extrapolated: bool,
}

/// Every ordered pair linked by its own process, one after another, on freshly unlinked
/// clusters. Estimated from a probe first; past `budget`, a spread sample is measured and
/// the total extrapolated.
fn baseline(bench: &Bench, n: usize, latency: Duration, budget: Duration) -> Result<Baseline> {
    bench.unlink_all()?;
    let pairs: Vec<(usize, usize)> = (1..=n)
        .flat_map(|a| (1..=n).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect();
    // Spread order: a golden-ratio stride (coprime with the count, so every pair comes up
    // once) makes any prefix a sample spread over sources and targets.
    let len = pairs.len();
    let stride = (1..=(len as f64 * 0.618) as usize)
        .rev()
        .find(|&s| gcd(s, len) == 1)
        .unwrap_or(1);
    let order: Vec<(usize, usize)> = (0..len).map(|k| pairs[(k * stride) % len]).collect();

    bench.reset_counts();
    bench.set_latency(latency);
    let result = (|| -> Result<Baseline> {
        let mut times = Vec::new();
        let start = Instant::now();
        let link_one = |(a, b): (usize, usize)| -> Result<Duration> {
            let (from, to) = (format!("c{a}"), format!("c{b}"));
            Ok(bench
                .run(&["link", "--from", &from, "--to", &to, "--parallel", "1"])?
                .0)
        };
        let probe = 3.min(order.len());
        for &p in &order[..probe] {
            times.push(link_one(p)?);
        }
        let per_pair = times.iter().sum::<Duration>() / probe as u32;
        let estimate = per_pair * order.len() as u32;
        let over_budget = estimate > budget;
        eprintln!(
            "link: baseline estimate {} for {} pairs ({} per pair over {probe}); {}",
            secs(estimate),
            order.len(),
            secs(per_pair),
            if over_budget {
                "over budget: sampling and extrapolating"
            } else {
                "running all of them"
            }
        );
        let count = if over_budget {
            // About a quarter of the budget, at least 20 pairs.
            let fit = (budget.as_secs_f64() / 4.0 / per_pair.as_secs_f64()) as usize;
            fit.max(20).min(order.len())
        } else {
            order.len()
        };
        let extrapolated = count < order.len();
        for &p in &order[probe..count.max(probe)] {
            times.push(link_one(p)?);
        }
        let wall = start.elapsed();
        let measured_time: Duration = times.iter().sum();
        let total = if extrapolated {
            measured_time / times.len() as u32 * order.len() as u32
        } else {
            wall
        };
        Ok(Baseline {
            total,
            pairs: order.len(),
            measured: times.len(),
            measured_time,
            requests: 0,
            extrapolated,
        })
    })();
    bench.set_latency(Duration::ZERO);
    let mut base = result?;
    base.requests = bench.counts().total();
    if !base.extrapolated {
        let gateways = bench.gateway_counts(n);
        if gateways.iter().any(|&g| g != n) {
            bail!("baseline: clusters hold {gateways:?} gateways (expected {n} each)");
        }
    }
    Ok(base)
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_are_coprime() {
        assert_eq!(gcd(380, 233), 1);
        assert_eq!(gcd(12, 8), 4);
    }

    #[test]
    fn context_lists() {
        assert_eq!(contexts(3), "c1,c2,c3");
    }

    #[test]
    fn sums_counts() {
        let one = RequestCounts {
            get: 1,
            list: 2,
            patch: 3,
            ..Default::default()
        };
        let s = sum([one, one].into_iter());
        assert_eq!((s.get, s.list, s.patch, s.total()), (2, 4, 6, 12));
        assert_eq!(reads(&s), 6);
    }
}
