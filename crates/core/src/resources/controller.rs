//! What runs `kubectl mesh controller` in a management cluster (`controller --generate`):
//! its namespace, ServiceAccount, a Role that reaches only its own Lease and status
//! ConfigMap, the Deployment (two replicas, one leads), the topology file as a ConfigMap, and
//! the layout of the Secret holding the member clusters' kubeconfig, which the user fills.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    Namespace, ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, Secret, SecretVolumeSource, SecurityContext, ServiceAccount,
    Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::labels::MANAGED_BY;

pub const NAME: &str = "kubectl-mesh-controller";
/// The Secret the user fills with one kubeconfig naming every member's context.
pub const MEMBERS_SECRET: &str = "kubectl-mesh-members";
pub const TOPOLOGY_CONFIG_MAP: &str = "kubectl-mesh-topology";
const METRICS_PORT: i32 = 9090;
const LABEL_ORDER: [&str; 2] = ["app", MANAGED_BY];

/// What shapes the controller's objects.
#[derive(Debug, Clone)]
pub struct ControllerSpec {
    pub namespace: String,
    pub image: String,
    /// The member clusters (for the Secret's layout).
    pub members: Vec<String>,
    /// The topology file's text, when the controller follows one.
    pub topology: Option<String>,
    /// The controller's flags beyond the members, lease and listen address.
    pub args: Vec<String>,
    /// The Lease replicas share (its status ConfigMap is `<lease>-status`).
    pub lease_name: String,
}

/// Every object, in the order to apply them.
pub fn objects(spec: &ControllerSpec) -> Vec<Value> {
    let mut objects = vec![
        namespace(spec),
        service_account(spec),
        role(spec),
        role_binding(spec),
        members_secret(spec),
    ];
    if let Some(text) = &spec.topology {
        objects.push(topology(spec, text));
    }
    objects.push(deployment(spec));
    objects
}

fn meta(spec: &ControllerSpec, name: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    super::object_meta(name, Some(&spec.namespace), &[("app", NAME)])
}

fn namespace(spec: &ControllerSpec) -> Value {
    let namespace = Namespace {
        metadata: super::object_meta(&spec.namespace, None, &[]),
        ..Namespace::default()
    };
    super::to_value(&namespace, &LABEL_ORDER)
}

fn service_account(spec: &ControllerSpec) -> Value {
    let account = ServiceAccount {
        metadata: meta(spec, NAME),
        ..ServiceAccount::default()
    };
    super::to_value(&account, &LABEL_ORDER)
}

/// Its own Lease and status ConfigMap, by name; `create` cannot be limited by name (RBAC
/// resourceNames do not apply to it). Writing the members is done with the kubeconfig in
/// the Secret, whose identities need what `kubectl mesh link` needs.
fn role(spec: &ControllerSpec) -> Value {
    let status = format!("{}-status", spec.lease_name);
    let role = Role {
        metadata: meta(spec, NAME),
        rules: Some(vec![
            rule("coordination.k8s.io", "leases", &[], &["create"]),
            rule(
                "coordination.k8s.io",
                "leases",
                &[&spec.lease_name],
                &["get", "update", "patch"],
            ),
            rule("", "configmaps", &[], &["create"]),
            rule("", "configmaps", &[&status], &["get", "update", "patch"]),
        ]),
    };
    super::to_value(&role, &LABEL_ORDER)
}

fn role_binding(spec: &ControllerSpec) -> Value {
    let binding = RoleBinding {
        metadata: meta(spec, NAME),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: NAME.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: NAME.into(),
            namespace: Some(spec.namespace.clone()),
            ..Subject::default()
        }]),
    };
    super::to_value(&binding, &LABEL_ORDER)
}

/// The Secret's layout: one key, `kubeconfig`, with a context per member. It is printed
/// with a placeholder (credentials are never printed); create the real one with
/// `kubectl create secret generic kubectl-mesh-members --from-file=kubeconfig=FILE`.
fn members_secret(spec: &ControllerSpec) -> Value {
    let placeholder = format!(
        "# replace: a kubeconfig with the contexts {} (kubectl create secret generic {MEMBERS_SECRET} -n {} --from-file=kubeconfig=FILE --dry-run=client -o yaml | kubectl apply --server-side --force-conflicts -f -)\n",
        spec.members.join(", "),
        spec.namespace
    );
    let secret = Secret {
        metadata: meta(spec, MEMBERS_SECRET),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([("kubeconfig".to_string(), placeholder)])),
        ..Secret::default()
    };
    super::to_value(&secret, &LABEL_ORDER)
}

