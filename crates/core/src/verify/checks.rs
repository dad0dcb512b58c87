//! Every check, computed from the facts of all clusters. Pure: no I/O here.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde_json::Value;

use super::facts::{ClusterFacts, Read};
use super::{Check, LinkMode, Status, VerifyOptions};
use crate::expose::address_of;
use crate::kube::apply::is_subset;
use crate::labels::{CLUSTER, GATEWAY_SERVICE_ACCOUNT, GATEWAY_TRUST_DOMAIN, NETWORK};
use crate::link::peering::trust_domain_of;
use crate::resources::peering::{self, Target};
use crate::resources::{cacerts, remote_secret};

const DEFAULT_TRUST_DOMAIN: &str = "cluster.local";

pub(super) fn check(id: &'static str, cluster: &str, status: Status, message: impl Into<String>) -> Check {
    Check {
        cluster: Some(cluster.to_string()),
        ..global(id, status, message)
    }
}

pub(super) fn global(id: &'static str, status: Status, message: impl Into<String>) -> Check {
    Check {
        id,
        cluster: None,
        from: None,
        to: None,
        service: None,
        status,
        message: message.into(),
        hint: None,
        answered: None,
        sent: None,
        namespace: None,
    }
}

pub(super) fn pair(
    id: &'static str,
    from: &str,
    to: &str,
    status: Status,
    message: impl Into<String>,
) -> Check {
    Check {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        ..global(id, status, message)
    }
}

impl Check {
    pub(super) fn hint(mut self, hint: impl Into<String>) -> Check {
        self.hint = Some(hint.into());
        self
    }
}

/// What we derive once per cluster and use in several checks.
struct Derived<'a> {
    facts: &'a ClusterFacts,
    cluster_id: String,
    network: Option<String>,
    trust_domain: String,
    mesh_id: Option<String>,
    eastwest: Option<&'a Value>,
    root_fingerprint: Option<String>,
    /// SHA-256 of the intermediate in cacerts: two clusters must never share one.
    intermediate_fingerprint: Option<String>,
    /// The link objects this cluster holds as a source (peer Gateways or remote secrets), by
    /// name: every pair looks its link up here, N² lookups in a fleet of N.
    links: HashMap<&'a str, &'a Value>,
    /// The peer Gateway `link` would write for this cluster as a target ([`expected_peer`]).
    expected_peer: OnceLock<Result<ExpectedPeer, String>>,
}

pub fn evaluate(all: &[ClusterFacts], options: &VerifyOptions) -> Vec<Check> {
    let derived: Vec<Derived> = on_all_cores(all, |facts| derive(facts, options));
    let per_cluster = on_all_cores(&derived, |d| cluster_checks(d, &derived, options));
    let mut checks: Vec<Check> = per_cluster.into_iter().flatten().collect();
    checks.extend(shared_root(&derived));
    checks.extend(shared_intermediates(&derived));
    checks.extend(mesh_id(&derived));
    let per_source = on_all_cores(&derived, |from| {
        let targets = derived.iter().filter(|t| t.facts.name != from.facts.name);
        targets
            .filter_map(|to| wanted_link_check(from, to, options))
            .collect::<Vec<_>>()
    });
    checks.extend(per_source.into_iter().flatten());
    checks
}

/// `items.iter().map(f)`, in order, with the items split among the machine's cores: a
/// fleet of 100 has 9 900 pairs to check, all of it CPU once the facts are in.
fn on_all_cores<'a, T: Sync, R: Send>(items: &'a [T], f: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

fn derive<'a>(facts: &'a ClusterFacts, options: &VerifyOptions) -> Derived<'a> {
    let mesh: Option<Value> = present(&facts.mesh_config)
        .and_then(|cm| cm.pointer("/data/mesh")?.as_str().map(str::to_string))
        .and_then(|text| serde_yaml_ng::from_str(&text).ok());
    let eastwest = facts.eastwest.as_ref().ok().and_then(Option::as_ref);
    Derived {
        facts,
        cluster_id: istiod_env(facts, "CLUSTER_ID").unwrap_or_else(|| facts.name.clone()),
        network: present(&facts.istio_system)
            .and_then(|ns| crate::labels::value(ns, NETWORK))
            .map(str::to_string),
        trust_domain: present(&facts.mesh_config)
            .and_then(trust_domain_of)
            .unwrap_or_else(|| DEFAULT_TRUST_DOMAIN.to_string()),
        mesh_id: mesh.as_ref().and_then(|m| {
            m.pointer("/defaultConfig/meshId")
                .or_else(|| m.get("meshId"))?
                .as_str()
                .map(str::to_string)
        }),
        eastwest,
        root_fingerprint: fingerprint(facts, cacerts::ROOT_CERT_KEY),
        intermediate_fingerprint: fingerprint(facts, cacerts::CA_CERT_KEY),
        links: links_by_name(facts, options),
        expected_peer: OnceLock::new(),
    }
}

/// The objects a source's links live in, by name; the first of a name wins, as a search of
/// the list would find it.
fn links_by_name<'a>(facts: &'a ClusterFacts, options: &VerifyOptions) -> HashMap<&'a str, &'a Value> {
    let items = match options.mode {
        LinkMode::Peering => facts.gateways.as_ref(),
        LinkMode::RemoteSecret => facts.remote_secrets.as_ref(),
    };
    let mut links = HashMap::new();
    for item in items.into_iter().flatten() {
        if let Some(name) = item.pointer("/metadata/name").and_then(Value::as_str) {
            links.entry(name).or_insert(item);
        }
    }
    links
}

fn fingerprint(facts: &ClusterFacts, key: &str) -> Option<String> {
    present(&facts.cacerts)
        .and_then(|s| cacerts::entry(s, key))
        .and_then(|pem| mesh_trust::inspect(&pem).ok())
        .map(|info| info.sha256_fingerprint)
}

fn present(read: &Read) -> Option<&Value> {
    read.as_ref().ok().and_then(Option::as_ref)
}

/// An environment variable of istiod's container (how the install configured it).
fn istiod_env(facts: &ClusterFacts, name: &str) -> Option<String> {
    let containers = present(&facts.istiod)?
        .pointer("/spec/template/spec/containers")?
        .as_array()?;
    containers.iter().find_map(|c| {
        c.get("env")?.as_array()?.iter().find_map(|e| {
            (e.get("name")?.as_str()? == name).then(|| e.get("value")?.as_str().map(str::to_string))?
        })
    })
}

