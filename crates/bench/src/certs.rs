//! `mesh-bench certs`: `kubectl-mesh certs generate --clusters c1,c2,c3` (root + 3
//! intermediates, rsa-4096) against the openssl procedure of the OpenShift / Istio
//! multicluster guide, run as the shell script users run today with the same key sizes.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::util::{self, median, secs, verdict};
use crate::CertsArgs;

/// ours / openssl must be at most this.
const TARGET_RATIO: f64 = 0.75;
const CLUSTERS: [&str; 3] = ["c1", "c2", "c3"];

/// The procedure of the guide: root CA, then per cluster an intermediate signed by it.
fn openssl_script(openssl: &str) -> String {
    let root_conf = openssl_conf(
        "root-ca.conf",
        "basicConstraints = critical, CA:true\n",
        None,
        "O = Istio\nCN = Root CA\n",
    );
    let mut s = format!(
        r#"#!/bin/sh
# The openssl procedure of the OpenShift Service Mesh / Istio multicluster guide.
set -eu
OPENSSL="{openssl}"

{root_conf}
"$OPENSSL" genrsa -out root-key.pem 4096
"$OPENSSL" req -sha256 -new -key root-key.pem -config root-ca.conf -out root-cert.csr
"$OPENSSL" x509 -req -sha256 -days 3650 -signkey root-key.pem -extensions req_ext -extfile root-ca.conf -in root-cert.csr -out root-cert.pem
"#
    );
    for cluster in CLUSTERS {
        let conf = openssl_conf(
            &format!("{cluster}/intermediate.conf"),
            "basicConstraints = critical, CA:true, pathlen:0\n",
            Some("istiod.istio-system.svc"),
            &format!("O = Istio\nCN = Intermediate CA\nL = {cluster}\n"),
        );
        s.push_str(&format!(
            r#"
mkdir -p {cluster}
{conf}"$OPENSSL" genrsa -out {cluster}/ca-key.pem 4096
"$OPENSSL" req -sha256 -new -config {cluster}/intermediate.conf -key {cluster}/ca-key.pem -out {cluster}/cluster-ca.csr
"$OPENSSL" x509 -req -sha256 -days 730 -CA root-cert.pem -CAkey root-key.pem -CAcreateserial -in {cluster}/cluster-ca.csr -out {cluster}/ca-cert.pem -extensions req_ext -extfile {cluster}/intermediate.conf
cat {cluster}/ca-cert.pem root-cert.pem > {cluster}/cert-chain.pem
cp root-cert.pem {cluster}/root-cert.pem
"#
        ));
    }
    s
}

/// The shell lines that write the guide's openssl config `file`: the `[ req ]` section
/// both configs share (4096-bit keys, SHA-256, no passphrase), the CA extensions with
/// `basic_constraints` and a DNS SAN if given (an intermediate's: istiod), and the subject
/// `dn`. Each argument is whole lines.
fn openssl_conf(file: &str, basic_constraints: &str, dns_san: Option<&str>, dn: &str) -> String {
    let san = match dns_san {
        Some(name) => format!("subjectAltName = @san\n[ san ]\nDNS.1 = {name}\n"),
        None => String::new(),
    };
    format!(
        r#"cat > {file} <<'CONF'
[ req ]
encrypt_key = no
prompt = no
utf8 = yes
default_md = sha256
default_bits = 4096
req_extensions = req_ext
x509_extensions = req_ext
distinguished_name = req_dn
[ req_ext ]
subjectKeyIdentifier = hash
{basic_constraints}keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
{san}[ req_dn ]
{dn}CONF
"#
    )
}

fn expect_files(dir: &Path, what: &str) -> Result<()> {
    for cluster in CLUSTERS {
        for file in ["ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"] {
            let path = dir.join(cluster).join(file);
            if !path.is_file() {
                bail!("{what} did not write {}", path.display());
            }
        }
    }
    Ok(())
}

