//! `meta.k8s.io/v1` Table responses for `kubectl get` without `-o`.

use serde_json::{json, Value};

use crate::meta;

/// kubectl asks for tables with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`.
pub fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

fn row(obj: &Value, include_object: bool) -> Value {
    let name = obj.pointer("/metadata/name").cloned().unwrap_or(json!(""));
    let created = obj
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let object = if include_object {
        obj.clone()
    } else {
        let mut metadata = obj.get("metadata").cloned().unwrap_or(json!({}));
        if let Some(m) = metadata.as_object_mut() {
            m.remove("managedFields");
        }
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
    };
    json!({"cells": [name, meta::age(created)], "object": object})
}

/// A Table of `objects`; `include_object` is `includeObject=Object`.
pub fn table(objects: &[Value], resource_version: u64, include_object: bool) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0},
        ],
        "rows": objects.iter().map(|o| row(o, include_object)).collect::<Vec<_>>(),
    })
}
