//! Key material never shows up in Debug output or in error messages.

mod common;

use mesh_trust::{generate_intermediate, generate_root, load_root, CertsDir, KeyType, PrivateKeyPem};
use time::OffsetDateTime;

/// The base64 lines of a PEM key: any one of them in a message is a leak.
fn key_lines(pem: &str) -> Vec<String> {
    pem.lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(str::to_string)
        .collect()
}

fn assert_no_key(text: &str, key_pem: &str) {
    for line in key_lines(key_pem) {
        assert!(!text.contains(&line), "key material leaked into: {text}");
    }
}

#[test]
fn debug_output_redacts_keys() {
    for key_type in [KeyType::EcP256, KeyType::Rsa2048] {
        let opts = common::opts(key_type);
        let root = generate_root(&opts).unwrap();
        let int = generate_intermediate(&root, "east", &opts).unwrap();
        let root_dbg = format!("{root:?} {root:#?}");
        let int_dbg = format!("{int:?} {int:#?}");
        assert!(root_dbg.contains("[redacted]") && int_dbg.contains("[redacted]"));
        assert!(
            root_dbg.contains("BEGIN CERTIFICATE"),
            "certificates stay visible"
        );
        assert_no_key(&root_dbg, root.key_pem().expose());
        assert_no_key(&int_dbg, int.ca_key.expose());
        assert_eq!(format!("{:?}", root.key_pem()), "PrivateKeyPem([redacted])");
        assert!(
            !key_lines(int.ca_key.expose()).is_empty(),
            "the check itself has lines to look for"
        );
    }
}

#[test]
fn errors_never_carry_key_material() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = common::ec_p256();
    let root = generate_root(&opts).unwrap();
    let other = generate_root(&opts).unwrap();
    let key = root.key_pem().expose().to_string();
    let now = OffsetDateTime::now_utc();
    let mut errors = Vec::new();

    // Wrong key for the cert.
    errors.push(load_root(root.cert_pem(), other.key_pem(), now).unwrap_err());
    // The key given where the certificate belongs.
    errors.push(load_root(&key, root.key_pem(), now).unwrap_err());
    // A key whose body was damaged: the parser must not echo it.
    let damaged = key.replacen("A", "B", 3);
    errors.push(load_root(root.cert_pem(), &PrivateKeyPem::new(damaged.clone()), now).unwrap_err());
    // Existing key files.
    let certs = CertsDir::new(tmp.path());
    certs.write_root(&root, false).unwrap();
    errors.push(certs.write_root(&root, false).unwrap_err());
    // Key file as the cert file.
    let key_path = common::write(tmp.path(), "k.pem", &key);
    errors.push(mesh_trust::load_root_files(&key_path, &key_path, now).unwrap_err());
    errors.push(mesh_trust::inspect_file(&key_path).unwrap_err());

    for err in &errors {
        let text = format!("{err} {err:?}");
        assert_no_key(&text, &key);
        assert_no_key(&text, other.key_pem().expose());
        assert_no_key(&text, &damaged);
    }
}
