//! List semantics: `resourceVersion` / `resourceVersionMatch` and pagination with
//! `limit` / `continue`, as "Resource versions" and "Retrieving large results sets in
//! chunks" of the API concepts describe them:
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#semantics-for-get-and-list>
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks>
//!
//! Lists at an older resourceVersion (`Exact`, later pages) are rebuilt from the watch
//! history; one older than the history is `410 Gone` (`Expired`), as from a compacted etcd.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::meta;
use crate::registry::ResourceDef;
use crate::status::{ApiError, Cause};
use crate::store::{Event, Store, Stored};

/// A list request's paging and consistency parameters.
pub struct ListParams<'a> {
    pub resource_version: &'a str,
    pub match_: &'a str,
    pub limit: &'a str,
    pub continue_: &'a str,
    /// A label or field selector is set (the remaining count is then unknown).
    pub selective: bool,
}

/// An object of a list: as stored now, or as it was at an older resourceVersion.
#[derive(Clone, Copy)]
pub enum Listed<'st> {
    Current(&'st Stored),
    Past(&'st Value),
}

impl<'st> Listed<'st> {
    pub fn obj(self) -> &'st Value {
        match self {
            Listed::Current(s) => &s.obj,
            Listed::Past(v) => v,
        }
    }

    /// Appends the object's JSON (a current object's is made once, [`Stored::json`]).
    pub fn write_json(self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Listed::Current(s) => {
                out.extend_from_slice(s.json());
                Ok(())
            }
            Listed::Past(v) => serde_json::to_writer(out, v),
        }
    }
}

/// One page of a list, borrowing the objects from the store (a list is serialised
/// straight from them, never copied).
pub struct Page<'st> {
    pub items: Vec<Listed<'st>>,
    pub resource_version: u64,
    pub continue_: Option<String>,
    pub remaining: Option<usize>,
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn invalid(causes: Vec<Cause>) -> ApiError {
    ApiError::invalid("ListOptions", "meta.k8s.io", "", causes)
}

/// `ValidateListOptions`' checks of these parameters (422 `Invalid`).
fn validate(p: &ListParams) -> Result<(), ApiError> {
    if !p.match_.is_empty() && p.resource_version.is_empty() {
        return Err(invalid(vec![Cause::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        )]));
    }
    if !matches!(p.match_, "" | "Exact" | "NotOlderThan") {
        return Err(invalid(vec![Cause::not_supported(
            "resourceVersionMatch",
            &json!(p.match_),
            &["Exact".into(), "NotOlderThan".into()],
        )]));
    }
    if !p.continue_.is_empty() && !matches!(p.resource_version, "" | "0") {
        return Err(invalid(vec![Cause::forbidden(
            "resourceVersion",
            "specifying resource version is not allowed when using continue",
        )]));
    }
    Ok(())
}

fn parse_rv(rv: &str) -> Result<u64, ApiError> {
    if rv.is_empty() {
        return Ok(0);
    }
    rv.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version {rv:?}")))
}

/// 504 for a resourceVersion the server has not reached (the real one waits 3s first).
fn too_large(asked: u64, current: u64) -> ApiError {
    let mut e = ApiError::new(
        504,
        "Timeout",
        format!("Too large resource version: {asked}, current: {current}"),
    );
    e.details = Some(Box::new(
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
    ));
    e.retry_after = Some(1);
    e
}

pub fn expired(message: String) -> ApiError {
    ApiError::new(410, "Expired", message)
}

