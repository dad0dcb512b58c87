//! The probe of `verify --traffic`: an echo server and a client Job, in a temporary namespace
//! that has the same name in every cluster (namespace sameness is what makes the Services one
//! global service). Pure builders and the parser of the client's log.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, HTTPGetAction, Namespace, PodSpec, PodTemplateSpec,
    Probe as K8sProbe, ResourceRequirements, SeccompProfile, SecurityContext, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::eastwest::Flavor;
use crate::labels::{GLOBAL, MANAGED_BY, SERVICE_SCOPE, TRAFFIC_DISTRIBUTION};

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
    /// The host clients call, the flavour's global host ([`Flavor::global_host`]): Solo's
    /// `mesh.internal` host for ambient-peering; the cluster-local host for upstream ambient
    /// (it has no global domain: `istio.io/global` merges the clusters' endpoints into
    /// `<svc>.<ns>.svc.cluster.local`, istio 1.30.3 pilot/pkg/serviceregistry/ambient/services.go:690)
    /// and for sidecars (multi-primary treats same-named Services as one).
    pub fn host(&self) -> String {
        self.flavor.global_host(SERVER, &self.namespace)
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.host())
    }

    fn metadata(&self, name: &str, app: &str) -> ObjectMeta {
        super::object_meta(
            name,
            Some(&self.namespace),
            &[("app", app), (PROBE_LABEL, "true")],
        )
    }

    /// The temporary namespace, enrolled in the mesh the way the flavour needs.
    pub fn namespace_object(&self) -> Value {
        let mut metadata = super::object_meta(&self.namespace, None, &[(PROBE_LABEL, "true")]);
        let (key, value) = match self.flavor {
            Flavor::AmbientPeering | Flavor::Ambient => ("istio.io/dataplane-mode", "ambient"),
            Flavor::Sidecar => ("istio-injection", "enabled"),
        };
        metadata
            .labels
            .get_or_insert_default()
            .insert(key.to_string(), value.to_string());
        let namespace = Namespace {
            metadata,
            ..Namespace::default()
        };
        super::to_value(&namespace, &[PROBE_LABEL, MANAGED_BY, key])
    }

    /// The echo server of `cluster`: it answers with the cluster's name.
    pub fn server(&self, cluster: &str) -> Value {
        let app = super::string_map(&[("app", SERVER)]);
        let deployment = Deployment {
            metadata: self.metadata(SERVER, SERVER),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                selector: LabelSelector {
                    match_labels: Some(app.clone()),
                    ..LabelSelector::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(app),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "echo".into(),
                            image: Some(self.server_image.clone()),
                            args: Some(vec![
                                format!("-listen=:{SERVER_PORT}"),
                                format!("-text={ANSWER_PREFIX}{cluster}"),
                            ]),
                            ports: Some(vec![ContainerPort {
                                name: Some("http".into()),
                                container_port: SERVER_PORT.into(),
                                ..ContainerPort::default()
                            }]),
                            readiness_probe: Some(K8sProbe {
                                http_get: Some(HTTPGetAction {
                                    path: Some("/".into()),
                                    port: IntOrString::String("http".into()),
                                    ..HTTPGetAction::default()
                                }),
                                period_seconds: Some(2),
                                ..K8sProbe::default()
                            }),
                            resources: Some(small()),
                            security_context: Some(restricted()),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        };
        super::to_value(&deployment, &["app", PROBE_LABEL, MANAGED_BY])
    }

    /// The Service, global in every cluster, spreading calls over all clusters: the default
    /// (PreferNetwork) would keep them in the caller's network and prove nothing.
    pub fn service(&self) -> Value {
        let mut metadata = self.metadata(SERVER, SERVER);
        let scope = match self.flavor {
            Flavor::AmbientPeering => Some((SERVICE_SCOPE, "global")),
            Flavor::Ambient => Some((GLOBAL, "true")),
            Flavor::Sidecar => None,
        };
        if let Some((key, value)) = scope {
            metadata
                .labels
                .get_or_insert_default()
                .insert(key.to_string(), value.to_string());
        }
        metadata.annotations = Some(super::string_map(&[(TRAFFIC_DISTRIBUTION, "Any")]));
        let service = Service {
            metadata,
            spec: Some(ServiceSpec {
                selector: Some(super::string_map(&[("app", SERVER)])),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: 80,
                    target_port: Some(IntOrString::String("http".into())),
                    ..ServicePort::default()
                }]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        // The scope label comes last, after our managed-by label.
        let mut label_order = vec!["app", PROBE_LABEL, MANAGED_BY];
        label_order.extend(scope.map(|(key, _)| key));
        super::to_value(&service, &label_order)
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
        let env = |name: &str, value: String| EnvVar {
            name: name.into(),
            value: Some(value),
            ..EnvVar::default()
        };
        let job = Job {
            metadata: self.metadata(&Self::client_name(run), CLIENT),
            spec: Some(JobSpec {
                backoff_limit: Some(0),
                // Far more than the requests take; a stuck Job must not outlive the run.
                active_deadline_seconds: Some(120 + 4 * i64::from(self.requests)),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(super::string_map(&[("app", CLIENT)])),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        containers: vec![Container {
                            name: CLIENT_CONTAINER.into(),
                            image: Some(self.client_image.clone()),
                            command: Some(vec!["/bin/sh".into(), "-c".into(), CLIENT_SCRIPT.into()]),
                            env: Some(vec![
                                env("PROBE_URL", self.url()),
                                env("PROBE_REQUESTS", self.requests.to_string()),
                            ]),
                            resources: Some(small()),
                            security_context: Some(restricted()),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..JobSpec::default()
            }),
            ..Job::default()
        };
        super::to_value(&job, &["app", PROBE_LABEL, MANAGED_BY])
    }

    /// The client container, for reading its log.
    pub fn client_container(&self) -> &'static str {
        CLIENT_CONTAINER
    }
}

/// What the server and the client ask for: little, and a memory limit.
fn small() -> ResourceRequirements {
    let quantities = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
            .collect()
    };
    ResourceRequirements {
        requests: Some(quantities(&[("cpu", "10m"), ("memory", "16Mi")])),
        limits: Some(quantities(&[("memory", "64Mi")])),
        ..ResourceRequirements::default()
    }
}

/// A container security context that passes the `restricted` Pod Security Standard, so the
/// probe also runs in clusters that enforce it.
fn restricted() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Capabilities::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..SeccompProfile::default()
        }),
        ..SecurityContext::default()
    }
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
        assert_eq!(svc["metadata"]["labels"][SERVICE_SCOPE], "global");
        assert_eq!(svc["metadata"]["annotations"][TRAFFIC_DISTRIBUTION], "Any");
        assert_eq!(svc["spec"]["selector"]["app"], SERVER);
        let svc = probe(Flavor::Ambient).service();
        assert_eq!(svc["metadata"]["labels"][GLOBAL], "true");
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

    fn keys(value: &Value) -> Vec<&str> {
        value.as_object().unwrap().keys().map(String::as_str).collect()
    }

    /// The fields in the order we have always sent them (k8s-openapi's own is alphabetical, and
    /// sorts labels).
    #[test]
    fn server_fields_in_our_order() {
        let yaml = serde_yaml_ng::to_string(&probe(Flavor::Ambient).server("east-1")).unwrap();
        let expected = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: mesh-probe
  namespace: kubectl-mesh-probe-abc123
  labels:
    app: mesh-probe
    kubectl-mesh.io/probe: 'true'
    app.kubernetes.io/managed-by: kubectl-mesh
spec:
  replicas: 1
  selector:
    matchLabels:
      app: mesh-probe
  template:
    metadata:
      labels:
        app: mesh-probe
    spec:
      containers:
      - name: echo
        image: hashicorp/http-echo:1.0
        args:
        - -listen=:8080
        - -text=kubectl-mesh-probe cluster=east-1
        ports:
        - name: http
          containerPort: 8080
        readinessProbe:
          httpGet:
            path: /
            port: http
          periodSeconds: 2
        resources:
          requests:
            cpu: 10m
            memory: 16Mi
          limits:
            memory: 64Mi
        securityContext:
          runAsNonRoot: true
          runAsUser: 65532
          allowPrivilegeEscalation: false
          capabilities:
            drop:
            - ALL
          seccompProfile:
            type: RuntimeDefault
";
        assert_eq!(yaml, expected);
    }

    #[test]
    fn namespace_service_and_client_fields_in_our_order() {
        let ns = probe(Flavor::Sidecar).namespace_object();
        assert_eq!(
            keys(&ns["metadata"]["labels"]),
            [PROBE_LABEL, MANAGED_BY, "istio-injection"]
        );
        let svc = probe(Flavor::AmbientPeering).service();
        assert_eq!(keys(&svc), ["apiVersion", "kind", "metadata", "spec"]);
        assert_eq!(
            keys(&svc["metadata"]),
            ["name", "namespace", "labels", "annotations"]
        );
        assert_eq!(
            keys(&svc["metadata"]["labels"]),
            ["app", PROBE_LABEL, MANAGED_BY, SERVICE_SCOPE]
        );
        assert_eq!(keys(&svc["spec"]), ["selector", "ports"]);
        assert_eq!(keys(&svc["spec"]["ports"][0]), ["name", "port", "targetPort"]);
        let job = probe(Flavor::AmbientPeering).client(1);
        assert_eq!(
            keys(&job["spec"]),
            ["backoffLimit", "activeDeadlineSeconds", "template"]
        );
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(keys(pod), ["restartPolicy", "containers"]);
        assert_eq!(
            keys(&pod["containers"][0]),
            ["name", "image", "command", "env", "resources", "securityContext"]
        );
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
