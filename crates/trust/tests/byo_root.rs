//! Bring-your-own root (`--root-cert/--root-key`): roots made by openssl are accepted
//! and issue verifiable intermediates; bad roots are refused with errors naming the file.

#[macro_use]
mod common;

use std::path::Path;

use mesh_trust::{
    check_intermediate, generate_intermediate, load_root, load_root_files, CertsDir, Error, KeyType,
    PrivateKeyPem,
};
use time::{Duration, OffsetDateTime};

use common::{assert_message_starts, openssl_ok, openssl_root, opts, write, write_east};

const RSA_TRADITIONAL: &[&str] = &["genrsa", "-traditional", "2048"];
const EC_SEC1: &[&str] = &["ecparam", "-genkey", "-name", "prime256v1", "-noout"];
const EC_PKCS8: &[&str] = &[
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-384",
];

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn issue_and_verify(dir: &Path, cert: &Path, key: &Path, key_type: KeyType) {
    let root = load_root_files(cert, key, now()).unwrap();
    let opts = opts(key_type);
    let int = generate_intermediate(&root, "east", &opts).unwrap();
    let report = check_intermediate(&int).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.ca.issuer, "O=Example Corp, CN=Example Corp Root");
    assert_eq!(
        report.ca.authority_key_id, report.root.subject_key_id,
        "AKI = openssl's SKI"
    );
    let certs = write_east(dir, &root, &int);
    let cluster = certs.cluster_dir("east").unwrap();
    let out = openssl_ok(
        &cluster,
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root-cert.pem",
            "ca-cert.pem",
        ],
    );
    assert!(out.contains("ca-cert.pem: OK"), "{out}");
    let args = [
        "verify",
        "-CAfile",
        "root-cert.pem",
        "-untrusted",
        "cert-chain.pem",
        "ca-cert.pem",
    ];
    assert!(openssl_ok(&cluster, &args).contains("OK"));
    // The user's key file is written back as it was read (format preserved).
    assert_eq!(
        std::fs::read_to_string(certs.root_key_path()).unwrap(),
        std::fs::read_to_string(key).unwrap()
    );
}

/// A root that openssl made with `keygen`, its key file beginning with `key_begins`
/// (when given), issues intermediates of `key_type` that verify.
fn openssl_root_issues(keygen: &[&str], key_begins: Option<&str>, key_type: KeyType) {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", keygen, "ca_ext", "365");
    if let Some(begin) = key_begins {
        assert!(std::fs::read_to_string(&key).unwrap().starts_with(begin));
    }
    issue_and_verify(tmp.path(), &cert, &key, key_type);
}

#[test]
fn openssl_rsa_root_with_pkcs1_key_issues_intermediates() {
    let pkcs1 = "-----BEGIN RSA PRIVATE KEY-----";
    openssl_root_issues(RSA_TRADITIONAL, Some(pkcs1), KeyType::Rsa2048);
}

#[test]
fn openssl_ec_root_with_sec1_key_issues_intermediates() {
    let sec1 = "-----BEGIN EC PRIVATE KEY-----";
    openssl_root_issues(EC_SEC1, Some(sec1), KeyType::EcP256);
}

#[test]
fn openssl_ec_p384_root_with_pkcs8_key_issues_rsa_intermediates() {
    openssl_root_issues(EC_PKCS8, None, KeyType::Rsa2048);
}

#[test]
fn root_cert_with_text_dump_is_normalised() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let dumped = openssl_ok(tmp.path(), &["x509", "-in", "corp-cert.pem", "-text"]);
    assert!(dumped.starts_with("Certificate:"));
    let noisy = write(tmp.path(), "noisy.pem", &dumped.replace('\n', "\r\n"));
    let root = load_root_files(&noisy, &key, now()).unwrap();
    let bare = openssl_ok(tmp.path(), &["x509", "-in", cert.to_str().unwrap()]);
    assert_eq!(root.cert_pem(), bare, "re-encoded as openssl writes it");
}

#[test]
fn mismatched_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, _) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let (_, other_key) = openssl_root(tmp.path(), "other", EC_SEC1, "ca_ext", "365");
    let err = load_root_files(&cert, &other_key, now()).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("other-key.pem") && msg.contains("corp-cert.pem") && msg.contains("does not match"),
        "{msg}"
    );

    // Same key type, different algorithm family: still a mismatch, not a crash.
    let (_, rsa_key) = openssl_root(tmp.path(), "rsa", RSA_TRADITIONAL, "ca_ext", "365");
    assert!(matches!(
        load_root_files(&cert, &rsa_key, now()),
        Err(Error::KeyMismatch { .. })
    ));
}

/// Why the EC root that openssl makes as `<name>-cert.pem` with the extensions of section
/// `ext` cannot be loaded.
fn refusal(name: &str, ext: &str) -> Error {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), name, EC_SEC1, ext, "365");
    load_root_files(&cert, &key, now()).unwrap_err()
}

