//! `certs`: one root of trust, an intermediate CA per cluster, and each cluster's `cacerts`
//! Secret (DESIGN §5.6). Every input is checked before anything is written, so bad input
//! changes nothing.
//!
//! * [`issue`]: `certs root`, `intermediate` and `generate` — certificates into a directory,
//!   and the report [`issue::Row`] of each.
//! * [`secret`]: `certs secret` — a cluster's bundle read from the directory, its live
//!   `cacerts` read once, the plan (refusing to swap a root or an identity silently), and
//!   the one plan-to-jobs step that `up` uses too.
//! * [`inspect`]: `certs inspect` — bundles from a directory or from live `cacerts`, and
//!   whether they share one root.
//! * [`rotate`]: `certs rotate` — a new intermediate from the same root, old files kept,
//!   optionally applied.
//!
//! The cryptography and the files' layout are `mesh_trust`'s; this module decides what to do
//! with them. Rendering (tables, JSON, what to run next) is the CLI's.

use std::fmt;

use crate::InputError;

pub mod inspect;
pub mod issue;
pub mod rotate;
pub mod secret;

/// Why a `certs` command refused to go on, before anything was written: one of our checks
/// (with its hint), or a `mesh_trust` error (a file, a key, a certificate). The latter stays
/// as it is so that `?` works on `mesh_trust` calls; it gets its hint, naming the `certs`
/// flag that supplied the file, when it becomes an [`InputError`] (`up` words the same
/// errors for its topology file instead, and does not come through here).
#[derive(Debug)]
pub enum Error {
    Input(InputError),
    Trust(mesh_trust::Error),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl From<mesh_trust::Error> for Error {
    fn from(e: mesh_trust::Error) -> Self {
        Error::Trust(e)
    }
}

impl From<Error> for InputError {
    fn from(e: Error) -> Self {
        match e {
            Error::Input(e) => e,
            Error::Trust(e) => {
                let error = InputError::new(e.to_string());
                match trust_hint(&e) {
                    Some(hint) => error.with_hint(hint),
                    None => error,
                }
            }
        }
    }
}

/// How to fix a `mesh_trust` error, in terms of the `certs` flags.
fn trust_hint(e: &mesh_trust::Error) -> Option<&'static str> {
    use mesh_trust::Error as E;
    match e {
        E::NotWritable { .. } => Some("pass --dir with a directory you can write to"),
        E::KeyMismatch { .. } => Some(
            "pass the key of that certificate: `openssl x509 -noout -pubkey -in CERT` and `openssl pkey -pubout -in KEY` must print the same key",
        ),
        E::NotCa { .. } | E::CannotSign { .. } => Some(
            "--root-cert must be a CA certificate that may sign certificates (basicConstraints CA:true, keyUsage keyCertSign)",
        ),
        E::PathLenTooShort { .. } => Some(
            "use a root without a path length constraint, or with pathlen:1 or more (Istio's tools/certs root has none)",
        ),
        E::Expired { .. } | E::NotYetValid { .. } => {
            Some("use a root that is valid now, or create a new one with `kubectl mesh certs root`")
        }
        E::MalformedPem { .. } => Some("the file must hold PEM text (a certificate, or a key for --root-key)"),
        E::Missing { .. } => Some("check the path, or --dir"),
        _ => None,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input(e) => e.fmt(f),
            Error::Trust(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}
