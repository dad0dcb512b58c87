//! `kubectl mesh up` / `down`: the whole mesh from one topology file (DESIGN §5.7).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kubectl_mesh_core::kube::api::RetryPolicy;
use kubectl_mesh_core::kube::clusters::{self, ClusterRef, ConnectOptions};
use kubectl_mesh_core::kube::kubeconfig::LoadedKubeconfig;
use kubectl_mesh_core::topology::Topology;
use kubectl_mesh_core::up::{self, StepRow, UpOptions};

use crate::args::{parse_duration, OutputFormat, WriteArgs};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

/// What up and down share: the file and how to reach its clusters.
#[derive(Debug, Clone, Args)]
pub struct TopologyArgs {
    /// The topology file (Istio's simplified multicluster format: mesh_id, contexts -> network)
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: PathBuf,

    /// Path to the kubeconfig file [default: $KUBECONFIG, else ~/.kube/config]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Timeout of each API call
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// How many clusters to work on at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,

    /// Log what is done to stderr (-v info, -vv debug)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
The file (Istio's simplified multicluster install format, plus optional keys):
  mesh_id: mymesh
  contexts:
    context-east-1: {network: network-east}
    context-east-2: {network: network-east}
    context-west-1: {network: network-west}
  # optional: flavor, model (multi-primary | primary-remote), primary, trustDomain,
  #           installer (none | helm | sail), certs: {dir, keyType, rootCert, rootKey},
  #           links: {topology, hubs, pairs, groups} (full mesh when absent),
  #           and per context: cluster (name), trustDomain
  # e.g. hub-and-spoke instead of the full mesh (kubectl mesh link --help, Fleets):
  links: {hubs: [context-east-1]}

Examples:
  kubectl mesh up -f mesh.yaml                       # certs, cacerts, networks, install, expose, link, verify
  kubectl mesh up -f mesh.yaml --dry-run             # report the plan, change nothing
  kubectl mesh up -f mesh.yaml --generate out/       # write every object per cluster instead
  kubectl mesh down -f mesh.yaml                     # remove everything up created")]
pub struct UpArgs {
    #[command(flatten)]
    pub topology: TopologyArgs,

    /// Write everything up would apply into DIR/<cluster>/ instead (creates missing certs on disk)
    #[arg(long, value_name = "DIR")]
    pub generate: Option<PathBuf>,

    /// How long to wait for east-west gateways to get addresses
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_value = "5m",
          default_missing_value = "5m", value_parser = parse_duration)]
    pub wait: Duration,

    /// Replace cacerts Secrets signed by a different root (istiod must then restart)
    #[arg(long)]
    pub force: bool,

    /// The helm program, for installer: helm
    #[arg(long, value_name = "PATH", default_value = "helm")]
    pub helm: String,

    /// Also remove what up created in clusters that were removed from the file (they are
    /// always unlinked from the others)
    #[arg(long)]
    pub prune_removed: bool,

    /// Where helm values files are written
    #[arg(long, value_name = "DIR", default_value = ".kubectl-mesh/values")]
    pub values_dir: PathBuf,

    /// Where helm takes the charts from: a repository alias (`helm repo add istio ...`) or an
    /// OCI prefix (Solo's charts for flavor ambient-peering); charts are <REPO>/base, /istiod, ...
    #[arg(long, value_name = "REPO", default_value = "istio")]
    pub chart_repo: String,

    #[command(flatten)]
    pub write: WriteArgs,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Deletes every object carrying app.kubernetes.io/managed-by=kubectl-mesh and this mesh's
kubectl-mesh.io/mesh-id in every cluster of the file, and uninstalls the helm releases up
installed there (installer: helm; recorded in ConfigMap istio-system/kubectl-mesh-<mesh_id>-helm-releases),
last installed first. Certificates and keys on disk are kept.

Examples:
  kubectl mesh down -f mesh.yaml
  kubectl mesh down -f mesh.yaml --dry-run=client     # list what would be removed")]
pub struct DownArgs {
    #[command(flatten)]
    pub topology: TopologyArgs,

    /// The helm program, to uninstall the releases up installed (installer: helm)
    #[arg(long, value_name = "PATH", default_value = "helm")]
    pub helm: String,

