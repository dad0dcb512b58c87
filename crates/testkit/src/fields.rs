//! Field paths and field sets, the unit of ownership in managed fields, as
//! structured-merge-diff (sigs.k8s.io/structured-merge-diff/v4 `fieldpath`) defines them.
//!
//! A path runs from the object root to a member: map fields (`f:name`), items of keyed
//! lists (`k:{"name":"x"}`, keyed by the list's map keys) and of sets (`v:"x"`). Maps
//! recurse (per-key ownership of labels); a keyed-list item is a member itself (`.` in
//! FieldsV1) and so are its fields; atomic lists and atomic maps are one member. Which
//! list is which comes from the kind's schema ([`Shape`]).
//! <https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management>

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::shape::{ListKind, Shape};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pe {
    /// A map or struct field.
    Field(String),
    /// A keyed-list item: its key fields (sorted by name) with JSON-encoded values.
    Key(Vec<(String, String)>),
    /// A set item, JSON-encoded.
    Value(String),
}

pub type Path = Vec<Pe>;
pub type FieldSet = BTreeSet<Path>;

/// A path of plain fields (tests and callers that only name map keys).
pub fn path(keys: &[&str]) -> Path {
    keys.iter().map(|k| Pe::Field(k.to_string())).collect()
}

/// Which part of an object a write manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything but server-set metadata, and `.status` when `status_is_sub`.
    Main { status_is_sub: bool },
    /// Only `.status`.
    Status,
}

/// The user-settable parts of metadata: the only ones managed.
const MANAGED_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// Whether top-level key `k` is managed in `scope`.
fn in_scope(scope: Scope, k: &str) -> bool {
    match (scope, k) {
        (_, "apiVersion" | "kind") => false,
        (Scope::Status, key) => key == "status",
        (Scope::Main { status_is_sub }, "status") => !status_is_sub,
        _ => true,
    }
}

/// The members a write covers (its FieldsV1 set).
pub fn members(obj: &Value, scope: Scope, shape: Shape) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map.iter().filter(|(k, _)| in_scope(scope, k)) {
        let p = vec![Pe::Field(k.clone())];
        if k == "metadata" {
            metadata_members(v, shape.field(k), &mut out);
        } else {
            collect(v, shape.field(k), p, &mut out);
        }
    }
    out
}

fn metadata_members(meta: &Value, shape: Shape, out: &mut FieldSet) {
    let Some(m) = meta.as_object() else { return };
    for key in MANAGED_METADATA {
        if let Some(v) = m.get(key) {
            collect(v, shape.field(key), path(&["metadata", key]), out);
        }
    }
}

/// `obj` keeping only what `scope` manages (the part of an applied configuration that
/// merges into the live object).
pub fn scoped(obj: &Value, scope: Scope) -> Value {
    let Some(map) = obj.as_object() else {
        return Value::Object(Map::new());
    };
    let mut out = Map::new();
    for (k, v) in map.iter().filter(|(k, _)| in_scope(scope, k)) {
        if k == "metadata" {
            let meta: Map<String, Value> = MANAGED_METADATA
                .iter()
                .filter_map(|f| Some((f.to_string(), v.get(*f)?.clone())))
                .collect();
            out.insert(k.clone(), Value::Object(meta));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn collect(v: &Value, shape: Shape, path: Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() && !shape.atomic_map() => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(Pe::Field(k.clone()));
                collect(child, shape.field(k), p, out);
            }
        }
        Value::Array(a) if !a.is_empty() => match item_elements(a, &shape.list_kind()) {
            Some(pes) => {
                for (item, pe) in a.iter().zip(pes) {
                    let mut p = path.clone();
                    p.push(pe);
                    out.insert(p.clone());
                    if item.is_object() {
                        collect(item, shape.items(), p, out);
                    }
                }
            }
            None => {
                out.insert(path);
            }
        },
        _ => {
            out.insert(path);
        }
    }
}

