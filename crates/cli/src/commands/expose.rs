//! `kubectl mesh expose`: the east-west gateway in one or many clusters, or its YAML.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kubectl_mesh_core::expose::service::{self as global_service, GlobalService};
use kubectl_mesh_core::expose::{self, ExposeOptions, Plan};
use kubectl_mesh_core::kube::clusters::{self, Cluster, ClusterError};
use kubectl_mesh_core::kube::{parallel, validation as names};
use kubectl_mesh_core::labels::{self, CLUSTER};
use kubectl_mesh_core::resources::eastwest::{EastWest, Flavor};
use kubectl_mesh_core::InputError;

use crate::args::{parse_duration, ClusterArgs, OutputFormat, WriteArgs};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  # Deploy the east-west gateway to three clusters, networks read from istio-system's label
  kubectl mesh expose --contexts east-1,east-2,west-1

  # Print it for one network and apply it with kubectl
  kubectl mesh expose --generate --network network-east | kubectl apply --server-side -f -

  # Sidecar multi-primary, also exposing istiod for remotes; wait for the address
  kubectl mesh expose --flavor sidecar --expose-istiod --context east-1 --wait

  # Make the reviews Service global, preferring endpoints in the caller's network
  kubectl mesh expose --service reviews -n bookinfo --scope global --traffic-distribution PreferNetwork --contexts east-1,west-1

  # The same on upstream ambient (label istio.io/global: \"true\")
  kubectl mesh expose --flavor ambient --service reviews -n bookinfo --contexts east-1,west-1")]
pub struct ExposeArgs {
    /// Gateway flavour
    #[arg(long, value_name = "FLAVOR", default_value = "ambient-peering", value_parser = Flavor::NAMES)]
    pub flavor: String,

    /// Network of the cluster(s) [default: the topology.istio.io/network label of istio-system]
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,

    /// Print the objects as YAML instead of applying them (offline when --network is given; the
    /// cluster label then comes from --context / --contexts NAME=CONTEXT, else is left out)
    #[arg(long)]
    pub generate: bool,

    /// Wait until the gateway has an address (and is Programmed); `--wait` alone waits 5m
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "5m",
          value_parser = parse_duration)]
    pub wait: Option<Duration>,

    /// Name of the gateway [default: istio-eastwest; istio-eastwestgateway for ambient and sidecar]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Namespace of the gateway [default: istio-gateways; istio-system for ambient and sidecar]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// GatewayClass of the gateway [default: istio-eastwest; istio-east-west for ambient]
    #[arg(long, value_name = "CLASS")]
    pub gateway_class: Option<String>,

    /// Sidecar flavour: also expose istiod through the gateway (for primary-remote)
    #[arg(long)]
    pub expose_istiod: bool,

    /// Make this Service global in every listed cluster instead of deploying the gateway
    /// (label solo.io/service-scope for ambient-peering, istio.io/global for ambient; sidecar needs none)
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,

    /// With --service: global or global-only (ambient-peering only). Clients reach it as
    /// <name>.<ns>.mesh.internal with ambient-peering, as <name>.<ns>.svc.cluster.local with
    /// upstream ambient
    #[arg(long, value_name = "SCOPE", default_value = "global", value_parser = global_service::SCOPES, requires = "service")]
    pub scope: String,

    /// With --service: how traffic spreads over clusters
    #[arg(long, value_name = "MODE", value_parser = labels::TRAFFIC_DISTRIBUTIONS, requires = "service")]
    pub traffic_distribution: Option<String>,

    /// Report format (for --generate: yaml, or json for a v1 List)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub clusters: ClusterArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

impl ExposeArgs {
    /// Checks every flag before anything is read or written.
    fn options(&self) -> Result<ExposeOptions, InputError> {
        let flavor: Flavor = self.flavor.parse()?;
        if let Some(name) = &self.name {
            names::check_label("gateway name (--name)", name)?;
        }
        if let Some(ns) = &self.namespace {
            names::check_label("namespace (-n/--namespace)", ns)?;
        }
        if let Some(class) = &self.gateway_class {
            names::check_subdomain("gateway class (--gateway-class)", class)?;
        }
        if let Some(network) = &self.network {
            if network.is_empty() {
                return Err(InputError::new("--network is empty")
                    .with_hint("pass a network name, e.g. --network network-east"));
            }
            names::check_label_value("network (--network)", network)?;
        }
        if self.expose_istiod && flavor != Flavor::Sidecar {
            return Err(InputError::new(format!(
                "--expose-istiod applies to --flavor sidecar, not {flavor}"
            ))
            .with_hint(
                "the ambient-peering gateway already exposes istiod on port 15012; drop --expose-istiod",
            ));
        }
        let gateway = EastWest {
            flavor,
            network: String::new(),
            cluster: None,
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            gateway_class: self.gateway_class.clone(),
            expose_istiod: self.expose_istiod,
        };
        Ok(ExposeOptions {
            gateway,
            network: self.network.clone(),
            write: self.write.options()?,
            wait: self.wait,
            parallel: usize::from(self.clusters.parallel),
        })
    }
}

pub async fn run(args: ExposeArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose);
    if let Some(name) = &args.service {
        return expose_service(&args, name).await;
    }
    let options = args.options()?;
    if args.generate {
        return generate(&args, &options).await;
    }
    let format = args.output.unwrap_or_default();
    let clusters = args.clusters.connect().await?;
    let planned = plan_all(clusters, &options).await?;
    let reports = expose::apply_all(planned, &options, &StderrProgress::new()).await;
    output::print(&output::cluster_reports(
        &reports,
        format,
        options.write.dry_run,
        "ExposeReport",
    )?);
    output::print_errors(&reports);
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}