fn ours(bin: &Path, key_type: &str) -> Result<Duration> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let mut cmd = Command::new(bin);
    cmd.args(["certs", "generate", "--clusters", &CLUSTERS.join(",")])
        .args(["--key-type", key_type])
        .current_dir(dir.path());
    let t = util::timed(
        &mut cmd,
        &format!("kubectl-mesh certs generate --key-type {key_type}"),
    )?;
    expect_files(&dir.path().join("certs"), "kubectl-mesh certs generate")?;
    Ok(t)
}

fn openssl(openssl: &str) -> Result<Duration> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let script = dir.path().join("make-certs.sh");
    std::fs::write(&script, openssl_script(openssl)).context("writing the openssl script")?;
    let mut cmd = Command::new("sh");
    cmd.arg(&script).current_dir(dir.path());
    let t = util::timed(&mut cmd, "the openssl procedure (sh make-certs.sh)")?;
    expect_files(dir.path(), "the openssl procedure")?;
    Ok(t)
}

pub fn run(args: &CertsArgs) -> Result<()> {
    let bin = util::kubectl_mesh(args.bin.as_deref())?;
    let version = Command::new(&args.openssl)
        .arg("version")
        .output()
        .with_context(|| format!("running `{} version` (is openssl installed?)", args.openssl))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    eprintln!(
        "certs: {} runs each, interleaved; ours = {} certs generate --clusters c1,c2,c3; openssl = {version}",
        args.runs,
        bin.display()
    );
    // Warm-up (page cache, dynamic loader), untimed.
    ours(&bin, "ec-p256")?;

    let (mut rsa, mut ssl, mut ec) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.runs {
        // Alternate who goes first so that drifting load affects both sides alike.
        if round % 2 == 0 {
            rsa.push(ours(&bin, "rsa-4096")?);
            ssl.push(openssl(&args.openssl)?);
        } else {
            ssl.push(openssl(&args.openssl)?);
            rsa.push(ours(&bin, "rsa-4096")?);
        }
        ec.push(ours(&bin, "ec-p256")?);
        eprintln!(
            "certs: round {}/{}: ours {}, openssl {}, ours ec-p256 {}",
            round + 1,
            args.runs,
            secs(rsa[rsa.len() - 1]),
            secs(ssl[ssl.len() - 1]),
            secs(ec[ec.len() - 1])
        );
    }
    let (m_rsa, m_ssl, m_ec) = (
        median(&rsa).context("no runs")?,
        median(&ssl).context("no runs")?,
        median(&ec).context("no runs")?,
    );
    let ratio = m_rsa.as_secs_f64() / m_ssl.as_secs_f64();
    // Paired: each round's ours/openssl, so a noisy round shows up as an outlier.
    let mut paired: Vec<f64> = rsa
        .iter()
        .zip(&ssl)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let paired_median = paired[paired.len() / 2];
    let n = args.runs;
    println!(
        "certs: ours {} (median of {n}), openssl {} (median of {n}), ratio {ratio:.2} (target <= {TARGET_RATIO}) {}",
        secs(m_rsa),
        secs(m_ssl),
        verdict(ratio <= TARGET_RATIO)
    );
    println!(
        "certs: runs: ours {} openssl {}; paired ratios min {:.2} median {paired_median:.2} max {:.2}",
        util::list(&rsa),
        util::list(&ssl),
        paired[0],
        paired[paired.len() - 1]
    );
    println!("certs: ours --key-type ec-p256 {} (median of {n})", secs(m_ec));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_follows_the_guide() {
        let s = openssl_script("openssl");
        assert_eq!(s.matches("genrsa -out").count(), 4);
        assert!(s.contains("genrsa -out root-key.pem 4096"));
        assert!(s.contains("-signkey root-key.pem -extensions req_ext -extfile root-ca.conf"));
        assert!(s.contains("basicConstraints = critical, CA:true, pathlen:0"));
        assert!(s.contains("DNS.1 = istiod.istio-system.svc"));
        assert!(s.contains("L = c3"));
        assert!(s.contains("cat c2/ca-cert.pem root-cert.pem > c2/cert-chain.pem"));
    }
}
