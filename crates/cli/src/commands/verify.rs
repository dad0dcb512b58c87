//! `kubectl mesh verify`: is the mesh consistent across every cluster? (issue 6)

use std::process::ExitCode;

use clap::Args;
use kubectl_mesh_core::resources::eastwest::Flavor;
use kubectl_mesh_core::verify::{self, Check, LinkMode, Status, VerifyOptions};
use kubectl_mesh_core::{names, InputError};
use serde_json::json;

use crate::args::{ClusterArgs, OutputFormat};
use crate::exit::CliError;
use crate::output;
use crate::progress::init_logging;

/// `verify`'s exit code when `--strict` and the only problems are warnings.
pub const WARNINGS_ONLY: u8 = 3;

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Checks, each with a stable id (see docs/verify.md):
  per cluster  api, istiod, cluster-name, network, trust-domain, cacerts, cacerts-expiry,
               eastwest, skip-validate-trust-domain
  mesh-wide    shared-root, mesh-id
  per pair     link (present, current, one-way), link-credentials (--check-credentials)
  services     global-service (--services)

Examples:
  kubectl mesh verify --contexts east-1,east-2,west-1
  kubectl mesh verify --contexts east-1,west-1 --mode remote-secret -o json
  kubectl mesh verify --contexts east-1,west-1 --strict     # warnings fail too (exit 3)")]
pub struct VerifyArgs {
    /// Which links to expect [default: peering for flavour ambient-peering, else remote-secret]
    #[arg(long, value_name = "MODE", value_parser = ["peering", "remote-secret"])]
    pub mode: Option<String>,

    /// Mesh flavour (chooses the default --mode)
    #[arg(long, value_name = "FLAVOR", default_value = "ambient-peering", value_parser = Flavor::NAMES)]
    pub flavor: String,

    /// Namespace of the east-west gateway
    #[arg(short = 'n', long, value_name = "NAMESPACE", default_value = "istio-gateways")]
    pub namespace: String,

    /// Name of the east-west gateway
    #[arg(long, value_name = "NAME", default_value = "istio-eastwest")]
    pub gateway: String,

    /// Warn when an intermediate CA expires within this many days
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub expiry_warn_days: i64,

    /// Treat warnings as failures (exit 3 when there are only warnings)
    #[arg(long)]
    pub strict: bool,

    /// Also check global services: hosts, contributing clusters, traffic distribution, namesakes
    #[arg(long)]
    pub services: bool,

    /// Remote-secret mode: log in to every target with its remote secret's token
    #[arg(long)]
    pub check_credentials: bool,

    /// Report format
    #[arg(short, long, value_enum, value_name = "FORMAT", default_value = "table")]
    pub output: OutputFormat,

    #[command(flatten)]
    pub clusters: ClusterArgs,
}

impl VerifyArgs {
    fn options(&self) -> Result<VerifyOptions, InputError> {
        names::check_label("namespace (-n/--namespace)", &self.namespace)?;
        names::check_label("gateway name (--gateway)", &self.gateway)?;
        let flavor: Flavor = self.flavor.parse()?;
        let mode = match (self.mode.as_deref(), flavor) {
            (Some("peering"), _) | (None, Flavor::AmbientPeering) => LinkMode::Peering,
            _ => LinkMode::RemoteSecret,
        };
        if self.check_credentials && mode != LinkMode::RemoteSecret {
            return Err(
                InputError::new("--check-credentials applies to remote-secret links")
                    .with_hint("add --mode remote-secret (or --flavor ambient / sidecar)"),
            );
        }
        Ok(VerifyOptions {
            mode,
            gateway_namespace: self.namespace.clone(),
            gateway_name: self.gateway.clone(),
            expiry_warn_days: self.expiry_warn_days,
            parallel: usize::from(self.clusters.parallel),
            services: self.services,
            check_credentials: self.check_credentials,
            timeout: self.clusters.timeout,
        })
    }
}

pub async fn run(args: VerifyArgs) -> Result<ExitCode, CliError> {
    init_logging(args.clusters.verbose);
    let options = args.options()?;
    let clusters = args.clusters.connect().await?;
    let checks = verify::run(&clusters, &options, &kubectl_mesh_core::report::NoProgress).await;
    let names: Vec<String> = clusters.iter().map(|c| c.name.clone()).collect();
    let overall = verify::overall(&checks);
    let text = match args.output {
        OutputFormat::Table => human(&checks, &names, crate::progress::stdout_colour()),
        format => output::structured(&document(&checks, overall, &options), format)?,
    };
    output::print(&text);
    Ok(exit_code(overall, args.strict))
}

fn exit_code(overall: Status, strict: bool) -> ExitCode {
    match (overall, strict) {
        (Status::Fail, _) => ExitCode::from(crate::exit::FAILED),
        (Status::Warn, true) => ExitCode::from(WARNINGS_ONLY),
        _ => ExitCode::SUCCESS,
    }
}

