//! Strategic merge patch (`application/strategic-merge-patch+json`) of built-in kinds, as
//! kube-apiserver applies it: a port of the apply half of
//! k8s.io/apimachinery/pkg/util/strategicpatch `patch.go` (`StrategicMergeMapPatch` →
//! `mergeMap` with `MergeParallelList` and `IgnoreUnmatchedNulls`), errors answered as
//! k8s.io/apiserver/pkg/endpoints/handlers `patch.go` `interpretStrategicMergePatchError`
//! does. Spec: <https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md>.
//!
//! - Maps merge key by key; `null` deletes a key.
//! - Lists whose field says `x-kubernetes-patch-strategy: merge` merge: maps by their
//!   `x-kubernetes-patch-merge-key` (containers by `name`, container ports by
//!   `containerPort`, Service ports by `port`, ownerReferences by `uid`), primitives as a
//!   set (finalizers). Every other list is replaced. The metadata is read from the
//!   vendored OpenAPI ([`Shape::patch_meta`]), which carries the Go types' struct tags.
//! - Directives: `$patch: replace | delete` in a map (`merge` there is an error),
//!   `$patch: delete | replace` as a list item (`merge` there is an error), a `$patch`
//!   map given for a field the original lacks or holds as a primitive removes the field
//!   (`removeDirectives`), `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
//!   `$setElementOrder/<field>`.
//! - Order: without `$setElementOrder`, patch items (in patch order) come before the
//!   items only the server has, interleaved by their live order (`normalizeElementOrder`,
//!   `mergeSortedSlice`), so a new container comes first as in the kubectl patch task's
//!   example output.
//!
//! Malformed patches: mergepatch's `ErrBadPatchFormatFor*` are 400 BadRequest,
//! `ErrNoListOfLists` a 422 whose message does not carry the cause
//! (`NewGenericServerResponse`), anything else (a missing merge key, an unknown
//! directive) is not a Status and becomes a 500 without reason carrying the Go error
//! text (`ErrorToAPIStatus`), worded here as Go's `%v` prints values.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::shape::Shape;
use crate::status::ApiError;

type Obj = Map<String, Value>;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

// mergepatch's sentinel errors (k8s.io/apimachinery/pkg/util/mergepatch/errors.go).
const BAD_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
const BAD_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
const BAD_SET_ELEMENT_ORDER: &str = "invalid patch format of setElementOrder list";

const MAP_TYPE: &str = "map[string]interface {}";
const SLICE_TYPE: &str = "[]interface {}";

/// Why a patch failed, by how the apiserver answers it.
#[derive(Debug, PartialEq)]
enum Error {
    /// A sentinel answered with 400 BadRequest and its text.
    BadRequest(&'static str),
    /// `ErrNoListOfLists`: 422.
    NoListOfLists,
    /// Any other error: 500, no reason, its text.
    Other(String),
}

type Result<T> = std::result::Result<T, Error>;

impl Error {
    fn into_api(self) -> ApiError {
        match self {
            Error::BadRequest(m) => ApiError::bad_request(m),
            Error::NoListOfLists => {
                let mut e = ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                );
                e.details = Some(Box::new(json!({})));
                e
            }
            Error::Other(m) => ApiError::new(500, "", m),
        }
    }
}

/// `patch` applied to `original` (an object of the kind at `shape`).
pub fn apply(original: &Value, patch: &Value, shape: Shape) -> std::result::Result<Value, ApiError> {
    let patch = match patch {
        Value::Object(p) => p.clone(),
        // Go unmarshals `null` into an empty patch.
        Value::Null => return Ok(original.clone()),
        other => {
            // The handler's json.Unmarshal into a map (strategicPatchObject).
            return Err(ApiError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type {MAP_TYPE}",
                json_type(other)
            )));
        }
    };
    let original = original.as_object().cloned().unwrap_or_default();
    merge_map(original, patch, shape)
        .map(Value::Object)
        .map_err(Error::into_api)
}

/// `mergeMap`: a map directive decides alone; else `$retainKeys`, then the
/// `$setElementOrder` lists, then every other key.
fn merge_map(mut original: Obj, mut patch: Obj, shape: Shape) -> Result<Obj> {
    if let Some(d) = patch.get(DIRECTIVE).cloned() {
        return map_directive(&d, patch);
    }
    retain_keys(&mut original, &mut patch)?;
    set_element_orders(&mut original, &mut patch, shape)?;
    for (k, v) in patch {
        merge_field(&mut original, k, v, shape)?;
    }
    Ok(original)
}

