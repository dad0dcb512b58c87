//! What `up` hands to the installer (DESIGN §5.8): helm values per chart, or a Sail `Istio` CR.

use serde_json::{json, Value};

use super::eastwest::Flavor;
use crate::topology::{Member, Model, Topology};

/// Primary-remote: how a remote reaches the primary's control plane.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The primary's east-west (istiod) address.
    pub pilot_address: String,
}

fn istiod_env(topology: &Topology) -> Value {
    let mut env = json!({"PILOT_ENABLE_IP_AUTOALLOCATE": "true"});
    if topology.trust_domains_differ() {
        env["PILOT_SKIP_VALIDATE_TRUST_DOMAIN"] = json!("true");
    }
    env
}

/// Values of the istiod chart for `member` (remote profile when `remote` is given).
pub fn istiod(topology: &Topology, member: &Member, remote: Option<&Remote>) -> Value {
    let mut values = json!({
        "meshConfig": {"trustDomain": member.trust_domain},
        "global": {
            "multiCluster": {"clusterName": member.cluster},
            "network": member.network,
            "meshID": topology.mesh_id,
        },
        "env": istiod_env(topology),
    });
    if topology.flavor != Flavor::Sidecar {
        values["profile"] = json!("ambient");
    }
    if topology.flavor == Flavor::AmbientPeering {
        values["platforms"] = json!({"peering": {"enabled": true}});
    }
    if let Some(remote) = remote {
        values["profile"] = json!("remote");
        values["global"]["remotePilotAddress"] = json!(remote.pilot_address);
        values["istiodRemote"] = json!({
            "injectionPath": format!("/inject/cluster/{}/net/{}", member.cluster, member.network),
        });
    }
    values
}

pub fn ztunnel(topology: &Topology, member: &Member) -> Value {
    let mut values = json!({"network": member.network, "multiCluster": {"clusterName": member.cluster}});
    if topology.trust_domains_differ() {
        values["env"] = json!({"SKIP_VALIDATE_TRUST_DOMAIN": "true"});
    }
    values
}

pub fn cni() -> Value {
    json!({"profile": "ambient", "ambient": {"dnsCapture": true}})
}

pub fn base() -> Value {
    json!({})
}

/// The charts `up` installs with helm, in order: (release, chart, values).
pub fn helm_releases(
    topology: &Topology,
    member: &Member,
    remote: Option<&Remote>,
) -> Vec<(&'static str, &'static str, Value)> {
    let mut releases = vec![
        ("istio-base", "base", base()),
        ("istiod", "istiod", istiod(topology, member, remote)),
    ];
    if topology.flavor != Flavor::Sidecar {
        releases.push(("istio-cni", "cni", cni()));
        releases.push(("ztunnel", "ztunnel", ztunnel(topology, member)));
    }
    releases
}

/// A Sail operator `Istio` resource carrying the same values.
pub fn sail_istio(topology: &Topology, member: &Member, remote: Option<&Remote>) -> Value {
    let mut values = istiod(topology, member, remote);
    let profile = values
        .as_object_mut()
        .and_then(|v| v.remove("profile"))
        .unwrap_or(json!("default"));
    json!({
        "apiVersion": "sailoperator.io/v1",
        "kind": "Istio",
        "metadata": super::metadata("default", None, &[]),
        "spec": {"namespace": "istio-system", "profile": profile, "values": values},
    })
}

/// Whether `member` is a remote of a primary-remote mesh.
pub fn is_remote(topology: &Topology, member: &Member) -> bool {
    topology.model == Model::PrimaryRemote && topology.primary.as_deref() != Some(member.cluster.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(text: &str) -> Topology {
        Topology::parse(text, "t").unwrap()
    }

    #[test]
    fn istiod_values_per_design() {
        let t =
            topology("mesh_id: m\ncontexts:\n  a: {network: n1, trustDomain: a.local}\n  b: {network: n2}\n");
        let v = istiod(&t, &t.members[0], None);
        assert_eq!(v["meshConfig"]["trustDomain"], "a.local");
        assert_eq!(v["global"]["multiCluster"]["clusterName"], "a");
        assert_eq!(v["global"]["network"], "n1");
        assert_eq!(v["global"]["meshID"], "m");
        assert_eq!(v["env"]["PILOT_ENABLE_IP_AUTOALLOCATE"], "true");
        assert_eq!(v["env"]["PILOT_SKIP_VALIDATE_TRUST_DOMAIN"], "true");
        assert_eq!(v["platforms"]["peering"]["enabled"], true);
        assert_eq!(
            ztunnel(&t, &t.members[1])["env"]["SKIP_VALIDATE_TRUST_DOMAIN"],
            "true"
        );
        assert_eq!(cni()["ambient"]["dnsCapture"], true);
        assert_eq!(helm_releases(&t, &t.members[0], None).len(), 4);
    }

    #[test]
    fn remote_profile_and_sail() {
        let t = topology("mesh_id: m\nmodel: primary-remote\nprimary: a\ncontexts:\n  a: {network: n1}\n  b: {network: n2}\n");
        assert!(is_remote(&t, &t.members[1]));
        assert!(!is_remote(&t, &t.members[0]));
        let remote = Remote {
            pilot_address: "203.0.113.10".into(),
        };
        let v = istiod(&t, &t.members[1], Some(&remote));
        assert_eq!(v["profile"], "remote");
        assert_eq!(v["global"]["remotePilotAddress"], "203.0.113.10");
        assert_eq!(v["istiodRemote"]["injectionPath"], "/inject/cluster/b/net/n2");
        assert!(v["env"].get("PILOT_SKIP_VALIDATE_TRUST_DOMAIN").is_none());
        let cr = sail_istio(&t, &t.members[1], Some(&remote));
        assert_eq!(cr["apiVersion"], "sailoperator.io/v1");
        assert_eq!(cr["spec"]["profile"], "remote");
        assert_eq!(cr["spec"]["values"]["global"]["meshID"], "m");
        assert!(cr["spec"]["values"].get("profile").is_none());
    }
}
