//! `mesh-bench verify`: `kubectl-mesh verify` over a linked mesh of N testkit clusters with
//! latency injected in every API request. Verify reads every cluster concurrently (and each
//! cluster's objects concurrently), so its time should barely grow with N.

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
    let mesh = |args: &[&str]| -> Result<(Duration, i32)> {
        let start = Instant::now();
        let out = Command::new(&bin)
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .with_context(|| format!("starting {}", bin.display()))?;
        Ok((start.elapsed(), out.status.code().unwrap_or(-1)))
    };
    // Setup without latency: a healthy mesh of `large` clusters.
    let all = contexts(large);
    let parallel = large.to_string();
    let certs_dir = certs.to_str().context("temp path")?;
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
        vec!["link", "--contexts", &all, "--parallel", &parallel],
    ] {
        let (_, code) = mesh(&step)?;
        if code != 0 {
            bail!(
                "setup step `kubectl-mesh {}` failed with exit {code}",
                step.join(" ")
            );
        }
    }
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
            let list = contexts(n);
            let (wall, code) = mesh(&["verify", "--contexts", &list, "--parallel", &parallel])?;
            if code != 0 {
                bail!("verify of {n} healthy clusters exited {code}");
            }
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
