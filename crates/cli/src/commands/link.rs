//! `kubectl mesh link`: every cluster peers with every other, or as a topology says (hub-and-spoke,
//! pairs, groups: `args::LinkTopologyArgs`), concurrently (DESIGN §5.4).

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use clap::Args;
use kubectl_mesh_core::kube::api::RetryPolicy;
use kubectl_mesh_core::kube::clusters::{self, Cluster, ClusterError, ClusterRef, ConnectOptions};
use kubectl_mesh_core::kube::parallel;
use kubectl_mesh_core::kube::validation as names;
use kubectl_mesh_core::link::{self, Action, LinkOptions, Mechanism, Pair, PairReport, Prune};
use kubectl_mesh_core::report::Outcome;
use kubectl_mesh_core::resources::peering;
use kubectl_mesh_core::InputError;

use crate::args::{
    parse_duration, ClusterArgs, LinkTopologyArgs, OutputFormat, WriteArgs, CONTEXT, CONTEXT_LIST,
};
use crate::exit::{self, CliError};
use crate::output;
use crate::progress::{init_logging, StderrProgress};
use kubectl_mesh_core::link::remote_secret::{self as remote_secrets, RemoteOptions};
use kubectl_mesh_core::resources::eastwest::Flavor;

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
  kubectl mesh link --contexts east-1,east-2,west-1 --unlink

Fleets: other topologies than the full mesh (each link goes both ways)
  # Hub-and-spoke: hub-1 with everyone, spokes only with the hub (6 links, not 12)
  kubectl mesh link --contexts hub-1,east-1,east-2,west-1 --hub hub-1

  # Exactly these pairs
  kubectl mesh link --contexts east-1,east-2,west-1 --pairs east-1:east-2,east-2:west-1

  # A full mesh inside each group, and the groups linked with each other
  kubectl mesh link --contexts east-1,east-2,west-1,west-2 \
      --group east=east-1,east-2 --group west=west-1,west-2 --pairs east:west

  # Converge to hub-and-spoke: also delete our links the topology no longer wants
  kubectl mesh link --contexts hub-1,east-1,east-2,west-1 --hub hub-1 --prune

  # Print every link of the topology, per source cluster, instead of applying
  kubectl mesh link --contexts hub-1,east-1,east-2 --hub hub-1 --generate")]
pub struct LinkArgs {
    /// How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]
    #[arg(long, value_name = "MODE", value_parser = ["peering", "remote-secret"])]
    pub mode: Option<String>,

    /// Mesh flavour (chooses the default --mode)
    #[arg(long, value_name = "FLAVOR", default_value = "ambient-peering", value_parser = Flavor::NAMES)]
    pub flavor: String,

    /// Primary-remote: the cluster running the control plane (remote-secret mode)
    #[arg(long, value_name = CONTEXT, requires = "remotes", conflicts_with_all = ["contexts", "from", "topology", "hubs", "pairs", "groups"])]
    pub primary: Option<String>,

    /// Primary-remote: the clusters whose control plane is --primary
    #[arg(long, value_delimiter = ',', value_name = CONTEXT_LIST, requires = "primary")]
    pub remotes: Vec<String>,

    /// Remote-secret mode: a bounded token (TokenRequest) instead of a long-lived token Secret
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub token_duration: Option<std::time::Duration>,

    /// Remote-secret mode: the API server address written into the kubeconfig (one target only;
    /// needed when the kubeconfig's is a loopback address such as kind's 127.0.0.1)
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,

    /// Source cluster of a one-direction link ([NAME=]CONTEXT)
    #[arg(long, value_name = CONTEXT, conflicts_with_all = ["contexts", "topology", "hubs", "pairs", "groups"])]
    pub from: Option<String>,

    /// Target cluster(s) of a one-direction link ([NAME=]CONTEXT,...)
    #[arg(long, value_delimiter = ',', value_name = CONTEXT_LIST, requires = "from")]
    pub to: Vec<String>,

    /// Print what links to the --context cluster (peer Gateway, or remote secret with its token), or with --contexts every link of each source, instead of applying
    #[arg(long)]
    pub generate: bool,

    /// Delete our peer Gateways of the given pairs instead of creating them
    #[arg(long)]
    pub unlink: bool,

    /// Also delete our links to clusters that are not in the list, with --contexts those the topology does not want, and our links of the other mode (a flavour switch)
    #[arg(long)]
    pub prune: bool,

    #[command(flatten)]
    pub links: LinkTopologyArgs,

