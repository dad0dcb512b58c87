//! `kubectl mesh controller`: keep the mesh converged (watch, re-link, refresh tokens), as a
//! local process or in a management cluster (`--generate` prints its Deployment and RBAC).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use kubectl_mesh_core::controller::leader::LeaseOptions;
use kubectl_mesh_core::controller::watch::Links;
use kubectl_mesh_core::controller::{self, ControllerOptions, Home};
use kubectl_mesh_core::kube::api::RetryPolicy;
use kubectl_mesh_core::kube::apply::WriteOptions;
use kubectl_mesh_core::kube::clusters::{self, Cluster, ClusterRef, ConnectOptions};
use kubectl_mesh_core::kube::kubeconfig::LoadedKubeconfig;
use kubectl_mesh_core::kube::validation as names;
use kubectl_mesh_core::link::{LinkOptions, Mechanism, Pair, RemoteOptions};
use kubectl_mesh_core::resources::controller as manifests;
use kubectl_mesh_core::resources::eastwest::Flavor;
use kubectl_mesh_core::topology::Topology;
use kubectl_mesh_core::{up, InputError};

use crate::args::{parse_duration, ClusterArgs, LinkTopologyArgs, OutputFormat};
use crate::exit::{interruption, CliError};
use crate::output;
use crate::progress::init_logging;

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Watches every member cluster and, when something changes, re-links exactly the pairs it
concerns (an east-west gateway's new address, a peer Gateway or remote secret deleted or
edited), with the same engine as `kubectl mesh link`. Bounded remote-secret tokens are
replaced before they expire; intermediates near expiry are reported. Replicas elect a leader
on a Lease; only the leader writes. Status: the ConfigMap <lease-name>-status beside the
Lease, Events on the links it writes, and /metrics, /healthz, /readyz on --listen.

Examples:
  # Run locally against three clusters (Ctrl-C to stop; the Lease is released)
  kubectl mesh controller --contexts east-1,east-2,west-1

  # The members and flavour of a topology file
  kubectl mesh controller -f mesh.yaml

  # Print what runs it in a management cluster: Deployment, RBAC, Secret layout
  kubectl mesh controller -f mesh.yaml --generate --image registry.example/kubectl-mesh:0.1.0

  # Its identity in each member (apply there; its token goes into the members' kubeconfig)
  kubectl mesh controller -f mesh.yaml --generate --member-rbac | kubectl --context east-1 apply --server-side -f -")]
pub struct ControllerArgs {
    /// The topology file whose members to keep linked (instead of --contexts)
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE",
        conflicts_with = "contexts"
    )]
    pub file: Option<PathBuf>,

    /// Mesh flavour (chooses how clusters are linked) when --contexts names the members
    #[arg(long, value_name = "FLAVOR", default_value = "ambient-peering", value_parser = Flavor::NAMES, conflicts_with = "file")]
    pub flavor: String,

    /// How clusters are linked [default: peering for flavour ambient-peering, else remote-secret]
    #[arg(long, value_name = "MODE", value_parser = ["peering", "remote-secret"], conflicts_with = "file")]
    pub mode: Option<String>,

    /// Namespace of the east-west gateway and of the peer Gateways (peering)
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "istio-gateways")]
    pub namespace: String,

    /// Name of the east-west gateway in every cluster (peering)
    #[arg(long, value_name = "NAME", default_value = "istio-eastwest")]
    pub gateway: String,

    /// Remote-secret mode: tokens the controller writes are bounded (TokenRequest) to this
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub token_duration: Option<Duration>,

    /// Replace a bounded remote-secret token when it expires within this
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub token_refresh_before: Duration,

    /// Report intermediates (cacerts) expiring within this
    #[arg(long, value_name = "DURATION", default_value = "720h", value_parser = parse_duration)]
    pub cert_warning: Duration,

    /// Check every pair again this often, whatever the watches said
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub resync: Duration,

    /// Also delete our links between members that the topology does not want (made by hand, or left by an earlier topology); with --generate --member-rbac, the member Roles then allow delete
    #[arg(long)]
    pub prune: bool,

    /// The kubeconfig context of the cluster holding the Lease and status [default: in a pod its own cluster, else the first member]
    #[arg(long, value_name = "CONTEXT")]
    pub lease_context: Option<String>,

    /// Namespace of the Lease and status ConfigMap [default: $POD_NAMESPACE, else istio-system]
    #[arg(long, value_name = "NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// Name of the Lease (replicas of one controller share it)
    #[arg(long, value_name = "NAME", default_value = "kubectl-mesh-controller")]
    pub lease_name: String,

    /// How long a Lease lasts unless renewed: a standby takes over at most this long after the leader stops
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,

    /// This replica's identity in the Lease [default: $POD_NAME, else host name and process id]
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,

    /// Address of /metrics, /healthz and /readyz (`off` for none)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub listen: String,

    /// Exit (releasing the Lease) when the kubeconfig files change, so that whatever restarts it uses the new credentials; the generated Deployment sets it, for a members Secret with renewed tokens
    #[arg(long)]
    pub exit_on_kubeconfig_change: bool,

    /// Print the objects that run the controller in a management cluster instead of running it
    #[arg(long)]
    pub generate: bool,

    /// With --generate: the container image (one holding the kubectl-mesh binary)
    #[arg(long, value_name = "IMAGE", requires = "generate")]
    pub image: Option<String>,

    /// With --generate: print instead what to apply in each member cluster — the controller's ServiceAccount there and Roles for exactly what it does
    #[arg(long, requires = "generate")]
    pub member_rbac: bool,

    /// With --generate: the namespace the controller runs in
    #[arg(
        long,
        value_name = "NAMESPACE",
        default_value = "kubectl-mesh",
        requires = "generate"
    )]
    pub controller_namespace: String,

    /// With --generate: output format (yaml, or json for a v1 List)
    #[arg(short, long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub links: LinkTopologyArgs,

    #[command(flatten)]
    pub clusters: ClusterArgs,
}

