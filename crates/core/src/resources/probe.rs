//! The probe of `verify --traffic`: an echo server and a client Job, in a temporary namespace
//! that has the same name in every cluster (namespace sameness is what makes the Services one
//! global service). Pure builders and the parser of the client's log.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::eastwest::Flavor;
use crate::expose::service::global_host;
use crate::verify::{GLOBAL_LABEL, SCOPE_LABEL, TRAFFIC_DISTRIBUTION};

/// Marks everything the probe creates, so a leftover namespace is easy to find and remove.
pub const PROBE_LABEL: &str = "kubectl-mesh.io/probe";
/// Name of the server Deployment and its Service.
pub const SERVER: &str = "mesh-probe";
/// Name of the client Job, and of its container.
pub const CLIENT: &str = "mesh-probe-client";
const CLIENT_CONTAINER: &str = "client";
/// What the server answers starts with this, followed by its cluster's name.
pub const ANSWER_PREFIX: &str = "kubectl-mesh-probe cluster=";
const SERVER_PORT: u16 = 8080;

pub const DEFAULT_SERVER_IMAGE: &str = "hashicorp/http-echo:1.0";
pub const DEFAULT_CLIENT_IMAGE: &str = "curlimages/curl:8.11.1";

/// One line per request: the answer, or `error: <what curl said>`. The sidecar (if injected) is
/// told to quit at the end, or the Job would never complete.
const CLIENT_SCRIPT: &str = r#"i=0
while [ "$i" -lt "$PROBE_REQUESTS" ]; do
  i=$((i+1))
  if out=$(curl -sS --max-time 3 "$PROBE_URL" 2>&1); then echo "$out"; else echo "error: $out"; fi
  sleep 0.1
done
curl -sS -X POST http://127.0.0.1:15020/quitquitquit >/dev/null 2>&1 || true
"#;

/// Everything that shapes one probe run.
#[derive(Debug, Clone)]
pub struct Probe {
    pub namespace: String,
    pub flavor: Flavor,
    /// Requests each client makes.
    pub requests: u32,
    pub server_image: String,
    pub client_image: String,
}

