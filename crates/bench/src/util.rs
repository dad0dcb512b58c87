//! Small helpers: locating the binary under test, running it, medians, formatting.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// `explicit`, else `kubectl-mesh` next to the running executable (the same target dir).
pub fn kubectl_mesh(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let exe = std::env::current_exe().context("locating the mesh-bench executable")?;
            let dir = exe.parent().context("mesh-bench executable has no directory")?;
            dir.join(format!("kubectl-mesh{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !path.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release --workspace` (or pass --bin PATH)",
            path.display()
        );
    }
    if explicit.is_none() && cfg!(debug_assertions) {
        eprintln!(
            "mesh-bench: warning: this is a debug build, so {} is one too; timings mean little (use `cargo build --release --workspace` and target/release/mesh-bench)",
            path.display()
        );
    }
    Ok(path)
}

/// Runs `cmd` to completion (stdout discarded, stderr kept) and returns its wall time;
/// a non-zero exit is an error carrying the command's stderr.
pub fn timed(cmd: &mut Command, what: &str) -> Result<Duration> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let output: Output = cmd.output().with_context(|| format!("starting {what}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    Ok(elapsed)
}

/// The median (mean of the two middle values for an even count). `None` when empty.
pub fn median(values: &[Duration]) -> Option<Duration> {
    let mut v = values.to_vec();
    v.sort();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2),
    }
}

/// `1.23s` (or `0.042s` below a tenth of a second).
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.1 {
        format!("{s:.3}s")
    } else {
        format!("{s:.2}s")
    }
}

/// Every run, for the record: `[1.20 1.31 1.25]`.
pub fn list(values: &[Duration]) -> String {
    let items: Vec<String> = values.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect();
    format!("[{}]", items.join(" "))
}

pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}

/// `50ms`, `1.5s`, `3m`, or a bare number of milliseconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "ms"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 50ms, 2s)"))?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "us" | "µs" => 1e-6,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s or m)")),
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{text:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

/// `n` in-process testkit clusters `c1..cN`, each with Istio on network `net-c<i>`, and a
/// kubeconfig for them in `dir`. The runtime must outlive the sandbox.
pub fn sandbox(n: usize, dir: &Path) -> Result<(tokio::runtime::Runtime, mesh_testkit::Sandbox, PathBuf)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    let sandbox = runtime.block_on(async {
        let mut builder = mesh_testkit::Sandbox::builder();
        for i in 1..=n {
            let spec = mesh_testkit::ClusterSpec {
                istio: Some(mesh_testkit::IstioSeed::network(&format!("net-c{i}"))),
                ..Default::default()
            };
            builder = builder.cluster_with(&format!("c{i}"), spec);
        }
        builder.start().await
    })?;
    let kubeconfig = dir.join("kubeconfig");
    sandbox.write_kubeconfig(&kubeconfig)?;
    Ok((runtime, sandbox, kubeconfig))
}

/// `c1,c2,...,cN`.
pub fn contexts(n: usize) -> String {
    (1..=n).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[ms(3), ms(1), ms(2)]), Some(ms(2)));
        assert_eq!(
            median(&[ms(4), ms(1), ms(2), ms(3)]),
            Some(Duration::from_micros(2500))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(secs(Duration::from_millis(1234)), "1.23s");
        assert_eq!(secs(Duration::from_millis(42)), "0.042s");
        assert_eq!(verdict(true), "PASS");
    }
}
