//! The resource handlers: get, list, watch, create, update, patch, delete, the
//! `status` subresource and pod logs ([`crate::podlog`]); TokenRequest is
//! [`crate::authn::token_request`]. Requests and replies are [`crate::request`]'s.

use std::sync::Mutex;
use std::time::Duration;

use http::Method;
use serde::Serialize;
use serde_json::{json, Value};

use crate::apply::{self, ManagerEntry, Writer};
use crate::crds;
use crate::deletion;
use crate::fields::Scope;
use crate::listing;
use crate::meta;
use crate::patch;
use crate::podlog;
use crate::registry::{self, ResourceDef};
use crate::request::{ApiRequest, Reply};
use crate::schema::{self, Schemas};
use crate::selector::{FieldSelector, LabelSelector};
use crate::smp;
use crate::status::{ApiError, Cause};
use crate::store::{self, Store};
use crate::table;
use crate::watch;

pub fn handle(store: &Mutex<Store>, req: &ApiRequest) -> Result<Reply, ApiError> {
    let r = req.route;
    let sub = r.sub.as_deref();
    let status_ok = sub.is_none() || (sub == Some("status") && r.def.status);
    let token_ok = sub == Some("token") && r.def.group.is_empty() && r.def.plural == "serviceaccounts";
    let log_ok = sub == Some("log") && r.def.group.is_empty() && r.def.plural == "pods";
    if !(status_ok || token_ok || log_ok) {
        return Err(ApiError::path_not_found());
    }
    if registry::is_crd(r.def) {
        return crds::handle(req);
    }
    let mut st = store
        .lock()
        .map_err(|_| ApiError::new(500, "InternalError", "store poisoned"))?;
    if log_ok {
        // The log subresource is read-only, as in the real server.
        return match *req.method {
            Method::GET => podlog::get(&st, req),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    match (req.method.clone(), r.name.is_some()) {
        (Method::GET, false) if req.is_watch() => watch(&st, req),
        (Method::GET, false) => list(&st, req),
        (Method::GET, true) if !token_ok => get(&st, req),
        (Method::POST, false) if sub.is_none() => create(&mut st, req),
        (Method::PUT, true) if !token_ok => replace(&mut st, req),
        (Method::PATCH, true) if !token_ok => patch(&mut st, req),
        (Method::DELETE, true) if sub.is_none() => delete(&mut st, req),
        (Method::DELETE, false) if sub.is_none() => delete_collection(&mut st, req),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn get(st: &Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let stored = st
        .get(def, req.ns(), req.name())
        .ok_or_else(|| ApiError::not_found(def, req.name()))?;
    let obj = &stored.obj;
    if table::wants_table(req.accept) {
        let t = table::table(
            std::slice::from_ref(obj),
            st.rv(),
            req.q("includeObject") == "Object",
        );
        return Ok(Reply::Json(200, t));
    }
    Ok(Reply::Bytes(200, stored.json().clone()))
}

fn selectors(req: &ApiRequest) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(req.q("labelSelector")).map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.q("fieldSelector")).map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn matching(st: &Store, req: &ApiRequest) -> Result<Vec<Value>, ApiError> {
    let (labels, fields) = selectors(req)?;
    Ok(st
        .list(req.route.def, req.route.namespace.as_deref())
        .into_iter()
        .map(|s| &s.obj)
        .filter(|o| labels.matches_object(o) && fields.matches(o))
        .cloned()
        .collect())
}

fn list_json(def: &ResourceDef, items: Vec<Value>, rv: u64) -> Value {
    json!({
        "kind": format!("{}List", def.kind),
        "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

/// A list's `metadata`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    resource_version: String,
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    continue_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining_item_count: Option<usize>,
}

/// A `<Kind>List` written from the items' own JSON ([`listing::Listed::write_json`]): a
/// list of 100 Gateways is neither copied nor serialised again.
fn list_body(def: &ResourceDef, meta: &ListMeta, items: &[listing::Listed]) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 + items.len() * 2048);
    out.extend_from_slice(b"{\"kind\":");
    serde_json::to_writer(&mut out, &format!("{}List", def.kind))?;
    out.extend_from_slice(b",\"apiVersion\":");
    serde_json::to_writer(&mut out, &def.api_version())?;
    out.extend_from_slice(b",\"metadata\":");
    serde_json::to_writer(&mut out, meta)?;
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        item.write_json(&mut out)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// LIST with `resourceVersion(Match)` and `limit`/`continue` ([`listing`]).
fn list(st: &Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(req)?;
    let params = listing::ListParams {
        resource_version: req.q("resourceVersion"),
        match_: req.q("resourceVersionMatch"),
        limit: req.q("limit"),
        continue_: req.q("continue"),
        selective: !req.q("labelSelector").is_empty() || !req.q("fieldSelector").is_empty(),
    };
    let keep = |o: &Value| labels.matches_object(o) && fields.matches(o);
    let page = listing::page(st, req.route.def, req.route.namespace.as_deref(), keep, &params)?;
    if table::wants_table(req.accept) {
        let items: Vec<Value> = page.items.iter().map(|o| o.obj().clone()).collect();
        let mut out = table::table(&items, page.resource_version, req.q("includeObject") == "Object");
        if let Some(c) = page.continue_ {
            out["metadata"]["continue"] = json!(c);
        }
        if let Some(n) = page.remaining {
            out["metadata"]["remainingItemCount"] = json!(n);
        }
        return Ok(Reply::Json(200, out));
    }
    let meta = ListMeta {
        resource_version: page.resource_version.to_string(),
        continue_: page.continue_,
        remaining_item_count: page.remaining,
    };
    let body = list_body(req.route.def, &meta, &page.items)
        .map_err(|e| ApiError::new(500, "InternalError", e.to_string()))?;
    Ok(Reply::Bytes(200, body.into()))
}

/// WATCH ([`watch`]: 410 for an expired resourceVersion, bookmarks, streaming lists).
fn watch(st: &Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(req)?;
    let ns = req.route.namespace.clone();
    let params = watch::WatchParams {
        resource_version: req.q("resourceVersion"),
        match_: req.q("resourceVersionMatch"),
        bookmarks: req.q("allowWatchBookmarks") == "true",
        send_initial: req.q("sendInitialEvents"),
        timeout: Duration::from_secs(req.q("timeoutSeconds").parse().unwrap_or(1800)),
    };
    let keep = move |o: &Value| {
        ns.as_deref().is_none_or(|n| n == meta::namespace_of(o))
            && labels.matches_object(o)
            && fields.matches(o)
    };
    let rx = watch::start(st, req.route.def, &params, || matching(st, req), keep)?;
    Ok(Reply::Watch(rx))
}

/// Decodes a JSON or YAML body into an object. Protobuf and CBOR get 415, which
/// makes client-go switch that client to JSON and retry.
fn decode(req: &ApiRequest) -> Result<Value, ApiError> {
    if req.content_type.contains("protobuf") || req.content_type.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {})", req.content_type),
        ));
    }
    let v: Value = if req.content_type.contains("yaml") {
        // JSON is YAML, and most YAML bodies (kubectl's, ours) are JSON: the JSON parser is
        // much faster; YAML proper (or a flow mapping that is not JSON) falls through.
        let json_first = req.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        match json_first
            .then(|| serde_json::from_slice(req.body).ok())
            .flatten()
        {
            Some(v) => v,
            None => serde_yaml_ng::from_slice(req.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?,
        }
    } else {
        serde_json::from_slice(req.body)
            .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))?
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format",
        ));
    }
    Ok(v)
}

