//! Validation against the real, vendored upstream schemas (`crates/testkit/upstream/`):
//! the Gateway API, Istio and Sail operator CustomResourceDefinitions and the Kubernetes
//! 1.33 OpenAPI v3 of the built-in kinds.
//!
//! The fake server runs every write through [`Schemas::admit`] (defaulting, pruning,
//! structural checks, CEL rules) and product tests can check generated objects without a
//! server. CEL rules ratchet as in 1.33: a rule without `oldSelf` is not evaluated on a value
//! an update left unchanged (the real server evaluates it and turns a failure into a
//! `Warning` header, which the fake does not send); structural checks do not ratchet here.
//!
//! ```
//! use mesh_testkit::schema::Schemas;
//! let gw = serde_json::json!({
//!     "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
//!     "metadata": {"name": "g", "namespace": "n"},
//!     "spec": {"gatewayClassName": "c", "listeners": [{"name": "Bad_Name", "port": 80, "protocol": "HTTP"}]},
//! });
//! let err = Schemas::upstream().validate(&gw).unwrap_err();
//! assert!(err.to_string().starts_with("Gateway.gateway.networking.k8s.io \"g\" is invalid: spec.listeners[0].name: Invalid value: \"Bad_Name\""));
//! ```

mod cel;
mod errors;
mod load;
mod walk;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Value};

pub(crate) use errors::{invalid_message, quote};
pub use errors::{FieldError, SchemaError};
pub use load::KindSchema;
pub(crate) use walk::{resolve, OBJECT_META};

use crate::meta;

/// Every vendored schema, loaded once.
pub struct Schemas {
    kinds: Vec<KindSchema>,
    defs: HashMap<String, Value>,
    docs: Vec<(String, Value)>,
    crds: Vec<Value>,
}

/// What admitting a write found: field errors, and the unknown fields it dropped.
#[derive(Debug, Default)]
pub struct Admission {
    pub errors: Vec<FieldError>,
    pub unknown: Vec<String>,
}

/// A CEL rule the validator cannot evaluate (it calls a function nothing implements), so
/// objects are never rejected by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncheckedRule {
    pub crd: String,
    pub rule: String,
    pub missing: Vec<String>,
}

impl Schemas {
    pub fn upstream() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(Schemas::load)
    }

    fn load() -> Schemas {
        let docs = load::openapi_docs();
        let defs = load::definitions(&docs);
        let crds = load::crds();
        let mut kinds = load::builtin_kinds(&defs);
        kinds.extend(crds.iter().flat_map(load::crd_kinds));
        Schemas {
            kinds,
            defs,
            docs,
            crds,
        }
    }

    /// Built-in kinds first, then each CRD's served versions in vendoring order.
    pub fn kinds(&self) -> &[KindSchema] {
        &self.kinds
    }

    pub fn kind(&self, api_version: &str, kind: &str) -> Option<&KindSchema> {
        self.kinds
            .iter()
            .find(|k| k.kind == kind && k.api_version() == api_version)
    }

    /// The vendored CustomResourceDefinitions, as they were written.
    pub fn crds(&self) -> &[Value] {
        &self.crds
    }

    /// A vendored OpenAPI v3 document by its `/openapi/v3/` key (`api/v1`, `apis/apps/v1`).
    pub fn openapi_document(&self, key: &str) -> Option<&Value> {
        self.docs.iter().find(|(k, _)| k == key).map(|(_, d)| d)
    }

    /// Every component schema of the Kubernetes OpenAPI, by name (for `$ref`s).
    pub(crate) fn definitions(&self) -> &HashMap<String, Value> {
        &self.defs
    }

    /// A component schema of the Kubernetes OpenAPI by name.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    /// Checks an object as the apiserver would on create, with unknown fields as errors
    /// (`fieldValidation=Strict`). An apiVersion/kind with no vendored schema is an error.
    pub fn validate(&self, object: &Value) -> Result<(), SchemaError> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind_name = object["kind"].as_str().unwrap_or_default();
        let Some(kind) = self.kind(api_version, kind_name) else {
            return Err(SchemaError::other(format!(
                "no schema for apiVersion {api_version:?}, kind {kind_name:?} (typo, or not vendored in crates/testkit/upstream)"
            )));
        };
        let mut obj = object.clone();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let mut errors = name_errors(kind, &name);
        let admission = self.admit(kind, &mut obj, None);
        errors.extend(
            admission
                .unknown
                .iter()
                .map(|p| FieldError::invalid_field_unknown(p)),
        );
        errors.extend(admission.errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SchemaError::invalid(&kind.kind, &kind.group, &name, errors))
        }
    }

    /// Defaults, prunes and checks `obj` in place (`old`: the stored object of an update,
    /// for CEL transition rules). CEL rules run only on a structurally valid object.
    pub fn admit(&self, kind: &KindSchema, obj: &mut Value, old: Option<&Value>) -> Admission {
        let mut w = walk::Walk::new(&self.defs, kind.crd);
        w.node(&kind.root, obj, "");
        let mut errors = w.errors;
        if errors.is_empty() && kind.crd {
            let mut c = cel::CelWalk {
                defs: &self.defs,
                errors: Vec::new(),
            };
            c.node(&kind.root, obj, old, false, "");
            errors = c.errors;
        }
        Admission {
            errors,
            unknown: w.unknown,
        }
    }

    /// Every vendored CEL rule that calls a function nothing here implements.
    pub fn unchecked_rules(&self) -> Vec<UncheckedRule> {
        let mut out = Vec::new();
        for crd in &self.crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            let mut rules = Vec::new();
            collect_rules(&crd["spec"]["versions"], &mut rules);
            for rule in rules {
                let missing = cel::unsupported_functions(&rule);
                let entry = UncheckedRule {
                    crd: name.to_string(),
                    rule,
                    missing,
                };
                if !entry.missing.is_empty() && !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        out
    }
}