    /// Namespace of the east-west gateway and of the peer Gateways
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "istio-gateways")]
    pub namespace: String,

    /// Name of the east-west gateway in every cluster (peers name its ServiceAccount in gateway.istio.io/service-account)
    #[arg(long, value_name = "NAME", default_value = "istio-eastwest")]
    pub gateway: String,

    /// Report format (for --generate: yaml; json is a v1 List with --context, a LinkObjects document of each source's objects with --contexts)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub clusters: ClusterArgs,

    #[command(flatten)]
    pub write: WriteArgs,
}

/// How the clusters are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Peering,
    RemoteSecret,
}

impl LinkArgs {
    fn mode(&self) -> Result<Mode, InputError> {
        let flavor: Flavor = self.flavor.parse()?;
        let mode = match (self.mode.as_deref(), flavor) {
            (Some("peering"), _) | (None, Flavor::AmbientPeering) => Mode::Peering,
            _ => Mode::RemoteSecret,
        };
        if mode == Mode::Peering
            && (self.primary.is_some() || self.token_duration.is_some() || self.server.is_some())
        {
            return Err(InputError::new(
                "--primary, --token-duration and --server belong to --mode remote-secret",
            )
            .with_hint("add --mode remote-secret (or --flavor ambient / sidecar)"));
        }
        Ok(mode)
    }

    fn options(&self) -> Result<LinkOptions, InputError> {
        names::check_label("namespace (-n/--namespace)", &self.namespace)?;
        names::check_label("gateway name (--gateway)", &self.gateway)?;
        if self.unlink && self.generate {
            return Err(InputError::new("--unlink and --generate cannot be combined"));
        }
        Ok(LinkOptions {
            namespace: self.namespace.clone(),
            gateway: self.gateway.clone(),
            write: self.write.options()?,
            parallel: usize::from(self.clusters.parallel),
        })
    }

    fn remote_options(&self, targets: usize) -> Result<RemoteOptions, InputError> {
        if self.server.is_some() && targets != 1 {
            return Err(InputError::new(
                "--server sets the address of one target cluster, but this links several",
            )
            .with_hint("use --from SOURCE --to TARGET (or --generate --context TARGET) with --server"));
        }
        if let Some(server) = &self.server {
            if !server.starts_with("https://") {
                return Err(InputError::new(format!(
                    "--server {server:?} is not an https:// URL"
                )));
            }
        }
        if self.token_duration.is_some_and(|d| d.as_secs() < 600) {
            return Err(InputError::new(
                "--token-duration must be at least 10m (the API server minimum)",
            ));
        }
        Ok(RemoteOptions {
            write: self.write.options()?,
            parallel: usize::from(self.clusters.parallel),
            token_duration: self.token_duration,
            server: self.server.clone(),
            token_wait: self.clusters.timeout,
        })
    }

    /// The clusters and the directed pairs among them (checked before any file is read).
    fn plan(&self) -> Result<(Vec<ClusterRef>, Vec<Pair>), InputError> {
        if self.clusters.context.is_some() {
            return Err(InputError::new(
                "link works on several clusters: use --contexts a,b,c or --from a --to b",
            )
            .with_hint("--context is only for --generate"));
        }
        let one_way = |first: &String, rest: &[String], flags: &str| {
            if rest.is_empty() {
                return Err(InputError::new(format!("{flags} needs at least one target")));
            }
            let mut entries = vec![first.clone()];
            entries.extend(rest.iter().cloned());
            let refs = clusters::parse_refs(&entries).map_err(|e| {
                if e.message.contains("listed twice") {
                    InputError::new(format!("{flags} name the same cluster twice"))
                        .with_hint("a cluster does not link to itself")
                } else {
                    e
                }
            })?;
            let pairs = (1..refs.len()).map(|to| Pair { from: 0, to }).collect();
            Ok((refs, pairs))
        };
        let (refs, pairs) = match (&self.from, &self.primary) {
            (Some(from), _) => one_way(from, &self.to, "--from and --to")?,
            (None, Some(primary)) => one_way(primary, &self.remotes, "--primary and --remotes")?,
            (None, None) => {
                let refs = clusters::parse_refs(&self.clusters.contexts)?;
                if refs.len() < 2 && !(self.prune && refs.len() == 1) {
                    return Err(InputError::new("link needs at least two clusters")
                        .with_hint("e.g. kubectl mesh link --contexts east-1,west-1"));
                }
                let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
                let (_, pairs) = self.links.pairs(&names)?;
                (refs, pairs)
            }
        };
        Ok((refs, pairs))
    }

    /// What `--prune` deletes: with `--contexts` the pairs are all that is wanted among the
    /// clusters, so links between them that are not pairs go too.
    fn prune(&self) -> Prune {
        Prune::of(self.prune, self.from.is_none() && self.primary.is_none())
    }
}

