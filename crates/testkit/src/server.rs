//! The HTTPS listener and the request pipeline: down/latency, faults, authentication
//! ([`crate::authn`]), authorization (deny rules, then RBAC: [`crate::rbac`]), then
//! discovery, the review APIs ([`crate::reviews`]) or the resource handlers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

use crate::api;
use crate::cluster::Shared;
use crate::discovery;
use crate::faults::{FaultAction, LoggedRequest, Verb};
use crate::openapi;
use crate::rbac::{self, Attributes, ResourceAttrs};
use crate::request::{ApiRequest, Reply};
use crate::reviews::{self, Review};
use crate::route::{self, ResourceRoute, Route};
use crate::status::ApiError;
use crate::tls::{self, Identity};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Returned by the service to drop the connection without answering. HTTP/1 hyper
/// closes the connection on a service error by itself; HTTP/2 hyper would only reset the
/// stream, so [`serve`] also drops the whole connection (every protocol alike).
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for Reset {}

const MAX_BODY: usize = 16 << 20;

pub(crate) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        if shared.is_down() {
            // RST instead of FIN, like a crashed apiserver behind a load balancer.
            let _ = tcp.set_zero_linger();
            continue;
        }
        // As Go's net/http (kube-apiserver) does: no Nagle delay on small answers.
        let _ = tcp.set_nodelay(true);
        let (acceptor, shared) = (acceptor.clone(), shared.clone());
        tokio::spawn(async move {
            // A presented client certificate was verified against the cluster CA
            // during the handshake (a foreign one fails it); here we only read it.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let peer: Option<Arc<Identity>> = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(tls::identity)
                .map(Arc::new);
            // Set by a request that ends in Reset: the connection is then dropped, which
            // for HTTP/2 takes the other streams on it down too, as a real reset would.
            let reset = Arc::new(Notify::new());
            let svc = {
                let reset = reset.clone();
                service_fn(move |req| {
                    let (shared, peer, reset) = (shared.clone(), peer.clone(), reset.clone());
                    async move {
                        let r = handle(shared, peer, req).await;
                        if r.is_err() {
                            reset.notify_one();
                        }
                        r
                    }
                })
            };
            // HTTP/2 (ALPN `h2`, or the client preface) and HTTP/1.1, as kube-apiserver.
            let builder = auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(tls), svc);
            tokio::select! {
                _ = conn => {}
                _ = reset.notified() => {}
            }
        });
    }
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn verb_of(method: &Method, route: &Route, query: &HashMap<String, String>) -> Verb {
    let Route::Resource(r) = route else {
        return Verb::Other;
    };
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    match (method.as_str(), r.name.is_some()) {
        ("GET", false) if watch => Verb::Watch,
        ("GET", false) => Verb::List,
        ("GET", true) => Verb::Get,
        ("POST", _) => Verb::Create,
        ("PUT", _) => Verb::Update,
        ("PATCH", _) => Verb::Patch,
        ("DELETE", _) => Verb::Delete,
        _ => Verb::Other,
    }
}

/// The authenticated caller: the client certificate's identity if the connection has
/// one (the x509 authenticator runs before the token ones, as in kube-apiserver),
/// else the bearer token's user.
fn authenticate(shared: &Shared, peer: Option<&Arc<Identity>>, headers: &HeaderMap) -> Option<Identity> {
    if let Some(id) = peer {
        return Some(Identity::clone(id));
    }
    let token = header_str(headers, header::AUTHORIZATION)
        .strip_prefix("Bearer ")
        .unwrap_or_default();
    if token.is_empty() {
        return None;
    }
    crate::authn::authenticate(shared, token)
}

