//! `coordination.k8s.io/v1` Leases, as leader election uses them: kube-lease-manager 0.13
//! (what `kubectl mesh controller` elects its leader with) against a fake cluster, and the
//! requests it sends one by one: create, get, server-side apply without `force` (how it
//! notices a concurrent locker) and strategic merge patches.

mod common;

use std::time::Duration;

use common::kubectl::Kubectl;
use common::{eventually, kube_client, one_cluster, sandbox, Client};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, Patch, PatchParams};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError, LeaseParams};
use mesh_testkit::Sandbox;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
const LEASE: &str = "mesh-controller";
/// Short, so hand-overs come quickly; the holder renews `GRACE` seconds before expiry.
const DURATION: u64 = 5;
const GRACE: u64 = 2;
/// Bounds every wait for the election, far above what it needs: a hung test fails instead.
const PATIENCE: Duration = Duration::from_secs(60);

async fn manager(client: &kube::Client, identity: &str) -> LeaseManager {
    LeaseManagerBuilder::new(client.clone(), LEASE)
        .with_namespace("default")
        .with_parameters(LeaseParams::new(identity, DURATION, GRACE))
        .build()
        .await
        .expect("lease manager")
}

/// The lease as stored.
fn stored(sb: &Sandbox) -> Value {
    sb.cluster("a")
        .object(&format!("{LEASES}/{LEASE}"))
        .expect("lease stored")
}

fn holder(sb: &Sandbox) -> Option<String> {
    stored(sb)["spec"]["holderIdentity"].as_str().map(str::to_string)
}