pub async fn run(args: LinkArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose);
    let mode = args.mode()?;
    let options = args.options()?;
    if args.generate {
        return generate(&args, mode, &options).await;
    }
    let (refs, pairs) = args.plan()?;
    let targets = pairs
        .iter()
        .map(|p| p.to)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let remote = match mode {
        Mode::RemoteSecret => Some(args.remote_options(targets)?),
        Mode::Peering => None,
    };
    let clusters = connect(&args, &refs).await?;
    let action = if args.unlink { Action::Unlink } else { Action::Link };
    if let (Some(remote), Action::Link) = (&remote, action) {
        let targets: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.to).collect();
        warn_loopback(targets.into_iter().map(|i| &clusters[i]), remote);
    }
    let mechanism = match &remote {
        None => Mechanism::Peering(options.clone()),
        Some(remote) => Mechanism::RemoteSecrets(remote.clone()),
    };
    let mut reports = link::run(
        &clusters,
        &pairs,
        action,
        args.prune(),
        &mechanism,
        &StderrProgress::new(),
    )
    .await;
    if let (Some(remote), true, Action::Link) = (&remote, args.primary.is_some(), action) {
        reports.extend(annotate_remotes(&clusters, remote).await);
    }
    let format = args.output.unwrap_or_default();
    output::print(&render(&reports, format, &options)?);
    for report in &reports {
        if let Some(error) = &report.error {
            crate::hints::eprint(&format!("error: {} -> {}: {error}", report.from, report.to));
        }
    }
    Ok(exit::from_failures(
        reports.iter().any(|r| r.result == Outcome::Failed),
    ))
}

/// Connects the listed clusters, once every context is known to be in the kubeconfig.
async fn connect(args: &LinkArgs, refs: &[ClusterRef]) -> Result<Vec<Cluster>, InputError> {
    let kubeconfig = args.clusters.load_kubeconfig()?;
    if let Some(unknown) = refs.iter().find(|r| !kubeconfig.has_context(&r.context)) {
        return Err(kubeconfig.unknown_context(&unknown.context));
    }
    let connect = ConnectOptions {
        timeout: args.clusters.timeout,
        retry: RetryPolicy::default(),
    };
    clusters::connect(&kubeconfig, refs, connect).await
}

/// Warns, as istioctl create-remote-secret does, about targets whose kubeconfig server is a
/// loopback address that istiod elsewhere cannot reach — unless `--server` replaces it.
fn warn_loopback<'a>(targets: impl IntoIterator<Item = &'a Cluster>, remote: &RemoteOptions) {
    if remote.server.is_some() {
        return;
    }
    for target in targets {
        if let Some(warning) = remote_secrets::loopback_warning(&target.name, &target.server) {
            eprintln!("warning: {warning}");
        }
    }
}

/// Primary-remote: each remote's istio-system names the primary (the first cluster).
async fn annotate_remotes(clusters: &[Cluster], options: &RemoteOptions) -> Vec<PairReport> {
    match clusters.split_first() {
        Some((primary, remotes)) => remote_secrets::annotate_remotes(remotes, &primary.name, options).await,
        None => Vec::new(),
    }
}

fn render(reports: &[PairReport], format: OutputFormat, options: &LinkOptions) -> Result<String, CliError> {
    if format != OutputFormat::Table {
        let doc = output::report("LinkReport", serde_json::json!({"links": reports}));
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
                match &r.note {
                    // A deletion with a note says what it deleted (a link of the other flavour).
                    Some(note) if r.result.is_change() => format!("{} {note}{suffix}", r.result),
                    Some(note) => format!("{note}{suffix}"),
                    None => format!("{}{suffix}", r.result),
                },
            ]
        })
        .collect();
    Ok(output::table(
        &["FROM", "TO", "ADDRESS", "NETWORK", "RESULT"],
        rows,
    ))
}

