//! A thin JSON client over one cluster's API server.
//!
//! We go below `kube::Api` to the raw `Client::send` because we need what its typed layer
//! drops: the `Retry-After` header of a 429, the Status body of every error, and a per-call
//! timeout. Objects travel as `serde_json::Value`: every object we write is built by us and
//! every object we read we only pick fields from.

use std::time::Duration;

use http::{Method, Request, StatusCode};
use kube::client::Body;
use serde_json::Value;

use super::list_items::ListItems;

/// How a request failed. Messages never contain request bodies (which may hold secrets).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status (a `metav1.Status` or plain text).
    #[error("{}", status_text(*code, reason, message))]
    Status {
        code: u16,
        reason: String,
        message: String,
        details: Option<Value>,
    },
    /// No HTTP answer: connection refused or reset, TLS or credential-plugin failure.
    #[error("cannot reach the API server: {0}")]
    Transport(String),
    /// The server's certificate did not verify against the kubeconfig's CA (found in the
    /// error chain as rustls' `InvalidCertificate`, not by its wording).
    #[error("cannot reach the API server: {0}")]
    TlsRejected(String),
    #[error("no answer within {}", crate::duration::display(*.0))]
    Timeout(Duration),
    #[error("unexpected response from the API server: {0}")]
    Decode(String),
}

fn status_text(code: u16, reason: &str, message: &str) -> String {
    let reason = if reason.is_empty() {
        StatusCode::from_u16(code)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
    } else {
        reason
    };
    if message.is_empty() {
        format!("{code} {reason}")
    } else {
        format!("{code} {reason}: {message}")
    }
}

impl ApiError {
    pub fn code(&self) -> Option<u16> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's certificate did not verify: retrying cannot help, the kubeconfig must change.
    pub fn is_tls_rejection(&self) -> bool {
        matches!(self, ApiError::TlsRejected(_))
    }

    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// Whether an idempotent request may be sent again: throttling, transient server errors
    /// and lost connections. 4xx input errors are never retried.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { code, .. } => matches!(code, 429 | 500 | 502 | 503 | 504),
            ApiError::Transport(_) => true,
            ApiError::TlsRejected(_) => false,
            // A server that did not answer within --timeout is not asked again: retrying
            // would multiply the wait, and one slow cluster must not hold up the others.
            ApiError::Timeout(_) => false,
            ApiError::Decode(_) => false,
        }
    }
}

/// Bounds on retrying transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// First backoff; doubled after every failure.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever `Retry-After` asks.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// A client for one cluster.
#[derive(Clone)]
pub struct ApiClient {
    client: kube::Client,
    timeout: Duration,
    retry: RetryPolicy,
}

/// A failed attempt, and how long the server asked us to wait before the next.
struct Attempt {
    error: ApiError,
    retry_after: Option<Duration>,
}

impl ApiClient {
    /// The kube client underneath, for what kube-runtime does better than single requests:
    /// watches and leader election.
    pub fn kube_client(&self) -> kube::Client {
        self.client.clone()
    }

    pub fn new(client: kube::Client, timeout: Duration, retry: RetryPolicy) -> Self {
        ApiClient {
            client,
            timeout,
            retry,
        }
    }

    /// GET an object; `None` when it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, ApiError> {
        match self.request(Method::GET, path, None, None).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// GET a path that must exist (discovery documents, `/version`).
    pub async fn get_required(&self, path: &str) -> Result<Value, ApiError> {
        self.request(Method::GET, path, None, None).await
    }

    /// LIST a collection, optionally filtered by a label selector. The items come without
    /// `metadata.managedFields` ([`super::list_items`]); GET an object to see them.
    pub async fn list(&self, path: &str, label_selector: Option<&str>) -> Result<Vec<Value>, ApiError> {
        self.list_items::<true>(path, label_selector).await
    }

    /// [`ApiClient::list`] without each item's `status`: for objects that are only compared
    /// with the ones we would write (verify's 10 000 peer Gateways of a fleet of 100).
    pub async fn list_without_status(&self, path: &str) -> Result<Vec<Value>, ApiError> {
        self.list_items::<false>(path, None).await
    }

