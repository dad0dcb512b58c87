//! A resource request as the handlers see it, decoded from HTTP by the server, and what
//! they answer: shared by the resource handlers, the CRD handler and pod logs.

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;
use http::Method;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::apply;
use crate::fields::Scope;
use crate::route::ResourceRoute;

/// What the server answers.
pub enum Reply {
    Json(u16, Value),
    /// JSON already serialised (a list, written straight from the store).
    Bytes(u16, Bytes),
    /// A watch stream: one JSON event per chunk.
    Watch(mpsc::Receiver<Bytes>),
    /// `text/plain` (pod logs).
    Text(u16, String),
}

/// A resource request, decoded from HTTP.
pub struct ApiRequest<'a> {
    pub method: &'a Method,
    pub route: &'a ResourceRoute,
    pub query: &'a HashMap<String, String>,
    pub accept: &'a str,
    pub content_type: &'a str,
    pub user_agent: &'a str,
    pub body: &'a [u8],
    /// Whether the Gateway API CRDs are installed (they are listed as CRDs then).
    pub gateway_api: bool,
    /// `Warning` headers for the response (`299 - "unknown field \"spec.foo\""`).
    pub warnings: &'a RefCell<Vec<String>>,
}

impl ApiRequest<'_> {
    /// A query parameter; "" when absent.
    pub fn q(&self, k: &str) -> &str {
        self.query.get(k).map(String::as_str).unwrap_or_default()
    }
    pub fn is_watch(&self) -> bool {
        matches!(self.q("watch"), "true" | "1")
    }
    pub fn dry_run(&self) -> bool {
        self.q("dryRun") == "All"
    }
    pub fn ns(&self) -> &str {
        self.route.namespace.as_deref().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.route.name.as_deref().unwrap_or_default()
    }
    pub fn manager(&self) -> String {
        match self.q("fieldManager") {
            "" => apply::manager_from_user_agent(self.user_agent),
            m => m.to_string(),
        }
    }
    pub fn scope(&self) -> Scope {
        if self.route.sub.as_deref() == Some("status") {
            Scope::Status
        } else {
            Scope::Main {
                status_is_sub: self.route.def.status,
            }
        }
    }
}
