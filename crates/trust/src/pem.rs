//! PEM files and text: reading certificates out of them, with errors that name the source.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use x509_parser::certificate::X509Certificate;
use x509_parser::pem::Pem;

use crate::error::{Error, Result};

/// Reads a PEM file as text; a missing file is [`Error::Missing`], binary content is
/// reported as malformed PEM (DER given where PEM is expected).
pub(crate) fn read_pem_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => Error::Missing {
            path: path.to_path_buf(),
        },
        _ => Error::io(path, e),
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Error::malformed(
            &path.display().to_string(),
            "not text (DER? convert with openssl x509 -outform PEM)",
        )
    })
}

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
