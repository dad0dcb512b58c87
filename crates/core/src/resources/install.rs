//! What `up` hands to the installer (DESIGN §5.8): helm values per chart, or Sail operator
//! resources. One [`plan`] serves both the live `up` and `up --generate`, so the two never
//! disagree.
//!
//! Upstream sources followed (Istio 1.30.3 = istio/istio@56df41f6, Sail operator 1.30.3 =
//! istio-ecosystem/sail-operator@42411704):
//! * helm, ambient multi-network: istio.io `docs/ambient/install/multicluster/
//!   multi-primary_multi-network` (istiod `profile=ambient`, `env.AMBIENT_ENABLE_MULTI_NETWORK`;
//!   cni `profile=ambient`). Without that env, istiod registers no `istio-east-west`
//!   GatewayClass (`pilot/pkg/config/kube/gatewaycommon/classinfo.go`), so the east-west
//!   Gateway never gets an address.
//! * helm, primary-remote: istio.io `docs/setup/install/multicluster/primary-remote_multi-network`
//!   (`global.externalIstiod=true` on the primary's base and istiod; the remote gets
//!   `profile=remote`, `istiodRemote.injectionPath`, `global.remotePilotAddress`,
//!   `global.configCluster=true`); the remote profile is `manifests/charts/istio-control/
//!   istio-discovery/files/profile-remote.yaml` ("the base and istio-discovery charts must be
//!   deployed with this profile"). The page also sets `pilot.enabled=false` on the remote's
//!   istiod; in 1.30.3 no template of the `base` or `istio-discovery` charts reads it: the
//!   remote runs no istiod because the profile sets `istiodRemote.enabled: true`, which
//!   `istio-discovery/templates/deployment.yaml` (lines 2-3, "Not created if istiod is running
//!   remotely") checks. Checked with `git grep` on tag 1.30.3 of a fetched istio/istio.
//! * Sail: `docs/deployment-models/multicluster.adoc` and the CRDs in `chart/crds/`: istiod's
//!   env goes under `spec.values.pilot.env` (the `Istio` CRD has no `values.env` and no
//!   `values.platforms`), ambient needs an `IstioCNI` (namespace `istio-cni`, profile ambient)
//!   and a `ZTunnel` (namespace `ztunnel`, with network and cluster name), and istiod must
//!   trust that ztunnel namespace (`pilot.trustedZtunnelNamespace`).
//! * Solo's distribution (flavour ambient-peering): docs.solo.io "Solo Enterprise for Istio
//!   1.30.x, ambient multicluster, Helm": the licence goes in the istiod chart's `license.value`,
//!   images come from Solo's repository (`global.hub`, `global.tag` such as `1.30.3-solo`), and
//!   peering is `platforms.peering.enabled`.

use serde_json::{json, Value};

use super::eastwest::Flavor;
use super::namespace;
use crate::labels::ISTIO_SYSTEM;
use crate::topology::{Installer, Member, Model, Topology};

/// Primary-remote: how a remote reaches the primary's control plane.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The primary's east-west (istiod) address.
    pub pilot_address: String,
}

/// Solo's distribution of Istio: where its images are and the licence that unlocks peering.
#[derive(Clone)]
pub struct Solo {
    pub hub: String,
    pub tag: String,
    /// The licence key: a secret, never printed or logged (see the `Debug` impl).
    pub license: String,
}

impl std::fmt::Debug for Solo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Solo")
            .field("hub", &self.hub)
            .field("tag", &self.tag)
            .field("license", &"<redacted>")
            .finish()
    }
}

/// One `helm upgrade --install`.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmRelease {
    pub release: &'static str,
    pub chart: &'static str,
    pub values: Value,
    /// The values hold a secret (Solo's licence): their file is written 0600.
    pub secret: bool,
}

/// What one member gets from the installer.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// `installer: none`: Istio is installed by someone else.
    None,
    Helm(Vec<HelmRelease>),
    /// Objects to apply, in order (namespaces before the resources placed in them).
    Sail(Vec<Value>),
}

/// The installer's work for `member`. `remote` is the primary's address for a remote of a
/// primary-remote mesh (callers pass it only for remotes); `solo` is required for
/// ambient-peering with helm (checked by [`crate::up::preflight`]).
pub fn plan(topology: &Topology, member: &Member, remote: Option<&Remote>, solo: Option<&Solo>) -> Plan {
    match topology.installer {
        Installer::None => Plan::None,
        Installer::Helm => Plan::Helm(helm_releases(topology, member, remote, solo)),
        Installer::Sail => Plan::Sail(sail_objects(topology, member, remote)),
    }
}

