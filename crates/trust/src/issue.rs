//! Issuing CA material: a new root, an existing (BYO) root, per-cluster intermediates.

use std::fmt;
use std::path::Path;

use rcgen::{CertificateParams, Issuer, KeyPair};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::file_names::{CA_CERT, CA_KEY, CERT_CHAIN, ROOT_CERT};
use crate::keys::{self, generate_keys, KeyType, NewKey, PrivateKeyPem};
use crate::names::validate_cluster_name;
use crate::pem::{self, read_pem_file};
use crate::profile::{self, DEFAULT_INTERMEDIATE_DAYS, DEFAULT_ORG, DEFAULT_ROOT_DAYS};

/// What `--key-type`, `--days` and `--org` choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Type of the keys generated (the root's own type wins for signatures it makes).
    pub key_type: KeyType,
    /// Validity in days; `None` means the profile default (3650 root, 730 intermediate).
    pub days: Option<u32>,
    /// Subject organization (O=).
    pub org: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            key_type: KeyType::default(),
            days: None,
            org: DEFAULT_ORG.to_string(),
        }
    }
}

/// A CA certificate with its private key, ready to sign. `Debug` never shows the key.
/// It is `Send + Sync`: share `&CaKeyPair` across threads to issue intermediates concurrently.
pub struct CaKeyPair {
    cert_pem: String,
    cert_der: Vec<u8>,
    key_pem: PrivateKeyPem,
    key: KeyPair,
    not_after: OffsetDateTime,
}

impl CaKeyPair {
    /// The certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PEM, as generated (PKCS#8) or as read (left in its original form).
    pub fn key_pem(&self) -> &PrivateKeyPem {
        &self.key_pem
    }

    /// End of the certificate's validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// What to tell the user about signing intermediates of `days` (default 730) with `root` at
/// `now`: a root that ends within a year means a root rotation soon, and intermediates cannot
/// outlive their root, so they are shortened to end with it.
pub fn root_warnings(root: &CaKeyPair, days: Option<u32>, now: OffsetDateTime) -> Vec<String> {
    let mut warnings = Vec::new();
    let left = (root.not_after - now).whole_days();
    let date = root.not_after.date();
    if left < 365 {
        warnings.push(format!(
            "the root expires on {date} (in {left} days): every cluster must move to a new root before then"
        ));
    }
    let wanted = days.unwrap_or(DEFAULT_INTERMEDIATE_DAYS);
    if left < i64::from(wanted) {
        warnings.push(format!(
            "intermediates are shortened to end with the root on {date} ({left} days instead of {wanted})"
        ));
    }
    warnings
}

impl fmt::Debug for CaKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaKeyPair")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &self.key_pem)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// The four files of one cluster (the four keys of the `cacerts` Secret).
/// `Debug` redacts `ca_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intermediate {
    /// The intermediate certificate (ca-cert.pem).
    pub ca_cert: String,
    /// The intermediate's private key (ca-key.pem).
    pub ca_key: PrivateKeyPem,
    /// The root certificate (root-cert.pem).
    pub root_cert: String,
    /// The intermediate followed by the root (cert-chain.pem).
    pub cert_chain: String,
}

