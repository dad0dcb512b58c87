//! `mesh-bench`: measures kubectl-mesh against the procedures users run today and prints
//! ratios against the project's performance targets (docs/benchmarks.md).
//!
//! Timings are medians of paired, interleaved rounds so that background load hits both
//! sides of a comparison. A FAIL is a measurement, not an error: the exit code is 0 whenever
//! the benchmark ran, 1 when it could not (missing binary, a run that failed), 2 on usage.

mod certs;
mod fleet;
mod link;
mod util;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "mesh-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// `kubectl-mesh certs generate` (root + 3 intermediates) vs the openssl procedure of the multicluster guide
    Certs(CertsArgs),
    /// `kubectl-mesh link` over N fake clusters with injected API latency vs one pair at a time
    Link(LinkArgs),
    /// `kubectl-mesh verify` of a linked mesh of 2 and of 20 fake clusters with injected API latency
    Verify(VerifyArgs),
    /// Fleet scale (2, 20, 100 fake clusters): link and verify growth, link's peak RSS, and the controller's reaction to a moved east-west gateway
    Fleet(FleetArgs),
}

#[derive(Debug, clap::Args)]
pub struct FleetArgs {
    /// Cluster counts (link and verify run at each; the controller at the largest)
    #[arg(long, value_delimiter = ',', default_value = "2,20,100", value_parser = clap::value_parser!(u16).range(2..=250))]
    pub sizes: Vec<u16>,

    /// Latency injected in every API request of every fake cluster (timed steps only)
    #[arg(long, default_value = "50ms", value_parser = util::parse_duration)]
    pub latency: Duration,

    /// Timed rounds of link and of verify per size (median reported; sizes interleaved)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// Controller rounds: each starts it, moves one load balancer as soon as it reports every pair linked (median against the target), then another once it is idle
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..))]
    pub controller_rounds: u32,

    /// `--parallel` passed to `kubectl-mesh link` and `verify` [default: the largest size]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,

    /// `--parallel` passed to `kubectl-mesh controller` [default: none, i.e. the tool's default]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub controller_parallel: Option<u16>,

    /// The kubectl-mesh binary [default: next to mesh-bench, i.e. target/release/kubectl-mesh]
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The smaller mesh
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(2..=200))]
    pub small: u16,

    /// The larger mesh
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(2..=200))]
    pub large: u16,

    /// Latency injected in every API request of every fake cluster
    #[arg(long, default_value = "50ms", value_parser = util::parse_duration)]
    pub latency: Duration,

    /// Timed rounds per size (median reported)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// The kubectl-mesh binary [default: next to mesh-bench, i.e. target/release/kubectl-mesh]
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CertsArgs {
    /// Timed runs of each side (median reported)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub runs: u32,

    /// The kubectl-mesh binary [default: next to mesh-bench, i.e. target/release/kubectl-mesh]
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,

    /// The openssl binary the shell procedure runs
    #[arg(long, value_name = "PATH", default_value = "openssl")]
    pub openssl: String,
}

#[derive(Debug, clap::Args)]
pub struct LinkArgs {
    /// Cluster counts to link
    #[arg(long, value_delimiter = ',', default_value = "2,5,10,20", value_parser = clap::value_parser!(u16).range(2..=200))]
    pub sizes: Vec<u16>,

    /// Latency injected in every API request of every fake cluster
    #[arg(long, default_value = "50ms", value_parser = util::parse_duration)]
    pub latency: Duration,

    /// Timed rounds per size (median reported; sizes are interleaved within a round)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,

    /// `--parallel` passed to `kubectl-mesh link` [default: the largest size, so N <= --parallel holds]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,

    /// Longest the one-pair-at-a-time baseline may run before it is sampled and extrapolated
    #[arg(long, default_value = "180s", value_parser = util::parse_duration)]
    pub baseline_budget: Duration,

    /// Skip the one-pair-at-a-time baseline
    #[arg(long)]
    pub no_baseline: bool,

    /// The kubectl-mesh binary [default: next to mesh-bench, i.e. target/release/kubectl-mesh]
    #[arg(long, value_name = "PATH")]
    pub bin: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == util::MEASURE) {
        return util::measure_main(&args[2..]);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Certs(args) => certs::run(&args),
        Command::Link(args) => link::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Fleet(args) => fleet::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mesh-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
