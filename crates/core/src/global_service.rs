//! `expose --service`: make a Service global (DESIGN §6) in every listed cluster where it
//! exists — only its scope label and traffic-distribution annotation are applied, so the
//! Service stays its owner's.

use serde_json::{json, Value};

use crate::apply::{self, WriteOptions};
use crate::clusters::Cluster;
use crate::report::ClusterReport;
use crate::resource::{self, ObjectRef};
use crate::verify::{SCOPE_LABEL, TRAFFIC_DISTRIBUTION};
use crate::{namespaces, parallel};

#[derive(Debug, Clone)]
pub struct GlobalService {
    pub name: String,
    pub namespace: String,
    /// `global` or `global-only`.
    pub scope: String,
    pub traffic_distribution: Option<String>,
}

impl GlobalService {
    /// The fields we own on the Service.
    pub fn patch(&self) -> Value {
        let mut object = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": {SCOPE_LABEL: self.scope}},
        });
        if let Some(distribution) = &self.traffic_distribution {
            object["metadata"]["annotations"] = json!({TRAFFIC_DISTRIBUTION: distribution});
        }
        object
    }

    pub fn host(&self) -> String {
        format!("{}.{}.mesh.internal", self.name, self.namespace)
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
        let path = resource::SERVICE.object_path(Some(&service.namespace), &service.name);
        let object = ObjectRef { kind: "Service".into(), namespace: Some(service.namespace.clone()), name: service.name.clone() };
        match cluster.api.get(&path).await {
            Err(e) => report.fail(format!("{object}: {}", cluster.explain(&e))),
            Ok(None) => report.fail(format!(
                "{object} does not exist in cluster {}: deploy it there too, or leave this cluster out of --contexts",
                cluster.name
            )),
            Ok(Some(live)) => {
                let desired = service.patch();
                let outcome = apply::apply_over(&cluster.api, &desired, Some(&live), write).await;
                if let Err(e) = namespaces::record(&mut report, &desired, outcome) {
                    report.fail(cluster.explain_write(&e));
                }
            }
        }
        report
    })
    .await
}
