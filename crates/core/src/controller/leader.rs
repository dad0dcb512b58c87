//! Leader election on a `coordination.k8s.io/v1` Lease, by kube-lease-manager: replicas
//! race for the Lease with server-side apply (a conflict means someone else holds it), the
//! holder renews it `grace` before `duration` runs out, and a replica that stops renewing
//! loses it when `duration` has passed. Only the holder writes to the member clusters.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the Lease lives and how this replica is known.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    pub namespace: String,
    pub name: String,
    /// This replica's `holderIdentity` (the pod name in a cluster).
    pub identity: String,
    pub duration: Duration,
    /// How long before the lease runs out the holder renews it.
    pub grace: Duration,
}

/// A running election: `is_leader` follows the Lease.
pub struct Election {
    pub is_leader: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

impl Election {
    /// Joins the election (creating the Lease if there is none).
    pub async fn join(client: kube::Client, options: &LeaseOptions) -> Result<Election, String> {
        let manager = LeaseManagerBuilder::new(client, &options.name)
            .with_namespace(&options.namespace)
            .with_identity(&options.identity)
            .with_field_manager(format!("kubectl-mesh-controller-{}", options.identity))
            .with_duration(options.duration.as_secs().max(2))
            .with_grace(options.grace.as_secs().max(1))
            .build()
            .await
            .map_err(|e| format!("lease {}/{}: {e}", options.namespace, options.name))?;
        let (is_leader, task) = manager.watch().await;
        Ok(Election { is_leader, task })
    }

    /// Gives the Lease up (so a standby takes over at once rather than after `duration`).
    pub async fn resign(self) {
        drop(self.is_leader);
        let _ = self.task.await;
    }
}