fn cluster_checks(d: &Derived, all: &[Derived], options: &VerifyOptions) -> Vec<Check> {
    let name = d.facts.name.as_str();
    let version = match &d.facts.version {
        Ok(version) => version,
        Err(e) => {
            return vec![
                check("api", name, Status::Fail, format!("unreachable: {e}")).hint(format!(
                    "kubectl --context {} get --raw /version",
                    d.facts.context
                )),
            ];
        }
    };
    let mut checks = vec![check(
        "api",
        name,
        Status::Pass,
        format!("reachable, Kubernetes {version}"),
    )];
    let remote = options.is_remote(name);
    // A remote runs no istiod of its own (istio.io primary-remote: the remote's istiod chart
    // is installed with `pilot.enabled=false`); its control plane is the primary's.
    match (&options.primary, remote) {
        (Some(primary), true) => checks.push(control_plane_check(d, primary)),
        (Some(_), false) => {
            checks.push(istiod_check(d));
            checks.extend(primary_checks(d, options));
        }
        (None, _) => checks.push(istiod_check(d)),
    }
    checks.push(cluster_name_check(d, all));
    checks.push(match &d.network {
        Some(network) => check("network", name, Status::Pass, format!("network {network}")),
        None => check(
            "network",
            name,
            Status::Fail,
            format!("namespace istio-system has no {NETWORK} label"),
        )
        .hint(format!(
            "kubectl --context {} label namespace istio-system {NETWORK}=NETWORK",
            d.facts.context
        )),
    });
    checks.push(check(
        "trust-domain",
        name,
        Status::Pass,
        format!("trust domain {}", d.trust_domain),
    ));
    checks.extend(cacerts_checks(d, options));
    checks.extend(eastwest_checks(d, options));
    checks.extend(other_links_check(d, all, options));
    if !remote {
        checks.extend(skip_validate_check(d, all));
    }
    checks
}

/// Our links of the other mode in a cluster: left by a change of flavour (ambient's remote
/// secrets after a move to ambient-peering, or peer Gateways after a move away), they keep the
/// cluster linked the old way as well. Only a warning: the links of this mode are checked on
/// their own.
fn other_links_check(d: &Derived, all: &[Derived], options: &VerifyOptions) -> Option<Check> {
    let found = &d.facts.other_links;
    if found.is_empty() {
        return None;
    }
    let (mode, other) = match options.mode {
        LinkMode::Peering => ("peering", "remote-secret"),
        LinkMode::RemoteSecret => ("remote-secret", "peering"),
    };
    let shown: Vec<&str> = found.iter().take(3).map(String::as_str).collect();
    let more = match found.len() - shown.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(
        check(
            "other-links",
            &d.facts.name,
            Status::Warn,
            format!(
                "{} of our {other} links left while the mesh links by {mode}: {}{more}",
                found.len(),
                shown.join(", ")
            ),
        )
        // Unlinking the other mode among the clusters verified deletes exactly those (ours)
        // and links nothing, whatever the topology; it runs as printed.
        .hint(format!(
            "kubectl mesh link --mode {other} --unlink --contexts {}",
            all.iter().map(ctx_ref).collect::<Vec<_>>().join(",")
        )),
    )
}

/// A remote of a primary-remote mesh: its istio-system names the primary in
/// `topology.istio.io/controlPlaneClusters`, without which the primary's istiod does not
/// manage it (webhook certificates, namespaces) — istio.io
/// `docs/setup/install/multicluster/primary-remote_multi-network`, "Set the control plane
/// cluster for cluster2".
fn control_plane_check(d: &Derived, primary: &str) -> Check {
    let name = &d.facts.name;
    let key = remote_secret::CONTROL_PLANE_CLUSTERS;
    let fix = format!(
        "kubectl mesh link --mode remote-secret --primary {primary} --remotes {}",
        ctx_ref(d)
    );
    let namespace = match &d.facts.istio_system {
        Err(e) => {
            return check(
                "control-plane",
                name,
                Status::Fail,
                format!("cannot read namespace istio-system: {e}"),
            )
        }
        Ok(None) => {
            return check(
                "control-plane",
                name,
                Status::Fail,
                format!("remote of {primary}: there is no namespace istio-system to carry {key}"),
            )
            .hint(fix)
        }
        Ok(Some(namespace)) => namespace,
    };
    let named = namespace
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str);
    match named {
        Some(list) if list.split(',').any(|c| c.trim() == primary) => check(
            "control-plane",
            name,
            Status::Pass,
            format!("remote of {primary}: istio-system's {key} names it"),
        ),
        Some(other) => check(
            "control-plane",
            name,
            Status::Fail,
            format!("remote of {primary}, but istio-system's {key} is {other:?}"),
        )
        .hint(fix),
        None => check(
            "control-plane",
            name,
            Status::Fail,
            format!("remote of {primary}, but istio-system has no {key} annotation: istiod in {primary} will not manage it"),
        )
        .hint(fix),
    }
}