async fn handle(
    shared: Arc<Shared>,
    peer: Option<Arc<Identity>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Reset> {
    if shared.is_down() {
        return Err(Reset);
    }
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let path_q = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let query = query_map(parts.uri.query());
    let route = route::parse(parts.uri.path(), shared.gateway_api());
    let verb = verb_of(&parts.method, &route, &query);
    let ident = authenticate(&shared, peer.as_ref(), &parts.headers);
    let (log_user, log_groups) = match &ident {
        Some(id) => (id.user.as_str(), id.groups.as_slice()),
        None => ("", &[][..]),
    };
    let record = |status: u16| {
        shared.faults().record(LoggedRequest {
            method: parts.method.to_string(),
            path: path_q.clone(),
            verb,
            status,
            user: log_user.to_string(),
            groups: log_groups.to_vec(),
            http_version: format!("{:?}", parts.version),
        })
    };

    let action = shared.faults().take(parts.method.as_str(), &path_q);
    match action {
        Some(FaultAction::Reset) => {
            record(0);
            return Err(Reset);
        }
        Some(FaultAction::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultAction::Status { code, retry_after }) => {
            let mut e = if code == 403 {
                let verb = match &route {
                    Route::Resource(r) => rbac_verb(&parts.method, r, &query),
                    _ => "get",
                };
                forbidden(
                    ident.as_ref().map_or(&shared.user, |id| &id.user),
                    verb,
                    &route,
                    parts.uri.path(),
                )
            } else {
                ApiError::for_code(code)
            };
            if retry_after.is_some() {
                e.retry_after = retry_after;
            }
            record(e.code);
            return Ok(error_response(&e));
        }
        None => {}
    }

    let Some(ident) = ident.clone() else {
        record(401);
        return Ok(error_response(&ApiError::unauthorized()));
    };
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        record(0);
        return Err(Reset);
    };
    let body = body.to_bytes();
    let review = reviews::parse(parts.uri.path());
    let who = subject(&ident);
    let req = Asked {
        method: &parts.method,
        headers: &parts.headers,
        route: &route,
        review: review.as_ref(),
        query: &query,
        path: parts.uri.path(),
    };
    if let Err(e) = authorize(&shared, &who, &req) {
        record(e.code);
        return Ok(error_response(&e));
    }
    let resp = match (&route, &review) {
        (_, Some(rv)) => match reviews::handle(
            &shared,
            rv,
            parts.method.as_str(),
            header_str(&parts.headers, header::CONTENT_TYPE),
            &who,
            &body,
        ) {
            Ok((code, v)) => json_response(code, &v),
            Err(e) => error_response(&e),
        },
        (Route::Resource(r), None) => resource(&shared, &parts.method, &parts.headers, r, &query, &body),
        (Route::OpenApiV2, None) => {
            let (ct, bytes) = openapi::v2(header_str(&parts.headers, header::ACCEPT));
            build(200, ct, full(bytes))
        }
        (other, None) => discovery_response(&shared, other),
    };
    record(resp.status().as_u16());
    Ok(resp)
}

/// The parts of a request authorization looks at.
struct Asked<'a> {
    method: &'a Method,
    headers: &'a HeaderMap,
    route: &'a Route,
    review: Option<&'a Review>,
    query: &'a HashMap<String, String>,
    path: &'a str,
}

/// The user as the authorizer sees it: every authenticated user is also in
/// `system:authenticated` (added by the apiserver's authenticator; not in the request log).
fn subject(id: &Identity) -> rbac::Subject {
    let mut groups = id.groups.clone();
    groups.push(rbac::AUTHENTICATED.to_string());
    rbac::Subject {
        user: id.user.clone(),
        groups,
    }
}

/// The authorization filter: the deny rules ([`crate::FakeCluster::deny`], fault
/// injection that refuses everyone), then RBAC for every verb the request needs.
fn authorize(shared: &Shared, who: &rbac::Subject, req: &Asked) -> Result<(), ApiError> {
    let checks = match (req.route, req.review) {
        (_, Some(rv)) => {
            let verb = if *req.method == Method::POST {
                "create"
            } else {
                "get"
            };
            vec![reviews::attributes(rv, verb, req.path)]
        }
        (Route::Resource(r), None) => {
            if let Some(verb) = denied_verb(shared, req.method, req.headers, r, req.query) {
                return Err(forbidden(&who.user, verb, req.route, ""));
            }
            resource_attributes(shared, req, r)
        }
        // RequestInfo: a non-resource request's verb is the lower-cased method.
        _ => vec![Attributes {
            verb: req.method.as_str().to_ascii_lowercase(),
            resource: None,
            path: req.path.to_string(),
        }],
    };
    let st = shared.store();
    for a in checks {
        let d = rbac::authorize(&st, who, &a);
        if !d.allowed {
            return Err(rbac_forbidden(&who.user, &a, &d.reason));
        }
    }
    Ok(())
}