    #[command(flatten)]
    pub write: WriteArgs,
}

impl TopologyArgs {
    /// Parses the file and checks its contexts against the kubeconfig: nothing is sent yet.
    fn load(&self) -> Result<(Topology, LoadedKubeconfig, Vec<ClusterRef>), CliError> {
        init_logging(self.verbose);
        let topology = Topology::load(&self.file)?;
        crate::hints::remember_kubeconfig(self.kubeconfig.as_deref());
        let kubeconfig = LoadedKubeconfig::load(self.kubeconfig.as_deref())?;
        let refs: Vec<ClusterRef> = topology.cluster_refs();
        if let Some(error) = topology.missing_context(&kubeconfig) {
            return Err(error.into());
        }
        Ok((topology, kubeconfig, refs))
    }

    async fn connect(
        &self,
        kubeconfig: &LoadedKubeconfig,
        refs: &[ClusterRef],
    ) -> Result<Vec<clusters::Cluster>, CliError> {
        let options = ConnectOptions {
            timeout: self.timeout,
            retry: RetryPolicy::default(),
        };
        Ok(clusters::connect(kubeconfig, refs, options).await?)
    }
}

pub async fn run_up(args: UpArgs) -> Result<ExitCode, CliError> {
    let write = args.write.options()?;
    if args.generate.is_some() && write.dry_run != kubectl_mesh_core::kube::apply::DryRun::None {
        return Err(kubectl_mesh_core::InputError::new(
            "--generate writes files and changes no cluster: --dry-run has no meaning with it",
        )
        .with_hint("drop --dry-run (or --generate)")
        .into());
    }
    let (topology, kubeconfig, refs) = args.topology.load()?;
    // Before anything is written, on disk or in a cluster.
    let solo = up::preflight(&topology)?;
    let values_dir = args.values_dir.join(&topology.mesh_id);
    if args.generate.is_none() {
        up::check_values_dir(&topology, &values_dir)?;
    }
    let clusters = args.topology.connect(&kubeconfig, &refs).await?;
    let options = UpOptions {
        chart_repo: args.chart_repo.clone(),
        kubeconfig: args.topology.kubeconfig.clone(),
        solo,
        write,
        wait: args.wait,
        parallel: usize::from(args.topology.parallel),
        force: args.force,
        helm: args.helm.clone(),
        values_dir,
        timeout: args.topology.timeout,
        reach: Some((
            kubeconfig.clone(),
            ConnectOptions {
                timeout: args.topology.timeout,
                retry: RetryPolicy::default(),
            },
        )),
        prune_removed: args.prune_removed,
    };
    let dry_run = options.write.dry_run != kubectl_mesh_core::kube::apply::DryRun::None;
    let rows = match &args.generate {
        Some(dir) => up::generate(&topology, &clusters, dir, &options).await?,
        None => up::up(&topology, &clusters, &options, &StderrProgress::new()).await?,
    };
    if dry_run {
        eprintln!("dry run: the results above are what up would do; no cluster was changed");
    }
    report(&rows, args.topology.output, "UpReport")
}

pub async fn run_down(args: DownArgs) -> Result<ExitCode, CliError> {
    let (topology, kubeconfig, refs) = args.topology.load()?;
    let write = args.write.options()?;
    let clusters = args.topology.connect(&kubeconfig, &refs).await?;
    let reach = (
        kubeconfig.clone(),
        ConnectOptions {
            timeout: args.topology.timeout,
            retry: RetryPolicy::default(),
        },
    );
    let parallel = usize::from(args.topology.parallel);
    let helm = up::HelmCommand {
        program: args.helm.clone(),
        kubeconfig: args.topology.kubeconfig.clone(),
    };
    let rows = up::down(&topology, &clusters, &write, Some(&reach), &helm, parallel).await;
    report(&rows, args.topology.output, "DownReport")
}

fn report(rows: &[StepRow], format: OutputFormat, kind: &str) -> Result<ExitCode, CliError> {
    let text = match format {
        OutputFormat::Table => {
            let cells = rows
                .iter()
                .map(|r| vec![r.step.to_string(), r.target.clone(), r.result.clone()])
                .collect();
            output::table(&["STEP", "CLUSTER", "RESULT"], cells)
        }
        format => output::structured(&output::report(kind, serde_json::json!({"steps": rows})), format)?,
    };
    output::print(&text);
    for row in rows.iter().filter(|r| r.is_failure()) {
        crate::hints::eprint(&format!(
            "error: {} {}: {}",
            row.step,
            row.target,
            row.error.as_deref().unwrap_or_default()
        ));
    }
    Ok(exit::from_failures(rows.iter().any(StepRow::is_failure)))
}
