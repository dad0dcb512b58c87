//! A fake multi-cluster Kubernetes API server for the end-to-end tests of kubectl-mesh.
//!
//! Each cluster is its own HTTPS server on `127.0.0.1:<random port>` with its own CA
//! and bearer token. Like kube-apiserver with `--client-ca-file`, it also accepts
//! (without requiring) client certificates signed by that same CA: the subject CN is
//! the user, O the groups; a certificate from another CA fails the TLS handshake. It serves legacy discovery, minimal OpenAPI v3 (enough for
//! `kubectl apply --server-side` with default validation), CRUD with label/field
//! selectors, watch, merge/JSON/strategic patches, server-side apply with managed
//! fields and conflicts, the `status` subresource, TokenRequest, Table output, small
//! controllers, and per-cluster fault injection and request accounting.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use mesh_testkit::{ClusterSpec, Fault, IstioSeed, Sandbox};
//!
//! let sb = Sandbox::builder()
//!     .cluster("a")
//!     .cluster_with("b", ClusterSpec { istio: Some(IstioSeed::network("net-b")), ..Default::default() })
//!     .start()
//!     .await?;
//! sb.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?; // contexts "a" and "b"
//! let a = sb.cluster("a");
//! let _ns = a.object("/api/v1/namespaces/default");
//! a.inject(Fault::status(429).retry_after(1).times(2).method("PATCH").path_contains("gateways"));
//! a.inject(Fault::reset().times(1));
//! a.deny("create", "serviceaccounts");
//! a.set_address_delay(Some(Duration::from_millis(200))); // None: addresses never come
//! assert_eq!(a.counts().writes(), 0);
//! # Ok(()) }
//! ```
//!
//! Rust API:
//! - [`Sandbox::builder`] → [`SandboxBuilder::cluster`] / [`SandboxBuilder::cluster_with`]
//!   ([`ClusterSpec`], [`IstioSeed`]) → [`SandboxBuilder::start`].
//! - [`Sandbox::cluster`], [`Sandbox::kubeconfig_yaml`], [`Sandbox::write_kubeconfig`]
//!   (tokens), [`Sandbox::kubeconfig_yaml_with`] / [`Sandbox::write_kubeconfig_with`]
//!   ([`Auth::Token`] or [`Auth::ClientCert`]).
//! - [`FakeCluster`]: `name`, `server_url`, `ca_pem`, `token`, `user`,
//!   `client_cert(user)` / `client_cert_in_group(user, group)` (cert and key PEM),
//!   `lb_address`, `object(path)`,
//!   `objects(collection_path)`, `put_object(value)`, `delete_object(path)` (direct,
//!   uncounted), `counts()` ([`RequestCounts`], `writes()`), `reset_counts`,
//!   `request_log`, `inject(`[`Fault`]`)`, `clear_faults`, `set_latency`,
//!   `deny(verb, resource)`, `set_down`, `set_address_delay`, `set_job_delay`,
//!   `set_gateway_api`.
//!
//! Controllers: gateway.networking.k8s.io Gateways get `status.addresses` (their
//! `spec.addresses`, else `203.0.113.<10+cluster index>`) and `Accepted`/`Programmed`
//! conditions; LoadBalancer Services get an ingress IP (both after the address
//! delay); service-account-token Secrets get `token`, `ca.crt`, `namespace`; Jobs
//! complete after the job delay; Deployments report their replicas ready.

mod api;
mod apply;
mod cluster;
mod controllers;
mod discovery;
mod faults;
mod fields;
mod meta;
mod openapi;
mod patch;
mod registry;
mod route;
mod sandbox;
mod seed;
mod selector;
mod server;
mod status;
mod store;
mod table;
mod tls;

pub use cluster::FakeCluster;
pub use faults::{Fault, FaultAction, LoggedRequest, RequestCounts, Verb};
pub use registry::{ResourceDef, RESOURCES};
pub use sandbox::{Auth, ClusterSpec, Sandbox, SandboxBuilder};
pub use seed::IstioSeed;