/// The primary of a primary-remote mesh serves its remotes' proxies through its east-west
/// gateway (istio.io primary-remote_multi-network, "Expose the control plane in cluster1":
/// istio 1.30.3 samples/multicluster/expose-istiod.yaml, a Gateway `istiod-gateway` with
/// port 15012 and a VirtualService `istiod-vs` routing it to istiod), and its istiod runs as
/// an external control plane (`global.externalIstiod: true`, which sets `EXTERNAL_ISTIOD`).
fn primary_checks(d: &Derived, options: &VerifyOptions) -> Vec<Check> {
    use super::facts::{ISTIOD_GATEWAY, ISTIOD_VS};
    let name = &d.facts.name;
    let ns = &options.gateway_namespace;
    let fix = format!(
        "kubectl mesh expose --context {} --flavor sidecar --expose-istiod --wait",
        ctx_ref(d)
    );
    let port_in = |object: &Value, list: &str, ports: &str| {
        object
            .pointer(list)
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|item| match item.pointer(ports) {
                    Some(Value::Array(matches)) => matches
                        .iter()
                        .any(|m| m.get("port").and_then(Value::as_u64) == Some(15012)),
                    Some(port) => port.as_u64() == Some(15012),
                    None => false,
                })
            })
    };
    let problem = match (&d.facts.istiod_gateway, &d.facts.istiod_vs) {
        (Err(e), _) | (_, Err(e)) => Some(format!("cannot read how istiod is exposed: {e}")),
        (Ok(None), _) => Some(format!(
            "no Gateway {ns}/{ISTIOD_GATEWAY} (networking.istio.io): the remotes cannot reach istiod"
        )),
        (_, Ok(None)) => Some(format!(
            "no VirtualService {ns}/{ISTIOD_VS}: the remotes cannot reach istiod"
        )),
        (Ok(Some(gateway)), Ok(Some(vs))) => {
            if !port_in(gateway, "/spec/servers", "/port/number") {
                Some(format!(
                    "Gateway {ns}/{ISTIOD_GATEWAY} has no server on port 15012 (spec.servers[].port.number)"
                ))
            } else if !port_in(vs, "/spec/tls", "/match") {
                Some(format!(
                    "VirtualService {ns}/{ISTIOD_VS} routes no port 15012 to istiod (spec.tls[].match[].port)"
                ))
            } else {
                None
            }
        }
    };
    // Where the remotes' proxies connect: the east-west Service must carry 15012 too (its
    // absence is the eastwest check's to report).
    let service_port = d.eastwest.map(|service| {
        service
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .is_some_and(|ports| {
                ports
                    .iter()
                    .any(|p| p.get("port").and_then(Value::as_u64) == Some(15012))
            })
    });
    let problem = problem.or_else(|| {
        (service_port == Some(false)).then(|| {
            format!(
                "Service {ns}/{} has no port 15012 (spec.ports): the remotes cannot reach istiod",
                options.gateway_name
            )
        })
    });
    let exposed = match problem {
        Some(problem) => check("istiod-exposed", name, Status::Fail, problem).hint(fix),
        None => check(
            "istiod-exposed",
            name,
            Status::Pass,
            format!("istiod exposed to the remotes on port 15012 ({ns}/{ISTIOD_GATEWAY}, {ns}/{ISTIOD_VS})"),
        ),
    };
    let mut checks = vec![exposed];
    if present(&d.facts.istiod).is_some() {
        checks.push(match istiod_env(d.facts, "EXTERNAL_ISTIOD").as_deref() {
            Some("true") => check(
                "external-istiod",
                name,
                Status::Pass,
                "istiod serves remote clusters (EXTERNAL_ISTIOD=true)",
            ),
            _ => check(
                "external-istiod",
                name,
                Status::Warn,
                "istiod does not set EXTERNAL_ISTIOD=true: it will not manage its remotes' webhooks and namespaces",
            )
            .hint("install istiod with global.externalIstiod=true (base and istiod charts), as kubectl mesh up does for model: primary-remote"),
        });
    }
    checks
}