/// Whether `member` is a remote of a primary-remote mesh.
pub fn is_remote(topology: &Topology, member: &Member) -> bool {
    topology.model == Model::PrimaryRemote && topology.primary.as_deref() != Some(member.cluster.as_str())
}

/// Whether `member` is the primary of a primary-remote mesh.
fn is_primary(topology: &Topology, member: &Member) -> bool {
    topology.model == Model::PrimaryRemote && topology.primary.as_deref() == Some(member.cluster.as_str())
}

fn istiod_env(topology: &Topology) -> Value {
    let mut env = json!({"PILOT_ENABLE_IP_AUTOALLOCATE": "true"});
    if topology.trust_domains_differ() {
        env["PILOT_SKIP_VALIDATE_TRUST_DOMAIN"] = json!("true");
    }
    if topology.flavor == Flavor::Ambient {
        env["AMBIENT_ENABLE_MULTI_NETWORK"] = json!("true");
    }
    env
}

/// The values istiod's chart and Sail's `Istio` share. `profile` is set by the caller: the
/// chart takes it as a value, Sail as `spec.profile`.
fn istiod_common(topology: &Topology, member: &Member, remote: Option<&Remote>) -> Value {
    let mut values = json!({
        "meshConfig": {"trustDomain": member.trust_domain},
        "global": {
            "multiCluster": {"clusterName": member.cluster},
            "network": member.network,
            "meshID": topology.mesh_id,
        },
    });
    if is_primary(topology, member) {
        values["global"]["externalIstiod"] = json!(true);
    }
    if let Some(remote) = remote {
        values["global"]["remotePilotAddress"] = json!(remote.pilot_address);
        values["global"]["configCluster"] = json!(true);
        values["istiodRemote"] = json!({
            "injectionPath": format!("/inject/cluster/{}/net/{}", member.cluster, member.network),
        });
    }
    values
}

/// The chart profile (helm) or `spec.profile` (Sail) of `member`.
fn profile(topology: &Topology, remote: bool) -> Option<&'static str> {
    match (remote, topology.flavor) {
        (true, _) => Some("remote"),
        (false, Flavor::Sidecar) => None,
        (false, Flavor::Ambient | Flavor::AmbientPeering) => Some("ambient"),
    }
}

fn with_solo_images(mut values: Value, solo: Option<&Solo>, under_global: bool) -> Value {
    if let Some(solo) = solo {
        let images = json!({"hub": solo.hub, "tag": solo.tag});
        if under_global {
            merge(&mut values, json!({"global": images}));
        } else {
            merge(&mut values, images);
        }
    }
    values
}

/// Values of the istiod chart.
pub fn istiod(topology: &Topology, member: &Member, remote: Option<&Remote>, solo: Option<&Solo>) -> Value {
    let mut values = istiod_common(topology, member, remote);
    values["env"] = istiod_env(topology);
    if let Some(profile) = profile(topology, remote.is_some()) {
        values["profile"] = json!(profile);
    }
    if topology.flavor == Flavor::AmbientPeering {
        values["platforms"] = json!({"peering": {"enabled": true}});
        if let Some(solo) = solo {
            values["license"] = json!({"value": solo.license});
        }
    }
    with_solo_images(values, solo, true)
}

pub fn base(topology: &Topology, member: &Member) -> Value {
    if is_remote(topology, member) {
        json!({"profile": "remote"})
    } else if is_primary(topology, member) {
        json!({"global": {"externalIstiod": true}})
    } else {
        json!({})
    }
}

pub fn ztunnel(topology: &Topology, member: &Member, solo: Option<&Solo>) -> Value {
    let mut values = json!({"network": member.network, "multiCluster": {"clusterName": member.cluster}});
    if topology.trust_domains_differ() {
        values["env"] = json!({"SKIP_VALIDATE_TRUST_DOMAIN": "true"});
    }
    // The ztunnel chart reads `hub`/`tag` at its top level (manifests/charts/ztunnel/values.yaml).
    with_solo_images(values, solo, false)
}

pub fn cni(solo: Option<&Solo>) -> Value {
    with_solo_images(
        json!({"profile": "ambient", "ambient": {"dnsCapture": true}}),
        solo,
        true,
    )
}

