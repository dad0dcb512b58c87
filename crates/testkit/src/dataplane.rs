//! The simulated mesh data plane behind probe Jobs: what each request a Job's pod makes to
//! a service host gets back, given which clusters serve the service, how the clusters are
//! linked and whether they share a root of trust.
//!
//! Pure functions over [`ClusterView`] snapshots, so every rule has a plain unit test. The
//! contract: the first container's env `PROBE_URL` names the host, `PROBE_REQUESTS`
//! (default 1) the number of requests; the log has one line per request, the answer or
//! `error: <what curl says>`.
//!
//! Which clusters a host reaches depends on the mesh flavour, read from the caller's side:
//! * `<svc>.<ns>.mesh.internal` is Solo's global host (ambient peering): Services labelled
//!   `solo.io/service-scope: global|global-only`. Upstream Istio has no such domain, so
//!   `istio.io/global` does not create it.
//! * The cluster-local host from a namespace labelled `istio.io/dataplane-mode: ambient`
//!   (upstream ambient multi-network, istio 1.30.3): the caller's own Service, merged with the
//!   other clusters' Services labelled `istio.io/global: "true"` when the caller's own is
//!   global too (or absent). pilot/pkg/serviceregistry/ambient/services.go:242-253 keeps a
//!   remote Service only when GLOBAL, services.go:690 names it `<svc>.<ns>.svc.<domain>`,
//!   multicluster.go:653-664 skips the merge for a LOCAL Service of the caller's cluster.
//! * The cluster-local host from any other namespace (sidecars): every namesake Service.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{Map, Value};

use crate::registry::{self, GATEWAY_API_GROUP};
use crate::store::{self, Store};

const ISTIO_SYSTEM: &str = "istio-system";
const NETWORK_LABEL: &str = "topology.istio.io/network";
const DISTRIBUTION: &str = "networking.istio.io/traffic-distribution";
const EASTWEST_CLASSES: &[&str] = &["istio-eastwest", "istio-east-west"];
const REMOTE_CLASS: &str = "istio-remote";
const EASTWEST_SERVICE: &str = "istio-eastwestgateway";
/// What curl prints when the peer's sidecar rejects the mTLS handshake.
pub(crate) const RESET: &str = "error: curl: (56) Recv failure: Connection reset by peer";
/// A Job asking for more is a test bug; the cap keeps such a log from eating the memory.
pub(crate) const MAX_REQUESTS: usize = 10_000;

/// The objects the data plane looks at, copied out of one cluster's store.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClusterView {
    pub name: String,
    /// [`crate::FakeCluster::server_url`]: what remote secrets point at.
    pub server_url: String,
    /// Namespaces, Services, Deployments, Gateway API Gateways and the Secrets of
    /// `istio-system`.
    pub objects: Vec<Value>,
}

/// What a request names: a Service, through Solo's global host or its cluster-local host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub service: String,
    pub namespace: String,
    /// `<svc>.<ns>.mesh.internal` (Solo's peering): only Services labelled
    /// `solo.io/service-scope: global|global-only` answer.
    pub global: bool,
}

/// What a probe container does: `requests` requests to `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub host: String,
    /// None: a host no cluster DNS resolves.
    pub target: Option<Target>,
    pub requests: usize,
    /// The caller's namespace: its `istio.io/dataplane-mode` says whether ztunnel (upstream
    /// ambient scoping) or a sidecar (every namesake) carries the calls.
    pub namespace: String,
}

/// How a Service spreads requests over the clusters that serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Distribution {
    Any,
    PreferNetwork,
    /// `PreferClose` and `PreferRegion`: the caller's own cluster first.
    PreferClose,
}

impl ClusterView {
    /// Copies what the data plane needs out of a locked store.
    pub fn capture(name: &str, server_url: &str, st: &Store) -> Self {
        let mut objects = Vec::new();
        let kinds: [(&str, &str, Option<&str>); 5] = [
            ("", "namespaces", None),
            ("", "services", None),
            ("apps", "deployments", None),
            (GATEWAY_API_GROUP, "gateways", None),
            ("", "secrets", Some(ISTIO_SYSTEM)),
        ];
        for (group, plural, ns) in kinds {
            if let Some(def) = registry::find(group, "v1", plural) {
                objects.extend(st.list(def, ns).into_iter().map(|s| s.obj.clone()));
            }
        }
        ClusterView {
            name: name.to_string(),
            server_url: server_url.to_string(),
            objects,
        }
    }