/// The JSON/YAML report. Its shape is a contract (docs/verify.md, pinned by a test).
fn document(checks: &[Check], overall: Status, options: &VerifyOptions) -> serde_json::Value {
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    json!({
        "apiVersion": "kubectl-mesh.io/v1alpha1",
        "kind": "VerifyReport",
        "status": overall,
        "mode": options.mode,
        "summary": {"pass": count(Status::Pass), "warn": count(Status::Warn), "fail": count(Status::Fail)},
        "checks": checks,
    })
}

fn paint(status: Status, colour: bool) -> String {
    let code = match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "31",
    };
    if colour {
        format!("\x1b[{code}m{}\x1b[0m", status.symbol())
    } else {
        status.symbol().to_string()
    }
}

fn line(out: &mut String, check: &Check, label: &str, colour: bool) {
    out.push_str(&format!(
        "  {} {label:<28} {}\n",
        paint(check.status, colour),
        check.message
    ));
    if let Some(hint) = check.hint.as_ref().filter(|_| check.status != Status::Pass) {
        out.push_str(&format!("      fix: {hint}\n"));
    }
}

/// Grouped by cluster, then mesh-wide checks, then a link matrix (rows: source).
fn human(checks: &[Check], names: &[String], colour: bool) -> String {
    let mut out = String::new();
    for name in names {
        out.push_str(&format!("cluster {name}\n"));
        for check in checks
            .iter()
            .filter(|c| c.cluster.as_deref() == Some(name.as_str()))
        {
            line(&mut out, check, check.id, colour);
        }
    }
    let mesh: Vec<&Check> = checks
        .iter()
        .filter(|c| c.cluster.is_none() && c.from.is_none())
        .collect();
    if !mesh.is_empty() {
        out.push_str("mesh\n");
        for check in mesh {
            line(&mut out, check, check.id, colour);
        }
    }
    let services: Vec<&Check> = checks.iter().filter(|c| c.service.is_some()).collect();
    if !services.is_empty() {
        out.push_str("global services\n");
        for check in services {
            line(
                &mut out,
                check,
                check.service.as_deref().unwrap_or(check.id),
                colour,
            );
        }
    }
    let links: Vec<&Check> = checks.iter().filter(|c| c.from.is_some()).collect();
    if !links.is_empty() {
        out.push_str("links (row: from, column: to)\n");
        out.push_str(&matrix(&links, names, colour));
        for check in links.iter().filter(|c| c.status != Status::Pass) {
            let label = format!(
                "{} -> {}",
                check.from.as_deref().unwrap_or(""),
                check.to.as_deref().unwrap_or("")
            );
            line(&mut out, check, &label, colour);
        }
    }
    let count = |s: Status| checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "{} passed, {} warnings, {} failed\n",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Fail)
    ));
    out
}

fn matrix(links: &[&Check], names: &[String], colour: bool) -> String {
    let mut rows = Vec::new();
    for from in names {
        let mut row = vec![from.clone()];
        for to in names {
            let cell = links
                .iter()
                .find(|c| c.from.as_deref() == Some(from.as_str()) && c.to.as_deref() == Some(to.as_str()))
                .map_or("-".to_string(), |c| paint(c.status, colour));
            row.push(cell);
        }
        rows.push(row);
    }
    let mut headers = vec![""];
    headers.extend(names.iter().map(String::as_str));
    output::table(&headers, rows)
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &'static str, cluster: Option<&str>, pair: Option<(&str, &str)>, status: Status) -> Check {
        Check {
            id,
            cluster: cluster.map(str::to_string),
            from: pair.map(|p| p.0.to_string()),
            to: pair.map(|p| p.1.to_string()),
            service: None,
            status,
            message: format!("{id} message"),
            hint: Some("do this".into()),
        }
    }

    #[test]
    fn human_report_groups_and_draws_the_matrix() {
        let checks = vec![
            c("api", Some("a"), None, Status::Pass),
            c("api", Some("b"), None, Status::Fail),
            c("shared-root", None, None, Status::Pass),
            c("link", None, Some(("a", "b")), Status::Pass),
            c("link", None, Some(("b", "a")), Status::Warn),
        ];
        let text = human(&checks, &["a".into(), "b".into()], false);
        assert!(text.contains("cluster a\n  ✔ api"), "{text}");
        assert!(text.contains("cluster b\n  ✘ api"), "{text}");
        assert!(text.contains("      fix: do this"), "{text}");
        assert!(text.contains("mesh\n  ✔ shared-root"), "{text}");
        assert!(text.contains("  a   -   ✔"), "{text}");
        assert!(text.contains("  b   ⚠   -"), "{text}");
        assert!(text.contains("⚠ b -> a"), "{text}");
        assert!(text.ends_with("3 passed, 1 warnings, 1 failed\n"), "{text}");
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(Status::Pass, true), ExitCode::SUCCESS);
        assert_eq!(exit_code(Status::Warn, false), ExitCode::SUCCESS);
        assert_eq!(exit_code(Status::Warn, true), ExitCode::from(3));
        assert_eq!(exit_code(Status::Fail, true), ExitCode::from(1));
    }
}
