//! Objects a fresh cluster has, and what an Istio install leaves behind.

use anyhow::Result;
use serde_json::{json, Value};

use crate::cluster::{write_locked, SEED_MANAGER};
use crate::store::Store;

/// What [`IstioSeed`] puts in a cluster: `istio-system` (labelled with the network),
/// the `istio` mesh-config ConfigMap and a ready `istiod` Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IstioSeed {
    /// `topology.istio.io/network` label on `istio-system`.
    pub network: Option<String>,
    /// Mesh config `trustDomain` (default `cluster.local`).
    pub trust_domain: String,
    /// Mesh config `defaultConfig.meshId`.
    pub mesh_id: Option<String>,
    /// istiod image tag (default `1.28.0`).
    pub version: String,
}

impl Default for IstioSeed {
    fn default() -> Self {
        IstioSeed {
            network: None,
            trust_domain: "cluster.local".into(),
            mesh_id: None,
            version: "1.28.0".into(),
        }
    }
}

impl IstioSeed {
    pub fn network(network: &str) -> Self {
        IstioSeed {
            network: Some(network.to_string()),
            ..Default::default()
        }
    }
    pub fn trust_domain(mut self, td: &str) -> Self {
        self.trust_domain = td.to_string();
        self
    }
    pub fn mesh_id(mut self, id: &str) -> Self {
        self.mesh_id = Some(id.to_string());
        self
    }
    pub fn version(mut self, v: &str) -> Self {
        self.version = v.to_string();
        self
    }

    fn mesh_config(&self) -> String {
        let mut s = String::from("defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\n");
        if let Some(id) = &self.mesh_id {
            s.push_str(&format!("  meshId: {id}\n"));
        }
        s.push_str("rootNamespace: istio-system\n");
        s.push_str(&format!("trustDomain: {}\n", self.trust_domain));
        s
    }

    fn objects(&self) -> Vec<Value> {
        let mut labels = json!({"kubernetes.io/metadata.name": "istio-system"});
        if let Some(n) = &self.network {
            labels["topology.istio.io/network"] = json!(n);
        }
        let app = json!({"app": "istiod", "istio.io/rev": "default"});
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system", "labels": labels}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "istio", "namespace": "istio-system", "labels": {"istio.io/rev": "default"}},
                   "data": {"mesh": self.mesh_config(), "meshNetworks": "networks: {}"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "istiod", "namespace": "istio-system", "labels": app},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                            "template": {"metadata": {"labels": app},
                                         "spec": {"serviceAccountName": "istiod",
                                                  "containers": [{"name": "discovery", "image": format!("docker.io/istio/pilot:{}", self.version)}]}}},
                   "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "istiod", "namespace": "istio-system"}}),
        ]
    }
}

/// A uid that stays the same for a cluster name across runs (kube-system's uid is
/// what tools use as a cluster id).
pub(crate) fn stable_uid(seed: &str) -> String {
    let h = |salt: u64| {
        seed.bytes().fold(0xcbf2_9ce4_8422_2325u64 ^ salt, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    };
    let hex = format!("{:016x}{:016x}", h(1), h(2));
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn namespace(name: &str, uid: Option<String>) -> Value {
    let mut ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
    if let Some(uid) = uid {
        ns["metadata"]["uid"] = json!(uid);
    }
    ns
}

pub(crate) fn base(st: &mut Store, cluster: &str) -> Result<()> {
    write_locked(st, namespace("default", None), SEED_MANAGER, "")?;
    write_locked(
        st,
        namespace("kube-system", Some(stable_uid(&format!("kube-system/{cluster}")))),
        SEED_MANAGER,
        "",
    )?;
    write_locked(st, namespace("kube-public", None), SEED_MANAGER, "")?;
    write_locked(st, namespace("kube-node-lease", None), SEED_MANAGER, "")?;
    Ok(())
}

pub(crate) fn istio(st: &mut Store, seed: &IstioSeed) -> Result<()> {
    for mut obj in seed.objects() {
        if obj["kind"] == "Namespace" {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Active"});
        }
        write_locked(st, obj, SEED_MANAGER, "")?;
    }
    Ok(())
}