/// Sets `obj[key]` to `want` when it is absent or empty; a 400 worded by `mismatch` (given
/// what it holds) when it names something else.
fn fill_or_match(
    obj: &mut Value,
    key: &str,
    want: &str,
    mismatch: impl FnOnce(&str) -> String,
) -> Result<(), ApiError> {
    match obj.get(key).and_then(Value::as_str) {
        None | Some("") => obj[key] = json!(want),
        Some(v) if v != want => return Err(ApiError::bad_request(mismatch(v))),
        _ => {}
    }
    Ok(())
}

/// Fills in apiVersion/kind/namespace and rejects a body that names another kind,
/// namespace or name than the URL.
fn normalize(req: &ApiRequest, obj: &mut Value, url_name: Option<&str>) -> Result<(), ApiError> {
    let def = req.route.def;
    let want = def.api_version();
    fill_or_match(obj, "apiVersion", &want, |v| {
        format!("the API version in the data ({v}) does not match the expected API version ({want})")
    })?;
    fill_or_match(obj, "kind", def.kind, |k| {
        format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            def.kind
        )
    })?;
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let meta = &mut obj["metadata"];
    if def.namespaced {
        fill_or_match(meta, "namespace", req.ns(), |_| {
            "the namespace of the provided object does not match the namespace sent on the request".into()
        })?;
    } else if let Some(m) = meta.as_object_mut() {
        m.remove("namespace");
    }
    if let Some(url_name) = url_name {
        fill_or_match(meta, "name", url_name, |n| {
            format!("the name of the object ({n}) does not match the name on the URL ({url_name})")
        })?;
    }
    if let Some(m) = meta.as_object_mut() {
        // Server-owned; a client cannot choose them.
        // The deletion marks too: kept from the stored object ([`deletion::guard_update`]).
        for k in [
            "managedFields",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            m.remove(k);
        }
    }
    Ok(())
}

