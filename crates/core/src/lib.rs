//! The domain of kubectl-mesh, free of any command-line concerns.
//!
//! One module per verb, one for talking to clusters, one for the objects we write:
//!
//! * Verbs — each holds the cluster-facing flow of one command:
//!   * [`certs`]: every `certs` subcommand — issuing into a directory, the `cacerts` Secrets
//!     (their plan-to-jobs step is `up`'s too), inspection and rotation.
//!   * [`expose`]: the east-west gateway (`expose`) and global Services (`expose --service`).
//!   * [`link`]: one fan-out over pairs of clusters, with two backends: peer Gateways
//!     ([`link::peering`]) and remote secrets ([`link::remote_secret`]); which pairs, from a
//!     full mesh, hub-and-spoke, explicit pairs or groups: [`link::topology`].
//!   * [`verify`]: trust, gateways, links, services and traffic checks.
//!   * [`up`]: `up`, `down` and `up --generate` from a topology file, step by step.
//!   * [`controller`]: the long-running reconciler — watches, leader election, re-linking
//!     of the affected pairs (with [`link`]'s engine), token refresh, status and metrics.
//! * [`kube`]: the plumbing — kubeconfig, connected clusters, the API client, server-side
//!   apply, the kinds we address, polling and bounded concurrency.
//! * [`resources`]: pure builders of every object we write (they test without a server),
//!   typed: k8s-openapi for built-in kinds, [`resources::gateway_api`] and
//!   [`resources::istio_networking`] for the Gateway kinds.
//! * Shared vocabulary: [`topology`] (the topology file), [`labels`] (label and annotation
//!   keys of our contract), [`report`] (what happened, per object/cluster/pair),
//!   [`duration`], [`error`].

pub mod certs;
pub mod controller;
pub mod duration;
pub mod error;
pub mod expose;
pub mod kube;
pub mod labels;
pub mod link;
pub mod report;
pub mod resources;
pub mod topology;
pub mod up;
pub mod verify;
pub mod yaml;

pub use error::InputError;