#[test]
fn non_ca_certificate_is_refused() {
    let err = refusal("leaf", "leaf_ext");
    assert!(matches!(err, Error::NotCa { .. }), "{err:?}");
    assert!(err.to_string().contains("leaf-cert.pem is not a CA"), "{err}");
}

#[test]
fn ca_without_key_cert_sign_is_refused() {
    let err = refusal("nosign", "nosign_ext");
    assert!(matches!(err, Error::CannotSign { .. }), "{err:?}");
}

/// pathlen:0 lets the root sign the intermediates, but not the intermediates sign workloads.
#[test]
fn root_with_pathlen_zero_is_refused() {
    let err = refusal("pathlen0", "pathlen0_ext");
    assert!(matches!(err, Error::PathLenTooShort { .. }), "{err:?}");
    assert!(err.to_string().contains("pathlen:0"), "{err}");
}

#[test]
fn expired_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "1");
    assert!(load_root_files(&cert, &key, now()).is_ok());
    let err = load_root_files(&cert, &key, now() + Duration::days(2)).unwrap_err();
    assert!(matches!(err, Error::Expired { .. }), "{err:?}");
    assert!(err.to_string().contains("corp-cert.pem expired on"), "{err}");
    let err = load_root_files(&cert, &key, now() - Duration::days(1)).unwrap_err();
    assert!(matches!(err, Error::NotYetValid { .. }), "{err:?}");
}

#[test]
fn garbage_pem_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let cert_text = std::fs::read_to_string(&cert).unwrap();
    let truncated = cert_text.replace("-----END CERTIFICATE-----", "");
    let bad_base64 = cert_text.replacen("MII", "M!I", 1);
    let cases = [
        ("garbage.pem", "hello, I am not a certificate\n".to_string()),
        ("empty.pem", String::new()),
        ("truncated.pem", truncated),
        ("base64.pem", bad_base64),
    ];
    for (name, text) in cases {
        let path = write(tmp.path(), name, &text);
        let err = load_root_files(&path, &key, now()).unwrap_err();
        assert!(matches!(err, Error::MalformedPem { .. }), "{name}: {err:?}");
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{name}: {err}"
        );
    }
    let garbage_key = write(
        tmp.path(),
        "garbage-key.pem",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    let err = load_root_files(&cert, &garbage_key, now()).unwrap_err();
    assert_error!(err, Error::MalformedPem { .. }, "garbage-key.pem");
    let binary = tmp.path().join("binary.der");
    std::fs::write(&binary, [0x30, 0x82, 0xff, 0xfe]).unwrap();
    let err = load_root_files(&binary, &key, now()).unwrap_err();
    assert!(
        err.to_string().contains("binary.der") && err.to_string().contains("not text"),
        "{err}"
    );
    let err = load_root_files(&tmp.path().join("absent.pem"), &key, now()).unwrap_err();
    assert_error!(err, Error::Missing { .. }, "absent.pem");
}

#[test]
fn key_given_as_certificate_is_refused_without_echoing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let err = load_root_files(&key, &key, now()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("expected a CERTIFICATE block, found EC PRIVATE KEY"),
        "{msg}"
    );
    let key_text = std::fs::read_to_string(&key).unwrap();
    let body = key_text.lines().nth(1).unwrap();
    assert!(!msg.contains(body) && !format!("{err:?}").contains(body));
}

#[test]
fn encrypted_key_gets_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let args = [
        "pkcs8",
        "-topk8",
        "-in",
        "corp-key.pem",
        "-passout",
        "pass:secret",
        "-out",
        "enc-key.pem",
    ];
    openssl_ok(tmp.path(), &args);
    let err = load_root_files(&cert, &tmp.path().join("enc-key.pem"), now()).unwrap_err();
    assert!(
        err.to_string().contains("enc-key.pem") && err.to_string().contains("encrypted"),
        "{err}"
    );
    drop(key);
}

#[test]
fn load_root_from_text_uses_generic_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = openssl_root(tmp.path(), "corp", EC_SEC1, "ca_ext", "365");
    let cert_text = std::fs::read_to_string(&cert).unwrap();
    let key_text = PrivateKeyPem::new(std::fs::read_to_string(&key).unwrap());
    assert!(load_root(&cert_text, &key_text, now()).is_ok());
    let err = load_root("nope", &key_text, now()).unwrap_err();
    assert_message_starts(&err, "root certificate: malformed PEM");
}

#[test]
fn certs_dir_read_root_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    write(tmp.path(), "root-cert.pem", "garbage");
    write(tmp.path(), "root-key.pem", "garbage");
    let err = certs.read_root().unwrap_err();
    assert!(
        err.to_string()
            .contains(&certs.root_cert_path().display().to_string()),
        "{err}"
    );
}
