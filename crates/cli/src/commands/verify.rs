//! `kubectl mesh verify`: is the mesh consistent across every cluster? (issue 6)

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use std::time::Duration;

use kubectl_mesh_core::kube::api::RetryPolicy;
use kubectl_mesh_core::kube::clusters::{self, ClusterRef, ConnectOptions};
use kubectl_mesh_core::kube::kubeconfig::LoadedKubeconfig;
use kubectl_mesh_core::kube::validation as names;
use kubectl_mesh_core::report::NoProgress;
use kubectl_mesh_core::resources::eastwest::{EastWest, Flavor};
use kubectl_mesh_core::resources::probe;
use kubectl_mesh_core::topology::{Model, Topology};
use kubectl_mesh_core::verify::traffic::TrafficOptions;
use kubectl_mesh_core::verify::{self, Check, ExpectedLinks, LinkMode, Status, VerifyOptions};
use kubectl_mesh_core::InputError;
use serde_json::json;

use crate::args::{parse_duration, ClusterArgs, LinkTopologyArgs, OutputFormat, CONTEXT, CONTEXT_LIST};
use crate::exit::{interruption, CliError, INTERRUPTED};
use crate::output;
use crate::progress::{init_logging, StderrProgress};

/// `verify`'s exit code when `--strict` and the only problems are warnings.
pub const WARNINGS_ONLY: u8 = 3;

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Checks, each with a stable id (see docs/verify.md):
  per cluster  api, istiod, cluster-name, network, trust-domain, cacerts, cacerts-expiry,
               eastwest, skip-validate-trust-domain; primary-remote: istiod-exposed and
               external-istiod (primary), control-plane instead of istiod (remotes)
  mesh-wide    shared-root, mesh-id
  per pair     link (present, current, one-way), link-credentials (--check-credentials)
  services     global-service (--services)
  traffic      traffic per cluster and per pair, traffic-cleanup (--traffic)

Examples:
  kubectl mesh verify --contexts east-1,east-2,west-1
  kubectl mesh verify --contexts hub-1,east-1,west-1 --hub hub-1   # only the links of hub-and-spoke
  kubectl mesh verify -f mesh.yaml                                 # the clusters and links of a topology file
  kubectl mesh verify --primary east-1 --remotes west-1,west-2     # primary-remote (sidecar)
  kubectl mesh verify --contexts east-1,west-1 --mode remote-secret -o json
  kubectl mesh verify --contexts east-1,west-1 --strict     # warnings fail too (exit 3)
  kubectl mesh verify --contexts east-1,east-2,west-1 --traffic   # prove calls cross clusters

--traffic deploys an echo server (Deployment and global Service mesh-probe) in a new namespace
kubectl-mesh-probe-<random> of every cluster, then a Job per cluster that calls it and reports
which clusters answered. The namespaces are deleted afterwards, also on failure or Ctrl-C.

With a topology (--hub, --pairs, --group, --primary/--remotes, or -f with a links: section or
model: primary-remote) only the links it wants are checked; a link it does not want is a
warning, and its absence is no check at all. Primary-remote wants a remote secret in the
primary for each remote, and none in the remotes.")]
pub struct VerifyArgs {
    /// Which links to expect [default: peering for flavour ambient-peering, else remote-secret]
    #[arg(long, value_name = "MODE", value_parser = ["peering", "remote-secret"])]
    pub mode: Option<String>,

    /// Mesh flavour (chooses the default --mode and east-west gateway) [default: ambient-peering; sidecar with --primary]
    #[arg(long, value_name = "FLAVOR", value_parser = Flavor::NAMES)]
    pub flavor: Option<String>,