    fn items(&self, api_version: &'static str, kind: &'static str) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(move |o| {
            o.get("apiVersion").and_then(Value::as_str) == Some(api_version)
                && o.get("kind").and_then(Value::as_str) == Some(kind)
        })
    }

    fn get(&self, api_version: &'static str, kind: &'static str, ns: &str, name: &str) -> Option<&Value> {
        self.items(api_version, kind)
            .find(|o| store::namespace_of(o) == ns && store::name_of(o) == name)
    }

    fn gateways<'a>(&'a self, classes: &'a [&'a str]) -> impl Iterator<Item = &'a Value> + 'a {
        self.items("gateway.networking.k8s.io/v1", "Gateway").filter(|g| {
            g.pointer("/spec/gatewayClassName")
                .and_then(Value::as_str)
                .is_some_and(|c| classes.contains(&c))
        })
    }

    /// The `topology.istio.io/network` of `istio-system`; "" (Istio's default network)
    /// when unlabelled.
    fn network(&self) -> &str {
        self.get("v1", "Namespace", "", ISTIO_SYSTEM)
            .and_then(|ns| label(ns, NETWORK_LABEL))
            .unwrap_or_default()
    }

    /// Where other clusters reach this one: its east-west Gateways' first status address
    /// and the load-balancer ingress of a classic `istio-eastwestgateway` Service.
    fn eastwest_addresses(&self) -> Vec<&str> {
        let gateways = self
            .gateways(EASTWEST_CLASSES)
            .filter_map(|g| g.pointer("/status/addresses/0/value").and_then(Value::as_str));
        let service = self
            .get("v1", "Service", ISTIO_SYSTEM, EASTWEST_SERVICE)
            .and_then(|s| s.pointer("/status/loadBalancer/ingress"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| i.get("ip").or_else(|| i.get("hostname")).and_then(Value::as_str));
        gateways.chain(service).collect()
    }

    /// The addresses this cluster's `istio-remote` Gateways (ambient peering) point at.
    fn peered_addresses(&self) -> Vec<&str> {
        self.gateways(&[REMOTE_CLASS])
            .filter_map(|g| g.pointer("/spec/addresses").and_then(Value::as_array))
            .flatten()
            .filter_map(|a| a.get("value").and_then(Value::as_str))
            .collect()
    }

    /// The API servers named by this cluster's remote secrets (multi-primary).
    fn remote_servers(&self) -> Vec<String> {
        self.items("v1", "Secret")
            .filter(|s| {
                store::namespace_of(s) == ISTIO_SYSTEM && label(s, "istio/multiCluster") == Some("true")
            })
            .flat_map(secret_values)
            .flat_map(|kubeconfig| kubeconfig_servers(&kubeconfig))
            .collect()
    }

    /// `root-cert.pem` of `istio-system/cacerts`: the mesh root this cluster trusts.
    fn root_cert(&self) -> Option<Vec<u8>> {
        let cacerts = self.get("v1", "Secret", ISTIO_SYSTEM, "cacerts")?;
        secret_value(cacerts, "root-cert.pem")
    }

    /// Whether the caller's namespace `ns` is in ambient mode (ztunnel carries its calls).
    fn is_ambient(&self, ns: &str) -> bool {
        self.get("v1", "Namespace", "", ns)
            .and_then(|n| label(n, "istio.io/dataplane-mode"))
            == Some("ambient")
    }

    fn service(&self, target: &Target) -> Option<&Value> {
        self.get("v1", "Service", &target.namespace, &target.service)
    }

    /// What this cluster answers for `target`, if it serves it: its Service selects a
    /// Deployment with a ready replica. Whether the Service takes part is [`takes_part`].
    fn answer(&self, target: &Target) -> Option<String> {
        let svc = self.service(target)?;
        // A Service without a selector has no endpoints the mesh knows of.
        let selector = svc
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())?;
        let deployment = self
            .items("apps/v1", "Deployment")
            .filter(|d| store::namespace_of(d) == target.namespace)
            .find(|d| is_ready(d) && selects(selector, d))?;
        Some(echo_text(deployment).unwrap_or_else(|| self.name.clone()))
    }
}

fn label<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get("metadata")?.get("labels")?.get(key)?.as_str()
}

fn annotation<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// Global in Solo's peering: it has the `mesh.internal` host.
fn is_peering_global(svc: &Value) -> bool {
    matches!(
        label(svc, "solo.io/service-scope"),
        Some("global" | "global-only")
    )
}

/// GLOBAL scope in upstream ambient (the ambient profile's `serviceScopeConfigs`).
fn is_istio_global(svc: &Value) -> bool {
    label(svc, "istio.io/global") == Some("true")
}

/// Whether `z`'s namesake takes part in what `target` reaches from `src` (see the module
/// docs): Solo's global host needs Solo's label; the cluster-local host from an ambient
/// caller reaches other clusters only through `istio.io/global` on both sides; from a
/// sidecar it reaches every namesake.
fn takes_part(target: &Target, ambient: bool, src: &ClusterView, z: &ClusterView, own: bool) -> bool {
    let Some(svc) = z.service(target) else {
        return false;
    };
    if target.global {
        return is_peering_global(svc);
    }
    if !ambient || own {
        return true;
    }
    is_istio_global(svc) && src.service(target).is_none_or(is_istio_global)
}