fn istiod_check(d: &Derived) -> Check {
    let name = &d.facts.name;
    match &d.facts.istiod {
        Err(e) => check("istiod", name, Status::Fail, format!("cannot read istiod: {e}")),
        Ok(None) => check(
            "istiod",
            name,
            Status::Fail,
            "no istiod Deployment in istio-system",
        )
        .hint("install Istio in this cluster (e.g. `kubectl mesh up -f mesh.yaml` or helm install istiod)"),
        Ok(Some(istiod)) => {
            let image = istiod
                .pointer("/spec/template/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or("");
            let version = image.rsplit_once(':').map_or("unknown", |(_, tag)| tag);
            let ready = istiod
                .pointer("/status/readyReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if ready > 0 {
                check(
                    "istiod",
                    name,
                    Status::Pass,
                    format!("istiod {version}, {ready} ready"),
                )
            } else {
                check(
                    "istiod",
                    name,
                    Status::Fail,
                    format!("istiod {version} has no ready replica"),
                )
                .hint(format!(
                    "kubectl --context {} -n istio-system describe deployment istiod",
                    d.facts.context
                ))
            }
        }
    }
}

fn cluster_name_check(d: &Derived, all: &[Derived]) -> Check {
    let twins: Vec<&str> = all
        .iter()
        .filter(|o| o.facts.name != d.facts.name && o.facts.reachable() && o.cluster_id == d.cluster_id)
        .map(|o| o.facts.name.as_str())
        .collect();
    if !twins.is_empty() {
        return check(
            "cluster-name",
            &d.facts.name,
            Status::Fail,
            format!("cluster name {} is also used by {}", d.cluster_id, twins.join(", ")),
        )
        .hint("give every cluster its own name (istiod's global.multiCluster.clusterName / CLUSTER_ID) and reinstall istiod");
    }
    // Links name a cluster by the --contexts name (peer Gateways' topology.istio.io/cluster,
    // remote secrets' key): istiod must know itself by that name.
    if d.cluster_id != d.facts.name {
        return check(
            "cluster-name",
            &d.facts.name,
            Status::Fail,
            format!(
                "istiod calls this cluster {} (CLUSTER_ID), but the links name it {}: peers would point at a cluster istiod does not know",
                d.cluster_id, d.facts.name
            ),
        )
        .hint(format!(
            "name it as istiod does: --contexts {} (for link and verify), or reinstall istiod with global.multiCluster.clusterName={}",
            crate::kube::clusters::contexts_entry(&d.cluster_id, &d.facts.context),
            d.facts.name
        ));
    }
    check(
        "cluster-name",
        &d.facts.name,
        Status::Pass,
        format!("cluster name {} is unique", d.cluster_id),
    )
}

fn cacerts_checks(d: &Derived, options: &VerifyOptions) -> Vec<Check> {
    let name = &d.facts.name;
    let fix = format!("kubectl mesh certs secret --contexts {}", d.facts.context);
    let secret = match &d.facts.cacerts {
        Err(e) => {
            return vec![check(
                "cacerts",
                name,
                Status::Fail,
                format!("cannot read cacerts: {e}"),
            )]
        }
        Ok(None) => {
            return vec![check("cacerts", name, Status::Fail, "no cacerts Secret in istio-system: istiod signs with its own self-signed root, so other clusters cannot trust it")
                .hint(format!("kubectl mesh certs generate --clusters {name} && {fix}"))];
        }
        Ok(Some(secret)) => secret,
    };
    let field = |key: &str| cacerts::entry(secret, key).unwrap_or_default();
    let mut report = match mesh_trust::check_bundle(
        &field("ca-cert.pem"),
        &field("root-cert.pem"),
        &field("cert-chain.pem"),
    ) {
        Ok(report) => report,
        Err(e) => {
            return vec![check(
                "cacerts",
                name,
                Status::Fail,
                format!("cacerts cannot be read: {e}"),
            )
            .hint(fix)]
        }
    };
    report
        .problems
        .extend(key_problem(&field("ca-cert.pem"), field("ca-key.pem")));
    let issued_for = report.ca.locality.as_deref().filter(|l| *l != name.as_str());
    let mut checks = vec![if let (true, Some(other)) = (report.is_ok(), issued_for) {
        // Our intermediates carry their cluster in L= (DESIGN §5.6): this one is another's.
        check(
            "cacerts",
            name,
            Status::Fail,
            format!("cacerts holds the intermediate issued for cluster {other}, not for {name}"),
        )
        // Most often the cluster is simply named otherwise (a topology file's `cluster:`):
        // the verify naming it so comes first; replacing the intermediate is the last resort.
        .hint(format!(
            "if this cluster is named {other} (e.g. `cluster: {other}` in a topology file), verify with --contexts {}; otherwise install its own: kubectl mesh certs secret --contexts {} --force",
            crate::kube::clusters::contexts_entry(other, &d.facts.context),
            crate::kube::clusters::contexts_entry(name, &d.facts.context)
        ))
    } else if report.is_ok() {
        check(
            "cacerts",
            name,
            Status::Pass,
            format!("intermediate chains to root {}", short(report.root_fingerprint())),
        )
    } else {
        check("cacerts", name, Status::Fail, report.problems.join("; ")).hint(format!(
            "re-issue it: kubectl mesh certs rotate --cluster {name} --apply-to {}",
            d.facts.context
        ))
    }];
    let days = report.ca.days_left;
    let expiry = report.ca.not_after.date();
    checks.push(if days < 0 {
        check(
            "cacerts-expiry",
            name,
            Status::Fail,
            format!("intermediate expired on {expiry}"),
        )
        .hint(format!(
            "kubectl mesh certs rotate --cluster {name} --apply-to {}",
            d.facts.context
        ))
    } else if days < options.expiry_warn_days {
        check(
            "cacerts-expiry",
            name,
            Status::Warn,
            format!("intermediate expires in {days} days ({expiry})"),
        )
        .hint(format!(
            "kubectl mesh certs rotate --cluster {name} --apply-to {}",
            d.facts.context
        ))
    } else {
        check(
            "cacerts-expiry",
            name,
            Status::Pass,
            format!("intermediate valid for {days} more days"),
        )
    });
    checks.extend(root_expiry(&report.root, name, options));
    checks
}

/// The chain ends with its root: a root that expires first ends every intermediate it
/// signed (rotating an intermediate does not help). Said only when it is due.
fn root_expiry(root: &mesh_trust::CertInfo, name: &str, options: &VerifyOptions) -> Option<Check> {
    let (days, expiry) = (root.days_left, root.not_after.date());
    let hint = "the whole mesh needs a new root: `kubectl mesh certs root --force` (the old one is kept in a backup), then re-issue and install every cluster's intermediate (certs generate --force, certs secret --force; istiod restarts)";
    let (status, message) = match days {
        d if d < 0 => (Status::Fail, format!("the root expired on {expiry}")),
        d if d < options.expiry_warn_days => (
            Status::Warn,
            format!("the root expires in {days} days ({expiry})"),
        ),
        _ => return None,
    };
    Some(check("cacerts-expiry", name, status, message).hint(hint))
}

/// Clusters sharing one intermediate share one identity for istiod's CA: a failure, reported
/// only when it happens.
fn shared_intermediates(all: &[Derived]) -> Option<Check> {
    let mut by_fingerprint: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in all {
        if let Some(f) = &d.intermediate_fingerprint {
            by_fingerprint.entry(f).or_default().push(&d.facts.name);
        }
    }
    let shared: Vec<String> = by_fingerprint
        .values()
        .filter(|names| names.len() > 1)
        .map(|names| names.join(", "))
        .collect();
    (!shared.is_empty()).then(|| {
        global(
            "unique-intermediate",
            Status::Fail,
            format!("one intermediate is installed in several clusters: {}", shared.join("; ")),
        )
        .hint("give each cluster its own: kubectl mesh certs generate --clusters <names>, then certs secret --contexts <name=context,...> --force")
    })
}

/// What is wrong with cacerts' `ca-key.pem` for istiod: without it istiod signs with a
/// self-signed root of its own (istio 1.30.3 pilot/pkg/bootstrap/istio_ca.go uses the plugged
/// CA only when the signing key file exists), and one that does not match ca-cert.pem fails
/// to load. The key is only compared, never shown.
fn key_problem(ca_cert: &str, ca_key: String) -> Option<String> {
    if ca_key.trim().is_empty() {
        return Some("no ca-key.pem: istiod would sign with a self-signed root of its own, which other clusters do not trust".into());
    }
    match mesh_trust::key_matches_cert(ca_cert, &mesh_trust::PrivateKeyPem::new(ca_key), "ca-key.pem") {
        Ok(true) => None,
        Ok(false) => Some("ca-key.pem does not match ca-cert.pem: istiod cannot load the bundle".into()),
        Err(e) => Some(format!("ca-key.pem cannot be read: {e}")),
    }
}

fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(23).collect()
}

