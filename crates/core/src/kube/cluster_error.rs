//! A failure in one cluster, kept typed until a report renders it: the API error (or failed
//! write) stays inspectable — is it transient, was it a 403 — while its text says which
//! cluster, what the server said and what to do, the same words as before.

use std::fmt;

use serde::{Serialize, Serializer};

use super::api::ApiError;
use super::apply::ApplyError;

/// What went wrong in a cluster.
#[derive(Debug, Clone)]
pub enum Cause {
    /// The API server answered with an error, or did not answer.
    Api(ApiError),
    /// Writing an object failed (a field-manager conflict, or the API error of the write).
    Write(ApplyError),
    /// The cluster answered, but does not hold what we need (no address yet, a missing
    /// CRD...): the message says so and how to fix it.
    State(String),
}

/// A failure in one cluster.
#[derive(Debug, Clone)]
pub struct ClusterError {
    pub cluster: String,
    /// The kubeconfig context and server URL, for the hint; empty when not known.
    pub(crate) context: String,
    pub(crate) server: String,
    /// Boxed: an error travels in every `Result` of the cluster-facing code.
    pub cause: Box<Cause>,
}

impl ClusterError {
    /// A failure that is not the API's, for cluster `cluster` (its message names it).
    pub fn state(cluster: &str, message: impl Into<String>) -> Self {
        ClusterError {
            cluster: cluster.to_string(),
            context: String::new(),
            server: String::new(),
            cause: Box::new(Cause::State(message.into())),
        }
    }

    /// The API error underneath, if the API server said no (or nothing).
    pub fn api_error(&self) -> Option<&ApiError> {
        match self.cause.as_ref() {
            Cause::Api(e) => Some(e),
            Cause::Write(e) => e.api_error(),
            Cause::State(_) => None,
        }
    }

    /// Whether trying again later may help: throttling, server errors, lost connections.
    pub fn is_transient(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_transient)
    }

    fn api_text(&self, error: &ApiError) -> String {
        format!(
            "cluster {} ({}): {error}{}",
            self.cluster,
            self.server,
            self.hint(error)
        )
    }

    fn hint(&self, error: &ApiError) -> String {
        let context = &self.context;
        match error.code() {
            Some(401) => format!(
                "; the credentials of context {context:?} were rejected: log in again or refresh the token"
            ),
            _ if error.is_tls_rejection() => format!(
                "; the server's certificate does not verify against the certificate-authority of context {context:?} in the kubeconfig: fix the kubeconfig (TLS verification stays on)"
            ),
            Some(403) => "; ask your cluster admin for this permission (check with `kubectl auth can-i`)".into(),
            _ if matches!(error, ApiError::Transport(_) | ApiError::Timeout(_)) => {
                format!("; check that the cluster is up and reachable: `kubectl --context {context} get ns`")
            }
            _ => String::new(),
        }
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause.as_ref() {
            Cause::Api(error) => f.write_str(&self.api_text(error)),
            Cause::Write(ApplyError::Api { object, source }) => {
                write!(f, "{object}: {}", self.api_text(source))
            }
            Cause::Write(other) => write!(f, "cluster {}: {other}", self.cluster),
            Cause::State(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClusterError {}

/// Reports carry the text.
impl Serialize for ClusterError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(cause: Cause) -> ClusterError {
        ClusterError {
            cluster: "b".into(),
            context: "kind-b".into(),
            server: "https://b:6443".into(),
            cause: Box::new(cause),
        }
    }

    #[test]
    fn the_text_names_the_cluster_and_the_fix_and_the_type_stays() {
        let refused = error(Cause::Api(ApiError::Transport("connection refused".into())));
        assert_eq!(
            refused.to_string(),
            "cluster b (https://b:6443): cannot reach the API server: connection refused; check that the cluster is up and reachable: `kubectl --context kind-b get ns`"
        );
        assert!(refused.is_transient());
        let forbidden = error(Cause::Api(ApiError::Status {
            code: 403,
            reason: "Forbidden".into(),
            message: "no".into(),
            details: None,
        }));
        assert!(!forbidden.is_transient());
        assert_eq!(forbidden.api_error().and_then(ApiError::code), Some(403));
        assert!(forbidden
            .to_string()
            .ends_with("(check with `kubectl auth can-i`)"));
        let state = ClusterError::state("b", "cluster b has no east-west Gateway");
        assert_eq!(state.to_string(), "cluster b has no east-west Gateway");
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            "cluster b has no east-west Gateway"
        );
    }
}
