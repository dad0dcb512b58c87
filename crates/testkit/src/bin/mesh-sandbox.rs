//! `mesh-sandbox --names a,b,c --kubeconfig PATH [--bare] [--address-delay 1s]`:
//! serves fake clusters until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mesh_testkit::{ClusterSpec, IstioSeed, Sandbox};

#[derive(Parser, Debug)]
#[command(name = "mesh-sandbox", about = "Fake Kubernetes API servers for kubectl-mesh")]
struct Args {
    /// Cluster names, comma-separated (each becomes a kubeconfig context).
    #[arg(long, value_delimiter = ',', required = true)]
    names: Vec<String>,
    /// Where to write the kubeconfig (mode 0600).
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Seed nothing but the base namespaces (default: an Istio install with network `network-<name>`).
    #[arg(long)]
    bare: bool,
    /// Delay before Gateways and LoadBalancer Services get addresses (e.g. 500ms, 1s, 2m; `never`).
    #[arg(long, default_value = "0s")]
    address_delay: String,
}

fn parse_delay(s: &str) -> Result<Option<Duration>> {
    if s == "never" {
        return Ok(None);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().with_context(|| format!("invalid duration {s:?}"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => bail!("invalid duration {s:?} (use ms, s or m)"),
    };
    Ok(Some(d))
}

async fn shutdown_signal() -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let delay = parse_delay(&args.address_delay)?;
    let mut builder = Sandbox::builder();
    for name in &args.names {
        let istio = (!args.bare).then(|| IstioSeed::network(&format!("network-{name}")));
        builder = builder.cluster_with(
            name,
            ClusterSpec {
                istio,
                address_delay: delay,
                ..Default::default()
            },
        );
    }
    let sb = builder.start().await?;
    sb.write_kubeconfig(&args.kubeconfig)?;
    println!(
        "mesh-sandbox: {} clusters ready ({}); kubeconfig written to {}",
        args.names.len(),
        args.names.join(", "),
        args.kubeconfig.display()
    );
    shutdown_signal().await?;
    drop(sb);
    Ok(())
}
