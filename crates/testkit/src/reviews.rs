//! The review APIs: authorization.k8s.io/v1 (SelfSubjectAccessReview, for `kubectl auth
//! can-i`; SelfSubjectRulesReview, for `kubectl auth can-i --list`; SubjectAccessReview;
//! LocalSubjectAccessReview) and authentication.k8s.io/v1 (TokenReview;
//! SelfSubjectReview, for `kubectl auth whoami`), with their discovery documents.
//! Create-only, never stored, as in the API reference ("Authorization Resources",
//! "Authentication Resources").

use serde_json::{json, Value};

use crate::authn;
use crate::cluster::Shared;
use crate::rbac::{self, Attributes, ResourceAttrs, Subject};
use crate::status::ApiError;
use crate::tokens;

const AUTHZ: &str = "authorization.k8s.io";
const AUTHN: &str = "authentication.k8s.io";

/// (group, resource, kind, namespaced)
const RESOURCES: &[(&str, &str, &str, bool)] = &[
    (
        AUTHZ,
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        true,
    ),
    (
        AUTHZ,
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        false,
    ),
    (AUTHZ, "selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
    (AUTHZ, "subjectaccessreviews", "SubjectAccessReview", false),
    (AUTHN, "selfsubjectreviews", "SelfSubjectReview", false),
    (AUTHN, "tokenreviews", "TokenReview", false),
];

/// The groups served here, for `/apis`.
pub const GROUPS: [&str; 2] = [AUTHN, AUTHZ];

/// A path under `/apis/<review group>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    Group(&'static str),
    ResourceList(&'static str),
    Create {
        group: &'static str,
        resource: &'static str,
        kind: &'static str,
        namespace: String,
    },
    NotFound,
}

pub fn parse(path: &str) -> Option<Review> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, rest) = match segs.as_slice() {
        ["apis", g, rest @ ..] => (GROUPS.into_iter().find(|x| x == g)?, rest),
        _ => return None,
    };
    let find = |plural: &str, namespaced: bool| {
        RESOURCES
            .iter()
            .find(|(g, p, _, n)| *g == group && *p == plural && *n == namespaced)
    };
    Some(match rest {
        [] => Review::Group(group),
        ["v1"] => Review::ResourceList(group),
        ["v1", plural] => match find(plural, false) {
            Some((_, resource, kind, _)) => Review::Create {
                group,
                resource,
                kind,
                namespace: String::new(),
            },
            None => Review::NotFound,
        },
        ["v1", "namespaces", ns, plural] => match find(plural, true) {
            Some((_, resource, kind, _)) => Review::Create {
                group,
                resource,
                kind,
                namespace: ns.to_string(),
            },
            None => Review::NotFound,
        },
        _ => Review::NotFound,
    })
}

/// What the authorizer is asked for this request (`RequestInfo`): a create of the
/// review resource, or a non-resource path for the discovery documents.
pub fn attributes(review: &Review, verb: &str, path: &str) -> Attributes {
    match review {
        Review::Create {
            group,
            resource,
            namespace,
            ..
        } => Attributes {
            verb: verb.to_string(),
            resource: Some(ResourceAttrs {
                group: group.to_string(),
                resource: resource.to_string(),
                namespace: namespace.clone(),
                ..Default::default()
            }),
            path: path.to_string(),
        },
        _ => Attributes {
            verb: verb.to_string(),
            resource: None,
            path: path.to_string(),
        },
    }
}

fn group_version(group: &str) -> Value {
    json!({"groupVersion": format!("{group}/v1"), "version": "v1"})
}

pub fn group_json(group: &str) -> Value {
    json!({"name": group, "versions": [group_version(group)], "preferredVersion": group_version(group)})
}

fn resource_list(group: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|(g, ..)| *g == group)
        .map(|(_, plural, kind, namespaced)| {
            json!({"name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced, "kind": kind, "verbs": ["create"]})
        })
        .collect();
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": format!("{group}/v1"), "resources": resources})
}

/// Answers a review request from `who` (already authorized for it).
pub fn handle(
    shared: &Shared,
    review: &Review,
    method: &str,
    content_type: &str,
    who: &Subject,
    body: &[u8],
) -> Result<(u16, Value), ApiError> {
    let (group, kind, namespace) = match review {
        Review::Group(g) => {
            let mut v = group_json(g);
            v["kind"] = json!("APIGroup");
            v["apiVersion"] = json!("v1");
            return Ok((200, v));
        }
        Review::ResourceList(g) => return Ok((200, resource_list(g))),
        Review::NotFound => return Err(ApiError::path_not_found()),
        Review::Create {
            group,
            kind,
            namespace,
            ..
        } => (*group, *kind, namespace.as_str()),
    };
    if method != "POST" {
        return Err(ApiError::method_not_allowed());
    }
    let mut obj = decode(kind, content_type, body)?;
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format",
        ));
    }
    obj["apiVersion"] = json!(format!("{group}/v1"));
    obj["kind"] = json!(kind);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    let status = match kind {
        "SelfSubjectAccessReview" => access_status(shared, who, &obj["spec"], None)?,
        "SubjectAccessReview" => access_status(shared, &named_subject(&obj["spec"]), &obj["spec"], None)?,
        "LocalSubjectAccessReview" => access_status(
            shared,
            &named_subject(&obj["spec"]),
            &obj["spec"],
            Some(namespace),
        )?,
        "SelfSubjectRulesReview" => rules_status(shared, who, &obj["spec"]),
        "SelfSubjectReview" => json!({"userInfo": {"username": who.user, "groups": who.groups}}),
        _ => token_review_status(shared, &obj["spec"]),
    };
    obj["status"] = status;
    Ok((201, obj))
}

