//! Maps a request path to what it addresses.

use crate::registry::{self, ResourceDef, GATEWAY_API_GROUP};

/// A resource request: `/apis/<g>/<v>[/namespaces/<ns>]/<plural>[/<name>[/<sub>]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRoute {
    pub def: &'static ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    GroupVersion(String, String),
    /// `/openapi/v2`
    OpenApiV2,
    /// `/openapi/v3`
    OpenApiRoot,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/<g>/<v>`
    OpenApiDoc(String, String),
    Resource(ResourceRoute),
    NotFound,
}

/// Parses a path; `gateway_api` false hides the Gateway API group.
pub fn parse(path: &str, gateway_api: bool) -> Route {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let visible = |g: &str| gateway_api || g != GATEWAY_API_GROUP;
    let known_gv = |g: &str, v: &str| visible(g) && registry::groups().contains(&(g, v));
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["api"] => Route::CoreVersions,
        ["apis"] => Route::Groups,
        ["apis", g] if registry::groups().iter().any(|(x, _)| x == g) && visible(g) => {
            Route::Group(g.to_string())
        }
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiRoot,
        ["openapi", "v3", "api", v] if known_gv("", v) => Route::OpenApiDoc(String::new(), v.to_string()),
        ["openapi", "v3", "apis", g, v] if known_gv(g, v) => Route::OpenApiDoc(g.to_string(), v.to_string()),
        ["api", v, rest @ ..] if known_gv("", v) => resource_or_gv("", v, rest),
        ["apis", g, v, rest @ ..] if known_gv(g, v) => resource_or_gv(g, v, rest),
        _ => Route::NotFound,
    }
}

fn resource_or_gv(group: &str, version: &str, rest: &[&str]) -> Route {
    if rest.is_empty() {
        return Route::GroupVersion(group.to_string(), version.to_string());
    }
    let find = |p: &str| registry::find(group, version, p);
    // `namespaces/<ns>/<plural>...` addresses a namespaced resource; otherwise the
    // first segment is the resource (cluster-scoped, or listed across namespaces).
    if let ["namespaces", ns, plural, tail @ ..] = rest {
        if let Some(def) = find(plural).filter(|d| d.namespaced) {
            return resource(def, Some(ns), tail);
        }
    }
    match rest {
        [plural, tail @ ..] => match find(plural) {
            Some(def) if tail.is_empty() || !def.namespaced => resource(def, None, tail),
            _ => Route::NotFound,
        },
        [] => Route::NotFound,
    }
}

fn resource(def: &'static ResourceDef, ns: Option<&str>, tail: &[&str]) -> Route {
    let (name, sub) = match tail {
        [] => (None, None),
        [n] => (Some(n.to_string()), None),
        [n, s] => (Some(n.to_string()), Some(s.to_string())),
        _ => return Route::NotFound,
    };
    Route::Resource(ResourceRoute {
        def,
        namespace: ns.map(str::to_string),
        name,
        sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(p: &str) -> ResourceRoute {
        match parse(p, true) {
            Route::Resource(r) => r,
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        let r = res("/api/v1/namespaces/x");
        assert_eq!(
            (r.def.plural, r.name.as_deref(), r.namespace),
            ("namespaces", Some("x"), None)
        );
        let r = res("/api/v1/namespaces/x/secrets/s");
        assert_eq!(
            (r.def.plural, r.name.as_deref(), r.namespace.as_deref()),
            ("secrets", Some("s"), Some("x"))
        );
        let r = res("/apis/gateway.networking.k8s.io/v1/namespaces/x/gateways/g/status");
        assert_eq!(r.sub.as_deref(), Some("status"));
        let r = res("/api/v1/namespaces/x/serviceaccounts/sa/token");
        assert_eq!(r.sub.as_deref(), Some("token"));
        assert_eq!(res("/api/v1/secrets").namespace, None);
        assert_eq!(
            parse("/apis/gateway.networking.k8s.io/v1", false),
            Route::NotFound
        );
        assert_eq!(parse("/apis/nope/v1", true), Route::NotFound);
    }
}
