//! OpenAPI v3 documents: the vendored Kubernetes 1.33 ones for the built-in groups, and
//! for the CRD groups documents built from the vendored CRDs (so `kubectl explain
//! gateway.spec.listeners` works).
//!
//! kubectl (cli-runtime's queryParamVerifierV3) decides whether the server validates
//! fields itself by finding, in `/openapi/v3/<gv>`, a PATCH operation whose
//! `x-kubernetes-group-version-kind` is the kind and whose parameters include
//! `fieldValidation`. When found it skips client-side (OpenAPI v2) validation.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::schema::Schemas;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

use crate::registry::{self, gv_prefix, ResourceDef, GATEWAY_API_GROUP, RESOURCES};

fn doc_key(group: &str, version: &str) -> String {
    gv_prefix(group, version).trim_start_matches('/').to_string()
}

pub fn root(gateway_api: bool) -> Value {
    let mut paths = Map::new();
    for (g, v) in registry::groups() {
        if !gateway_api && g == GATEWAY_API_GROUP {
            continue;
        }
        let key = doc_key(g, v);
        // The hash only has to change when the document does; ours never do.
        let url = format!("/openapi/v3/{key}?hash={}", fnv(&key));
        paths.insert(key, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn fnv(s: &str) -> String {
    let h = s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016X}")
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn gvk(def: &ResourceDef) -> Value {
    json!({"group": def.group, "version": def.version, "kind": def.kind})
}

fn item_path(def: &ResourceDef) -> String {
    let ns = if def.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    format!("{}{ns}/{}/{{name}}", def.gv_prefix(), def.plural)
}

fn operation(def: &ResourceDef, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", def.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(def),
        "parameters": params.iter().map(|p| param(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK"}},
    })
}

/// The component name apiextensions-apiserver's builder gives a CRD kind: the group
/// reversed, then version and kind (`io.k8s.networking.gateway.v1.Gateway`).
fn schema_name(def: &ResourceDef) -> String {
    let mut parts: Vec<&str> = def.group.split('.').collect();
    parts.reverse();
    format!("{}.{}.{}", parts.join("."), def.version, def.kind)
}

/// The document of a group-version, serialized once: the vendored Kubernetes documents
/// as they are, the CRD groups' built from their schemas.
pub fn document(group: &str, version: &str) -> Bytes {
    static CACHE: OnceLock<Mutex<HashMap<String, Bytes>>> = OnceLock::new();
    let key = doc_key(group, version);
    let cache = CACHE.get_or_init(Default::default);
    if let Some(b) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return b;
    }
    let doc = match Schemas::upstream().openapi_document(&key) {
        Some(d) => d.to_string(),
        None => crd_document(group, version).to_string(),
    };
    let bytes = Bytes::from(doc);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, bytes.clone());
    }
    bytes
}

/// Adds `name` and every schema it references, from the Kubernetes definitions.
fn add_with_refs(name: &str, out: &mut Map<String, Value>) {
    if out.contains_key(name) {
        return;
    }
    let Some(s) = Schemas::upstream().definition(name) else {
        return;
    };
    out.insert(name.to_string(), s.clone());
    let mut refs = Vec::new();
    collect_refs(s, &mut refs);
    for r in refs {
        add_with_refs(&r, out);
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                out.push(r.rsplit('/').next().unwrap_or_default().to_string());
            }
            m.values().for_each(|c| collect_refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

/// A CRD kind's component: its schema, `metadata` a reference to ObjectMeta, as the
/// apiextensions-apiserver OpenAPI builder publishes it.
fn crd_schema(def: &ResourceDef) -> Value {
    let Some(kind) = Schemas::upstream().kind(&def.api_version(), def.kind) else {
        return json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    };
    let mut s = kind.root.clone();
    s["properties"]["metadata"] = json!({
        "allOf": [{"$ref": format!("#/components/schemas/{OBJECT_META}")}],
        "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
    });
    s["x-kubernetes-group-version-kind"] = json!([gvk(def)]);
    s
}

fn crd_document(group: &str, version: &str) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for def in RESOURCES
        .iter()
        .filter(|d| d.group == group && d.version == version)
    {
        paths.insert(
            item_path(def),
            json!({
                "get": operation(def, "get", &[]),
                "put": operation(def, "put", &["dryRun", "fieldManager", "fieldValidation"]),
                "patch": operation(def, "patch", &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "delete": operation(def, "delete", &["dryRun"]),
            }),
        );
        schemas.insert(schema_name(def), crd_schema(def));
    }
    add_with_refs(OBJECT_META, &mut schemas);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// Minimal OpenAPI v2 (swagger 2.0, no definitions). kubectl fetches it, as protobuf,
/// only to validate kinds that OpenAPI v3 does not describe (a missing CRD); with no
/// definitions its client-side validation skips them and kubectl then reports the
/// real "no matches for kind" error.
pub fn v2(accept: &str) -> (&'static str, Vec<u8>) {
    if accept.contains("protobuf") {
        // The real server answers with the dotted subtype; the `@` form fails Go's
        // mime parser in kubectl.
        return (
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            v2_protobuf(),
        );
    }
    let doc = json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {}});
    ("application/json", doc.to_string().into_bytes())
}

/// gnostic `openapi_v2.Document{swagger: "2.0", info: {title, version}, paths: {}}`.
fn v2_protobuf() -> Vec<u8> {
    fn field(tag: u8, body: &[u8]) -> Vec<u8> {
        // Every body here is shorter than 128 bytes, so the length is one varint byte.
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    }
    let info = [field(0x0a, b"Kubernetes"), field(0x12, b"v1.32.0")].concat();
    [field(0x0a, b"2.0"), field(0x12, &info), field(0x42, &[])].concat()
}
