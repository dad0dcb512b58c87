//! The X.509 profiles of DESIGN §5.6, i.e. what Istio's plug-in CA expects: the
//! root and the per-cluster intermediate certificates.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyUsagePurpose, SanType, SerialNumber};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Default organization (subject O=).
pub const DEFAULT_ORG: &str = "Istio";
/// Subject CN of the root.
pub const ROOT_CN: &str = "Root CA";
/// Subject CN of every intermediate.
pub const INTERMEDIATE_CN: &str = "Intermediate CA";
/// DNS SAN of the intermediate: istiod's service name, as in Istio's tools/certs.
pub const ISTIOD_SAN: &str = "istiod.istio-system.svc";
/// Default validity of the root, in days.
pub const DEFAULT_ROOT_DAYS: u32 = 3650;
/// Default validity of an intermediate, in days.
pub const DEFAULT_INTERMEDIATE_DAYS: u32 = 730;
/// Longest validity we accept (100 years): beyond it the dates stop being meaningful.
pub const MAX_DAYS: u32 = 36_500;

/// Backdating notBefore absorbs clock skew between this machine and the clusters,
/// which would otherwise reject a brand-new certificate as "not yet valid".
const BACKDATE: Duration = Duration::minutes(5);

/// Checks a requested validity.
pub(crate) fn check_days(days: u32) -> Result<u32> {
    if days == 0 || days > MAX_DAYS {
        return Err(Error::InvalidDays { days });
    }
    Ok(days)
}

/// Checks the subject organization.
pub(crate) fn check_org(org: &str) -> Result<()> {
    if org.trim().is_empty() {
        return Err(Error::InvalidOrg);
    }
    Ok(())
}

/// Root: CA:true (critical), no path length, O=<org>, CN=Root CA.
pub(crate) fn root_params(org: &str, days: u32, now: OffsetDateTime) -> Result<CertificateParams> {
    let mut params = ca_params(org, ROOT_CN)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    set_validity(&mut params, now, now + Duration::days(days.into()));
    Ok(params)
}

/// Intermediate: CA:true pathlen:0 (critical), SAN istiod, O=<org>, CN=Intermediate CA,
/// L=<cluster>, with an authority key identifier pointing at the root. Its notAfter is
/// capped at `cap` (the root's): a CA cannot usefully outlive its issuer.
pub(crate) fn intermediate_params(
    org: &str,
    cluster: &str,
    days: u32,
    now: OffsetDateTime,
    cap: OffsetDateTime,
) -> Result<CertificateParams> {
    let mut params = ca_params(org, INTERMEDIATE_CN)?;
    params.distinguished_name.push(DnType::LocalityName, cluster);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let san = ISTIOD_SAN
        .try_into()
        .map_err(|e| Error::crypto("encoding the SAN", e))?;
    params.subject_alt_names = vec![SanType::DnsName(san)];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, now, (now + Duration::days(days.into())).min(cap));
    Ok(params)
}

/// What both profiles share: subject O/CN, the key usage Istio's procedure sets
/// (rcgen marks keyUsage critical), a random serial; rcgen adds the subject key
/// identifier to every CA certificate.
fn ca_params(org: &str, cn: &str) -> Result<CertificateParams> {
    check_org(org)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::OrganizationName, org);
    params.distinguished_name.push(DnType::CommonName, cn);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn set_validity(params: &mut CertificateParams, now: OffsetDateTime, not_after: OffsetDateTime) {
    params.not_before = whole_seconds(now - BACKDATE);
    params.not_after = whole_seconds(not_after);
}

/// X.509 times have one-second resolution; truncating here keeps
/// [`crate::CaKeyPair::not_after`] equal to what the certificate says.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t - Duration::nanoseconds(t.nanosecond().into())
}

/// 20 random bytes (RFC 5280's maximum), first bit cleared so the INTEGER is
/// positive and second bit set so it keeps all 20 bytes. rcgen's default serial
/// is a hash of the public key, which would repeat if a key were reused.
fn random_serial() -> Result<SerialNumber> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 20];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Crypto {
            context: "drawing a random serial number",
            reason: "no randomness".into(),
        })?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}