/// `handleDirectiveInMergeMap`: `replace` keeps the patch as it is, `delete` empties.
fn map_directive(d: &Value, mut patch: Obj) -> Result<Obj> {
    match d.as_str() {
        Some("replace") => {
            patch.shift_remove(DIRECTIVE);
            Ok(patch)
        }
        Some("delete") => Ok(Obj::new()),
        _ => Err(bad_patch_type(d, &patch)),
    }
}

/// One key of a patch map merged into the original (the loop body of `mergeMap`).
fn merge_field(original: &mut Obj, k: String, pv: Value, shape: Shape) -> Result<()> {
    let (key, delete_list) = if k.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
        (extract_key(&k, DELETE_FROM_PRIMITIVE_LIST)?, true)
    } else {
        (k, false)
    };
    if pv.is_null() {
        original.shift_remove(&key);
        return Ok(());
    }
    let Some(ov) = original.get_mut(&key) else {
        if !delete_list {
            take_patch_value(original, key, pv);
        }
        return Ok(());
    };
    match (ov, pv) {
        (Value::Object(om), Value::Object(pm)) => {
            let merged = match strategy(&shape.patch_meta(&key).strategies)? {
                Some("replace") => pm,
                _ => merge_map(std::mem::take(om), pm, shape.field(&key))?,
            };
            *om = merged;
        }
        (Value::Array(ol), Value::Array(pl)) => {
            let meta = shape.patch_meta(&key);
            let how = ListMerge {
                strategy: strategy(&meta.strategies)?,
                merge_key: meta.merge_key,
                items: shape.field(&key).items(),
            };
            *ol = merge_list(std::mem::take(ol), pl, &how, delete_list)?;
        }
        (_, pv) if !delete_list => take_patch_value(original, key, pv),
        _ => {}
    }
    Ok(())
}

