//! RBAC evaluation, the review APIs (`kubectl auth can-i`, `auth whoami`) and
//! TokenRequest (`kubectl create token`), driven with real kubectl where it can.

mod common;

use std::time::Duration;

use common::kubectl::Kubectl;
use common::{eventually, sandbox, Client};
use mesh_testkit::{FakeCluster, Sandbox};
use serde_json::{json, Value};

const TEAM: &str = "team";
const TEAM_SERVICES: &str = "/api/v1/namespaces/team/services";
const NAMESPACES: &str = "/api/v1/namespaces";

fn put(c: &FakeCluster, v: Value) {
    c.put_object(v).expect("put object");
}

fn namespace(c: &FakeCluster, ns: &str) {
    put(
        c,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    );
}

fn service_account(c: &FakeCluster, ns: &str, name: &str) {
    put(
        c,
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
    );
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn cluster_role(c: &FakeCluster, name: &str, rules: Value) {
    put(
        c,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}),
    );
}

fn sa_subject(ns: &str, name: &str) -> Value {
    json!({"kind": "ServiceAccount", "name": name, "namespace": ns})
}

/// A (Cluster)RoleBinding: `ns` None makes a ClusterRoleBinding.
fn bind(c: &FakeCluster, ns: Option<&str>, name: &str, role_kind: &str, role: &str, subject: Value) {
    let mut b = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
        "subjects": [subject],
    });
    match ns {
        Some(ns) => {
            b["kind"] = json!("RoleBinding");
            b["metadata"]["namespace"] = json!(ns);
        }
        None => b["kind"] = json!("ClusterRoleBinding"),
    }
    put(c, b);
}

const READ: [&str; 3] = ["get", "list", "watch"];

/// A sandbox of one cluster `a` with namespace `team` and its ServiceAccount `reader`,
/// granted nothing yet.
async fn team_sandbox() -> Sandbox {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    namespace(a, TEAM);
    service_account(a, TEAM, "reader");
    sb
}

/// [`team_sandbox`]'s `reader` bound cluster-wide to a ClusterRole reading services and
/// endpointslices, and a Service `web` in `team`.
fn reader_setup(a: &FakeCluster) {
    cluster_role(
        a,
        "svc-reader",
        json!([
            rule(&[""], &["services"], &READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], &READ)
        ]),
    );
    bind(
        a,
        None,
        "svc-reader",
        "ClusterRole",
        "svc-reader",
        sa_subject(TEAM, "reader"),
    );
    put(
        a,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": TEAM}, "spec": {"ports": [{"port": 80}]}}),
    );
}

/// [`team_sandbox`] with [`reader_setup`] done, and kubectl as its admin.
async fn reader_sandbox() -> (Sandbox, Kubectl) {
    let sb = team_sandbox().await;
    reader_setup(sb.cluster("a"));
    let admin = Kubectl::new(&sb);
    (sb, admin)
}

/// kubectl for the sandbox's first cluster, authenticating with `token`.
fn kubectl_as(sb: &Sandbox, token: &str) -> Kubectl {
    let mut cfg: Value = serde_yaml_ng::from_str(&sb.kubeconfig_yaml()).expect("kubeconfig YAML");
    cfg["users"][0]["user"] = json!({"token": token});
    Kubectl::with_yaml(&serde_yaml_ng::to_string(&cfg).expect("YAML"))
}

/// `kubectl create token <args>`: the token.
async fn create_token(admin: &Kubectl, args: &[&str]) -> String {
    let mut full = vec!["create", "token"];
    full.extend(args);
    admin.ok(&full).await.trim().to_string()
}

async fn token_for(admin: &Kubectl, ns: &str, sa: &str) -> String {
    create_token(admin, &[sa, "-n", ns]).await
}

const SA_USER: &str = "system:serviceaccount:team:reader";

