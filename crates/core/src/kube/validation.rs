//! Validation of Kubernetes object names, so that bad names are refused before any request.

use crate::InputError;

/// Checks a DNS-1123 label: at most 63 lowercase alphanumerics or '-', starting and ending
/// with an alphanumeric. Namespaces, cluster names and most of our object names are labels.
pub fn check_label(what: &str, value: &str) -> Result<(), InputError> {
    if is_label(value) {
        return Ok(());
    }
    Err(InputError::new(format!("invalid {what} {value:?}: not a valid DNS-1123 label"))
        .with_hint("use at most 63 characters: lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. \"east-1\")"))
}

/// Checks a DNS-1123 subdomain (at most 253 characters, dot-separated labels).
pub fn check_subdomain(what: &str, value: &str) -> Result<(), InputError> {
    if value.len() <= 253 && !value.is_empty() && value.split('.').all(is_label) {
        return Ok(());
    }
    Err(InputError::new(format!(
        "invalid {what} {value:?}: not a valid DNS-1123 subdomain"
    ))
    .with_hint("use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"))
}

/// Checks a trust domain as istiod does (Istio 1.30.3 `pkg/config/validation/agent/
/// validation.go` `ValidateTrustDomain`): dot-separated DNS-1123 labels, a trailing dot
/// allowed. istiod refuses a mesh config with any other, so it is refused here first.
pub fn check_trust_domain(value: &str) -> Result<(), InputError> {
    let labels: Vec<&str> = value.strip_suffix('.').unwrap_or(value).split('.').collect();
    if !value.is_empty() && labels.iter().all(|l| is_label(l)) {
        return Ok(());
    }
    Err(InputError::new(format!(
        "invalid trustDomain {value:?}: istiod accepts only DNS names"
    ))
    .with_hint("use lowercase letters, digits, '-' and '.', e.g. cluster.local or east.example.com"))
}

pub fn is_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-';
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(ok_char)
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// A label value: empty, or at most 63 characters of alphanumerics, '-', '_' and '.',
/// beginning and ending with an alphanumeric.
pub fn check_label_value(what: &str, value: &str) -> Result<(), InputError> {
    let bytes = value.as_bytes();
    let ok_char = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    let valid = bytes.is_empty()
        || (bytes.len() <= 63
            && bytes.iter().all(ok_char)
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric());
    if valid {
        return Ok(());
    }
    Err(InputError::new(format!("invalid {what} {value:?}: not a valid label value"))
        .with_hint("use at most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_label("east-1"));
        assert!(is_label("a"));
        assert!(!is_label(""));
        assert!(!is_label("East"));
        assert!(!is_label("-a"));
        assert!(!is_label("a-"));
        assert!(!is_label("a_b"));
        assert!(!is_label(&"a".repeat(64)));
        assert!(check_subdomain("name", "istio.example.com").is_ok());
        assert!(check_subdomain("name", "istio..com").is_err());
    }

    #[test]
    fn label_values() {
        assert!(check_label_value("network", "network-east").is_ok());
        assert!(check_label_value("network", "Net_1.a").is_ok());
        assert!(check_label_value("network", "").is_ok());
        assert!(check_label_value("network", "net work").is_err());
        assert!(check_label_value("network", "-net").is_err());
    }
}