    /// Primary-remote: the cluster running the control plane; checks what that model needs
    /// (remote secrets in the primary only, istiod exposed, remotes annotated) instead of a full mesh
    #[arg(long, value_name = CONTEXT, requires = "remotes",
          conflicts_with_all = ["context", "contexts", "topology", "hubs", "pairs", "groups"])]
    pub primary: Option<String>,

    /// Primary-remote: the clusters whose control plane is --primary
    #[arg(long, value_delimiter = ',', value_name = CONTEXT_LIST, requires = "primary")]
    pub remotes: Vec<String>,

    /// Namespace of the east-west gateway [default: istio-gateways for ambient-peering, else istio-system]
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Name of the east-west gateway [default: istio-eastwest for ambient-peering, else istio-eastwestgateway]
    #[arg(long, value_name = "NAME")]
    pub gateway: Option<String>,

    /// Warn when an intermediate CA expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_warn_days: i64,

    /// Treat warnings as failures (exit 3 when there are only warnings)
    #[arg(long)]
    pub strict: bool,

    /// Also check global services: hosts, contributing clusters, traffic distribution, namesakes
    #[arg(long)]
    pub services: bool,

    /// Remote-secret mode: log in to every target with its remote secret's token
    #[arg(long)]
    pub check_credentials: bool,

    /// Prove traffic end to end: probe server and client Job in a temporary namespace per cluster
    #[arg(long)]
    pub traffic: bool,

    /// Calls each probe client makes [default: 10 × the number of clusters, at least 20]
    #[arg(long, value_name = "N", requires = "traffic", value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub probe_requests: Option<u32>,

    /// Image of the probe server (an http-echo: `-listen`, `-text` arguments)
    #[arg(long, value_name = "IMAGE", requires = "traffic", default_value = probe::DEFAULT_SERVER_IMAGE)]
    pub probe_image: String,

    /// Image of the probe client (needs sh and curl)
    #[arg(long, value_name = "IMAGE", requires = "traffic", default_value = probe::DEFAULT_CLIENT_IMAGE)]
    pub probe_client_image: String,

    /// How long to wait for the probe servers to be ready, and again for the clients to finish
    #[arg(long, value_name = "DURATION", requires = "traffic", default_value = "3m", value_parser = parse_positive_duration)]
    pub traffic_timeout: Duration,

    /// Leave the probe namespaces in place (to look into a failure); the report says how to remove them
    #[arg(long, requires = "traffic")]
    pub keep_probe: bool,

    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,

    /// Verify the mesh of a topology file (as up -f): its clusters, flavour and links
    #[arg(short = 'f', long = "filename", value_name = "FILE",
          conflicts_with_all = ["context", "contexts", "mode", "flavor", "topology", "hubs", "pairs", "groups", "primary", "remotes"])]
    pub file: Option<PathBuf>,

    #[command(flatten)]
    pub links: LinkTopologyArgs,

    #[command(flatten)]
    pub clusters: ClusterArgs,
}

impl VerifyArgs {
    fn traffic(&self, flavor: Flavor) -> Option<TrafficOptions> {
        self.traffic.then(|| TrafficOptions {
            flavor,
            requests: self.probe_requests,
            server_image: self.probe_image.clone(),
            client_image: self.probe_client_image.clone(),
            wait: self.traffic_timeout,
            keep: self.keep_probe,
            parallel: usize::from(self.clusters.parallel),
            expected: None,
        })
    }

    fn options(&self, file: Option<&Topology>) -> Result<VerifyOptions, InputError> {
        let flavor: Flavor = match (file, &self.flavor) {
            (Some(topology), _) => topology.flavor,
            (None, Some(flavor)) => flavor.parse()?,
            // Primary-remote is a sidecar model (upstream ambient multicluster is multi-primary).
            (None, None) if self.primary.is_some() => Flavor::Sidecar,
            (None, None) => Flavor::AmbientPeering,
        };
        // The flavour's east-west gateway, unless named explicitly.
        let gateway = EastWest {
            flavor,
            name: self.gateway.clone(),
            namespace: self.namespace.clone(),
            ..Default::default()
        };
        names::check_label("namespace (-n/--namespace)", gateway.namespace())?;
        names::check_label("gateway name (--gateway)", gateway.name())?;
        let mode = match (file, self.mode.as_deref(), flavor) {
            (Some(topology), _, _) if topology.uses_peering() => LinkMode::Peering,
            (Some(_), _, _) => LinkMode::RemoteSecret,
            (None, Some("peering"), _) | (None, None, Flavor::AmbientPeering) => LinkMode::Peering,
            _ => LinkMode::RemoteSecret,
        };
        if self.primary.is_some() && (flavor != Flavor::Sidecar || mode != LinkMode::RemoteSecret) {
            return Err(InputError::new(format!(
                "--primary: primary-remote needs flavour sidecar with remote-secret links, not --flavor {flavor}{}",
                if mode == LinkMode::Peering { " --mode peering" } else { "" }
            ))
            .with_hint("drop --flavor/--mode (sidecar is the default with --primary); upstream ambient multicluster is multi-primary only"));
        }
        if self.check_credentials && mode != LinkMode::RemoteSecret {
            return Err(
                InputError::new("--check-credentials applies to remote-secret links")
                    .with_hint("add --mode remote-secret (or --flavor ambient / sidecar)"),
            );
        }
        Ok(VerifyOptions {
            mode,
            flavor,
            gateway_namespace: gateway.namespace().to_string(),
            gateway_name: gateway.name().to_string(),
            expiry_warn_days: self.expiry_warn_days,
            parallel: usize::from(self.clusters.parallel),
            services: self.services,
            check_credentials: self.check_credentials,
            timeout: self.clusters.timeout,
            expected_links: None,
            primary: None,
        })
    }

