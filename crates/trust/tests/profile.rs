//! The X.509 profile of DESIGN §5.6, for every key type: openssl accepts the chain,
//! and every extension is what Istio's plug-in CA procedure produces.

mod common;

use mesh_trust::{generate_intermediate, generate_root, KeyType, Options};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_NIST_EC_P384, OID_PKCS1_SHA256WITHRSA, OID_SIG_ECDSA_WITH_SHA256,
    OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::public_key::PublicKey;

use common::{ec_p256, openssl, openssl_ok, opts};

/// digitalSignature | nonRepudiation | keyEncipherment | keyCertSign.
const KEY_USAGE_BITS: u16 = 0b10_0111;

fn der_of(pem: &str) -> Vec<u8> {
    mesh_trust::pem::single_cert_der(pem, "certificate").expect("PEM")
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    let (rest, cert) = x509_parser::parse_x509_certificate(der).expect("DER");
    assert!(rest.is_empty());
    cert
}

fn attrs(name: &x509_parser::x509::X509Name<'_>) -> Vec<(String, String)> {
    name.iter_attributes()
        .map(|a| {
            (
                a.attr_type().to_id_string(),
                a.as_str().expect("string attribute").to_string(),
            )
        })
        .collect()
}

fn ski(cert: &X509Certificate<'_>) -> Vec<u8> {
    cert.iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
        .expect("subject key identifier")
}

fn aki(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.iter_extensions().find_map(|e| match e.parsed_extension() {
        ParsedExtension::AuthorityKeyIdentifier(a) => {
            Some(a.key_identifier.as_ref().expect("keyIdentifier").0.to_vec())
        }
        _ => None,
    })
}

fn check_key(cert: &X509Certificate<'_>, key_type: KeyType) {
    let spki = cert.public_key();
    let sig = &cert.signature_algorithm.algorithm;
    match (key_type, spki.parsed().expect("public key")) {
        (KeyType::Rsa4096, PublicKey::RSA(rsa)) => assert_eq!(rsa.key_size(), 4096),
        (KeyType::Rsa2048, PublicKey::RSA(rsa)) => assert_eq!(rsa.key_size(), 2048),
        (KeyType::EcP256 | KeyType::EcP384, PublicKey::EC(_)) => {
            let curve = spki.algorithm.parameters.as_ref().unwrap().as_oid().unwrap();
            let want = if key_type == KeyType::EcP256 {
                OID_EC_P256
            } else {
                OID_NIST_EC_P384
            };
            assert_eq!(curve, want);
        }
        (kt, other) => panic!("{kt}: unexpected key {other:?}"),
    }
    // The root signs both certificates, so the signature follows the root's key type.
    let want_sig = match key_type {
        KeyType::Rsa4096 | KeyType::Rsa2048 => OID_PKCS1_SHA256WITHRSA,
        KeyType::EcP256 => OID_SIG_ECDSA_WITH_SHA256,
        KeyType::EcP384 => OID_SIG_ECDSA_WITH_SHA384,
    };
    assert_eq!(*sig, want_sig, "{key_type}: signature algorithm");
}

fn check_common(cert: &X509Certificate<'_>, days: i64) {
    assert_eq!(cert.version().0, 2, "X.509 v3");
    let serial = cert.raw_serial();
    assert_eq!(serial.len(), 20, "20-byte serial");
    assert!(serial[0] & 0x80 == 0, "positive serial");
    let bc = cert.basic_constraints().unwrap().expect("basicConstraints");
    assert!(bc.critical, "basicConstraints critical");
    assert!(bc.value.ca, "CA:true");
    let ku = cert.key_usage().unwrap().expect("keyUsage");
    assert!(ku.critical, "keyUsage critical");
    assert_eq!(ku.value.flags, KEY_USAGE_BITS, "keyUsage bits");
    assert!(ku.value.digital_signature() && ku.value.non_repudiation());
    assert!(ku.value.key_encipherment() && ku.value.key_cert_sign());
    assert!(!ku.value.crl_sign());
    assert!(
        cert.extended_key_usage().unwrap().is_none(),
        "no extendedKeyUsage"
    );
    let v = cert.validity();
    let (nb, na) = (v.not_before.to_datetime(), v.not_after.to_datetime());
    let now = OffsetDateTime::now_utc();
    assert!(
        nb <= now && now - nb < Duration::minutes(10),
        "notBefore is now, backdated a little"
    );
    assert!(
        (na - now - Duration::days(days)).abs() < Duration::minutes(1),
        "notAfter now + {days} days, got {na}"
    );
}

