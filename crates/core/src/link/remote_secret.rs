//! Remote-secret links (DESIGN §5.5), for flavours ambient and sidecar: in every target a
//! read-only identity for istiod and its token; in every source a Secret holding a kubeconfig
//! for each target. A source's secrets are written as soon as their targets are prepared.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::{Backend, Facts, Links, OurLinks, PairReport, SourceLinks};
use crate::kube::apply::{self, DryRun, WriteOptions};
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::kinds::{self, name_of, Kind};
use crate::kube::{namespaces, parallel};
use crate::labels::{is_ours, ISTIO_SYSTEM};
use crate::report::ClusterReport;
use crate::resources::remote_secret::{self as rs, Credentials};

/// Options of remote-secret links.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    pub write: WriteOptions,
    pub parallel: usize,
    /// `--token-duration`: a bounded token by TokenRequest instead of a token Secret.
    pub token_duration: Option<Duration>,
    /// `--server`: the API address written into the kubeconfig (one target only).
    pub server: Option<String>,
    /// How long to wait for the token controller to fill the token Secret.
    pub token_wait: Duration,
}

/// Prepares a target (reader identity and token) and returns how to reach it.
pub async fn target_credentials(
    cluster: &Cluster,
    options: &RemoteOptions,
) -> Result<Credentials, ClusterError> {
    let mut report = ClusterReport::new(&cluster.name, &cluster.context);
    let write = &options.write;
    let fail = |e: apply::ApplyError| cluster.write_error(e);
    let ns = namespaces::ensure(&cluster.api, ISTIO_SYSTEM, None, write, &mut report)
        .await
        .map_err(fail)?;
    let write = namespaces::write_into(write, ns);
    let sa_path = kinds::SERVICE_ACCOUNT.object_path(Some(ISTIO_SYSTEM), rs::READER);
    // An existing reader account (e.g. from Istio's base chart) is reused as it is.
    if cluster
        .api
        .get(&sa_path)
        .await
        .map_err(|e| cluster.error(e))?
        .is_none()
    {
        apply::apply(&cluster.api, &rs::reader_service_account(), &write)
            .await
            .map_err(fail)?;
    }
    // What istioctl create-remote-secret applies, no more: the ClusterRole (which covers
    // secrets cluster-wide) and its binding (istio 1.30.3 istioctl/pkg/multicluster/remote_secret.go:431-456).
    for object in [rs::reader_cluster_role(), rs::reader_cluster_role_binding()] {
        apply::apply(&cluster.api, &object, &write).await.map_err(fail)?;
    }
    if write.dry_run != DryRun::None {
        return Ok(credentials(
            cluster,
            options,
            "<token issued when applied>".into(),
            None,
        ));
    }
    match options.token_duration {
        Some(duration) => {
            let token = request_token(cluster, duration).await?;
            Ok(credentials(cluster, options, token, None))
        }
        None => {
            apply::apply(&cluster.api, &rs::token_secret(), &write)
                .await
                .map_err(fail)?;
            let (token, ca) = wait_for_token(cluster, options.token_wait).await?;
            Ok(credentials(cluster, options, token, ca))
        }
    }
}

fn credentials(
    cluster: &Cluster,
    options: &RemoteOptions,
    token: String,
    secret_ca: Option<String>,
) -> Credentials {
    Credentials {
        cluster: cluster.name.clone(),
        server: options.server.clone().unwrap_or_else(|| cluster.server.clone()),
        // The token Secret's ca.crt is what the cluster itself says; the kubeconfig's is next best.
        ca_pem: secret_ca.or_else(|| cluster.ca_pem.clone()).unwrap_or_default(),
        token,
    }
}

async fn request_token(cluster: &Cluster, duration: Duration) -> Result<String, ClusterError> {
    let path = format!(
        "{}/token",
        kinds::SERVICE_ACCOUNT.object_path(Some(ISTIO_SYSTEM), rs::READER)
    );
    let answer = cluster
        .api
        .create(&path, &rs::token_request(duration.as_secs()))
        .await
        .map_err(|e| cluster.error(e))?;
    answer
        .pointer("/status/token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            cluster.state_error(format!(
                "cluster {}: the TokenRequest answer has no token",
                cluster.name
            ))
        })
}

