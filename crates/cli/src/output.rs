//! Rendering: YAML streams for `--generate`, tables and JSON/YAML for reports.

use std::io::Write;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use kubectl_mesh_core::kube::apply::DryRun;
use kubectl_mesh_core::report::{ClusterReport, Outcome};
use serde::Serialize;
use serde_json::Value;

use crate::args::OutputFormat;
use crate::exit::CliError;

/// A `---`-separated YAML stream, as `kubectl apply -f -` reads it.
pub fn yaml_stream(objects: &[Value]) -> Result<String, CliError> {
    let mut out = String::new();
    for object in objects {
        let doc = kubectl_mesh_core::yaml::to_string(object)
            .map_err(|e| CliError::Failed(format!("cannot render YAML: {e}")))?;
        out.push_str("---\n");
        out.push_str(&doc);
    }
    Ok(out)
}

/// Objects as kubectl prints several: a YAML stream, or a `v1/List` in JSON.
pub fn objects(objects: &[Value], format: OutputFormat) -> Result<String, CliError> {
    match format {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": objects});
            Ok(pretty_json(&list)? + "\n")
        }
        _ => yaml_stream(objects),
    }
}

pub fn pretty_json<T: Serialize>(value: &T) -> Result<String, CliError> {
    serde_json::to_string_pretty(value).map_err(|e| CliError::Failed(format!("cannot render JSON: {e}")))
}

/// A report in the machine-readable formats.
/// The apiVersion of our reports (`-o json|yaml`): they are documents of their own kind, as
/// kubectl's outputs are, so scripts can tell them apart and versions can evolve.
pub const REPORT_API_VERSION: &str = "kubectl-mesh.io/v1alpha1";

/// A report document: `apiVersion` and `kind` first, then `fields` (an object).
pub fn report(kind: &str, fields: Value) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("apiVersion".into(), Value::String(REPORT_API_VERSION.into()));
    doc.insert("kind".into(), Value::String(kind.into()));
    if let Value::Object(fields) = fields {
        doc.extend(fields);
    }
    Value::Object(doc)
}

pub fn structured<T: Serialize>(value: &T, format: OutputFormat) -> Result<String, CliError> {
    match format {
        OutputFormat::Yaml => kubectl_mesh_core::yaml::to_string(value)
            .map_err(|e| CliError::Failed(format!("cannot render YAML: {e}"))),
        _ => Ok(pretty_json(value)? + "\n"),
    }
}

/// A kubectl-style table: no borders, upper-case headers, left-aligned.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3)).set_cell_alignment(CellAlignment::Left);
    }
    let text = table.to_string();
    let mut out: String = text.lines().map(|l| l.trim_end().to_string() + "\n").collect();
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// The words kubectl appends in a dry run.
pub fn dry_run_suffix(dry_run: DryRun) -> &'static str {
    match dry_run {
        DryRun::None => "",
        DryRun::Client => " (dry run)",
        DryRun::Server => " (server dry run)",
    }
}

/// The per-cluster report of a command that writes objects: one row per object.
pub fn cluster_reports(
    reports: &[ClusterReport],
    format: OutputFormat,
    dry_run: DryRun,
    wrapper: &str,
) -> Result<String, CliError> {
    if format != OutputFormat::Table {
        let doc = report(
            wrapper,
            serde_json::json!({"dryRun": dry_run_word(dry_run), "clusters": reports}),
        );
        return structured(&doc, format);
    }
    let suffix = dry_run_suffix(dry_run);
    // Columns that say nothing for this command (no network, no address) are left out.
    let with_network = reports.iter().any(|r| r.network.is_some());
    let with_address = reports.iter().any(|r| r.address.is_some());
    let mut rows = Vec::new();
    for report in reports {
        let mut objects: Vec<(String, String)> = if report.objects.is_empty() {
            vec![("-".into(), report.result.to_string())]
        } else {
            report
                .objects
                .iter()
                .map(|o| (o.object.to_string(), format!("{}{suffix}", o.result)))
                .collect()
        };
        // Every object written, but the cluster failed after (e.g. `--wait` ran out): the
        // table must not read as a success.
        let object_failed = report.objects.iter().any(|o| o.result == Outcome::Failed);
        if report.failed() && !report.objects.is_empty() && !object_failed {
            objects.push(("-".into(), "failed (see the error below)".into()));
        }
        for (i, (object, result)) in objects.into_iter().enumerate() {
            let first = |value: Option<&String>| {
                if i == 0 {
                    value.cloned().unwrap_or_else(|| "-".into())
                } else {
                    String::new()
                }
            };
            // The context too when it differs: a row must say where it was written.
            let target = match report.context == report.cluster {
                true => report.cluster.clone(),
                false => format!("{} (context {})", report.cluster, report.context),
            };
            let mut row = vec![first(Some(&target))];
            if with_network {
                row.push(first(report.network.as_ref()));
            }
            row.extend([object, result]);
            if with_address {
                row.push(first(report.address.as_ref()));
            }
            rows.push(row);
        }
    }
    let mut headers = vec!["CLUSTER"];
    if with_network {
        headers.push("NETWORK");
    }
    headers.extend(["OBJECT", "RESULT"]);
    if with_address {
        headers.push("ADDRESS");
    }
    Ok(table(&headers, rows))
}

fn dry_run_word(dry_run: DryRun) -> &'static str {
    match dry_run {
        DryRun::None => "none",
        DryRun::Client => "client",
        DryRun::Server => "server",
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a stack of messages.
pub fn print(text: &str) {
    let text = crate::hints::localize(text);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}

/// Per-cluster errors on stderr, after the report.
pub fn print_errors(reports: &[ClusterReport]) {
    for report in reports {
        if let Some(error) = &report.error {
            crate::hints::eprint(&format!("error: {error}"));
        }
    }
}