/// The members and how they are linked, from a topology file or the flags.
struct Plan {
    refs: Vec<ClusterRef>,
    peering: bool,
    /// From a topology file: its pairs (its `links:` section, or primary-remote's).
    topology: Option<Topology>,
    /// From the flags: the pairs of `--topology`/`--hub`/`--pairs`/`--group` (full mesh).
    pairs: Vec<Pair>,
    kubeconfig: LoadedKubeconfig,
}

impl ControllerArgs {
    fn check(&self) -> Result<(), InputError> {
        names::check_label("namespace (-n/--namespace)", &self.namespace)?;
        names::check_label("gateway name (--gateway)", &self.gateway)?;
        names::check_subdomain("lease name (--lease-name)", &self.lease_name)?;
        names::check_label("namespace (--controller-namespace)", &self.controller_namespace)?;
        if let Some(namespace) = &self.lease_namespace {
            names::check_label("namespace (--lease-namespace)", namespace)?;
        }
        if self.identity.as_deref().is_some_and(|id| id.trim().is_empty()) {
            return Err(InputError::new(
                "--identity is empty: two replicas with the same identity would both lead",
            )
            .with_hint(
                "leave it out (the pod name, else host name and process id), or give each replica its own",
            ));
        }
        if self.clusters.context.is_some() {
            return Err(InputError::new(
                "the controller keeps several clusters linked: use --contexts a,b,c or -f mesh.yaml",
            )
            .with_hint("--context names one cluster; --lease-context names where the Lease lives"));
        }
        if self.lease_duration < Duration::from_secs(3) {
            return Err(InputError::new(
                "--lease-duration must be at least 3s (the holder renews it 1s before it runs out)",
            ));
        }
        if let Some(duration) = self.token_duration {
            if duration.as_secs() < 600 {
                return Err(InputError::new(
                    "--token-duration must be at least 10m (the API server minimum)",
                ));
            }
            if self.token_refresh_before >= duration {
                return Err(InputError::new(format!(
                    "--token-refresh-before ({}) must be shorter than --token-duration ({}): every new token would be due at once",
                    kubectl_mesh_core::duration::display(self.token_refresh_before),
                    kubectl_mesh_core::duration::display(duration),
                )));
            }
        }
        if self.resync.is_zero() {
            return Err(InputError::new("--resync must be more than 0"));
        }
        Ok(())
    }

    fn plan(&self) -> Result<Plan, InputError> {
        let kubeconfig = self.clusters.load_kubeconfig()?;
        if self.file.is_some() && self.links.given() {
            return Err(InputError::new("--topology, --hub, --pairs and --group describe the links of --contexts; with -f the file's links: section does")
                .with_hint("put the topology in the file's links: section"));
        }
        let (refs, peering, topology) = match &self.file {
            Some(file) => {
                let topology = Topology::load(file)?;
                let refs = topology.cluster_refs();
                (refs, up::uses_peering(&topology), Some(topology))
            }
            None => {
                let refs = clusters::parse_refs(&self.clusters.contexts)?;
                let flavor: Flavor = self.flavor.parse()?;
                let peering = match self.mode.as_deref() {
                    Some(mode) => mode == "peering",
                    None => flavor == Flavor::AmbientPeering,
                };
                (refs, peering, None)
            }
        };
        if refs.len() < 2 {
            return Err(
                InputError::new("the controller needs at least two member clusters")
                    .with_hint("e.g. kubectl mesh controller --contexts east-1,west-1"),
            );
        }
        if peering && self.token_duration.is_some() {
            return Err(
                InputError::new("--token-duration belongs to remote-secret linking")
                    .with_hint("add --mode remote-secret (or --flavor ambient / sidecar)"),
            );
        }
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        let (_, pairs) = self.links.pairs(&names)?;
        if let Some(error) = topology.as_ref().and_then(|t| t.missing_context(&kubeconfig)) {
            return Err(error);
        }
        if let Some(unknown) = refs.iter().find(|r| !kubeconfig.has_context(&r.context)) {
            return Err(kubeconfig.unknown_context(&unknown.context));
        }
        Ok(Plan {
            refs,
            peering,
            topology,
            pairs,
            kubeconfig,
        })
    }

    fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            timeout: self.clusters.timeout,
            retry: RetryPolicy::default(),
        }
    }

    fn mechanism(&self, peering: bool) -> Mechanism {
        // A link of ours someone edited is put back (the controller's promise), as `link
        // --force-conflicts` would; objects that are not ours are never taken over.
        let write = WriteOptions {
            force_conflicts: true,
            ..WriteOptions::default()
        };
        let parallel = usize::from(self.clusters.parallel);
        match peering {
            true => Mechanism::Peering(LinkOptions {
                namespace: self.namespace.clone(),
                gateway: self.gateway.clone(),
                write,
                parallel,
            }),
            false => Mechanism::RemoteSecrets(RemoteOptions {
                write,
                parallel,
                token_duration: self.token_duration,
                server: None,
                token_wait: self.clusters.timeout,
            }),
        }
    }

    fn lease(&self) -> LeaseOptions {
        let identity = self.identity.clone().unwrap_or_else(default_identity);
        LeaseOptions {
            namespace: self
                .lease_namespace
                .clone()
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .unwrap_or_else(|| "istio-system".into()),
            name: self.lease_name.clone(),
            identity,
            duration: self.lease_duration,
            // Renew a third of the way before it runs out, as client-go's defaults (15s/10s).
            grace: (self.lease_duration / 3).max(Duration::from_secs(1)),
        }
    }

    /// Where the Lease lives: --lease-context, else the pod's own cluster, else the first member.
    async fn home(&self, plan: &Plan, members: &[Cluster]) -> Result<Home, InputError> {
        let cluster = match &self.lease_context {
            Some(context) => {
                if !plan.kubeconfig.has_context(context) {
                    return Err(plan.kubeconfig.unknown_context(context));
                }
                let r = ClusterRef {
                    name: context.clone(),
                    context: context.clone(),
                };
                clusters::connect(&plan.kubeconfig, &[r], self.connect_options())
                    .await?
                    .remove(0)
            }
            None if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
                clusters::connect_in_cluster(self.connect_options())?
            }
            None => members[0].clone(),
        };
        Ok(Home {
            client: cluster.api.kube_client(),
            api: cluster.api,
        })
    }
}

fn default_identity() -> String {
    std::env::var("POD_NAME").unwrap_or_else(|_| {
        // $HOSTNAME is a shell variable, rarely exported: the kernel knows the name.
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "kubectl-mesh".into());
        format!("{host}-{}", std::process::id())
    })
}

