//! x509 client-certificate authentication (kube-apiserver `--client-ca-file`).

mod common;

use common::{cluster_admin_binding, sandbox, Client};
use mesh_testkit::{FakeCluster, Fault};
use serde_json::json;

/// A client certificate (and key) for `user`, bound to cluster-admin: certificate users
/// outside `system:masters` get only what RBAC grants them.
fn admin_cert(c: &FakeCluster, user: &str) -> (String, String) {
    let subject = json!({"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"});
    c.put_object(cluster_admin_binding(&format!("{user}-admin"), subject))
        .expect("binding");
    c.client_cert(user)
}

#[tokio::test]
async fn client_cert_authenticates_without_a_token() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let (cert, key) = admin_cert(a, "alice");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
    assert!(key.contains("PRIVATE KEY-----"), "{key}");

    // Without a certificate or a token: 401, so the 200 below is the certificate's doing.
    let anon = Client::new(a).with_token("");
    assert_eq!(anon.get("/api/v1/namespaces").await.status, 401);

    let alice = Client::with_cert(a, &cert, &key);
    assert!(alice.token.is_empty());
    let r = alice.get("/api/v1/namespaces").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["items"]
        .as_array()
        .is_some_and(|i| i.iter().any(|n| n["metadata"]["name"] == "kube-system")));

    let log = a.request_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].status, log[0].user.as_str()), (401, ""));
    assert_eq!((log[1].status, log[1].user.as_str()), (200, "alice"));
    assert!(log[1].groups.is_empty(), "{log:?}");
    assert_eq!(a.counts().list, 2);
}

#[tokio::test]
async fn client_cert_groups_come_from_the_organization() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let (cert, key) = a.client_cert_in_group("bob", Some("system:masters"));
    let r = Client::with_cert(a, &cert, &key)
        .get("/api/v1/namespaces/default")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let log = a.request_log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].user, "bob");
    assert_eq!(log[0].groups, vec!["system:masters".to_string()]);
    assert_eq!(a.counts().get, 1);
}

#[tokio::test]
async fn client_cert_wins_over_a_bad_token_and_tokens_still_work() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let (cert, key) = admin_cert(a, "carol");
    // As in kube-apiserver, the x509 authenticator answers before the token ones.
    let carol = Client::with_cert(a, &cert, &key).with_token("not-a-token");
    assert_eq!(carol.get("/api/v1/namespaces").await.status, 200);

    let admin = Client::new(a);
    assert_eq!(admin.get("/api/v1/namespaces").await.status, 200);
    assert_eq!(
        admin
            .with_token("not-a-token")
            .get("/api/v1/namespaces")
            .await
            .status,
        401
    );
    let users: Vec<_> = a.request_log().into_iter().map(|l| l.user).collect();
    assert_eq!(users, vec!["carol", "kubernetes-admin", ""]);
}

#[tokio::test]
async fn client_cert_from_another_clusters_ca_fails_the_handshake() {
    let sb = sandbox(&["a", "b"]).await;
    let (a, b) = (sb.cluster("a"), sb.cluster("b"));
    let (cert, key) = admin_cert(b, "mallory");
    // Sanity: b itself accepts it.
    let r = Client::with_cert(b, &cert, &key).get("/api/v1/namespaces").await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Trusting a's CA (so the server side is what fails), presenting b's certificate.
    let err = Client::with_cert(a, &cert, &key)
        .try_send("GET", "/api/v1/namespaces", None, "")
        .await
        .expect_err("a must reject a certificate signed by b's CA");
    // rustls's WebPkiClientVerifier with allow_unauthenticated() only lets clients
    // send *no* certificate; a bad one is still a fatal handshake alert. With TLS 1.3
    // the client learns of it on its first read, hence "received fatal alert".
    assert!(
        err.contains("received fatal alert: UnknownCA"),
        "unexpected error: {err}"
    );
    assert!(a.request_log().is_empty(), "{:?}", a.request_log());
    assert_eq!(a.counts().total(), 0);
}

#[tokio::test]
async fn forbidden_messages_name_the_certificate_user() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let (cert, key) = a.client_cert("dave");
    let dave = Client::with_cert(a, &cert, &key);

    a.deny("list", "namespaces");
    let r = dave.get("/api/v1/namespaces").await;
    assert_eq!(r.status, 403, "{}", r.text);
    let msg = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        msg,
        "namespaces is forbidden: User \"dave\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope",
    );

    // An injected 403 names the certificate user too.
    a.clear_denies();
    a.inject(Fault::status(403).times(1));
    let r = dave.get("/api/v1/namespaces/default/configmaps").await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r.text.contains("User \\\"dave\\\" cannot list"), "{}", r.text);

    let log = a.request_log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|l| l.status == 403 && l.user == "dave"), "{log:?}");
}
