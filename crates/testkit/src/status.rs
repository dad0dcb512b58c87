//! `metav1.Status` errors with the same reasons and messages as kube-apiserver.

use serde_json::{json, Value};

use crate::registry::ResourceDef;

/// An API error, rendered as a `Status` object (or plain text for 429, like the real
/// max-in-flight filter).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed to keep `Result<_, ApiError>` small.
    pub details: Option<Box<Value>>,
    /// Seconds for the `Retry-After` header.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// An error about the object `name` of `def`: `<resource> "<name>" <what>`, with
    /// details naming it.
    fn about(def: &ResourceDef, name: &str, code: u16, reason: &'static str, what: &str) -> Self {
        let message = format!("{} \"{name}\" {what}", def.qualified());
        Self::new(code, reason, message).with_details(name_details(def, name))
    }

    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self::about(def, name, 404, "NotFound", "not found")
    }

    pub fn namespace_not_found(ns: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
            .with_details(json!({"name": ns, "kind": "namespaces"}))
    }

    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self::about(def, name, 409, "AlreadyExists", "already exists")
    }

    pub fn rv_conflict(def: &ResourceDef, name: &str) -> Self {
        let msg = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            def.qualified()
        );
        Self::new(409, "Conflict", msg).with_details(name_details(def, name))
    }

    /// 422 with `details.causes`, like `errors.NewInvalid` (details.kind is the Kind).
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> Self {
        let msg = crate::schema::invalid_message(kind, group, name, &causes);
        let causes: Vec<Value> = causes.iter().map(Cause::to_json).collect();
        let mut details = json!({"name": name, "kind": kind, "causes": causes});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        Self::new(422, "Invalid", msg).with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// `errors.NewForbidden` with the RBAC authorizer's reason text.
    pub fn forbidden(def_group: &str, resource: &str, name: &str, reason: &str) -> Self {
        let qualified = if def_group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{def_group}")
        };
        let msg = if name.is_empty() {
            format!("{qualified} is forbidden: {reason}")
        } else {
            format!("{qualified} \"{name}\" is forbidden: {reason}")
        };
        let mut details = json!({"kind": resource});
        if !name.is_empty() {
            details["name"] = json!(name);
        }
        if !def_group.is_empty() {
            details["group"] = json!(def_group);
        }
        Self::new(403, "Forbidden", msg).with_details(details)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        );
        e.retry_after = Some(retry_after);
        e
    }

    /// An injected status code, with what the real server (or a proxy) says for it.
    pub fn for_code(code: u16) -> Self {
        match code {
            429 => Self::too_many_requests(1),
            500 => Self::new(500, "InternalError", "Internal error occurred: injected fault"),
            502 => Self::new(502, "", "Bad Gateway"),
            503 => Self::new(503, "ServiceUnavailable", "the server is currently unable to handle the request"),
            504 => Self::new(504, "Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
            401 => Self::unauthorized(),
            404 => Self::path_not_found(),
            409 => Self::new(409, "Conflict", "injected conflict"),
            _ => Self::new(code, "", format!("injected status {code}")),
        }
    }

    /// Plain-text responses: 429 (max-in-flight filter) and 502 (a proxy) carry no Status.
    pub fn is_plain_text(&self) -> bool {
        self.code == 429 || self.code == 502
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if self.reason.is_empty() {
            if let Some(m) = v.as_object_mut() {
                m.remove("reason");
            }
        }
        if let Some(d) = &self.details {
            v["details"] = (**d).clone();
        }
        v
    }
}

fn name_details(def: &ResourceDef, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": def.plural});
    if !def.group.is_empty() {
        d["group"] = json!(def.group);
    }
    d
}

/// One `details.causes` entry (the schema module words them).
pub use crate::schema::FieldError as Cause;
