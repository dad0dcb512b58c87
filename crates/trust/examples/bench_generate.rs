//! Times `certs generate` for a root + 3 intermediates against the openssl procedure.
//!
//! ```text
//! CARGO_TARGET_DIR=target-trust cargo run --release -p mesh-trust --example bench_generate -- [ROUNDS] [KEY_TYPE] [ours]
//! ```
//!
//! RSA key generation time varies a lot from run to run (it searches for primes), so
//! each variant runs ROUNDS times (default 5) and min / median / mean are printed.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mesh_trust::{
    generate_all, generate_intermediate, generate_intermediates, generate_root, CaKeyPair, CertsDir,
    Intermediate, KeyType, Options,
};

const CLUSTERS: [&str; 3] = ["east", "west", "central"];

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let key_type: KeyType = args.next().and_then(|a| a.parse().ok()).unwrap_or_default();
    let opts = Options {
        key_type,
        ..Options::default()
    };
    println!(
        "{rounds} rounds, key type {key_type}, root + {} intermediates, {} cores",
        CLUSTERS.len(),
        cores()
    );

    report("ours, sequential", rounds, || sequential(&opts));
    report("ours, root, then intermediates on threads", rounds, || {
        concurrent(&opts)
    });
    report("ours, generate_all (all 4 keys at once)", rounds, || {
        generate_all(&opts, &CLUSTERS).expect("generate_all");
    });
    report("ours, generate_all + write to disk", rounds, || {
        let tmp = tempfile::tempdir().expect("temp dir");
        let (root, ints) = generate_all(&opts, &CLUSTERS).expect("generate_all");
        write(tmp.path(), &root, &ints);
    });
    let ours_only = args.next().is_some_and(|a| a == "ours");
    if key_type == KeyType::Rsa4096 && !ours_only {
        paired(&opts, rounds);
        report("openssl genrsa 4096 x4", rounds, || {
            let tmp = tempfile::tempdir().expect("temp dir");
            shell(
                tmp.path(),
                "for i in 1 2 3 4; do openssl genrsa -out k$i.pem 4096 2>/dev/null; done",
            );
        });
        report("openssl procedure (Istio tools/certs steps)", rounds, || {
            let tmp = tempfile::tempdir().expect("temp dir");
            shell(tmp.path(), OPENSSL_PROCEDURE);
        });
    }
}

/// Ours (generate_all + write) and the openssl procedure back to back in each round, so
/// both see the same machine load; prints the per-round ratio.
fn paired(opts: &Options, rounds: usize) {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|_| {
            let ours = time(|| {
                let tmp = tempfile::tempdir().expect("temp dir");
                let (root, ints) = generate_all(opts, &CLUSTERS).expect("generate_all");
                write(tmp.path(), &root, &ints);
            });
            let openssl = time(|| {
                let tmp = tempfile::tempdir().expect("temp dir");
                shell(tmp.path(), OPENSSL_PROCEDURE);
            });
            println!(
                "  paired round: ours {ours:.2}s  openssl {openssl:.2}s  ratio {:.2}",
                ours / openssl
            );
            ours / openssl
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    println!(
        "paired ratio ours/openssl: median {:.2}  mean {mean:.2}",
        ratios[rounds / 2]
    );
}

fn time(run: impl FnOnce()) -> f64 {
    let start = Instant::now();
    run();
    start.elapsed().as_secs_f64()
}

fn sequential(opts: &Options) {
    let root = generate_root(opts).expect("root");
    for c in CLUSTERS {
        generate_intermediate(&root, c, opts).expect("intermediate");
    }
}

/// Root first, then the intermediates on a thread each.
fn concurrent(opts: &Options) {
    let root = generate_root(opts).expect("root");
    generate_intermediates(&root, &CLUSTERS, opts).expect("intermediates");
}

fn write(dir: &Path, root: &CaKeyPair, ints: &[Intermediate]) {
    let certs = CertsDir::new(dir.join("certs"));
    certs.write_root(root, false).expect("write root");
    for (c, int) in CLUSTERS.iter().zip(ints) {
        certs
            .write_intermediate(c, int, false)
            .expect("write intermediate");
    }
}

/// What users do by hand today (Istio's tools/certs Makefile, condensed): a root, then
/// per cluster a key, a CSR, a signature by the root, and the chain file.
const OPENSSL_PROCEDURE: &str = r#"set -e
cat > root.conf <<'CONF'
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
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
[ req_dn ]
O = Istio
CN = Root CA
CONF
openssl genrsa -out root-key.pem 4096 2>/dev/null
openssl req -sha256 -new -key root-key.pem -config root.conf -out root-cert.csr
openssl x509 -req -sha256 -days 3650 -signkey root-key.pem -extensions req_ext -extfile root.conf -in root-cert.csr -out root-cert.pem 2>/dev/null
for c in east west central; do
  mkdir -p $c
  cat > $c/intermediate.conf <<CONF
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
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign
subjectAltName=@san
[ san ]
DNS.1 = istiod.istio-system.svc
[ req_dn ]
O = Istio
CN = Intermediate CA
L = $c
CONF
  openssl genrsa -out $c/ca-key.pem 4096 2>/dev/null
  openssl req -new -config $c/intermediate.conf -key $c/ca-key.pem -out $c/cluster-ca.csr
  openssl x509 -req -sha256 -days 730 -CA root-cert.pem -CAkey root-key.pem -CAcreateserial -extensions req_ext -extfile $c/intermediate.conf -in $c/cluster-ca.csr -out $c/ca-cert.pem 2>/dev/null
  cat $c/ca-cert.pem root-cert.pem > $c/cert-chain.pem
  cp root-cert.pem $c/
done
"#;

fn shell(dir: &Path, script: &str) {
    let status = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .expect("bash");
    assert!(status.success(), "script failed");
}

fn report(name: &str, rounds: usize, mut run: impl FnMut()) {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    let mean = times.iter().sum::<Duration>() / rounds.max(1) as u32;
    let all: Vec<String> = times.iter().map(|t| format!("{:.2}", t.as_secs_f64())).collect();
    println!(
        "{name:<45} min {:>6.2}s  median {:>6.2}s  mean {:>6.2}s   [{}]",
        times[0].as_secs_f64(),
        times[rounds / 2].as_secs_f64(),
        mean.as_secs_f64(),
        all.join(" ")
    );
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
