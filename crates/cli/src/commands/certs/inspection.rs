//! `certs inspect`: what the certificates on disk or in clusters are, and whether they share
//! one root.

use super::*;

/// One certificate in `certs inspect`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Inspected {
    cluster: String,
    subject: String,
    issuer: String,
    key_type: String,
    not_after: String,
    days_left: i64,
    chains_to_root: bool,
    problems: Vec<String>,
    root_fingerprint: String,
}

pub(super) fn inspected(cluster: &str, bundle: &Intermediate) -> Result<Inspected, String> {
    let report = mesh_trust::check_intermediate(bundle).map_err(|e| e.to_string())?;
    let info: &CertInfo = &report.ca;
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

pub(super) async fn inspect(args: InspectArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let from_clusters = args.cluster_args.context.is_some() || !args.cluster_args.contexts.is_empty();
    let results: Vec<(String, Result<Inspected, String>)> = if from_clusters {
        let clusters = args.cluster_args.connect().await?;
        let limit = usize::from(args.cluster_args.parallel);
        parallel::map_bounded(clusters, limit, |cluster| async move {
            let result = read_cluster_bundle(&cluster)
                .await
                .and_then(|b| inspected(&cluster.name, &b));
            (cluster.name.clone(), result)
        })
        .await
    } else {
        let dir = CertsDir::new(&args.dir);
        let names = dir.clusters().map_err(trust_error)?;
        if names.is_empty() {
            return Err(InputError::new(format!("no cluster certificates in {}", args.dir.display()))
                .with_hint("create them with `kubectl mesh certs generate --clusters a,b`, or pass --dir / --contexts")
                .into());
        }
        names
            .into_iter()
            .map(|name| {
                let result = dir
                    .read_intermediate(&name)
                    .map_err(|e| e.to_string())
                    .and_then(|b| inspected(&name, &b));
                (name, result)
            })
            .collect()
    };
    let fingerprints: Vec<&str> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|i| i.root_fingerprint.as_str())
        .collect();
    let shared_root = !fingerprints.is_empty()
        && fingerprints.iter().all(|f| *f == fingerprints[0])
        && fingerprints.len() == results.len();
    let failed = results
        .iter()
        .any(|(_, r)| r.is_err() || r.as_ref().is_ok_and(|i| !i.problems.is_empty()));
    print_inspection(&results, shared_root, args.output)?;
    Ok(exit::from_failures(failed || !shared_root))
}

pub(super) async fn read_cluster_bundle(cluster: &Cluster) -> Result<Intermediate, String> {
    let live = cluster
        .api
        .get(&cacerts::path())
        .await
        .map_err(|e| cluster.explain(&e))?
        .ok_or_else(|| {
            format!(
                "cluster {}: no cacerts Secret in istio-system (run `kubectl mesh certs secret`)",
                cluster.name
            )
        })?;
    let field = |key: &str| {
        secret::entry(&live, key).ok_or_else(|| format!("cluster {}: cacerts has no {key}", cluster.name))
    };
    // The key is read only to check that it matches the certificate; it is never shown.
    Ok(Intermediate {
        ca_cert: field("ca-cert.pem")?,
        ca_key: mesh_trust::PrivateKeyPem::new(field("ca-key.pem")?),
        root_cert: field("root-cert.pem")?,
        cert_chain: field("cert-chain.pem")?,
    })
}

pub(super) fn print_inspection(
    results: &[(String, Result<Inspected, String>)],
    shared_root: bool,
    format: OutputFormat,
) -> Result<(), CliError> {
    if format != OutputFormat::Table {
        let items: Vec<serde_json::Value> = results
            .iter()
            .map(|(name, r)| match r {
                Ok(i) => serde_json::to_value(i).unwrap_or_default(),
                Err(e) => serde_json::json!({"cluster": name, "error": e}),
            })
            .collect();
        let doc = output::report(
            "CertsInspection",
            serde_json::json!({"sharedRoot": shared_root, "clusters": items}),
        );
        output::print(&output::structured(&doc, format)?);
        return Ok(());
    }
    let rows = results
        .iter()
        .map(|(name, r)| match r {
            Ok(i) => vec![
                i.cluster.clone(),
                i.subject.clone(),
                i.key_type.clone(),
                i.not_after.clone(),
                i.days_left.to_string(),
                if i.chains_to_root && i.problems.is_empty() {
                    "ok".into()
                } else {
                    i.problems.join("; ")
                },
                short(&i.root_fingerprint),
            ],
            Err(e) => vec![
                name.clone(),
                format!("error: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        })
        .collect();
    output::print(&output::table(
        &[
            "CLUSTER",
            "SUBJECT",
            "KEY",
            "NOT AFTER",
            "DAYS LEFT",
            "CHAIN",
            "ROOT",
        ],
        rows,
    ));
    output::print(&root_summary(results, shared_root));
    Ok(())
}

/// The last line of `certs inspect`: unreadable bundles are named as such, not counted as a
/// different root.
pub(super) fn root_summary(results: &[(String, Result<Inspected, String>)], shared_root: bool) -> String {
    let unreadable: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_err())
        .map(|(name, _)| name.as_str())
        .collect();
    let roots: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|i| i.root_fingerprint.as_str())
        .collect();
    match (unreadable.is_empty(), shared_root, roots.len()) {
        (true, true, _) => "all clusters share one root\n".into(),
        (true, false, _) => "clusters do NOT share one root\n".into(),
        (false, _, n) => format!(
            "could not read the certificates of {} (see above); the others {}\n",
            unreadable.join(", "),
            if n <= 1 {
                "share one root"
            } else {
                "do NOT share one root"
            }
        ),
    }
}

/// The first bytes of a fingerprint: enough to tell roots apart in a table.
pub(super) fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(23).collect()
}
