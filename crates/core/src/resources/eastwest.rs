//! The east-west gateway in its three flavours (DESIGN §5.1–5.3).

use std::str::FromStr;

use serde_json::Value;

use super::gateway_api::{Gateway, GatewaySpec, Listener};
use crate::kube::kinds::{self, Kind};
use crate::labels::{CLUSTER, EXPOSE_ISTIOD, ISTIO_SYSTEM, NETWORK};

/// How clusters of the mesh reach each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// Ambient with peering: a Gateway API east-west gateway, peers linked by remote Gateways.
    #[default]
    AmbientPeering,
    /// Upstream Istio ambient multi-network: HBONE gateway, links by remote secrets.
    Ambient,
    /// Sidecar multi-primary / primary-remote: a gateway Deployment and Istio Gateway objects.
    Sidecar,
}

impl Flavor {
    pub const NAMES: [&'static str; 3] = ["ambient-peering", "ambient", "sidecar"];
    pub const ALL: [Flavor; 3] = [Flavor::AmbientPeering, Flavor::Ambient, Flavor::Sidecar];

    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::AmbientPeering => "ambient-peering",
            Flavor::Ambient => "ambient",
            Flavor::Sidecar => "sidecar",
        }
    }

    /// The host clients call for the global Service `name` in `namespace`, in this flavour:
    /// * ambient-peering: `<name>.<ns>.mesh.internal`, Solo's global host (a global Service keeps
    ///   its cluster-local host too; `global-only` drops it), docs.solo.io, Solo Enterprise for
    ///   Istio 1.30.x, https://docs.solo.io/gloo-mesh/latest/ambient/multicluster/multi-apps/multi-apps/;
    /// * ambient (upstream): `<name>.<ns>.svc.cluster.local` — upstream has no global domain. The
    ///   ambient index names every Service, global or not, `kube.ServiceHostname(name, ns,
    ///   domainSuffix)` = `<name>.<ns>.svc.<domainSuffix>` (istio 1.30.3
    ///   pilot/pkg/serviceregistry/ambient/services.go:690, pilot/pkg/serviceregistry/kube/conversion.go:164-166);
    ///   `istio.io/global` only changes the scope (services.go:242-253: a remote cluster's Service is
    ///   kept only when GLOBAL), and multicluster.go:653-664 merges the endpoints of every cluster
    ///   into that same host when the caller's own Service is GLOBAL. `mesh.internal` occurs in
    ///   1.30.3 only as a ServiceEntry host in a test (ambient/workloads_test.go:323). The upstream
    ///   sample curls `helloworld.sample:5000` (istio.io
    ///   content/en/docs/ambient/install/multicluster/verify/index.md, "Verifying Cross-Cluster Traffic");
    /// * sidecar: `<name>.<ns>.svc.cluster.local`, namesakes merged across clusters.
    ///
    /// The domain suffix is assumed to be the default `cluster.local`.
    pub fn global_host(self, name: &str, namespace: &str) -> String {
        match self {
            Flavor::AmbientPeering => format!("{name}.{namespace}.mesh.internal"),
            Flavor::Ambient | Flavor::Sidecar => format!("{name}.{namespace}.svc.cluster.local"),
        }
    }
}

impl FromStr for Flavor {
    type Err = crate::InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ambient-peering" => Ok(Flavor::AmbientPeering),
            "ambient" => Ok(Flavor::Ambient),
            "sidecar" => Ok(Flavor::Sidecar),
            other => Err(crate::InputError::new(format!("unknown flavour {other:?}"))
                .with_hint(format!("use one of: {}", Flavor::NAMES.join(", ")))),
        }
    }
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that shapes the east-west gateway of one cluster.
#[derive(Debug, Clone, Default)]
pub struct EastWest {
    pub flavor: Flavor,
    pub network: String,
    /// The cluster's name (`--contexts` name=context), labelled `topology.istio.io/cluster` on
    /// the ambient-peering gateway; `None` (offline `--generate` with no cluster named) omits it.
    pub cluster: Option<String>,
    /// Overrides the gateway's name (and, for sidecar, its Deployment/Service/ServiceAccount).
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub gateway_class: Option<String>,
    /// Sidecar flavour: also route istiod's ports through the gateway (primary-remote).
    pub expose_istiod: bool,
}