/// The charts `up` installs with helm, in order.
pub fn helm_releases(
    topology: &Topology,
    member: &Member,
    remote: Option<&Remote>,
    solo: Option<&Solo>,
) -> Vec<HelmRelease> {
    let release = |release, chart, values| HelmRelease {
        release,
        chart,
        values,
        secret: false,
    };
    let mut releases = vec![
        release("istio-base", "base", base(topology, member)),
        HelmRelease {
            secret: topology.flavor == Flavor::AmbientPeering && solo.is_some(),
            ..release("istiod", "istiod", istiod(topology, member, remote, solo))
        },
    ];
    if topology.flavor != Flavor::Sidecar {
        releases.push(release("istio-cni", "cni", cni(solo)));
        releases.push(release("ztunnel", "ztunnel", ztunnel(topology, member, solo)));
    }
    releases
}

/// Namespaces of Sail's ambient components (the CRDs' defaults, and the Sail docs' choice).
pub const SAIL_CNI_NAMESPACE: &str = "istio-cni";
pub const SAIL_ZTUNNEL_NAMESPACE: &str = "ztunnel";

fn sail(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "sailoperator.io/v1",
        "kind": kind,
        // IstioCNI and ZTunnel must be named `default` (their CRDs' CEL rule); Istio by convention.
        "metadata": super::metadata("default", None, &[]),
        "spec": spec,
    })
}

/// The Sail `Istio` resource of `member`.
pub fn sail_istio(topology: &Topology, member: &Member, remote: Option<&Remote>) -> Value {
    let mut values = istiod_common(topology, member, remote);
    values["pilot"] = json!({"env": istiod_env(topology)});
    let ambient = remote.is_none() && topology.flavor != Flavor::Sidecar;
    if ambient {
        values["pilot"]["trustedZtunnelNamespace"] = json!(SAIL_ZTUNNEL_NAMESPACE);
    }
    let mut spec = json!({"namespace": ISTIO_SYSTEM, "values": values});
    if let Some(profile) = profile(topology, remote.is_some()) {
        spec["profile"] = json!(profile);
    }
    sail("Istio", spec)
}

pub fn sail_cni() -> Value {
    sail(
        "IstioCNI",
        json!({"namespace": SAIL_CNI_NAMESPACE, "profile": "ambient"}),
    )
}

pub fn sail_ztunnel(topology: &Topology, member: &Member) -> Value {
    let mut ztunnel = json!({"network": member.network, "multiCluster": {"clusterName": member.cluster}});
    if topology.trust_domains_differ() {
        ztunnel["env"] = json!({"SKIP_VALIDATE_TRUST_DOMAIN": "true"});
    }
    sail(
        "ZTunnel",
        json!({"namespace": SAIL_ZTUNNEL_NAMESPACE, "values": {"ztunnel": ztunnel}}),
    )
}

/// Sail's objects for `member`: `Istio`, and for ambient the namespaces, `IstioCNI` and `ZTunnel`.
pub fn sail_objects(topology: &Topology, member: &Member, remote: Option<&Remote>) -> Vec<Value> {
    if topology.flavor == Flavor::Sidecar || remote.is_some() {
        return vec![sail_istio(topology, member, remote)];
    }
    vec![
        namespace::owned(SAIL_CNI_NAMESPACE),
        namespace::owned(SAIL_ZTUNNEL_NAMESPACE),
        sail_cni(),
        sail_ztunnel(topology, member),
        sail_istio(topology, member, remote),
    ]
}