impl Probe {
    /// The host clients call, the flavour's global host ([`global_host`]): Solo's
    /// `mesh.internal` host for ambient-peering; the cluster-local host for upstream ambient
    /// (it has no global domain: `istio.io/global` merges the clusters' endpoints into
    /// `<svc>.<ns>.svc.cluster.local`, istio 1.30.3 pilot/pkg/serviceregistry/ambient/services.go:690)
    /// and for sidecars (multi-primary treats same-named Services as one).
    pub fn host(&self) -> String {
        global_host(self.flavor, SERVER, &self.namespace)
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.host())
    }

    fn labels(&self, app: &str) -> Vec<(&'static str, String)> {
        vec![("app", app.to_string()), (PROBE_LABEL, "true".to_string())]
    }

    fn metadata(&self, name: &str, app: &str, namespace: bool) -> Value {
        let labels = self.labels(app);
        let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        super::metadata(name, namespace.then_some(self.namespace.as_str()), &pairs)
    }

    /// The temporary namespace, enrolled in the mesh the way the flavour needs.
    pub fn namespace_object(&self) -> Value {
        let mut meta = super::metadata(&self.namespace, None, &[(PROBE_LABEL, "true")]);
        let (key, value) = match self.flavor {
            Flavor::AmbientPeering | Flavor::Ambient => ("istio.io/dataplane-mode", "ambient"),
            Flavor::Sidecar => ("istio-injection", "enabled"),
        };
        meta["labels"][key] = json!(value);
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    }

    /// The echo server of `cluster`: it answers with the cluster's name.
    pub fn server(&self, cluster: &str) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(SERVER, SERVER, true),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": SERVER}},
                "template": {
                    "metadata": {"labels": {"app": SERVER}},
                    "spec": {
                        "containers": [{
                            "name": "echo",
                            "image": self.server_image,
                            "args": [format!("-listen=:{SERVER_PORT}"), format!("-text={ANSWER_PREFIX}{cluster}")],
                            "ports": [{"name": "http", "containerPort": SERVER_PORT}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 2},
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                            "securityContext": restricted(),
                        }],
                    },
                },
            },
        })
    }

    /// The Service, global in every cluster, spreading calls over all clusters: the default
    /// (PreferNetwork) would keep them in the caller's network and prove nothing.
    pub fn service(&self) -> Value {
        let mut meta = self.metadata(SERVER, SERVER, true);
        match self.flavor {
            Flavor::AmbientPeering => meta["labels"][SCOPE_LABEL] = json!("global"),
            Flavor::Ambient => meta["labels"][GLOBAL_LABEL] = json!("true"),
            Flavor::Sidecar => {}
        }
        meta["annotations"] = json!({TRAFFIC_DISTRIBUTION: "Any"});
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": {"app": SERVER},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        })
    }

    /// The name of the client Job of run `run` (1, 2, ...).
    pub fn client_name(run: u32) -> String {
        match run {
            0 | 1 => CLIENT.to_string(),
            n => format!("{CLIENT}-{n}"),
        }
    }

    /// The client of run `run`: `requests` calls to the global host, one log line each.
    pub fn client(&self, run: u32) -> Value {
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": self.metadata(&Self::client_name(run), CLIENT, true),
            "spec": {
                "backoffLimit": 0,
                // Far more than the requests take; a stuck Job must not outlive the run.
                "activeDeadlineSeconds": 120 + 4 * u64::from(self.requests),
                "template": {
                    "metadata": {"labels": {"app": CLIENT}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": CLIENT_CONTAINER,
                            "image": self.client_image,
                            "command": ["/bin/sh", "-c", CLIENT_SCRIPT],
                            "env": [
                                {"name": "PROBE_URL", "value": self.url()},
                                {"name": "PROBE_REQUESTS", "value": self.requests.to_string()},
                            ],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
                            "securityContext": restricted(),
                        }],
                    },
                },
            },
        })
    }

    /// The client container, for reading its log.
    pub fn client_container(&self) -> &'static str {
        CLIENT_CONTAINER
    }
}

/// A container security context that passes the `restricted` Pod Security Standard, so the
/// probe also runs in clusters that enforce it.
fn restricted() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 65532,
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// What one client saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// Answers per answering cluster.
    pub by_cluster: BTreeMap<String, u32>,
    /// Requests that failed, and the first failure's text.
    pub errors: u32,
    pub first_error: Option<String>,
    /// Lines that were neither an answer nor an error (another server answering, say).
    pub unexpected: u32,
    /// How many runs of the client these are from.
    pub runs: u32,
}

impl Answers {
    /// Adds what another run of the client saw.
    pub fn add(&mut self, other: &Answers) {
        for (cluster, n) in &other.by_cluster {
            *self.by_cluster.entry(cluster.clone()).or_default() += n;
        }
        self.errors += other.errors;
        self.unexpected += other.unexpected;
        self.runs += other.runs;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
    }

    pub fn total(&self) -> u32 {
        self.by_cluster.values().sum::<u32>() + self.errors + self.unexpected
    }
}

