//! Cluster names: they become a directory name, a certificate's L= field and a
//! Kubernetes label value, so they must be DNS-1123 labels.

use crate::error::{Error, Result};

/// Checks that `name` is a DNS-1123 label (RFC 1123 as Kubernetes reads it).
pub fn validate_cluster_name(name: &str) -> Result<()> {
    let invalid = |reason| {
        Err(Error::InvalidClusterName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("it is empty");
    }
    if name.len() > 63 {
        return invalid("it is longer than 63 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return invalid("it contains a character other than a-z, 0-9 and '-'");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return invalid("it starts or ends with '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_labels() {
        for ok in ["a", "east-1", "c0", &"x".repeat(63)] {
            assert!(validate_cluster_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_non_labels() {
        for bad in [
            "",
            "-a",
            "a-",
            "East",
            "a.b",
            "a_b",
            "../x",
            "a/b",
            &"x".repeat(64),
        ] {
            assert!(
                matches!(validate_cluster_name(bad), Err(Error::InvalidClusterName { .. })),
                "{bad}"
            );
        }
    }
}
