//! `expose --service`: make a Service global (DESIGN §6) in every listed cluster where it
//! exists — only its scope label and traffic-distribution annotation are applied, so the
//! Service stays its owner's.
//!
//! Which label makes a Service global depends on the flavour; [`scope_label`] and
//! [`scope_of`] are that one rule, used by `expose --service` to write and by
//! `verify --services` to read.

use serde_json::{json, Value};

use crate::kube::apply::{self, WriteOptions};
use crate::kube::clusters::Cluster;
use crate::kube::kinds::{self, ObjectRef};
use crate::kube::{namespaces, parallel};
use crate::labels::{GLOBAL, SERVICE_SCOPE, TRAFFIC_DISTRIBUTION};
use crate::report::ClusterReport;
use crate::resources::eastwest::Flavor;
use crate::InputError;

/// The scopes `--scope` offers: Solo's values (ambient-peering).
pub const SCOPES: [&str; 2] = ["global", "global-only"];

/// The label (key, value) that makes a Service `scope` in `flavor`:
/// * ambient-peering: `solo.io/service-scope: global|global-only` (Solo's peering,
///   https://docs.solo.io/gloo-mesh/latest/ambient/multicluster/multi-apps/multi-apps/);
/// * ambient: `istio.io/global: "true"` — what the ambient profile's `serviceScopeConfigs`
///   selects (istio 1.30.3 manifests/charts/istio-control/istio-discovery/files/profile-ambient.yaml:10-16,
///   matched in pilot/pkg/serviceregistry/ambient/services.go:375). Upstream has only the scopes
///   LOCAL and GLOBAL (pilot/pkg/model/service.go:1412-1422), so no `global-only`;
/// * sidecar: no label exists — sidecar multicluster discovers every Service in every cluster
///   already (only meshConfig `serviceSettings[].settings.clusterLocal` narrows it,
///   pilot/pkg/model/cluster_local.go@1.30.3), so there is nothing to write.
pub fn scope_label(flavor: Flavor, scope: &str) -> Result<(&'static str, &'static str), InputError> {
    match (flavor, scope) {
        (Flavor::AmbientPeering, "global") => Ok((SERVICE_SCOPE, "global")),
        (Flavor::AmbientPeering, "global-only") => Ok((SERVICE_SCOPE, "global-only")),
        (Flavor::Ambient, "global") => Ok((GLOBAL, "true")),
        (Flavor::Ambient, "global-only") => Err(InputError::new(
            "--scope global-only is Solo's (flavour ambient-peering): upstream ambient has only global services (istio.io/global), which keep their cluster-local host too",
        )
        .with_hint("use --scope global with --flavor ambient")),
        (Flavor::Sidecar, _) => Err(InputError::new(
            "--service has no label to write for flavour sidecar: sidecar multicluster already discovers every Service in every cluster",
        )
        .with_hint("nothing to do; to keep a host in its own cluster, set meshConfig.serviceSettings[].settings.clusterLocal")),
        (_, other) => Err(InputError::new(format!("unknown scope {other:?}"))
            .with_hint(format!("use one of: {}", SCOPES.join(", ")))),
    }
}

/// How a Service takes part in the mesh of `flavor`, read by the rule of [`scope_label`]:
/// `global` or `global-only`, or `None` when it is not global there.
pub fn scope_of(flavor: Flavor, service: &Value) -> Option<&'static str> {
    let labels = service.pointer("/metadata/labels")?;
    let label = |key: &str| labels.get(key).and_then(Value::as_str);
    match flavor {
        Flavor::AmbientPeering => match label(SERVICE_SCOPE)? {
            "global" => Some("global"),
            "global-only" => Some("global-only"),
            _ => None,
        },
        Flavor::Ambient => (label(GLOBAL)? == "true").then_some("global"),
        Flavor::Sidecar => None,
    }
}

/// The label of the *other* ambient flavour, when a Service carries it but is not global in
/// `flavor`: it does nothing there (a Service labelled for the wrong mesh).
pub fn foreign_label(flavor: Flavor, service: &Value) -> Option<&'static str> {
    let other = match flavor {
        Flavor::AmbientPeering => Flavor::Ambient,
        Flavor::Ambient => Flavor::AmbientPeering,
        Flavor::Sidecar => return None,
    };
    if scope_of(flavor, service).is_some() || scope_of(other, service).is_none() {
        return None;
    }
    Some(match other {
        Flavor::Ambient => GLOBAL,
        _ => SERVICE_SCOPE,
    })
}

#[derive(Debug, Clone)]
pub struct GlobalService {
    pub name: String,
    pub namespace: String,
    /// The label that makes it global, from [`scope_label`].
    pub label: (&'static str, &'static str),
    pub traffic_distribution: Option<String>,
}

