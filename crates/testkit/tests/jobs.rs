//! Job pods, their logs (`pods/<name>/log`) and the simulated data plane across clusters.

mod common;

use std::time::Duration;

use base64::Engine;
use common::kubectl::Kubectl;
use common::{eventually, eventually_at, sandbox, sandbox_with, Client};
use mesh_testkit::{ClusterSpec, FakeCluster, Fault, IstioSeed};
use serde_json::{json, Value};

const NS: &str = "probe";
const JOBS: &str = "/apis/batch/v1/namespaces/probe/jobs";
const PODS: &str = "/api/v1/namespaces/probe/pods";
const GLOBAL_URL: &str = "http://echo.probe.mesh.internal/";

fn istio(network: &str) -> ClusterSpec {
    ClusterSpec {
        istio: Some(IstioSeed::network(network)),
        ..Default::default()
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The probe namespace, a global echo Service answering `hello from <cluster>` (spread
/// with `Any`), its ready Deployment, and the shared root in `cacerts`.
fn install_echo(c: &FakeCluster) {
    let objects = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": "istio-system"},
               "data": {"root-cert.pem": b64("one root")}}),
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "echo", "namespace": NS, "labels": {"solo.io/service-scope": "global"},
                            "annotations": {"networking.istio.io/traffic-distribution": "Any"}},
               "spec": {"selector": {"app": "echo"}, "ports": [{"port": 80}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo", "namespace": NS},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "echo"}},
                        "template": {"metadata": {"labels": {"app": "echo"}},
                                     "spec": {"containers": [{"name": "echo", "image": "hashicorp/http-echo",
                                              "args": ["-listen=:8080", format!("-text=hello from {}", c.name())]}]}}},
               "status": {"readyReplicas": 1}}),
    ];
    for o in objects {
        c.put_object(o).expect("put");
    }
}

/// An ambient peering Gateway in `from` towards `to`'s east-west Gateway, once that has
/// its address.
async fn peer(from: &FakeCluster, to: &FakeCluster) {
    to.put_object(
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "istio-eastwest", "namespace": "istio-system"},
        "spec": {"gatewayClassName": "istio-eastwest", "listeners": []}}),
    )
    .expect("eastwest");
    let path = "/apis/gateway.networking.k8s.io/v1/namespaces/istio-system/gateways/istio-eastwest";
    eventually_at(to, path, "/status/addresses")
        .await
        .expect("east-west address");
    from.put_object(
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": format!("istio-remote-peer-{}", to.name()), "namespace": "istio-system"},
        "spec": {"gatewayClassName": "istio-remote",
                 "addresses": [{"type": "IPAddress", "value": to.lb_address()}], "listeners": []}}),
    )
    .expect("remote");
}

fn probe_job(name: &str, url: &str, requests: u32) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": {"app": "client"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "client", "image": "curl",
                "env": [{"name": "PROBE_URL", "value": url}, {"name": "PROBE_REQUESTS", "value": requests.to_string()}]}]}}}})
}

/// The single pod of Job `job` once it exists.
async fn job_pod(c: &FakeCluster, job: &str) -> Value {
    eventually(Duration::from_secs(5), || {
        c.objects(PODS)
            .into_iter()
            .find(|p| p["metadata"]["labels"]["job-name"] == job)
    })
    .await
    .unwrap_or_else(|| panic!("no pod for job {job}"))
}

