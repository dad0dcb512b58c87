//! The names of the files of a certificates directory, which are also the keys of a
//! cluster's `cacerts` Secret (Istio's plug-in CA reads them by these names).

/// The root certificate (top level, and copied into every cluster directory).
pub const ROOT_CERT: &str = "root-cert.pem";
/// The root's private key (top level only).
pub const ROOT_KEY: &str = "root-key.pem";
/// A cluster's intermediate certificate.
pub const CA_CERT: &str = "ca-cert.pem";
/// A cluster's intermediate private key.
pub const CA_KEY: &str = "ca-key.pem";
/// A cluster's intermediate followed by the root.
pub const CERT_CHAIN: &str = "cert-chain.pem";
/// Prefix of the backup directories that rotation leaves in a cluster directory.
pub const BACKUP_PREFIX: &str = "backup-";