pub async fn run(args: ControllerArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose.max(1));
    args.check()?;
    let plan = args.plan()?;
    if args.generate {
        return generate(&args, &plan);
    }
    let listener = match args.listen.as_str() {
        "off" => None,
        addr => {
            let addr: SocketAddr = addr.parse().map_err(|e| {
                InputError::new(format!("--listen {addr:?}: {e}"))
                    .with_hint("e.g. --listen 127.0.0.1:9090, or --listen off")
            })?;
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                InputError::new(format!("--listen {addr}: {e}"))
                    .with_hint("pick a free port, or --listen off")
            })?;
            // The bound address (port 0 picks one), for scripts and tests.
            if let Ok(bound) = listener.local_addr() {
                eprintln!("serving /metrics, /healthz, /readyz on http://{bound}");
            }
            Some(listener)
        }
    };
    let members = clusters::connect(&plan.kubeconfig, &plan.refs, args.connect_options()).await?;
    let pairs: Vec<Pair> = match &plan.topology {
        Some(topology) => up::link_pairs(topology, &members),
        None => plan.pairs.clone(),
    };
    let home = args.home(&plan, &members).await?;
    let lease = args.lease();
    eprintln!(
        "controller {} of {} clusters ({} pairs); lease {}/{}",
        lease.identity,
        members.len(),
        pairs.len(),
        lease.namespace,
        lease.name
    );
    let options = ControllerOptions {
        mechanism: args.mechanism(plan.peering),
        links: match plan.peering {
            true => Links::Peering {
                namespace: args.namespace.clone(),
                gateway: args.gateway.clone(),
            },
            false => Links::RemoteSecrets,
        },
        pairs,
        status_name: format!("{}-status", lease.name),
        lease,
        resync: args.resync,
        token_refresh_before: args.token_refresh_before,
        cert_warning: args.cert_warning,
        prune: args.prune,
    };
    let watched = match args.exit_on_kubeconfig_change {
        true => plan.kubeconfig.sources.clone(),
        false => Vec::new(),
    };
    let shutdown = async {
        tokio::select! {
            code = interruption() => eprintln!("signal {}: releasing the lease", code - 128),
            path = changed(&watched) => eprintln!(
                "{} changed: releasing the lease and exiting, so that the new credentials are used when it starts again",
                path.display()
            ),
        }
    };
    controller::run(members, home, options, listener, shutdown)
        .await
        .map_err(CliError::Failed)?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves when one of `files` reads differently from when it was first read (kubelet
/// swaps a mounted Secret's files when the Secret changes); never when `files` is empty.
/// Only a hash of each is kept: they hold credentials.
async fn changed(files: &[PathBuf]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let digest = |path: &PathBuf| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(path).ok().hash(&mut hasher);
        hasher.finish()
    };
    let first: Vec<u64> = files.iter().map(digest).collect();
    if files.is_empty() {
        std::future::pending::<()>().await;
    }
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(path) = files.iter().zip(&first).find(|(p, d)| digest(p) != **d) {
            return path.0.clone();
        }
    }
}

fn generate(args: &ControllerArgs, plan: &Plan) -> Result<ExitCode, CliError> {
    let format = args.output.unwrap_or(OutputFormat::Yaml);
    if args.member_rbac {
        let links = match plan.peering {
            true => manifests::MemberLinks::Peering {
                namespace: args.namespace.clone(),
            },
            false => manifests::MemberLinks::RemoteSecrets,
        };
        output::print(&output::objects(
            &manifests::member_objects(&links, &member_names(plan), args.prune),
            format,
        )?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(image) = &args.image else {
        return Err(InputError::new(
            "--generate needs --image: the container image that holds the kubectl-mesh binary",
        )
        .with_hint("e.g. --image registry.example/kubectl-mesh:0.1.0 (build it from the release archive)")
        .into());
    };
    let spec = manifests::ControllerSpec {
        namespace: args.controller_namespace.clone(),
        image: image.clone(),
        members: member_names(plan),
        topology: match &args.file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| InputError::new(format!("cannot read {}: {e}", file.display())))?,
            ),
            None => None,
        },
        args: passthrough_args(args),
        lease_name: args.lease_name.clone(),
    };
    let objects = manifests::objects(&spec);
    output::print(&output::objects(&objects, format)?);
    Ok(ExitCode::SUCCESS)
}

fn member_names(plan: &Plan) -> Vec<String> {
    plan.refs.iter().map(|r| r.name.clone()).collect()
}

/// The flags the Deployment passes on (members come from the mounted files).
fn passthrough_args(args: &ControllerArgs) -> Vec<String> {
    let mut out = Vec::new();
    if args.file.is_none() {
        out.push(format!("--contexts={}", args.clusters.contexts.join(",")));
        out.push(format!("--flavor={}", args.flavor));
        if let Some(mode) = &args.mode {
            out.push(format!("--mode={mode}"));
        }
    }
    out.push(format!("--namespace={}", args.namespace));
    if args.file.is_none() {
        if let Ok(topology) = args.links.topology() {
            out.extend(topology.flags().split_whitespace().map(str::to_string));
        }
    }
    out.push(format!("--gateway={}", args.gateway));
    if let Some(duration) = args.token_duration {
        out.push(format!("--token-duration={}s", duration.as_secs()));
    }
    out.push(format!(
        "--token-refresh-before={}s",
        args.token_refresh_before.as_secs()
    ));
    out.push(format!("--cert-warning={}s", args.cert_warning.as_secs()));
    out.push(format!("--resync={}s", args.resync.as_secs()));
    if args.prune {
        out.push("--prune".into());
    }
    out.push(format!("--lease-name={}", args.lease_name));
    out.push(format!("--lease-duration={}s", args.lease_duration.as_secs()));
    // Without them the pod keeps the Lease in its own cluster, in its own namespace.
    if let Some(context) = &args.lease_context {
        out.push(format!("--lease-context={context}"));
    }
    if let Some(namespace) = &args.lease_namespace {
        out.push(format!("--lease-namespace={namespace}"));
    }
    out.push(format!("--timeout={}ms", args.clusters.timeout.as_millis()));
    out.push(format!("--parallel={}", args.clusters.parallel));
    out
}