/// Runs the probe Job `job` (`requests` requests to `url`) in `c`: the log of its pod.
async fn probe_log(c: &FakeCluster, job: &str, url: &str, requests: u32) -> Option<String> {
    let r = Client::new(c).post(JOBS, &probe_job(job, url, requests)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let pod = job_pod(c, job).await;
    c.pod_log(NS, &name(&pod))
}

async fn wait_complete(c: &FakeCluster, job: &str) -> Value {
    eventually(Duration::from_secs(5), || {
        let j = c.object(&format!("{JOBS}/{job}"))?;
        j.pointer("/status/succeeded").is_some().then_some(j)
    })
    .await
    .unwrap_or_else(|| panic!("job {job} did not complete"))
}

fn name(o: &Value) -> String {
    o["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_job_leaves_a_pod_like_the_job_controller() {
    let sb = sandbox_with(vec![("a", istio("net-a"))]).await;
    let a = sb.cluster("a");
    install_echo(a);
    let c = Client::new(a);
    let r = c.post(JOBS, &probe_job("j", GLOBAL_URL, 2)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let job = r.json();
    let uid = job["metadata"]["uid"].as_str().expect("uid").to_string();
    // The Job strategy's selector, as kubectl logs job/x needs it.
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    );
    wait_complete(a, "j").await;
    let pod = job_pod(a, "j").await;
    let pod_name = name(&pod);
    assert!(pod_name.starts_with("j-") && pod_name.len() == 7, "{pod_name}");
    assert!(pod_name[2..]
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()));
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["app"], "client");
    assert_eq!(labels["job-name"], "j");
    assert_eq!(labels["batch.kubernetes.io/job-name"], "j");
    assert_eq!(labels["controller-uid"], json!(uid));
    assert_eq!(labels["batch.kubernetes.io/controller-uid"], json!(uid));
    assert_eq!(
        pod["metadata"]["ownerReferences"],
        json!([{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": uid, "controller": true, "blockOwnerDeletion": true}])
    );
    assert_eq!(pod["spec"], job["spec"]["template"]["spec"]);
    assert_eq!(pod["status"]["phase"], "Succeeded");
    let terminated = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(
        (&terminated["exitCode"], &terminated["reason"]),
        (&json!(0), &json!("Completed"))
    );
    assert_eq!(
        a.pod_log(NS, &pod_name).as_deref(),
        Some("hello from a\nhello from a\n")
    );
    // Later passes (any write triggers one) leave it at one pod.
    c.post(JOBS, &probe_job("other", "http://nowhere/", 1)).await;
    wait_complete(a, "other").await;
    let pods: Vec<String> = a.objects(PODS).iter().map(name).collect();
    assert_eq!(pods.len(), 2, "{pods:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pod_for_a_job_already_succeeded_and_empty_log_without_probe() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    a.put_object(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .expect("ns");
    let mut done = probe_job("done", GLOBAL_URL, 1);
    done["metadata"]["namespace"] = json!(NS);
    done["status"] = json!({"succeeded": 1});
    a.put_object(done).expect("job");
    let c = Client::new(a);
    let plain = json!({"metadata": {"name": "plain"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}});
    assert_eq!(c.post(JOBS, &plain).await.status, 201);
    wait_complete(a, "plain").await;
    let pod = job_pod(a, "plain").await;
    assert_eq!(a.pod_log(NS, &name(&pod)).as_deref(), Some(""));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pods: Vec<String> = a.objects(PODS).iter().map(name).collect();
    assert_eq!(pods, vec![name(&pod)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_job_gets_its_pod_when_due() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    a.set_job_delay(Duration::from_millis(400));
    install_echo(a);
    let c = Client::new(a);
    c.post(
        JOBS,
        &probe_job("slow", "http://echo.probe.svc.cluster.local/", 1),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(a.objects(PODS).is_empty(), "too early");
    // Nothing else is written meanwhile: the pass that completes it runs on the delay alone.
    let job = wait_complete(a, "slow").await;
    assert_eq!(job["status"]["succeeded"], 1);
    let pod = job_pod(a, "slow").await;
    assert_eq!(a.pod_log(NS, &name(&pod)).as_deref(), Some("hello from a\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_spreads_over_peered_clusters_and_breaks_without_a_shared_root() {
    let sb = sandbox_with(vec![
        ("a", istio("net-a")),
        ("b", istio("net-b")),
        ("c", istio("net-c")),
    ])
    .await;
    let (a, b, c) = (sb.cluster("a"), sb.cluster("b"), sb.cluster("c"));
    for cl in [a, b, c] {
        install_echo(cl);
    }
    peer(a, b).await;
    // c is not peered with a; b is down (its API server only).
    b.set_down(true);
    let want = "hello from a\nhello from b\nhello from a\nhello from b\n";
    assert_eq!(probe_log(a, "p1", GLOBAL_URL, 4).await.as_deref(), Some(want));
    // Another root in b: mTLS to b fails.
    b.set_down(false);
    b.put_object(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cacerts", "namespace": "istio-system"},
        "data": {"root-cert.pem": b64("another root")}}))
        .expect("cacerts");
    assert_eq!(
        probe_log(a, "p2", GLOBAL_URL, 2).await.as_deref(),
        Some("hello from a\nerror: curl: (56) Recv failure: Connection reset by peer\n")
    );
    // From c, linked to nobody, on a host nobody serves.
    assert_eq!(
        probe_log(c, "p3", "http://nope.probe.mesh.internal/", 1)
            .await
            .as_deref(),
        Some("error: curl: (6) Could not resolve host: nope.probe.mesh.internal\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_secrets_link_clusters_for_cluster_local_hosts() {
    let sb = sandbox_with(vec![("a", istio("net-1")), ("b", istio("net-1"))]).await;
    let (a, b) = (sb.cluster("a"), sb.cluster("b"));
    for cl in [a, b] {
        install_echo(cl);
    }
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: b\n  cluster:\n    server: {}\n",
        b.server_url()
    );
    a.put_object(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "istio-remote-secret-b", "namespace": "istio-system", "labels": {"istio/multiCluster": "true"}},
        "data": {"b": b64(&kubeconfig)}}))
        .expect("remote secret");
    let url = "http://echo.probe.svc.cluster.local:80/";
    assert_eq!(
        probe_log(a, "p", url, 3).await.as_deref(),
        Some("hello from a\nhello from b\nhello from a\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_endpoint() {
    let sb = sandbox(&["a"]).await;
    let a = sb.cluster("a");
    install_echo(a);
    let c = Client::new(a);
    c.post(JOBS, &probe_job("j", GLOBAL_URL, 3)).await;
    let pod = name(&job_pod(a, "j").await);
    let log_path = format!("{PODS}/{pod}/log");
    a.reset_counts();
    let r = c.get(&log_path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/plain");
    assert_eq!(r.text, "hello from a\n".repeat(3));
    assert_eq!(a.counts().get, 1);
    assert_eq!(a.counts().writes(), 0);
    let r = c
        .get(&format!(
            "{log_path}?container=client&tailLines=2&follow=true&timestamps=true"
        ))
        .await;
    assert_eq!((r.status, r.text.as_str()), (200, "hello from a\nhello from a\n"));
    assert_eq!(c.get(&format!("{log_path}?limitBytes=5")).await.text, "hello");
    // Errors, with the real server's shapes.
    let r = c.get(&format!("{log_path}?container=nope")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "BadRequest");
    assert_eq!(
        r.json()["message"],
        format!("container nope is not valid for pod {pod}")
    );
    assert_eq!(c.get(&format!("{log_path}?tailLines=x")).await.status, 400);
    assert_eq!(c.get(&format!("{log_path}?tailLines=-1")).await.status, 422);
    let r = c.get(&format!("{PODS}/missing/log")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), c.get(&format!("{PODS}/missing")).await.json());
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let r = c.send(method, &log_path, Some("application/json"), "{}").await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.json()["reason"], "MethodNotAllowed");
    }
    assert_eq!(c.get("/api/v1/namespaces/probe/secrets/x/log").await.status, 404);
    // Faults and deny rules apply as to any request.
    a.inject(Fault::status(503).times(1).path_contains("/log"));
    assert_eq!(c.get(&log_path).await.status, 503);
    a.deny("get", "pods/log");
    let r = c.get(&log_path).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["message"],
        format!("pods \"{pod}\" is forbidden: User \"kubernetes-admin\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"probe\"")
    );
    assert_eq!(c.get(&format!("{PODS}/{pod}")).await.status, 200);
    a.clear_denies();
    // A pod made directly gets a log set directly; deleting takes it along.
    a.put_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "manual", "namespace": NS},
        "spec": {"containers": [{"name": "x"}, {"name": "y"}]}}),
    )
    .expect("pod");
    a.set_pod_log(NS, "manual", "line\n").expect("log");
    assert!(a.set_pod_log(NS, "ghost", "x").is_err());
    assert_eq!(
        c.get(&format!("{PODS}/manual/log?container=x")).await.text,
        "line\n"
    );
    assert_eq!(c.get(&format!("{PODS}/manual/log?container=y")).await.text, "");
    let r = c.get(&format!("{PODS}/manual/log")).await;
    assert_eq!(
        r.json()["message"],
        "a container name must be specified for pod manual, choose one of: [x y]"
    );
    assert_eq!(c.delete(&format!("{PODS}/manual")).await.status, 200);
    assert_eq!(a.pod_log(NS, "manual"), None);
    a.put_object(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "manual", "namespace": NS},
        "spec": {"containers": [{"name": "x"}]}}),
    )
    .expect("pod");
    assert_eq!(c.get(&format!("{PODS}/manual/log")).await.text, "");
    assert_eq!(c.delete("/api/v1/namespaces/probe").await.status, 200);
    // The namespace controller deletes the pod (and its log) shortly after.
    let gone = eventually(Duration::from_secs(5), || {
        a.pod_log(NS, &pod).is_none().then_some(())
    })
    .await;
    assert!(gone.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_pods_log() {
    let sb = sandbox(&["a"]).await;
    let r = Client::new(sb.cluster("a")).get("/api/v1").await;
    let log = r.json()["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|x| x["name"] == "pods/log")
        .cloned();
    assert_eq!(log.map(|l| l["verbs"].clone()), Some(json!(["get"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_logs_pod_and_job() {
    let sb = sandbox(&["a", "b"]).await;
    let b = sb.cluster("b");
    install_echo(b);
    let k = Kubectl::new(&sb);
    let file = k.path("job.json");
    std::fs::write(&file, probe_job("j", GLOBAL_URL, 2).to_string()).expect("write");
    k.ok(&[
        "--context",
        "b",
        "apply",
        "--server-side",
        "-n",
        NS,
        "-f",
        &file.to_string_lossy(),
    ])
    .await;
    let pod = name(&job_pod(b, "j").await);
    let want = "hello from b\nhello from b\n";
    assert_eq!(k.ok(&["--context", "b", "logs", &pod, "-n", NS]).await, want);
    b.reset_counts();
    assert_eq!(k.ok(&["--context", "b", "logs", "job/j", "-n", NS]).await, want);
    // kubectl found the pod through the selector the Job strategy set.
    let uid = b.object(&format!("{JOBS}/j")).expect("job")["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let selector = format!("labelSelector=batch.kubernetes.io%2Fcontroller-uid%3D{uid}");
    let log = b.request_log();
    assert!(log.iter().any(|r| r.path.contains(&selector)), "{log:?}");
    assert_eq!(
        k.ok(&[
            "--context",
            "b",
            "logs",
            "-n",
            NS,
            "-l",
            "job-name=j",
            "--tail",
            "1"
        ])
        .await,
        "hello from b\n"
    );
    let o = k
        .run(&["--context", "b", "logs", &pod, "-n", NS, "-c", "nope"])
        .await;
    o.assert_failed_with(&format!("container nope is not valid for pod {pod}"));
    let o = k.run(&["--context", "b", "logs", "missing", "-n", NS]).await;
    assert!(!o.ok);
    assert_eq!(
        o.stderr.trim(),
        "error: error from server (NotFound): pods \"missing\" not found in namespace \"probe\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_jobs_in_linked_clusters_complete_together() {
    let sb = sandbox_with(vec![("a", istio("n")), ("b", istio("n")), ("c", istio("n"))]).await;
    let clusters = sb.clusters();
    for cl in clusters {
        install_echo(cl);
    }
    // Every cluster peers with every other, and all complete their Jobs at once: each
    // completion reads every store, which must never hold two locks together.
    for from in clusters {
        for to in clusters.iter().filter(|to| to.name() != from.name()) {
            peer(from, to).await;
        }
    }
    for cl in clusters {
        cl.set_job_delay(Duration::from_millis(200));
        let c = Client::new(cl);
        for i in 0..5 {
            c.post(JOBS, &probe_job(&format!("j{i}"), GLOBAL_URL, 3)).await;
        }
    }
    for cl in clusters {
        for i in 0..5 {
            let pod = job_pod(cl, &format!("j{i}")).await;
            let log = cl.pod_log(NS, &name(&pod)).expect("log");
            assert_eq!(log, "hello from a\nhello from b\nhello from c\n", "{}", cl.name());
        }
    }
}
