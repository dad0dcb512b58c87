//! The domain of kubectl-mesh, free of any command-line concerns.
//!
//! * [`kubeconfig`] and [`clusters`] turn kubeconfig files and `--contexts` lists into
//!   connected [`clusters::Cluster`]s.
//! * [`api`] is a thin, retrying JSON client over one cluster's API server.
//! * [`apply`] is the server-side apply engine: it knows when nothing would change and then
//!   writes nothing.
//! * [`resources`] holds pure builders of every object we write (they test without a server).
//! * [`expose`] puts the east-west gateway into clusters.
//! * [`parallel`] runs per-cluster work concurrently, bounded by `--parallel`.

pub mod api;
pub mod apply;
pub mod cacerts;
pub mod clusters;
pub mod duration;
pub mod error;
pub mod expose;
pub mod global_service;
pub mod kubeconfig;
pub mod labels;
pub mod link;
pub mod names;
pub mod namespaces;
pub mod parallel;
pub mod poll;
pub mod remote_secrets;
pub mod report;
pub mod resource;
pub mod resources;
pub mod topology;
pub mod up;
pub mod verify;

pub use error::InputError;
