//! Issued service-account tokens and the clock they are checked against: the token
//! controller's legacy Secret tokens and TokenRequest's bound tokens, JWT-shaped, with a
//! clock tests can advance ([`crate::FakeCluster::advance_clock`]). Authenticating them
//! and TokenRequest are the API's side (module `authn`).

use std::collections::HashMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::meta;

/// The issuer kubeadm gives `--service-account-issuer`; `--api-audiences` defaults to
/// it, so it is the one audience the API server accepts.
pub const API_AUDIENCE: &str = "https://kubernetes.default.svc.cluster.local";

#[derive(Debug, Clone)]
pub(crate) enum Binding {
    /// A TokenRequest token for `audiences`, whose `exp` is `expires` on the test clock
    /// (it authenticates until a minute past it: [`crate::authn::EXPIRY_LEEWAY`]).
    Bound { expires: i64, audiences: Vec<String> },
    /// A token-controller token, valid while its Secret exists.
    Legacy { secret: String },
}

/// Who a token was issued to.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub namespace: String,
    pub name: String,
    /// The ServiceAccount's uid at issue: a recreated account does not inherit tokens.
    pub uid: String,
    pub binding: Binding,
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

    pub fn issue_bound(
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

    /// Who `token` was issued to, valid or not.
    pub fn issued(&self, token: &str) -> Option<&Issued> {
        self.tokens.get(token)
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