impl Intermediate {
    /// `(file or Secret key name, content)` for the four entries, in a fixed order.
    /// The key's entry exposes the private key: write it, never print it.
    pub fn entries(&self) -> [(&'static str, &str); 4] {
        [
            (CA_CERT, self.ca_cert.as_str()),
            (CA_KEY, self.ca_key.expose()),
            (ROOT_CERT, self.root_cert.as_str()),
            (CERT_CHAIN, self.cert_chain.as_str()),
        ]
    }
}

/// Generates a new self-signed root (default validity 3650 days).
pub fn generate_root(opts: &Options) -> Result<CaKeyPair> {
    let params = root_params(opts)?;
    sign_root(&params, NewKey::generate(opts.key_type)?)
}

/// Makes the root certificate for a key generated beforehand (see [`generate_all`]);
/// the key's own type wins over `opts.key_type`.
pub fn generate_root_with_key(opts: &Options, key: NewKey) -> Result<CaKeyPair> {
    sign_root(&root_params(opts)?, key)
}

/// A new root and the intermediates of `clusters`, with all the keys generated at once
/// on separate threads. Every input is checked before any key is generated.
pub fn generate_all(opts: &Options, clusters: &[&str]) -> Result<(CaKeyPair, Vec<Intermediate>)> {
    let root_params = root_params(opts)?;
    check_intermediate_inputs(opts, clusters)?;
    let mut keys = generate_keys(opts.key_type, clusters.len() + 1)?.into_iter();
    let root_key = keys.next().ok_or(Error::Crypto {
        context: "generating keys",
        reason: "no key".into(),
    })?;
    let root = sign_root(&root_params, root_key)?;
    let intermediates = clusters
        .iter()
        .zip(keys)
        .map(|(cluster, key)| generate_intermediate_with_key(&root, cluster, opts, key))
        .collect::<Result<Vec<_>>>()?;
    Ok((root, intermediates))
}

/// The intermediates of `clusters` from an existing root, one thread per cluster.
/// Every input is checked before any key is generated.
pub fn generate_intermediates(
    root: &CaKeyPair,
    clusters: &[&str],
    opts: &Options,
) -> Result<Vec<Intermediate>> {
    check_intermediate_inputs(opts, clusters)?;
    std::thread::scope(|s| {
        let handles: Vec<_> = clusters
            .iter()
            .map(|cluster| s.spawn(move || generate_intermediate(root, cluster, opts)))
            .collect();
        handles.into_iter().map(keys::join).collect()
    })
}

fn root_params(opts: &Options) -> Result<CertificateParams> {
    let days = profile::check_days(opts.days.unwrap_or(DEFAULT_ROOT_DAYS))?;
    profile::root_params(&opts.org, days, OffsetDateTime::now_utc())
}

fn check_intermediate_inputs(opts: &Options, clusters: &[&str]) -> Result<()> {
    profile::check_days(opts.days.unwrap_or(DEFAULT_INTERMEDIATE_DAYS))?;
    profile::check_org(&opts.org)?;
    clusters.iter().try_for_each(|c| validate_cluster_name(c))
}

fn sign_root(params: &CertificateParams, key: NewKey) -> Result<CaKeyPair> {
    let key = key.key;
    let cert = params
        .self_signed(&key)
        .map_err(|e| Error::crypto("signing the root certificate", e))?;
    Ok(CaKeyPair {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: keys::to_pem(&key),
        key,
        not_after: params.not_after,
    })
}

/// Loads an existing root (e.g. a corporate one) from PEM text, checking that it is a
/// CA that may sign, valid at `now`, and that the key belongs to the certificate.
/// Errors call the inputs "root certificate" and "root key"; see [`load_root_files`].
pub fn load_root(cert_pem: &str, key_pem: &PrivateKeyPem, now: OffsetDateTime) -> Result<CaKeyPair> {
    load_root_named(cert_pem, "root certificate", key_pem, "root key", now)
}

/// Like [`load_root`], reading the two files; errors name the files.
pub fn load_root_files(cert_path: &Path, key_path: &Path, now: OffsetDateTime) -> Result<CaKeyPair> {
    let cert_pem = read_pem_file(cert_path)?;
    let key_pem = PrivateKeyPem::new(read_pem_file(key_path)?);
    load_root_named(
        &cert_pem,
        &cert_path.display().to_string(),
        &key_pem,
        &key_path.display().to_string(),
        now,
    )
}

fn load_root_named(
    cert_pem: &str,
    cert_what: &str,
    key_pem: &PrivateKeyPem,
    key_what: &str,
    now: OffsetDateTime,
) -> Result<CaKeyPair> {
    let cert_der = pem::single_cert_der(cert_pem, cert_what)?;
    let cert = pem::parse_der(&cert_der, cert_what)?;
    let key = keys::parse(key_pem, key_what)?;
    check_can_sign(&cert, cert_what)?;
    check_valid_at(&cert, cert_what, now)?;
    if !key_matches(&cert, &key) {
        return Err(Error::KeyMismatch {
            cert: cert_what.to_string(),
            key: key_what.to_string(),
        });
    }
    let not_after = cert.validity().not_after.to_datetime();
    drop(cert);
    // Re-encoded so root-cert.pem and cert-chain.pem hold the bare certificate even
    // when the input carried `openssl x509 -text` output or CRLF line endings.
    Ok(CaKeyPair {
        cert_pem: pem::encode_cert(&cert_der),
        cert_der,
        key_pem: key_pem.clone(),
        key,
        not_after,
    })
}

/// Issues the intermediate of `cluster` from `root` (default validity 730 days,
/// capped at the root's notAfter). Safe to call from several threads at once.
pub fn generate_intermediate(root: &CaKeyPair, cluster: &str, opts: &Options) -> Result<Intermediate> {
    check_intermediate_inputs(opts, &[cluster])?;
    generate_intermediate_with_key(root, cluster, opts, NewKey::generate(opts.key_type)?)
}

/// Like [`generate_intermediate`], for a key generated beforehand.
pub fn generate_intermediate_with_key(
    root: &CaKeyPair,
    cluster: &str,
    opts: &Options,
    key: NewKey,
) -> Result<Intermediate> {
    validate_cluster_name(cluster)?;
    let days = profile::check_days(opts.days.unwrap_or(DEFAULT_INTERMEDIATE_DAYS))?;
    let now = OffsetDateTime::now_utc();
    let params = profile::intermediate_params(&opts.org, cluster, days, now, root.not_after)?;
    // The issuer's subject and key identifier come from the root certificate itself,
    // so the AKI matches the root's SKI even for a root we did not make.
    let issuer = Issuer::from_ca_cert_der(&root.cert_der.as_slice().into(), &root.key)
        .map_err(|e| Error::crypto("reading the root certificate's subject", e))?;
    let cert = params
        .signed_by(&key.key, &issuer)
        .map_err(|e| Error::crypto("signing the intermediate certificate", e))?;
    let ca_cert = cert.pem();
    let root_cert = root.cert_pem.clone();
    Ok(Intermediate {
        cert_chain: format!("{ca_cert}{root_cert}"),
        ca_cert,
        ca_key: keys::to_pem(&key.key),
        root_cert,
    })
}

/// Does `key_pem` hold the private key of `cert_pem`? `what` names the certificate in errors.
pub fn key_matches_cert(cert_pem: &str, key_pem: &PrivateKeyPem, what: &str) -> Result<bool> {
    let der = pem::single_cert_der(cert_pem, what)?;
    let cert = pem::parse_der(&der, what)?;
    let key = keys::parse(key_pem, &format!("key of {what}"))?;
    Ok(key_matches(&cert, &key))
}

/// The subjectPublicKey BIT STRING holds exactly what rcgen calls the raw public key
/// (PKCS#1 RSAPublicKey, or the EC point), so equal bytes mean the same key.
fn key_matches(cert: &x509_parser::certificate::X509Certificate<'_>, key: &KeyPair) -> bool {
    cert.public_key().subject_public_key.data.as_ref() == key.public_key_raw()
}

fn check_can_sign(cert: &x509_parser::certificate::X509Certificate<'_>, what: &str) -> Result<()> {
    let bc = cert
        .basic_constraints()
        .map_err(|e| Error::malformed(what, format!("bad basicConstraints: {e}")))?;
    if !bc.as_ref().is_some_and(|bc| bc.value.ca) {
        return Err(Error::NotCa {
            what: what.to_string(),
        });
    }
    // Root -> intermediate -> workload: the root needs a path length of 1 or more (or none).
    if bc.is_some_and(|bc| bc.value.path_len_constraint == Some(0)) {
        return Err(Error::PathLenTooShort {
            what: what.to_string(),
        });
    }
    let ku = cert
        .key_usage()
        .map_err(|e| Error::malformed(what, format!("bad keyUsage: {e}")))?;
    if ku.is_some_and(|ku| !ku.value.key_cert_sign()) {
        return Err(Error::CannotSign {
            what: what.to_string(),
        });
    }
    Ok(())
}

fn check_valid_at(
    cert: &x509_parser::certificate::X509Certificate<'_>,
    what: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let validity = cert.validity();
    let not_after = validity.not_after.to_datetime();
    let not_before = validity.not_before.to_datetime();
    if now > not_after {
        return Err(Error::Expired {
            what: what.to_string(),
            not_after,
        });
    }
    if now < not_before {
        return Err(Error::NotYetValid {
            what: what.to_string(),
            not_before,
        });
    }
    Ok(())
}

#[cfg(test)]
mod root_warning_tests {
    use super::*;

    #[test]
    fn a_root_ending_soon_is_said_and_shortens_intermediates() {
        let root = generate_root(&Options {
            key_type: crate::KeyType::EcP256,
            days: Some(200),
            ..Default::default()
        })
        .unwrap();
        let warnings = root_warnings(&root, None, OffsetDateTime::now_utc());
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("every cluster must move to a new root"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("instead of 730"), "{warnings:?}");
        let long = generate_root(&Options {
            key_type: crate::KeyType::EcP256,
            ..Default::default()
        })
        .unwrap();
        assert!(root_warnings(&long, None, OffsetDateTime::now_utc()).is_empty());
    }
}
