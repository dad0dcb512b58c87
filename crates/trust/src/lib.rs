//! Certificate-authority material for kubectl-mesh (DESIGN §5.6): a shared root,
//! per-cluster intermediates for Istio's plug-in CA, their files on disk, and
//! inspection. A pure library: the `certs` command of the CLI crate drives it.
//!
//! # API
//!
//! Issuing ([`issue`], [`keys`], [`profile`]):
//! - [`KeyType`] (`rsa-4096` default, `rsa-2048`, `ec-p256`, `ec-p384`; `FromStr`/`Display`),
//!   [`Options`] `{ key_type, days: Option<u32>, org }` (`days: None` = 3650 for a root,
//!   730 for an intermediate).
//! - [`generate_root`]`(&Options) -> Result<CaKeyPair>`
//! - [`generate_all`]`(&Options, clusters) -> Result<(CaKeyPair, Vec<Intermediate>)>`: a root and
//!   the intermediates with every key generated at once, one thread per key (what
//!   `certs generate` wants when the root is missing);
//!   [`generate_intermediates`]`(&CaKeyPair, clusters, &Options)`: the same from an existing root.
//! - Lower level: [`NewKey::generate`], [`generate_keys`], [`generate_root_with_key`],
//!   [`generate_intermediate_with_key`] to arrange the threads yourself.
//! - [`load_root`]`(cert_pem, &PrivateKeyPem, now)` / [`load_root_files`]`(cert_path, key_path, now)`
//!   `-> Result<CaKeyPair>`: a BYO root, checked to be a CA that may sign, valid at `now`,
//!   and matching its key.
//! - [`generate_intermediate`]`(&CaKeyPair, cluster, &Options) -> Result<Intermediate>`;
//!   [`Intermediate`] holds the four `cacerts` entries (`ca_cert`, `ca_key`, `root_cert`,
//!   `cert_chain`; [`Intermediate::entries`] gives them with their file/Secret key names).
//! - [`key_matches_cert`], [`validate_cluster_name`].
//!
//! On disk ([`layout`]): [`CertsDir`] with `write_root`, `read_root`, `read_root_cert`,
//! `root_exists`, `write_intermediate`, `read_intermediate`, `clusters`,
//! `backup_intermediate`, `rotate_intermediate`, `backups`, `check_writable`; and
//! [`write_private`]`(path, contents) -> io::Result<()>`, the writer of any other secret
//! file (0600 in a 0700 folder, atomic).
//!
//! PEM ([`pem`](mod@pem), the `pem` crate, for the whole workspace): [`pem::cert_ders`],
//! [`pem::single_cert_der`] (certificates as DER), [`pem::encode_cert`] (DER as openssl's PEM).
//!
//! Inspection ([`inspect`](mod@inspect)): [`inspect()`], [`inspect_at`], [`inspect_file`]
//! `-> Result<CertInfo>`, [`verify_signed_by`], [`check_bundle`], [`check_intermediate`]
//! `-> Result<BundleReport>`.
//!
//! # Concurrency
//!
//! Every function is a plain blocking call and [`CaKeyPair`] is `Send + Sync`: to issue
//! several intermediates at once, share `&CaKeyPair` with `std::thread::scope` (RSA key
//! generation dominates and is CPU-bound, so one thread per core pays off).
//!
//! # Secrets
//!
//! Private keys live in [`PrivateKeyPem`], which zeroizes on drop and whose `Debug`
//! prints `[redacted]`; no [`Error`] carries key material. Validate everything (names,
//! options, existing files via `force`) before writing: the writers refuse to overwrite
//! and write atomically, but they cannot undo a half-finished multi-step command.

pub mod error;
mod file_names;
pub mod inspect;
pub mod issue;
pub mod keys;
pub mod layout;
pub mod names;
pub mod pem;
pub mod profile;

pub use error::{Error, Result};
pub use inspect::{
    check_bundle, check_bundle_at, check_intermediate, inspect, inspect_at, inspect_file, verify_signed_by,
    BundleReport, CertInfo,
};
pub use issue::{
    generate_all, generate_intermediate, generate_intermediate_with_key, generate_intermediates,
    generate_root, generate_root_with_key, key_matches_cert, load_root, load_root_files, CaKeyPair,
    Intermediate, Options,
};
pub use keys::{generate_keys, KeyType, NewKey, PrivateKeyPem};
pub use layout::{write_private, CertsDir};
pub use names::validate_cluster_name;
/// Re-exported so callers can pass `now` without depending on `time` themselves.
pub use time::OffsetDateTime;
