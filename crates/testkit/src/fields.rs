//! Field paths and field sets, the unit of ownership in managed fields.
//!
//! A path is the list of map keys from the object root to a leaf. Lists are atomic
//! (one leaf), maps recurse — which gives labels/annotations per-key ownership.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

/// Which part of an object a write manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything but server-set metadata, and `.status` when `status_is_sub`.
    Main { status_is_sub: bool },
    /// Only `.status`.
    Status,
}

/// The leaf field paths a write covers.
pub fn leaves(obj: &Value, scope: Scope) -> FieldSet {
    let mut out = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        let include = match (scope, k.as_str()) {
            (_, "apiVersion" | "kind") => false,
            (Scope::Status, key) => key == "status",
            (Scope::Main { .. }, "metadata") => {
                metadata_leaves(v, &mut out);
                false
            }
            (Scope::Main { status_is_sub }, "status") => !status_is_sub,
            _ => true,
        };
        if include {
            collect(v, vec![k.clone()], &mut out);
        }
    }
    out
}

/// Only the user-settable parts of metadata are managed.
fn metadata_leaves(meta: &Value, out: &mut FieldSet) {
    let Some(m) = meta.as_object() else { return };
    for key in ["labels", "annotations", "finalizers", "ownerReferences"] {
        if let Some(v) = m.get(key) {
            collect(v, vec!["metadata".into(), key.into()], out);
        }
    }
}

fn collect(v: &Value, path: Path, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(k.clone());
                collect(child, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

pub fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.as_object()?.get(k))
}

/// Sets `path` to `value`, creating (or replacing non-map) parents.
pub fn set(root: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *root = value;
        return;
    };
    let mut cur = root;
    for k in parents {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Some(m) = cur.as_object_mut() else { return };
        cur = m.entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    if let Some(m) = cur.as_object_mut() {
        m.insert(last.clone(), value);
    }
}

/// Removes `path`, then drops parents left empty (below the top level), as the
/// real merge does when a manager gives up the last field of a map.
pub fn remove(root: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if let Some(Value::Object(m)) = get_mut(root, parents) {
        m.remove(last);
        if m.is_empty() && parents.len() > 1 {
            remove(root, parents);
        }
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |cur, k| cur.as_object_mut()?.get_mut(k))
}

/// `a` is a strict prefix of `b`, or equal.
pub fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Renders a field set as FieldsV1 (`{"f:metadata":{"f:labels":{"f:x":{}}}}`).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        insert_v1(&mut root, path);
    }
    Value::Object(root)
}

fn insert_v1(node: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        // A leaf that is also a parent (owned empty map, then children) gets ".".
        if !node.is_empty() {
            node.insert(".".into(), Value::Object(Map::new()));
        }
        return;
    };
    let child = node
        .entry(format!("f:{first}"))
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(m) = child {
        insert_v1(m, rest);
    }
}

/// `.spec.x` as printed by structured-merge-diff.
pub fn display(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_skip_server_metadata_and_status() {
        let obj = json!({"apiVersion":"v1","kind":"X","metadata":{"name":"a","labels":{"x":"1"}},
            "spec":{"a":1,"l":[1,2],"m":{}},"status":{"s":1}});
        let l = leaves(&obj, Scope::Main { status_is_sub: true });
        let want: Vec<Path> = vec![
            vec!["metadata".into(), "labels".into(), "x".into()],
            vec!["spec".into(), "a".into()],
            vec!["spec".into(), "l".into()],
            vec!["spec".into(), "m".into()],
        ];
        assert_eq!(l.into_iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn fields_v1_shape() {
        let mut s = FieldSet::new();
        s.insert(vec!["metadata".into(), "labels".into(), "x".into()]);
        assert_eq!(to_fields_v1(&s), json!({"f:metadata":{"f:labels":{"f:x":{}}}}));
    }
}