/// `RequestInfo` of a resource request, plus `create` for a server-side apply that
/// would create the object (the patch handler authorizes that too). A list or watch
/// with `fieldSelector=metadata.name=<n>` names `<n>`, so `resourceNames` rules can
/// grant watching one object.
fn resource_attributes(shared: &Shared, req: &Asked, r: &ResourceRoute) -> Vec<Attributes> {
    let verb = rbac_verb(req.method, r, req.query);
    let name = match &r.name {
        Some(n) => n.clone(),
        None => field_selector_name(req.query).unwrap_or_default(),
    };
    let attrs = |verb: &str| Attributes {
        verb: verb.to_string(),
        resource: Some(ResourceAttrs {
            group: r.def.group.to_string(),
            resource: r.def.plural.to_string(),
            subresource: r.sub.clone().unwrap_or_default(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: name.clone(),
        }),
        path: req.path.to_string(),
    };
    let mut out = vec![attrs(verb)];
    let is_apply = header_str(req.headers, header::CONTENT_TYPE).starts_with("application/apply-patch");
    if verb == "patch" && is_apply && r.sub.is_none() && !exists(shared, r) {
        out.push(attrs("create"));
    }
    out
}

fn field_selector_name(query: &HashMap<String, String>) -> Option<String> {
    let fs = query.get("fieldSelector")?;
    fs.split(',').find_map(|term| {
        let v = term
            .strip_prefix("metadata.name==")
            .or_else(|| term.strip_prefix("metadata.name="))?;
        Some(v.to_string())
    })
}

/// The RBAC authorizer's 403, with its reason (if any) after the message.
fn rbac_forbidden(user: &str, a: &Attributes, reason: &str) -> ApiError {
    let msg = rbac::forbidden_message(user, a, reason);
    match &a.resource {
        Some(r) => ApiError::forbidden(&r.group, &r.resource, &r.name, &msg),
        None => ApiError::new(403, "Forbidden", format!("forbidden: {msg}")),
    }
}

fn rbac_verb(method: &Method, r: &ResourceRoute, query: &HashMap<String, String>) -> &'static str {
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    match (method.as_str(), r.name.is_some()) {
        ("GET", false) if watch => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        _ => "get",
    }
}

/// The RBAC authorizer's 403 for `verb` on this request's resource.
fn forbidden(user: &str, verb: &str, route: &Route, path: &str) -> ApiError {
    let Route::Resource(r) = route else {
        return ApiError::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot get path \"{path}\""),
        );
    };
    let mut resource = r.def.plural.to_string();
    if let Some(sub) = &r.sub {
        resource = format!("{resource}/{sub}");
    }
    let scope = match &r.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_string(),
    };
    let reason = format!(
        "User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
        r.def.group
    );
    ApiError::forbidden(
        r.def.group,
        r.def.plural,
        r.name.as_deref().unwrap_or_default(),
        &reason,
    )
}

/// The verb a deny rule refuses this request for, if any. A server-side apply that would
/// create the object also needs `create`, as the real patch handler checks.
fn denied_verb(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    r: &ResourceRoute,
    query: &HashMap<String, String>,
) -> Option<&'static str> {
    let verb = rbac_verb(method, r, query);
    let resource = match &r.sub {
        Some(s) => format!("{}/{s}", r.def.plural),
        None => r.def.plural.to_string(),
    };
    let is_apply = header_str(headers, header::CONTENT_TYPE).starts_with("application/apply-patch");
    // Looked up before the fault state is locked: never hold both locks.
    let creates = verb == "patch" && is_apply && r.sub.is_none() && !exists(shared, r);
    let f = shared.faults();
    if f.is_denied(verb, &resource) || (verb == "deletecollection" && f.is_denied("delete", &resource)) {
        return Some(verb);
    }
    (creates && f.is_denied("create", &resource)).then_some("create")
}

