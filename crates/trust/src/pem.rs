//! PEM, read and written one way for the whole workspace: with the `pem` crate, the one
//! rcgen itself uses for the keys, so certificates and keys go through the same parser.
//!
//! - [`cert_ders`], [`single_cert_der`]: the certificates of PEM text, as DER.
//! - [`encode_cert`]: a certificate's DER as the PEM openssl writes.
//!
//! Errors name the input (`what`: a file path or a description) and never echo it: at most
//! a block's label is shown, so a private key passed where a certificate belongs does not
//! end up in a message.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use ::pem::{EncodeConfig, LineEnding, Pem, PemError};
use x509_parser::certificate::X509Certificate;

use crate::error::{Error, Result};

const CERTIFICATE: &str = "CERTIFICATE";

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

/// The DER of every `CERTIFICATE` block in `text`, in order; text around the blocks (the
/// `openssl x509 -text` dump) and CRLF line endings are fine. Fails, as
/// [`Error::MalformedPem`] naming `what`, on an input without a block, a broken block
/// (bad base64, a BEGIN line without its END line), or a block of another kind (a key
/// pasted as a certificate).
pub fn cert_ders(text: &str, what: &str) -> Result<Vec<Vec<u8>>> {
    let mut ders = Vec::new();
    for block in blocks(text, what)? {
        if block.tag() != CERTIFICATE {
            return Err(Error::malformed(
                what,
                format!("expected a CERTIFICATE block, found {}", block.tag()),
            ));
        }
        ders.push(block.into_contents());
    }
    if ders.is_empty() {
        return Err(Error::malformed(what, "no CERTIFICATE block found"));
    }
    Ok(ders)
}

/// The DER of the single certificate in `text` (see [`cert_ders`]); a bundle is refused so
/// that we never silently pick the wrong certificate.
pub fn single_cert_der(text: &str, what: &str) -> Result<Vec<u8>> {
    let mut ders = cert_ders(text, what)?;
    if ders.len() != 1 {
        return Err(Error::malformed(
            what,
            format!("expected one certificate, found {}", ders.len()),
        ));
    }
    Ok(ders.remove(0))
}

/// Canonical PEM for a certificate's DER: LF line endings, 64-character lines, no text
/// around it, the way openssl writes it.
pub fn encode_cert(der: &[u8]) -> String {
    let config = EncodeConfig::new().set_line_ending(LineEnding::LF);
    ::pem::encode_config(&Pem::new(CERTIFICATE, der), config)
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

/// Every PEM block of `text`, in order (none for text without one).
fn blocks(text: &str, what: &str) -> Result<Vec<Pem>> {
    let blocks = ::pem::parse_many(text).map_err(|e| Error::malformed(what, reason(&e)))?;
    // parse_many stops without a word at a BEGIN line that has no END line after it.
    if text.matches("-----BEGIN ").count() > blocks.len() {
        return Err(Error::malformed(
            what,
            "a BEGIN line without its END line (truncated?)",
        ));
    }
    if let Some(bad) = blocks.iter().find(|b| !is_label(b.tag())) {
        return Err(Error::malformed(
            what,
            format!(
                "a BEGIN line that is not one line ({} characters)",
                bad.tag().len()
            ),
        ));
    }
    Ok(blocks)
}

/// RFC 7468's label: printable ASCII other than '-', and spaces. The parser takes all up
/// to the next "-----" as the label, which, after a BEGIN line cut short, is the body.
fn is_label(tag: &str) -> bool {
    !tag.is_empty()
        && tag
            .chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '-'))
}

/// What is wrong, in words that never repeat the input but for a well-formed label.
fn reason(e: &PemError) -> String {
    let label = |tag: &str| match is_label(tag) {
        true => tag.to_string(),
        false => "a malformed label".to_string(),
    };
    match e {
        PemError::MismatchedTags(begin, end) => {
            format!("BEGIN {} ends with END {}", label(begin), label(end))
        }
        PemError::MalformedFraming => "malformed BEGIN/END lines".to_string(),
        PemError::MissingBeginTag => "a BEGIN line without a label".to_string(),
        PemError::MissingEndTag => "an END line without a label".to_string(),
        PemError::MissingData => "a block without data".to_string(),
        PemError::InvalidData(e) => format!("bad base64: {e}"),
        PemError::InvalidHeader(_) => "a blank line inside a block, or a malformed header line".to_string(),
        PemError::NotUtf8(_) => "not UTF-8".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVu";

    fn message(text: &str) -> String {
        cert_ders(text, "input").unwrap_err().to_string()
    }

    #[test]
    fn certificates_are_encoded_as_openssl_writes_them() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode_cert(&der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("\n-----END CERTIFICATE-----\n"));
        assert!(!text.contains('\r'));
        assert!(text.lines().all(|l| l.len() <= 64));
        assert_eq!(cert_ders(&text, "x").unwrap(), [der]);
    }

    #[test]
    fn a_truncated_block_is_an_error_even_after_a_good_one() {
        let good = format!("-----BEGIN CERTIFICATE-----\n{BODY}\n-----END CERTIFICATE-----\n");
        assert_eq!(cert_ders(&good, "x").unwrap().len(), 1);
        let cut = format!("{good}-----BEGIN CERTIFICATE-----\n{BODY}\n");
        assert!(
            message(&cut).contains("without its END line"),
            "{}",
            message(&cut)
        );
    }

    #[test]
    fn errors_show_a_label_at_most() {
        let key = format!("-----BEGIN PRIVATE KEY-----\n{BODY}\n-----END PRIVATE KEY-----\n");
        assert!(message(&key).ends_with("expected a CERTIFICATE block, found PRIVATE KEY"));
        // A BEGIN line cut short: the parser's label runs into the body.
        let cut = format!("-----BEGIN PRIVATE KEY\n{BODY}\n-----END PRIVATE KEY-----\n{key}");
        // A blank line inside the body: the parser reads the lines above it as headers.
        let blank = format!("-----BEGIN PRIVATE KEY-----\n{BODY}\n\n{BODY}\n-----END PRIVATE KEY-----\n");
        let bad_base64 = format!("-----BEGIN CERTIFICATE-----\n!{BODY}\n-----END CERTIFICATE-----\n");
        for text in [cut, blank, bad_base64] {
            let msg = message(&text);
            assert!(msg.starts_with("input: malformed PEM: "), "{msg}");
            assert!(!msg.contains(&BODY[..16]), "{msg}");
        }
    }
}
