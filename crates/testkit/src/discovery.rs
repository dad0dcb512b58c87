//! Legacy (non-aggregated) discovery documents and `/version`.
//!
//! kubectl asks for aggregated discovery first; a plain `application/json` answer
//! makes client-go fall back to these legacy documents.

use serde_json::{json, Value};

use crate::registry::{self, ResourceDef, GATEWAY_API_GROUP, RESOURCES};

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3", "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn visible_groups(gateway_api: bool) -> Vec<(&'static str, &'static str)> {
    registry::groups()
        .into_iter()
        .filter(|(g, _)| !g.is_empty() && (gateway_api || *g != GATEWAY_API_GROUP))
        .collect()
}

fn group_json(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

/// `/apis`: the served groups, then `extra` (v1-only groups served elsewhere, e.g.
/// the review APIs of [`crate::reviews`]).
pub fn groups(gateway_api: bool, extra: &[&str]) -> Value {
    let mut groups: Vec<Value> = visible_groups(gateway_api)
        .iter()
        .map(|(g, v)| group_json(g, v))
        .collect();
    groups.extend(extra.iter().map(|g| group_json(g, "v1")));
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(group: &str) -> Value {
    let version = registry::groups()
        .into_iter()
        .find(|(g, _)| *g == group)
        .map(|(_, v)| v)
        .unwrap_or("v1");
    let mut v = group_json(group, version);
    v["kind"] = json!("APIGroup");
    v["apiVersion"] = json!("v1");
    v
}

fn verbs(def: &ResourceDef) -> Value {
    if def.plural == "namespaces" {
        json!(["create", "delete", "get", "list", "patch", "update", "watch"])
    } else {
        json!([
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch"
        ])
    }
}

/// What `kubectl get all` covers (the `all` category).
const IN_ALL: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "services"),
    ("apps", "deployments"),
    ("batch", "jobs"),
];

pub fn resource_list(group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for def in RESOURCES
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        let mut entry = json!({
            "name": def.plural, "singularName": def.singular(), "namespaced": def.namespaced,
            "kind": def.kind, "verbs": verbs(def), "shortNames": def.short_names,
        });
        if IN_ALL.contains(&(def.group, def.plural)) {
            entry["categories"] = json!(["all"]);
        } else if !def.categories.is_empty() {
            entry["categories"] = json!(def.categories);
        }
        resources.push(entry);
        if def.status {
            resources.push(json!({
                "name": format!("{}/status", def.plural), "singularName": "", "namespaced": def.namespaced,
                "kind": def.kind, "verbs": ["get", "patch", "update"],
            }));
        }
        if def.group.is_empty() && def.plural == "pods" {
            resources.push(json!({
                "name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"],
            }));
        }
        if def.group.is_empty() && def.plural == "serviceaccounts" {
            resources.push(json!({
                "name": "serviceaccounts/token", "singularName": "", "namespaced": true,
                "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}