/// A patch value taken as it is (the original lacks the field or holds another type):
/// nulls dropped, directive maps removed, the field too when it is one
/// (`discardNullValuesFromPatch`, `removeDirectives`).
fn take_patch_value(original: &mut Obj, key: String, mut pv: Value) {
    discard_nulls(&mut pv);
    match remove_directives(pv) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, c| !c.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// None when `v` is itself a `$patch` map.
fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) if m.contains_key(DIRECTIVE) => None,
        Value::Object(m) => Some(Value::Object(
            m.into_iter()
                .filter_map(|(k, c)| Some((k, remove_directives(c)?)))
                .collect(),
        )),
        Value::Array(a) => Some(Value::Array(
            a.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `extractRetainKeysPatchStrategy`: the strategy besides `retainKeys` (which only tells
/// clients to send `$retainKeys`).
fn strategy(strategies: &[&'static str]) -> Result<Option<&'static str>> {
    match strategies {
        [] | ["retainKeys"] => Ok(None),
        [one] => Ok(Some(one)),
        ["retainKeys", other] | [other, "retainKeys"] => Ok(Some(other)),
        _ => Err(Error::Other(format!(
            "unexpected patch strategy: [{}]",
            strategies.join(" ")
        ))),
    }
}

/// `extractKey`: the field a `$deleteFromPrimitiveList/<field>` or
/// `$setElementOrder/<field>` directive is about.
fn extract_key(s: &str, prefix: &str) -> Result<String> {
    match s.split_once('/') {
        Some((p, field)) if p == prefix => Ok(field.to_string()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST => Err(Error::BadRequest(BAD_PRIMITIVE_LIST)),
        _ => Err(Error::BadRequest(BAD_SET_ELEMENT_ORDER)),
    }
}

/// `applyRetainKeysDirective`: the original keeps only the listed keys, and the patch
/// may set no others.
fn retain_keys(original: &mut Obj, patch: &mut Obj) -> Result<()> {
    let Some(list) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(Error::BadRequest(BAD_RETAIN_KEYS));
    };
    let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    let unlisted = patch.iter().any(|(k, v)| {
        !v.is_null()
            && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            && !k.starts_with(SET_ELEMENT_ORDER)
            && !listed(k)
    });
    if unlisted {
        return Err(Error::BadRequest(BAD_RETAIN_KEYS));
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// How a list field merges.
struct ListMerge {
    strategy: Option<&'static str>,
    merge_key: Option<&'static str>,
    /// The schema of its items.
    items: Shape,
}

/// `mergePatchIntoOriginal`: each `$setElementOrder/<field>` merges its list (with the
/// patch's, if any) and orders it: the listed items as listed, the server's other items
/// among them by their live order.
fn set_element_orders(original: &mut Obj, patch: &mut Obj, shape: Shape) -> Result<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type(SLICE_TYPE, &order));
        };
        let field = extract_key(&key, SET_ELEMENT_ORDER)?;
        let live = list_at(original, &field)?;
        let patched = list_at(patch, &field)?;
        let meta = shape.patch_meta(&field);
        let how = ListMerge {
            strategy: strategy(&meta.strategies)?,
            merge_key: meta.merge_key,
            items: shape.field(&field).items(),
        };
        validate_order(patched.as_deref().unwrap_or_default(), &order, how.merge_key)?;
        let merged = match (&live, &patched) {
            (Some(l), None) => l.clone(),
            (None, Some(p)) => p.iter().cloned().filter_map(remove_directives).collect(),
            (Some(l), Some(p)) => merge_list(l.clone(), p.clone(), &how, false)?,
            (None, None) => continue,
        };
        let live = live.unwrap_or_default();
        let kind = element_kind(&[&live, patched.as_deref().unwrap_or_default()])?;
        let (listed, server_only) = partition(merged, &order, how.merge_key)?;
        let both = normalize_order(listed, server_only, &order, &live, how.merge_key, kind)?;
        original.insert(field.clone(), Value::Array(both));
        patch.shift_remove(&field);
    }
    Ok(())
}

/// The list at `key` of `m`, if any (another type is an error, as the Go type assertion).
fn list_at(m: &Obj, key: &str) -> Result<Option<Vec<Value>>> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(other) => Err(bad_arg_type(SLICE_TYPE, other)),
    }
}

/// `validatePatchWithSetOrderList`: the patch's items (deletions aside) appear in the
/// order list, in its order.
fn validate_order(patch: &[Value], order: &[Value], key: Option<&str>) -> Result<()> {
    if order.is_empty() || patch.is_empty() {
        return Ok(());
    }
    let kept = match key {
        Some(_) => split_deletions(patch.to_vec())?.0,
        None => patch.to_vec(),
    };
    let (mut p, mut s) = (0, 0);
    while p < kept.len() && s < order.len() {
        if has_directive(&kept[p]) {
            p += 1;
            continue;
        }
        if merge_key_equal(&kept[p], &order[s], key)? {
            p += 1;
        }
        s += 1;
    }
    if p < kept.len() && s >= order.len() {
        return Err(Error::Other(format!(
            "the order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}",
            go_fmt(&Value::Array(patch.to_vec())),
            go_fmt(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

fn has_directive(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key(DIRECTIVE))
}

/// `mergeKeyValueEqual`.
fn merge_key_equal(a: &Value, b: &Value, key: Option<&str>) -> Result<bool> {
    let Some(key) = key else {
        return Ok(a == b);
    };
    Ok(key_value(a, key)? == key_value(b, key)?)
}

/// The merge key's value of a list item (an item without one is an error).
fn key_value<'a>(v: &'a Value, key: &str) -> Result<&'a Value> {
    let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, v))?;
    m.get(key).ok_or_else(|| no_merge_key(m, key))
}

/// `mergeSliceHandler`: merge-strategy lists (and `$deleteFromPrimitiveList`) merge,
/// others are replaced by the patch's list.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    how: &ListMerge,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if how.strategy == Some("merge") || delete_list {
        merge_slice(original, patch, how, delete_list)
    } else {
        Ok(patch)
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    how: &ListMerge,
    delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    let (original, patch, merged) = if kind != Kind::Map {
        if delete_list {
            return Ok(original.into_iter().filter(|v| !patch.contains(v)).collect());
        }
        let mut merged = Vec::new();
        for v in original.iter().chain(&patch) {
            if !merged.contains(v) {
                merged.push(v.clone());
            }
        }
        (original, patch, merged)
    } else {
        let key = how
            .merge_key
            .ok_or_else(|| Error::Other("cannot merge lists without merge key for struct".into()))?;
        let (original, patch) = special_items(original, patch, key)?;
        let merged = merge_items(original.clone(), &patch, key, how.items)?;
        (original, patch, merged)
    };
    let (from_patch, server_only) = partition(merged, &patch, how.merge_key)?;
    normalize_order(from_patch, server_only, &patch, &original, how.merge_key, kind)
}

/// `mergeSliceWithSpecialElements`: `$patch: delete` items remove their original
/// counterparts, `$patch: replace` makes the other items the whole list.
fn special_items(mut original: Vec<Value>, patch: Vec<Value>, key: &str) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut rest = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(bad_arg_type(MAP_TYPE, &v));
        };
        let Some(d) = m.get(DIRECTIVE) else {
            rest.push(v);
            continue;
        };
        match d.as_str() {
            Some("delete") => {
                let kv = m.get(key).ok_or_else(|| no_merge_key(m, key))?;
                original.retain(|o| o.get(key) != Some(kv));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(Error::Other(
                    "merging lists cannot yet be specified in the patch".into(),
                ))
            }
            _ => return Err(bad_patch_type(d, m)),
        }
    }
    Ok(if replace {
        (rest, Vec::new())
    } else {
        (original, rest)
    })
}

