//! Flags every command shares (DESIGN §3), following kubectl's names and meanings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kubectl_mesh_core::kube::api::RetryPolicy;
use kubectl_mesh_core::kube::apply::{DryRun, WriteOptions};
use kubectl_mesh_core::kube::clusters::{self, Cluster, ClusterRef, ConnectOptions};
use kubectl_mesh_core::kube::kubeconfig::LoadedKubeconfig;
use kubectl_mesh_core::link::topology::{Field, Group, LinkTopology, Shape};
use kubectl_mesh_core::link::Pair;
use kubectl_mesh_core::InputError;

/// How help shows a cluster named on the command line, and a list of them.
pub const CONTEXT: &str = "[NAME=]CONTEXT";
pub const CONTEXT_LIST: &str = "[NAME=]CONTEXT,...";

/// Every duration flag (timeouts, waits, token lifetimes) is a positive span of time: `0`
/// would time out before the first request, and a negative one means nothing.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!(
            "{text:?} is negative: give a positive duration such as 30s or 5m"
        ));
    }
    match kubectl_mesh_core::duration::parse(text)? {
        d if d.is_zero() => Err(format!(
            "{text:?} is zero: give a positive duration such as 30s or 5m"
        )),
        d => Ok(d),
    }
}

// Which clusters, and how to talk to them. (A plain comment: a doc comment here would
// become the about text of every command that flattens these flags.)
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file [default: $KUBECONFIG (a ':'-separated list, merged), else ~/.kube/config]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context of the one cluster to use [default: the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Several clusters, as contexts; `name=context` names a cluster differently from its context
    #[arg(long, value_delimiter = ',', value_name = CONTEXT_LIST)]
    pub contexts: Vec<String>,

    /// Timeout of each API call
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// How many clusters to work on at once
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,

    /// Log what is done to stderr (-v info, -vv debug, -vvv trace)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl ClusterArgs {
    pub fn load_kubeconfig(&self) -> Result<LoadedKubeconfig, InputError> {
        crate::hints::remember_kubeconfig(self.kubeconfig.as_deref());
        LoadedKubeconfig::load(self.kubeconfig.as_deref())
    }

    /// The clusters selected by `--context`/`--contexts`, checked against the kubeconfig.
    pub fn select(&self, kubeconfig: &LoadedKubeconfig) -> Result<Vec<ClusterRef>, InputError> {
        clusters::select(kubeconfig, self.context.as_deref(), &self.contexts)
    }

    /// Loads the kubeconfig, selects and connects the clusters.
    pub async fn connect(&self) -> Result<Vec<Cluster>, InputError> {
        let kubeconfig = self.load_kubeconfig()?;
        let refs = self.select(&kubeconfig)?;
        let options = ConnectOptions {
            timeout: self.timeout,
            retry: RetryPolicy::default(),
        };
        clusters::connect(&kubeconfig, &refs, options).await
    }
}

// How to write.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Only show what would change: "client" sends no writes, "server" sends them with dryRun=All
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true,
          default_value = "none", default_missing_value = "client")]
    pub dry_run: DryRunArg,

    /// Field manager name for server-side apply
    #[arg(long, value_name = "NAME", default_value = kubectl_mesh_core::labels::DEFAULT_FIELD_MANAGER)]
    pub field_manager: String,

    /// Take over fields that another field manager owns (server-side apply conflicts)
    #[arg(long)]
    pub force_conflicts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    None,
    Client,
    Server,
}

impl WriteArgs {
    pub fn options(&self) -> Result<WriteOptions, InputError> {
        if self.field_manager.trim().is_empty() || self.field_manager.len() > 128 {
            return Err(InputError::new("--field-manager must be 1 to 128 characters")
                .with_hint("omit it to use the default, kubectl-mesh"));
        }
        let dry_run = match self.dry_run {
            DryRunArg::None => DryRun::None,
            DryRunArg::Client => DryRun::Client,
            DryRunArg::Server => DryRun::Server,
        };
        Ok(WriteOptions {
            field_manager: self.field_manager.clone(),
            dry_run,
            force_conflicts: self.force_conflicts,
            mesh_id: None,
        })
    }
}

/// `-o`: reports as a table (default) or machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Yaml,
    Json,
}

// Which clusters link with which (issue 14, fleets), for link and verify: a full mesh unless
// said otherwise. (A plain comment, as for ClusterArgs.)
#[derive(Debug, Clone, Default, Args)]
pub struct LinkTopologyArgs {
    /// Which clusters link with which [default: hub-and-spoke with --hub, groups with --group, pairs with --pairs, else full-mesh]
    #[arg(long, value_name = "TOPOLOGY", value_parser = Shape::NAMES)]
    pub topology: Option<String>,

    /// Hub-and-spoke: a hub cluster, linked both ways with every other; spokes link only with hubs (repeatable)
    #[arg(long = "hub", value_name = "CLUSTER,...", value_delimiter = ',')]
    pub hubs: Vec<String>,

    /// Links both ways between A and B; with --group, A and B may be groups: every member of one with every member of the other
    #[arg(long, value_name = "A:B,...", value_delimiter = ',')]
    pub pairs: Vec<String>,

    /// Groups: a group of clusters linked in a full mesh; groups link through --pairs (repeatable)
    #[arg(long = "group", value_name = "NAME=CLUSTER,...")]
    pub groups: Vec<String>,
}

impl LinkTopologyArgs {
    /// Whether any of these flags was given.
    pub fn given(&self) -> bool {
        self.topology.is_some() || !self.hubs.is_empty() || !self.pairs.is_empty() || !self.groups.is_empty()
    }

    /// The topology the flags describe (not yet checked against the clusters).
    pub fn topology(&self) -> Result<LinkTopology, InputError> {
        let shape = match &self.topology {
            Some(name) => Some(name.parse::<Shape>().map_err(InputError::new)?),
            None => None,
        };
        let groups = self
            .groups
            .iter()
            .map(|g| {
                g.parse::<Group>().map_err(|e| {
                    InputError::new(format!("--group {g}: {e}")).with_hint(
                        "give one group per --group, e.g. --group east=east-1,east-2 --group west=west-1",
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(LinkTopology {
            shape,
            hubs: self.hubs.iter().map(|h| h.trim().to_string()).collect(),
            pairs: self.pairs.clone(),
            groups,
        })
    }

    /// The directed pairs among the clusters `names`; errors name the flag at fault.
    pub fn pairs(&self, names: &[&str]) -> Result<(LinkTopology, Vec<Pair>), InputError> {
        let topology = self.topology()?;
        match topology.pairs(names) {
            Ok(pairs) => Ok((topology, pairs)),
            Err(e) => {
                let place = self.place(&e.field, &topology);
                Err(e.at(&place))
            }
        }
    }

    /// The flag (and value) a topology error is about.
    fn place(&self, field: &Field, topology: &LinkTopology) -> String {
        let value = |values: &[String], i: usize| values.get(i).cloned().unwrap_or_default();
        match field {
            Field::Shape => format!("--topology {}", topology.shape()),
            Field::Hubs => "--hub".into(),
            Field::Pairs => "--pairs".into(),
            Field::Groups => "--group".into(),
            Field::Hub(i) => format!("--hub {}", value(&self.hubs, *i)),
            Field::Pair(i) => format!("--pairs {}", value(&self.pairs, *i)),
            Field::Group(i) | Field::Member(i, _) => format!("--group {}", value(&self.groups, *i)),
        }
    }
}