fn check_root(cert: &X509Certificate<'_>, org: &str, days: i64) {
    check_common(cert, days);
    let want = vec![
        ("2.5.4.10".to_string(), org.to_string()),
        ("2.5.4.3".to_string(), "Root CA".to_string()),
    ];
    assert_eq!(attrs(cert.subject()), want, "root subject");
    assert_eq!(cert.issuer().as_raw(), cert.subject().as_raw(), "self-issued");
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert_eq!(bc.value.path_len_constraint, None, "root has no pathlen");
    assert_eq!(ski(cert).len(), 20);
    assert!(
        cert.subject_alternative_name().unwrap().is_none(),
        "root has no SAN"
    );
    cert.verify_signature(None).expect("self-signed");
}

fn check_intermediate(
    cert: &X509Certificate<'_>,
    root: &X509Certificate<'_>,
    org: &str,
    cluster: &str,
    days: i64,
) {
    check_common(cert, days);
    let want = vec![
        ("2.5.4.10".to_string(), org.to_string()),
        ("2.5.4.3".to_string(), "Intermediate CA".to_string()),
        ("2.5.4.7".to_string(), cluster.to_string()),
    ];
    assert_eq!(attrs(cert.subject()), want, "intermediate subject");
    assert_eq!(
        cert.issuer().as_raw(),
        root.subject().as_raw(),
        "issuer is the root"
    );
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert_eq!(bc.value.path_len_constraint, Some(0), "pathlen:0");
    let san = cert.subject_alternative_name().unwrap().expect("SAN");
    assert!(!san.critical);
    assert_eq!(
        san.value.general_names,
        vec![GeneralName::DNSName("istiod.istio-system.svc")]
    );
    assert_eq!(ski(cert).len(), 20);
    assert_ne!(ski(cert), ski(root));
    assert_eq!(aki(cert), Some(ski(root)), "AKI = root SKI");
    cert.verify_signature(Some(root.public_key()))
        .expect("signed by the root");
}

fn check_key_type(key_type: KeyType) {
    let opts = opts(key_type);
    let root = generate_root(&opts).unwrap();
    let int = generate_intermediate(&root, "east", &opts).unwrap();

    let root_der = der_of(root.cert_pem());
    let ca_der = der_of(&int.ca_cert);
    let root_x = parse(&root_der);
    let ca_x = parse(&ca_der);
    check_root(&root_x, "Istio", 3650);
    check_intermediate(&ca_x, &root_x, "Istio", "east", 730);
    check_key(&root_x, key_type);
    check_key(&ca_x, key_type);
    assert_ne!(root_x.raw_serial(), ca_x.raw_serial());

    assert_eq!(int.root_cert, root.cert_pem());
    assert_eq!(int.cert_chain, format!("{}{}", int.ca_cert, int.root_cert));
    assert!(int.ca_cert.ends_with("-----END CERTIFICATE-----\n"));
    assert!(int.ca_key.expose().starts_with("-----BEGIN PRIVATE KEY-----\n"));

    let tmp = tempfile::tempdir().unwrap();
    let certs = common::write_east(tmp.path(), &root, &int);
    openssl_verify_chain(&certs.cluster_dir("east").unwrap());
}