/// The path element of each item of a keyed list or set; None when the list is atomic
/// or its items cannot be told apart (not objects, duplicate keys): then it is owned whole.
pub fn item_elements(a: &[Value], kind: &ListKind) -> Option<Vec<Pe>> {
    let pes: Vec<Pe> = match kind {
        ListKind::Atomic => return None,
        ListKind::Set => a
            .iter()
            .map(|v| (!v.is_object() && !v.is_array()).then(|| Pe::Value(v.to_string())))
            .collect::<Option<_>>()?,
        ListKind::Map(keys) => a
            .iter()
            .map(|v| v.is_object().then(|| key_of(v, keys)))
            .collect::<Option<_>>()?,
    };
    let unique: BTreeSet<&Pe> = pes.iter().collect();
    (unique.len() == pes.len()).then_some(pes)
}

/// The `k:{...}` element of a keyed-list item (key fields it lacks are left out).
pub fn key_of(item: &Value, keys: &[String]) -> Pe {
    let mut pairs: Vec<(String, String)> = keys
        .iter()
        .filter_map(|k| Some((k.clone(), item.get(k)?.to_string())))
        .collect();
    pairs.sort();
    Pe::Key(pairs)
}

/// Whether list item `item` is the one `pe` names.
fn item_is(item: &Value, pe: &Pe) -> bool {
    match pe {
        Pe::Field(_) => false,
        Pe::Value(v) => serde_json::from_str::<Value>(v).is_ok_and(|v| v == *item),
        Pe::Key(pairs) => {
            let keys: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
            item.is_object() && key_of(item, &keys) == *pe && pairs.len() == present(item, pe)
        }
    }
}

/// How many of `pe`'s key fields `item` has (an item lacking one is another item).
fn present(item: &Value, pe: &Pe) -> usize {
    match pe {
        Pe::Key(pairs) => pairs.iter().filter(|(k, _)| item.get(k).is_some()).count(),
        _ => 0,
    }
}

pub fn get<'a>(v: &'a Value, path: &[Pe]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, pe| match pe {
        Pe::Field(k) => cur.as_object()?.get(k),
        _ => cur.as_array()?.iter().find(|i| item_is(i, pe)),
    })
}

fn get_mut<'a>(v: &'a mut Value, path: &[Pe]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |cur, pe| match pe {
        Pe::Field(k) => cur.as_object_mut()?.get_mut(k),
        _ => cur.as_array_mut()?.iter_mut().find(|i| item_is(i, pe)),
    })
}

/// Removes `path` (a field, or a list item), then drops parent maps and lists left
/// empty (below the top level), as the real merge does when a manager gives up the last
/// field of a map.
pub fn remove(root: &mut Value, path: &[Pe]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let now_empty = match (get_mut(root, parents), last) {
        (Some(Value::Object(m)), Pe::Field(k)) => {
            m.remove(k);
            m.is_empty()
        }
        (Some(Value::Array(a)), pe @ (Pe::Key(_) | Pe::Value(_))) => {
            a.retain(|i| !item_is(i, pe));
            a.is_empty()
        }
        _ => false,
    };
    if now_empty && parents.len() > 1 && matches!(parents.last(), Some(Pe::Field(_))) {
        remove(root, parents);
    }
}

/// Whether `path` is a key field of the keyed-list item it is in: key fields go with the
/// item, never on their own.
pub fn is_key_field(path: &[Pe]) -> bool {
    match path {
        [.., Pe::Key(pairs), Pe::Field(f)] => pairs.iter().any(|(k, _)| k == f),
        _ => false,
    }
}