    /// The clusters to verify and the links expected among them: from the file, or from
    /// `--context(s)` and the topology flags. Nothing is sent yet.
    fn select(
        &self,
        kubeconfig: &LoadedKubeconfig,
        file: Option<&Topology>,
    ) -> Result<(Vec<ClusterRef>, Option<ExpectedLinks>), InputError> {
        if let Some(primary) = &self.primary {
            let mut entries = vec![primary.clone()];
            entries.extend(self.remotes.iter().cloned());
            let refs =
                clusters::parse_refs(&entries).map_err(|e| match e.message.contains("listed twice") {
                    true => InputError::new("--primary and --remotes name the same cluster twice")
                        .with_hint("a primary is not its own remote; list each remote once"),
                    false => e,
                })?;
            if refs.len() < 2 {
                return Err(InputError::new("--remotes needs at least one cluster")
                    .with_hint("e.g. kubectl mesh verify --primary east-1 --remotes west-1,west-2"));
            }
            check_contexts(kubeconfig, &refs)?;
            let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
            let expected = ExpectedLinks::primary_remote(&names, names[0]);
            return Ok((refs, Some(expected)));
        }
        let Some(topology) = file else {
            let refs = self.clusters.select(kubeconfig)?;
            if !self.links.given() {
                return Ok((refs, None));
            }
            let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
            let (links, pairs) = self.links.pairs(&names)?;
            // Bare --contexts says nothing of what is wanted (link --from --to may have made one
            // direction on purpose); a topology, the full mesh given as one included, does.
            let given = links.shape.is_some() || !links.is_full_mesh();
            let expected = given.then(|| ExpectedLinks::new(links.shape(), &names, &pairs));
            return Ok((refs, expected));
        };
        let refs: Vec<ClusterRef> = topology.cluster_refs();
        if let Some(error) = topology.missing_context(kubeconfig) {
            return Err(error);
        }
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        let expected = file_links(topology, &names);
        Ok((refs, expected))
    }
}

/// Every context is in the kubeconfig.
fn check_contexts(kubeconfig: &LoadedKubeconfig, refs: &[ClusterRef]) -> Result<(), InputError> {
    match refs.iter().find(|r| !kubeconfig.has_context(&r.context)) {
        None => Ok(()),
        Some(unknown) => Err(kubeconfig.unknown_context(&unknown.context)),
    }
}

/// The primary of a primary-remote mesh: `--primary`, or the file's `primary:`.
fn primary_of(args: &VerifyArgs, refs: &[ClusterRef], file: Option<&Topology>) -> Option<String> {
    match file {
        Some(topology) if topology.model == Model::PrimaryRemote => topology.primary.clone(),
        Some(_) => None,
        None => args.primary.as_ref().and(refs.first()).map(|r| r.name.clone()),
    }
}

/// The links a topology file expects: the primary's to each remote (primary-remote), else its
/// `links:` unless that is the full mesh.
fn file_links(topology: &Topology, names: &[&str]) -> Option<ExpectedLinks> {
    match (topology.model, &topology.primary) {
        (Model::PrimaryRemote, Some(primary)) => Some(ExpectedLinks::primary_remote(names, primary)),
        _ => Some(ExpectedLinks::new(
            topology.links.shape(),
            names,
            &topology.link_pairs,
        )),
    }
}

/// Which clients hear which clusters under `--traffic`: the topology's links (a client hears
/// its own cluster and those it links to). Primary-remote is refused: there the remotes' proxies
/// take the primary's view of every cluster, which the links (the primary's remote secrets)
/// do not describe.
fn traffic_expectation(expected: Option<&ExpectedLinks>) -> Result<Option<ExpectedLinks>, InputError> {
    match expected {
        Some(e) if e.is_primary_remote() => Err(InputError::new(
            "--traffic does not check a primary-remote mesh: the remotes reach every cluster through the primary, which its links do not describe",
        )
        .with_hint("verify the primary-remote links without --traffic, or --traffic over the primaries of a multi-primary mesh")),
        other => Ok(other.cloned()),
    }
}