/// The object to watch for readiness and the address it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl Readiness {
    pub fn path(&self) -> String {
        self.kind.object_path(Some(&self.namespace), &self.name)
    }
}

impl EastWest {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(match self.flavor {
            Flavor::AmbientPeering => "istio-eastwest",
            Flavor::Ambient | Flavor::Sidecar => "istio-eastwestgateway",
        })
    }

    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or(match self.flavor {
            Flavor::AmbientPeering => "istio-gateways",
            Flavor::Ambient | Flavor::Sidecar => ISTIO_SYSTEM,
        })
    }

    fn gateway_class(&self) -> &str {
        self.gateway_class.as_deref().unwrap_or(match self.flavor {
            Flavor::AmbientPeering => "istio-eastwest",
            Flavor::Ambient | Flavor::Sidecar => "istio-east-west",
        })
    }

    /// The objects of this gateway, in the order they must be applied (namespaces first are
    /// handled by the caller, which knows whether they exist).
    pub fn objects(&self) -> Vec<Value> {
        match self.flavor {
            Flavor::AmbientPeering => vec![self.peering_gateway()],
            Flavor::Ambient => vec![self.ambient_gateway()],
            Flavor::Sidecar => super::sidecar::objects(&super::sidecar::Gateway {
                name: self.name(),
                namespace: self.namespace(),
                network: &self.network,
                expose_istiod: self.expose_istiod,
            }),
        }
    }

    /// What `--wait` watches: the Gateway, or for sidecar the LoadBalancer Service.
    pub fn readiness(&self) -> Readiness {
        let kind = match self.flavor {
            Flavor::Sidecar => kinds::SERVICE,
            _ => kinds::GATEWAY,
        };
        Readiness {
            kind,
            namespace: self.namespace().to_string(),
            name: self.name().to_string(),
        }
    }

    /// The two listeners of an ambient-peering east-west gateway; peer Gateways reuse them.
    pub fn peering_listeners() -> Vec<Listener> {
        vec![
            Listener::new("cross-network", 15008, "HBONE", "Passthrough"),
            Listener::new("xds-tls", 15012, "TLS", "Passthrough"),
        ]
    }

    /// The cluster label is what Solo's automatic peering reads to name the cluster behind an
    /// east-west gateway (DESIGN §5.1; issue 13 item 3).
    fn peering_gateway(&self) -> Value {
        let mut labels = vec![(EXPOSE_ISTIOD, "15012"), (NETWORK, self.network.as_str())];
        if let Some(cluster) = &self.cluster {
            labels.push((CLUSTER, cluster));
        }
        self.gateway(&labels, Self::peering_listeners())
    }

    /// Terminate with `tls-terminate-mode: ISTIO_MUTUAL` is double HBONE: the gateway ends the
    /// outer tunnel with its mesh certificate (istio.io, ambient multi-primary multi-network
    /// install, "Install an ambient east-west gateway in cluster1", the Gateway that
    /// `samples/multicluster/gen-eastwest-gateway.sh --ambient` prints).
    fn ambient_gateway(&self) -> Value {
        let mut mesh = Listener::new("mesh", 15008, "HBONE", "Terminate");
        if let Some(tls) = &mut mesh.tls {
            tls.options = Some(super::string_map(&[(
                "gateway.istio.io/tls-terminate-mode",
                "ISTIO_MUTUAL",
            )]));
        }
        self.gateway(&[(NETWORK, &self.network)], vec![mesh])
    }

    fn gateway(&self, labels: &[(&str, &str)], listeners: Vec<Listener>) -> Value {
        let gateway = Gateway {
            metadata: super::object_meta(self.name(), Some(self.namespace()), labels),
            spec: GatewaySpec {
                gateway_class_name: self.gateway_class().into(),
                addresses: Vec::new(),
                listeners,
            },
        };
        super::to_value(&gateway, &super::label_order(labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peering_gateway_carries_the_cluster_label_when_named() {
        let mut gateway = EastWest {
            network: "net-a".into(),
            cluster: Some("east-1".into()),
            ..Default::default()
        };
        let labels = &gateway.objects()[0]["metadata"]["labels"];
        assert_eq!(labels[CLUSTER], "east-1");
        assert_eq!(labels[NETWORK], "net-a");
        gateway.cluster = None;
        assert!(gateway.objects()[0]["metadata"]["labels"].get(CLUSTER).is_none());
    }
}
