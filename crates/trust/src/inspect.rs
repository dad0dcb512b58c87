//! Reading certificates back: what `certs inspect` shows, and the checks that a
//! cluster's bundle is what Istio's plug-in CA needs.

use std::path::Path;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::x509::X509Name;

use crate::error::{Error, Result};
use crate::issue::{key_matches_cert, Intermediate};
use crate::pem::{self, read_pem_file};

/// What `certs inspect` reports about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject, e.g. `O=Istio, CN=Intermediate CA, L=east`.
    pub subject: String,
    /// Issuer, same format.
    pub issuer: String,
    /// Subject O=, CN= and L= (the cluster, on our intermediates).
    pub organization: Option<String>,
    pub common_name: Option<String>,
    pub locality: Option<String>,
    /// `rsa-4096`, `rsa-2048`, `ec-p256`, `ec-p384` (the [`crate::KeyType`] spellings),
    /// or e.g. `rsa-3072`, `ed25519`, `ec-<curve oid>` for foreign roots.
    pub key_type: String,
    /// Serial number, colon-separated hex.
    pub serial: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Whole days from `now` to notAfter; negative once expired.
    pub days_left: i64,
    /// basicConstraints CA flag, and whether the extension is critical.
    pub is_ca: bool,
    pub basic_constraints_critical: bool,
    /// pathLenConstraint, if any.
    pub path_len: Option<u32>,
    /// keyUsage bits by their RFC 5280 names (`nonRepudiation` for contentCommitment).
    pub key_usage: Vec<&'static str>,
    pub key_usage_critical: bool,
    /// DNS subject alternative names.
    pub dns_sans: Vec<String>,
    /// SHA-256 of the DER, upper-case colon hex like `openssl x509 -fingerprint -sha256`.
    pub sha256_fingerprint: String,
    /// Subject / authority key identifiers, colon hex.
    pub subject_key_id: Option<String>,
    pub authority_key_id: Option<String>,
    /// Issuer equals subject and the signature verifies with its own key.
    pub self_signed: bool,
}

/// The result of [`check_bundle`]: both certificates described, and every way the
/// bundle falls short (empty when it is good).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleReport {
    pub ca: CertInfo,
    pub root: CertInfo,
    pub problems: Vec<String>,
}

impl BundleReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Fingerprint of the root: equal across clusters means one shared trust root.
    pub fn root_fingerprint(&self) -> &str {
        &self.root.sha256_fingerprint
    }
}

/// Describes the first certificate of `cert_pem`, with days left counted from now.
pub fn inspect(cert_pem: &str) -> Result<CertInfo> {
    inspect_at(cert_pem, OffsetDateTime::now_utc())
}

/// Like [`inspect`], counting days left from `now`.
pub fn inspect_at(cert_pem: &str, now: OffsetDateTime) -> Result<CertInfo> {
    inspect_named(cert_pem, "certificate", now)
}

/// Describes the first certificate of the file at `path`; errors name the file.
pub fn inspect_file(path: &Path) -> Result<CertInfo> {
    let text = read_pem_file(path)?;
    inspect_named(&text, &path.display().to_string(), OffsetDateTime::now_utc())
}

fn inspect_named(cert_pem: &str, what: &str, now: OffsetDateTime) -> Result<CertInfo> {
    let ders = pem::cert_ders(cert_pem, what)?;
    let cert = pem::parse_der(&ders[0], what)?;
    describe(&cert, &ders[0], what, now)
}

/// Whether the first certificate of `cert_pem` was issued by the first of `issuer_pem`:
/// issuer name equals the issuer's subject and the signature verifies with its key.
pub fn verify_signed_by(cert_pem: &str, issuer_pem: &str) -> Result<bool> {
    let cert_der = first_der(cert_pem, "certificate")?;
    let issuer_der = first_der(issuer_pem, "issuer certificate")?;
    let cert = pem::parse_der(&cert_der, "certificate")?;
    let issuer = pem::parse_der(&issuer_der, "issuer certificate")?;
    signed_by(&cert, &issuer)
}