pub async fn run(args: VerifyArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose);
    let file = args.file.as_deref().map(Topology::load).transpose()?;
    let mut options = args.options(file.as_ref())?;
    let mut traffic = args.traffic(options.flavor);
    let kubeconfig = args.clusters.load_kubeconfig()?;
    let (refs, expected) = args.select(&kubeconfig, file.as_ref())?;
    if let Some(traffic) = &mut traffic {
        traffic.expected = traffic_expectation(expected.as_ref())?;
    }
    options.expected_links = expected;
    options.primary = primary_of(&args, &refs, file.as_ref());
    let connect = ConnectOptions {
        timeout: args.clusters.timeout,
        retry: RetryPolicy::default(),
    };
    let clusters = clusters::connect(&kubeconfig, &refs, connect).await?;
    let facts = verify::collect_all(&clusters, &options, &NoProgress).await;
    let mut checks = verify::check_all(&facts, &options).await;
    let mut interrupted: Option<u8> = None;
    if let Some(traffic) = &traffic {
        let signal = std::sync::OnceLock::new();
        let interrupt = async {
            let code = interruption().await;
            let _ = signal.set(code);
        };
        let report = verify::traffic::run(
            &clusters,
            &facts,
            &checks,
            traffic,
            &StderrProgress::new(),
            interrupt,
        )
        .await;
        checks.extend(report.checks);
        interrupted = report
            .interrupted
            .then(|| signal.get().copied().unwrap_or(INTERRUPTED));
    }
    // A fleet's facts are thousands of decoded objects, and freeing them one by one took
    // longer than printing the report (0.1s of 100 clusters'). The process ends after the
    // report, so they are freed on a thread of their own meanwhile.
    std::thread::spawn(move || drop(facts));
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    let overall = verify::overall(&checks);
    let text = match args.output {
        OutputFormat::Table => human(
            &checks,
            &names,
            options.expected_links.as_ref(),
            crate::progress::stdout_colour(),
        ),
        format => output::structured(&document(&checks, overall, &options), format)?,
    };
    output::print(&text);
    if let Some(code) = interrupted {
        return Ok(ExitCode::from(code));
    }
    Ok(exit_code(overall, args.strict))
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("must be more than 0".to_string()),
        d => Ok(d),
    }
}

fn exit_code(overall: Status, strict: bool) -> ExitCode {
    match (overall, strict) {
        (Status::Fail, _) => ExitCode::from(crate::exit::FAILED),
        (Status::Warn, true) => ExitCode::from(WARNINGS_ONLY),
        _ => ExitCode::SUCCESS,
    }
}

/// The JSON/YAML report. Its shape is a contract (docs/verify.md, pinned by a test).
fn document(checks: &[Check], overall: Status, options: &VerifyOptions) -> serde_json::Value {
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let mut doc = output::report(
        "VerifyReport",
        json!({
            "status": overall,
            "mode": options.mode,
            "summary": {"pass": count(Status::Pass), "warn": count(Status::Warn), "fail": count(Status::Fail)},
            "checks": checks,
        }),
    );
    // Only with a topology: which one, and how many links it wants (pairs it does not want
    // and that are not linked have no check).
    if let (Some(expected), Some(fields)) = (&options.expected_links, doc.as_object_mut()) {
        fields.insert(
            "topology".into(),
            json!({"name": expected.topology, "expectedLinks": expected.pairs.len()}),
        );
    }
    doc
}

fn paint(status: Status, colour: bool) -> String {
    let code = match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "31",
    };
    if colour {
        format!("\x1b[{code}m{}\x1b[0m", status.symbol())
    } else {
        status.symbol().to_string()
    }
}

fn line(out: &mut String, check: &Check, label: &str, colour: bool) {
    out.push_str(&format!(
        "  {} {label:<28} {}\n",
        paint(check.status, colour),
        check.message
    ));
    if let Some(hint) = check.hint.as_ref().filter(|_| check.status != Status::Pass) {
        out.push_str(&format!("      fix: {hint}\n"));
    }
}