/// `mergeSliceWithoutSpecialElements`: an item matching an original one by merge key
/// merges into it, a new one is appended.
fn merge_items(mut original: Vec<Value>, patch: &[Value], key: &str, items: Shape) -> Result<Vec<Value>> {
    for v in patch {
        let kv = key_value(v, key)?;
        let found = original
            .iter()
            .position(|o| o.as_object().and_then(|m| m.get(key)) == Some(kv));
        let (Some(i), Some(pm)) = (found, v.as_object()) else {
            original.push(v.clone());
            continue;
        };
        if let Value::Object(om) = &mut original[i] {
            *om = merge_map(std::mem::take(om), pm.clone(), items)?;
        }
    }
    Ok(original)
}

/// `partitionMapsByPresentInList` / `partitionPrimitivesByPresentInList`: the items
/// `by` names, and the others.
fn partition(merged: Vec<Value>, by: &[Value], key: Option<&str>) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut listed = Vec::new();
    let mut others = Vec::new();
    for v in merged {
        let present = match key {
            None => by.contains(&v),
            Some(key) => {
                let kv = key_value(&v, key)?;
                find_by_key(by, key, kv)?
            }
        };
        if present {
            listed.push(v);
        } else {
            others.push(v);
        }
    }
    Ok((listed, others))
}

/// `findMapInSliceBasedOnKeyValue`, for presence.
fn find_by_key(list: &[Value], key: &str, kv: &Value) -> Result<bool> {
    for (i, v) in list.iter().enumerate() {
        let m = v
            .as_object()
            .ok_or_else(|| Error::Other(format!("value for key {i} is not a map")))?;
        if m.get(key) == Some(kv) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `normalizeElementOrder`: the patch's items sorted by `patch_order`, the server-only
/// ones by `server_order`, then interleaved.
fn normalize_order(
    from_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Result<Vec<Value>> {
    let from_patch = sort_by_order(from_patch, patch_order, key, kind)?;
    let server_only = sort_by_order(server_only, server_order, key, kind)?;
    Ok(merge_sorted(server_only, from_patch, server_order, key, kind))
}

/// `normalizeSliceOrder`: items sorted by where `order` has them, `$patch: delete`
/// items last.
fn sort_by_order(items: Vec<Value>, order: &[Value], key: Option<&str>, kind: Kind) -> Result<Vec<Value>> {
    let (mut items, deletions) = if kind == Kind::Map {
        let key = key.unwrap_or_default();
        for v in items.iter().chain(order) {
            key_value(v, key)?;
        }
        split_deletions(items)?
    } else {
        (items, Vec::new())
    };
    items.sort_by_key(|v| index(order, v, key, kind).unwrap_or(usize::MAX));
    items.extend(deletions);
    Ok(items)
}

/// `extractToDeleteItems`: (kept items, `$patch: delete` items).
fn split_deletions(items: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for v in items {
        let m = v.as_object().ok_or_else(|| bad_arg_type(MAP_TYPE, &v))?;
        if m.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            deleted.push(v);
        } else {
            kept.push(v);
        }
    }
    Ok((kept, deleted))
}

/// `index`: where `list` has `v` (by merge key value for maps).
fn index(list: &[Value], v: &Value, key: Option<&str>, kind: Kind) -> Option<usize> {
    let id = |item: &Value| -> Option<Value> {
        match kind {
            Kind::Map => item.get(key.unwrap_or_default()).cloned(),
            _ => Some(item.clone()),
        }
    };
    let want = id(v);
    list.iter().position(|item| id(item) == want)
}

/// `mergeSortedSlice`: each server-only item goes before the first patch item the live
/// list has after it; patch items the live list lacks go first.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: Option<&str>,
    kind: Kind,
) -> Vec<Value> {
    let less = |l: &Value, r: &Value| match (
        index(server_order, l, key, kind),
        index(server_order, r, key, kind),
    ) {
        (Some(li), Some(ri)) => li.cmp(&ri) == Ordering::Less,
        _ => false,
    };
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => less(l, r),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// The Go type of a decoded JSON value, as `sliceElementType` compares them (integers
/// and floats differ: the handler decodes with `UnmarshalCaseSensitivePreserveInts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Slice,
    Map,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Nil,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_f64() => Kind::Float,
        Value::Number(_) => Kind::Int,
        Value::String(_) => Kind::String,
        Value::Array(_) => Kind::Slice,
        Value::Object(_) => Kind::Map,
    }
}

