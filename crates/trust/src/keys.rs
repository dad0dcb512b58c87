//! Key types, key generation and the redacting wrapper for private key PEM.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, RsaKeySize, SignatureAlgorithm};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The key types offered by `--key-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// RSA 4096 bits, what Istio's openssl procedure uses.
    #[default]
    Rsa4096,
    /// RSA 2048 bits.
    Rsa2048,
    /// ECDSA on NIST P-256 (signs with SHA-256).
    EcP256,
    /// ECDSA on NIST P-384 (signs with SHA-384).
    EcP384,
}

impl KeyType {
    /// Every key type, in the order shown to users.
    pub const ALL: [KeyType; 4] = [
        KeyType::Rsa4096,
        KeyType::Rsa2048,
        KeyType::EcP256,
        KeyType::EcP384,
    ];

    /// The spelling used on the command line and in topology files.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::EcP256 => "ec-p256",
            KeyType::EcP384 => "ec-p384",
        }
    }

    /// The signature algorithm a key of this type signs with.
    pub(crate) fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::Rsa4096 | KeyType::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
            KeyType::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        KeyType::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| Error::InvalidKeyType { given: s.to_string() })
    }
}

/// A private key in PEM form. The text is wiped from memory on drop and never
/// shown by `Debug`; read it with [`PrivateKeyPem::expose`] only to write it out.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(Zeroizing<String>);

impl PrivateKeyPem {
    /// Wraps PEM text read from a file or produced by key generation.
    pub fn new(pem: String) -> Self {
        PrivateKeyPem(Zeroizing::new(pem))
    }

    /// The PEM text itself: for writing to a 0600 file or into the cacerts Secret.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem([redacted])")
    }
}

/// A freshly generated private key that no certificate holds yet. Generating keys is
/// the slow part (RSA-4096: about a second each), and keys do not depend on the root,
/// so a root's and its intermediates' keys can all be made at once on separate threads
/// ([`generate_keys`]) before anything is signed. `Debug` never shows the key.
pub struct NewKey {
    pub(crate) key: KeyPair,
    key_type: KeyType,
}

impl NewKey {
    /// Generates a key. RSA goes through AWS-LC, whose keygen is what makes
    /// `certs generate` faster than the openssl procedure.
    pub fn generate(key_type: KeyType) -> Result<NewKey> {
        let alg = key_type.signature_algorithm();
        let generated = match key_type {
            KeyType::Rsa4096 => KeyPair::generate_rsa_for(alg, RsaKeySize::_4096),
            KeyType::Rsa2048 => KeyPair::generate_rsa_for(alg, RsaKeySize::_2048),
            KeyType::EcP256 | KeyType::EcP384 => KeyPair::generate_for(alg),
        };
        let key = generated.map_err(|e| Error::crypto("generating a private key", e))?;
        Ok(NewKey { key, key_type })
    }

    /// The type it was generated as.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey")
            .field("key_type", &self.key_type)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Generates `count` keys, each on its own thread.
pub fn generate_keys(key_type: KeyType, count: usize) -> Result<Vec<NewKey>> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..count)
            .map(|_| s.spawn(move || NewKey::generate(key_type)))
            .collect();
        handles.into_iter().map(join).collect()
    })
}

/// A panicking keygen thread is a bug in the crypto library, not bad input; report it
/// as an error rather than bringing the CLI down.
pub(crate) fn join<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle.join().unwrap_or_else(|_| {
        Err(Error::Crypto {
            context: "generating keys",
            reason: "a worker thread panicked".into(),
        })
    })
}

/// Parses a private key (PKCS#8, PKCS#1 or SEC1 PEM). `what` names the source in errors.
pub(crate) fn parse(pem: &PrivateKeyPem, what: &str) -> Result<KeyPair> {
    let text = pem.expose();
    if !text.contains("-----BEGIN") {
        return Err(Error::malformed(what, "no PEM block found"));
    }
    if text.contains("ENCRYPTED") {
        return Err(Error::malformed(
            what,
            "encrypted private keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)",
        ));
    }
    // rcgen's message is generic ("could not parse key pair"): it does not echo input.
    KeyPair::from_pem(text).map_err(|e| Error::malformed(what, format!("not a supported private key: {e}")))
}

/// The key pair's PKCS#8 PEM, wrapped so it cannot be logged by accident.
pub(crate) fn to_pem(key: &KeyPair) -> PrivateKeyPem {
    PrivateKeyPem::new(key.serialize_pem())
}
