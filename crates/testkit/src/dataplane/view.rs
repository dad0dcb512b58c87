//! One cluster as the data plane sees it: a snapshot of the objects that decide what it
//! serves (Services selecting ready Deployments), where it can be reached (east-west
//! addresses, its network), whom it links to (peering Gateways, remote secrets) and which
//! root it trusts.

use serde_json::{Map, Value};

use super::probe::Target;
use super::secrets::{kubeconfig_servers, secret_value, secret_values};
use crate::meta;
use crate::registry::{self, GATEWAY_API_GROUP};
use crate::store::Store;

pub(super) const ISTIO_SYSTEM: &str = "istio-system";
pub(super) const NETWORK_LABEL: &str = "topology.istio.io/network";
const EASTWEST_CLASSES: &[&str] = &["istio-eastwest", "istio-east-west"];
const REMOTE_CLASS: &str = "istio-remote";
pub(super) const EASTWEST_SERVICE: &str = "istio-eastwestgateway";

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

    pub(super) fn items(
        &self,
        api_version: &'static str,
        kind: &'static str,
    ) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(move |o| {
            o.get("apiVersion").and_then(Value::as_str) == Some(api_version)
                && o.get("kind").and_then(Value::as_str) == Some(kind)
        })
    }

    pub(super) fn get(
        &self,
        api_version: &'static str,
        kind: &'static str,
        ns: &str,
        name: &str,
    ) -> Option<&Value> {
        self.items(api_version, kind)
            .find(|o| meta::namespace_of(o) == ns && meta::name_of(o) == name)
    }

    pub(super) fn gateways<'a>(&'a self, classes: &'a [&'a str]) -> impl Iterator<Item = &'a Value> + 'a {
        self.items("gateway.networking.k8s.io/v1", "Gateway").filter(|g| {
            g.pointer("/spec/gatewayClassName")
                .and_then(Value::as_str)
                .is_some_and(|c| classes.contains(&c))
        })
    }

    /// The `topology.istio.io/network` of `istio-system`; "" (Istio's default network)
    /// when unlabelled.
    pub(super) fn network(&self) -> &str {
        self.get("v1", "Namespace", "", ISTIO_SYSTEM)
            .and_then(|ns| label(ns, NETWORK_LABEL))
            .unwrap_or_default()
    }

    /// Where other clusters reach this one: its east-west Gateways' first status address
    /// and the load-balancer ingress of a classic `istio-eastwestgateway` Service.
    pub(super) fn eastwest_addresses(&self) -> Vec<&str> {
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
    pub(super) fn peered_addresses(&self) -> Vec<&str> {
        self.gateways(&[REMOTE_CLASS])
            .filter_map(|g| g.pointer("/spec/addresses").and_then(Value::as_array))
            .flatten()
            .filter_map(|a| a.get("value").and_then(Value::as_str))
            .collect()
    }

    /// The API servers named by this cluster's remote secrets (multi-primary).
    pub(super) fn remote_servers(&self) -> Vec<String> {
        self.items("v1", "Secret")
            .filter(|s| {
                meta::namespace_of(s) == ISTIO_SYSTEM && label(s, "istio/multiCluster") == Some("true")
            })
            .flat_map(secret_values)
            .flat_map(|kubeconfig| kubeconfig_servers(&kubeconfig))
            .collect()
    }

    /// `root-cert.pem` of `istio-system/cacerts`: the mesh root this cluster trusts.
    pub(super) fn root_cert(&self) -> Option<Vec<u8>> {
        let cacerts = self.get("v1", "Secret", ISTIO_SYSTEM, "cacerts")?;
        secret_value(cacerts, "root-cert.pem")
    }

    /// Whether the caller's namespace `ns` is in ambient mode (ztunnel carries its calls).
    pub(super) fn is_ambient(&self, ns: &str) -> bool {
        self.get("v1", "Namespace", "", ns)
            .and_then(|n| label(n, "istio.io/dataplane-mode"))
            == Some("ambient")
    }

    pub(super) fn service(&self, target: &Target) -> Option<&Value> {
        self.get("v1", "Service", &target.namespace, &target.service)
    }

    /// What this cluster answers for `target`, if it serves it: its Service selects a
    /// Deployment with a ready replica. Whether the Service takes part is [`super::routing`]'s call.
    pub(super) fn answer(&self, target: &Target) -> Option<String> {
        let svc = self.service(target)?;
        // A Service without a selector has no endpoints the mesh knows of.
        let selector = svc
            .pointer("/spec/selector")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())?;
        let deployment = self
            .items("apps/v1", "Deployment")
            .filter(|d| meta::namespace_of(d) == target.namespace)
            .find(|d| is_ready(d) && selects(selector, d))?;
        Some(echo_text(deployment).unwrap_or_else(|| self.name.clone()))
    }
}

pub(super) fn label<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get("metadata")?.get("labels")?.get(key)?.as_str()
}

pub(super) fn annotation<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get("metadata")?.get("annotations")?.get(key)?.as_str()
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
pub(super) fn echo_text(deployment: &Value) -> Option<String> {
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
