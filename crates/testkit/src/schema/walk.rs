//! The structural pass over an object: defaulting, pruning of unknown fields, and the
//! OpenAPI value checks, as k8s.io/apiextensions-apiserver does for custom resources
//! (`structuraldefaulting.Default`, `structuralpruning.Prune`, then
//! `validation.ValidateCustomResource`, whose kube-openapi errors
//! `kubeOpenAPIResultToFieldErrors` turns into field errors).
//!
//! Built-in kinds go through the same pass against the Kubernetes OpenAPI, standing in
//! for the Go decoder (unknown fields dropped, wrong types refused) and the parts of
//! their strategies' validation the schema states (required fields, enums).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;
use serde_json::{json, Map, Value};

use super::errors::FieldError;

pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// `a.b`, or `b` at the root.
pub fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Follows `$ref` and the `allOf: [{$ref}]` wrapper the Kubernetes OpenAPI v3 uses to
/// attach a description or default to a reference.
pub fn resolve<'a>(defs: &'a HashMap<String, Value>, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            match defs.get(r.rsplit('/').next().unwrap_or_default()) {
                Some(target) => {
                    s = target;
                    continue;
                }
                None => return s,
            }
        }
        match s.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([one]) if one.get("$ref").is_some() => s = one,
            _ => return s,
        }
    }
    s
}

/// The JSON type name kube-openapi reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(v: &Value) -> bool {
    v.as_i64().is_some() || v.as_u64().is_some()
}

/// Go's `%v` of a float64 bound (65535, not 65535.0).
fn bound(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => f.to_string(),
        None => v.to_string(),
    }
}

/// Compiled `pattern`s, shared by every validation (Go RE2 and the regex crate agree on
/// the syntax these schemas use). A pattern that does not compile checks nothing.
/// Shared by reference: a cloned `Regex` starts with an empty match cache of its own,
/// which cost more than the match.
fn pattern(p: &str) -> Option<Arc<Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().ok()?;
    if let Some(r) = cache.get(p) {
        return r.clone();
    }
    let compiled = Regex::new(p).ok().map(Arc::new);
    cache.insert(p.to_string(), compiled.clone());
    compiled
}

/// One structural pass: errors found, and the paths of the unknown fields it dropped.
pub struct Walk<'a> {
    pub defs: &'a HashMap<String, Value>,
    /// Custom resource: schema defaults apply, list types are enforced, and the root's
    /// `metadata` is checked against ObjectMeta (a CRD schema only says `type: object`).
    pub crd: bool,
    pub errors: Vec<FieldError>,
    pub unknown: Vec<String>,
}

impl<'a> Walk<'a> {
    pub fn new(defs: &'a HashMap<String, Value>, crd: bool) -> Self {
        Walk {
            defs,
            crd,
            errors: Vec::new(),
            unknown: Vec::new(),
        }
    }

    pub fn node(&mut self, schema: &'a Value, v: &mut Value, path: &str) {
        let s = resolve(self.defs, schema);
        let ty = s.get("type").and_then(Value::as_str).unwrap_or_default();
        if s["x-kubernetes-int-or-string"] == true || s["format"] == "int-or-string" {
            if !(v.is_string() || is_integer(v)) {
                self.type_error(path, v, "integer,string");
            }
            return;
        }
        if is_quantity(s) {
            // resource.Quantity decodes from a JSON string or number.
            if !(v.is_string() || v.is_number()) {
                self.type_error(path, v, "string");
            }
            return;
        }
        let ok = match ty {
            "object" => match v {
                Value::Object(m) => {
                    self.object(s, m, path);
                    true
                }
                _ => false,
            },
            "array" => match v {
                Value::Array(a) => {
                    self.array(s, a, path);
                    true
                }
                _ => false,
            },
            "string" => v.as_str().map(|x| self.string(s, x, path)).is_some(),
            "integer" => is_integer(v) && self.number(s, v, path),
            "number" => v.is_number() && self.number(s, v, path),
            "boolean" => v.is_boolean(),
            _ => {
                if let (Value::Object(m), true) = (&mut *v, s.get("properties").is_some()) {
                    self.object(s, m, path);
                }
                true
            }
        };
        if !ok {
            if v.is_null() && s["nullable"] == true {
                return;
            }
            self.type_error(path, v, ty);
            return;
        }
        self.enumeration(s, v, path);
    }