/// Grouped by cluster, then mesh-wide checks, then a link matrix (rows: source), where a
/// topology's unwanted pairs show as such.
fn human(checks: &[Check], names: &[String], expected: Option<&ExpectedLinks>, colour: bool) -> String {
    let mut out = String::new();
    for name in names {
        out.push_str(&format!("cluster {name}\n"));
        for check in checks
            .iter()
            .filter(|c| c.cluster.as_deref() == Some(name.as_str()))
        {
            line(&mut out, check, check.id, colour);
        }
    }
    let mesh: Vec<&Check> = checks
        .iter()
        .filter(|c| c.cluster.is_none() && c.from.is_none())
        .collect();
    if !mesh.is_empty() {
        out.push_str("mesh\n");
        for check in mesh {
            line(&mut out, check, check.id, colour);
        }
    }
    let services: Vec<&Check> = checks.iter().filter(|c| c.service.is_some()).collect();
    if !services.is_empty() {
        out.push_str("global services\n");
        for check in services {
            line(
                &mut out,
                check,
                check.service.as_deref().unwrap_or(check.id),
                colour,
            );
        }
    }
    let (traffic, links): (Vec<&Check>, Vec<&Check>) = checks
        .iter()
        .filter(|c| c.from.is_some())
        .partition(|c| c.answered.is_some());
    // One meaning for '-' in both matrices: no check was made for that pair.
    let title = match expected {
        None => "links (row: from, column: to; ·: itself, -: not checked)".to_string(),
        Some(e) => format!(
            "links of the {} topology (row: from, column: to; ·: itself, ○: not linked, as the topology wants, -: not checked)",
            e.topology
        ),
    };
    pair_section(&mut out, &title, &links, names, expected, colour);
    pair_section(
        &mut out,
        "traffic (row: client, column: answering cluster, calls answered; -: not checked, the cluster was not probed)",
        &traffic,
        names,
        None,
        colour,
    );
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    let warnings = match count(Status::Warn) {
        1 => "1 warning".to_string(),
        n => format!("{n} warnings"),
    };
    out.push_str(&format!(
        "{} passed, {warnings}, {} failed\n",
        count(Status::Pass),
        count(Status::Fail)
    ));
    out
}

/// A matrix of pair checks, then a line for every pair that did not pass.
fn pair_section(
    out: &mut String,
    title: &str,
    pairs: &[&Check],
    names: &[String],
    expected: Option<&ExpectedLinks>,
    colour: bool,
) {
    if pairs.is_empty() {
        return;
    }
    out.push_str(title);
    out.push('\n');
    out.push_str(&matrix(pairs, names, expected, colour));
    for check in pairs.iter().filter(|c| c.status != Status::Pass) {
        let label = format!(
            "{} -> {}",
            check.from.as_deref().unwrap_or(""),
            check.to.as_deref().unwrap_or("")
        );
        line(out, check, &label, colour);
    }
}