/// `--generate --context target`: what links to `target` — its peer Gateway, or its remote
/// secret (which holds a token: the one place a token is printed). With `--contexts` (and a
/// topology): every link the topology wants, by the source that holds it.
async fn generate(args: &LinkArgs, mode: Mode, options: &LinkOptions) -> Result<ExitCode, CliError> {
    if args.from.is_some() || args.primary.is_some() {
        return Err(InputError::new("--generate prints what links to one target: use --context TARGET")
            .with_hint("e.g. kubectl mesh link --generate --context west-1 | kubectl --context east-1 apply --server-side -f -, or --generate --contexts a,b,c for every link")
            .into());
    }
    if !args.clusters.contexts.is_empty() {
        return generate_all(args, mode, options).await;
    }
    if args.links.given() {
        return Err(InputError::new(
            "--topology, --hub, --pairs and --group describe links among --contexts",
        )
        .with_hint("e.g. kubectl mesh link --generate --contexts hub-1,east-1,east-2 --hub hub-1")
        .into());
    }
    let remote = match mode {
        Mode::RemoteSecret => Some(args.remote_options(1)?),
        Mode::Peering => None,
    };
    let clusters: Vec<Cluster> = args.clusters.connect().await?;
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    let Some(target) = clusters.first() else {
        return Err(InputError::new("no cluster selected").into());
    };
    if let Some(remote) = &remote {
        warn_loopback([target], remote);
    }
    let object = describe(target, remote.as_ref(), options)
        .await
        .map_err(|e| CliError::Failed(e.to_string()))?;
    output::print(&output::objects(&[object], format)?);
    Ok(ExitCode::SUCCESS)
}

/// The object a source holds to link to `target`: its peer Gateway, or its remote secret.
async fn describe(
    target: &Cluster,
    remote: Option<&RemoteOptions>,
    options: &LinkOptions,
) -> Result<serde_json::Value, ClusterError> {
    match remote {
        None => {
            let facts = link::peering::read_target(target, options).await?;
            Ok(peering::gateway(&facts, &options.namespace))
        }
        Some(remote) => {
            let creds = remote_secrets::target_credentials(target, remote).await?;
            Ok(kubectl_mesh_core::resources::remote_secret::remote_secret(&creds))
        }
    }
}

/// `--generate --contexts`: each target is read (or, for remote secrets, prepared) once, and
/// its object printed for every source the topology links to it. A target that cannot be
/// described fails its pairs only.
async fn generate_all(args: &LinkArgs, mode: Mode, options: &LinkOptions) -> Result<ExitCode, CliError> {
    if args.clusters.context.is_some() || args.prune {
        return Err(InputError::new("--generate --contexts prints every link: --context and --prune do not go with it")
            .with_hint("--generate --context TARGET prints what links to one target; --prune deletes, so run it without --generate")
            .into());
    }
    let (refs, pairs) = args.plan()?;
    let targets: Vec<usize> = pairs
        .iter()
        .map(|p| p.to)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let remote = match mode {
        Mode::RemoteSecret => Some(args.remote_options(targets.len())?),
        Mode::Peering => None,
    };
    let clusters = connect(args, &refs).await?;
    if let Some(remote) = &remote {
        warn_loopback(targets.iter().map(|&i| &clusters[i]), remote);
    }
    let (clusters, remote) = (&clusters, remote.as_ref());
    let described: BTreeMap<usize, Result<serde_json::Value, ClusterError>> =
        parallel::map_bounded(targets, options.parallel, |to| async move {
            (to, describe(&clusters[to], remote, options).await)
        })
        .await
        .into_iter()
        .collect();
    let mut sources: Vec<(&Cluster, Vec<serde_json::Value>)> = Vec::new();
    let mut errors = Vec::new();
    for (from, source) in clusters.iter().enumerate() {
        let mut objects = Vec::new();
        for to in pairs.iter().filter(|p| p.from == from).map(|p| p.to) {
            match described.get(&to) {
                Some(Ok(object)) => objects.push(object.clone()),
                Some(Err(e)) => errors.push(format!("{} -> {}: {e}", source.name, clusters[to].name)),
                None => errors.push(format!("{} -> {}: not described", source.name, clusters[to].name)),
            }
        }
        if !objects.is_empty() {
            sources.push((source, objects));
        }
    }
    output::print(&per_source(&sources, args.output.unwrap_or(OutputFormat::Yaml))?);
    for error in &errors {
        crate::hints::eprint(&format!("error: {error}"));
    }
    Ok(exit::from_failures(!errors.is_empty()))
}

/// The objects of each source: YAML documents under a comment saying where to apply them, or
/// in JSON a `LinkObjects` document with the objects of each source.
fn per_source(
    sources: &[(&Cluster, Vec<serde_json::Value>)],
    format: OutputFormat,
) -> Result<String, CliError> {
    if format == OutputFormat::Json {
        let sources: Vec<serde_json::Value> = sources
            .iter()
            .map(|(c, items)| serde_json::json!({"cluster": c.name, "context": c.context, "items": items}))
            .collect();
        let doc = output::report("LinkObjects", serde_json::json!({"sources": sources}));
        return output::structured(&doc, format);
    }
    let mut text = String::new();
    for (source, objects) in sources {
        text.push_str(&format!(
            "# in cluster {}: kubectl --context {} apply --server-side -f -\n",
            source.name, source.context
        ));
        text.push_str(&output::yaml_stream(objects)?);
    }
    Ok(text)
}
