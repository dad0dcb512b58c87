//! The errors of this crate. Every variant is a user-facing condition (the CLI maps
//! them to exit code 2); none of them ever carries key material.

use std::path::PathBuf;

use time::OffsetDateTime;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. Messages name the file (or the input) concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--key-type` (or a topology file) named an unknown key type.
    #[error("invalid key type {given:?}: valid values are rsa-4096, rsa-2048, ec-p256, ec-p384")]
    InvalidKeyType { given: String },

    /// A validity of zero days (or too many to represent).
    #[error("invalid validity of {days} days: must be between 1 and 36500")]
    InvalidDays { days: u32 },

    /// An empty `--org`: the subject would carry an empty O=.
    #[error("invalid organization: must not be empty")]
    InvalidOrg,

    /// A cluster name that is not a DNS-1123 label.
    #[error("invalid cluster name {name:?}: {reason} (must be a DNS-1123 label: at most 63 characters a-z, 0-9 and '-', starting and ending with a letter or digit)")]
    InvalidClusterName { name: String, reason: &'static str },

    /// A PEM input that does not parse. `what` is a file path or a description.
    #[error("{what}: malformed PEM: {reason}")]
    MalformedPem { what: String, reason: String },

    /// The private key does not belong to the certificate.
    #[error("{key} does not match {cert}: the key's public key differs from the certificate's")]
    KeyMismatch { cert: String, key: String },

    /// A certificate that must be a CA is not one.
    #[error("{what} is not a CA certificate (basicConstraints CA:true is missing)")]
    NotCa { what: String },

    /// A CA certificate that may not sign (keyUsage without keyCertSign).
    #[error("{what} may not sign certificates (keyUsage lacks keyCertSign)")]
    CannotSign { what: String },

    /// A root whose pathLenConstraint is 0: it may sign the intermediates, but the
    /// intermediates' certificates for workloads would then exceed the path length.
    #[error("{what} has pathlen:0: an intermediate it signs could not sign workload certificates (verifiers reject the chain: path length constraint exceeded)")]
    PathLenTooShort { what: String },

    /// A certificate past its notAfter.
    #[error("{what} expired on {}", .not_after.date())]
    Expired { what: String, not_after: OffsetDateTime },

    /// A certificate before its notBefore.
    #[error("{what} is not valid before {}", .not_before.date())]
    NotYetValid {
        what: String,
        not_before: OffsetDateTime,
    },

    /// Files that would be overwritten without `force`.
    #[error("refusing to overwrite existing files: {} (use --force)", display_paths(.paths))]
    Exists { paths: Vec<PathBuf> },

    /// A file the layout expects is absent.
    #[error("{}: no such file", .path.display())]
    Missing { path: PathBuf },

    /// The certificates directory (or its nearest existing parent) cannot be written.
    #[error("directory {} is not writable: {source}", .path.display())]
    NotWritable { path: PathBuf, source: std::io::Error },

    /// Any other I/O failure, with the path concerned.
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// Key generation or signing failed inside the crypto library.
    #[error("{context}: {reason}")]
    Crypto { context: &'static str, reason: String },
}

fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: &str, reason: impl ToString) -> Self {
        Error::MalformedPem {
            what: what.to_string(),
            reason: reason.to_string(),
        }
    }

    // rcgen errors describe what failed, never the key bytes; we still only keep
    // their Display text so no key-bearing type can leak through `source()`.
    pub(crate) fn crypto(context: &'static str, err: rcgen::Error) -> Self {
        Error::Crypto {
            context,
            reason: err.to_string(),
        }
    }
}