/// Checks one cluster's bundle against what Istio needs: `cert_chain` is `ca_cert` then
/// `root_cert`, the CA is signed by the root, both are CAs that may sign, both are valid
/// now, and the CA's authority key id is the root's subject key id.
pub fn check_bundle(ca_cert: &str, root_cert: &str, cert_chain: &str) -> Result<BundleReport> {
    check_bundle_at(ca_cert, root_cert, cert_chain, OffsetDateTime::now_utc())
}

/// [`check_bundle`] plus: the key belongs to the CA certificate.
pub fn check_intermediate(int: &Intermediate) -> Result<BundleReport> {
    let mut report = check_bundle(&int.ca_cert, &int.root_cert, &int.cert_chain)?;
    if !key_matches_cert(&int.ca_cert, &int.ca_key, "ca-cert.pem")? {
        report
            .problems
            .push("ca-key.pem does not match ca-cert.pem".into());
    }
    Ok(report)
}

/// [`check_bundle`] as of `now`.
pub fn check_bundle_at(
    ca_cert: &str,
    root_cert: &str,
    cert_chain: &str,
    now: OffsetDateTime,
) -> Result<BundleReport> {
    let ca_der = pem::single_cert_der(ca_cert, "ca-cert.pem")?;
    let root_der = pem::single_cert_der(root_cert, "root-cert.pem")?;
    let chain = pem::cert_ders(cert_chain, "cert-chain.pem")?;
    let ca = pem::parse_der(&ca_der, "ca-cert.pem")?;
    let root = pem::parse_der(&root_der, "root-cert.pem")?;
    for (i, der) in chain.iter().enumerate() {
        pem::parse_der(der, &format!("cert-chain.pem (certificate {})", i + 1))?;
    }
    let ca_info = describe(&ca, &ca_der, "ca-cert.pem", now)?;
    let root_info = describe(&root, &root_der, "root-cert.pem", now)?;

    let mut problems = Vec::new();
    if chain != [ca_der.clone(), root_der.clone()] {
        problems.push("cert-chain.pem is not ca-cert.pem followed by root-cert.pem".to_string());
    }
    if !signed_by(&ca, &root)? {
        problems.push("ca-cert.pem is not signed by root-cert.pem".to_string());
    }
    for (name, info) in [("ca-cert.pem", &ca_info), ("root-cert.pem", &root_info)] {
        problems.extend(ca_problems(name, info, now));
    }
    if let (Some(aki), Some(ski)) = (&ca_info.authority_key_id, &root_info.subject_key_id) {
        if aki != ski {
            problems.push(
                "ca-cert.pem's authority key id differs from root-cert.pem's subject key id".to_string(),
            );
        }
    }
    Ok(BundleReport {
        ca: ca_info,
        root: root_info,
        problems,
    })
}

fn ca_problems(name: &str, info: &CertInfo, now: OffsetDateTime) -> Vec<String> {
    let mut problems = Vec::new();
    if !info.is_ca {
        problems.push(format!("{name} is not a CA certificate"));
    }
    if !info.key_usage.is_empty() && !info.key_usage.contains(&"keyCertSign") {
        problems.push(format!("{name} may not sign certificates (no keyCertSign)"));
    }
    if now > info.not_after {
        problems.push(format!("{name} expired on {}", info.not_after));
    }
    if now < info.not_before {
        problems.push(format!("{name} is not valid before {}", info.not_before));
    }
    problems
}

fn first_der(text: &str, what: &str) -> Result<Vec<u8>> {
    Ok(pem::cert_ders(text, what)?.swap_remove(0))
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> Result<bool> {
    if !same_name(cert.issuer(), issuer.subject()) {
        return Ok(false);
    }
    match cert.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(true),
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => Err(Error::Crypto {
            context: "verifying a signature",
            reason: "unsupported signature algorithm".into(),
        }),
        Err(_) => Ok(false),
    }
}

