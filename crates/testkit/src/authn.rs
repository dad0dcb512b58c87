//! Service-account tokens at the API: authenticating them, TokenRequest, and the token
//! controller's filling of legacy token Secrets. The tokens themselves and their clock
//! live in [`crate::tokens`].
//!
//! Follows the TokenRequest API (authentication.k8s.io/v1, Kubernetes API reference
//! "TokenRequest"; pkg/registry/core/serviceaccount/storage/token.go) and the
//! service-account token authenticator (pkg/serviceaccount/jwt.go, claims.go, legacy.go).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::cluster::Shared;
use crate::meta;
use crate::registry;
use crate::schema::FieldError;
use crate::status::ApiError;
use crate::tls::Identity;
use crate::tokens::{username, Authn, Binding, API_AUDIENCE};

/// `ValidateTokenRequest` (pkg/apis/authentication/validation): 10 minutes to 2^32 s.
const MIN_EXPIRATION: i64 = 600;
const MAX_EXPIRATION: i64 = 1 << 32;
/// `SetDefaults_TokenRequestSpec`: one hour.
const DEFAULT_EXPIRATION: i64 = 3600;
/// How long past its `exp` a bound token still authenticates: the service-account
/// validator (pkg/serviceaccount/claims.go) checks the claims with go-jose's
/// `Claims.Validate`, which allows `jwt.DefaultLeeway`, one minute (expired only once
/// `now - leeway` is after `exp`).
pub(crate) const EXPIRY_LEEWAY: i64 = 60;

/// Authenticates a bearer token: the cluster's admin token (a `system:masters` member,
/// as kubeadm's admin), else a service-account token that is still valid. None is a 401.
///
/// A bound token must be unexpired on the test clock, give or take the validator's
/// one-minute leeway ([`EXPIRY_LEEWAY`]), and carry the API audience (the
/// authenticator's audience check); both kinds need their ServiceAccount to exist with
/// the uid it had at issue, a legacy one also its Secret (`validator.Validate` in
/// pkg/serviceaccount/claims.go and legacy.go). Service accounts authenticate with
/// groups `system:serviceaccounts` and `system:serviceaccounts:<ns>`.
pub(crate) fn authenticate(shared: &Shared, token: &str) -> Option<Identity> {
    authenticate_for(shared, token, &[API_AUDIENCE.to_string()])
}

/// [`authenticate`] for a TokenReview's `audiences`: a bound token must carry one of
/// them; a legacy token has none and counts as issued for the API audience
/// (`authenticator.WrapAudienceAgnosticToken`).
pub(crate) fn authenticate_for(shared: &Shared, token: &str, wanted: &[String]) -> Option<Identity> {
    if token == shared.token {
        return Some(Identity {
            user: shared.user.clone(),
            groups: vec![crate::rbac::MASTERS.to_string()],
        });
    }
    // Copied out: the token table's lock is never held while taking the store's.
    let (issued, now) = {
        let a = shared.authn();
        (a.issued(token).cloned()?, a.now())
    };
    match &issued.binding {
        Binding::Bound { expires, audiences } => {
            if now > *expires + EXPIRY_LEEWAY || !audiences.iter().any(|a| wanted.contains(a)) {
                return None;
            }
        }
        Binding::Legacy { .. } if !wanted.iter().any(|a| a == API_AUDIENCE) => return None,
        Binding::Legacy { .. } => {}
    }
    let st = shared.store();
    let ns = issued.namespace.as_str();
    let sa = registry::find("", "v1", "serviceaccounts").and_then(|d| st.get(d, ns, &issued.name))?;
    if sa.obj.pointer("/metadata/uid").and_then(Value::as_str) != Some(issued.uid.as_str()) {
        return None;
    }
    if let Binding::Legacy { secret } = &issued.binding {
        registry::find("", "v1", "secrets").and_then(|d| st.get(d, ns, secret))?;
    }
    Some(Identity {
        user: username(ns, &issued.name),
        groups: vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
        ],
    })
}