    async fn list_items<const WITH_STATUS: bool>(
        &self,
        path: &str,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let path = match label_selector {
            Some(selector) => with_query(path, &[("labelSelector", selector)]),
            None => path.to_string(),
        };
        let bytes = self.request_bytes(Method::GET, &path, None, None).await?;
        if bytes.len() < DECODE_APART {
            return decode_list::<WITH_STATUS>(&bytes);
        }
        // Commands read many clusters from one task (`map_bounded` polls every cluster's
        // future in it), so decoding in place put every cluster's list on one core: at 100
        // clusters, verify decoded for 0.25s on one core while the other idled. As a task of
        // its own, each large list is decoded on whichever worker is free.
        match tokio::spawn(async move { decode_list::<WITH_STATUS>(&bytes) }).await {
            Ok(items) => items,
            Err(e) => Err(ApiError::Decode(format!("decoding the list failed: {e}"))),
        }
    }

    /// Server-side apply (an idempotent PATCH, so it is retried like a GET).
    ///
    /// The object the server answers with is not decoded: no caller reads it, and decoding
    /// it was most of the client's CPU in a fleet's link (9900 applies at 100 clusters).
    /// Errors still carry the server's Status, and `Retry-After` is still honoured.
    pub async fn apply(&self, path: &str, object: &Value, params: &ApplyParams<'_>) -> Result<(), ApiError> {
        let mut query = vec![("fieldManager", params.field_manager)];
        if params.force {
            query.push(("force", "true"));
        }
        if params.dry_run {
            query.push(("dryRun", "All"));
        }
        let body = serde_json::to_vec(object).map_err(|e| ApiError::Decode(e.to_string()))?;
        let path = with_query(path, &query);
        self.request_bytes(
            Method::PATCH,
            &path,
            Some(body),
            Some("application/apply-patch+yaml"),
        )
        .await
        .map(drop)
    }

