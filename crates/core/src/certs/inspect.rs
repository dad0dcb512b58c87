//! `certs inspect`: what each cluster's bundle is — read from a directory or from the live
//! `cacerts` Secrets — and whether they all share one root.

use std::collections::BTreeSet;

use mesh_trust::{CertsDir, Intermediate};
use serde::Serialize;
use serde_json::Value;

use super::secret;
use super::Error;
use crate::kube::clusters::{Cluster, ClusterError};
use crate::kube::parallel;
use crate::resources::cacerts;
use crate::InputError;

/// One cluster's certificate as `certs inspect` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inspected {
    pub cluster: String,
    pub subject: String,
    pub issuer: String,
    pub key_type: String,
    pub not_after: String,
    pub days_left: i64,
    pub chains_to_root: bool,
    pub problems: Vec<String>,
    pub root_fingerprint: String,
}

/// Every cluster's inspection, or why its bundle could not be read, in the order inspected.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub results: Vec<(String, Result<Inspected, String>)>,
}

impl Inspection {
    /// Every bundle was read and all chain to one root. An unreadable bundle means "not
    /// known to share", not "a different root" (the report tells the two apart).
    pub fn shared_root(&self) -> bool {
        let mut fingerprints = self.readable().map(|i| i.root_fingerprint.as_str());
        let Some(first) = fingerprints.next() else {
            return false;
        };
        fingerprints.all(|f| f == first) && self.readable().count() == self.results.len()
    }

    /// Something to fix: an unreadable bundle, a bundle with problems, or no shared root.
    pub fn failed(&self) -> bool {
        let broken = self
            .results
            .iter()
            .any(|(_, r)| r.as_ref().map_or(true, |i| !i.problems.is_empty()));
        broken || !self.shared_root()
    }

    /// The clusters whose bundle could not be read.
    pub fn unreadable(&self) -> Vec<&str> {
        let failed = self.results.iter().filter(|(_, r)| r.is_err());
        failed.map(|(name, _)| name.as_str()).collect()
    }

    /// How many different roots the readable bundles chain to.
    pub fn roots(&self) -> usize {
        let fingerprints = self.readable().map(|i| i.root_fingerprint.as_str());
        fingerprints.collect::<BTreeSet<_>>().len()
    }

    fn readable(&self) -> impl Iterator<Item = &Inspected> {
        self.results.iter().filter_map(|(_, r)| r.as_ref().ok())
    }
}

/// The bundles in `dir`; a directory without any is bad input.
pub fn from_dir(dir: &CertsDir) -> Result<Inspection, Error> {
    let names = dir.clusters()?;
    if names.is_empty() {
        return Err(InputError::new(format!(
            "no cluster certificates in {}",
            dir.path().display()
        ))
        .with_hint("create them with `kubectl mesh certs generate --clusters a,b`, or pass --dir / --contexts")
        .into());
    }
    let results = names
        .into_iter()
        .map(|name| {
            let result = dir
                .read_intermediate(&name)
                .map_err(|e| e.to_string())
                .and_then(|b| inspected(&name, &b));
            (name, result)
        })
        .collect();
    Ok(Inspection { results })
}

/// The live bundles of `clusters`, `limit` at a time.
pub async fn from_clusters(clusters: &[Cluster], limit: usize) -> Inspection {
    let results = parallel::map_bounded(clusters.iter().collect(), limit, |cluster| async move {
        // The report holds text: the typed error ends here.
        let result = read_cluster_bundle(cluster)
            .await
            .map_err(|e| e.to_string())
            .and_then(|b| inspected(&cluster.name, &b));
        (cluster.name.clone(), result)
    })
    .await;
    Inspection { results }
}

/// What one bundle is, and what is wrong with it.
pub fn inspected(cluster: &str, bundle: &Intermediate) -> Result<Inspected, String> {
    let report = mesh_trust::check_intermediate(bundle).map_err(|e| e.to_string())?;
    let info = &report.ca;
    Ok(Inspected {
        cluster: cluster.to_string(),
        subject: info.subject.clone(),
        issuer: info.issuer.clone(),
        key_type: info.key_type.clone(),
        not_after: info.not_after.date().to_string(),
        days_left: info.days_left,
        chains_to_root: mesh_trust::verify_signed_by(&bundle.ca_cert, &bundle.root_cert).unwrap_or(false),
        problems: report.problems.clone(),
        root_fingerprint: report.root.sha256_fingerprint.clone(),
    })
}

/// The bundle in `cluster`'s live `cacerts`.
pub async fn read_cluster_bundle(cluster: &Cluster) -> Result<Intermediate, ClusterError> {
    let live = cluster
        .api
        .get(&secret::path())
        .await
        .map_err(|e| cluster.error(e))?;
    bundle_of(&cluster.name, live.as_ref()).map_err(|e| cluster.state_error(e))
}

/// The bundle held by a live `cacerts` (`None`: there is none), each entry required.
pub fn bundle_of(cluster: &str, live: Option<&Value>) -> Result<Intermediate, String> {
    let live = live.ok_or_else(|| {
        format!("cluster {cluster}: no cacerts Secret in istio-system (run `kubectl mesh certs secret`)")
    })?;
    let field = |key: &str| {
        cacerts::entry(live, key).ok_or_else(|| format!("cluster {cluster}: cacerts has no {key}"))
    };
    // The key is read only to check that it matches the certificate; it is never shown.
    Ok(Intermediate {
        ca_cert: field("ca-cert.pem")?,
        ca_key: mesh_trust::PrivateKeyPem::new(field("ca-key.pem")?),
        root_cert: field("root-cert.pem")?,
        cert_chain: field("cert-chain.pem")?,
    })
}
