//! Helpers shared by the integration tests: options, openssl invocations, file checks, a
//! certs directory written for cluster "east", and an assertion on errors.
#![allow(dead_code, unused_macros)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mesh_trust::{CaKeyPair, CertsDir, Intermediate, KeyType, Options};

/// Asserts that the error `$err` matches `$pattern` and that its message contains
/// `$needle` (a file name, usually); on failure, shows the message.
macro_rules! assert_error {
    ($err:expr, $pattern:pat, $needle:expr) => {{
        let err = &$err;
        assert!(
            matches!(err, $pattern) && err.to_string().contains($needle),
            "{err}"
        );
    }};
}

/// Asserts that the message of `err` begins with `prefix`; on failure, shows it.
pub fn assert_message_starts(err: &impl std::fmt::Display, prefix: &str) {
    let message = err.to_string();
    assert!(message.starts_with(prefix), "{message}");
}

/// The default options, with keys of `key_type`.
pub fn opts(key_type: KeyType) -> Options {
    Options {
        key_type,
        ..Options::default()
    }
}

/// The default options with EC P-256 keys, the fastest to generate.
pub fn ec_p256() -> Options {
    opts(KeyType::EcP256)
}

/// The certs directory `<dir>/certs` with `root` and, as cluster "east", `int` written.
pub fn write_east(dir: &Path, root: &CaKeyPair, int: &Intermediate) -> CertsDir {
    let certs = CertsDir::new(dir.join("certs"));
    certs.write_root(root, false).unwrap();
    certs.write_intermediate("east", int, false).unwrap();
    certs
}

/// Runs openssl with `args` in `dir`; returns (success, stdout + stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs openssl and panics with its output on failure.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir`, recursively, relative names sorted.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(base).unwrap().display().to_string());
        if path.is_dir() {
            walk(base, &path, out);
        }
    }
}

/// A minimal openssl config for making foreign ("corporate") roots and leaves.
pub const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
O = Example Corp
CN = Example Corp Root
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
[nosign_ext]
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature
[pathlen0_ext]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
";

/// Makes key `<name>-key.pem` with `keygen` args and a self-signed cert `<name>-cert.pem`
/// with extension section `ext`, valid `days`. Returns (cert path, key path).
pub fn openssl_root(dir: &Path, name: &str, keygen: &[&str], ext: &str, days: &str) -> (PathBuf, PathBuf) {
    write(dir, "openssl.cnf", OPENSSL_CNF);
    let key = format!("{name}-key.pem");
    let cert = format!("{name}-cert.pem");
    // `-out` right after the subcommand: genrsa wants the bit count last.
    let mut args: Vec<&str> = vec![keygen[0], "-out", &key];
    args.extend(&keygen[1..]);
    openssl_ok(dir, &args);
    openssl_ok(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-config",
            "openssl.cnf",
            "-extensions",
            ext,
            "-days",
            days,
            "-out",
            &cert,
        ],
    );
    (dir.join(cert), dir.join(key))
}