/// Polls the token Secret until the token controller has filled it in.
async fn wait_for_token(
    cluster: &Cluster,
    limit: Duration,
) -> Result<(String, Option<String>), ClusterError> {
    use crate::kube::poll::{self, Pace, State, Waited};
    let path = kinds::SECRET.object_path(Some(ISTIO_SYSTEM), rs::TOKEN_SECRET);
    // The token controller fills the Secret a moment after it is created: absent or empty
    // means "not yet".
    let filled = |secret: Option<&Value>| {
        let field = |key: &str| secret.and_then(|s| crate::resources::cacerts::entry(s, key));
        match field("token").filter(|t| !t.is_empty()) {
            Some(token) => State::Done((token, field("ca.crt"))),
            None => State::Pending(None),
        }
    };
    let deadline = tokio::time::Instant::now() + limit;
    match poll::until(&cluster.api, &path, deadline, Pace::fixed(Duration::from_millis(100)), filled, || {}).await {
        Ok(token) => Ok(token),
        Err(Waited::Api(e)) => Err(cluster.error(e)),
        Err(Waited::Failed(why)) => Err(cluster.state_error(why)),
        Err(Waited::Timeout(_)) => Err(cluster.state_error(format!(
            "cluster {}: Secret istio-system/{} got no token within {}; is the token controller running? Or use --token-duration 720h",
            cluster.name,
            rs::TOKEN_SECRET,
            crate::duration::display(limit)
        ))),
    }
}

/// The remote secrets in a source (one LIST): ours by the cluster they point at, and the
/// names of the others. Listed by the label istiod itself selects them by (istio 1.30.3
/// pkg/kube/multicluster/secretcontroller.go, `MultiClusterSecretLabel`), so that a secret
/// `istioctl create-remote-secret` made under the same name is seen, and not taken over.
async fn existing_secrets(source: &Cluster) -> Links {
    let path = kinds::SECRET.collection_path(Some(ISTIO_SYSTEM));
    let selector = format!("{}=true", rs::MULTICLUSTER_LABEL);
    let items = source
        .api
        .list(&path, Some(&selector))
        .await
        .map_err(|e| source.error(e))?;
    let mut links = SourceLinks::default();
    for secret in items {
        if !is_ours(&secret) {
            links.others.insert(name_of(&secret).to_string());
        } else if let Some(target) = secret
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(rs::CLUSTER_ANNOTATION))
            .and_then(Value::as_str)
        {
            links.ours.insert(target.to_string(), secret);
        }
    }
    Ok(links)
}

/// The remote-secret backend of the link fan-out.
pub(super) struct RemoteSecrets<'a>(pub(super) &'a RemoteOptions);

impl Backend for RemoteSecrets<'_> {
    type Target = Credentials;

    async fn read(&self, cluster: &Cluster, as_target: bool, as_source: bool) -> Facts<Credentials> {
        let target = async {
            match as_target {
                true => Some(target_credentials(cluster, self.0).await),
                false => None,
            }
        };
        let links = async {
            match as_source {
                true => existing_secrets(cluster).await,
                false => Ok(SourceLinks::default()),
            }
        };
        let (target, links) = futures::join!(target, links);
        Facts { target, links }
    }

    fn target_event(&self, ready: bool) -> Option<&'static str> {
        Some(match ready {
            true => "reader identity ready",
            false => "reader identity failed",
        })
    }

    /// The secrets go into istio-system: make sure it exists, once per source.
    async fn prepare_source(&self, source: &Cluster) -> Result<WriteOptions, ClusterError> {
        let mut report = ClusterReport::new(&source.name, &source.context);
        let write = &self.0.write;
        match namespaces::ensure(&source.api, ISTIO_SYSTEM, None, write, &mut report).await {
            Ok(ns) => Ok(namespaces::write_into(write, ns)),
            Err(e) => Err(source.write_error(e)),
        }
    }

    fn write(&self) -> &WriteOptions {
        &self.0.write
    }

    fn desired(&self, creds: &Credentials) -> Value {
        rs::remote_secret_for_apply(creds)
    }

    fn describe(&self, mut report: PairReport, creds: &Credentials) -> PairReport {
        report.address = Some(creds.server.clone());
        report
    }

    fn link_of(&self, peer: &str) -> (Kind, &str, String) {
        (kinds::SECRET, ISTIO_SYSTEM, rs::secret_name(peer))
    }

    fn source_event(&self, reports: &[PairReport]) -> String {
        format!("{} remote secrets written or checked", reports.len())
    }

    /// Peer Gateways (flavour ambient-peering), ours, where `up` and `link` put them by
    /// default: a namespaced LIST, which needs no cluster-wide read of Gateways.
    fn other_links(&self) -> OurLinks {
        OurLinks::peer_gateways()
    }
}