fn eastwest_checks(d: &Derived, options: &VerifyOptions) -> Vec<Check> {
    let name = &d.facts.name;
    let what = format!("{}/{}", options.gateway_namespace, options.gateway_name);
    let kind = options.eastwest().kind.kind;
    let gateway = match (&d.facts.eastwest, d.eastwest) {
        (Err(e), _) => {
            return vec![check(
                "eastwest",
                name,
                Status::Fail,
                format!("cannot read the east-west {kind}: {e}"),
            )]
        }
        (Ok(_), None) => {
            return vec![check(
                "eastwest",
                name,
                Status::Fail,
                format!("no east-west {kind} {what}"),
            )
            .hint(format!("{} --wait", expose_command(d, options)))];
        }
        (Ok(_), Some(gateway)) => gateway,
    };
    if let Some(mismatch) = network_mismatch(d, gateway, &what, kind, options) {
        return vec![mismatch];
    }
    let wrong = shape_problems(gateway, options);
    if !wrong.is_empty() {
        return vec![check(
            "eastwest",
            name,
            Status::Fail,
            format!(
                "{kind} {what} is not an east-west gateway Istio can use: {}",
                wrong.join("; ")
            ),
        )
        .hint(format!("{} --force-conflicts", expose_command(d, options)))];
    }
    let programmed = crate::expose::is_programmed(gateway);
    match (address_of(gateway), programmed) {
        (Some(address), true) => vec![check(
            "eastwest",
            name,
            Status::Pass,
            // A Service has no Programmed condition: it is ready once it has an address.
            format!(
                "{kind} {what} {} at {address}",
                if kind == "Gateway" { "programmed" } else { "ready" }
            ),
        )],
        (address, _) => vec![check(
            "eastwest",
            name,
            Status::Fail,
            format!(
                "{kind} {what} is not ready (address: {}, Programmed: {programmed})",
                address.as_deref().unwrap_or("none")
            ),
        )
        .hint(format!(
            "kubectl --context {} -n {} describe {} {}",
            d.facts.context,
            options.gateway_namespace,
            kind.to_lowercase(),
            options.gateway_name
        ))],
    }
}

/// The east-west gateway must be on the cluster's own network (istio-system's label): peers
/// describe the cluster by the gateway's label, istiod by the namespace's, and traffic
/// between the two views goes nowhere.
fn network_mismatch(
    d: &Derived,
    gateway: &Value,
    what: &str,
    kind: &str,
    options: &VerifyOptions,
) -> Option<Check> {
    let network = d.network.as_deref()?;
    let Some(labelled) = crate::labels::value(gateway, NETWORK) else {
        // Peers read the cluster's network from this label, and istiod finds a sidecar
        // mesh's network gateway by it.
        return Some(
            check(
                "eastwest",
                &d.facts.name,
                Status::Fail,
                format!("{kind} {what} has no {NETWORK} label"),
            )
            .hint(format!("{} --network {network}", expose_command(d, options))),
        );
    };
    (labelled != network).then(|| {
        check(
            "eastwest",
            &d.facts.name,
            Status::Fail,
            format!("{kind} {what} is on network {labelled}, but istio-system's {NETWORK} is {network}"),
        )
        .hint(format!(
            "re-expose on the cluster's network: {} --network {network}",
            expose_command(d, options)
        ))
    })
}

/// Gateway classes of Istio that are not east-west: a Gateway of one of them is deployed as
/// something else (an ingress gateway, a waypoint, a description of a remote cluster).
const NOT_EAST_WEST_CLASSES: [&str; 3] = ["istio", "istio-waypoint", "istio-remote"];

/// What makes the east-west object unusable as such, against what `expose` writes for the
/// flavour (DESIGN §5.1-5.3): a Gateway's class and listeners (port, protocol, TLS mode; more
/// listeners are allowed), or a sidecar Service's 15443 port.
fn shape_problems(gateway: &Value, options: &VerifyOptions) -> Vec<String> {
    use crate::resources::eastwest::{EastWest, Flavor};
    let mut problems = Vec::new();
    if options.flavor == Flavor::Sidecar {
        let ports = gateway.pointer("/spec/ports").and_then(Value::as_array);
        if !ports.is_some_and(|ports| ports.iter().any(|p| p["port"] == 15443)) {
            problems.push(
                "the Service has no port 15443, where the cross-network traffic arrives (AUTO_PASSTHROUGH)"
                    .into(),
            );
        }
        return problems;
    }
    let class = gateway
        .pointer("/spec/gatewayClassName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if NOT_EAST_WEST_CLASSES.contains(&class) {
        problems.push(format!("its class {class} is not an east-west class"));
    }
    let expected = EastWest {
        flavor: options.flavor,
        ..EastWest::default()
    };
    let want = expected.objects().into_iter().next().unwrap_or_default();
    let live = gateway.pointer("/spec/listeners").and_then(Value::as_array);
    let shape = |l: &Value| {
        (
            l["port"].clone(),
            l["protocol"].clone(),
            l.pointer("/tls/mode").cloned(),
        )
    };
    for listener in want
        .pointer("/spec/listeners")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !live.is_some_and(|live| live.iter().any(|l| shape(l) == shape(listener))) {
            problems.push(format!(
                "no {} listener on port {} (TLS {})",
                listener["protocol"].as_str().unwrap_or_default(),
                listener["port"],
                listener
                    .pointer("/tls/mode")
                    .and_then(Value::as_str)
                    .unwrap_or("none")
            ));
        }
    }
    problems
}

/// `expose` of the cluster, with the flavour (and gateway) verified: without them it would
/// expose the default flavour's gateway beside the one that is wrong.
fn expose_command(d: &Derived, options: &VerifyOptions) -> String {
    let mut command = format!("kubectl mesh expose --context {}", d.facts.context);
    if options.flavor != crate::resources::eastwest::Flavor::default() {
        command.push_str(&format!(" --flavor {}", options.flavor));
    }
    command
}

/// Where trust domains differ, istiod must not reject peers' identities.
fn skip_validate_check(d: &Derived, all: &[Derived]) -> Option<Check> {
    let differ = all
        .iter()
        .filter(|o| o.facts.reachable())
        .any(|o| o.trust_domain != d.trust_domain);
    if !differ {
        return None;
    }
    let set = istiod_env(d.facts, "PILOT_SKIP_VALIDATE_TRUST_DOMAIN").as_deref() == Some("true");
    Some(if set {
        check(
            "skip-validate-trust-domain",
            &d.facts.name,
            Status::Pass,
            "trust domains differ and istiod accepts them (PILOT_SKIP_VALIDATE_TRUST_DOMAIN)",
        )
    } else {
        check("skip-validate-trust-domain", &d.facts.name, Status::Fail, "trust domains differ across clusters but istiod validates them: cross-cluster mTLS will be rejected")
            .hint("set env PILOT_SKIP_VALIDATE_TRUST_DOMAIN=true on istiod (helm: --set env.PILOT_SKIP_VALIDATE_TRUST_DOMAIN=true)")
    })
}

