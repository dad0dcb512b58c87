//! Property tests: reading PEM and X.509 input never panics, whatever the bytes; bad input
//! is an error that names what was read.

use mesh_trust::{inspect, load_root, OffsetDateTime, PrivateKeyPem};
use proptest::prelude::*;

/// PEM armour around random (often valid base64) bodies: gets past the PEM layer into DER.
fn pem_like() -> impl Strategy<Value = String> {
    let label = prop_oneof![
        Just("CERTIFICATE"),
        Just("PRIVATE KEY"),
        Just("EC PRIVATE KEY"),
        Just("RSA PRIVATE KEY"),
        Just("X")
    ];
    (label, prop::collection::vec(any::<u8>(), 0..300)).prop_map(|(label, der)| {
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    })
}

proptest! {
    #[test]
    fn inspect_never_panics(text in any::<String>()) {
        let _ = inspect(&text);
    }

    #[test]
    fn inspect_never_panics_on_pem_armoured_garbage(text in pem_like()) {
        let _ = inspect(&text);
    }

    #[test]
    fn load_root_never_panics(cert in pem_like(), key in pem_like()) {
        let result = load_root(&cert, &PrivateKeyPem::new(key.clone()), OffsetDateTime::now_utc());
        if let Err(e) = result {
            let message = e.to_string();
            let body = key.lines().nth(1).unwrap_or_default();
            prop_assert!(body.len() < 8 || !message.contains(body), "errors never echo key material");
        }
    }
}