/// The page of objects of `def` (in `ns`, kept by `keep`) the parameters ask for.
pub fn page<'st>(
    st: &'st Store,
    def: &'static ResourceDef,
    ns: Option<&str>,
    keep: impl Fn(&Value) -> bool,
    p: &ListParams,
) -> Result<Page<'st>, ApiError> {
    validate(p)?;
    let current = st.rv();
    let (at, start) = if !p.continue_.is_empty() {
        let (rv, start) = decode_continue(p.continue_)?;
        (rv, Some(start))
    } else {
        let asked = parse_rv(p.resource_version)?;
        if asked > current {
            return Err(too_large(asked, current));
        }
        let exact = p.match_ == "Exact" && asked != 0;
        (if exact { asked } else { current }, None)
    };
    let all = objects_at(st, def, at, ns, &keep).map_err(|()| {
        if start.is_some() {
            expired(CONTINUE_EXPIRED.to_string())
        } else {
            expired(format!("too old resource version: {at} ({})", st.compacted() + 1))
        }
    })?;
    let mut items: Vec<(String, Listed)> = all
        .into_iter()
        .map(|((n, name), o)| (format!("{n}/{name}"), o))
        .filter(|(k, _)| start.as_ref().is_none_or(|s| k > s))
        .collect();
    let limit: usize = p.limit.parse().unwrap_or(0);
    let mut page = Page {
        items: Vec::new(),
        resource_version: at,
        continue_: None,
        remaining: None,
    };
    if limit > 0 && items.len() > limit {
        let rest = items.split_off(limit);
        let last = items.last().map(|(k, _)| k.clone()).unwrap_or_default();
        page.continue_ = Some(encode_continue(at, &last));
        page.remaining = (!p.selective).then_some(rest.len());
    }
    page.items = items.into_iter().map(|(_, o)| o).collect();
    Ok(page)
}

/// The objects of `def` as they were at resourceVersion `at`, keyed (namespace, name);
/// Err when the history no longer tells.
/// Only those in `ns` that `keep` selects are returned.
fn objects_at<'st>(
    st: &'st Store,
    def: &'static ResourceDef,
    at: u64,
    ns: Option<&str>,
    keep: &dyn Fn(&Value) -> bool,
) -> Result<BTreeMap<(String, String), Listed<'st>>, ()> {
    let key = |o: &Value| (meta::namespace_of(o).to_string(), meta::name_of(o).to_string());
    let mut out: BTreeMap<(String, String), Listed<'st>> = st
        .list(def, ns)
        .into_iter()
        .filter(|s| keep(&s.obj))
        .map(|s| (key(&s.obj), Listed::Current(s)))
        .collect();
    if at >= st.rv() {
        return Ok(out);
    }
    if at < st.compacted() {
        return Err(());
    }
    // Per object changed after `at`: its last event up to `at`, and its first after.
    let mut before: HashMap<(String, String), &Event> = HashMap::new();
    let mut after: HashMap<(String, String), &Event> = HashMap::new();
    let in_ns = |e: &&Event| ns.is_none_or(|n| n == meta::namespace_of(&e.obj));
    for e in st.history().filter(|e| std::ptr::eq(e.def, def)).filter(in_ns) {
        let k = key(&e.obj);
        if e.rv <= at {
            before.insert(k, e);
        } else {
            after.entry(k).or_insert(e);
        }
    }
    for (k, first_after) in after {
        let then = match before.get(&k) {
            Some(e) if e.kind != "DELETED" && keep(&e.obj) => Some(Listed::Past(&e.obj)),
            Some(_) => None,
            None if first_after.kind == "ADDED" => None,
            // Changed after `at`, last written before the history starts.
            None => return Err(()),
        };
        match then {
            Some(o) => out.insert(k, o),
            None => out.remove(&k),
        };
    }
    Ok(out)
}

/// The opaque continue token: like the apiserver's, base64 of the snapshot's
/// resourceVersion and the key to start after.
fn encode_continue(rv: u64, last: &str) -> String {
    B64.encode(json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last}\u{0}")}).to_string())
}

fn decode_continue(token: &str) -> Result<(u64, String), ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = B64.decode(token).map_err(|e| bad(&e.to_string()))?;
    let v: Value = serde_json::from_slice(&raw).map_err(|e| bad(&e.to_string()))?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    let rv = v["rv"]
        .as_u64()
        .ok_or_else(|| bad("incorrect encoded start resourceVersion"))?;
    let start = v["start"].as_str().unwrap_or_default().trim_end_matches('\u{0}');
    Ok((rv, start.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(1042, "default/x");
        assert_eq!(
            decode_continue(&t).expect("token"),
            (1042, "default/x".to_string())
        );
        assert_eq!(decode_continue("nope!").map_err(|e| e.code), Err(400));
    }
}
