//! `certs inspect`: what the certificates on disk or in clusters are (read by core), and
//! whether they share one root, as a table or a report.

use kubectl_mesh_core::certs::inspect::{self as core_inspect, Inspection};

use super::*;

pub(super) async fn inspect(args: InspectArgs) -> Result<ExitCode, CliError> {
    init_logging(args.cluster_args.verbose);
    let from_clusters = args.cluster_args.context.is_some() || !args.cluster_args.contexts.is_empty();
    let inspection = if from_clusters {
        let clusters = args.cluster_args.connect().await?;
        core_inspect::from_clusters(&clusters, usize::from(args.cluster_args.parallel)).await
    } else {
        core_inspect::from_dir(&CertsDir::new(&args.dir))?
    };
    print_inspection(&inspection, args.report.output)?;
    Ok(exit::from_failures(inspection.failed()))
}

fn print_inspection(inspection: &Inspection, format: OutputFormat) -> Result<(), CliError> {
    let results = &inspection.results;
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
            serde_json::json!({"sharedRoot": inspection.shared_root(), "clusters": items}),
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
            Err(e) => [vec![name.clone(), format!("error: {e}")], vec![String::new(); 5]].concat(),
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
    output::print(&root_summary(inspection));
    Ok(())
}

/// The last line of `certs inspect`: unreadable bundles are named as such, not counted as a
/// different root.
fn root_summary(inspection: &Inspection) -> String {
    let unreadable = inspection.unreadable();
    match (
        unreadable.is_empty(),
        inspection.shared_root(),
        inspection.roots(),
    ) {
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
fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(23).collect()
}