fn topology(spec: &ControllerSpec, text: &str) -> Value {
    let config_map = ConfigMap {
        metadata: meta(spec, TOPOLOGY_CONFIG_MAP),
        data: Some(BTreeMap::from([("mesh.yaml".to_string(), text.to_string())])),
        ..ConfigMap::default()
    };
    super::to_value(&config_map, &LABEL_ORDER)
}

fn args(spec: &ControllerSpec) -> Vec<String> {
    let mut args = vec![
        "controller".to_string(),
        "--kubeconfig=/etc/kubectl-mesh/members/kubeconfig".into(),
        // New tokens in the members Secret reach the pod's files, not its clients: it exits
        // on them and the Deployment starts it again.
        "--exit-on-kubeconfig-change".into(),
        format!("--listen=0.0.0.0:{METRICS_PORT}"),
    ];
    if spec.topology.is_some() {
        args.push("--filename=/etc/kubectl-mesh/topology/mesh.yaml".into());
    }
    args.extend(spec.args.iter().cloned());
    args
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.into(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("metrics".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(10),
        ..Probe::default()
    }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

fn container(spec: &ControllerSpec) -> Container {
    let mut mounts = vec![mount("members", "/etc/kubectl-mesh/members")];
    if spec.topology.is_some() {
        mounts.push(mount("topology", "/etc/kubectl-mesh/topology"));
    }
    let quantity = |q: &str| Quantity(q.to_string());
    Container {
        name: "controller".into(),
        image: Some(spec.image.clone()),
        command: Some(vec!["kubectl-mesh".into()]),
        args: Some(args(spec)),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("metrics".into()),
            container_port: METRICS_PORT,
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/healthz")),
        readiness_probe: Some(probe("/readyz")),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), quantity("50m")),
                ("memory".to_string(), quantity("64Mi")),
            ])),
            limits: Some(BTreeMap::from([("memory".to_string(), quantity("256Mi"))])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(k8s_openapi::api::core::v1::Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

fn volumes(spec: &ControllerSpec) -> Vec<Volume> {
    let mut volumes = vec![Volume {
        name: "members".into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(MEMBERS_SECRET.into()),
            default_mode: Some(0o400),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }];
    if spec.topology.is_some() {
        volumes.push(Volume {
            name: "topology".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: TOPOLOGY_CONFIG_MAP.into(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    volumes
}

/// Two replicas: one leads, the other takes over within the lease duration.
fn deployment(spec: &ControllerSpec) -> Value {
    let labels = super::string_map(&[("app", NAME)]);
    let deployment = Deployment {
        metadata: meta(spec, NAME),
        spec: Some(DeploymentSpec {
            replicas: Some(2),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(NAME.into()),
                    // What Pod Security's `restricted` level requires of a pod, with the
                    // container's no privilege escalation and no capabilities
                    // (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65532),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    containers: vec![container(spec)],
                    volumes: Some(volumes(spec)),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    super::to_value(&deployment, &LABEL_ORDER)
}

/// The identity the controller uses in every member cluster: a ServiceAccount in
/// [`MEMBER_NAMESPACE`], with Roles granting what its links need and nothing more. Apply these
/// in each member, then put a token of the ServiceAccount into the members' kubeconfig.
pub const MEMBER_NAMESPACE: &str = "kubectl-mesh";

/// How the members are linked, for their Roles.
#[derive(Debug, Clone)]
pub enum MemberLinks {
    /// Peer Gateways in `namespace`.
    Peering { namespace: String },
    /// Remote secrets (istioctl create-remote-secret's objects).
    RemoteSecrets,
}

/// What to apply in each member cluster for the controller's identity there; `members`: the
/// clusters of the mesh (its links are named after them); `prune`: it may also delete its
/// links (`controller --prune`).
pub fn member_objects(links: &MemberLinks, members: &[String], prune: bool) -> Vec<Value> {
    let spec = ControllerSpec {
        namespace: MEMBER_NAMESPACE.into(),
        image: String::new(),
        members: Vec::new(),
        topology: None,
        args: Vec::new(),
        lease_name: NAME.into(),
    };
    let mut objects = vec![namespace(&spec), service_account(&spec), member_token(&spec)];
    let name = format!("{NAME}-member");
    let subject = Subject {
        kind: "ServiceAccount".into(),
        name: NAME.into(),
        namespace: Some(MEMBER_NAMESPACE.into()),
        ..Subject::default()
    };
    for (namespace, rules) in member_rules(links, members, prune) {
        let metadata = super::object_meta(&name, namespace.as_deref(), &[("app", NAME)]);
        let role_ref = |kind: &str| RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: kind.into(),
            name: name.clone(),
        };
        let subjects = Some(vec![subject.clone()]);
        match namespace {
            Some(_) => {
                let role = Role {
                    metadata: metadata.clone(),
                    rules: Some(rules),
                };
                let binding = RoleBinding {
                    metadata,
                    role_ref: role_ref("Role"),
                    subjects,
                };
                objects.push(super::to_value(&role, &LABEL_ORDER));
                objects.push(super::to_value(&binding, &LABEL_ORDER));
            }
            None => {
                let role = ClusterRole {
                    metadata: metadata.clone(),
                    rules: Some(rules),
                    ..ClusterRole::default()
                };
                let binding = ClusterRoleBinding {
                    metadata,
                    role_ref: role_ref("ClusterRole"),
                    subjects,
                };
                objects.push(super::to_value(&role, &LABEL_ORDER));
                objects.push(super::to_value(&binding, &LABEL_ORDER));
            }
        }
    }
    objects
}

/// The name of [`member_token`].
pub const MEMBER_TOKEN: &str = "kubectl-mesh-controller-token";

/// A long-lived token for the controller's identity in a member: what goes into the members'
/// kubeconfig. `kubectl create token` gives one that expires (an hour by default), after
/// which every call is refused.
fn member_token(spec: &ControllerSpec) -> Value {
    let secret = super::service_account_token(MEMBER_TOKEN, &spec.namespace, NAME, &[("app", NAME)]);
    super::to_value(&secret, &LABEL_ORDER)
}

fn rule(group: &str, resource: &str, names: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        resource_names: (!names.is_empty()).then(|| names.iter().map(|n| n.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..PolicyRule::default()
    }
}

/// Per namespace (`None`: cluster-wide), what the controller does there. Peering: it watches
/// and writes Gateways (server-side apply creates a missing peer: `create` and `patch`) and
/// records Events in the peering namespace; in istio-system it reads the mesh config (`istio`,
/// for the trust domain) and watches `cacerts` by name (a fieldSelector on the name is
/// authorized by resourceNames), so it can never read another Secret. Remote secrets: as a
/// source it writes and watches the remote secrets in istio-system, selected by label (RBAC
/// cannot narrow a label selector, so this identity reads istio-system's Secrets); as a target
/// it checks the reader `link` set up (its ServiceAccount, ClusterRole and binding, read by
/// name) and mints the reader's bounded tokens. Setting the reader up stays with `link` or
/// `up`, run by an admin: creating a ClusterRole needs the permissions it grants.
fn member_rules(
    links: &MemberLinks,
    members: &[String],
    prune: bool,
) -> Vec<(Option<String>, Vec<PolicyRule>)> {
    use crate::resources::remote_secret::{READER, READER_ROLE};
    // Listing and watching cannot be narrowed to names, nor can create (the name is not
    // known when it is authorized; a server-side apply that creates is authorized as create
    // too). Changing and deleting can: only the links, named after the members.
    let link_names: Vec<String> = members
        .iter()
        .map(|m| match links {
            MemberLinks::Peering { .. } => crate::resources::peering::name(m),
            MemberLinks::RemoteSecrets => crate::resources::remote_secret::secret_name(m),
        })
        .collect();
    let link_names: Vec<&str> = link_names.iter().map(String::as_str).collect();
    let change_verbs: &[&str] = match prune {
        false => &["patch"],
        true => &["patch", "delete"],
    };
    let links_rules = |group: &str, resource: &str| {
        [
            rule(group, resource, &[], &["get", "list", "watch", "create"]),
            rule(group, resource, &link_names, change_verbs),
        ]
    };
    let istio_system = vec![
        rule("", "configmaps", &["istio"], &["get"]),
        rule(
            "",
            "secrets",
            &[crate::resources::cacerts::NAME],
            &["get", "list", "watch"],
        ),
    ];
    let system = Some(crate::labels::ISTIO_SYSTEM.to_string());
    match links {
        MemberLinks::Peering { namespace } => vec![
            (
                Some(namespace.clone()),
                [
                    links_rules("gateway.networking.k8s.io", "gateways").as_slice(),
                    &[rule("", "events", &[], &["create"])],
                ]
                .concat(),
            ),
            (system, istio_system),
        ],
        MemberLinks::RemoteSecrets => {
            let mut rules = istio_system;
            rules.extend(links_rules("", "secrets"));
            rules.push(rule("", "events", &[], &["create"]));
            rules.push(rule("", "serviceaccounts", &[READER], &["get"]));
            rules.push(rule("", "serviceaccounts/token", &[READER], &["create"]));
            let cluster = vec![
                rule("", "namespaces", &[crate::labels::ISTIO_SYSTEM], &["get"]),
                rule(
                    "rbac.authorization.k8s.io",
                    "clusterroles",
                    &[READER_ROLE],
                    &["get"],
                ),
                rule(
                    "rbac.authorization.k8s.io",
                    "clusterrolebindings",
                    &[READER_ROLE],
                    &["get"],
                ),
            ];
            vec![(system, rules), (None, cluster)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(objects: &[Value]) -> String {
        let kinds: Vec<&str> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        kinds.join(" ")
    }

    fn spec(topology: Option<&str>) -> ControllerSpec {
        ControllerSpec {
            namespace: "kubectl-mesh".into(),
            image: "registry.example/kubectl-mesh:0.1.0".into(),
            members: vec!["a".into(), "b".into()],
            topology: topology.map(str::to_string),
            args: vec!["--lease-name=kubectl-mesh-controller".into()],
            lease_name: NAME.into(),
        }
    }

    #[test]
    fn members_grant_peering_no_secret_but_cacerts() {
        let links = MemberLinks::Peering {
            namespace: "istio-gateways".into(),
        };
        let members = ["a".to_string(), "b".to_string()];
        let deletes = |objects: &[Value]| {
            objects
                .iter()
                .filter_map(|o| o["rules"].as_array())
                .flatten()
                .any(|r| {
                    r["verbs"]
                        .as_array()
                        .unwrap()
                        .contains(&serde_json::json!("delete"))
                })
        };
        assert!(
            !deletes(&member_objects(&links, &members, false)),
            "no delete without --prune"
        );
        assert!(
            deletes(&member_objects(&links, &members, true)),
            "--prune deletes"
        );
        let objects = member_objects(&links, &members, false);
        assert_eq!(
            kinds(&objects),
            "Namespace ServiceAccount Secret Role RoleBinding Role RoleBinding"
        );
        assert_eq!(objects[2]["type"], "kubernetes.io/service-account-token");
        // Only its links may be changed or deleted: never the east-west Gateway.
        let peering = &objects[3];
        for rule in peering["rules"].as_array().unwrap() {
            let verbs = rule["verbs"].to_string();
            if verbs.contains("patch") || verbs.contains("delete") {
                assert_eq!(
                    rule["resourceNames"],
                    serde_json::json!(["istio-remote-peer-a", "istio-remote-peer-b"]),
                    "{rule}"
                );
            }
        }
        let system = &objects[5];
        assert_eq!(system["metadata"]["namespace"], "istio-system");
        for rule in system["rules"].as_array().unwrap() {
            assert!(rule["resourceNames"].is_array(), "named objects only: {rule}");
        }
    }

    #[test]
    fn the_role_reaches_only_its_own_lease_and_status() {
        let objects = objects(&spec(None));
        let role = objects.iter().find(|o| o["kind"] == "Role").unwrap();
        for rule in role["rules"].as_array().unwrap() {
            let verbs: Vec<&str> = rule["verbs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            if verbs != ["create"] {
                assert!(rule["resourceNames"].is_array(), "named: {rule}");
            }
            assert!(!verbs.contains(&"list") && !verbs.contains(&"delete"), "{rule}");
        }
    }

    #[test]
    fn the_deployment_reads_members_and_topology_from_mounts() {
        let objects = objects(&spec(Some("meshID: m\n")));
        assert_eq!(
            kinds(&objects),
            "Namespace ServiceAccount Role RoleBinding Secret ConfigMap Deployment"
        );
        let deployment = objects.last().unwrap();
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(args[0], "controller");
        assert!(args.contains(&"--filename=/etc/kubectl-mesh/topology/mesh.yaml"));
        assert!(args.contains(&"--kubeconfig=/etc/kubectl-mesh/members/kubeconfig"));
        assert_eq!(deployment["spec"]["replicas"], 2);
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        // No credentials: the Secret is a placeholder naming what goes in it.
        let secret = &objects[4];
        let text = secret["stringData"]["kubeconfig"].as_str().unwrap();
        assert!(text.starts_with("# replace:") && text.contains("a, b"), "{text}");
    }
}