/// Parses the client's log (see [`CLIENT_SCRIPT`]).
pub fn parse_log(log: &str) -> Answers {
    let mut answers = Answers {
        runs: 1,
        ..Answers::default()
    };
    for line in log.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(cluster) = line.strip_prefix(ANSWER_PREFIX) {
            *answers.by_cluster.entry(cluster.trim().to_string()).or_default() += 1;
        } else if let Some(error) = line.strip_prefix("error:") {
            answers.errors += 1;
            answers
                .first_error
                .get_or_insert_with(|| error.trim().to_string());
        } else {
            answers.unexpected += 1;
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(flavor: Flavor) -> Probe {
        Probe {
            namespace: "kubectl-mesh-probe-abc123".into(),
            flavor,
            requests: 30,
            server_image: DEFAULT_SERVER_IMAGE.into(),
            client_image: DEFAULT_CLIENT_IMAGE.into(),
        }
    }

    #[test]
    fn hosts_follow_the_flavour() {
        assert_eq!(
            probe(Flavor::AmbientPeering).url(),
            "http://mesh-probe.kubectl-mesh-probe-abc123.mesh.internal/"
        );
        // Upstream ambient has no global domain: the global Service keeps its own host.
        assert_eq!(
            probe(Flavor::Ambient).url(),
            "http://mesh-probe.kubectl-mesh-probe-abc123.svc.cluster.local/"
        );
        assert_eq!(
            probe(Flavor::Sidecar).host(),
            "mesh-probe.kubectl-mesh-probe-abc123.svc.cluster.local"
        );
    }

    #[test]
    fn namespace_is_enrolled_and_marked() {
        let ns = probe(Flavor::Ambient).namespace_object();
        assert_eq!(ns["metadata"]["labels"]["istio.io/dataplane-mode"], "ambient");
        assert_eq!(ns["metadata"]["labels"][PROBE_LABEL], "true");
        assert_eq!(
            ns["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kubectl-mesh"
        );
        let ns = probe(Flavor::Sidecar).namespace_object();
        assert_eq!(ns["metadata"]["labels"]["istio-injection"], "enabled");
    }

    #[test]
    fn service_is_global_and_spread_over_every_cluster() {
        let svc = probe(Flavor::AmbientPeering).service();
        assert_eq!(svc["metadata"]["labels"][SCOPE_LABEL], "global");
        assert_eq!(svc["metadata"]["annotations"][TRAFFIC_DISTRIBUTION], "Any");
        assert_eq!(svc["spec"]["selector"]["app"], SERVER);
        let svc = probe(Flavor::Ambient).service();
        assert_eq!(svc["metadata"]["labels"][GLOBAL_LABEL], "true");
    }

    #[test]
    fn server_answers_with_its_cluster() {
        let d = probe(Flavor::AmbientPeering).server("east-1");
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["args"][1], "-text=kubectl-mesh-probe cluster=east-1");
        assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app"], SERVER);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    }

    #[test]
    fn client_calls_the_host_the_requested_number_of_times() {
        let job = probe(Flavor::AmbientPeering).client(1);
        assert_eq!(job["metadata"]["name"], CLIENT);
        assert_eq!(
            probe(Flavor::AmbientPeering).client(2)["metadata"]["name"],
            "mesh-probe-client-2"
        );
        let c = &job["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["env"][0]["value"],
            "http://mesh-probe.kubectl-mesh-probe-abc123.mesh.internal/"
        );
        assert_eq!(c["env"][1]["value"], "30");
        let c = &probe(Flavor::Ambient).client(1)["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            c["env"][0]["value"],
            "http://mesh-probe.kubectl-mesh-probe-abc123.svc.cluster.local/"
        );
        assert_eq!(job["spec"]["backoffLimit"], 0);
        assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    }

    #[test]
    fn parses_answers_errors_and_noise() {
        let log = "kubectl-mesh-probe cluster=a\nkubectl-mesh-probe cluster=b\n\
                   kubectl-mesh-probe cluster=a\nerror: curl: (56) Recv failure\n\
                   error: curl: (28) timeout\nsomething else\n\n";
        let answers = parse_log(log);
        assert_eq!(answers.by_cluster.get("a"), Some(&2));
        assert_eq!(answers.by_cluster.get("b"), Some(&1));
        assert_eq!(answers.errors, 2);
        assert_eq!(answers.first_error.as_deref(), Some("curl: (56) Recv failure"));
        assert_eq!(answers.unexpected, 1);
        assert_eq!(answers.total(), 6);
    }
}
