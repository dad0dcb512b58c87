//! The merge step of server-side apply: an applied configuration merged into the live
//! object, field by field for maps, item by item (by key) for keyed lists and sets,
//! whole for atomic lists and scalars — structured-merge-diff's `typed.Merge`
//! (`merge.go`, `visitListItems`), including its item order: live items keep their
//! place, applied items not yet live come where the applied list has them.

use std::collections::HashMap;

use serde_json::Value;

use crate::fields::{self, Pe};
use crate::shape::Shape;

/// `applied` merged into `live`: what the applied configuration sets wins.
pub fn merge(live: &Value, applied: &Value, shape: Shape) -> Value {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) if !shape.atomic_map() => {
            let mut out = l.clone();
            for (k, av) in a {
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, av, shape.field(k)),
                    None => av.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => merge_lists(l, a, shape).unwrap_or_else(|| applied.clone()),
        _ => applied.clone(),
    }
}

/// Keyed lists and sets merged item by item; None for atomic lists.
fn merge_lists(live: &[Value], applied: &[Value], shape: Shape) -> Option<Value> {
    let kind = shape.list_kind();
    let lpe = fields::item_elements(live, &kind)?;
    let rpe = fields::item_elements(applied, &kind)?;
    let lidx: HashMap<&Pe, usize> = lpe.iter().enumerate().map(|(i, p)| (p, i)).collect();
    let ridx: HashMap<&Pe, usize> = rpe.iter().enumerate().map(|(i, p)| (p, i)).collect();
    let item = |pe: &Pe, r: usize| match lidx.get(pe) {
        Some(&l) => merge(&live[l], &applied[r], shape.items()),
        None => applied[r].clone(),
    };
    let mut out = Vec::with_capacity(live.len().max(applied.len()));
    let mut taken = std::collections::HashSet::new();
    let (mut l, mut r) = (0, 0);
    while l < live.len() || r < applied.len() {
        if l < live.len() && r < applied.len() && lpe[l] == rpe[r] {
            out.push(item(&rpe[r], r));
            taken.insert(&rpe[r]);
            l += 1;
            r += 1;
            continue;
        }
        if l < live.len() {
            if !ridx.contains_key(&lpe[l]) {
                out.push(live[l].clone());
                l += 1;
                continue;
            }
            if taken.contains(&lpe[l]) {
                l += 1;
                continue;
            }
        }
        if r < applied.len() {
            out.push(item(&rpe[r], r));
            taken.insert(&rpe[r]);
            r += 1;
        }
    }
    Some(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gw() -> Shape {
        Shape::of_kind("gateway.networking.k8s.io/v1", "Gateway")
    }

    #[test]
    fn keyed_items_merge_by_key_and_keep_live_order() {
        let live = json!({"spec": {"listeners": [
            {"name": "a", "port": 1, "hostname": "h"}, {"name": "b", "port": 2}]}});
        let applied = json!({"spec": {"listeners": [{"name": "c", "port": 3}, {"name": "a", "port": 9}]}});
        let out = merge(&live, &applied, gw());
        assert_eq!(
            out["spec"]["listeners"],
            json!([{"name": "c", "port": 3}, {"name": "a", "port": 9, "hostname": "h"}, {"name": "b", "port": 2}])
        );
    }

    #[test]
    fn atomic_lists_are_replaced() {
        let live = json!({"spec": {"addresses": [{"value": "1"}]}});
        let applied = json!({"spec": {"addresses": [{"value": "2"}]}});
        assert_eq!(
            merge(&live, &applied, gw())["spec"]["addresses"],
            json!([{"value": "2"}])
        );
    }
}