/// A review body: JSON, or the protobuf kubectl posts ([`crate::proto`]).
fn decode(kind: &str, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if content_type.contains("protobuf") {
        return crate::proto::review(kind, body)
            .ok_or_else(|| ApiError::bad_request(format!("unable to decode the {kind} protobuf body")));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}")))
}

/// A SubjectAccessReview's user and groups, taken as given (no groups are added).
fn named_subject(spec: &Value) -> Subject {
    Subject {
        user: spec
            .get("user")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        groups: spec
            .get("groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// `status` of the access reviews: `allowed`, and `reason` when the authorizer gave
/// one. A LocalSubjectAccessReview's namespace must be the URL's.
fn access_status(
    shared: &Shared,
    who: &Subject,
    spec: &Value,
    local_ns: Option<&str>,
) -> Result<Value, ApiError> {
    let attrs = if let Some(ra) = spec.get("resourceAttributes").filter(|v| v.is_object()) {
        let namespace = str_of(ra, "namespace").to_string();
        if local_ns.is_some_and(|ns| ns != namespace && !namespace.is_empty()) {
            let cause = crate::schema::FieldError::invalid(
                "spec.resourceAttributes.namespace",
                &json!(namespace),
                "must match metadata.namespace",
            );
            return Err(ApiError::invalid(
                "LocalSubjectAccessReview",
                AUTHZ,
                "",
                vec![cause],
            ));
        }
        Attributes {
            verb: str_of(ra, "verb").to_string(),
            resource: Some(ResourceAttrs {
                group: str_of(ra, "group").to_string(),
                resource: str_of(ra, "resource").to_string(),
                subresource: str_of(ra, "subresource").to_string(),
                namespace: local_ns.map_or(namespace, str::to_string),
                name: str_of(ra, "name").to_string(),
            }),
            path: String::new(),
        }
    } else if let Some(nra) = spec.get("nonResourceAttributes").filter(|v| v.is_object()) {
        Attributes {
            verb: str_of(nra, "verb").to_string(),
            resource: None,
            path: str_of(nra, "path").to_string(),
        }
    } else {
        let cause = crate::schema::FieldError::invalid(
            "spec.resourceAttributes",
            &Value::Null,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        );
        return Err(ApiError::invalid("SubjectAccessReview", AUTHZ, "", vec![cause]));
    };
    let d = rbac::authorize(&shared.store(), who, &attrs);
    let mut status = json!({"allowed": d.allowed});
    if !d.reason.is_empty() {
        status["reason"] = json!(d.reason);
    }
    Ok(status)
}

/// `status` of a SelfSubjectRulesReview: every rule granted in `spec.namespace`.
fn rules_status(shared: &Shared, who: &Subject, spec: &Value) -> Value {
    let (rules, errors) = rbac::rules_for(&shared.store(), who, str_of(spec, "namespace"));
    let (res, non): (Vec<_>, Vec<_>) = rules.iter().partition(|r| r.non_resource_urls.is_empty());
    let res: Vec<Value> = res
        .iter()
        .map(|r| {
            let mut v = r.to_json();
            v["apiGroups"] = json!(r.api_groups);
            v["resources"] = json!(r.resources);
            v
        })
        .collect();
    let non: Vec<Value> = non.iter().map(|r| r.to_json()).collect();
    let mut status = json!({"resourceRules": res, "nonResourceRules": non, "incomplete": !errors.is_empty()});
    if !errors.is_empty() {
        status["evaluationError"] = json!(errors.join(", "));
    }
    status
}

/// `status` of a TokenReview: who the token is, for `spec.audiences` (default: the API
/// audience).
fn token_review_status(shared: &Shared, spec: &Value) -> Value {
    let mut audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if audiences.is_empty() {
        audiences.push(tokens::API_AUDIENCE.to_string());
    }
    match authn::authenticate_for(shared, str_of(spec, "token"), &audiences) {
        Some(id) => {
            let mut groups = id.groups;
            groups.push(rbac::AUTHENTICATED.to_string());
            json!({"authenticated": true, "user": {"username": id.user, "groups": groups}, "audiences": audiences})
        }
        None => {
            json!({"user": {}, "error": "[invalid bearer token, service account token has been invalidated]"})
        }
    }
}
