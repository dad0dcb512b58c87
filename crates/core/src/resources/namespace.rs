//! Namespaces we create, and the network label we put on `istio-system`.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::labels::{MANAGED_BY, NETWORK};

/// A namespace we create: it carries our managed-by label so that `down` may remove it.
pub fn owned(name: &str) -> Value {
    let namespace = Namespace {
        metadata: super::object_meta(name, None, &[]),
        ..Namespace::default()
    };
    super::to_value(&namespace, &[])
}

/// Only the network label, applied to a namespace someone else owns (usually `istio-system`):
/// server-side apply then touches that one field and nothing else.
pub fn network_label(name: &str, network: &str) -> Value {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(super::string_map(&[(NETWORK, network)])),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    super::to_value(&namespace, &[])
}

/// An owned namespace that also carries the network label.
pub fn owned_with_network(name: &str, network: &str) -> Value {
    let mut metadata = super::object_meta(name, None, &[]);
    metadata
        .labels
        .get_or_insert_default()
        .insert(NETWORK.to_string(), network.to_string());
    let namespace = Namespace {
        metadata,
        ..Namespace::default()
    };
    // The network label was added to an owned namespace, after our managed-by label.
    super::to_value(&namespace, &[MANAGED_BY, NETWORK])
}