/// Byte equality, else the same attributes in the same order (a foreign root may
/// encode a string as PrintableString where we re-encode it as UTF8String).
fn same_name(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || a.to_string() == b.to_string()
}

fn describe(cert: &X509Certificate<'_>, der: &[u8], what: &str, now: OffsetDateTime) -> Result<CertInfo> {
    let bad = |ext: &str, e: x509_parser::error::X509Error| Error::malformed(what, format!("bad {ext}: {e}"));
    let bc = cert.basic_constraints().map_err(|e| bad("basicConstraints", e))?;
    let ku = cert.key_usage().map_err(|e| bad("keyUsage", e))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| bad("subjectAltName", e))?;
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        organization: first_attr(cert.subject().iter_organization()),
        common_name: first_attr(cert.subject().iter_common_name()),
        locality: first_attr(cert.subject().iter_locality()),
        key_type: key_type(cert),
        serial: cert.raw_serial_as_string(),
        not_before,
        not_after,
        days_left: (not_after - now).whole_days(),
        is_ca: bc.as_ref().is_some_and(|bc| bc.value.ca),
        basic_constraints_critical: bc.as_ref().is_some_and(|bc| bc.critical),
        path_len: bc.as_ref().and_then(|bc| bc.value.path_len_constraint),
        key_usage: ku
            .as_ref()
            .map(|ku| key_usage_names(ku.value))
            .unwrap_or_default(),
        key_usage_critical: ku.as_ref().is_some_and(|ku| ku.critical),
        dns_sans: san
            .map(|san| dns_names(&san.value.general_names))
            .unwrap_or_default(),
        sha256_fingerprint: colon_hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der).as_ref()),
        subject_key_id: subject_key_id(cert),
        authority_key_id: authority_key_id(cert),
        self_signed: signed_by(cert, cert).unwrap_or(false),
    })
}

fn first_attr<'a>(
    mut attrs: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Option<String> {
    attrs.next().and_then(|a| a.as_str().ok()).map(str::to_string)
}

fn key_type(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    if *alg == OID_PKCS1_RSAENCRYPTION {
        let bits = match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => modulus_bits(rsa.modulus),
            _ => 0,
        };
        format!("rsa-{bits}")
    } else if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        match curve {
            Some(c) if c == OID_EC_P256 => "ec-p256".to_string(),
            Some(c) if c == OID_NIST_EC_P384 => "ec-p384".to_string(),
            Some(c) => format!("ec-{c}"),
            None => "ec".to_string(),
        }
    } else if *alg == OID_SIG_ED25519 {
        "ed25519".to_string()
    } else {
        alg.to_id_string()
    }
}

fn modulus_bits(modulus: &[u8]) -> usize {
    let significant: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => &[],
    };
    match significant.first() {
        Some(first) => significant.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

fn key_usage_names(ku: &x509_parser::extensions::KeyUsage) -> Vec<&'static str> {
    [
        (ku.digital_signature(), "digitalSignature"),
        (ku.non_repudiation(), "nonRepudiation"),
        (ku.key_encipherment(), "keyEncipherment"),
        (ku.data_encipherment(), "dataEncipherment"),
        (ku.key_agreement(), "keyAgreement"),
        (ku.key_cert_sign(), "keyCertSign"),
        (ku.crl_sign(), "cRLSign"),
        (ku.encipher_only(), "encipherOnly"),
        (ku.decipher_only(), "decipherOnly"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

fn dns_names(names: &[GeneralName<'_>]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .collect()
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<String> {
    cert.iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(colon_hex(id.0)),
            _ => None,
        })
}

fn authority_key_id(cert: &X509Certificate<'_>) -> Option<String> {
    cert.iter_extensions()
        .find_map(|ext| match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                aki.key_identifier.as_ref().map(|id| colon_hex(id.0))
            }
            _ => None,
        })
}

/// `AB:CD:...`, the notation openssl prints.
pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(":")
}