fn forbidden(what: &str, verb: &str, resource: &str, group: &str, ns: &str) -> String {
    format!("{what} is forbidden: User \"{SA_USER}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" in the namespace \"{ns}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_account_gets_exactly_what_its_cluster_role_grants() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let token = token_for(&admin, TEAM, "reader").await;
    let k = kubectl_as(&sb, &token);

    let out = k.ok(&["get", "services", "-A", "-o", "name"]).await;
    assert_eq!(out, "service/web\n");
    k.ok(&["get", "endpointslices.discovery.k8s.io", "-n", TEAM])
        .await;
    // A watch, as istiod's informers open one.
    let client = Client::new(a).with_token(&token);
    for path in [
        "/api/v1/services?watch=true&timeoutSeconds=1",
        "/apis/discovery.k8s.io/v1/namespaces/team/endpointslices?watch=true&timeoutSeconds=1",
    ] {
        assert_eq!(client.get(path).await.status, 200, "{path}");
    }

    for (args, want) in [
        (
            vec!["create", "configmap", "x", "-n", TEAM],
            forbidden("configmaps", "create", "configmaps", "", TEAM),
        ),
        (
            vec!["get", "secrets", "-n", TEAM],
            forbidden("secrets", "list", "secrets", "", TEAM),
        ),
        (
            vec!["delete", "service", "web", "-n", TEAM],
            forbidden("services \"web\"", "delete", "services", "", TEAM),
        ),
        (
            vec!["label", "service", "web", "-n", TEAM, "x=y"],
            forbidden("services \"web\"", "patch", "services", "", TEAM),
        ),
    ] {
        let o = k.run(&args).await;
        assert!(!o.ok, "{args:?}: {}", o.stdout);
        assert!(o.stderr.contains(&want), "{args:?}: {}", o.stderr);
    }
    // Cluster-scoped: worded "at the cluster scope".
    let want = format!(
        "namespaces is forbidden: User \"{SA_USER}\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );
    k.run(&["get", "namespaces"]).await.assert_failed_with(&want);
    assert!(a.object("/api/v1/namespaces/team/services/web").is_some());
    assert!(a.object("/api/v1/namespaces/team/configmaps/x").is_none());
    // The admin is untouched by RBAC.
    admin.ok(&["get", "secrets", "-A"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_bindings_grant_only_in_their_namespace() {
    let sb = team_sandbox().await;
    let a = sb.cluster("a");
    namespace(a, "other");
    put(
        a,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "cm", "namespace": TEAM}, "rules": [rule(&[""], &["configmaps"], &READ)]}),
    );
    // A ServiceAccount subject without a namespace takes the binding's.
    bind(
        a,
        Some(TEAM),
        "cm",
        "Role",
        "cm",
        json!({"kind": "ServiceAccount", "name": "reader"}),
    );
    // A RoleBinding may name a ClusterRole: it grants it in its namespace only.
    cluster_role(a, "secret-reader", json!([rule(&[""], &["secrets"], &READ)]));
    bind(
        a,
        Some("other"),
        "secrets",
        "ClusterRole",
        "secret-reader",
        sa_subject(TEAM, "reader"),
    );
    let admin = Kubectl::new(&sb);
    let k = kubectl_as(&sb, &token_for(&admin, TEAM, "reader").await);

    k.ok(&["get", "configmaps", "-n", TEAM]).await;
    k.ok(&["get", "secrets", "-n", "other"]).await;
    for (ns, resource) in [
        ("default", "configmaps"),
        ("other", "configmaps"),
        (TEAM, "secrets"),
        ("default", "secrets"),
    ] {
        let o = k.run(&["get", resource, "-n", ns]).await;
        assert!(
            o.stderr.contains(&forbidden(resource, "list", resource, "", ns)),
            "{ns} {resource}: {}",
            o.stderr
        );
    }
    k.run(&["get", "secrets", "-A"])
        .await
        .assert_failed_with("at the cluster scope");

    // A binding to a role that does not exist says so in the reason.
    bind(
        a,
        Some(TEAM),
        "dangling",
        "Role",
        "nope",
        sa_subject(TEAM, "reader"),
    );
    k.run(&["get", "pods", "-n", TEAM])
        .await
        .assert_failed_with(&format!(
            "{}: RBAC: role.rbac.authorization.k8s.io \"nope\" not found",
            forbidden("pods", "list", "pods", "", TEAM)
        ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_names_limit_a_rule_to_named_objects() {
    let sb = team_sandbox().await;
    let a = sb.cluster("a");
    for name in ["allowed", "other"] {
        put(
            a,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": TEAM}}),
        );
    }
    put(
        a,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "one", "namespace": TEAM},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["allowed"], "verbs": ["get", "list", "watch", "delete"]}]}),
    );
    bind(a, Some(TEAM), "one", "Role", "one", sa_subject(TEAM, "reader"));
    let admin = Kubectl::new(&sb);
    let token = token_for(&admin, TEAM, "reader").await;
    let k = kubectl_as(&sb, &token);

    k.ok(&["get", "configmap", "allowed", "-n", TEAM]).await;
    k.run(&["get", "configmap", "other", "-n", TEAM])
        .await
        .assert_failed_with(&forbidden("configmaps \"other\"", "get", "configmaps", "", TEAM));
    k.run(&["get", "configmaps", "-n", TEAM])
        .await
        .assert_failed_with(&forbidden("configmaps", "list", "configmaps", "", TEAM));
    // A list or watch selecting the one name by field is that name's request.
    let c = Client::new(a).with_token(&token);
    let r = c
        .get("/api/v1/namespaces/team/configmaps?fieldSelector=metadata.name%3Dallowed")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    k.ok(&["delete", "configmap", "allowed", "-n", TEAM]).await;
    assert!(a.object("/api/v1/namespaces/team/configmaps/allowed").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_cluster_roles_collect_the_rules_of_labelled_roles() {
    let sb = team_sandbox().await;
    let a = sb.cluster("a");
    put(
        a,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-agg": "true"}}]}}),
    );
    let part = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"example.com/aggregate-to-agg": "true"}}, "rules": rules})
    };
    put(a, part("part-svc", json!([rule(&[""], &["services"], &READ)])));
    bind(a, None, "agg", "ClusterRole", "agg", sa_subject(TEAM, "reader"));
    let rules_of_agg = |n: usize| {
        let a = a.clone();
        move || {
            let rules = a.object("/apis/rbac.authorization.k8s.io/v1/clusterroles/agg")?["rules"].clone();
            (rules.as_array().map_or(0, Vec::len) == n).then_some(rules)
        }
    };
    let rules = eventually(Duration::from_secs(5), rules_of_agg(1))
        .await
        .expect("aggregated");
    assert_eq!(rules, json!([rule(&[""], &["services"], &READ)]));

    let admin = Kubectl::new(&sb);
    let k = kubectl_as(&sb, &token_for(&admin, TEAM, "reader").await);
    k.ok(&["get", "services", "-n", TEAM]).await;
    assert!(!k.run(&["get", "secrets", "-n", TEAM]).await.ok);

    // A new labelled role extends it; the controller's write is its own.
    put(
        a,
        part("part-secrets", json!([rule(&[""], &["secrets"], &["list"])])),
    );
    eventually(Duration::from_secs(5), rules_of_agg(2))
        .await
        .expect("re-aggregated");
    k.ok(&["get", "secrets", "-n", TEAM]).await;
    let agg = a
        .object("/apis/rbac.authorization.k8s.io/v1/clusterroles/agg")
        .expect("agg");
    let managers: Vec<&str> = agg["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(
        managers.contains(&"clusterrole-aggregation-controller"),
        "{managers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_subjects_cover_service_accounts_and_certificate_groups() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    namespace(a, TEAM);
    service_account(a, TEAM, "one");
    service_account(a, "default", "two");
    cluster_role(a, "ns-reader", json!([rule(&[""], &["namespaces"], &["list"])]));
    bind(
        a,
        None,
        "team-sas",
        "ClusterRole",
        "ns-reader",
        json!({"kind": "Group", "name": "system:serviceaccounts:team"}),
    );
    bind(
        a,
        None,
        "devs",
        "ClusterRole",
        "ns-reader",
        json!({"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}),
    );
    let admin = Kubectl::new(&sb);
    let one = token_for(&admin, TEAM, "one").await;
    let two = token_for(&admin, "default", "two").await;
    let c = Client::new(a);
    assert_eq!(c.with_token(&one).get(NAMESPACES).await.status, 200);
    let r = c.with_token(&two).get(NAMESPACES).await;
    assert_eq!(r.status, 403, "{}", r.text);

    let (cert, key) = a.client_cert_in_group("alice", Some("devs"));
    assert_eq!(
        Client::with_cert(a, &cert, &key).get(NAMESPACES).await.status,
        200
    );
    let (cert, key) = a.client_cert("bob");
    let bob = Client::with_cert(a, &cert, &key);
    let r = bob.get(NAMESPACES).await;
    assert_eq!(r.status, 403, "{}", r.text);
    // Everyone authenticated may discover the API (system:discovery).
    assert_eq!(bob.get("/apis").await.status, 200);
    bind(
        a,
        None,
        "bob",
        "ClusterRole",
        "ns-reader",
        json!({"kind": "User", "name": "bob"}),
    );
    assert_eq!(bob.get(NAMESPACES).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_auth_can_i_answers_for_the_service_account() {
    let (sb, admin) = reader_sandbox().await;
    let k = kubectl_as(&sb, &token_for(&admin, TEAM, "reader").await);
    for (args, yes) in [
        (vec!["list", "services", "-n", TEAM], true),
        (vec!["watch", "endpointslices.discovery.k8s.io", "-A"], true),
        (vec!["get", "services/web", "-n", TEAM], true),
        (vec!["create", "services", "-n", TEAM], false),
        (
            vec!["delete", "endpointslices.discovery.k8s.io", "-n", TEAM],
            false,
        ),
        (vec!["get", "secrets", "-n", TEAM], false),
    ] {
        let mut full = vec!["auth", "can-i"];
        full.extend(&args);
        let o = k.run(&full).await;
        let want = if yes { "yes" } else { "no" };
        assert_eq!((o.stdout.trim(), o.ok), (want, yes), "{args:?}: {}", o.stderr);
    }
    let list = k.ok(&["auth", "can-i", "--list", "-n", TEAM]).await;
    assert!(
        list.lines()
            .any(|l| l.starts_with("services ") && l.contains("[get list watch]")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("selfsubjectaccessreviews.authorization.k8s.io")),
        "{list}"
    );
    let who = k.ok(&["auth", "whoami", "-o", "json"]).await;
    let who: Value = serde_json::from_str(&who).expect("json");
    assert_eq!(who["status"]["userInfo"]["username"], SA_USER);
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:team",
            "system:authenticated"
        ])
    );
    // The admin may do anything; `--as` impersonation is not supported, so ask directly.
    assert_eq!(
        admin
            .ok(&["auth", "can-i", "delete", "secrets", "-A"])
            .await
            .trim(),
        "yes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_access_review_checks_another_user() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let sar = |verb: &str, resource: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": SA_USER, "groups": ["system:serviceaccounts"],
                     "resourceAttributes": {"namespace": TEAM, "verb": verb, "resource": resource}}})
    };
    let c = Client::new(a);
    let r = c
        .post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &sar("list", "services"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["status"]["allowed"], true);
    assert_eq!(
        r.json()["status"]["reason"],
        "RBAC: allowed by ClusterRoleBinding \"svc-reader\" of ClusterRole \"svc-reader\" to ServiceAccount \"reader/team\""
    );
    let r = c
        .post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &sar("create", "services"),
        )
        .await;
    assert_eq!(r.json()["status"], json!({"allowed": false}));
    // The reader itself may not ask about others (no subjectaccessreviews create).
    let token = token_for(&admin, TEAM, "reader").await;
    let r = c
        .with_token(&token)
        .post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            &sar("list", "services"),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_rules_still_refuse_before_rbac() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    a.deny("list", "services");
    admin
        .run(&["get", "services", "-n", TEAM])
        .await
        .assert_failed_with(
            "services is forbidden: User \"kubernetes-admin\" cannot list resource \"services\"",
        );
    let k = kubectl_as(&sb, &token_for(&admin, TEAM, "reader").await);
    assert!(!k.run(&["get", "services", "-n", TEAM]).await.ok);
    a.clear_denies();
    k.ok(&["get", "services", "-n", TEAM]).await;
}