/// openssl accepts ca-cert under the root (strict RFC 5280 checks), the chain file as
/// untrusted intermediates, and a workload certificate signed with ca-key.pem; and it
/// enforces pathlen:0 against a CA slipped in under the intermediate.
fn openssl_verify_chain(dir: &std::path::Path) {
    let out = sh(dir, "verify -x509_strict -CAfile root-cert.pem ca-cert.pem");
    assert!(out.contains("ca-cert.pem: OK"), "{out}");
    let out = sh(
        dir,
        "verify -x509_strict -CAfile root-cert.pem -untrusted cert-chain.pem ca-cert.pem",
    );
    assert!(out.contains("ca-cert.pem: OK"), "{out}");

    let ec_key = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out";
    sh(dir, &format!("{ec_key} leaf-key.pem"));
    sh(dir, "req -new -key leaf-key.pem -subj /CN=workload -out leaf.csr");
    let sign = "x509 -req -days 1 -in";
    sh(
        dir,
        &format!("{sign} leaf.csr -CA ca-cert.pem -CAkey ca-key.pem -set_serial 7 -out leaf.pem"),
    );
    let out = sh(
        dir,
        "verify -CAfile root-cert.pem -untrusted cert-chain.pem leaf.pem",
    );
    assert!(out.contains("leaf.pem: OK"), "{out}");

    sh(dir, &format!("{ec_key} sub-key.pem"));
    sh(dir, "req -new -key sub-key.pem -subj /CN=sub-ca -out sub.csr");
    common::write(
        dir,
        "sub.ext",
        "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n",
    );
    sh(
        dir,
        &format!(
            "{sign} sub.csr -CA ca-cert.pem -CAkey ca-key.pem -set_serial 8 -extfile sub.ext -out sub.pem"
        ),
    );
    sh(
        dir,
        &format!("{sign} leaf.csr -CA sub.pem -CAkey sub-key.pem -set_serial 9 -out deep.pem"),
    );
    let chain = std::fs::read_to_string(dir.join("cert-chain.pem")).unwrap();
    let sub = std::fs::read_to_string(dir.join("sub.pem")).unwrap();
    common::write(dir, "untrusted.pem", &(chain + &sub));
    let args: Vec<&str> = "verify -CAfile root-cert.pem -untrusted untrusted.pem deep.pem"
        .split(' ')
        .collect();
    let (ok, out) = openssl(dir, &args);
    assert!(
        !ok && out.contains("path length"),
        "pathlen:0 not enforced: {out}"
    );
}

fn sh(dir: &std::path::Path, args: &str) -> String {
    openssl_ok(dir, &args.split(' ').collect::<Vec<_>>())
}

/// One test of the whole profile per key type.
macro_rules! profile_tests {
    ($($name:ident: $key_type:ident,)*) => {$(
        #[test]
        fn $name() {
            check_key_type(KeyType::$key_type);
        }
    )*};
}

profile_tests! {
    profile_rsa_4096: Rsa4096,
    profile_rsa_2048: Rsa2048,
    profile_ec_p256: EcP256,
    profile_ec_p384: EcP384,
}

#[test]
fn org_and_days_are_honoured() {
    let opts = Options {
        key_type: KeyType::EcP256,
        days: Some(30),
        org: "Acme".into(),
    };
    let root = generate_root(&opts).unwrap();
    let int = generate_intermediate(
        &root,
        "west-2",
        &Options {
            days: Some(7),
            ..opts.clone()
        },
    )
    .unwrap();
    let (root_der, ca_der) = (der_of(root.cert_pem()), der_of(&int.ca_cert));
    check_root(&parse(&root_der), "Acme", 30);
    check_intermediate(&parse(&ca_der), &parse(&root_der), "Acme", "west-2", 7);
}

#[test]
fn intermediate_never_outlives_its_root() {
    let root = generate_root(&Options {
        key_type: KeyType::EcP256,
        days: Some(10),
        ..Options::default()
    })
    .unwrap();
    let int = generate_intermediate(&root, "east", &ec_p256()).unwrap();
    let ca_der = der_of(&int.ca_cert);
    assert_eq!(
        parse(&ca_der).validity().not_after.to_datetime(),
        root.not_after()
    );
}

#[test]
fn serials_are_random() {
    let opts = ec_p256();
    let root = generate_root(&opts).unwrap();
    let a = generate_intermediate(&root, "east", &opts).unwrap();
    let b = generate_intermediate(&root, "east", &opts).unwrap();
    let (da, db) = (der_of(&a.ca_cert), der_of(&b.ca_cert));
    assert_ne!(parse(&da).raw_serial(), parse(&db).raw_serial());
}

