//! `mesh-bench verify`: `kubectl-mesh verify` over a linked mesh of N testkit clusters with
//! latency injected in every API request. Verify reads every cluster concurrently (and each
//! cluster's objects concurrently), so its time should barely grow with N.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::util::{self, contexts, median, secs, verdict};
use crate::VerifyArgs;

/// T(20) / T(2) must be at most this.
const TARGET_GROWTH: f64 = 2.5;

pub fn run(args: &VerifyArgs) -> Result<()> {
    let bin = util::kubectl_mesh(args.bin.as_deref())?;
    let (small, large) = (usize::from(args.small), usize::from(args.large));
    if small >= large {
        bail!("--small must be smaller than --large");
    }
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let (runtime, sandbox, kubeconfig) = util::sandbox(large, dir.path())?;
    let certs = dir.path().join("certs");
    let certs_dir = certs.to_str().context("temp path")?;
    // Setup without latency: a healthy mesh of `large` clusters.
    prepare(&bin, &kubeconfig, large, certs_dir)?;
    let all = contexts(large);
    let parallel = large.to_string();
    setup_step(
        &bin,
        &kubeconfig,
        &["link", "--contexts", &all, "--parallel", &parallel],
    )?;
    eprintln!(
        "verify: {large} linked testkit clusters; timing `kubectl-mesh verify` with {} ms latency per API request, {} rounds",
        args.latency.as_millis(),
        args.rounds
    );
    for c in sandbox.clusters() {
        c.set_latency(args.latency);
    }
    let mut times = [Vec::new(), Vec::new()];
    for round in 0..args.rounds {
        for (slot, n) in [(0, small), (1, large)] {
            let (wall, _, _) = time_verify(&bin, &kubeconfig, n, &parallel)?;
            eprintln!(
                "verify: round {}/{} N={n}: {}",
                round + 1,
                args.rounds,
                secs(wall)
            );
            times[slot].push(wall);
        }
    }
    let t_small = median(&times[0]).context("no runs")?;
    let t_large = median(&times[1]).context("no runs")?;
    println!(
        "verify N={small}: {} (median of {}, runs {})",
        secs(t_small),
        times[0].len(),
        util::list(&times[0])
    );
    println!(
        "verify N={large}: {} (median of {}, runs {})",
        secs(t_large),
        times[1].len(),
        util::list(&times[1])
    );
    let growth = t_large.as_secs_f64() / t_small.as_secs_f64();
    println!(
        "verify: T({large})/T({small}) = {} / {} = {growth:.2} (target <= {TARGET_GROWTH}) {}",
        secs(t_large),
        secs(t_small),
        verdict(growth <= TARGET_GROWTH)
    );
    drop(sandbox);
    drop(runtime);
    Ok(())
}

/// Runs `kubectl-mesh <args>` with the sandbox's kubeconfig: wall time and exit code.
fn mesh(bin: &Path, kubeconfig: &Path, args: &[&str]) -> Result<(Duration, i32)> {
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok((start.elapsed(), out.status.code().unwrap_or(-1)))
}

/// A setup step, which must succeed.
pub(crate) fn setup_step(bin: &Path, kubeconfig: &Path, step: &[&str]) -> Result<()> {
    let (_, code) = mesh(bin, kubeconfig, step)?;
    if code != 0 {
        bail!(
            "setup step `kubectl-mesh {}` failed with exit {code}",
            step.join(" ")
        );
    }
    Ok(())
}

/// Setup without latency, all but the links: cacerts under one root (written to
/// `certs_dir`) and an addressed east-west gateway in each of the `n` clusters.
pub(crate) fn prepare(bin: &Path, kubeconfig: &Path, n: usize, certs_dir: &str) -> Result<()> {
    let all = contexts(n);
    let parallel = n.to_string();
    for step in [
        vec![
            "certs",
            "generate",
            "--clusters",
            &all,
            "--dir",
            certs_dir,
            "--key-type",
            "ec-p256",
        ],
        vec![
            "certs",
            "secret",
            "--contexts",
            &all,
            "--dir",
            certs_dir,
            "--parallel",
            &parallel,
        ],
        vec!["expose", "--contexts", &all, "--wait", "--parallel", &parallel],
    ] {
        setup_step(bin, kubeconfig, &step)?;
    }
    Ok(())
}

/// One timed `kubectl-mesh verify --contexts c1..cN --parallel <parallel>`, which must
/// find the mesh healthy (exit 0): its wall time, its CPU time, and the CPU time of the fake
/// API servers (this process) meanwhile.
pub(crate) fn time_verify(
    bin: &Path,
    kubeconfig: &Path,
    n: usize,
    parallel: &str,
) -> Result<(Duration, Duration, Duration)> {
    let list = contexts(n);
    let mut cmd = Command::new(bin);
    cmd.args(["verify", "--contexts", &list, "--parallel", parallel])
        .env("KUBECONFIG", kubeconfig);
    let servers = util::own_cpu();
    let out = util::run_child(&cmd, &bin.display().to_string())?;
    let servers = util::own_cpu().saturating_sub(servers);
    if !out.status.success() {
        bail!(
            "verify of {n} healthy clusters failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok((out.wall, out.cpu, servers))
}
