//! `kubectl mesh link`: every cluster peers with every other, concurrently (DESIGN §5.4).

use std::process::ExitCode;

use clap::Args;
use kubectl_mesh_core::api::RetryPolicy;
use kubectl_mesh_core::clusters::{self, Cluster, ClusterRef, ConnectOptions};
use kubectl_mesh_core::link::{self, Action, LinkOptions, Pair, PairReport};
use kubectl_mesh_core::resources::peering;
use kubectl_mesh_core::{names, InputError};

use crate::args::{ClusterArgs, OutputFormat, WriteArgs};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  # Full mesh: every cluster peers with every other (6 links for 3 clusters)
  kubectl mesh link --contexts east-1,east-2,west-1

  # One direction only: east-1 learns about west-1
  kubectl mesh link --from east-1 --to west-1

  # Print the Gateway describing west-1, to apply in another cluster
  kubectl mesh link --generate --context west-1 | kubectl --context east-1 apply --server-side -f -

  # Remove every link among these clusters
  kubectl mesh link --contexts east-1,east-2,west-1 --unlink")]
pub struct LinkArgs {
    /// How clusters are linked
    #[arg(long, value_name = "MODE", default_value = "peering", value_parser = ["peering"])]
    pub mode: String,

    /// Source cluster of a one-direction link ([NAME=]CONTEXT)
    #[arg(long, value_name = "[NAME=]CONTEXT", conflicts_with = "contexts")]
    pub from: Option<String>,

    /// Target cluster(s) of a one-direction link ([NAME=]CONTEXT,...)
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "[NAME=]CONTEXT,...",
        requires = "from"
    )]
    pub to: Vec<String>,

    /// Print the peer Gateway that describes the --context cluster instead of applying anything
    #[arg(long)]
    pub generate: bool,

    /// Delete our peer Gateways of the given pairs instead of creating them
    #[arg(long)]
    pub unlink: bool,

    /// Also delete our peer Gateways for clusters that are not in the list
    #[arg(long)]
    pub prune: bool,

    /// Namespace of the east-west gateway and of the peer Gateways
    #[arg(
        short = 'n',
        long,
        value_name = "NAMESPACE",
        default_value = "istio-gateways"
    )]
    pub namespace: String,

    /// Name of the east-west gateway in every cluster
    #[arg(long, value_name = "NAME", default_value = "istio-eastwest")]
    pub gateway: String,

    /// Report format (for --generate: yaml, or json for a v1 List)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub clusters: ClusterArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

impl LinkArgs {
    fn options(&self) -> Result<LinkOptions, InputError> {
        names::check_label("namespace (-n/--namespace)", &self.namespace)?;
        names::check_label("gateway name (--gateway)", &self.gateway)?;
        if self.unlink && self.generate {
            return Err(InputError::new(
                "--unlink and --generate cannot be combined",
            ));
        }
        Ok(LinkOptions {
            namespace: self.namespace.clone(),
            gateway: self.gateway.clone(),
            write: self.write.options()?,
            parallel: usize::from(self.clusters.parallel),
        })
    }

    /// The clusters and the directed pairs among them (checked before any file is read).
    fn plan(&self) -> Result<(Vec<ClusterRef>, Vec<Pair>), InputError> {
        let (refs, pairs) = match &self.from {
            Some(from) => {
                if self.to.is_empty() {
                    return Err(InputError::new("--from needs --to")
                        .with_hint("e.g. --from east-1 --to west-1,west-2"));
                }
                let mut entries = vec![from.clone()];
                entries.extend(self.to.iter().cloned());
                let refs = clusters::parse_refs(&entries).map_err(|e| {
                    if e.message.contains("listed twice") {
                        InputError::new("--from and --to name the same cluster")
                            .with_hint("a cluster does not link to itself")
                    } else {
                        e
                    }
                })?;
                let pairs = (1..refs.len()).map(|to| Pair { from: 0, to }).collect();
                (refs, pairs)
            }
            None => {
                if self.clusters.context.is_some() {
                    return Err(InputError::new(
                        "link works on several clusters: use --contexts a,b,c or --from a --to b",
                    )
                    .with_hint("--context is only for --generate"));
                }
                let refs = clusters::parse_refs(&self.clusters.contexts)?;
                let pairs = link::full_mesh(refs.len());
                (refs, pairs)
            }
        };
        if refs.len() < 2 && !(self.prune && refs.len() == 1) {
            return Err(InputError::new("link needs at least two clusters")
                .with_hint("e.g. kubectl mesh link --contexts east-1,west-1"));
        }
        Ok((refs, pairs))
    }
}

pub async fn run(args: LinkArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose);
    let options = args.options()?;
    if args.generate {
        return generate(&args, &options).await;
    }
    let (refs, pairs) = args.plan()?;
    let kubeconfig = args.clusters.load_kubeconfig()?;
    if let Some(unknown) = refs.iter().find(|r| !kubeconfig.has_context(&r.context)) {
        return Err(kubeconfig.unknown_context(&unknown.context).into());
    }
    let connect = ConnectOptions {
        timeout: args.clusters.timeout,
        retry: RetryPolicy::default(),
    };
    let clusters = clusters::connect(&kubeconfig, &refs, connect).await?;
    let action = if args.unlink {
        Action::Unlink
    } else {
        Action::Link
    };
    let reports = link::run(
        &clusters,
        &pairs,
        action,
        args.prune,
        &options,
        &StderrProgress,
    )
    .await;
    let format = args.output.unwrap_or_default();
    output::print(&render(&reports, format, &options)?);
    for report in &reports {
        if let Some(error) = &report.error {
            eprintln!("error: {} -> {}: {error}", report.from, report.to);
        }
    }
    Ok(exit::from_failures(reports.iter().any(|r| {
        r.result == kubectl_mesh_core::report::Outcome::Failed
    })))
}

fn render(
    reports: &[PairReport],
    format: OutputFormat,
    options: &LinkOptions,
) -> Result<String, CliError> {
    if format != OutputFormat::Table {
        let doc = serde_json::json!({"kind": "LinkReport", "links": reports});
        return output::structured(&doc, format);
    }
    let suffix = output::dry_run_suffix(options.write.dry_run);
    let rows = reports
        .iter()
        .map(|r| {
            vec![
                r.from.clone(),
                r.to.clone(),
                r.address.clone().unwrap_or_else(|| "-".into()),
                r.network.clone().unwrap_or_else(|| "-".into()),
                format!("{}{suffix}", r.result),
            ]
        })
        .collect();
    Ok(output::table(
        &["FROM", "TO", "ADDRESS", "NETWORK", "RESULT"],
        rows,
    ))
}

/// `--generate --context target`: the Gateway describing `target`, read from it.
async fn generate(args: &LinkArgs, options: &LinkOptions) -> Result<ExitCode, CliError> {
    if !args.clusters.contexts.is_empty() || args.from.is_some() {
        return Err(InputError::new("--generate prints the Gateway of one target: use --context TARGET")
            .with_hint("e.g. kubectl mesh link --generate --context west-1 | kubectl --context east-1 apply --server-side -f -")
            .into());
    }
    let clusters: Vec<Cluster> = args.clusters.connect().await?;
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    let Some(target) = clusters.first() else {
        return Err(InputError::new("no cluster selected").into());
    };
    let facts = link::read_target(target, options)
        .await
        .map_err(CliError::Failed)?;
    output::print(&output::objects(
        &[peering::gateway(&facts, &options.namespace)],
        format,
    )?);
    Ok(ExitCode::SUCCESS)
}
