//! Talking to clusters: everything between a kubeconfig and a written object.
//!
//! * [`kubeconfig`] and [`clusters`] turn kubeconfig files and `--contexts` lists into
//!   connected [`clusters::Cluster`]s.
//! * [`api`] is a thin, retrying JSON client over one cluster's API server;
//!   [`cluster_error`] keeps its errors typed, with the cluster they happened in.
//! * [`apply`] is the server-side apply engine: it knows when nothing would change and then
//!   writes nothing.
//! * [`kinds`] is the static table of kinds we address and their REST paths.
//! * [`namespaces`] makes sure a namespace exists before objects go into it.
//! * [`validation`] checks object names (DNS-1123) before any request.
//! * [`poll`] waits for a condition with a deadline; [`parallel`] runs per-cluster work
//!   concurrently, bounded by `--parallel`.

pub mod api;
pub mod apply;
pub mod cluster_error;
pub mod clusters;
pub mod kinds;
pub mod kubeconfig;
pub mod list_items;
pub mod namespaces;
pub mod parallel;
pub mod poll;
pub mod validation;