fn shared_root(all: &[Derived]) -> Option<Check> {
    let mut groups: BTreeMap<&str, Vec<&Derived>> = BTreeMap::new();
    for d in all.iter().filter(|d| d.facts.reachable()) {
        let Some(fp) = &d.root_fingerprint else { continue };
        groups.entry(fp.as_str()).or_default().push(d);
    }
    let describe = |fp: &str, members: &[&Derived]| {
        let names: Vec<&str> = members.iter().map(|d| d.facts.name.as_str()).collect();
        match names.as_slice() {
            [one] => format!("{one} has root {}", short(fp)),
            _ => format!("{} share root {}", names.join(", "), short(fp)),
        }
    };
    if groups.len() <= 1 {
        let (fp, members) = groups.iter().next()?;
        return Some(global("shared-root", Status::Pass, describe(fp, members)));
    }
    // The root most clusters have is taken as the mesh's; the others get it re-applied.
    let (main_fp, _) = groups.iter().max_by_key(|(_, members)| members.len())?;
    let parts: Vec<String> = groups.iter().map(|(fp, m)| describe(fp, m)).collect();
    let others: Vec<String> = groups
        .iter()
        .filter(|(fp, _)| *fp != main_fp)
        .flat_map(|(_, m)| m.iter().map(|d| ctx_ref(d)))
        .collect();
    Some(
        global(
            "shared-root",
            Status::Fail,
            format!("clusters do not share one root: {}", parts.join("; ")),
        )
        .hint(format!(
            "kubectl mesh certs secret --contexts {} --dir DIR --force   (DIR: the certs directory of root {}; then restart istiod there)",
            others.join(","),
            short(main_fp)
        )),
    )
}

fn mesh_id(all: &[Derived]) -> Option<Check> {
    let reachable: Vec<&Derived> = all.iter().filter(|d| d.facts.reachable()).collect();
    let ids: Vec<(&str, Option<&str>)> = reachable
        .iter()
        .map(|d| (d.facts.name.as_str(), d.mesh_id.as_deref()))
        .collect();
    let first = ids.first()?.1;
    if ids.iter().all(|(_, id)| *id == first) {
        let message = match first {
            Some(id) => format!("every cluster is in mesh {id}"),
            None => "no cluster sets a mesh ID (all default)".to_string(),
        };
        return Some(global("mesh-id", Status::Pass, message));
    }
    let parts: Vec<String> = ids
        .iter()
        .map(|(name, id)| format!("{name}={}", id.unwrap_or("(unset)")))
        .collect();
    Some(
        global(
            "mesh-id",
            Status::Fail,
            format!("clusters disagree on the mesh ID: {}", parts.join(", ")),
        )
        .hint("install every cluster with the same global.meshID"),
    )
}

/// The link check of a pair the topology wants (every pair without one); for a pair it does
/// not want, a warning if it is linked all the same, else nothing to say.
fn wanted_link_check(from: &Derived, to: &Derived, options: &VerifyOptions) -> Option<Check> {
    match &options.expected_links {
        Some(expected) if !expected.wants(&from.facts.name, &to.facts.name) => {
            unwanted_link(from, to, options, expected)
        }
        _ => Some(link_check(from, to, options)),
    }
}

/// A link the topology does not want: harmless to traffic, but not what was asked for (and
/// a cost in a large fleet), so a warning whose fix removes it.
fn unwanted_link(
    from: &Derived,
    to: &Derived,
    options: &VerifyOptions,
    expected: &super::ExpectedLinks,
) -> Option<Check> {
    let (f, t) = (from.facts.name.as_str(), to.facts.name.as_str());
    let live = find_link(from, t, options)?;
    let fix = match crate::labels::is_ours(live) {
        true => format!("{} --unlink", link_command(from, to, options)),
        // `link --unlink` deletes only ours: name the command that removes this one.
        false => delete_command(from, live, options),
    };
    Some(
        pair(
            "link",
            f,
            t,
            Status::Warn,
            format!(
                "linked, but the {} topology does not link {f} to {t}",
                expected.topology
            ),
        )
        .hint(fix),
    )
}

/// `kubectl delete` of a link object that is not ours (made by hand or by istioctl).
fn delete_command(from: &Derived, live: &Value, options: &VerifyOptions) -> String {
    let (plural, namespace) = match options.mode {
        LinkMode::Peering => (
            crate::kube::kinds::GATEWAY.plural,
            options.gateway_namespace.as_str(),
        ),
        LinkMode::RemoteSecret => (crate::kube::kinds::SECRET.plural, crate::labels::ISTIO_SYSTEM),
    };
    format!(
        "kubectl --context {} delete {plural} -n {namespace} {}",
        from.facts.context,
        crate::kube::kinds::name_of(live)
    )
}

/// The command that links `from` to `to` (the fix of a missing or stale link).
fn link_command(from: &Derived, to: &Derived, options: &VerifyOptions) -> String {
    let mode = match options.mode {
        LinkMode::Peering => "",
        LinkMode::RemoteSecret => " --mode remote-secret",
    };
    format!(
        "kubectl mesh link{mode} --from {} --to {}",
        ctx_ref(from),
        ctx_ref(to)
    )
}