impl GlobalService {
    /// The fields we own on the Service.
    pub fn patch(&self) -> Value {
        let (key, value) = self.label;
        let mut object = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {key: value}},
        });
        if let Some(distribution) = &self.traffic_distribution {
            object["metadata"]["annotations"] = json!({TRAFFIC_DISTRIBUTION: distribution});
        }
        object
    }

    /// The host clients call, by the flavour whose label [`Self::label`] is
    /// ([`Flavor::global_host`]).
    pub fn host(&self) -> String {
        let flavor = match self.label.0 {
            GLOBAL => Flavor::Ambient,
            _ => Flavor::AmbientPeering,
        };
        flavor.global_host(&self.name, &self.namespace)
    }
}

pub async fn apply_all(
    clusters: &[Cluster],
    service: &GlobalService,
    write: &WriteOptions,
    limit: usize,
) -> Vec<ClusterReport> {
    parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        let mut report = ClusterReport::new(&cluster.name, &cluster.context);
        let path = kinds::SERVICE.object_path(Some(&service.namespace), &service.name);
        let object = ObjectRef { kind: "Service".into(), namespace: Some(service.namespace.clone()), name: service.name.clone() };
        match cluster.api.get(&path).await {
            Err(e) => report.fail(format!("{object}: {}", cluster.error(e))),
            Ok(None) => report.fail(format!(
                "{object} does not exist in cluster {}: deploy it there too, or leave this cluster out of --contexts",
                cluster.name
            )),
            Ok(Some(live)) => {
                let desired = service.patch();
                let outcome = apply::apply_over(&cluster.api, &desired, Some(&live), write).await;
                if let Err(e) = namespaces::record(&mut report, &desired, outcome) {
                    report.fail(cluster.write_error(e));
                }
            }
        }
        report
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(key: &str, value: &str) -> Value {
        json!({"metadata": {"labels": {key: value}}})
    }

    #[test]
    fn each_flavour_writes_its_own_label() {
        assert_eq!(
            scope_label(Flavor::AmbientPeering, "global").unwrap(),
            (SERVICE_SCOPE, "global")
        );
        assert_eq!(
            scope_label(Flavor::AmbientPeering, "global-only").unwrap(),
            (SERVICE_SCOPE, "global-only")
        );
        assert_eq!(scope_label(Flavor::Ambient, "global").unwrap(), (GLOBAL, "true"));
        assert!(scope_label(Flavor::Ambient, "global-only").is_err());
        assert!(scope_label(Flavor::Sidecar, "global").is_err());
    }

    #[test]
    fn upstream_ambient_has_no_global_domain() {
        assert_eq!(
            Flavor::AmbientPeering.global_host("reviews", "shop"),
            "reviews.shop.mesh.internal"
        );
        assert_eq!(
            Flavor::Ambient.global_host("reviews", "shop"),
            "reviews.shop.svc.cluster.local"
        );
        assert_eq!(
            Flavor::Sidecar.global_host("reviews", "shop"),
            "reviews.shop.svc.cluster.local"
        );
        for (flavor, host) in [
            (Flavor::AmbientPeering, "reviews.shop.mesh.internal"),
            (Flavor::Ambient, "reviews.shop.svc.cluster.local"),
        ] {
            let service = GlobalService {
                name: "reviews".into(),
                namespace: "shop".into(),
                label: scope_label(flavor, "global").unwrap(),
                traffic_distribution: None,
            };
            assert_eq!(service.host(), host, "{flavor}");
        }
    }

    #[test]
    fn verify_reads_what_expose_writes() {
        for flavor in [Flavor::AmbientPeering, Flavor::Ambient] {
            let (key, value) = scope_label(flavor, "global").unwrap();
            assert_eq!(
                scope_of(flavor, &labelled(key, value)),
                Some("global"),
                "{flavor}"
            );
        }
        assert_eq!(
            scope_of(Flavor::Ambient, &labelled(SERVICE_SCOPE, "global")),
            None
        );
        assert_eq!(scope_of(Flavor::AmbientPeering, &labelled(GLOBAL, "true")), None);
        assert_eq!(
            scope_of(Flavor::AmbientPeering, &labelled(SERVICE_SCOPE, "cluster")),
            None
        );
        assert_eq!(
            foreign_label(Flavor::Ambient, &labelled(SERVICE_SCOPE, "global")),
            Some(SERVICE_SCOPE)
        );
        assert_eq!(
            foreign_label(Flavor::AmbientPeering, &labelled(GLOBAL, "true")),
            Some(GLOBAL)
        );
        assert_eq!(foreign_label(Flavor::Ambient, &labelled(GLOBAL, "true")), None);
    }
}