fn is_ready(deployment: &Value) -> bool {
    deployment
        .pointer("/status/readyReplicas")
        .and_then(Value::as_i64)
        .is_some_and(|n| n > 0)
}

fn selects(selector: &Map<String, Value>, deployment: &Value) -> bool {
    let labels = deployment.pointer("/spec/template/metadata/labels");
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// The `-text` flag of http-echo in the first container's args (`-text=x`, `--text=x`, or
/// the value as the next arg).
fn echo_text(deployment: &Value) -> Option<String> {
    let args: Vec<&str> = deployment
        .pointer("/spec/template/spec/containers/0/args")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let text = args.iter().enumerate().find_map(|(i, arg)| {
        let flag = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-'))?;
        match flag.strip_prefix("text") {
            Some("") => args.get(i + 1).copied(),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        }
    })?;
    // One line per request is the contract, whatever the text holds.
    Some(text.replace(['\r', '\n'], " "))
}

/// A Secret's values, decoded (`data` is base64, `stringData` is not).
fn secret_values(secret: &Value) -> Vec<Vec<u8>> {
    let data = secret
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| B64.decode(v.as_str()?).ok());
    let plain = secret
        .get("stringData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| Some(v.as_str()?.as_bytes().to_vec()));
    data.chain(plain).collect()
}

fn secret_value(secret: &Value, key: &str) -> Option<Vec<u8>> {
    if let Some(v) = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        return B64.decode(v).ok();
    }
    let v = secret.get("stringData")?.get(key)?.as_str()?;
    Some(v.as_bytes().to_vec())
}

/// `clusters[].cluster.server` of a kubeconfig; nothing if it is not one.
fn kubeconfig_servers(kubeconfig: &[u8]) -> Vec<String> {
    let Ok(config) = serde_yaml_ng::from_slice::<Value>(kubeconfig) else {
        return Vec::new();
    };
    config
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/cluster/server").and_then(Value::as_str))
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}

/// The probe a pod runs, from its first container's env; None if it runs none.
pub(crate) fn probe_of(pod_spec: &Value, pod_namespace: &str) -> Option<Probe> {
    let env = pod_spec.pointer("/containers/0/env").and_then(Value::as_array)?;
    let var = |name: &str| {
        env.iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get("value").and_then(Value::as_str))
    };
    let host = host_of(var("PROBE_URL")?);
    let requests = var("PROBE_REQUESTS")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .min(MAX_REQUESTS);
    Some(Probe {
        target: target_of(&host, pod_namespace),
        host,
        requests,
        namespace: pod_namespace.to_string(),
    })
}

/// The host of a URL (`http://h:80/p` → `h`), lowercased.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The Service a host names, as cluster DNS (and the mesh's global domain) resolves it;
/// a bare name resolves in the pod's own namespace.
fn target_of(host: &str, pod_namespace: &str) -> Option<Target> {
    let labels: Vec<&str> = host.split('.').collect();
    let (service, namespace, global) = match labels.as_slice() {
        [s, n, "mesh", "internal"] => (*s, *n, true),
        [s, n, "svc", "cluster", "local"] | [s, n, "svc"] | [s, n] => (*s, *n, false),
        [s] => (*s, pod_namespace, false),
        _ => return None,
    };
    if service.is_empty() || namespace.is_empty() {
        return None;
    }
    Some(Target {
        service: service.to_string(),
        namespace: namespace.to_string(),
        global,
    })
}

/// The log of `probe` run in `world[source]`: one line per request.
pub(crate) fn log(probe: &Probe, source: usize, world: &[ClusterView]) -> String {
    responses(probe, source, world)
        .into_iter()
        .map(|line| line + "\n")
        .collect()
}

fn responses(probe: &Probe, source: usize, world: &[ClusterView]) -> Vec<String> {
    let candidates = match &probe.target {
        Some(target) => candidates(target, &probe.namespace, source, world),
        None => Vec::new(),
    };
    if candidates.is_empty() {
        let line = format!("error: curl: (6) Could not resolve host: {}", probe.host);
        return vec![line; probe.requests];
    }
    (0..probe.requests)
        .map(|i| {
            let (z, body) = &candidates[i % candidates.len()];
            if *z == source || trusted(&world[source], &world[*z]) {
                body.clone()
            } else {
                RESET.to_string()
            }
        })
        .collect()
}