fn link_check(from: &Derived, to: &Derived, options: &VerifyOptions) -> Check {
    let (f, t) = (from.facts.name.as_str(), to.facts.name.as_str());
    // Only a pair that fails needs its fix: most of a fleet's N² pairs pass.
    let fix = || link_command(from, to, options);
    if !from.facts.reachable() || !to.facts.reachable() {
        let down = if from.facts.reachable() { t } else { f };
        return pair(
            "link",
            f,
            t,
            Status::Fail,
            format!("cannot check: cluster {down} is unreachable"),
        );
    }
    let live = find_link(from, t, options);
    let Some(live) = live else {
        return match (find_link(to, f, options), &options.expected_links) {
            // A topology names this direction: without it, f's workloads cannot reach t's.
            (Some(_), Some(expected)) => pair(
                "link",
                f,
                t,
                Status::Fail,
                format!(
                    "one-way: {t} links to {f}, but {f} does not link to {t}, which the {} topology wants",
                    expected.topology
                ),
            )
            .hint(fix()),
            // Without one, a single direction may be what `link --from --to` was asked for.
            (Some(_), None) => pair(
                "link",
                f,
                t,
                Status::Warn,
                format!("one-way: {t} links to {f}, but {f} does not link to {t}"),
            )
            .hint(fix()),
            (None, _) => pair("link", f, t, Status::Fail, "not linked").hint(fix()),
        };
    };
    // `link` leaves an object that is not ours as it is: the fix removes it first.
    let fix = || match crate::labels::is_ours(live) {
        true => fix(),
        false => format!("{} && {}", delete_command(from, live, options), fix()),
    };
    match options.mode {
        LinkMode::Peering => peering_current(from, to, live, &options.gateway_namespace, fix),
        LinkMode::RemoteSecret => remote_secret_current(to, live, f, t, fix),
    }
}

/// `name=context` when a cluster is named apart from its context, so that fixes run as printed.
fn ctx_ref(d: &Derived) -> String {
    crate::kube::clusters::contexts_entry(&d.facts.name, &d.facts.context)
}

fn find_link<'a>(source: &Derived<'a>, target: &str, options: &VerifyOptions) -> Option<&'a Value> {
    let name = match options.mode {
        LinkMode::Peering => peering::name(target),
        LinkMode::RemoteSecret => remote_secret::secret_name(target),
    };
    source.links.get(name.as_str()).copied()
}

fn peering_current(
    from: &Derived,
    to: &Derived,
    live: &Value,
    namespace: &str,
    fix: impl Fn() -> String,
) -> Check {
    let (f, t) = (from.facts.name.as_str(), to.facts.name.as_str());
    let expected = match expected_peer(to, namespace) {
        Ok(e) => e,
        Err(why) => return pair("link", f, t, Status::Fail, why.clone()),
    };
    if is_subset(&expected.gateway, live) {
        return pair("link", f, t, Status::Pass, expected.passed.clone());
    }
    pair(
        "link",
        f,
        t,
        Status::Fail,
        format!("stale: {}", peer_differences(&expected.gateway, live).join("; ")),
    )
    .hint(fix())
}

/// The peer Gateway `link` would write for a target, and the message of a pair that has it.
struct ExpectedPeer {
    gateway: Value,
    passed: String,
}

/// What every source's peer Gateway for `to` (in `namespace`, the gateway namespace the
/// links were listed from) must hold, or why `to` has nothing to compare with. Made once
/// per target: N-1 sources ask.
fn expected_peer<'d>(to: &'d Derived, namespace: &str) -> &'d Result<ExpectedPeer, String> {
    to.expected_peer
        .get_or_init(|| build_expected_peer(to, namespace))
}

fn build_expected_peer(to: &Derived, namespace: &str) -> Result<ExpectedPeer, String> {
    let t = to.facts.name.as_str();
    let Some(address) = to.eastwest.and_then(address_of) else {
        return Err(format!(
            "linked, but {t}'s east-west gateway has no address to compare with"
        ));
    };
    let Some(network) = to.eastwest.and_then(|g| crate::labels::value(g, NETWORK)) else {
        return Err(format!(
            "linked, but {t}'s east-west gateway has no network label"
        ));
    };
    let target = Target {
        cluster: t.to_string(),
        address,
        network: network.to_string(),
        trust_domain: to.trust_domain.clone(),
        service_account: to
            .eastwest
            .and_then(peering::service_account_of)
            .unwrap_or_default(),
    };
    Ok(ExpectedPeer {
        gateway: peering::gateway(&target, namespace),
        passed: format!("linked to {} on {}", target.address, target.network),
    })
}

/// What a live peer Gateway gets wrong, field by field, against the one `link` would write
/// (DESIGN §5.4): each entry says what it has and what the target needs.
fn peer_differences(expected: &Value, live: &Value) -> Vec<String> {
    fn address(object: &Value) -> Option<&str> {
        object.pointer("/spec/addresses/0/value").and_then(Value::as_str)
    }
    fn at<'a>(object: &'a Value, section: &str, key: &str) -> Option<&'a str> {
        object.get("metadata")?.get(section)?.get(key)?.as_str()
    }
    let mut differences = Vec::new();
    if address(live) != address(expected) {
        differences.push(format!(
            "points at {}, but the target is at {}",
            address(live).unwrap_or("none"),
            address(expected).unwrap_or("none")
        ));
    } else {
        let kind = |object: &Value| {
            object
                .pointer("/spec/addresses/0/type")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if kind(live) != kind(expected) {
            differences.push(format!(
                "its address is of type {}, want {}",
                kind(live).as_deref().unwrap_or("none"),
                kind(expected).as_deref().unwrap_or("none")
            ));
        }
    }
    let fields = [
        ("network label", "labels", NETWORK),
        ("cluster label", "labels", CLUSTER),
        ("peer-cluster label", "labels", crate::labels::PEER_CLUSTER),
        (
            "service-account annotation",
            "annotations",
            GATEWAY_SERVICE_ACCOUNT,
        ),
        ("trust-domain annotation", "annotations", GATEWAY_TRUST_DOMAIN),
    ];
    for (what, section, key) in fields {
        match (at(expected, section, key), at(live, section, key)) {
            (Some(want), Some(have)) if want != have => {
                differences.push(format!("{what} is {have}, want {want}"))
            }
            (Some(want), None) => differences.push(format!("{what} is missing (want {want})")),
            _ => {}
        }
    }
    if differences.is_empty() {
        differences.push("listeners or class differ from what link writes".to_string());
    }
    differences
}