fn collect_rules(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for r in m
                .get("x-kubernetes-validations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(rule) = r["rule"].as_str() {
                    out.push(rule.to_string());
                }
            }
            m.values().for_each(|c| collect_rules(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_rules(c, out)),
        _ => {}
    }
}

/// `metadata.name` as the kind's strategy validates it: namespaces are DNS-1123 labels,
/// Services DNS-1035 labels, RBAC objects path segments, everything else DNS-1123
/// subdomains (apimachinery `ValidateObjectMeta` with the kind's name validator).
pub fn name_errors(kind: &KindSchema, name: &str) -> Vec<FieldError> {
    let rule = match (kind.group.as_str(), kind.kind.as_str()) {
        ("", "Namespace") => meta::NameRule::Label,
        ("", "Service") => meta::NameRule::Dns1035Label,
        ("rbac.authorization.k8s.io", _) => meta::NameRule::PathSegment,
        _ => meta::NameRule::Subdomain,
    };
    meta::validate_name_rule(name, rule)
}

impl FieldError {
    /// An unknown field in strict validation, worded as server-side apply's typed
    /// conversion reports it (`.spec.foo: field not declared in schema`).
    pub fn invalid_field_unknown(path: &str) -> Self {
        FieldError {
            reason: "FieldValueInvalid",
            message: "field not declared in schema".to_string(),
            field: path.to_string(),
        }
    }
}

/// `x-kubernetes-group-version-kind` entry of a kind.
pub fn gvk(kind: &KindSchema) -> Value {
    json!({"group": kind.group, "version": kind.version, "kind": kind.kind})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_vendored_kind() {
        let s = Schemas::upstream();
        for (av, kind) in [
            ("gateway.networking.k8s.io/v1", "Gateway"),
            ("gateway.networking.k8s.io/v1", "GatewayClass"),
            ("gateway.networking.k8s.io/v1", "HTTPRoute"),
            ("gateway.networking.k8s.io/v1", "GRPCRoute"),
            ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
            ("networking.istio.io/v1", "Gateway"),
            ("networking.istio.io/v1", "VirtualService"),
            ("sailoperator.io/v1", "Istio"),
            ("sailoperator.io/v1", "IstioCNI"),
            ("sailoperator.io/v1", "ZTunnel"),
            ("v1", "Secret"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "Job"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("coordination.k8s.io/v1", "Lease"),
        ] {
            assert!(s.kind(av, kind).is_some(), "{av} {kind}");
        }
        assert!(s.validate(&json!({"apiVersion": "v1", "kind": "Nope"})).is_err());
    }

    /// CRD validation ratcheting (GA in 1.33): a CEL rule failing on a value the update
    /// left as it was does not reject the update; the same value new, or changed, does.
    #[test]
    fn cel_rules_ratchet_on_unchanged_values() {
        let s = Schemas::upstream();
        let kind = s.kind("gateway.networking.k8s.io/v1", "Gateway").unwrap();
        let gateway = |listeners: Value, status: Value| {
            json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                "metadata": {"name": "g", "namespace": "n"},
                "spec": {"gatewayClassName": "c", "listeners": listeners},
                "status": status,
            })
        };
        // TCP with a hostname breaks "hostname must not be specified for protocols ['TCP', 'UDP']".
        let bad = json!([{"name": "a", "port": 15008, "protocol": "TCP", "hostname": "x.example"}]);
        let hostname_rule = |a: &Admission| {
            a.errors
                .iter()
                .any(|e| e.to_string().contains("hostname must not"))
        };
        // Stored as an older server admitted it: defaulted (its schema defaults applied).
        let mut stored = gateway(bad.clone(), json!({}));
        assert!(
            hostname_rule(&s.admit(kind, &mut stored, None)),
            "a create is checked"
        );

        let mut status_only = gateway(bad.clone(), json!({"addresses": [{"value": "10.0.0.1"}]}));
        let found = s.admit(kind, &mut status_only, Some(&stored));
        assert!(
            found.errors.is_empty(),
            "unchanged listeners ratchet: {:?}",
            found.errors
        );

        let changed = json!([{"name": "a", "port": 15009, "protocol": "TCP", "hostname": "x.example"}]);
        let mut updated = gateway(changed, json!({}));
        assert!(
            hostname_rule(&s.admit(kind, &mut updated, Some(&stored))),
            "a changed listener is checked"
        );
    }
}
