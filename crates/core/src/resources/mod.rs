//! Pure builders of the objects we write (DESIGN §5). No I/O: what they return is exactly what
//! `--generate` prints and what the apply engine sends.

pub mod cacerts;
pub mod eastwest;
pub mod install;
pub mod namespace;
pub mod peering;
pub mod probe;
pub mod remote_secret;
pub mod sidecar;

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
