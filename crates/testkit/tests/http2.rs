//! HTTP/2, like kube-apiserver: a client offering only `h2` via ALPN gets it.

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use mesh_testkit::{Fault, Sandbox};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2_only_client_gets_http2_and_a_reset_drops_the_connection() {
    let sb = Sandbox::builder().cluster("a").start().await.expect("start");
    let a = sb.cluster("a");

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(a.ca_pem().as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("add CA");
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(a.addr()).await.expect("connect");
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
        .await
        .expect("h2 handshake");
    let conn = tokio::spawn(conn);

    let get = |path: &str| {
        Request::get(path)
            .header("authorization", format!("Bearer {}", a.token()))
            .body(Empty::<Bytes>::new())
            .expect("request")
    };
    let resp = send
        .send_request(get(&format!("{}/version", a.server_url())))
        .await
        .expect("GET /version");
    assert_eq!(resp.version(), Version::HTTP_2);
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert!(v["gitVersion"].is_string(), "{v}");

    // A reset fault drops the whole connection, not just the HTTP/2 stream.
    a.inject(Fault::reset().times(1));
    assert!(send
        .send_request(get(&format!("{}/api/v1/namespaces", a.server_url())))
        .await
        .is_err());
    let _ = conn.await.expect("connection task");
    assert!(send.is_closed());

    let log = a.request_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].status, log[0].user.as_str()), (200, a.user()));
    assert_eq!(log[1].status, 0, "a reset is logged with status 0");
}