/// Deep merge of `patch` into `target` (objects merge, anything else replaces).
fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(text: &str) -> Topology {
        Topology::parse(text, "t").unwrap()
    }

    fn solo() -> Solo {
        Solo {
            hub: "registry.example/solo".into(),
            tag: "1.30.3-solo".into(),
            license: "LICENSE-KEY".into(),
        }
    }

    #[test]
    fn istiod_values_per_design() {
        let t =
            topology("mesh_id: m\ncontexts:\n  a: {network: n1, trustDomain: a.local}\n  b: {network: n2}\n");
        let v = istiod(&t, &t.members[0], None, Some(&solo()));
        assert_eq!(v["meshConfig"]["trustDomain"], "a.local");
        assert_eq!(v["global"]["multiCluster"]["clusterName"], "a");
        assert_eq!(v["global"]["network"], "n1");
        assert_eq!(v["global"]["meshID"], "m");
        assert_eq!(v["env"]["PILOT_ENABLE_IP_AUTOALLOCATE"], "true");
        assert_eq!(v["env"]["PILOT_SKIP_VALIDATE_TRUST_DOMAIN"], "true");
        assert_eq!(v["platforms"]["peering"]["enabled"], true);
        assert_eq!(v["license"]["value"], "LICENSE-KEY");
        assert_eq!(v["global"]["hub"], "registry.example/solo");
        assert_eq!(v["global"]["tag"], "1.30.3-solo");
        assert!(v["env"].get("AMBIENT_ENABLE_MULTI_NETWORK").is_none());
        assert!(v["global"].get("externalIstiod").is_none());
        let z = ztunnel(&t, &t.members[1], Some(&solo()));
        assert_eq!(z["env"]["SKIP_VALIDATE_TRUST_DOMAIN"], "true");
        assert_eq!(z["hub"], "registry.example/solo");
        assert_eq!(cni(None)["ambient"]["dnsCapture"], true);
        let releases = helm_releases(&t, &t.members[0], None, Some(&solo()));
        let secret: Vec<_> = releases.iter().filter(|r| r.secret).map(|r| r.release).collect();
        assert_eq!(secret, ["istiod"], "only istiod's values hold the licence");
        assert_eq!(releases.len(), 4);
    }

    #[test]
    fn upstream_ambient_enables_multi_network() {
        let t = topology("mesh_id: m\nflavor: ambient\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n");
        let v = istiod(&t, &t.members[0], None, None);
        assert_eq!(v["env"]["AMBIENT_ENABLE_MULTI_NETWORK"], "true");
        assert_eq!(v["profile"], "ambient");
        assert!(v.get("platforms").is_none(), "peering is Solo's");
        let cr = sail_istio(&t, &t.members[0], None);
        assert_eq!(
            cr["spec"]["values"]["pilot"]["env"]["AMBIENT_ENABLE_MULTI_NETWORK"],
            "true"
        );
        assert_eq!(
            cr["spec"]["values"]["pilot"]["trustedZtunnelNamespace"],
            "ztunnel"
        );
        assert!(cr["spec"]["values"].get("env").is_none());
        assert_eq!(cr["spec"]["profile"], "ambient");
    }

    #[test]
    fn primary_remote_values() {
        let t = topology("mesh_id: m\nflavor: sidecar\nmodel: primary-remote\nprimary: a\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n");
        let (p, r) = (&t.members[0], &t.members[1]);
        assert!(is_remote(&t, r));
        assert!(!is_remote(&t, p));
        assert_eq!(base(&t, p)["global"]["externalIstiod"], true);
        assert_eq!(istiod(&t, p, None, None)["global"]["externalIstiod"], true);
        assert_eq!(base(&t, r)["profile"], "remote");
        let remote = Remote {
            pilot_address: "203.0.113.10".into(),
        };
        let v = istiod(&t, r, Some(&remote), None);
        assert_eq!(v["profile"], "remote");
        assert_eq!(v["global"]["remotePilotAddress"], "203.0.113.10");
        assert_eq!(v["global"]["configCluster"], true);
        assert_eq!(v["istiodRemote"]["injectionPath"], "/inject/cluster/b/net/n2");
        assert!(v["global"].get("externalIstiod").is_none());
        let cr = sail_istio(&t, r, Some(&remote));
        assert_eq!(cr["apiVersion"], "sailoperator.io/v1");
        assert_eq!(cr["spec"]["profile"], "remote");
        assert_eq!(cr["spec"]["values"]["global"]["meshID"], "m");
        assert!(cr["spec"]["values"].get("profile").is_none());
        assert_eq!(
            sail_istio(&t, p, None)["spec"]["values"]["global"]["externalIstiod"],
            true
        );
    }

    #[test]
    fn sail_ambient_adds_cni_and_ztunnel() {
        let t = topology("mesh_id: m\nflavor: ambient\ninstaller: sail\ncontexts:\n  a: {network: n1}\n");
        let Plan::Sail(objects) = plan(&t, &t.members[0], None, None) else {
            panic!("sail plan");
        };
        let kinds: Vec<_> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Namespace", "Namespace", "IstioCNI", "ZTunnel", "Istio"]);
        assert_eq!(objects[3]["spec"]["values"]["ztunnel"]["network"], "n1");
        assert_eq!(
            objects[3]["spec"]["values"]["ztunnel"]["multiCluster"]["clusterName"],
            "a"
        );
        assert_eq!(objects[3]["spec"]["namespace"], "ztunnel");
        assert_eq!(objects[2]["spec"]["profile"], "ambient");
    }

    #[test]
    fn solo_licence_is_not_in_debug_output() {
        assert!(!format!("{:?}", solo()).contains("LICENSE-KEY"));
    }
}