/// Primary-remote: each remote's istio-system names the primary as its control plane. One
/// report per remote, as a link from the remote to the primary.
pub async fn annotate_remotes(
    remotes: &[Cluster],
    primary: &str,
    options: &RemoteOptions,
) -> Vec<PairReport> {
    // A field manager of its own: applied under ours, this partial Namespace would take away
    // the network label our manager applied to the same object.
    let write = WriteOptions {
        field_manager: format!("{}-control-plane", options.write.field_manager),
        ..options.write.clone()
    };
    let write = &write;
    parallel::map_bounded(remotes.iter().collect(), options.parallel, |remote| async move {
        let desired = rs::control_plane_annotation(primary);
        let result = apply::apply(&remote.api, &desired, write).await;
        let mut report = PairReport::new(&remote.name, primary).of(result.map_err(|e| remote.write_error(e)));
        report.address = Some("controlPlaneClusters annotation".into());
        report
    })
    .await
}

/// istioctl's warning when the API address a remote secret would carry is a loopback one,
/// which istiod in another cluster cannot reach (istio 1.30.3
/// istioctl/pkg/multicluster/remote_secret.go:468-480, `getServerFromKubeconfig`, which checks
/// for "127.0.0.1" and "localhost"; any loopback IP, `::1` included, counts here). `--server`
/// overrides the address, for one target at a time.
pub fn loopback_warning(cluster: &str, server: &str) -> Option<String> {
    is_loopback(server).then(|| {
        format!(
            "cluster {cluster}: server in kubeconfig is {server}. This is likely not reachable from inside the cluster, if you're using Kubernetes in Docker, pass --server with the container IP for the API Server (one target at a time: --from SOURCE --to {cluster} --server URL)"
        )
    })
}

/// Whether a URL's host is `localhost` or a loopback IP (`127.0.0.0/8`, `::1`).
fn is_loopback(server: &str) -> bool {
    let rest = server.split_once("://").map_or(server, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Decodes the kubeconfig held by a live remote secret (for checks and tests).
pub fn kubeconfig_of(secret: &Value, target: &str) -> Option<String> {
    let encoded = secret.get("data")?.get(target)?.as_str()?;
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_servers_are_warned_about() {
        for server in [
            "https://127.0.0.1:6443",
            "https://127.0.0.2",
            "https://localhost:6443/",
            "https://[::1]:6443",
            "https://LOCALHOST",
        ] {
            assert!(loopback_warning("b", server).is_some(), "{server}");
        }
        for server in [
            "https://203.0.113.9:6443",
            "https://[2001:db8::1]:6443",
            "https://api.example.com",
            "https://localhost.example.com",
        ] {
            assert_eq!(loopback_warning("b", server), None, "{server}");
        }
        let warning = loopback_warning("b", "https://127.0.0.1:6443").unwrap();
        assert!(
            warning.contains("This is likely not reachable from inside the cluster"),
            "{warning}"
        );
        assert!(warning.contains("pass --server"), "{warning}");
    }
}
