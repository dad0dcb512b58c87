//! Reading certificates out of PEM text, with errors that name the source.

use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

use crate::error::{Error, Result};

/// The DER of every `CERTIFICATE` block in `text`, in order. Fails on an empty
/// input, a broken block, or a block of another kind (a key pasted as a cert).
pub(crate) fn cert_ders(text: &str, what: &str) -> Result<Vec<Vec<u8>>> {
    let mut ders = Vec::new();
    for block in Pem::iter_from_buffer(text.as_bytes()) {
        let block = block.map_err(|e| Error::malformed(what, e))?;
        if block.label != "CERTIFICATE" {
            return Err(Error::malformed(
                what,
                format!("expected a CERTIFICATE block, found {}", block.label),
            ));
        }
        ders.push(block.contents);
    }
    if ders.is_empty() {
        return Err(Error::malformed(what, "no CERTIFICATE block found"));
    }
    Ok(ders)
}

/// The DER of the single certificate in `text`; a bundle is refused so that we
/// never silently pick the wrong certificate.
pub(crate) fn single_cert_der(text: &str, what: &str) -> Result<Vec<u8>> {
    let mut ders = cert_ders(text, what)?;
    if ders.len() != 1 {
        return Err(Error::malformed(
            what,
            format!("expected one certificate, found {}", ders.len()),
        ));
    }
    Ok(ders.remove(0))
}

/// Parses DER into a certificate, refusing trailing bytes.
pub(crate) fn parse_der<'a>(der: &'a [u8], what: &str) -> Result<X509Certificate<'a>> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| Error::malformed(what, format!("not an X.509 certificate: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::malformed(what, "trailing bytes after the certificate"));
    }
    Ok(cert)
}

/// Canonical PEM for a certificate's DER: LF line endings, no text around it,
/// the way openssl writes it.
pub(crate) fn encode_cert(der: &[u8]) -> String {
    let config = ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF);
    ::pem::encode_config(&::pem::Pem::new("CERTIFICATE", der), config)
}