// --- TokenRequest ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_token_honours_duration_and_the_clock_expires_it() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let token = create_token(&admin, &["reader", "-n", TEAM, "--duration=15m"]).await;
    let claims = claims_of(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
        900
    );
    assert_eq!(claims["sub"], SA_USER);
    let k = kubectl_as(&sb, &token);
    k.ok(&["get", "services", "-n", TEAM]).await;

    a.advance_clock(Duration::from_secs(14 * 60));
    k.ok(&["get", "services", "-n", TEAM]).await;
    // Half a minute past exp (plus what the test took): within the validator's leeway.
    a.advance_clock(Duration::from_secs(90));
    k.ok(&["get", "services", "-n", TEAM]).await;
    // Over a minute past exp: expired.
    a.advance_clock(Duration::from_secs(31));
    let o = k.run(&["get", "services", "-n", TEAM]).await;
    o.assert_failed_with("You must be logged in to the server");
    let r = Client::new(a).with_token(&token).get(TEAM_SERVICES).await;
    assert_eq!(r.status, 401, "{}", r.text);
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("JWT claims");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_request_validates_as_the_api_server() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let short = ["create", "token", "reader", "-n", TEAM, "--duration=5m"];
    admin.run(&short).await.assert_failed_with("TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes");
    admin
        .run(&["create", "token", "nobody", "-n", TEAM])
        .await
        .assert_failed_with("serviceaccounts \"nobody\" not found");

    // status.expirationTimestamp is the token clock plus expirationSeconds (default 1h).
    let c = Client::new(a);
    let before = a.clock();
    let r = c
        .post(
            "/api/v1/namespaces/team/serviceaccounts/reader/token",
            &json!({"spec": {}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["spec"]["expirationSeconds"], 3600);
    assert_eq!(
        v["spec"]["audiences"],
        json!(["https://kubernetes.default.svc.cluster.local"])
    );
    let exp = claims_of(v["status"]["token"].as_str().unwrap_or_default())["exp"]
        .as_i64()
        .unwrap_or(0);
    assert!((before + 3600..=a.clock() + 3600).contains(&exp), "{exp}");
    assert_eq!(v["status"]["expirationTimestamp"], rfc3339(exp));
}

/// A TokenRequest token against the token clock: its `exp` and `status.expirationTimestamp`
/// are the clock at issue plus `expirationSeconds`; it authenticates until a minute past
/// `exp` (kube-apiserver's service-account validator checks the claims with go-jose's
/// one-minute `DefaultLeeway`), then every request with it is a 401 `Unauthorized` Status,
/// and TokenReview no longer accepts it; a fresh token works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_tokens_expire_on_the_token_clock_a_minute_after_exp() {
    let (sb, _admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let c = Client::new(a);
    let request = || async {
        let before = a.clock();
        let r = c
            .post(
                "/api/v1/namespaces/team/serviceaccounts/reader/token",
                &json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let v = r.json();
        let token = v["status"]["token"].as_str().expect("token").to_string();
        let exp = claims_of(&token)["exp"].as_i64().expect("exp");
        assert!((before + 600..=a.clock() + 600).contains(&exp), "{exp}");
        assert_eq!(v["status"]["expirationTimestamp"], rfc3339(exp));
        (token, exp)
    };
    let (token, exp) = request().await;
    let as_sa = c.with_token(&token);
    assert_eq!(as_sa.get(TEAM_SERVICES).await.status, 200);
    let review =
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}});
    let reviewed = || async {
        let r = c
            .post("/apis/authentication.k8s.io/v1/tokenreviews", &review)
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json()["status"]["authenticated"] == true
    };

    let ahead = |until: i64| Duration::from_secs(u64::try_from(until - a.clock()).unwrap_or(0));
    a.advance_clock(ahead(exp + 30));
    assert_eq!(as_sa.get(TEAM_SERVICES).await.status, 200, "within the leeway");
    assert!(reviewed().await);

    a.advance_clock(ahead(exp + 61));
    let r = as_sa.get(TEAM_SERVICES).await;
    assert_eq!(
        r.json(),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        "{}",
        r.text
    );
    assert_eq!(r.status, 401);
    assert!(!reviewed().await);

    // Refreshed: a token requested now lives on the advanced clock.
    let (fresh, fresh_exp) = request().await;
    assert!(fresh_exp >= exp + 661, "{fresh_exp}");
    assert_eq!(c.with_token(&fresh).get(TEAM_SERVICES).await.status, 200);
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix seconds (after 1970), counted out year by year and month
/// by month: an oracle independent of the server's calendar arithmetic.
fn rfc3339(secs: i64) -> String {
    let (mut days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let year_len = |y: i64| {
        if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
            366
        } else {
            365
        }
    };
    let mut year = 1970;
    while days >= year_len(year) {
        days -= year_len(year);
        year += 1;
    }
    let february = year_len(year) - 337;
    let mut month = 1;
    for len in [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{year:04}-{month:02}-{:02}T{h:02}:{m:02}:{s:02}Z", days + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_for_another_audience_or_a_deleted_account_are_refused() {
    let (sb, admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    let vault = create_token(&admin, &["reader", "-n", TEAM, "--audience=vault"]).await;
    assert_eq!(claims_of(&vault)["aud"], json!(["vault"]));
    let c = Client::new(a);
    assert_eq!(c.with_token(&vault).get(TEAM_SERVICES).await.status, 401);
    // A TokenReview for that audience accepts it.
    let review = |token: &str, auds: Value| json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token, "audiences": auds}});
    let r = c
        .post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &review(&vault, json!(["vault"])),
        )
        .await;
    assert_eq!(r.json()["status"]["authenticated"], true, "{}", r.text);
    assert_eq!(r.json()["status"]["user"]["username"], SA_USER);
    let r = c
        .post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            &review(&vault, json!([])),
        )
        .await;
    assert_ne!(r.json()["status"]["authenticated"], true, "{}", r.text);

    let token = token_for(&admin, TEAM, "reader").await;
    assert_eq!(c.with_token(&token).get(TEAM_SERVICES).await.status, 200);
    // Recreated under the same name, the account has a new uid: old tokens are dead.
    a.delete_object("/api/v1/namespaces/team/serviceaccounts/reader");
    service_account(a, TEAM, "reader");
    assert_eq!(c.with_token(&token).get(TEAM_SERVICES).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_secret_tokens_live_as_long_as_their_secret() {
    let (sb, _admin) = reader_sandbox().await;
    let a = sb.cluster("a");
    put(
        a,
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "reader-token", "namespace": TEAM, "annotations": {"kubernetes.io/service-account.name": "reader"}}}),
    );
    let token = eventually(Duration::from_secs(5), || {
        let s = a.object("/api/v1/namespaces/team/secrets/reader-token")?;
        let b64 = s["data"]["token"].as_str()?.to_string();
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        String::from_utf8(raw).ok()
    })
    .await
    .expect("token filled");
    let k = kubectl_as(&sb, &token);
    k.ok(&["get", "services", "-n", TEAM]).await;
    a.advance_clock(Duration::from_secs(365 * 86_400));
    k.ok(&["get", "services", "-n", TEAM]).await;
    a.delete_object("/api/v1/namespaces/team/secrets/reader-token");
    assert!(!k.run(&["get", "services", "-n", TEAM]).await.ok);
}
