//! Namespaces we create, and the network label we put on `istio-system`.

use serde_json::{json, Value};

use crate::labels::NETWORK;

/// A namespace we create: it carries our managed-by label so that `down` may remove it.
pub fn owned(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": super::metadata(name, None, &[]),
    })
}

/// Only the network label, applied to a namespace someone else owns (usually `istio-system`):
/// server-side apply then touches that one field and nothing else.
pub fn network_label(name: &str, network: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {NETWORK: network}},
    })
}

/// An owned namespace that also carries the network label.
pub fn owned_with_network(name: &str, network: &str) -> Value {
    let mut ns = owned(name);
    ns["metadata"]["labels"][NETWORK] = json!(network);
    ns
}