fn remote_secret_current(to: &Derived, live: &Value, f: &str, t: &str, fix: impl Fn() -> String) -> Check {
    let Some(config) = crate::link::remote_secret::kubeconfig_of(live, t) else {
        return pair(
            "link",
            f,
            t,
            Status::Fail,
            format!("remote secret holds no kubeconfig for {t}"),
        )
        .hint(fix());
    };
    let server = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap_or("")
        .trim();
    if server == to.facts.server {
        pair("link", f, t, Status::Pass, format!("remote secret for {server}"))
    } else {
        pair(
            "link",
            f,
            t,
            Status::Fail,
            format!(
                "stale: remote secret points at {server}, but {t} is at {}",
                to.facts.server
            ),
        )
        .hint(fix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{MANAGED_BY, MANAGED_BY_VALUE};
    use crate::link::topology::Shape;
    use crate::verify::ExpectedLinks;
    use serde_json::json;

    /// A reachable cluster holding our peer Gateways to `peers`, and nothing else.
    fn cluster(name: &str, peers: &[&str]) -> ClusterFacts {
        let gateways = peers
            .iter()
            .map(|p| {
                json!({"metadata": {"name": peering::name(p), "namespace": "istio-gateways",
                                    "labels": {MANAGED_BY: MANAGED_BY_VALUE}}})
            })
            .collect();
        ClusterFacts {
            gateways: Ok(gateways),
            ..ClusterFacts::new(name, name, "https://203.0.113.1", Ok("v1.33.0".into()))
        }
    }

    fn link_checks(all: &[ClusterFacts], options: &VerifyOptions) -> Vec<(String, Status)> {
        evaluate(all, options)
            .into_iter()
            .filter(|c| c.id == "link")
            .map(|c| (format!("{}->{}", c.from.unwrap(), c.to.unwrap()), c.status))
            .collect()
    }

    #[test]
    fn a_stale_peer_says_what_differs() {
        let target = Target {
            cluster: "b".into(),
            address: "203.0.113.9".into(),
            network: "n2".into(),
            trust_domain: "cluster.local".into(),
            service_account: "istio-eastwest".into(),
        };
        let expected = peering::gateway(&target, "istio-gateways");
        let mut live = expected.clone();
        live["spec"]["addresses"][0]["type"] = json!("Hostname");
        live["metadata"]["labels"][crate::labels::PEER_CLUSTER] = json!("x");
        assert_eq!(
            peer_differences(&expected, &live),
            [
                "its address is of type Hostname, want IPAddress",
                "peer-cluster label is x, want b"
            ]
        );
        live = expected.clone();
        live["spec"]["listeners"] = json!([]);
        assert_eq!(
            peer_differences(&expected, &live),
            ["listeners or class differ from what link writes"]
        );
    }

    #[test]
    fn expose_fixes_name_the_flavour_verified() {
        let facts = ClusterFacts::new("a", "ctx-a", "https://203.0.113.1", Ok("v1.33.0".into()));
        let sidecar = VerifyOptions {
            flavor: crate::resources::eastwest::Flavor::Sidecar,
            ..Default::default()
        };
        let d = derive(&facts, &sidecar);
        assert_eq!(
            expose_command(&d, &sidecar),
            "kubectl mesh expose --context ctx-a --flavor sidecar"
        );
        let default = VerifyOptions::default();
        assert_eq!(
            expose_command(&derive(&facts, &default), &default),
            "kubectl mesh expose --context ctx-a"
        );
    }

    #[test]
    fn a_one_way_link_fails_where_a_topology_wants_both_ways_and_warns_without_one() {
        // a and b both ways wanted; only a -> b exists.
        let all = [cluster("a", &["b"]), cluster("b", &[])];
        let one_way = |options: &VerifyOptions| {
            evaluate(&all, options)
                .into_iter()
                .find(|c| c.id == "link" && c.from.as_deref() == Some("b"))
                .unwrap()
        };
        let pairs = [(0, 1), (1, 0)].map(|(from, to)| crate::link::Pair { from, to });
        let options = VerifyOptions {
            expected_links: Some(ExpectedLinks::new(Shape::Pairs, &["a", "b"], &pairs)),
            ..Default::default()
        };
        let check = one_way(&options);
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.message.ends_with("which the pairs topology wants"),
            "{}",
            check.message
        );
        assert_eq!(one_way(&VerifyOptions::default()).status, Status::Warn);
    }

    #[test]
    fn a_topology_checks_its_pairs_and_warns_about_links_it_does_not_want() {
        // Hub a; b and c are spokes. b holds a link to c the topology does not want.
        let all = [cluster("a", &[]), cluster("b", &["c"]), cluster("c", &[])];
        let pairs: Vec<crate::link::Pair> = [(0, 1), (0, 2), (1, 0), (2, 0)]
            .into_iter()
            .map(|(from, to)| crate::link::Pair { from, to })
            .collect();
        let options = VerifyOptions {
            expected_links: Some(ExpectedLinks::new(Shape::HubAndSpoke, &["a", "b", "c"], &pairs)),
            ..Default::default()
        };
        let checks = link_checks(&all, &options);
        let names: Vec<&str> = checks.iter().map(|(p, _)| p.as_str()).collect();
        // c -> b: neither wanted nor linked, so not checked at all.
        assert_eq!(names, ["a->b", "a->c", "b->a", "b->c", "c->a"]);
        assert!(
            checks.iter().all(|(p, s)| (p == "b->c") == (*s == Status::Warn)),
            "{checks:?}"
        );
        let unwanted = evaluate(&all, &options)
            .into_iter()
            .find(|c| c.from.as_deref() == Some("b") && c.to.as_deref() == Some("c"))
            .unwrap();
        assert_eq!(
            unwanted.message,
            "linked, but the hub-and-spoke topology does not link b to c"
        );
        assert_eq!(
            unwanted.hint.as_deref(),
            Some("kubectl mesh link --from b --to c --unlink")
        );
        // Without a topology every ordered pair is checked, as always.
        assert_eq!(link_checks(&all, &VerifyOptions::default()).len(), 6);

        // A Gateway someone else made: `link --unlink` would leave it, kubectl deletes it.
        let mut all = all;
        all[1].gateways = Ok(vec![json!({"metadata": {"name": peering::name("c")}})]);
        let theirs = evaluate(&all, &options)
            .into_iter()
            .find(|c| c.from.as_deref() == Some("b") && c.to.as_deref() == Some("c"))
            .unwrap();
        assert_eq!(
            theirs.hint.as_deref(),
            Some("kubectl --context b delete gateways -n istio-gateways istio-remote-peer-c")
        );
    }
}
