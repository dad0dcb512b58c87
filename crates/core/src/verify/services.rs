//! `verify --services`: global services (DESIGN §6) — the host clients call (Solo's
//! `<name>.<ns>.mesh.internal` for ambient-peering, `<name>.<ns>.svc.cluster.local` for upstream
//! ambient, which has no global domain: [`Flavor::global_host`]),
//! which clusters contribute endpoints, the traffic distribution, and namesakes that are not
//! global (the usual namespace-sameness mistake).

use std::collections::BTreeMap;

use serde_json::Value;

use super::facts::ClusterFacts;
use super::{Check, Status};
use crate::expose::service::{foreign_label, scope_of};
use crate::resources::eastwest::Flavor;

use crate::labels::{TRAFFIC_DISTRIBUTION, TRAFFIC_DISTRIBUTIONS as DISTRIBUTIONS};

fn key(service: &Value) -> Option<(String, String)> {
    let meta = service.get("metadata")?;
    Some((
        meta.get("namespace")?.as_str()?.to_string(),
        meta.get("name")?.as_str()?.to_string(),
    ))
}

/// Per global service: where it is global, where a namesake is not, and how traffic spreads.
/// "Global" is the flavour's own label, by the rule `expose --service` writes with
/// ([`crate::expose::service::scope_label`]).
pub fn evaluate(all: &[ClusterFacts], flavor: Flavor) -> Vec<Check> {
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
            sent: None,
            namespace: None,
        })
        .collect();
    for ((namespace, name), clusters) in &by_key {
        let global: Vec<(&str, &str)> = clusters
            .iter()
            .filter_map(|(c, s)| Some((*c, scope_of(flavor, s)?)))
            .collect();
        checks.extend(foreign_checks(namespace, name, clusters, flavor));
        if global.is_empty() {
            continue;
        }
        checks.push(service_check(namespace, name, clusters, &global, flavor));
    }
    checks
}

fn service_check(
    namespace: &str,
    name: &str,
    clusters: &BTreeMap<&str, &Value>,
    global: &[(&str, &str)],
    flavor: Flavor,
) -> Check {
    let host = flavor.global_host(name, namespace);
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
        sent: None,
        namespace: None,
    };
    let differing = differing_settings(clusters, global);
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
        // The default flavour needs no --flavor; another one does, or the fix writes Solo's label.
        let flavor_flag = match flavor {
            Flavor::AmbientPeering => String::new(),
            other => format!(" --flavor {other}"),
        };
        check.hint = Some(format!(
            "kubectl mesh expose{flavor_flag} --service {name} -n {namespace} --scope {} --contexts {}",
            scopes.first().copied().unwrap_or("global"),
            namesakes.join(",")
        ));
    } else if let Some(settings) = differing {
        // One host, one behaviour: clusters that disagree make it depend on who answers.
        check.status = Status::Warn;
        check.message = format!("{host} is configured differently per cluster: {settings}");
        check.hint = Some(format!(
            "make them agree: kubectl mesh expose --service {name} -n {namespace} --scope <scope> --traffic-distribution <distribution> --contexts {}",
            contributors.join(",")
        ));
    }
    check
}

/// The scope and traffic distribution of each cluster, when they are not all the same.
fn differing_settings(clusters: &BTreeMap<&str, &Value>, global: &[(&str, &str)]) -> Option<String> {
    let settings: Vec<(&str, String)> = global
        .iter()
        .map(|(c, scope)| {
            let distribution = clusters[c]
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(TRAFFIC_DISTRIBUTION))
                .and_then(Value::as_str)
                .unwrap_or("PreferNetwork (default)");
            (*c, format!("{scope}, {distribution}"))
        })
        .collect();
    let same = settings.windows(2).all(|w| w[0].1 == w[1].1);
    (!same).then(|| {
        settings
            .iter()
            .map(|(c, s)| format!("{c}: {s}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// A Service labelled for the other ambient flavour is not global in this one: say which
/// label this flavour reads.
fn foreign_checks(
    namespace: &str,
    name: &str,
    clusters: &BTreeMap<&str, &Value>,
    flavor: Flavor,
) -> Vec<Check> {
    let host = flavor.global_host(name, namespace);
    let by_label: BTreeMap<&str, Vec<&str>> = clusters
        .iter()
        .filter_map(|(c, s)| Some((foreign_label(flavor, s)?, *c)))
        .fold(BTreeMap::new(), |mut map, (label, cluster)| {
            map.entry(label).or_insert_with(Vec::new).push(cluster);
            map
        });
    by_label
        .into_iter()
        .map(|(label, in_clusters)| Check {
            id: "global-service",
            cluster: None,
            from: None,
            to: None,
            service: Some(host.clone()),
            status: Status::Warn,
            message: format!(
                "{name} in {} is labelled {label}, which flavour {flavor} does not read: it is not global there",
                in_clusters.join(", ")
            ),
            hint: Some(format!(
                "kubectl mesh expose --flavor {flavor} --service {name} -n {namespace} --contexts {}",
                in_clusters.join(",")
            )),
            answered: None,
            sent: None,
            namespace: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::GLOBAL;
    use serde_json::json;

    fn facts(name: &str, services: Vec<Value>) -> ClusterFacts {
        ClusterFacts {
            services: Ok(services),
            ..ClusterFacts::new(name, name, "", Ok("v1.31.0".into()))
        }
    }

    fn service(labels: Value) -> Value {
        json!({"metadata": {"name": "reviews", "namespace": "shop", "labels": labels}})
    }

    #[test]
    fn the_flavours_label_makes_a_service_global() {
        let all = [
            facts("a", vec![service(json!({GLOBAL: "true"}))]),
            facts("b", vec![service(json!({GLOBAL: "true"}))]),
        ];
        let ambient = evaluate(&all, Flavor::Ambient);
        assert_eq!(ambient.len(), 1, "{ambient:?}");
        assert_eq!(ambient[0].status, Status::Pass, "{ambient:?}");
        // Upstream ambient has no global domain: the Service's own host.
        assert_eq!(
            ambient[0].service.as_deref(),
            Some("reviews.shop.svc.cluster.local")
        );
        assert!(
            ambient[0]
                .message
                .starts_with("reviews.shop.svc.cluster.local (global)"),
            "{ambient:?}"
        );
        let peering = evaluate(&all, Flavor::AmbientPeering);
        assert_eq!(peering.len(), 1, "{peering:?}");
        assert_eq!(peering[0].status, Status::Warn);
        assert_eq!(peering[0].service.as_deref(), Some("reviews.shop.mesh.internal"));
        assert!(
            peering[0].message.contains("labelled istio.io/global"),
            "{peering:?}"
        );
        assert_eq!(
            peering[0].hint.as_deref(),
            Some("kubectl mesh expose --flavor ambient-peering --service reviews -n shop --contexts a,b")
        );
    }
}