/// `POST .../namespaces/<ns>/serviceaccounts/<name>/token`: a bound token for an
/// existing ServiceAccount (404 otherwise). `spec.expirationSeconds` defaults to 3600
/// and must be within [600, 2^32] (422 otherwise, worded as `ValidateTokenRequest`);
/// `spec.audiences` defaults to the API audience. `spec.boundObjectRef` is accepted
/// but not enforced.
pub(crate) fn token_request(
    shared: &Shared,
    ns: &str,
    name: &str,
    body: &Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let uid = {
        let st = shared.store();
        let def = registry::find("", "v1", "serviceaccounts")
            .ok_or_else(|| ApiError::new(500, "InternalError", "no serviceaccounts resource"))?;
        let sa = st
            .get(def, ns, name)
            .ok_or_else(|| ApiError::not_found(def, name))?;
        meta::uid_of(&sa.obj).to_string()
    };
    let seconds = body
        .pointer("/spec/expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_EXPIRATION);
    validate_expiration(body, seconds)?;
    let audiences: Vec<String> = body
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![API_AUDIENCE.to_string()]);
    let mut authn = shared.authn();
    let expires = authn.now() + seconds;
    let token = if dry_run {
        String::new()
    } else {
        authn.issue_bound(ns, name, &uid, expires, audiences.clone())
    };
    let mut metadata = body.get("metadata").cloned().unwrap_or(json!({}));
    metadata["creationTimestamp"] = Value::Null;
    let bound = body
        .pointer("/spec/boundObjectRef")
        .cloned()
        .unwrap_or(Value::Null);
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": metadata,
        "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": bound},
        "status": {"token": token, "expirationTimestamp": meta::rfc3339(expires)},
    }))
}

fn validate_expiration(body: &Value, seconds: i64) -> Result<(), ApiError> {
    let detail = if seconds < MIN_EXPIRATION {
        "may not specify a duration less than 10 minutes"
    } else if seconds > MAX_EXPIRATION {
        "may not specify a duration larger than 2^32 seconds"
    } else {
        return Ok(());
    };
    let cause = FieldError::invalid("spec.expirationSeconds", &json!(seconds), detail);
    let name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Err(ApiError::invalid(
        "TokenRequest",
        "authentication.k8s.io",
        name,
        vec![cause],
    ))
}

/// Fills a `kubernetes.io/service-account-token` Secret's data as the token
/// controller does; false if its ServiceAccount does not exist (yet).
pub(crate) fn fill_token_secret(
    st: &crate::store::Store,
    authn: &mut Authn,
    secret: &mut Value,
    ca_pem: &str,
) -> bool {
    let ns = crate::meta::namespace_of(secret).to_string();
    let secret_name = crate::meta::name_of(secret).to_string();
    let sa_name = secret
        .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(sa) = registry::find("", "v1", "serviceaccounts").and_then(|d| st.get(d, &ns, &sa_name)) else {
        return false;
    };
    let uid = meta::uid_of(&sa.obj);
    let token = authn.issue_legacy(&ns, &sa_name, uid, &secret_name);
    secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] = json!(uid);
    let data = secret
        .get("data")
        .cloned()
        .filter(Value::is_object)
        .unwrap_or(json!({}));
    let mut data = data;
    data["token"] = json!(B64.encode(token));
    data["ca.crt"] = json!(B64.encode(ca_pem));
    data["namespace"] = json!(B64.encode(&ns));
    secret["data"] = data;
    true
}

/// A TokenRequest body as JSON: JSON itself, or kubectl's protobuf.
pub(crate) fn decode_token_request(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    if content_type.contains("protobuf") {
        return crate::proto::token_request(body)
            .ok_or_else(|| ApiError::bad_request("unable to decode the TokenRequest protobuf body"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))
}