/// The clusters a request from namespace `caller` of `source` may land on, in sandbox order,
/// with their answers.
fn candidates(target: &Target, caller: &str, source: usize, world: &[ClusterView]) -> Vec<(usize, String)> {
    let Some(src) = world.get(source) else {
        return Vec::new();
    };
    let ambient = src.is_ambient(caller);
    let serving: Vec<(usize, String)> = world
        .iter()
        .enumerate()
        .filter(|(i, z)| takes_part(target, ambient, src, z, *i == source))
        .filter_map(|(i, z)| z.answer(target).map(|body| (i, body)))
        .collect();
    let dist = distribution(target, source, world, &serving);
    let reachable: Vec<(usize, String)> = serving
        .into_iter()
        .filter(|(z, _)| *z == source || linked(src, &world[*z]))
        .collect();
    let same_network = |z: &usize| world[*z].network() == src.network();
    match dist {
        Distribution::Any => reachable,
        Distribution::PreferNetwork => prefer(reachable, |(z, _)| same_network(z)),
        Distribution::PreferClose if reachable.iter().any(|(z, _)| *z == source) => {
            reachable.into_iter().filter(|(z, _)| *z == source).collect()
        }
        Distribution::PreferClose => prefer(reachable, |(z, _)| same_network(z)),
    }
}

/// The candidates `keep` accepts, or all of them if it accepts none (a preference, not a
/// requirement).
fn prefer(all: Vec<(usize, String)>, keep: impl Fn(&(usize, String)) -> bool) -> Vec<(usize, String)> {
    let kept: Vec<(usize, String)> = all.iter().filter(|c| keep(c)).cloned().collect();
    if kept.is_empty() {
        all
    } else {
        kept
    }
}

/// The Service's `networking.istio.io/traffic-distribution`: the caller's own Service
/// decides, else the first serving cluster's that has one, else the host's default.
fn distribution(
    target: &Target,
    source: usize,
    world: &[ClusterView],
    serving: &[(usize, String)],
) -> Distribution {
    let service = |i: usize| {
        world
            .get(i)?
            .get("v1", "Service", &target.namespace, &target.service)
    };
    let own = service(source).and_then(|s| annotation(s, DISTRIBUTION));
    let value = own.or_else(|| {
        serving
            .iter()
            .find_map(|(z, _)| service(*z).and_then(|s| annotation(s, DISTRIBUTION)))
    });
    match value {
        Some("Any") => Distribution::Any,
        Some("PreferNetwork") => Distribution::PreferNetwork,
        Some("PreferClose" | "PreferRegion") => Distribution::PreferClose,
        // Istio ignores values it does not know.
        _ if target.global => Distribution::PreferNetwork,
        _ => Distribution::Any,
    }
}

/// Whether `src` knows `dst`'s endpoints and can route to them: peered with its east-west
/// address (ambient), or holding a remote secret for its API server (multi-primary; across
/// networks that also needs `dst`'s east-west gateway).
fn linked(src: &ClusterView, dst: &ClusterView) -> bool {
    let eastwest = dst.eastwest_addresses();
    if src.peered_addresses().iter().any(|a| eastwest.contains(a)) {
        return true;
    }
    let url = dst.server_url.trim_end_matches('/');
    let has_secret = src.remote_servers().iter().any(|s| s == url);
    has_secret && (src.network() == dst.network() || !eastwest.is_empty())
}

