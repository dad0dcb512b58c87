//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902); strategic merge patch is
//! [`crate::smp`].

use serde_json::Value;

/// Applies an RFC 7386 merge patch. Keys starting with `$` are dropped (the real server
/// keeps them as unknown fields, which pruning drops anyway).
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let Some(t) = target.as_object_mut() else {
        return;
    };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Applies an RFC 6902 patch (add, remove, replace, test, move, copy).
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("the JSON patch must be an array of operations")?;
    for op in ops {
        apply_op(target, op)?;
    }
    Ok(())
}

fn apply_op(target: &mut Value, op: &Value) -> Result<(), String> {
    let kind = op
        .get("op")
        .and_then(Value::as_str)
        .ok_or("operation has no \"op\"")?;
    let path = op
        .get("path")
        .and_then(Value::as_str)
        .ok_or("operation has no \"path\"")?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or(format!("{kind} operation has no \"value\""))
    };
    match kind {
        "add" => add(target, path, value()?),
        "remove" => remove(target, path).map(|_| ()),
        "replace" => {
            remove(target, path)?;
            add(target, path, value()?)
        }
        "test" => match target.pointer(path) {
            Some(v) if *v == value()? => Ok(()),
            _ => Err(format!("testing value {path} failed")),
        },
        "move" | "copy" => {
            let from = op
                .get("from")
                .and_then(Value::as_str)
                .ok_or("operation has no \"from\"")?;
            let v = if kind == "move" {
                remove(target, from)?
            } else {
                target
                    .pointer(from)
                    .cloned()
                    .ok_or(format!("missing value at {from}"))?
            };
            add(target, path, v)
        }
        other => Err(format!("Unexpected kind: {other}")),
    }
}

fn split(path: &str) -> Result<(String, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or(format!("invalid path {path:?}"))?;
    Ok((parent.to_string(), last.replace("~1", "/").replace("~0", "~")))
}

fn add(target: &mut Value, path: &str, v: Value) -> Result<(), String> {
    if path.is_empty() {
        *target = v;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    let missing = || format!("add operation does not apply: doc is missing path: \"{path}\"");
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => {
            m.insert(last, v);
            Ok(())
        }
        Value::Array(a) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse().map_err(|_| missing())?
            };
            if idx > a.len() {
                return Err(missing());
            }
            a.insert(idx, v);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(target: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\"");
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(m) => m.remove(&last).ok_or_else(missing),
        Value::Array(a) => {
            let idx: usize = last.parse().map_err(|_| missing())?;
            if idx >= a.len() {
                return Err(missing());
            }
            Ok(a.remove(idx))
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_labels() {
        let mut v = json!({"metadata":{"labels":{"a":"1","b":"2"}}});
        merge(&mut v, &json!({"metadata":{"labels":{"a":null,"c":"3"}}}));
        assert_eq!(v, json!({"metadata":{"labels":{"b":"2","c":"3"}}}));
    }

    #[test]
    fn json_patch_ops() {
        let mut v = json!({"metadata":{"labels":{"a":"1"}},"l":[1]});
        json_patch(
            &mut v,
            &json!([
                {"op":"add","path":"/metadata/labels/x~1y","value":"2"},
                {"op":"replace","path":"/metadata/labels/a","value":"9"},
                {"op":"add","path":"/l/-","value":2},
                {"op":"remove","path":"/l/0"}
            ]),
        )
        .unwrap();
        assert_eq!(v, json!({"metadata":{"labels":{"a":"9","x/y":"2"}},"l":[2]}));
        assert!(json_patch(&mut v, &json!([{"op":"remove","path":"/nope"}])).is_err());
    }
}