    /// `errors.InvalidType`: `<path> in body must be of type <type>: "<actual>"`.
    fn type_error(&mut self, path: &str, v: &Value, want: &str) {
        let actual = type_name(v);
        let detail = format!("{path} in body must be of type {want}: \"{actual}\"");
        self.errors
            .push(FieldError::type_invalid(path, &json!(actual), &detail));
    }

    fn enumeration(&mut self, s: &Value, v: &Value, path: &str) {
        let Some(allowed) = s.get("enum").and_then(Value::as_array) else {
            return;
        };
        if !allowed.contains(v) {
            let names: Vec<String> = allowed
                .iter()
                .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string))
                .collect();
            self.errors.push(FieldError::not_supported(path, v, &names));
        }
    }

    /// The schema of property `key` of an object whose schema is `s`; None if undeclared.
    fn property(&self, s: &'a Value, path: &str, key: &str) -> Option<&'a Value> {
        if self.crd && path.is_empty() && key == "metadata" {
            return self.defs.get(OBJECT_META);
        }
        s.get("properties")
            .and_then(|p| p.get(key))
            .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
    }

    /// Whether an undeclared property is kept.
    fn keeps_unknown(s: &Value, path: &str, key: &str) -> bool {
        s["x-kubernetes-preserve-unknown-fields"] == true
            || s["additionalProperties"] == true
            || (path.is_empty() && (key == "apiVersion" || key == "kind"))
            || (s["x-kubernetes-embedded-resource"] == true
                && matches!(key, "apiVersion" | "kind" | "metadata"))
    }

    fn object(&mut self, s: &'a Value, m: &mut Map<String, Value>, path: &str) {
        if self.crd {
            self.default_properties(s, m);
        } else if s.get("properties").is_none() && s.get("additionalProperties").is_none() {
            // An OpenAPI component without properties (FieldsV1, RawExtension) is opaque
            // to the Go decoder; in a CRD's structural schema it would be empty.
            return;
        }
        let map_like = s.get("properties").is_none() && s["additionalProperties"].is_object();
        let keys: Vec<String> = m.keys().cloned().collect();
        for k in keys {
            let sub_path = if map_like {
                format!("{path}[{k}]")
            } else {
                child(path, &k)
            };
            let Some(sub) = self.property(s, path, &k) else {
                if !Self::keeps_unknown(s, path, &k) {
                    self.unknown.push(sub_path);
                    m.remove(&k);
                }
                continue;
            };
            // Nulls of non-nullable fields are dropped, as apiextensions prunes them
            // before defaulting (and as the Go decoder reads them as absent).
            if m.get(&k).is_some_and(Value::is_null) && resolve(self.defs, sub)["nullable"] != true {
                m.remove(&k);
                continue;
            }
            if let Some(val) = m.get_mut(&k) {
                // A CRD's metadata is ObjectMeta: the built-in rules apply below it.
                let crd = self.crd;
                self.crd &= !(path.is_empty() && k == "metadata");
                self.node(sub, val, &sub_path);
                self.crd = crd;
            }
        }
        for r in s["required"].as_array().into_iter().flatten() {
            if let Some(r) = r.as_str().filter(|r| !m.contains_key(*r)) {
                self.errors.push(FieldError::required(&child(path, r), ""));
            }
        }
        self.count_bounds(s, path, m.len(), "Properties");
    }

    /// `max<counted>`/`min<counted>` (`Properties` of a map, `Items` of a list) for the
    /// `len` of them at `path`.
    fn count_bounds(&mut self, s: &Value, path: &str, len: usize, counted: &str) {
        let bound = |kind: &str| s[format!("{kind}{counted}").as_str()].as_i64();
        if let Some(max) = bound("max").filter(|max| len as i64 > *max) {
            self.errors.push(FieldError::too_many(path, len, max));
        }
        if let Some(min) = bound("min").filter(|min| (len as i64) < *min) {
            let noun = counted.to_ascii_lowercase();
            let detail = format!("{path} in body should have at least {min} {noun}");
            self.errors.push(FieldError::invalid(path, &json!(len), &detail));
        }
    }

    /// Structural defaulting: an absent property with a `default` gets it.
    fn default_properties(&self, s: &Value, m: &mut Map<String, Value>) {
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return;
        };
        for (k, ps) in props {
            let ps = resolve(self.defs, ps);
            let Some(d) = ps.get("default") else { continue };
            let absent = match m.get(k) {
                None => true,
                Some(Value::Null) => ps["nullable"] != true,
                Some(_) => false,
            };
            if absent {
                m.insert(k.clone(), d.clone());
            }
        }
    }

    fn array(&mut self, s: &'a Value, a: &mut [Value], path: &str) {
        if let Some(items) = s.get("items") {
            for (i, item) in a.iter_mut().enumerate() {
                self.node(items, item, &format!("{path}[{i}]"));
            }
        }
        self.count_bounds(s, path, a.len(), "Items");
        if self.crd {
            self.list_type(s, a, path);
        }
    }

    /// `x-kubernetes-list-type` map and set: no two items with the same keys / value
    /// (apiextensions' listtype.ValidateListSetsAndMaps).
    fn list_type(&mut self, s: &Value, a: &[Value], path: &str) {
        let keys: Vec<&str> = s["x-kubernetes-list-map-keys"]
            .as_array()
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let identity = |v: &Value| -> Value {
            match s["x-kubernetes-list-type"].as_str() {
                Some("map") => Value::Object(
                    keys.iter()
                        .filter_map(|k| Some((k.to_string(), v.get(*k)?.clone())))
                        .collect(),
                ),
                _ => v.clone(),
            }
        };
        if !matches!(s["x-kubernetes-list-type"].as_str(), Some("map" | "set")) {
            return;
        }
        let mut seen: Vec<Value> = Vec::new();
        for (i, item) in a.iter().enumerate() {
            let id = identity(item);
            if seen.contains(&id) {
                self.errors
                    .push(FieldError::duplicate(&format!("{path}[{i}]"), &go_map(&id)));
            } else {
                seen.push(id);
            }
        }
    }

    fn string(&mut self, s: &Value, x: &str, path: &str) {
        let v = json!(x);
        let len = x.chars().count() as i64;
        if let Some(max) = s["maxLength"].as_i64().filter(|max| len > *max) {
            self.errors.push(FieldError::too_long(path, max));
        }
        if let Some(min) = s["minLength"].as_i64().filter(|min| len < *min) {
            let detail = format!("{path} in body should be at least {min} chars long");
            self.errors.push(FieldError::invalid(path, &v, &detail));
        }
        if let Some(p) = s["pattern"].as_str() {
            if pattern(p).is_some_and(|re| !re.is_match(x)) {
                let detail = format!("{path} in body should match '{p}'");
                self.errors.push(FieldError::invalid(path, &v, &detail));
            }
        }
    }

    /// Minimum and maximum (`errors.ExceedsMaximum` / `ExceedsMinimum` wording).
    fn number(&mut self, s: &Value, v: &Value, path: &str) -> bool {
        let x = v.as_f64().unwrap_or_default();
        // The limit, its exclusive flag, the side of it a value must not be on, and the
        // words for the side it must be on.
        let limits = [
            ("maximum", "exclusiveMaximum", Ordering::Greater, "less than"),
            ("minimum", "exclusiveMinimum", Ordering::Less, "greater than"),
        ];
        for (key, exclusive_key, beyond, side) in limits {
            let Some(limit) = s.get(key).filter(|m| m.is_number()) else {
                continue;
            };
            let exclusive = s[exclusive_key] == true;
            let order = x.partial_cmp(&limit.as_f64().unwrap_or_default());
            if order == Some(beyond) || (exclusive && order == Some(Ordering::Equal)) {
                let rel = if exclusive {
                    side.to_string()
                } else {
                    format!("{side} or equal to")
                };
                let detail = format!("{path} in body should be {rel} {}", bound(limit));
                self.errors.push(FieldError::invalid(path, v, &detail));
            }
        }
        true
    }
}

/// `resource.Quantity` in the Kubernetes OpenAPI (a string in the schema, but a number
/// decodes too).
fn is_quantity(s: &Value) -> bool {
    s["type"] == "string"
        && s["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Quantity is a fixed-point representation"))
}

/// Go's `%#v` of the `map[string]interface{}` field.Duplicate gets for a list-map key.
fn go_map(v: &Value) -> String {
    match v.as_object() {
        Some(m) => {
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
        None => super::errors::show(v),
    }
}