/// `a` is a prefix of `b`, or equal.
pub fn is_prefix(a: &[Pe], b: &[Pe]) -> bool {
    a.len() <= b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// What a write from `old` to `new` changed: members added or whose value changed
/// (an item that stays is unchanged itself, whatever happens inside it), and members
/// removed.
pub fn diff(old: &Value, new: &Value, scope: Scope, shape: Shape) -> (FieldSet, FieldSet) {
    let old_m = members(old, scope, shape);
    let new_m = members(new, scope, shape);
    let changed = new_m
        .iter()
        .filter(|p| match get(old, p) {
            None => true,
            Some(before) => !is_item(p) && Some(before) != get(new, p),
        })
        .cloned()
        .collect();
    // An empty map or list is a member of its own; once it gains entries it is a parent of
    // members instead. It still exists, so it was not removed: structured-merge-diff reports
    // only the new entries (labels: {} owned by one manager, then a label applied by another,
    // is no conflict on a real server).
    let still_there = |p: &Path| {
        matches!(
            (get(old, p), get(new, p)),
            (Some(Value::Object(_)), Some(Value::Object(_))) | (Some(Value::Array(_)), Some(Value::Array(_)))
        )
    };
    let removed = old_m
        .difference(&new_m)
        .filter(|p| !still_there(p))
        .cloned()
        .collect();
    (changed, removed)
}

fn is_item(p: &[Pe]) -> bool {
    matches!(p.last(), Some(Pe::Key(_) | Pe::Value(_)))
}

fn element_v1(pe: &Pe) -> String {
    match pe {
        Pe::Field(k) => format!("f:{k}"),
        Pe::Value(v) => format!("v:{v}"),
        Pe::Key(pairs) => {
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("k:{{{}}}", inner.join(","))
        }
    }
}

/// Renders a field set as FieldsV1 (`{"f:spec":{"f:listeners":{"k:{\"name\":\"x\"}":
/// {".":{},"f:name":{}}}}}`): a member that also has members below gets `.`.
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        insert_v1(&mut root, path);
    }
    prune_dots(&mut root);
    Value::Object(root)
}

fn insert_v1(node: &mut Map<String, Value>, path: &[Pe]) {
    let Some((first, rest)) = path.split_first() else {
        node.insert(".".into(), Value::Object(Map::new()));
        return;
    };
    let child = node
        .entry(element_v1(first))
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = child {
        insert_v1(m, rest);
    }
}

/// A leaf is `{}`, not `{".":{}}`.
fn prune_dots(node: &mut Map<String, Value>) {
    for child in node.values_mut() {
        if let Value::Object(m) = child {
            if m.len() == 1 && m.contains_key(".") {
                m.clear();
            } else {
                prune_dots(m);
            }
        }
    }
}

/// `.spec.listeners[name="x"].port` as structured-merge-diff prints a path.
pub fn display(path: &[Pe]) -> String {
    path.iter()
        .map(|pe| match pe {
            Pe::Field(k) => format!(".{k}"),
            Pe::Value(v) => format!("[={v}]"),
            Pe::Key(pairs) => {
                let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", inner.join(","))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_skip_server_metadata_and_status() {
        let obj = json!({"apiVersion":"v1","kind":"X","metadata":{"name":"a","labels":{"x":"1"}},
            "spec":{"a":1,"l":[1,2],"m":{}},"status":{"s":1}});
        let l = members(&obj, Scope::Main { status_is_sub: true }, Shape::unknown());
        let want: Vec<Path> = vec![
            path(&["metadata", "labels", "x"]),
            path(&["spec", "a"]),
            path(&["spec", "l"]),
            path(&["spec", "m"]),
        ];
        assert_eq!(l.into_iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn keyed_items_are_members_with_dots() {
        let gw = json!({"spec":{"listeners":[{"name":"a","port":1}],"addresses":[]},
                        "metadata":{"finalizers":["x"]}});
        let shape = Shape::of_kind("gateway.networking.k8s.io/v1", "Gateway");
        let set = members(&gw, Scope::Main { status_is_sub: true }, shape);
        assert_eq!(
            to_fields_v1(&set),
            json!({"f:metadata":{"f:finalizers":{"v:\"x\"":{}}},
                   "f:spec":{"f:addresses":{},"f:listeners":{"k:{\"name\":\"a\"}":{".":{},"f:name":{},"f:port":{}}}}})
        );
        let item = set
            .iter()
            .find(|p| p.len() == 3 && p[0] == Pe::Field("spec".into()))
            .expect("item");
        assert_eq!(display(item), ".spec.listeners[name=\"a\"]");
        let mut obj = gw.clone();
        remove(&mut obj, item);
        assert_eq!(obj["spec"], json!({"addresses": []}));
    }

    #[test]
    fn multi_key_items() {
        let svc = json!({"spec":{"ports":[{"port":80,"protocol":"TCP"},{"port":80,"protocol":"UDP"}]}});
        let shape = Shape::of_kind("v1", "Service");
        let v1 = to_fields_v1(&members(&svc, Scope::Main { status_is_sub: true }, shape));
        let ports = v1["f:spec"]["f:ports"].as_object().expect("ports");
        assert!(ports.contains_key("k:{\"port\":80,\"protocol\":\"UDP\"}"), "{v1}");
    }
}
