//! Inspection: what `certs inspect` reports, signature checks and bundle checks.

mod common;

use mesh_trust::{
    check_bundle, check_bundle_at, generate_intermediate, generate_root, inspect, inspect_at,
    verify_signed_by, CertsDir, KeyType,
};
use time::{Duration, OffsetDateTime};

use common::{assert_message_starts, openssl_ok, opts};

#[test]
fn inspect_reports_the_profile() {
    let root = generate_root(&opts(KeyType::EcP384)).unwrap();
    let int = generate_intermediate(&root, "east", &opts(KeyType::EcP256)).unwrap();
    let r = inspect(root.cert_pem()).unwrap();
    let c = inspect(&int.ca_cert).unwrap();

    assert_eq!(r.subject, "O=Istio, CN=Root CA");
    assert_eq!(r.issuer, r.subject);
    assert!(r.self_signed && !c.self_signed);
    assert_eq!(c.subject, "O=Istio, CN=Intermediate CA, L=east");
    assert_eq!(c.issuer, "O=Istio, CN=Root CA");
    assert_eq!(
        (
            c.organization.as_deref(),
            c.common_name.as_deref(),
            c.locality.as_deref()
        ),
        (Some("Istio"), Some("Intermediate CA"), Some("east"))
    );
    assert_eq!((r.key_type.as_str(), c.key_type.as_str()), ("ec-p384", "ec-p256"));
    assert!(r.is_ca && c.is_ca && r.basic_constraints_critical && c.basic_constraints_critical);
    assert_eq!((r.path_len, c.path_len), (None, Some(0)));
    let ku = [
        "digitalSignature",
        "nonRepudiation",
        "keyEncipherment",
        "keyCertSign",
    ];
    assert_eq!(r.key_usage, ku);
    assert_eq!(c.key_usage, ku);
    assert!(c.key_usage_critical);
    assert_eq!(c.dns_sans, ["istiod.istio-system.svc"]);
    assert!(r.dns_sans.is_empty());
    assert_eq!(c.authority_key_id, r.subject_key_id);
    assert!(r.authority_key_id.is_none());
    assert!((3649..=3650).contains(&r.days_left), "{}", r.days_left);
    assert!((729..=730).contains(&c.days_left), "{}", c.days_left);
    let later = inspect_at(&int.ca_cert, OffsetDateTime::now_utc() + Duration::days(800)).unwrap();
    assert!(later.days_left < 0);
    assert_eq!(c.serial.split(':').count(), 20);
}

#[test]
fn fingerprint_and_key_ids_match_openssl() {
    let root = generate_root(&opts(KeyType::Rsa2048)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    certs.write_root(&root, false).unwrap();
    let info = inspect(root.cert_pem()).unwrap();
    assert_eq!(info.key_type, "rsa-2048");
    let fp = openssl_ok(
        tmp.path(),
        &[
            "x509",
            "-in",
            "root-cert.pem",
            "-noout",
            "-fingerprint",
            "-sha256",
        ],
    );
    assert_eq!(
        fp.trim(),
        format!("sha256 Fingerprint={}", info.sha256_fingerprint)
    );
    let text = openssl_ok(tmp.path(), &["x509", "-in", "root-cert.pem", "-noout", "-text"]);
    assert!(
        text.contains(info.subject_key_id.as_deref().unwrap()),
        "SKI as openssl prints it"
    );
    let serial = openssl_ok(tmp.path(), &["x509", "-in", "root-cert.pem", "-noout", "-serial"]);
    assert_eq!(
        serial.trim().trim_start_matches("serial="),
        info.serial.replace(':', "").to_uppercase()
    );
}

#[test]
fn verify_signed_by_tells_issuers_apart() {
    let root = generate_root(&opts(KeyType::EcP256)).unwrap();
    let other = generate_root(&opts(KeyType::EcP256)).unwrap();
    let int = generate_intermediate(&root, "east", &opts(KeyType::EcP256)).unwrap();
    assert!(verify_signed_by(&int.ca_cert, root.cert_pem()).unwrap());
    assert!(verify_signed_by(root.cert_pem(), root.cert_pem()).unwrap());
    // Same subject name, different key: the signature decides.
    assert!(!verify_signed_by(&int.ca_cert, other.cert_pem()).unwrap());
    assert!(!verify_signed_by(root.cert_pem(), &int.ca_cert).unwrap());
    assert!(verify_signed_by("junk", root.cert_pem()).is_err());
}

#[test]
fn check_bundle_accepts_ours_and_names_each_problem() {
    let root = generate_root(&opts(KeyType::EcP256)).unwrap();
    let other = generate_root(&opts(KeyType::EcP256)).unwrap();
    let int = generate_intermediate(&root, "east", &opts(KeyType::EcP256)).unwrap();
    let good = check_bundle(&int.ca_cert, &int.root_cert, &int.cert_chain).unwrap();
    assert!(good.is_ok(), "{:?}", good.problems);
    assert_eq!(
        good.root_fingerprint(),
        inspect(root.cert_pem()).unwrap().sha256_fingerprint
    );

    let swapped = format!("{}{}", int.root_cert, int.ca_cert);
    let report = check_bundle(&int.ca_cert, &int.root_cert, &swapped).unwrap();
    assert_eq!(
        report.problems,
        ["cert-chain.pem is not ca-cert.pem followed by root-cert.pem"]
    );

    let wrong_root_chain = format!("{}{}", int.ca_cert, other.cert_pem());
    let report = check_bundle(&int.ca_cert, other.cert_pem(), &wrong_root_chain).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p == "ca-cert.pem is not signed by root-cert.pem"),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("authority key id")),
        "{:?}",
        report.problems
    );

    let future = OffsetDateTime::now_utc() + Duration::days(731);
    let report = check_bundle_at(&int.ca_cert, &int.root_cert, &int.cert_chain, future).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].starts_with("ca-cert.pem expired on"));

    let err = check_bundle(&int.ca_cert, &int.root_cert, "junk").unwrap_err();
    assert_message_starts(&err, "cert-chain.pem: malformed PEM");
}

#[test]
fn check_intermediate_catches_a_foreign_key() {
    let root = generate_root(&opts(KeyType::EcP256)).unwrap();
    let mut int = generate_intermediate(&root, "east", &opts(KeyType::EcP256)).unwrap();
    int.ca_key = generate_intermediate(&root, "east", &opts(KeyType::EcP256))
        .unwrap()
        .ca_key;
    let report = mesh_trust::check_intermediate(&int).unwrap();
    assert_eq!(report.problems, ["ca-key.pem does not match ca-cert.pem"]);
}
