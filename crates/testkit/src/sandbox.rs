//! Starting several fake clusters and writing a kubeconfig for them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::cluster::{FakeCluster, Shared};
use crate::faults::FaultState;
use crate::seed::{self, IstioSeed};
use crate::store::Store;
use crate::world::World;
use crate::{controllers, meta, server, tls};

/// How to set up one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    /// Seed what an Istio install leaves (None: only the base namespaces).
    pub istio: Option<IstioSeed>,
    /// Serve gateway.networking.k8s.io (default true; false = no Gateway API CRDs).
    pub gateway_api: bool,
    /// Delay before Gateways / LoadBalancer Services get addresses; None = never.
    pub address_delay: Option<Duration>,
    /// Delay before Jobs complete (and their pod and its log appear).
    pub job_delay: Duration,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            istio: None,
            gateway_api: true,
            address_delay: Some(Duration::ZERO),
            job_delay: Duration::ZERO,
        }
    }
}

/// Collects clusters, then [`SandboxBuilder::start`]s them.
#[derive(Debug, Default)]
pub struct SandboxBuilder {
    clusters: Vec<(String, ClusterSpec)>,
}

impl SandboxBuilder {
    /// A cluster with the default [`ClusterSpec`].
    pub fn cluster(self, name: &str) -> Self {
        self.cluster_with(name, ClusterSpec::default())
    }

    pub fn cluster_with(mut self, name: &str, spec: ClusterSpec) -> Self {
        self.clusters.push((name.to_string(), spec));
        self
    }

    /// Binds every cluster to `127.0.0.1:0` and starts serving (needs a tokio runtime).
    pub async fn start(self) -> Result<Sandbox> {
        let mut sb = Sandbox {
            clusters: Vec::new(),
            tasks: Vec::new(),
        };
        let world = Arc::new(World::default());
        for (index, (name, spec)) in self.clusters.into_iter().enumerate() {
            if sb.get(&name).is_some() {
                bail!("duplicate cluster name {name:?}");
            }
            let (cluster, tasks) = start_cluster(index, &name, spec, &world).await?;
            sb.clusters.push(cluster);
            sb.tasks.extend(tasks);
        }
        Ok(sb)
    }
}

async fn start_cluster(
    index: usize,
    name: &str,
    spec: ClusterSpec,
    world: &Arc<World>,
) -> Result<(FakeCluster, Vec<JoinHandle<()>>)> {
    let material = tls::generate(name)?;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("bind 127.0.0.1:0")?;
    let mut store = Store::default();
    seed::base(&mut store, name)?;
    if let Some(istio) = &spec.istio {
        seed::istio(&mut store, istio)?;
    }
    let shared = Arc::new(Shared {
        name: name.to_string(),
        index,
        addr: listener.local_addr()?,
        ca_pem: material.ca_pem,
        issuer: material.issuer,
        token: meta::random_hex(48),
        user: "kubernetes-admin".into(),
        gateway_api: AtomicBool::new(spec.gateway_api),
        down: AtomicBool::new(false),
        store: Mutex::new(store),
        faults: Mutex::new(FaultState::default()),
        authn: Mutex::new(Default::default()),
        latency: Mutex::new(Duration::ZERO),
        address_delay: Mutex::new(spec.address_delay),
        job_delay: Mutex::new(spec.job_delay),
        lb_address: Mutex::new(Shared::initial_lb_address(index)),
    });
    // Before its controllers start, so they find it among the sandbox's clusters.
    world.add(&shared);
    let acceptor = TlsAcceptor::from(material.config);
    let tasks = vec![
        tokio::spawn(server::serve(listener, acceptor, shared.clone())),
        tokio::spawn(controllers::run(shared.clone(), world.clone())),
    ];
    Ok((FakeCluster { shared }, tasks))
}

/// How the users of a written kubeconfig authenticate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Auth {
    /// `token:` the cluster's admin bearer token ([`FakeCluster::token`]).
    #[default]
    Token,
    /// `client-certificate-data:`/`client-key-data:` a fresh client certificate for the
    /// admin user ([`FakeCluster::user`], group `system:masters`) signed by the cluster CA.
    ClientCert,
}

/// Running fake clusters. Dropping it stops them.
pub struct Sandbox {
    clusters: Vec<FakeCluster>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sandbox {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The cluster called `name`. Panics if there is none (a test bug).
    pub fn cluster(&self, name: &str) -> &FakeCluster {
        self.get(name)
            .unwrap_or_else(|| panic!("no cluster named {name:?} in the sandbox"))
    }

    pub fn get(&self, name: &str) -> Option<&FakeCluster> {
        self.clusters.iter().find(|c| c.name() == name)
    }

    pub fn clusters(&self) -> &[FakeCluster] {
        &self.clusters
    }

    /// A kubeconfig with one context, cluster and user per cluster, all named like the
    /// cluster; current-context is the first. Users carry bearer tokens.
    pub fn kubeconfig_yaml(&self) -> String {
        self.kubeconfig_yaml_with(Auth::Token)
    }

    /// [`Sandbox::kubeconfig_yaml`] with users authenticating by `auth`.
    pub fn kubeconfig_yaml_with(&self, auth: Auth) -> String {
        let clusters: Vec<_> = self
            .clusters
            .iter()
            .map(|c| json!({"name": c.name(), "cluster": {"server": c.server_url(), "certificate-authority-data": B64.encode(c.ca_pem())}}))
            .collect();
        let users: Vec<_> = self
            .clusters
            .iter()
            .map(|c| {
                let user = match auth {
                    Auth::Token => json!({"token": c.token()}),
                    Auth::ClientCert => {
                        let (cert, key) = c.client_cert_in_group(c.user(), Some("system:masters"));
                        json!({
                            "client-certificate-data": B64.encode(cert),
                            "client-key-data": B64.encode(key),
                        })
                    }
                };
                json!({"name": c.name(), "user": user})
            })
            .collect();
        let contexts: Vec<_> = self
            .clusters
            .iter()
            .map(|c| json!({"name": c.name(), "context": {"cluster": c.name(), "user": c.name()}}))
            .collect();
        let config = json!({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": clusters, "users": users, "contexts": contexts,
            "current-context": self.clusters.first().map(|c| c.name()).unwrap_or_default(),
        });
        // JSON, which is YAML too: serde_yaml_ng would write a cluster named `y` or `no`
        // unquoted, which kubectl (YAML 1.1) reads as a boolean and refuses.
        serde_json::to_string_pretty(&config).unwrap_or_default()
    }

    /// Writes [`Sandbox::kubeconfig_yaml`] to `path` with mode 0600.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<()> {
        self.write_kubeconfig_with(path, Auth::Token)
    }

    /// Writes [`Sandbox::kubeconfig_yaml_with`] to `path` with mode 0600.
    pub fn write_kubeconfig_with(&self, path: &Path, auth: Auth) -> Result<()> {
        std::fs::write(path, self.kubeconfig_yaml_with(auth))
            .with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for c in &self.clusters {
            // Open keep-alive connections get reset on their next request.
            c.set_down(true);
        }
        for t in &self.tasks {
            t.abort();
        }
    }
}