/// mTLS between sidecars/ztunnels only works with one root of trust.
fn trusted(src: &ClusterView, dst: &ClusterView) -> bool {
    match (src.root_cert(), dst.root_cert()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NS: &str = "probe";
    const GLOBAL_URL: &str = "http://echo.probe.mesh.internal/";
    const LOCAL_URL: &str = "http://echo.probe.svc.cluster.local:80/";

    fn cluster(name: &str, port: u16, network: &str) -> ClusterView {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ISTIO_SYSTEM, "labels": {NETWORK_LABEL: network}}});
        ClusterView {
            name: name.to_string(),
            server_url: format!("https://127.0.0.1:{port}"),
            objects: vec![ns],
        }
    }

    fn service(labels: Value, annotations: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "echo", "namespace": NS, "labels": labels, "annotations": annotations},
            "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80}]}})
    }

    fn deployment(args: Value, ready: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "echo", "namespace": NS},
            "spec": {"template": {"metadata": {"labels": {"app": "echo", "extra": "x"}},
                     "spec": {"containers": [{"name": "echo", "args": args}]}}},
            "status": {"readyReplicas": ready}})
    }

    /// Serves `echo` answering `answer-<name>`, marked global unless `global` is false.
    fn serve(v: &mut ClusterView, global: bool) {
        let labels = if global {
            json!({"solo.io/service-scope": "global"})
        } else {
            json!({})
        };
        v.objects.push(service(labels, json!({})));
        let text = format!("-text=answer-{}", v.name);
        v.objects.push(deployment(json!(["-listen=:8080", text]), 1));
    }

    fn set_distribution(v: &mut ClusterView, value: &str) {
        for o in v.objects.iter_mut().filter(|o| o["kind"] == "Service") {
            o["metadata"]["annotations"][DISTRIBUTION] = json!(value);
        }
    }

    fn gateway(class: &str, spec_addr: Option<&str>, status_addr: Option<&str>) -> Value {
        let mut g = json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": class, "namespace": "istio-gateways"},
            "spec": {"gatewayClassName": class}});
        if let Some(a) = spec_addr {
            g["spec"]["addresses"] = json!([{"type": "IPAddress", "value": a}]);
        }
        if let Some(a) = status_addr {
            g["status"]["addresses"] = json!([{"type": "IPAddress", "value": a}]);
        }
        g
    }

    fn eastwest(v: &mut ClusterView, addr: &str) {
        v.objects.push(gateway("istio-eastwest", None, Some(addr)));
    }

    fn peer(v: &mut ClusterView, addr: &str) {
        v.objects.push(gateway("istio-remote", Some(addr), None));
    }

    fn remote_secret(v: &mut ClusterView, server: &str) {
        let kubeconfig =
            format!("apiVersion: v1\nkind: Config\nclusters:\n- name: z\n  cluster:\n    server: {server}\n");
        v.objects.push(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("istio-remote-secret-{}", v.objects.len()), "namespace": ISTIO_SYSTEM,
                         "labels": {"istio/multiCluster": "true"}},
            "data": {"z": B64.encode(kubeconfig)}}));
    }

    fn cacerts(v: &mut ClusterView, root: &str) {
        v.objects.push(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cacerts", "namespace": ISTIO_SYSTEM},
            "data": {"root-cert.pem": B64.encode(root)}}));
    }

    fn probe(url: &str, requests: usize) -> Probe {
        let spec = json!({"containers": [{"name": "client", "env": [
            {"name": "PROBE_URL", "value": url}, {"name": "PROBE_REQUESTS", "value": requests.to_string()}]}]});
        probe_of(&spec, "default").expect("probe")
    }

    fn lines(url: &str, requests: usize, source: usize, world: &[ClusterView]) -> Vec<String> {
        log(&probe(url, requests), source, world)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Two clusters on different networks, both serving globally, sharing a root.
    fn pair() -> Vec<ClusterView> {
        let (mut a, mut b) = (cluster("a", 1000, "net-a"), cluster("b", 2000, "net-b"));
        for v in [&mut a, &mut b] {
            serve(v, true);
            cacerts(v, "root-1");
        }
        eastwest(&mut a, "203.0.113.10");
        eastwest(&mut b, "203.0.113.11");
        vec![a, b]
    }

    #[test]
    fn local_only_answers_itself() {
        let mut world = pair();
        set_distribution(&mut world[0], "Any");
        assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
    }

    #[test]
    fn the_log_ends_every_line() {
        let world = pair();
        assert_eq!(log(&probe(GLOBAL_URL, 2), 0, &world), "answer-a\nanswer-a\n");
        assert_eq!(log(&probe(GLOBAL_URL, 0), 0, &world), "");
    }

    #[test]
    fn peering_links_and_any_spreads_round_robin() {
        let mut world = pair();
        peer(&mut world[0], "203.0.113.11");
        set_distribution(&mut world[0], "Any");
        assert_eq!(
            lines(GLOBAL_URL, 4, 0, &world),
            vec!["answer-a", "answer-b", "answer-a", "answer-b"]
        );
        // Links are one-way: b has no peer of a.
        set_distribution(&mut world[1], "Any");
        assert_eq!(lines(GLOBAL_URL, 2, 1, &world), vec!["answer-b"; 2]);
    }

    #[test]
    fn candidates_follow_sandbox_order_from_any_source() {
        let mut world = pair();
        let mut c = cluster("c", 3000, "net-c");
        serve(&mut c, true);
        cacerts(&mut c, "root-1");
        world.push(c);
        peer(&mut world[2], "203.0.113.10");
        peer(&mut world[2], "203.0.113.11");
        set_distribution(&mut world[2], "Any");
        assert_eq!(
            lines(GLOBAL_URL, 4, 2, &world),
            vec!["answer-a", "answer-b", "answer-c", "answer-a"]
        );
    }

    #[test]
    fn stale_peer_address_is_not_reached() {
        let mut world = pair();
        peer(&mut world[0], "203.0.113.99");
        set_distribution(&mut world[0], "Any");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    }

    #[test]
    fn eastwest_service_ingress_counts_as_an_address() {
        let mut world = pair();
        world[1].objects.retain(|o| o["kind"] != "Gateway");
        world[1]
            .objects
            .push(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": EASTWEST_SERVICE, "namespace": ISTIO_SYSTEM},
            "spec": {"type": "LoadBalancer"},
            "status": {"loadBalancer": {"ingress": [{"hostname": "ew.b.example"}]}}}));
        peer(&mut world[0], "ew.b.example");
        set_distribution(&mut world[0], "Any");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
    }

    #[test]
    fn remote_secret_links_within_a_network() {
        let (mut a, mut b) = (cluster("a", 1000, "net-1"), cluster("b", 2000, "net-1"));
        for v in [&mut a, &mut b] {
            serve(v, false);
            cacerts(v, "root-1");
        }
        remote_secret(&mut a, "https://127.0.0.1:2000");
        let world = vec![a, b];
        // Cluster-local hosts default to Any: namesakes are merged mesh-wide.
        assert_eq!(lines(LOCAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
        assert_eq!(
            lines("http://echo.probe/", 2, 0, &world),
            vec!["answer-a", "answer-b"]
        );
    }

    #[test]
    fn remote_secret_server_must_match_exactly() {
        let (mut a, mut b) = (cluster("a", 1000, "net-1"), cluster("b", 2000, "net-1"));
        serve(&mut b, false);
        cacerts(&mut a, "r");
        cacerts(&mut b, "r");
        remote_secret(&mut a, "https://127.0.0.1:20001");
        let world = vec![a, b];
        assert_eq!(
            lines(LOCAL_URL, 1, 0, &world),
            vec!["error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local"]
        );
    }

    #[test]
    fn remote_secret_across_networks_needs_an_eastwest_address() {
        let (mut a, mut b) = (cluster("a", 1000, "net-a"), cluster("b", 2000, "net-b"));
        serve(&mut b, false);
        cacerts(&mut a, "r");
        cacerts(&mut b, "r");
        remote_secret(&mut a, "https://127.0.0.1:2000/");
        let mut world = vec![a, b];
        let unresolved = "error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local";
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec![unresolved]);
        eastwest(&mut world[1], "203.0.113.11");
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["answer-b"]);
    }

    #[test]
    fn different_or_missing_roots_reset_remote_requests() {
        let mut world = pair();
        peer(&mut world[0], "203.0.113.11");
        set_distribution(&mut world[0], "Any");
        world[1].objects.retain(|o| store::name_of(o) != "cacerts");
        cacerts(&mut world[1], "root-2");
        assert_eq!(
            lines(GLOBAL_URL, 4, 0, &world),
            vec!["answer-a", RESET, "answer-a", RESET]
        );
        world[1].objects.retain(|o| store::name_of(o) != "cacerts");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", RESET]);
        // The caller's own endpoints never need a shared root.
        world[0].objects.retain(|o| store::name_of(o) != "cacerts");
        assert_eq!(lines(GLOBAL_URL, 1, 0, &world), vec!["answer-a"]);
    }

    #[test]
    fn prefer_network_keeps_traffic_local() {
        let mut world = pair();
        peer(&mut world[0], "203.0.113.11");
        // The default for the global host.
        assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
        set_distribution(&mut world[0], "PreferNetwork");
        assert_eq!(lines(GLOBAL_URL, 3, 0, &world), vec!["answer-a"; 3]);
        // Nothing in the network serves: other networks do.
        world[0].objects.retain(|o| o["kind"] != "Deployment");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b"; 2]);
    }

    #[test]
    fn prefer_close_keeps_the_own_cluster_first() {
        let (mut a, mut b, mut c) = (
            cluster("a", 1000, "n1"),
            cluster("b", 2000, "n1"),
            cluster("c", 3000, "n2"),
        );
        for v in [&mut a, &mut b, &mut c] {
            serve(v, true);
            cacerts(v, "r");
        }
        eastwest(&mut b, "10.0.0.2");
        eastwest(&mut c, "10.0.0.3");
        peer(&mut a, "10.0.0.2");
        peer(&mut a, "10.0.0.3");
        set_distribution(&mut a, "PreferClose");
        let mut world = vec![a, b, c];
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
        // Not serving itself: the same network next.
        world[0].objects.retain(|o| o["kind"] != "Deployment");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b"; 2]);
        set_distribution(&mut world[0], "PreferRegion");
        world[1].objects.retain(|o| o["kind"] != "Deployment");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-c"; 2]);
    }

    #[test]
    fn distribution_comes_from_a_serving_cluster_without_an_own_service() {
        let mut world = pair();
        let mut c = cluster("c", 3000, "net-a");
        serve(&mut c, true);
        cacerts(&mut c, "root-1");
        eastwest(&mut c, "203.0.113.12");
        world.push(c);
        world[0]
            .objects
            .retain(|o| o["kind"] != "Service" && o["kind"] != "Deployment");
        peer(&mut world[0], "203.0.113.11");
        peer(&mut world[0], "203.0.113.12");
        // The default (PreferNetwork) keeps to c, a's network.
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-c"; 2]);
        set_distribution(&mut world[1], "Any");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-b", "answer-c"]);
    }

    #[test]
    fn global_host_needs_a_global_service() {
        let mut world = pair();
        peer(&mut world[0], "203.0.113.11");
        set_distribution(&mut world[0], "Any");
        let b_svc = world[1]
            .objects
            .iter_mut()
            .find(|o| o["kind"] == "Service")
            .expect("svc");
        b_svc["metadata"]["labels"] = json!({});
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
        // The cluster-local host ignores the label.
        assert_eq!(lines(LOCAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
        let b_svc = world[1]
            .objects
            .iter_mut()
            .find(|o| o["kind"] == "Service")
            .expect("svc");
        // Upstream ambient's label makes no mesh.internal host: upstream has no global domain.
        b_svc["metadata"]["labels"] = json!({"istio.io/global": "true"});
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
        b_svc_scope(&mut world[1], "global");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
        b_svc_scope(&mut world[1], "global-only");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a", "answer-b"]);
        b_svc_scope(&mut world[1], "cluster");
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
    }

    fn b_svc_scope(v: &mut ClusterView, scope: &str) {
        set_labels(v, json!({"solo.io/service-scope": scope}));
    }

    fn set_labels(v: &mut ClusterView, labels: Value) {
        if let Some(s) = v.objects.iter_mut().find(|o| o["kind"] == "Service") {
            s["metadata"]["labels"] = labels;
        }
    }

    /// Namespace `probe` of `v` in `mode` (`istio.io/dataplane-mode`, or sidecar injection).
    fn probe_namespace(v: &mut ClusterView, ambient: bool) {
        let labels = if ambient {
            json!({"istio.io/dataplane-mode": "ambient"})
        } else {
            json!({"istio-injection": "enabled"})
        };
        v.objects.push(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NS, "labels": labels}}));
    }

    /// Like [`lines`], called from namespace `probe`.
    fn lines_from_probe_ns(url: &str, requests: usize, source: usize, world: &[ClusterView]) -> Vec<String> {
        let spec = json!({"containers": [{"name": "client", "env": [
            {"name": "PROBE_URL", "value": url}, {"name": "PROBE_REQUESTS", "value": requests.to_string()}]}]});
        let probe = probe_of(&spec, NS).expect("probe");
        log(&probe, source, world).lines().map(str::to_string).collect()
    }

    /// Two clusters on one network, linked both ways by remote secrets, sharing a root,
    /// each serving `echo` labelled `istio.io/global: "true"` from an ambient namespace.
    fn upstream_ambient_pair() -> Vec<ClusterView> {
        let (mut a, mut b) = (cluster("a", 1000, "net-1"), cluster("b", 2000, "net-1"));
        for v in [&mut a, &mut b] {
            serve(v, false);
            set_labels(v, json!({"istio.io/global": "true"}));
            probe_namespace(v, true);
            cacerts(v, "root-1");
        }
        remote_secret(&mut a, "https://127.0.0.1:2000");
        remote_secret(&mut b, "https://127.0.0.1:1000");
        vec![a, b]
    }

    /// Upstream ambient (istio 1.30.3) has no global domain: a Service labelled
    /// `istio.io/global` is reached as `<svc>.<ns>.svc.cluster.local`, with the endpoints of
    /// every cluster where it is global; `mesh.internal` resolves nowhere.
    #[test]
    fn upstream_ambient_global_services_keep_their_cluster_local_host() {
        let mut world = upstream_ambient_pair();
        assert_eq!(
            lines_from_probe_ns(LOCAL_URL, 4, 0, &world),
            vec!["answer-a", "answer-b", "answer-a", "answer-b"]
        );
        assert_eq!(
            lines_from_probe_ns("http://echo.probe/", 2, 1, &world),
            vec!["answer-a", "answer-b"]
        );
        let unresolved = "error: curl: (6) Could not resolve host: echo.probe.mesh.internal";
        assert_eq!(lines_from_probe_ns(GLOBAL_URL, 2, 0, &world), vec![unresolved; 2]);
        // b's Service not global: a's ztunnel never learns b's endpoints (services.go:248).
        set_labels(&mut world[1], json!({}));
        assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 0, &world), vec!["answer-a"; 2]);
        // ... and b's own LOCAL Service is not merged with a's global one (multicluster.go:654).
        assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 1, &world), vec!["answer-b"; 2]);
        // Without a Service of its own the caller takes the global one of the others.
        world[1].objects.retain(|o| o["kind"] != "Service");
        assert_eq!(lines_from_probe_ns(LOCAL_URL, 2, 1, &world), vec!["answer-a"; 2]);
    }

    #[test]
    fn sidecar_callers_reach_every_namesake() {
        let mut world = upstream_ambient_pair();
        for v in &mut world {
            v.objects
                .retain(|o| o["kind"] != "Namespace" || o["metadata"]["name"] != NS);
            probe_namespace(v, false);
        }
        set_labels(&mut world[1], json!({}));
        assert_eq!(
            lines_from_probe_ns(LOCAL_URL, 2, 0, &world),
            vec!["answer-a", "answer-b"]
        );
    }

    #[test]
    fn no_candidates_is_a_resolve_error() {
        let world = vec![cluster("a", 1000, "n")];
        let want = "error: curl: (6) Could not resolve host: echo.probe.mesh.internal";
        assert_eq!(lines(GLOBAL_URL, 2, 0, &world), vec![want; 2]);
        assert_eq!(
            lines("http://example.com.evil.org/", 1, 0, &world),
            vec!["error: curl: (6) Could not resolve host: example.com.evil.org"]
        );
    }

    #[test]
    fn unready_or_unselected_deployments_do_not_serve() {
        let mut world = vec![cluster("a", 1000, "n")];
        world[0].objects.push(service(json!({}), json!({})));
        world[0].objects.push(deployment(json!(["-text=x"]), 0));
        let unresolved = vec!["error: curl: (6) Could not resolve host: echo.probe.svc.cluster.local"];
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), unresolved);
        let mut other = deployment(json!(["-text=x"]), 1);
        other["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
        world[0].objects.push(other);
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), unresolved);
        world[0].objects.push(deployment(json!(["-text=x"]), 2));
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["x"]);
    }

    #[test]
    fn echo_text_forms() {
        let text = |args: Value| echo_text(&deployment(args, 1));
        assert_eq!(
            text(json!(["-text=kubectl-mesh-probe cluster=east-1"])).as_deref(),
            Some("kubectl-mesh-probe cluster=east-1")
        );
        assert_eq!(
            text(json!(["-listen=:8080", "-text", "hi there"])).as_deref(),
            Some("hi there")
        );
        assert_eq!(text(json!(["--text=x"])).as_deref(), Some("x"));
        assert_eq!(text(json!(["-text=two\nlines"])).as_deref(), Some("two lines"));
        assert_eq!(text(json!(["-texts=x", "-listen=:80"])), None);
        assert_eq!(text(json!(["-text"])), None);
        // Without a -text the answer is the cluster's name.
        let mut world = vec![cluster("east-1", 1000, "n")];
        world[0].objects.push(service(json!({}), json!({})));
        world[0].objects.push(deployment(json!(["-listen=:8080"]), 1));
        assert_eq!(lines(LOCAL_URL, 1, 0, &world), vec!["east-1"]);
    }

    #[test]
    fn probe_env_contract() {
        let spec = |env: Value| json!({"containers": [{"name": "c", "env": env}, {"name": "d"}]});
        assert_eq!(probe_of(&spec(json!([])), "ns"), None);
        assert_eq!(probe_of(&json!({"containers": [{"name": "c"}]}), "ns"), None);
        let p = probe_of(
            &spec(json!([{"name": "PROBE_URL", "value": "http://Echo.Probe.mesh.internal./x"}])),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.host, "echo.probe.mesh.internal");
        assert_eq!(p.requests, 1);
        assert_eq!(p.namespace, "ns", "the caller's namespace");
        assert_eq!(
            p.target,
            Some(Target {
                service: "echo".into(),
                namespace: "probe".into(),
                global: true
            })
        );
        let p = probe_of(
            &spec(
                json!([{"name": "PROBE_URL", "value": "http://user@echo:8080?q=1"},
                           {"name": "PROBE_REQUESTS", "value": "999999999"}]),
            ),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.requests, MAX_REQUESTS);
        assert_eq!(
            p.target.map(|t| (t.namespace, t.global)),
            Some(("ns".to_string(), false))
        );
        let p = probe_of(
            &spec(json!([{"name": "PROBE_URL", "value": "echo.probe.svc"},
                           {"name": "PROBE_REQUESTS", "value": "many"}])),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.requests, 1);
        assert_eq!(p.target.map(|t| t.namespace), Some("probe".to_string()));
        // Only the first container's env counts.
        let second = json!({"containers": [{"name": "c"}, {"name": "d", "env": [{"name": "PROBE_URL", "value": "x"}]}]});
        assert_eq!(probe_of(&second, "ns"), None);
    }

    #[test]
    fn host_parsing() {
        assert_eq!(
            host_of("http://a.b.svc.cluster.local:80/"),
            "a.b.svc.cluster.local"
        );
        assert_eq!(host_of("https://[::1]:443/x"), "::1");
        assert_eq!(host_of("a.b"), "a.b");
        assert_eq!(target_of("a.b.c.d", "ns"), None);
        assert_eq!(target_of("", "ns"), None);
    }
}