/// One running elector: its leadership channel and its task.
struct Elector {
    id: &'static str,
    leading: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

async fn elector(client: &kube::Client, id: &'static str) -> Elector {
    let (leading, task) = manager(client, id).await.watch().await;
    Elector { id, leading, task }
}

fn leads(e: &Elector) -> bool {
    *e.leading.borrow()
}

/// Two electors for one Lease, started together; returns them once one leads, leader
/// first.
async fn elected(sb: &Sandbox) -> (Elector, Elector) {
    let client = kube_client(sb, "a", None).await;
    let (one, two) = tokio::join!(elector(&client, "one"), elector(&client, "two"));
    let first = eventually(PATIENCE, || (leads(&one) || leads(&two)).then(|| leads(&one)))
        .await
        .expect("someone leads");
    if first {
        (one, two)
    } else {
        (two, one)
    }
}

/// Watches the pair for longer than a lease lasts: the leader keeps renewing and the other
/// never leads meanwhile.
async fn stays_leader(sb: &Sandbox, leader: &Elector, other: &Elector) {
    let renewed = stored(sb)["spec"]["renewTime"].clone();
    let mut seen_renewal = false;
    for _ in 0..(DURATION + 2) * 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(leads(leader), "{} stopped leading", leader.id);
        assert!(!leads(other), "{} leads too", other.id);
        assert_eq!(holder(sb).as_deref(), Some(leader.id));
        seen_renewal |= stored(sb)["spec"]["renewTime"] != renewed;
    }
    assert!(seen_renewal, "the leader never renewed: {}", stored(sb));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_managers_leads_and_a_release_hands_over() {
    let sb = sandbox(&["a"]).await;
    let (leader, other) = elected(&sb).await;
    assert_eq!(holder(&sb).as_deref(), Some(leader.id));
    let lease = stored(&sb);
    assert_eq!(lease["spec"]["leaseDurationSeconds"], DURATION);
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    // The lock was taken by a server-side apply as the leader's own field manager.
    let manager = format!("kube-lease-manager-{}", leader.id);
    let applied = lease["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .find(|m| m["manager"] == manager.as_str() && m["operation"] == "Apply")
        .cloned()
        .unwrap_or_else(|| panic!("no apply by {manager}: {lease}"));
    assert!(
        applied["fieldsV1"]["f:spec"].get("f:holderIdentity").is_some(),
        "{applied}"
    );
    stays_leader(&sb, &leader, &other).await;

    // Dropping its channel makes the leader release the lease and stop.
    let Elector { leading, task, .. } = leader;
    drop(leading);
    let released = task.await.expect("leader task");
    assert!(released.is_ok(), "release failed: {:?}", released.err());
    let took = eventually(PATIENCE, || leads(&other).then_some(())).await;
    assert!(took.is_some(), "{} never took the released lease", other.id);
    assert_eq!(holder(&sb).as_deref(), Some(other.id));
    assert_eq!(stored(&sb)["spec"]["leaseTransitions"], 2);

    drop(other.leading);
    let released = other.task.await.expect("task");
    assert!(released.is_ok(), "{:?}", released.err());
    // Released: no holder, nor times or duration (set to null by a strategic merge patch).
    let spec = &stored(&sb)["spec"];
    for field in [
        "holderIdentity",
        "acquireTime",
        "renewTime",
        "leaseDurationSeconds",
    ] {
        assert!(spec.get(field).is_none(), "{field} left: {spec}");
    }
    assert_eq!(spec["leaseTransitions"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_stops_renewing_loses_the_lease_when_it_expires() {
    let sb = sandbox(&["a"]).await;
    let (leader, other) = elected(&sb).await;
    let acquired = stored(&sb)["spec"]["acquireTime"].clone();
    // A crash: no release, the lease just stops being renewed.
    leader.task.abort();
    let took = eventually(PATIENCE, || leads(&other).then_some(())).await;
    assert!(took.is_some(), "{} never took the expired lease", other.id);
    let spec = stored(&sb)["spec"].clone();
    assert_eq!(spec["holderIdentity"], other.id);
    assert_ne!(spec["acquireTime"], acquired);
    assert_eq!(spec["leaseTransitions"], 2);
    drop(other.leading);
    assert!(other.task.await.expect("task").is_ok());
}

fn lease_doc(holder: &str, renew: &str) -> String {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "lock"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 10, "renewTime": renew},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_another_holder_without_force_is_a_conflict() {
    let (sb, c) = one_cluster().await;
    let path = format!("{LEASES}/lock");
    let renew = "2025-01-01T00:00:00.123456Z";
    let r = c.apply(&path, "one", false, &lease_doc("one", renew)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // MicroTime comes back as written (RFC 3339, microseconds).
    assert_eq!(r.json()["spec"]["renewTime"], renew);

    let r = c.apply(&path, "two", false, &lease_doc("two", renew)).await;
    assert_eq!(r.status, 409, "{}", r.text);
    let status = r.json();
    assert_eq!(status["reason"], "Conflict");
    assert_eq!(
        status["message"],
        "Apply failed with 1 conflict: conflict with \"one\": .spec.holderIdentity"
    );
    assert_eq!(
        status["details"]["causes"],
        json!([{"reason": "FieldManagerConflict", "message": "conflict with \"one\"", "field": ".spec.holderIdentity"}])
    );
    assert_eq!(
        sb.cluster("a").object(&path).expect("lease")["spec"]["holderIdentity"],
        "one"
    );

    // What kube-lease-manager sees: kube's Api error, code 409, reason Conflict.
    let leases: Api<Lease> = Api::namespaced(kube_client(&sb, "a", None).await, "default");
    let patch: Value = serde_json::from_str(&lease_doc("two", renew)).expect("JSON");
    let err = leases
        .patch("lock", &PatchParams::apply("two"), &Patch::Apply(&patch))
        .await
        .expect_err("a conflict");
    match err {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("not an API error: {other}"),
    }

    // Forced, two takes the holder; the duration both applied with the same value stays shared.
    let lease = leases
        .patch("lock", &PatchParams::apply("two").force(), &Patch::Apply(&patch))
        .await
        .expect("forced apply");
    let spec = lease.spec.expect("spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("two"));
    let renew_time = spec.renew_time.expect("renewTime").0;
    assert_eq!(renew_time.subsec_microsecond(), 123_456);
    let fields = |manager: &str| {
        lease
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .find(|m| m.manager.as_deref() == Some(manager))
            .and_then(|m| m.fields_v1.as_ref())
            .map(|f| f.0.clone())
            .unwrap_or_default()
    };
    assert!(fields("one")["f:spec"].get("f:holderIdentity").is_none());
    assert!(fields("one")["f:spec"].get("f:leaseDurationSeconds").is_some());
    assert!(fields("two")["f:spec"].get("f:holderIdentity").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_are_served_like_the_other_built_in_kinds() {
    let (sb, c) = one_cluster().await;
    // Discovery.
    let groups = c.get("/apis").await.json();
    let coordination = groups["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "coordination.k8s.io")
        .cloned()
        .unwrap_or_else(|| panic!("no coordination.k8s.io: {groups}"));
    assert_eq!(
        coordination["preferredVersion"]["groupVersion"],
        "coordination.k8s.io/v1"
    );
    let resources = c.get("/apis/coordination.k8s.io/v1").await.json();
    let names: Vec<&str> = resources["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["leases"], "no status subresource: {resources}");
    let leases = &resources["resources"][0];
    assert_eq!(leases["kind"], "Lease");
    assert_eq!(leases["namespaced"], true);
    assert_eq!(leases["singularName"], "lease");
    let verbs = "create delete deletecollection get list patch update watch";
    assert_eq!(leases["verbs"], json!(verbs.split(' ').collect::<Vec<_>>()));
    let openapi = c.get("/openapi/v3/apis/coordination.k8s.io/v1").await;
    assert_eq!(openapi.status, 200, "{}", openapi.text);
    assert!(openapi.json()["components"]["schemas"]["io.k8s.api.coordination.v1.LeaseSpec"].is_object());

    // Create as kube-lease-manager does (an empty spec), then again: AlreadyExists.
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}, "spec": {}});
    let r = c.post(LEASES, &lease).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created_rv = r.rv();
    let r = c.post(LEASES, &lease).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.json()["reason"], "AlreadyExists");
    assert_eq!(r.message(), "leases.coordination.k8s.io \"l\" already exists");

    // The vendored schema applies: unknown fields are dropped with a warning, or refused
    // under strict validation; names are DNS subdomains.
    let mut odd = lease.clone();
    odd["metadata"]["name"] = json!("odd");
    odd["spec"]["holder"] = json!("x");
    let r = c.post(LEASES, &odd).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.json()["spec"].get("holder").is_none(), "{}", r.text);
    let warning = r.headers.get("warning").and_then(|w| w.to_str().ok());
    assert_eq!(warning, Some("299 - \"unknown field \\\"spec.holder\\\"\""));
    odd["metadata"]["name"] = json!("strict");
    let r = c.post(&format!("{LEASES}?fieldValidation=Strict"), &odd).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let mut bad = lease.clone();
    bad["metadata"]["name"] = json!("Bad_Name");
    let r = c.post(LEASES, &bad).await;
    assert_eq!(r.status, 422, "{}", r.text);

    // Update with a stale resourceVersion conflicts; with the current one it applies.
    let mut held = lease.clone();
    held["metadata"]["resourceVersion"] = json!(created_rv);
    held["spec"] = json!({"holderIdentity": "me", "leaseDurationSeconds": 15});
    let r = c.put(&format!("{LEASES}/l"), &held).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c.put(&format!("{LEASES}/l"), &held).await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.json()["reason"], "Conflict");

    // A strategic merge patch's null removes a field (kube-lease-manager's release).
    let r = c
        .patch(
            &format!("{LEASES}/l"),
            "application/strategic-merge-patch+json",
            r#"{"spec":{"holderIdentity":null,"leaseTransitions":3}}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["spec"],
        json!({"leaseDurationSeconds": 15, "leaseTransitions": 3})
    );

    // Listed in all namespaces, and watched: the changes since creation, then the delete.
    let list = c.get("/apis/coordination.k8s.io/v1/leases").await.json();
    assert_eq!(list["kind"], "LeaseList");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(c.delete(&format!("{LEASES}/l")).await.status, 200);
    let r = c
        .get(&format!(
            "{LEASES}?watch=true&timeoutSeconds=1&resourceVersion={created_rv}"
        ))
        .await;
    let events: Vec<(String, String)> = r
        .text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("event"))
        .map(|e| {
            let t = e["type"].as_str().unwrap_or_default().to_string();
            let n = e["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (t, n)
        })
        .collect();
    let want = [
        ("ADDED", "odd"),
        ("MODIFIED", "l"),
        ("MODIFIED", "l"),
        ("DELETED", "l"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect();
    assert_eq!(events, want);

    // kubectl finds the kind through discovery and explains it from the OpenAPI.
    let k = Kubectl::new(&sb);
    let out = k.ok(&["get", "leases", "-A", "-o", "name"]).await;
    assert_eq!(out.trim(), "lease.coordination.k8s.io/odd");
    let out = k.ok(&["explain", "lease.spec.renewTime"]).await;
    assert!(
        out.contains("renewTime is a time when the current holder of a lease has last updated"),
        "{out}"
    );
}

fn rule(verbs: &[&str]) -> Value {
    json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": verbs}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_governs_leases_and_an_elector_needs_only_its_role() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    let admin = Client::new(a);
    let put = |v: Value| {
        a.put_object(v).expect("put");
    };
    put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh"}}));
    for sa in ["elector", "nobody"] {
        put(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": "mesh"}}),
        );
    }
    put(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "elector", "namespace": "mesh"},
        "rules": rule(&["get", "list", "watch", "create", "update", "patch"])}),
    );
    put(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "elector", "namespace": "mesh"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "elector"},
        "subjects": [{"kind": "ServiceAccount", "name": "elector", "namespace": "mesh"}]}),
    );
    let token = |sa: &str| {
        let admin = admin.clone();
        let path = format!("/api/v1/namespaces/mesh/serviceaccounts/{sa}/token");
        async move {
            let r = admin.post(&path, &json!({"spec": {}})).await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.json()["status"]["token"].as_str().expect("token").to_string()
        }
    };
    let elector_token = token("elector").await;
    let elector = admin.with_token(&elector_token);
    let mesh_leases = "/apis/coordination.k8s.io/v1/namespaces/mesh/leases";
    assert_eq!(elector.get(mesh_leases).await.status, 200);
    elector.get(LEASES).await.assert_refused(
        403,
        "leases.coordination.k8s.io is forbidden: User \"system:serviceaccount:mesh:elector\" cannot list resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"default\"",
    );

    // The role is enough for kube-lease-manager: it creates the lease and takes it.
    let client = kube_client(&sb, "a", Some(&elector_token)).await;
    let m = LeaseManagerBuilder::new(client, LEASE)
        .with_namespace("mesh")
        .with_parameters(LeaseParams::new("pod-1", DURATION, GRACE))
        .build()
        .await
        .expect("lease manager");
    let leading = tokio::time::timeout(PATIENCE, m.changed()).await;
    assert!(matches!(leading, Ok(Ok(true))), "{leading:?}");
    m.release().await.expect("release");
    // Delete was not granted.
    elector
        .delete(&format!("{mesh_leases}/{LEASE}"))
        .await
        .assert_refused(
            403,
            "cannot delete resource \"leases\" in API group \"coordination.k8s.io\"",
        );

    // Without a binding the manager cannot even read the lease.
    let nobody = kube_client(&sb, "a", Some(&token("nobody").await)).await;
    let refused = LeaseManagerBuilder::new(nobody, LEASE)
        .with_namespace("mesh")
        .with_parameters(LeaseParams::new("pod-2", DURATION, GRACE))
        .build()
        .await;
    match refused {
        Err(LeaseManagerError::KubeError(kube::Error::Api(s))) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("not refused: {:?}", other.err()),
    }
}
