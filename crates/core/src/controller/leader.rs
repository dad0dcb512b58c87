//! Leader election on a `coordination.k8s.io/v1` Lease, by kube-lease-manager: replicas
//! race for the Lease with server-side apply (a conflict means someone else holds it), the
//! holder renews it `grace` before `duration` runs out, and a replica that stops renewing
//! loses it when `duration` has passed. Only the holder writes to the member clusters.
//!
//! kube-lease-manager keeps saying "leader" while its renewals fail (its watch loop logs the
//! error and retries), so a leader cut off from the Lease's cluster went on writing after a
//! standby had taken the Lease over. client-go's elector stops leading when it cannot renew
//! within its renew deadline; here a fence does the same: this replica leads only while the
//! Lease as last read names it and is `grace / 2` or more from running out. The Lease is read
//! every `grace / 4` on a task of its own and the fence looked at as often, so a leader that
//! cannot read it stops before it runs out, while a healthy one, renewed `grace` before that,
//! is not fenced off.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
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

/// A running election: `is_leader` follows the Lease, fenced as the module says.
pub struct Election {
    pub is_leader: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Election {
    /// Joins the election (creating the Lease if there is none). A Lease cluster that does
    /// not answer yet is not an error: the election keeps trying in the background, and this
    /// replica does not lead meanwhile. One that answers with an error (no such namespace,
    /// forbidden) is.
    pub async fn join(client: kube::Client, options: &LeaseOptions) -> Result<Election, String> {
        let first = build(client.clone(), options).await;
        if let Err(e) = &first {
            if !is_transient(e) {
                return Err(describe(options, e));
            }
            tracing::warn!(error = %describe(options, e), "lease: its cluster does not answer; not leading, trying again");
        }
        let (tx, is_leader) = watch::channel(false);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(elect(client, options.clone(), first.ok(), tx, stopped));
        Ok(Election {
            is_leader,
            stop,
            task,
        })
    }

    /// Gives the Lease up (a standby takes it at its next look, rather than once it runs out).
    pub async fn resign(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn build(client: kube::Client, options: &LeaseOptions) -> Result<LeaseManager, LeaseManagerError> {
    LeaseManagerBuilder::new(client, &options.name)
        .with_namespace(&options.namespace)
        .with_identity(&options.identity)
        .with_field_manager(format!("kubectl-mesh-controller-{}", options.identity))
        .with_duration(options.duration.as_secs().max(2))
        .with_grace(options.grace.as_secs().max(1))
        .build()
        .await
}

/// Builds the manager if the first try could not, runs its watch, and publishes whether this
/// replica leads: the manager's word, fenced by the Lease as last read.
async fn elect(
    client: kube::Client,
    options: LeaseOptions,
    manager: Option<LeaseManager>,
    tx: watch::Sender<bool>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut retry = Duration::from_secs(1);
    let mut manager = manager;
    let manager = loop {
        if let Some(manager) = manager.take() {
            break manager;
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(retry) => {}
        }
        match build(client.clone(), &options).await {
            Ok(built) => manager = Some(built),
            Err(e) => {
                tracing::warn!(error = %describe(&options, &e), "lease: not leading, trying again");
                retry = (retry * 2).min(options.duration);
            }
        }
    };
    let (mut holder, watcher) = manager.watch().await;
    let grace = options.grace.max(Duration::from_secs(1));
    let every = grace / 4;
    // The Lease is read on its own task, so that a slow read (a busy API server) delays only
    // what is known of the Lease, never the fence closing on what was last known.
    let (known, mut valid_until) = watch::channel(None);
    let reader = tokio::spawn(read_lease(client, options.clone(), every, known));
    let mut look = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            changed = holder.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            changed = valid_until.changed() => {
                // The reader never ends on its own; if it did, nothing would fence us.
                if changed.is_err() {
                    break;
                }
            }
            _ = look.tick() => {}
        }
        let until = *valid_until.borrow();
        let leading = *holder.borrow() && fenced_in(until, SystemTime::now(), grace / 2);
        tx.send_if_modified(|was| std::mem::replace(was, leading) != leading);
    }
    reader.abort();
    let _ = tx.send(false);
    // Dropping the receiver makes the manager's watch release the Lease and end.
    drop(holder);
    let _ = watcher.await;
}

/// Reads the Lease every `every`, publishing until when it says this replica holds it. A
/// read that fails leaves the last one standing: the fence closes when that runs out.
async fn read_lease(
    client: kube::Client,
    options: LeaseOptions,
    every: Duration,
    known: watch::Sender<Option<SystemTime>>,
) {
    let leases: Api<Lease> = Api::namespaced(client, &options.namespace);
    loop {
        if let Ok(Ok(until)) = tokio::time::timeout(options.duration, held_until(&leases, &options)).await {
            known.send_if_modified(|was| std::mem::replace(was, until) != until);
        }
        tokio::time::sleep(every).await;
    }
}

/// Until when the Lease says this replica holds it (`None`: it does not), or `Err` when it
/// could not be read.
async fn held_until(leases: &Api<Lease>, options: &LeaseOptions) -> Result<Option<SystemTime>, kube::Error> {
    let lease = leases.get_opt(&options.name).await?;
    let spec = lease.and_then(|l| l.spec);
    let Some(spec) = spec.filter(|s| s.holder_identity.as_deref() == Some(options.identity.as_str())) else {
        return Ok(None);
    };
    let renewed = spec
        .renew_time
        .or(spec.acquire_time)
        .map(|t| SystemTime::from(t.0));
    let duration = spec
        .lease_duration_seconds
        .map(|s| Duration::from_secs(s.max(0) as u64))
        .unwrap_or(options.duration);
    Ok(renewed.map(|at| at + duration))
}

/// Whether a leader whose Lease runs out at `valid_until` may still write at `now`: not
/// within `margin` of that.
fn fenced_in(valid_until: Option<SystemTime>, now: SystemTime, margin: Duration) -> bool {
    valid_until.is_some_and(|until| now + margin < until)
}

/// A Lease cluster that did not answer (or answered 5xx/429): worth trying again.
fn is_transient(error: &LeaseManagerError) -> bool {
    match error {
        LeaseManagerError::KubeError(kube::Error::Api(status)) => {
            matches!(status.code, 429 | 500 | 502 | 503 | 504)
        }
        LeaseManagerError::KubeError(_) => true,
        _ => false,
    }
}

/// The error in words, with what to do about the common ones.
fn describe(options: &LeaseOptions, error: &LeaseManagerError) -> String {
    let at = format!("lease {}/{}", options.namespace, options.name);
    match error {
        LeaseManagerError::KubeError(kube::Error::Api(status)) => {
            let hint = match status.code {
                404 => format!(
                    "; does namespace {} exist in the Lease's cluster? Create it, or choose another with --lease-namespace",
                    options.namespace
                ),
                401 => "; the Lease cluster's credentials were rejected: log in again or refresh the token".into(),
                403 => "; the controller may not get, create or update Leases there: see `kubectl mesh controller --generate`'s Role".into(),
                _ => String::new(),
            };
            format!(
                "{at}: {} {}: {}{hint}",
                status.code, status.reason, status.message
            )
        }
        LeaseManagerError::KubeError(e) => format!("{at}: cannot reach its cluster: {e}"),
        other => format!("{at}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leader_is_fenced_off_before_its_lease_runs_out() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let until = |secs: u64| Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        let margin = Duration::from_millis(2_500);
        assert!(fenced_in(until(1_010), now, margin));
        assert!(fenced_in(until(1_003), now, margin));
        assert!(!fenced_in(until(1_002), now, margin), "within the margin");
        assert!(!fenced_in(until(990), now, margin), "ran out");
        assert!(!fenced_in(None, now, margin), "not the holder");
    }
}