    /// DELETE an object; `false` when it was already gone. Like [`ApiClient::apply`], the
    /// answer (the deleted object or a Status) is only decoded when it is an error.
    pub async fn delete(&self, path: &str, dry_run: bool) -> Result<bool, ApiError> {
        let path = if dry_run {
            with_query(path, &[("dryRun", "All")])
        } else {
            path.to_string()
        };
        match self.request_bytes(Method::DELETE, &path, None, None).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// POST to a collection or subresource. Not idempotent, so never retried.
    pub async fn create(&self, path: &str, object: &Value) -> Result<Value, ApiError> {
        let body = serde_json::to_vec(object).map_err(|e| ApiError::Decode(e.to_string()))?;
        let bytes = self
            .send_once(Method::POST, path, Some(body), Some("application/json"))
            .await
            .map_err(|a| a.error)?;
        decode(&bytes)
    }

    /// GET a plain-text answer, such as a Pod's log (`.../pods/<name>/log`).
    pub async fn get_text(&self, path: &str) -> Result<String, ApiError> {
        let bytes = self.request_bytes(Method::GET, path, None, None).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends an idempotent request, retrying transient failures with exponential backoff,
    /// honouring `Retry-After`, bounded by [`RetryPolicy`].
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<Value, ApiError> {
        decode(&self.request_bytes(method, path, body, content_type).await?)
    }

    /// [`ApiClient::request`] without decoding the answer.
    async fn request_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<bytes::Bytes, ApiError> {
        let mut delay = self.retry.base_delay;
        let mut attempt = 1;
        loop {
            match self
                .send_once(method.clone(), path, body.clone(), content_type)
                .await
            {
                Ok(value) => return Ok(value),
                Err(failed) if failed.error.is_transient() && attempt < self.retry.attempts => {
                    let wait = failed.retry_after.unwrap_or(delay).min(self.retry.max_delay);
                    tracing::debug!(%method, path = strip_query(path), attempt, error = %failed.error, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    attempt += 1;
                }
                Err(failed) => return Err(failed.error),
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<bytes::Bytes, Attempt> {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("Accept", "application/json");
        if let Some(content_type) = content_type {
            builder = builder.header("Content-Type", content_type);
        }
        let request = builder
            .body(Body::from(body.unwrap_or_default()))
            .map_err(|e| plain(ApiError::Decode(e.to_string())))?;
        let call = async {
            let response = self.client.send(request).await.map_err(|e| plain(transport(e)))?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let bytes = response
                .into_body()
                .collect_bytes()
                .await
                .map_err(|e| plain(transport(e)))?;
            tracing::debug!(%method, path = strip_query(path), status = status.as_u16(), "api call");
            if status.is_success() {
                Ok(bytes)
            } else {
                Err(Attempt {
                    error: status_error(status, &bytes),
                    retry_after,
                })
            }
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(plain(ApiError::Timeout(self.timeout))),
        }
    }
}

/// Options of a server-side apply.
pub struct ApplyParams<'a> {
    pub field_manager: &'a str,
    pub force: bool,
    pub dry_run: bool,
}

/// A list body this large (a few dozen objects) is decoded in a task of its own.
const DECODE_APART: usize = 64 * 1024;

fn decode_list<const WITH_STATUS: bool>(bytes: &[u8]) -> Result<Vec<Value>, ApiError> {
    let list: ListItems<WITH_STATUS> =
        serde_json::from_slice(bytes).map_err(|e| ApiError::Decode(e.to_string()))?;
    Ok(list.into_values())
}

fn decode(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::Decode(e.to_string()))
}

fn plain(error: ApiError) -> Attempt {
    Attempt {
        error,
        retry_after: None,
    }
}

fn transport(error: kube::Error) -> ApiError {
    let rejected = tls_rejected(&error);
    // kube's errors carry the whole chain (e.g. "connection refused"); keep it, it is what
    // tells the user which of DNS, TLS, or the credential plugin failed.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    match rejected {
        true => ApiError::TlsRejected(text),
        false => ApiError::Transport(text),
    }
}

/// Whether the chain holds rustls' verdict that the server certificate is invalid. An
/// `io::Error` hides the error it wraps from `source()` (it returns the wrapped error's own
/// source), so its inner error is looked at explicitly.
fn tls_rejected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(rustls::Error::InvalidCertificate(_)) = e.downcast_ref::<rustls::Error>() {
            return true;
        }
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if inner.is_some_and(|inner| tls_rejected(inner)) {
            return true;
        }
        current = e.source();
    }
    false
}

fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers.get("Retry-After")?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Decodes an error answer: a `metav1.Status` when the server sent one, else its text.
fn status_error(status: StatusCode, body: &[u8]) -> ApiError {
    let code = status.as_u16();
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.get("kind").and_then(Value::as_str) == Some("Status") => ApiError::Status {
            code,
            reason: v
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            message: v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            details: v.get("details").cloned(),
        },
        _ => ApiError::Status {
            code,
            reason: status.canonical_reason().unwrap_or_default().to_string(),
            message: String::from_utf8_lossy(body).trim().chars().take(300).collect(),
            details: None,
        },
    }
}

fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

/// Appends query parameters, percent-encoding their values.
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        query.append_pair(key, value);
    }
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{}", query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_status_bodies() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"gateways.gateway.networking.k8s.io \"x\" not found","reason":"NotFound","code":404}"#;
        let err = status_error(StatusCode::NOT_FOUND, body);
        assert!(err.is_not_found());
        assert_eq!(
            err.to_string(),
            "404 NotFound: gateways.gateway.networking.k8s.io \"x\" not found"
        );
        let err = status_error(
            StatusCode::TOO_MANY_REQUESTS,
            b"Too many requests, please try again later.\n",
        );
        assert!(err.is_transient());
        assert_eq!(
            err.to_string(),
            "429 Too Many Requests: Too many requests, please try again later."
        );
    }

    #[test]
    fn transient_errors() {
        let status = |code| ApiError::Status {
            code,
            reason: String::new(),
            message: String::new(),
            details: None,
        };
        for code in [429, 500, 502, 503, 504] {
            assert!(status(code).is_transient(), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert!(!status(code).is_transient(), "{code}");
        }
    }

    #[test]
    fn query_is_encoded() {
        assert_eq!(
            with_query("/api/v1/services", &[("labelSelector", "a in (x,y),!b")]),
            "/api/v1/services?labelSelector=a+in+%28x%2Cy%29%2C%21b"
        );
    }
}
