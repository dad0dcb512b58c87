//! `verify --services`: global services (DESIGN §6) — their `<name>.<ns>.mesh.internal` host,
//! which clusters contribute endpoints, the traffic distribution, and namesakes that are not
//! global (the usual namespace-sameness mistake).

use std::collections::BTreeMap;

use serde_json::Value;

use super::facts::ClusterFacts;
use super::{Check, Status};

pub const SCOPE_LABEL: &str = "solo.io/service-scope";
pub const GLOBAL_LABEL: &str = "istio.io/global";
pub const TRAFFIC_DISTRIBUTION: &str = "networking.istio.io/traffic-distribution";
pub const DISTRIBUTIONS: [&str; 4] = ["PreferClose", "PreferNetwork", "PreferRegion", "Any"];

/// How a Service takes part in the mesh, from its labels.
fn scope(service: &Value) -> Option<&str> {
    let labels = service.pointer("/metadata/labels")?;
    match labels.get(SCOPE_LABEL).and_then(Value::as_str) {
        Some(scope @ ("global" | "global-only")) => Some(scope),
        _ if labels.get(GLOBAL_LABEL).and_then(Value::as_str) == Some("true") => Some("global"),
        _ => None,
    }
}

fn key(service: &Value) -> Option<(String, String)> {
    let meta = service.get("metadata")?;
    Some((
        meta.get("namespace")?.as_str()?.to_string(),
        meta.get("name")?.as_str()?.to_string(),
    ))
}

/// Per global service: where it is global, where a namesake is not, and how traffic spreads.
pub fn evaluate(all: &[ClusterFacts]) -> Vec<Check> {
    // (namespace, name) -> cluster -> the Service there.
    let mut by_key: BTreeMap<(String, String), BTreeMap<&str, &Value>> = BTreeMap::new();
    for facts in all {
        for service in facts.services.iter().flatten() {
            if let Some(key) = key(service) {
                by_key
                    .entry(key)
                    .or_default()
                    .insert(facts.name.as_str(), service);
            }
        }
    }
    let mut checks: Vec<Check> = all
        .iter()
        .filter_map(|f| f.services.as_ref().err().map(|e| (f, e)))
        .map(|(f, e)| Check {
            id: "services",
            cluster: Some(f.name.clone()),
            from: None,
            to: None,
            service: None,
            status: Status::Fail,
            message: format!("cannot list services: {e}"),
            hint: None,
            answered: None,
        })
        .collect();
    for ((namespace, name), clusters) in &by_key {
        let global: Vec<(&str, &str)> = clusters
            .iter()
            .filter_map(|(c, s)| Some((*c, scope(s)?)))
            .collect();
        if global.is_empty() {
            continue;
        }
        checks.push(service_check(namespace, name, clusters, &global));
    }
    checks
}

fn service_check(
    namespace: &str,
    name: &str,
    clusters: &BTreeMap<&str, &Value>,
    global: &[(&str, &str)],
) -> Check {
    let host = format!("{name}.{namespace}.mesh.internal");
    let contributors: Vec<&str> = global.iter().map(|(c, _)| *c).collect();
    let scopes: Vec<&str> = global.iter().map(|(_, s)| *s).collect();
    let distribution = global
        .iter()
        .filter_map(|(c, _)| {
            clusters[c]
                .pointer("/metadata/annotations")?
                .get(TRAFFIC_DISTRIBUTION)?
                .as_str()
        })
        .next()
        .unwrap_or("PreferNetwork");
    let namesakes: Vec<&str> = clusters
        .keys()
        .copied()
        .filter(|c| !contributors.contains(c))
        .collect();
    let mut check = Check {
        id: "global-service",
        cluster: None,
        from: None,
        to: None,
        service: Some(host.clone()),
        status: Status::Pass,
        message: format!(
            "{host} ({}): endpoints from {}; traffic {distribution}",
            scopes.first().copied().unwrap_or("global"),
            contributors.join(", ")
        ),
        hint: None,
        answered: None,
    };
    if !DISTRIBUTIONS.contains(&distribution) {
        check.status = Status::Fail;
        check.message = format!("{host}: unknown traffic distribution {distribution:?}");
        check.hint = Some(format!("use one of {}", DISTRIBUTIONS.join(", ")));
    } else if !namesakes.is_empty() {
        check.status = Status::Warn;
        check.message = format!(
            "{host} is global in {} but {} in {} is not: its endpoints there are left out",
            contributors.join(", "),
            name,
            namesakes.join(", ")
        );
        check.hint = Some(format!(
            "kubectl mesh expose --service {name} -n {namespace} --scope {} --contexts {}",
            scopes.first().copied().unwrap_or("global"),
            namesakes.join(",")
        ));
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes() {
        assert_eq!(
            scope(&json!({"metadata": {"labels": {SCOPE_LABEL: "global"}}})),
            Some("global")
        );
        assert_eq!(
            scope(&json!({"metadata": {"labels": {SCOPE_LABEL: "global-only"}}})),
            Some("global-only")
        );
        assert_eq!(
            scope(&json!({"metadata": {"labels": {GLOBAL_LABEL: "true"}}})),
            Some("global")
        );
        assert_eq!(
            scope(&json!({"metadata": {"labels": {SCOPE_LABEL: "cluster"}}})),
            None
        );
        assert_eq!(scope(&json!({"metadata": {}})), None);
    }
}
