//! What the data plane reads out of Secrets: their decoded values and the API servers a
//! kubeconfig (a remote secret's value) names.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::Value;

/// A Secret's values, decoded (`data` is base64, `stringData` is not).
pub(super) fn secret_values(secret: &Value) -> Vec<Vec<u8>> {
    let data = secret
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| B64.decode(v.as_str()?).ok());
    let plain = secret
        .get("stringData")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, v)| Some(v.as_str()?.as_bytes().to_vec()));
    data.chain(plain).collect()
}

pub(super) fn secret_value(secret: &Value, key: &str) -> Option<Vec<u8>> {
    if let Some(v) = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
    {
        return B64.decode(v).ok();
    }
    let v = secret.get("stringData")?.get(key)?.as_str()?;
    Some(v.as_bytes().to_vec())
}

/// `clusters[].cluster.server` of a kubeconfig; nothing if it is not one.
pub(super) fn kubeconfig_servers(kubeconfig: &[u8]) -> Vec<String> {
    let Ok(config) = serde_yaml_ng::from_slice::<Value>(kubeconfig) else {
        return Vec::new();
    };
    config
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.pointer("/cluster/server").and_then(Value::as_str))
        .map(|s| s.trim_end_matches('/').to_string())
        .collect()
}