/// `sliceElementType`: the one type of every item of the lists.
fn element_kind(lists: &[&[Value]]) -> Result<Kind> {
    let mut found: Option<Kind> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        match found {
            None if kind(v) == Kind::Slice => return Err(Error::NoListOfLists),
            None => found = Some(kind(v)),
            Some(k) if k != kind(v) => {
                let all = Value::Array(lists.iter().map(|l| Value::Array(l.to_vec())).collect());
                return Err(Error::Other(format!(
                    "list element types are not identical: {}",
                    go_fmt(&all)
                )));
            }
            Some(_) => {}
        }
    }
    found.ok_or_else(|| Error::Other("no elements in any of the given slices".into()))
}

// Go error texts of mergepatch/errors.go.

fn no_merge_key(m: &Obj, key: &str) -> Error {
    Error::Other(format!(
        "map: {} does not contain declared merge key: {key}",
        go_fmt_map(m)
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> Error {
    Error::Other(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

fn bad_patch_type(t: &Value, m: &Obj) -> Error {
    let t = match t {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".to_string(),
        other if kind(other) == Kind::Map || kind(other) == Kind::Slice => go_fmt(other),
        other => format!("%!s({}={})", go_type(other), go_fmt(other)),
    };
    Error::Other(format!("unknown patch type: {t} in map: {}", go_fmt_map(m)))
}

/// `reflect.TypeOf(v)` as `%s` prints it.
fn go_type(v: &Value) -> &'static str {
    match kind(v) {
        Kind::Nil => "%!s(<nil>)",
        Kind::Bool => "bool",
        Kind::Int => "int64",
        Kind::Float => "float64",
        Kind::String => "string",
        Kind::Slice => SLICE_TYPE,
        Kind::Map => MAP_TYPE,
    }
}

/// The JSON type name encoding/json's UnmarshalTypeError uses.
fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        _ => "object",
    }
}

/// A decoded JSON value as Go's `%v` prints it: `map[k:v ...]` with sorted keys,
/// `[a b]`, unquoted strings, `<nil>`.
fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => go_fmt_map(m),
    }
}

fn go_fmt_map(m: &Obj) -> String {
    let mut entries: Vec<(&String, &Value)> = m.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let parts: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
        .collect();
    format!("map[{}]", parts.join(" "))
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: exponent form from 1e+06 on and below 1e-04.
fn go_float(f: f64) -> String {
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if !(-4..6).contains(&exp) {
        let s = format!("{f:e}");
        let (mantissa, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", e.abs())
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Shape {
        Shape::of_kind("apps/v1", "Deployment")
    }

    fn smp(original: Value, patch: Value) -> std::result::Result<Value, ApiError> {
        apply(&original, &patch, deployment())
    }

    fn containers(v: &Value) -> &Value {
        &v["spec"]["template"]["spec"]["containers"]
    }

    fn dep(cs: Value) -> Value {
        json!({"spec": {"template": {"spec": {"containers": cs}}}})
    }

    #[test]
    fn keyed_lists_merge_and_new_items_come_first() {
        let out = smp(
            dep(json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}])),
            dep(json!([{"name": "c", "image": "3"}, {"name": "b", "image": "9"}])),
        )
        .unwrap();
        assert_eq!(
            containers(&out),
            &json!([{"name": "c", "image": "3"}, {"name": "a", "image": "1"}, {"name": "b", "image": "9"}])
        );
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let out = smp(
            dep(json!([{"name": "a"}, {"name": "b"}, {"name": "x"}])),
            json!({"spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "b"}, {"name": "c"}, {"name": "a"}],
                "containers": [{"name": "c"}]}}}}),
        )
        .unwrap();
        let names: Vec<&str> = containers(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["b", "c", "a", "x"]);
    }

    #[test]
    fn primitive_lists_merge_as_sets_and_delete_from_a_parallel_list() {
        let shape = Shape::of_kind("v1", "ConfigMap");
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = apply(
            &original,
            &json!({"metadata": {"finalizers": ["c", "a"], "$deleteFromPrimitiveList/finalizers": ["b"]}}),
            shape,
        )
        .unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a"]));
    }

    #[test]
    fn go_formatting() {
        assert_eq!(
            go_fmt(&json!({"b": [1, 1.5, null], "a": {"x": true}})),
            "map[a:map[x:true] b:[1 1.5 <nil>]]"
        );
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(0.00001), "1e-05");
    }
}
