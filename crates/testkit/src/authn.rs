//! Service-account tokens: issuing them (the token controller's legacy Secret tokens and
//! TokenRequest's bound tokens) and authenticating them, against a clock tests can
//! advance ([`crate::FakeCluster::advance_clock`]).
//!
//! Follows the TokenRequest API (authentication.k8s.io/v1, Kubernetes API reference
//! "TokenRequest"; pkg/registry/core/serviceaccount/storage/token.go) and the
//! service-account token authenticator (pkg/serviceaccount/jwt.go, claims.go, legacy.go).

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::cluster::Shared;
use crate::meta;
use crate::registry;
use crate::schema::FieldError;
use crate::status::ApiError;
use crate::tls::Identity;

/// The issuer kubeadm gives `--service-account-issuer`; `--api-audiences` defaults to
/// it, so it is the one audience the API server accepts.
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

/// `ValidateTokenRequest` (pkg/apis/authentication/validation): 10 minutes to 2^32 s.
const MIN_EXPIRATION: i64 = 600;
const MAX_EXPIRATION: i64 = 1 << 32;
/// `SetDefaults_TokenRequestSpec`: one hour.
const DEFAULT_EXPIRATION: i64 = 3600;

#[derive(Debug, Clone)]
enum Binding {
    /// A TokenRequest token: valid until `expires` (test clock), for `audiences`.
    Bound { expires: i64, audiences: Vec<String> },
    /// A token-controller token, valid while its Secret exists.
    Legacy { secret: String },
}

/// Who a token was issued to.
#[derive(Debug, Clone)]
struct Issued {
    namespace: String,
    name: String,
    /// The ServiceAccount's uid at issue: a recreated account does not inherit tokens.
    uid: String,
    binding: Binding,
}

/// A cluster's issued tokens and its clock offset.
#[derive(Debug, Default)]
pub struct Authn {
    offset: i64,
    tokens: HashMap<String, Issued>,
}

impl Authn {
    /// The cluster's clock for tokens: wall time plus what tests advanced it by.
    pub fn now(&self) -> i64 {
        meta::now_secs() + self.offset
    }

    pub fn advance(&mut self, by: Duration) {
        self.offset += i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
    }

    /// A legacy token for the `kubernetes.io/service-account-token` Secret `secret`.
    pub fn issue_legacy(&mut self, ns: &str, name: &str, uid: &str, secret: &str) -> String {
        let claims = json!({
            "iss": "kubernetes/serviceaccount",
            "kubernetes.io/serviceaccount/namespace": ns,
            "kubernetes.io/serviceaccount/secret.name": secret,
            "kubernetes.io/serviceaccount/service-account.name": name,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
            "sub": username(ns, name),
        });
        let binding = Binding::Legacy {
            secret: secret.to_string(),
        };
        self.insert(ns, name, uid, binding, &claims)
    }

    fn issue_bound(
        &mut self,
        ns: &str,
        name: &str,
        uid: &str,
        expires: i64,
        audiences: Vec<String>,
    ) -> String {
        let now = self.now();
        let claims = json!({
            "aud": audiences, "exp": expires, "iat": now, "nbf": now, "iss": API_AUDIENCE,
            "jti": meta::new_uid(),
            "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
            "sub": username(ns, name),
        });
        self.insert(ns, name, uid, Binding::Bound { expires, audiences }, &claims)
    }

    fn insert(&mut self, ns: &str, name: &str, uid: &str, binding: Binding, claims: &Value) -> String {
        let token = jwt(claims);
        let issued = Issued {
            namespace: ns.to_string(),
            name: name.to_string(),
            uid: uid.to_string(),
            binding,
        };
        self.tokens.insert(token.clone(), issued);
        token
    }

    /// The user a token was issued to, valid or not.
    pub fn user_of(&self, token: &str) -> Option<String> {
        self.tokens.get(token).map(|i| username(&i.namespace, &i.name))
    }
}

/// `system:serviceaccount:<ns>:<name>` (pkg/serviceaccount/util.go `MakeUsername`).
pub fn username(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

/// A JWT-shaped token (header.claims.signature) whose claims clients can read; the
/// signature is random, the server recognizes its own tokens by lookup.
fn jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"mesh-testkit"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{body}.{}", meta::random_hex(43))
}

/// Authenticates a bearer token: the cluster's admin token (a `system:masters` member,
/// as kubeadm's admin), else a service-account token that is still valid. None is a 401.
///
/// A bound token must be unexpired on the test clock and carry the API audience (the
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
        (a.tokens.get(token).cloned()?, a.now())
    };
    match &issued.binding {
        Binding::Bound { expires, audiences } => {
            if now >= *expires || !audiences.iter().any(|a| wanted.contains(a)) {
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