fn exists(shared: &Shared, r: &ResourceRoute) -> bool {
    let name = r.name.as_deref().unwrap_or_default();
    let ns = r.namespace.as_deref().unwrap_or_default();
    shared.store().get(r.def, ns, name).is_some()
}

/// `POST .../serviceaccounts/<name>/token`, which needs the token table.
fn is_token_request(method: &Method, r: &ResourceRoute) -> bool {
    *method == Method::POST
        && r.sub.as_deref() == Some("token")
        && r.def.group.is_empty()
        && r.def.plural == "serviceaccounts"
        && r.name.is_some()
}

fn token_request(
    shared: &Shared,
    r: &ResourceRoute,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Response<Body> {
    let body = match crate::authn::decode_token_request(content_type, body) {
        Ok(v) => v,
        Err(e) => return error_response(&e),
    };
    let ns = r.namespace.as_deref().unwrap_or_default();
    let name = r.name.as_deref().unwrap_or_default();
    let dry_run = query.get("dryRun").is_some_and(|v| v == "All");
    match crate::authn::token_request(shared, ns, name, &body, dry_run) {
        Ok(v) => json_response(201, &v),
        Err(e) => error_response(&e),
    }
}

fn resource(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    r: &ResourceRoute,
    query: &HashMap<String, String>,
    body: &[u8],
) -> Response<Body> {
    if is_token_request(method, r) {
        return token_request(shared, r, query, header_str(headers, header::CONTENT_TYPE), body);
    }
    let warnings = RefCell::new(Vec::new());
    let req = ApiRequest {
        method,
        route: r,
        query,
        accept: header_str(headers, header::ACCEPT),
        content_type: header_str(headers, header::CONTENT_TYPE),
        user_agent: header_str(headers, header::USER_AGENT),
        body,
        gateway_api: shared.gateway_api(),
        warnings: &warnings,
    };
    let mut resp = match api::handle(&shared.store, &req) {
        Ok(Reply::Json(code, v)) => json_response(code, &v),
        Ok(Reply::Bytes(code, b)) => build(code, "application/json", full(b)),
        Ok(Reply::Watch(rx)) => watch_response(rx),
        Ok(Reply::Text(code, text)) => build(code, "text/plain", full(text)),
        Err(e) => error_response(&e),
    };
    for w in warnings.into_inner() {
        // RFC 7234 warn-code 299 with agent "-", as the apiserver's warning recorder.
        let quoted = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = quoted.parse() {
            resp.headers_mut().append(header::WARNING, v);
        }
    }
    resp
}

fn discovery_response(shared: &Shared, route: &Route) -> Response<Body> {
    let gw = shared.gateway_api();
    let v = match route {
        Route::Version => discovery::version(),
        Route::CoreVersions => discovery::core_versions(&shared.addr.to_string()),
        Route::Groups => discovery::groups(gw, &reviews::GROUPS),
        Route::Group(g) => discovery::group(g),
        Route::GroupVersion(g, v) => discovery::resource_list(g, v),
        Route::OpenApiRoot => openapi::root(gw),
        Route::OpenApiDoc(g, v) => return build(200, "application/json", full(openapi::document(g, v))),
        Route::Resource(_) | Route::NotFound | Route::OpenApiV2 => {
            return error_response(&ApiError::path_not_found())
        }
    };
    json_response(200, &v)
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed_unsync()
}

fn build(code: u16, content_type: &str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    // `to_vec` writes bytes straight; `to_string` goes through `fmt::Write`, slower.
    build(
        code,
        "application/json",
        full(serde_json::to_vec(v).unwrap_or_default()),
    )
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut resp = if e.is_plain_text() {
        build(
            e.code,
            "text/plain; charset=utf-8",
            full(format!("{}\n", e.message)),
        )
    } else {
        build(e.code, "application/json", full(e.to_json().to_string()))
    };
    if let Some(secs) = e.retry_after {
        if let Ok(v) = secs.to_string().parse() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

fn watch_response(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Response<Body> {
    let s = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok(Frame::data(b)), rx))
    });
    build(200, "application/json", StreamBody::new(s).boxed_unsync())
}
