//! Injected faults, request counts and the request log.

use std::time::Duration;

/// What a matching fault does to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this HTTP status (a `Status` body, or plain text for 429).
    Status { code: u16, retry_after: Option<u64> },
    /// Close the connection without answering (the client sees a reset / EOF).
    Reset,
    /// Hold the request this long, then serve it normally.
    Delay(Duration),
}

/// A fault rule: `Fault::status(429).retry_after(1).times(2).method("PATCH").path_contains("gateways")`.
/// Without `times`, it fires forever.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub action: FaultAction,
    pub method: Option<String>,
    pub path_contains: Option<String>,
    pub times: Option<u32>,
}

impl Fault {
    fn new(action: FaultAction) -> Self {
        Fault {
            action,
            method: None,
            path_contains: None,
            times: None,
        }
    }

    /// Answer with `code` (429 gets `Retry-After: 1` unless [`Fault::retry_after`] says
    /// otherwise; 403 gets the RBAC message for the request).
    pub fn status(code: u16) -> Self {
        let retry_after = (code == 429).then_some(1);
        Self::new(FaultAction::Status { code, retry_after })
    }

    pub fn reset() -> Self {
        Self::new(FaultAction::Reset)
    }

    pub fn delay(d: Duration) -> Self {
        Self::new(FaultAction::Delay(d))
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        if let FaultAction::Status { retry_after, .. } = &mut self.action {
            *retry_after = Some(secs);
        }
        self
    }

    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    pub fn forever(mut self) -> Self {
        self.times = None;
        self
    }

    /// HTTP method, case-insensitive (`GET`, `PATCH`, ...).
    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_ascii_uppercase());
        self
    }

    /// Substring of the path with query (`gateways`, `/api/v1/namespaces/x`).
    pub fn path_contains(mut self, s: &str) -> Self {
        self.path_contains = Some(s.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.times != Some(0)
            && self.method.as_deref().is_none_or(|m| m == method)
            && self.path_contains.as_deref().is_none_or(|p| path.contains(p))
    }
}

/// The API verb of a request, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    /// Discovery, OpenAPI, /version and anything else.
    Other,
}

impl Verb {
    /// The RBAC verb name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::Other => "other",
        }
    }
}

/// Requests received, by verb (faulted and rejected requests count too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub get: u64,
    pub list: u64,
    pub watch: u64,
    pub create: u64,
    pub update: u64,
    pub patch: u64,
    pub delete: u64,
    pub other: u64,
}

impl RequestCounts {
    /// create + update + patch + delete.
    pub fn writes(&self) -> u64 {
        self.create + self.update + self.patch + self.delete
    }

    pub fn total(&self) -> u64 {
        self.writes() + self.get + self.list + self.watch + self.other
    }

    fn add(&mut self, v: Verb) {
        let slot = match v {
            Verb::Get => &mut self.get,
            Verb::List => &mut self.list,
            Verb::Watch => &mut self.watch,
            Verb::Create => &mut self.create,
            Verb::Update => &mut self.update,
            Verb::Patch => &mut self.patch,
            Verb::Delete => &mut self.delete,
            Verb::Other => &mut self.other,
        };
        *slot += 1;
    }
}

/// One served request. `status` is 0 when the connection was reset instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub verb: Verb,
    pub status: u16,
    /// Who the request authenticated as (bearer token or client certificate); empty
    /// when it did not (401).
    pub user: String,
    /// The authenticated groups: a client certificate's O, `system:masters` for the admin
    /// token, `system:serviceaccounts[:<ns>]` for a service account (never
    /// `system:authenticated`).
    pub groups: Vec<String>,
    /// The HTTP version the request came over: `HTTP/1.1` or `HTTP/2.0`.
    pub http_version: String,
}

/// Per-cluster fault rules and observations.
#[derive(Debug, Default)]
pub struct FaultState {
    pub rules: Vec<Fault>,
    /// (verb, resource) pairs answered with 403.
    pub denied: Vec<(String, String)>,
    pub counts: RequestCounts,
    pub log: Vec<LoggedRequest>,
}

impl FaultState {
    /// The first matching rule's action, consuming one of its `times`.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let rule = self.rules.iter_mut().find(|r| r.matches(method, path))?;
        if let Some(n) = rule.times.as_mut() {
            *n -= 1;
        }
        Some(rule.action.clone())
    }

    pub fn is_denied(&self, verb: &str, resource: &str) -> bool {
        self.denied
            .iter()
            .any(|(v, r)| (v == verb || v == "*") && (r == resource || r == "*"))
    }

    /// Counts and logs one request.
    pub fn record(&mut self, request: LoggedRequest) {
        self.counts.add(request.verb);
        self.log.push(request);
    }
}