/// Checks that a new object's namespace exists and its name is valid.
fn admit_new(st: &Store, def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let ns = meta::namespace_of(obj);
    if def.namespaced && !st.namespace_exists(ns) {
        return Err(ApiError::namespace_not_found(ns));
    }
    deletion::admit_create(st, def, obj)?;
    let name = meta::name_of(obj);
    let causes = match kind_schema(def) {
        Some(k) => schema::name_errors(k, name),
        None => meta::validate_name(name, def.plural == "namespaces" && def.group.is_empty()),
    };
    if !causes.is_empty() {
        return Err(ApiError::invalid(def.kind, def.group, name, causes));
    }
    Ok(())
}

fn writer<'a>(req: &ApiRequest, manager: &'a str, api_version: &'a str) -> Writer<'a> {
    let subresource = if req.route.sub.as_deref() == Some("status") {
        "status"
    } else {
        ""
    };
    Writer {
        manager,
        api_version,
        subresource,
        scope: req.scope(),
        shape: crate::shape::Shape::of(req.route.def),
    }
}

fn create(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let mut obj = decode(req)?;
    normalize(req, &mut obj, None)?;
    if meta::name_of(&obj).is_empty() {
        if let Some(g) = obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .filter(|g| !g.is_empty())
        {
            obj["metadata"]["name"] = json!(format!("{g}{}", meta::name_suffix()));
        }
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    admit_new(st, def, &obj)?;
    if st
        .get(def, meta::namespace_of(&obj), meta::name_of(&obj))
        .is_some()
    {
        return Err(ApiError::already_exists(def, meta::name_of(&obj)));
    }
    if def.status {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    admit(req, &mut obj, None, Vec::new())?;
    let (manager, av) = (req.manager(), def.api_version());
    let managers = apply::update(&Value::Null, &obj, &[], &writer(req, &manager, &av));
    Ok(Reply::Json(201, st.commit(def, obj, managers, req.dry_run())))
}

/// Keeps the parts of `new` the write may change: `.status` only through the status
/// subresource, everything else only through the main resource.
fn confine(req: &ApiRequest, old: &Value, new: Value) -> Value {
    match req.scope() {
        Scope::Status => with_status_of(old.clone(), &new),
        Scope::Main { status_is_sub: true } => with_status_of(new, old),
        Scope::Main { status_is_sub: false } => new,
    }
}

/// `out` with `from`'s `.status` (none if `from` has none).
fn with_status_of(mut out: Value, from: &Value) -> Value {
    match from.get("status") {
        Some(s) => out["status"] = s.clone(),
        None => {
            if let Some(m) = out.as_object_mut() {
                m.remove("status");
            }
        }
    }
    out
}

fn check_rv(def: &ResourceDef, old: &Value, new: &Value, name: &str) -> Result<(), ApiError> {
    let sent = meta::metadata_str(new, "resourceVersion");
    let have = meta::metadata_str(old, "resourceVersion");
    if !sent.is_empty() && sent != have {
        return Err(ApiError::rv_conflict(def, name));
    }
    Ok(())
}

/// The common tail of PUT and non-apply PATCH.
fn update_to(st: &mut Store, req: &ApiRequest, old: &store::Stored, new: Value) -> Result<Reply, ApiError> {
    let def = req.route.def;
    check_rv(def, &old.obj, &new, req.name())?;
    let mut new = confine(req, &old.obj, new);
    deletion::guard_update(def, &old.obj, &mut new)?;
    admit(req, &mut new, Some(&old.obj), Vec::new())?;
    let (manager, av) = (req.manager(), def.api_version());
    let managers = apply::update(&old.obj, &new, &old.managers, &writer(req, &manager, &av));
    let stored = st.commit(def, new, managers, req.dry_run());
    if !req.dry_run() {
        deletion::finish_if_released(st, def, &stored);
    }
    Ok(Reply::Json(200, stored))
}

fn replace(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let old = st
        .get(def, req.ns(), req.name())
        .cloned()
        .ok_or_else(|| ApiError::not_found(def, req.name()))?;
    let mut obj = decode(req)?;
    normalize(req, &mut obj, Some(req.name()))?;
    update_to(st, req, &old, obj)
}

fn patch(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let ct = req.content_type.split(';').next().unwrap_or_default().trim();
    if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor" {
        return server_side_apply(st, req);
    }
    let old = st
        .get(def, req.ns(), req.name())
        .cloned()
        .ok_or_else(|| ApiError::not_found(def, req.name()))?;
    let body: Value = serde_json::from_slice(req.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut new = old.obj.clone();
    // Custom resources have no patch strategies: the apiserver refuses strategic merge
    // patches for them before reading the body.
    if ct == "application/strategic-merge-patch+json" && kind_schema(def).is_some_and(|k| k.crd) {
        return Err(ApiError::new(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"));
    }
    match ct {
        "application/merge-patch+json" => patch::merge(&mut new, &body),
        "application/strategic-merge-patch+json" => {
            new = smp::apply(&old.obj, &body, crate::shape::Shape::of(def))?
        }
        "application/json-patch+json" => {
            patch::json_patch(&mut new, &body).map_err(|e| ApiError::new(422, "Invalid", e))?
        }
        other => {
            return Err(ApiError::new(415, "UnsupportedMediaType", format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other})")))
        }
    }
    normalize(req, &mut new, Some(req.name()))?;
    // The patch body's resourceVersion (if any) is a precondition; otherwise the
    // patched object keeps the stored one.
    update_to(st, req, &old, new)
}

fn server_side_apply(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    if req.q("fieldManager").is_empty() {
        let cause = Cause::required("fieldManager", "is required for apply requests");
        return Err(ApiError::invalid("PatchOptions", "meta.k8s.io", "", vec![cause]));
    }
    let mut applied = decode(req)?;
    normalize(req, &mut applied, Some(req.name()))?;
    // Defaulted and pruned like the object it merges into, so schema defaults (a
    // listener's allowedRoutes) do not read as changes that conflict with their owner.
    let dropped = kind_schema(def)
        .map(|k| Schemas::upstream().admit(k, &mut applied, None).unknown)
        .unwrap_or_default();
    // Computed against the live object in place (no copy of it), then committed.
    let (obj, managers, existed) = {
        let old = st.get(def, req.ns(), req.name());
        if let Some(old) = old {
            check_rv(def, &old.obj, &applied, req.name())?;
        } else {
            if req.scope() == Scope::Status {
                return Err(ApiError::not_found(def, req.name()));
            }
            admit_new(st, def, &applied)?;
        }
        let skeleton;
        let (live, managers): (&Value, &[ManagerEntry]) = match old {
            Some(o) => (&o.obj, &o.managers),
            None => {
                skeleton = apply::skeleton(&applied);
                (&skeleton, &[])
            }
        };
        let (manager, av) = (req.manager(), def.api_version());
        let force = req.q("force") == "true";
        let (obj, managers) = apply::apply(live, managers, &applied, &writer(req, &manager, &av), force)?;
        let mut obj = confine(req, live, obj);
        if let Some(o) = old {
            deletion::guard_update(def, &o.obj, &mut obj)?;
        }
        admit(req, &mut obj, old.map(|o| &o.obj), dropped)?;
        (obj, managers, old.is_some())
    };
    let code = if existed { 200 } else { 201 };
    let stored = st.commit(def, obj, managers, req.dry_run());
    if !req.dry_run() {
        deletion::finish_if_released(st, def, &stored);
    }
    Ok(Reply::Json(code, stored))
}

fn kind_schema(def: &ResourceDef) -> Option<&'static schema::KindSchema> {
    Schemas::upstream().kind(&def.api_version(), def.kind)
}

/// Validates the object a write would store, as the apiserver does after decoding and
/// merging: schema defaults, unknown fields dropped (an error under
/// `fieldValidation=Strict`, a `Warning` under `Warn`, the server's default), then the
/// schema and CEL checks (422 `Invalid`).
/// `applied_unknown`: for an apply, the unknown fields already dropped from the applied
/// configuration (an apply reports them, not the merge).
fn admit(
    req: &ApiRequest,
    obj: &mut Value,
    old: Option<&Value>,
    applied_unknown: Vec<String>,
) -> Result<(), ApiError> {
    let def = req.route.def;
    let Some(kind) = kind_schema(def) else {
        return Ok(());
    };
    let is_apply = !applied_unknown.is_empty();
    let mut found = Schemas::upstream().admit(kind, obj, old);
    found.unknown.extend(applied_unknown);
    if !found.unknown.is_empty() {
        match req.q("fieldValidation") {
            "Strict" => return Err(strict_error(def, obj, &found.unknown, is_apply)),
            "Ignore" => {}
            _ => req.warnings.borrow_mut().extend(
                found
                    .unknown
                    .iter()
                    .map(|p| format!("unknown field {}", schema::quote(p))),
            ),
        }
    }
    if found.errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(
        def.kind,
        def.group,
        meta::name_of(obj),
        found.errors,
    ))
}

/// Unknown fields under `fieldValidation=Strict`. A create or update fails decoding
/// (400, `... cannot be handled as a Gateway: strict decoding error: unknown field
/// "spec.foo"`); an apply fails building the typed object (`.spec.foo: field not
/// declared in schema`).
fn strict_error(def: &ResourceDef, obj: &Value, unknown: &[String], is_apply: bool) -> ApiError {
    if is_apply {
        let ns = meta::namespace_of(obj);
        let name = meta::name_of(obj);
        let who = if ns.is_empty() {
            format!("/{name}")
        } else {
            format!("{ns}/{name}")
        };
        let fields: Vec<String> = unknown
            .iter()
            .map(|p| format!(".{p}: field not declared in schema"))
            .collect();
        let msg = format!(
            "failed to create typed patch object ({who}; {}, Kind={}): {}",
            def.api_version(),
            def.kind,
            fields.join("\n")
        );
        let causes = unknown
            .iter()
            .map(|p| schema::FieldError::invalid_field_unknown(p))
            .collect();
        let mut e = ApiError::invalid(def.kind, def.group, meta::name_of(obj), causes);
        e.message = msg;
        return e;
    }
    let fields: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field {}", schema::quote(p)))
        .collect();
    ApiError::bad_request(format!(
        "{kind} in version {v:?} cannot be handled as a {kind}: strict decoding error: {}",
        fields.join(", "),
        kind = def.kind,
        v = def.version,
    ))
}

/// DELETE: graceful deletion with `DeleteOptions` ([`deletion`]).
fn delete(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let opts = delete_options(req)?;
    let obj = deletion::delete(st, def, req.ns(), req.name(), &opts, req.dry_run())?;
    Ok(Reply::Json(200, obj))
}

fn delete_options(req: &ApiRequest) -> Result<deletion::Options, ApiError> {
    let opts = deletion::Options::parse(req.body, |k| req.q(k).to_string())?;
    let def = req.route.def;
    if opts.defaulted() && def.group == "batch" && def.plural == "jobs" {
        req.warnings
            .borrow_mut()
            .push(deletion::JOB_ORPHAN_WARNING.to_string());
    }
    Ok(opts)
}

fn delete_collection(st: &mut Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let opts = delete_options(req)?;
    let items = matching(st, req)?;
    let mut out = Vec::new();
    for o in &items {
        let (ns, name) = (meta::namespace_of(o), meta::name_of(o));
        if let Ok(obj) = deletion::delete(st, def, ns, name, &opts, req.dry_run()) {
            out.push(obj);
        }
    }
    Ok(Reply::Json(200, list_json(def, out, st.rv())))
}