#[test]
fn invalid_options_are_refused() {
    let opts = ec_p256();
    let root = generate_root(&opts).unwrap();
    for bad in ["", "East", "a_b", "../x", "-a"] {
        let err = generate_intermediate(&root, bad, &opts).unwrap_err();
        assert!(
            matches!(err, mesh_trust::Error::InvalidClusterName { .. }),
            "{bad}: {err}"
        );
        assert!(err.to_string().contains("DNS-1123"), "{err}");
    }
    let err = generate_root(&Options {
        org: " ".into(),
        ..opts.clone()
    })
    .unwrap_err();
    assert!(matches!(err, mesh_trust::Error::InvalidOrg), "{err}");
    let err = generate_root(&Options {
        days: Some(0),
        ..opts.clone()
    })
    .unwrap_err();
    assert!(matches!(err, mesh_trust::Error::InvalidDays { days: 0 }), "{err}");
}

#[test]
fn key_type_parses_and_displays() {
    for kt in KeyType::ALL {
        assert_eq!(kt.to_string().parse::<KeyType>().unwrap(), kt);
    }
    assert_eq!(KeyType::default(), KeyType::Rsa4096);
    assert_eq!("RSA-2048".parse::<KeyType>().unwrap(), KeyType::Rsa2048);
    let err = "rsa-1024".parse::<KeyType>().unwrap_err().to_string();
    assert!(
        err.contains("rsa-1024") && err.contains("rsa-4096, rsa-2048, ec-p256, ec-p384"),
        "{err}"
    );
}

#[test]
fn intermediates_can_be_issued_concurrently() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mesh_trust::CaKeyPair>();
    assert_send_sync::<mesh_trust::Intermediate>();
    let opts = ec_p256();
    let root = generate_root(&opts).unwrap();
    let ints: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = ["a", "b", "c"]
            .map(|c| s.spawn(|| generate_intermediate(&root, c, &opts).unwrap()))
            .into_iter()
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (int, cluster) in ints.iter().zip(["a", "b", "c"]) {
        let report = mesh_trust::check_intermediate(int).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.ca.locality.as_deref(), Some(cluster));
    }
}

#[test]
fn generate_all_makes_a_root_and_every_intermediate() {
    let opts = Options {
        key_type: KeyType::EcP384,
        ..Options::default()
    };
    let (root, ints) = mesh_trust::generate_all(&opts, &["a", "b"]).unwrap();
    assert_eq!(ints.len(), 2);
    let root_der = der_of(root.cert_pem());
    for (int, cluster) in ints.iter().zip(["a", "b"]) {
        let ca_der = der_of(&int.ca_cert);
        check_intermediate(&parse(&ca_der), &parse(&root_der), "Istio", cluster, 730);
        check_key(&parse(&ca_der), KeyType::EcP384);
    }
    check_root(&parse(&root_der), "Istio", 3650);
    let more = mesh_trust::generate_intermediates(&root, &["c"], &opts).unwrap();
    assert!(mesh_trust::check_intermediate(&more[0]).unwrap().is_ok());
}

#[test]
fn generate_all_checks_every_input_first() {
    let opts = Options::default(); // rsa-4096: a slow keygen would show up as a slow test
    let start = std::time::Instant::now();
    let err = mesh_trust::generate_all(&opts, &["ok", "Not_OK"]).unwrap_err();
    assert!(
        matches!(err, mesh_trust::Error::InvalidClusterName { ref name, .. } if name == "Not_OK"),
        "{err}"
    );
    let err = mesh_trust::generate_all(
        &Options {
            org: String::new(),
            ..opts.clone()
        },
        &["ok"],
    )
    .unwrap_err();
    assert!(matches!(err, mesh_trust::Error::InvalidOrg), "{err}");
    assert!(
        start.elapsed() < std::time::Duration::from_millis(200),
        "no key was generated"
    );
}
