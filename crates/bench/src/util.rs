//! Small helpers: locating the binary under test, running it, medians, formatting.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
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

/// One finished child process.
pub struct ChildRun {
    /// From spawn to reaped (measured by the helper that spawned it, see [`run_child`]).
    pub wall: Duration,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// The child's peak resident set size in bytes: `ru_maxrss` (KiB on Linux) of the
    /// `rusage` that `wait4` returned for exactly this child.
    pub max_rss: u64,
    /// The helper's own peak RSS when it spawned the child: at `execve` the kernel folds
    /// the spawning process's high-water mark into the child's `ru_maxrss`, so this much of
    /// `max_rss` may be the helper's rather than the child's.
    pub helper_rss: u64,
    /// The child's CPU time, user + system (`ru_utime` + `ru_stime`).
    pub cpu: Duration,
}

/// The hidden first argument that makes `mesh-bench` the measuring helper.
pub const MEASURE: &str = "__measure";

/// Runs `cmd` to completion (stdin null, stdout and stderr captured) and measures its wall
/// time and peak RSS. Errors only when it could not be started or waited for; the exit
/// status is for the caller to judge.
///
/// Not spawned from here: at `execve` Linux folds the high-water RSS of the process that
/// spawned the child into the child's `ru_maxrss` (with vfork/posix_spawn it is the very
/// same memory), and this process holds up to a hundred fake API servers. So a small
/// helper, `mesh-bench __measure` ([`measure_main`], a few MB), spawns it, times it, reaps
/// it with `wait4` and writes what it measured to a file.
pub fn run_child(cmd: &Command, what: &str) -> Result<ChildRun> {
    let me = std::env::current_exe().context("locating the mesh-bench executable")?;
    let report = tempfile::NamedTempFile::new().context("creating a temp file")?;
    let mut helper = Command::new(me);
    helper
        .arg(MEASURE)
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => helper.env(key, value),
            None => helper.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        helper.current_dir(dir);
    }
    helper
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = helper.output().with_context(|| format!("starting {what}"))?;
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let fields: Vec<u64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [nanos, max_rss_kib, status, helper_rss_kib, cpu_micros] = fields[..] else {
        bail!(
            "the measuring helper did not run {what} ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    };
    Ok(ChildRun {
        wall: Duration::from_nanos(nanos),
        status: ExitStatus::from_raw(i32::try_from(status).unwrap_or(-1)),
        stdout: out.stdout,
        stderr: out.stderr,
        max_rss: max_rss_kib * 1024,
        helper_rss: helper_rss_kib * 1024,
        cpu: Duration::from_micros(cpu_micros),
    })
}

/// `mesh-bench __measure REPORT PROGRAM ARGS...`: runs PROGRAM (stdio and environment
/// inherited), reaps it with `wait4` and writes `<wall ns> <ru_maxrss KiB> <wait status>
/// <own VmHWM KiB>` to REPORT. Exits 0 when it measured, whatever PROGRAM's exit.
pub fn measure_main(args: &[std::ffi::OsString]) -> std::process::ExitCode {
    let result = (|| -> Result<()> {
        let [report, program, rest @ ..] = args else {
            bail!("usage: mesh-bench {MEASURE} REPORT PROGRAM [ARGS...]");
        };
        let own_kib = vm_hwm_kib(&std::fs::read_to_string("/proc/self/status").unwrap_or_default());
        let start = Instant::now();
        let child = Command::new(program)
            .args(rest)
            .spawn()
            .with_context(|| format!("starting {}", Path::new(program).display()))?;
        let (status, usage) = wait4(child.id()).context("wait4")?;
        let wall = start.elapsed();
        std::fs::write(
            report,
            format!(
                "{} {} {} {} {}\n",
                wall.as_nanos(),
                usage.ru_maxrss,
                status.into_raw(),
                own_kib.unwrap_or(0),
                (timeval(usage.ru_utime) + timeval(usage.ru_stime)).as_micros()
            ),
        )
        .context("writing the report")?;
        Ok(())
    })();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesh-bench {MEASURE}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// CPU time (user + system) of this whole process so far: every thread, so the in-process
/// fake API servers; not its children.
pub fn own_cpu() -> Duration {
    // SAFETY: rusage is plain old data; the pointer is to a live local.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// User + system CPU time of process `pid` so far, from `/proc/<pid>/stat`.
pub fn proc_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&hz| hz > 0)?;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// `VmHWM:` of a `/proc/<pid>/status`, in KiB.
pub fn vm_hwm_kib(proc_status: &str) -> Option<u64> {
    let line = proc_status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `wait4(pid)`: its exit status and resource usage. (The `Child` it came from must not
/// be waited for afterwards: the process is reaped.)
fn wait4(pid: u32) -> std::io::Result<(ExitStatus, libc::rusage)> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((ExitStatus::from_raw(status), usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `123.4 MB` (10^6 bytes).
pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
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

/// `--sizes` sorted and without repeats, with the smallest and the largest.
pub fn sizes(given: &[u16]) -> anyhow::Result<(Vec<usize>, usize, usize)> {
    let mut sizes: Vec<usize> = given.iter().map(|&n| usize::from(n)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let (Some(&smallest), Some(&largest)) = (sizes.first(), sizes.last()) else {
        anyhow::bail!("--sizes is empty");
    };
    Ok((sizes, smallest, largest))
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
    fn proc_status_peaks() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    4242 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(4242));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
        assert_eq!(megabytes(150_000_000), "150.0 MB");
    }

    #[test]
    fn formatting() {
        assert_eq!(secs(Duration::from_millis(1234)), "1.23s");
        assert_eq!(secs(Duration::from_millis(42)), "0.042s");
        assert_eq!(verdict(true), "PASS");
    }
}
