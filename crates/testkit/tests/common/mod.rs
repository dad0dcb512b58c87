//! A small HTTPS client for talking to a fake cluster the way kube-rs would.
#![allow(dead_code)]

pub mod kubectl;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use mesh_testkit::{ClusterSpec, FakeCluster, Sandbox};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

/// A running sandbox of bare clusters named `names`.
pub async fn sandbox(names: &[&str]) -> Sandbox {
    let mut builder = Sandbox::builder();
    for name in names {
        builder = builder.cluster(name);
    }
    builder.start().await.expect("start")
}

/// A running sandbox of the clusters `specs` names, each set up as its spec says.
pub async fn sandbox_with(specs: Vec<(&str, ClusterSpec)>) -> Sandbox {
    let mut builder = Sandbox::builder();
    for (name, spec) in specs {
        builder = builder.cluster_with(name, spec);
    }
    builder.start().await.expect("start")
}

/// A cluster whose Gateways and LoadBalancer Services never get addresses.
pub fn no_addresses() -> ClusterSpec {
    ClusterSpec {
        address_delay: None,
        ..Default::default()
    }
}

/// A cluster without the Gateway API (as if its CRDs were not installed).
pub fn no_gateway_api() -> ClusterSpec {
    ClusterSpec {
        gateway_api: false,
        ..Default::default()
    }
}

/// A ClusterRoleBinding `name` of the `cluster-admin` ClusterRole to `subject`.
pub fn cluster_admin_binding(name: &str, subject: Value) -> Value {
    serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [subject],
    })
}

/// A kube-rs client for context `context` of the sandbox's kubeconfig: as the admin, or
/// with `token` as that bearer token.
pub async fn kube_client(sb: &Sandbox, context: &str, token: Option<&str>) -> kube::Client {
    let mut cfg: Value = serde_yaml_ng::from_str(&sb.kubeconfig_yaml()).expect("kubeconfig YAML");
    if let Some(token) = token {
        for user in cfg["users"].as_array_mut().expect("users") {
            if user["name"] == context {
                user["user"] = serde_json::json!({"token": token});
            }
        }
    }
    let yaml = serde_yaml_ng::to_string(&cfg).expect("YAML");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).expect("kubeconfig");
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

/// A sandbox of one bare cluster `a`, and an admin client for it.
pub async fn one_cluster() -> (Sandbox, Client) {
    let sb = sandbox(&["a"]).await;
    let c = Client::new(sb.cluster("a"));
    (sb, c)
}

pub const APPLY: &str = "application/apply-patch+yaml";
pub const MERGE: &str = "application/merge-patch+json";
pub const JSON_PATCH: &str = "application/json-patch+json";

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    /// The `message` of a Status reply; "" without one.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or_default().to_string()
    }
    /// Asserts the reply is a `status` whose Status message says `needle`.
    pub fn assert_refused(&self, status: u16, needle: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(self.message().contains(needle), "{}", self.text);
    }
    pub fn rv(&self) -> String {
        self.json()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

#[derive(Clone)]
pub struct Client {
    addr: std::net::SocketAddr,
    connector: TlsConnector,
    pub token: String,
    pub accept: Option<String>,
}

impl Client {
    pub fn new(c: &FakeCluster) -> Self {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(c.ca_pem().as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Client {
            addr: c.addr(),
            connector: TlsConnector::from(Arc::new(config)),
            token: c.token().to_string(),
            accept: None,
        }
    }

    /// A client presenting the client certificate `cert_pem`/`key_pem` and no token,
    /// trusting `c`'s CA.
    pub fn with_cert(c: &FakeCluster, cert_pem: &str, key_pem: &str) -> Self {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(c.ca_pem().as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("add CA");
        }
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .expect("client cert PEM");
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("client key PEM");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .expect("client auth cert");
        Client {
            addr: c.addr(),
            connector: TlsConnector::from(Arc::new(config)),
            token: String::new(),
            accept: None,
        }
    }

    pub fn with_token(&self, token: &str) -> Self {
        let mut c = self.clone();
        c.token = token.to_string();
        c
    }

    /// Sends one request on a fresh connection; Err is a transport failure.
    pub async fn try_send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Result<Resp, String> {
        let tcp = TcpStream::connect(self.addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
        let tls = self
            .connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut b = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?)
            .uri(path)
            .header("host", self.addr.to_string())
            .header("user-agent", "testkit-tests/v0.1 (linux/amd64)");
        if !self.token.is_empty() {
            b = b.header("authorization", format!("Bearer {}", self.token));
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        if let Some(a) = &self.accept {
            b = b.header("accept", a);
        }
        let req = b
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let resp = send.send_request(req).await.map_err(|e| error_chain(&e))?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Resp {
            status: parts.status.as_u16(),
            headers: parts.headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    pub async fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: &str) -> Resp {
        self.try_send(method, path, content_type, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, "").await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some("application/json"), &body.to_string())
            .await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send("PUT", path, Some("application/json"), &body.to_string())
            .await
    }
    pub async fn patch(&self, path: &str, ct: &str, body: &str) -> Resp {
        self.send("PATCH", path, Some(ct), body).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, "").await
    }
    /// Server-side apply of a YAML/JSON document as `manager`.
    pub async fn apply(&self, path: &str, manager: &str, force: bool, doc: &str) -> Resp {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.patch(
            &format!("{path}{sep}fieldManager={manager}&force={force}"),
            APPLY,
            doc,
        )
        .await
    }
}

/// `e` and its sources, `: `-separated (hyper's own message is just "connection error").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s = format!("{s}: {inner}");
        src = inner.source();
    }
    s
}

/// What the object at `path` in `c` holds at `pointer`, once it holds anything there
/// (None if it does not within five seconds).
pub async fn eventually_at(c: &FakeCluster, path: &str, pointer: &str) -> Option<Value> {
    eventually(Duration::from_secs(5), || {
        c.object(path)?.pointer(pointer).cloned()
    })
    .await
}

/// Polls `f` until it returns Some or the timeout passes.
pub async fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