/// Reads every cluster first; any cluster without a network stops the command before writes.
async fn plan_all(
    clusters: Vec<Cluster>,
    options: &ExposeOptions,
) -> Result<Vec<(Cluster, Result<String, ClusterError>)>, CliError> {
    let plans = parallel::map_bounded(clusters, options.parallel, |cluster| async move {
        let plan = expose::plan(&cluster, options).await;
        (cluster, plan)
    })
    .await;
    let mut planned = Vec::new();
    let mut input_errors = Vec::new();
    for (cluster, plan) in plans {
        match plan {
            Plan::Ready { network } => planned.push((cluster, Ok(network))),
            Plan::Failed(reason) => planned.push((cluster, Err(reason))),
            Plan::Input(e) => input_errors.push(e),
        }
    }
    if let Some(error) = InputError::combine(input_errors) {
        return Err(error.into());
    }
    Ok(planned)
}

/// `--generate`: offline with `--network`; otherwise each cluster's network is read.
async fn generate(args: &ExposeArgs, options: &ExposeOptions) -> Result<ExitCode, CliError> {
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    if format == OutputFormat::Table {
        return Err(InputError::new("--generate prints objects: use -o yaml (default) or -o json").into());
    }
    if let Some(network) = &options.network {
        let mut objects = Vec::new();
        for cluster in offline_names(args)? {
            objects.extend(expose::generate(&for_cluster(options, cluster), network));
        }
        output::print(&output::objects(&objects, format)?);
        return Ok(ExitCode::SUCCESS);
    }
    let clusters = args.clusters.connect().await?;
    let planned = plan_all(clusters, options).await?;
    let mut objects = Vec::new();
    let mut failed = false;
    for (cluster, network) in &planned {
        match network {
            Ok(network) => {
                let options = for_cluster(options, Some(cluster.name.clone()));
                objects.extend(expose::generate(&options, network));
            }
            Err(reason) => {
                crate::hints::eprint(&format!("error: {reason}"));
                failed = true;
            }
        }
    }
    output::print(&output::objects(&objects, format)?);
    Ok(exit::from_failures(failed))
}

fn for_cluster(options: &ExposeOptions, cluster: Option<String>) -> ExposeOptions {
    let mut options = options.clone();
    options.gateway.cluster = cluster;
    options
}

/// Offline `--generate`: the clusters named by `--context` / `--contexts` (name=context), read
/// from the flags alone. Not the kubeconfig's current context: offline output is often applied
/// elsewhere (`| kubectl --context other apply`), and a wrong cluster label is worse than none.
/// With no cluster named, one unnamed gateway: the ambient-peering gateway then lacks
/// `topology.istio.io/cluster`, which Solo's automatic peering needs, so say so.
fn offline_names(args: &ExposeArgs) -> Result<Vec<Option<String>>, InputError> {
    let entries = match (&args.clusters.context, args.clusters.contexts.is_empty()) {
        (Some(_), false) => {
            return Err(InputError::new("--context and --contexts were both given")
                .with_hint("use --context for one cluster or --contexts a,b,c for several"))
        }
        (Some(context), true) => vec![context.clone()],
        (None, false) => args.clusters.contexts.clone(),
        (None, true) => Vec::new(),
    };
    let refs = clusters::parse_refs(&entries)?;
    if refs.is_empty() {
        if args.flavor == Flavor::AmbientPeering.as_str() {
            eprintln!("warning: no cluster named, so the gateway has no {CLUSTER} label (Solo's automatic peering needs it): pass --context NAME or --contexts NAME=CONTEXT");
        }
        return Ok(vec![None]);
    }
    Ok(refs.into_iter().map(|r| Some(r.name)).collect())
}

/// `--service`: label (and annotate) an existing Service in every listed cluster.
async fn expose_service(args: &ExposeArgs, name: &str) -> Result<ExitCode, CliError> {
    names::check_label("service name (--service)", name)?;
    let namespace = args.namespace.clone().unwrap_or_else(|| "default".to_string());
    names::check_label("namespace (-n/--namespace)", &namespace)?;
    if args.generate || args.wait.is_some() || args.network.is_some() || args.expose_istiod {
        return Err(InputError::new("--service makes a Service global; --generate, --wait, --network and --expose-istiod are for the gateway")
            .into());
    }
    // The flavour decides the label (istio.io/global upstream, solo.io/service-scope for
    // peering); sidecar has none. Checked before any cluster is read.
    let flavor: Flavor = args.flavor.parse()?;
    let service = GlobalService {
        name: name.to_string(),
        namespace,
        label: global_service::scope_label(flavor, &args.scope)?,
        traffic_distribution: args.traffic_distribution.clone(),
    };
    let write = args.write.options()?;
    let clusters = args.clusters.connect().await?;
    let reports =
        global_service::apply_all(&clusters, &service, &write, usize::from(args.clusters.parallel)).await;
    let format = args.output.unwrap_or_default();
    output::print(&output::cluster_reports(
        &reports,
        format,
        write.dry_run,
        "ExposeServiceReport",
    )?);
    output::print_errors(&reports);
    if format == OutputFormat::Table {
        eprintln!("global host: {}", service.host());
    }
    Ok(exit::from_failures(reports.iter().any(|r| r.failed())))
}
