//! The `cacerts` Secret: Istio's plug-in CA material for one cluster (DESIGN §5.6).

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use serde_json::Value;

use crate::labels::ISTIO_SYSTEM;

pub const NAME: &str = "cacerts";
pub const ROOT_CERT_KEY: &str = "root-cert.pem";
pub const CA_CERT_KEY: &str = "ca-cert.pem";

/// The Secret holding `entries` (file name → PEM). `data` rather than `stringData`: the server
/// stores only `data`, so comparing what we would apply with what is live stays exact.
pub fn secret<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    let data = entries
        .into_iter()
        .map(|(key, pem)| (key.to_string(), ByteString(pem.as_bytes().to_vec())))
        .collect();
    let secret = Secret {
        metadata: super::object_meta(NAME, Some(ISTIO_SYSTEM), &[]),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    };
    super::to_value(&secret, &[])
}

/// One decoded entry of a live Secret (`None` if absent or not base64 text).
pub fn entry(secret: &Value, key: &str) -> Option<String> {
    let encoded = secret.get("data")?.get(key)?.as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_entries() {
        let s = secret([("ca-cert.pem", "CERT"), (ROOT_CERT_KEY, "ROOT")]);
        assert_eq!(s["metadata"]["name"], "cacerts");
        assert_eq!(s["metadata"]["namespace"], "istio-system");
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["data"]["ca-cert.pem"], "Q0VSVA==");
        assert_eq!(entry(&s, ROOT_CERT_KEY).as_deref(), Some("ROOT"));
        assert_eq!(entry(&s, "missing"), None);
    }
}