/// Cells: the status, and for traffic how many requests the column's cluster answered.
fn matrix(links: &[&Check], names: &[String], expected: Option<&ExpectedLinks>, colour: bool) -> String {
    // Keyed once by pair: a fleet of 100 has 10 000 cells and 9900 pair checks. The first
    // check of a pair wins, as a search of the list would find it.
    let mut by_pair: HashMap<(&str, &str), &Check> = HashMap::new();
    for check in links {
        if let (Some(from), Some(to)) = (check.from.as_deref(), check.to.as_deref()) {
            by_pair.entry((from, to)).or_insert(check);
        }
    }
    let mut rows = Vec::new();
    for from in names {
        let mut row = vec![from.clone()];
        for to in names {
            let cell = match by_pair.get(&(from.as_str(), to.as_str())) {
                Some(c) => match c.answered {
                    Some(n) => format!("{} {n}", paint(c.status, colour)),
                    None => paint(c.status, colour),
                },
                None if from == to => "·".to_string(),
                None if expected.is_some_and(|e| !e.wants(from, to)) => "○".to_string(),
                None => "-".to_string(),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    let mut headers = vec![""];
    headers.extend(names.iter().map(String::as_str));
    output::table(&headers, rows)
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_follows_link_topologies_and_refuses_primary_remote() {
        let pairs = [kubectl_mesh_core::link::Pair { from: 0, to: 1 }];
        let hub = ExpectedLinks::new("hub-and-spoke", &["a", "b"], &pairs);
        let followed = traffic_expectation(Some(&hub)).unwrap();
        assert_eq!(followed.map(|e| e.pairs), Some(hub.pairs));
        assert!(traffic_expectation(None).unwrap().is_none());
        let primary_remote = ExpectedLinks::primary_remote(&["a", "b"], "a");
        let refused = traffic_expectation(Some(&primary_remote)).unwrap_err();
        assert!(refused.to_string().contains("primary-remote"), "{refused}");
    }

    fn c(id: &'static str, cluster: Option<&str>, pair: Option<(&str, &str)>, status: Status) -> Check {
        Check {
            id,
            cluster: cluster.map(str::to_string),
            from: pair.map(|p| p.0.to_string()),
            to: pair.map(|p| p.1.to_string()),
            service: None,
            status,
            message: format!("{id} message"),
            hint: Some("do this".into()),
            answered: None,
            sent: None,
            namespace: None,
        }
    }

    #[test]
    fn human_report_groups_and_draws_the_matrix() {
        let checks = vec![
            c("api", Some("a"), None, Status::Pass),
            c("api", Some("b"), None, Status::Fail),
            c("shared-root", None, None, Status::Pass),
            c("link", None, Some(("a", "b")), Status::Pass),
            c("link", None, Some(("b", "a")), Status::Warn),
        ];
        let text = human(&checks, &["a".into(), "b".into()], None, false);
        assert!(text.contains("cluster a\n  ✔ api"), "{text}");
        assert!(text.contains("cluster b\n  ✘ api"), "{text}");
        assert!(text.contains("      fix: do this"), "{text}");
        assert!(text.contains("mesh\n  ✔ shared-root"), "{text}");
        assert!(text.contains("  a   ·   ✔"), "{text}");
        assert!(text.contains("  b   ⚠   ·"), "{text}");
        assert!(text.contains("⚠ b -> a"), "{text}");
        assert!(text.ends_with("3 passed, 1 warning, 1 failed\n"), "{text}");
    }

    #[test]
    fn traffic_gets_its_own_matrix_with_counts() {
        let mut ab = c("traffic", None, Some(("a", "b")), Status::Pass);
        ab.answered = Some(7);
        let mut ba = c("traffic", None, Some(("b", "a")), Status::Fail);
        ba.answered = Some(0);
        let text = human(&[ab, ba], &["a".into(), "b".into()], None, false);
        assert!(!text.contains("links ("), "{text}");
        assert!(
            text.contains("traffic (row: client, column: answering cluster"),
            "{text}"
        );
        assert!(text.contains("  a   ·     ✔ 7"), "{text}");
        assert!(text.contains("  b   ✘ 0   ·"), "{text}");
        assert!(text.contains("✘ b -> a"), "{text}");
    }

    #[test]
    fn a_pair_without_a_check_is_a_dash_in_both_matrices() {
        // c was not probed: no traffic checks from or to it.
        let mut ab = c("traffic", None, Some(("a", "b")), Status::Pass);
        ab.answered = Some(3);
        let names = ["a".into(), "b".into(), "c".into()];
        let text = human(&[ab], &names, None, false);
        assert!(text.contains("  a   ·   ✔ 3   -"), "{text}");
        let text = human(
            &[c("link", None, Some(("a", "b")), Status::Pass)],
            &names,
            None,
            false,
        );
        assert!(text.contains("  a   ·   ✔   -"), "{text}");
    }

    #[test]
    fn a_topology_marks_the_pairs_it_does_not_want() {
        // Hub a: b and c are spokes; b -> c is linked all the same (a warning).
        let pairs = ["a->b", "a->c", "b->a", "c->a"].map(|p| {
            let (from, to) = p.split_once("->").unwrap();
            (from.to_string(), to.to_string())
        });
        let expected = ExpectedLinks {
            topology: "hub-and-spoke".into(),
            pairs: pairs.into_iter().collect(),
        };
        let checks = vec![
            c("link", None, Some(("a", "b")), Status::Pass),
            c("link", None, Some(("b", "c")), Status::Warn),
        ];
        let names = ["a".into(), "b".into(), "c".into()];
        let text = human(&checks, &names, Some(&expected), false);
        assert!(text.contains("links of the hub-and-spoke topology (row: from, column: to; ·: itself, ○: not linked, as the topology wants, -: not checked)"), "{text}");
        assert!(text.contains("  a   ·   ✔   -"), "{text}");
        assert!(text.contains("  b   -   ·   ⚠"), "{text}");
        assert!(text.contains("  c   -   ○   ·"), "{text}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(Status::Pass, true), ExitCode::SUCCESS);
        assert_eq!(exit_code(Status::Warn, false), ExitCode::SUCCESS);
        assert_eq!(exit_code(Status::Warn, true), ExitCode::from(3));
        assert_eq!(exit_code(Status::Fail, true), ExitCode::from(1));
    }
}
