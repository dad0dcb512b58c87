//! Pure builders of the objects we write (DESIGN §5). No I/O: what they return is exactly what
//! `--generate` prints and what the apply engine sends.

pub mod cacerts;
pub mod controller;
pub mod eastwest;
pub mod gateway_api;
pub mod install;
pub mod istio_networking;
pub mod namespace;
pub mod peering;
pub mod probe;
pub mod remote_secret;
pub mod sidecar;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::labels::{MANAGED_BY, MANAGED_BY_VALUE};

/// `metadata` as JSON, for the kinds we keep untyped (Sail's `Istio`, `IstioCNI`, `ZTunnel`,
/// whose `spec.values` are free-form helm values): `name`, `namespace`, then `labels` with our
/// managed-by label after the ones given.
pub fn metadata(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> Value {
    let meta = object_meta(name, namespace, labels);
    let mut value = serde_json::to_value(&meta).expect("ObjectMeta serialises to JSON");
    if let Value::Object(map) = &mut value {
        put_first(map, &["name", "namespace", "labels"]);
        if let Some(Value::Object(labels_map)) = map.get_mut("labels") {
            put_first(labels_map, &label_order(labels));
        }
    }
    value
}

/// `metadata` with our managed-by label added to `labels`; [`to_value`] writes the labels in
/// the order given, managed-by after them (see [`label_order`]).
pub fn object_meta(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> ObjectMeta {
    let mut label_map = string_map(labels);
    label_map.insert(MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string());
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(label_map),
        ..ObjectMeta::default()
    }
}

/// The order [`to_value`] writes the labels of an [`object_meta`] made from `labels`: as given,
/// then managed-by.
pub fn label_order<'a>(labels: &[(&'a str, &str)]) -> Vec<&'a str> {
    labels.iter().map(|(key, _)| *key).chain([MANAGED_BY]).collect()
}

/// A `kubernetes.io/service-account-token` Secret: a long-lived token of `account`, filled in
/// by the token controller (what istioctl create-remote-secret gives its reader, istio 1.30.3
/// istioctl/pkg/multicluster/remote_secret.go).
pub fn service_account_token(
    name: &str,
    namespace: &str,
    account: &str,
    labels: &[(&str, &str)],
) -> k8s_openapi::api::core::v1::Secret {
    k8s_openapi::api::core::v1::Secret {
        metadata: ObjectMeta {
            annotations: Some(string_map(&[("kubernetes.io/service-account.name", account)])),
            ..object_meta(name, Some(namespace), labels)
        },
        type_: Some("kubernetes.io/service-account-token".into()),
        ..Default::default()
    }
}

/// A map of strings (labels, selectors, annotations, `stringData`) from pairs.
pub fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Where k8s-openapi's field order (alphabetical) differs from the order we have always
/// written, ours, by the field that holds them: `--generate` output and the golden files keep
/// their layout. Fields not listed follow the listed ones, in k8s-openapi's order.
const FIELD_ORDER: &[(&str, &[&str])] = &[
    // Deployment, Job, Service; and a pod template's spec.
    (
        "spec",
        &[
            "type",
            "replicas",
            "backoffLimit",
            "activeDeadlineSeconds",
            "selector",
            "ports",
            "template",
            "serviceAccountName",
            "restartPolicy",
            "containers",
        ],
    ),
    (
        "containers",
        &[
            "name",
            "image",
            "command",
            "args",
            "env",
            "ports",
            "readinessProbe",
            "resources",
            "securityContext",
        ],
    ),
    // A container's ports and a Service's.
    ("ports", &["name", "containerPort", "port", "targetPort"]),
    ("resources", &["requests", "limits"]),
    (
        "securityContext",
        &[
            "runAsNonRoot",
            "runAsUser",
            "allowPrivilegeEscalation",
            "capabilities",
            "seccompProfile",
        ],
    ),
];

/// Maps of labels: k8s-openapi holds them in `BTreeMap`s (sorted), we write them in the order
/// the builder gives.
const LABEL_MAPS: [&str; 3] = ["labels", "selector", "matchLabels"];

/// A typed object (a built-in kind of k8s-openapi, or one of ours derived with kube's
/// `CustomResource`) as the JSON we send and print: its serialisation (which writes
/// `apiVersion` and `kind`, and leaves out every field that is `None`), with its fields put
/// in our order: `apiVersion`, `kind`, `metadata` (`name`, `namespace`, `labels`,
/// `annotations`), then the rest (see [`FIELD_ORDER`]). `label_order` is the order of the
/// label keys in each of the object's label maps (metadata, selectors, pod template); keys it
/// does not list follow, sorted.
pub fn to_value<K>(object: &K, label_order: &[&str]) -> Value
where
    K: ::kube::Resource<DynamicType = ()> + Serialize,
{
    let mut value = serde_json::to_value(object).expect("typed objects serialise to JSON");
    if let Value::Object(map) = &mut value {
        put_first(map, &["apiVersion", "kind", "metadata"]);
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            put_first(meta, &["name", "namespace", "labels", "annotations"]);
        }
        for (key, field) in map.iter_mut() {
            reorder(key, field, label_order);
        }
    }
    value
}

/// Puts the fields of `field` (held under `key`) and everything below it in our order.
fn reorder(key: &str, field: &mut Value, label_order: &[&str]) {
    match field {
        Value::Object(map) => {
            if LABEL_MAPS.contains(&key) {
                put_first(map, label_order);
            }
            if let Some((_, order)) = FIELD_ORDER.iter().find(|(k, _)| *k == key) {
                put_first(map, order);
            }
            for (key, field) in map.iter_mut() {
                reorder(key, field, label_order);
            }
        }
        // The elements of an array are ordered as the array's field says.
        Value::Array(items) => items.iter_mut().for_each(|item| reorder(key, item, label_order)),
        _ => {}
    }
}

/// Moves the fields named in `first` to the front of `map`, in that order; the others keep
/// their order after them.
fn put_first(map: &mut Map<String, Value>, first: &[&str]) {
    let (mut listed, rest): (Vec<_>, Vec<_>) = std::mem::take(map)
        .into_iter()
        .partition(|(key, _)| first.contains(&key.as_str()));
    listed.sort_by_key(|(key, _)| first.iter().position(|f| f == key));
    map.extend(listed);
    map.extend(rest);
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Namespace;

    use super::*;

    #[test]
    fn object_meta_is_written_name_namespace_then_labels_in_the_order_given() {
        let labels = [("b", "2"), ("a", "1")];
        let object = Namespace {
            metadata: object_meta("x", Some("ns"), &labels),
            ..Namespace::default()
        };
        let written = serde_json::to_string(&to_value(&object, &label_order(&labels))["metadata"]);
        assert_eq!(
            written.unwrap(),
            r#"{"name":"x","namespace":"ns","labels":{"b":"2","a":"1","app.kubernetes.io/managed-by":"kubectl-mesh"}}"#
        );
    }

    #[test]
    fn fields_in_our_order_and_nothing_empty_added() {
        let object = Namespace {
            metadata: ObjectMeta {
                name: Some("x".into()),
                annotations: Some(string_map(&[("z", "1")])),
                labels: Some(string_map(&[("l2", "v"), ("l1", "v"), ("l0", "v")])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        assert_eq!(
            serde_json::to_string(&to_value(&object, &["l1"])).unwrap(),
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"l1":"v","l0":"v","l2":"v"},"annotations":{"z":"1"}}}"#
        );
    }
}
