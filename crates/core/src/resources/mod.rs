//! Pure builders of the objects we write (DESIGN §5). No I/O: what they return is exactly what
//! `--generate` prints and what the apply engine sends.

pub mod cacerts;
pub mod controller;
pub mod eastwest;
pub mod install;
pub mod namespace;
pub mod peering;
pub mod probe;
pub mod remote_secret;
pub mod sidecar;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::labels::{MANAGED_BY, MANAGED_BY_VALUE};

/// `metadata` with our managed-by label added to `labels` (which come first, in the order given).
pub fn metadata(name: &str, namespace: Option<&str>, labels: &[(&str, &str)]) -> Value {
    let mut label_map = Map::new();
    for (key, value) in labels {
        label_map.insert(key.to_string(), json!(value));
    }
    label_map.insert(MANAGED_BY.to_string(), json!(MANAGED_BY_VALUE));
    let mut meta = Map::new();
    meta.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        meta.insert("namespace".into(), json!(ns));
    }
    meta.insert("labels".into(), Value::Object(label_map));
    Value::Object(meta)
}

/// [`metadata`] as k8s-openapi's `ObjectMeta`, for the built-in kinds; [`to_value`] writes it
/// back in [`metadata`]'s order.
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

/// A built-in object as the JSON we send and print: k8s-openapi's serialisation (which writes
/// `apiVersion` and `kind`, and leaves out every field that is `None`), with its fields put
/// in our order: `apiVersion`, `kind`, `metadata` (`name`, `namespace`, `labels`,
/// `annotations`), then the rest (see [`FIELD_ORDER`]). `label_order` is the order of the
/// label keys in each of the object's label maps (metadata, selectors, pod template); keys it
/// does not list follow, sorted.
pub fn to_value<K>(object: &K, label_order: &[&str]) -> Value
where
    K: k8s_openapi::Metadata<Ty = ObjectMeta> + Serialize,
{
    let mut value = serde_json::to_value(object).expect("k8s-openapi objects serialise to JSON");
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
    fn object_meta_is_written_as_metadata_writes_it() {
        let labels = [("b", "2"), ("a", "1")];
        for namespace in [None, Some("ns")] {
            let object = Namespace {
                metadata: object_meta("x", namespace, &labels),
                ..Namespace::default()
            };
            let order = ["b", "a", MANAGED_BY];
            let written = serde_json::to_string(&to_value(&object, &order)["metadata"]).unwrap();
            let expected = serde_json::to_string(&metadata("x", namespace, &labels)).unwrap();
            assert_eq!(written, expected);
        }
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
