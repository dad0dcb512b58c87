//! The watches of one member cluster, turned into [`Observed`] facts. kube-runtime's
//! `watcher` does the protocol (list, then watch from its resourceVersion with bookmarks,
//! relist on 410 Gone) and its default backoff re-connects to a cluster that went away.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::state::{CertView, LinkView, Observed};
use crate::expose::address_of;
use crate::kube::clusters::Cluster;
use crate::kube::kinds::{self, name_of, Kind};
use crate::labels::{ISTIO_SYSTEM, MANAGED_BY, MANAGED_BY_VALUE, PEER_CLUSTER};
use crate::resources::cacerts;
use crate::resources::remote_secret::{CLUSTER_ANNOTATION, MULTICLUSTER_LABEL};

/// What to watch in every member.
#[derive(Debug, Clone)]
pub enum Links {
    /// Peer Gateways and the east-west Gateway, all in `namespace`.
    Peering { namespace: String, gateway: String },
    /// Remote secrets in istio-system.
    RemoteSecrets,
}

/// A fact from cluster `.0`.
pub type Sighting = (usize, Observed);

/// Starts the watches of cluster `index`; they run until `tx` is closed.
pub fn spawn(index: usize, cluster: &Cluster, links: &Links, tx: mpsc::Sender<Sighting>) {
    let client = cluster.api.kube_client();
    let (api, config, reader): (_, _, fn(&Value, &Links) -> Option<Observed>) = match links {
        Links::Peering { namespace, .. } => (
            Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource(kinds::GATEWAY)),
            watcher::Config::default(),
            read_gateway,
        ),
        Links::RemoteSecrets => (
            Api::<DynamicObject>::namespaced_with(client.clone(), ISTIO_SYSTEM, &resource(kinds::SECRET)),
            watcher::Config::default().labels(&format!(
                "{MULTICLUSTER_LABEL}=true,{MANAGED_BY}={MANAGED_BY_VALUE}"
            )),
            read_remote_secret,
        ),
    };
    tokio::spawn(watch(index, api, config, links.clone(), reader, true, tx.clone()));
    let certs = Api::<DynamicObject>::namespaced_with(client, ISTIO_SYSTEM, &resource(kinds::SECRET));
    let config = watcher::Config::default().fields(&format!("metadata.name={}", cacerts::NAME));
    tokio::spawn(watch(
        index,
        certs,
        config,
        links.clone(),
        read_cacerts,
        false,
        tx,
    ));
}

fn resource(kind: Kind) -> ApiResource {
    let (group, version) = kind
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", kind.api_version));
    ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: kind.api_version.to_string(),
        kind: kind.kind.to_string(),
        plural: kind.plural.to_string(),
    }
}

/// One watch: every object it sees goes through `read`; a deletion (or an object gone when
/// the watch relists) as the object's "gone" fact. `of_links`: the watch of our links, which
/// says when it has listed them all ([`Observed::Synced`]).
async fn watch(
    index: usize,
    api: Api<DynamicObject>,
    config: watcher::Config,
    links: Links,
    read: fn(&Value, &Links) -> Option<Observed>,
    of_links: bool,
    tx: mpsc::Sender<Sighting>,
) {
    // What the watch lists, for the probe below (with the same selectors, which is what the
    // member RBAC allows: cacerts only by name).
    let probe_params = ListParams {
        label_selector: config.label_selector.clone(),
        field_selector: config.field_selector.clone(),
        limit: Some(1),
        ..ListParams::default()
    };
    let probe_api = api.clone();
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    let mut healthy = false;
    // Only after a failure: before its first answer a cluster is waited for by its watch.
    let mut failed = false;
    // What each object said when last seen (not the object: at 100 clusters that is 10 000
    // peer Gateways with their managedFields), by name, and the names seen again since a
    // (re)list began: one missing from a relist was deleted while the watch was away.
    let mut listed: BTreeMap<String, Option<Observed>> = BTreeMap::new();
    let mut relisting: BTreeSet<String> = BTreeSet::new();
    loop {
        let event = tokio::select! {
            event = stream.next() => match event {
                Some(event) => event,
                None => return,
            },
            // A watch that resumes from its resourceVersion after an outage says nothing
            // until an object changes: ask whether the cluster answers again.
            _ = probe.tick(), if failed && !healthy => {
                let answer = tokio::time::timeout(PROBE_EVERY, probe_api.list_metadata(&probe_params)).await;
                if matches!(answer, Ok(Ok(_))) {
                    healthy = true;
                    if tx.send((index, Observed::Reachable)).await.is_err() {
                        return;
                    }
                }
                continue;
            }
        };
        let mut facts = Vec::new();
        match event {
            Err(e) => {
                healthy = false;
                failed = true;
                facts.push(Observed::Unreachable(e.to_string()));
            }
            Ok(event) => {
                if !healthy {
                    healthy = true;
                    facts.push(Observed::Reachable);
                }
                match event {
                    Event::Init => relisting.clear(),
                    Event::InitApply(object) | Event::Apply(object) => {
                        let value = serde_json::to_value(&object).unwrap_or(Value::Null);
                        let name = name_of(&value).to_string();
                        let fact = read(&value, &links);
                        facts.extend(fact.clone());
                        relisting.insert(name.clone());
                        listed.insert(name, fact);
                    }
                    Event::Delete(object) => {
                        let value = serde_json::to_value(&object).unwrap_or(Value::Null);
                        listed.remove(name_of(&value));
                        facts.extend(read(&value, &links).map(gone));
                    }
                    Event::InitDone => {
                        listed.retain(|name, last| {
                            let kept = relisting.contains(name);
                            if !kept {
                                facts.extend(last.take().map(gone));
                            }
                            kept
                        });
                        if of_links {
                            facts.push(Observed::Synced);
                        }
                    }
                }
            }
        }
        for fact in facts {
            if tx.send((index, fact)).await.is_err() {
                return;
            }
        }
    }
}

/// How often a watch that failed asks whether its cluster answers again.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// The fact of an object's deletion: what it said when it was there, emptied.
fn gone(fact: Observed) -> Observed {
    match fact {
        Observed::Address(_) => Observed::Address(None),
        Observed::Link { peer, .. } => Observed::Link { peer, link: None },
        Observed::Certs(_) => Observed::Certs(None),
        other => other,
    }
}

/// The east-west Gateway (its address) or one of our peer Gateways (where it points).
fn read_gateway(object: &Value, links: &Links) -> Option<Observed> {
    let Links::Peering { gateway, .. } = links else {
        return None;
    };
    if name_of(object) == gateway {
        return Some(Observed::Address(address_of(object)));
    }
    let labels = object.pointer("/metadata/labels")?;
    if labels.get(MANAGED_BY).and_then(Value::as_str) != Some(MANAGED_BY_VALUE) {
        return None;
    }
    let peer = labels.get(PEER_CLUSTER)?.as_str()?.to_string();
    let address = object
        .pointer("/spec/addresses/0/value")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Observed::Link {
        peer,
        link: Some(LinkView {
            address,
            token_expires: None,
        }),
    })
}

/// One of our remote secrets: the cluster it is for, and its token's expiry when bounded.
fn read_remote_secret(object: &Value, _links: &Links) -> Option<Observed> {
    let peer = object
        .pointer("/metadata/annotations")?
        .get(CLUSTER_ANNOTATION)?
        .as_str()?
        .to_string();
    let token_expires = crate::link::remote_secret::kubeconfig_of(object, &peer)
        .and_then(|kubeconfig| token_expiry(&kubeconfig));
    Some(Observed::Link {
        peer,
        link: Some(LinkView {
            address: None,
            token_expires,
        }),
    })
}

/// The `exp` claim of the token in a kubeconfig: TokenRequest tokens are JWTs whose payload
/// says when they expire (long-lived token Secret tokens have none). The signature is not
/// checked: this is our own token, read only to know when to replace it.
pub fn token_expiry(kubeconfig: &str) -> Option<i64> {
    let config: Value = serde_yaml_ng::from_str(kubeconfig).ok()?;
    let token = config.pointer("/users/0/user/token")?.as_str()?;
    let payload = token.split('.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<Value>(&claims)
        .ok()?
        .get("exp")?
        .as_i64()
}

/// The intermediate's expiry and root of a cacerts Secret (its key is never read).
fn read_cacerts(object: &Value, _links: &Links) -> Option<Observed> {
    if object.get("data").is_none() {
        // A deletion carries the object as it was; only the name matters then.
        return Some(Observed::Certs(None));
    }
    let view = (|| {
        let ca = mesh_trust::inspect(&cacerts::entry(object, "ca-cert.pem")?).ok()?;
        let root = mesh_trust::inspect(&cacerts::entry(object, "root-cert.pem")?).ok()?;
        Some(CertView {
            not_after: ca.not_after.unix_timestamp(),
            root_fingerprint: root.sha256_fingerprint,
        })
    })();
    Some(Observed::Certs(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> String {
        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!("{}.{}.sig", b64(&json!({"alg": "RS256"})), b64(&claims))
    }

    #[test]
    fn token_expiry_reads_the_exp_claim() {
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nusers:\n- name: b\n  user:\n    token: {}\n",
            jwt(json!({"exp": 1_900_000_000, "iat": 1})),
        );
        assert_eq!(token_expiry(&kubeconfig), Some(1_900_000_000));
        let opaque = "users:\n- name: b\n  user:\n    token: not-a-jwt\n";
        assert_eq!(token_expiry(opaque), None);
    }

    #[test]
    fn gateways_are_the_address_or_a_link_of_ours() {
        let links = Links::Peering {
            namespace: "istio-gateways".into(),
            gateway: "istio-eastwest".into(),
        };
        let own =
            json!({"metadata": {"name": "istio-eastwest"}, "status": {"addresses": [{"value": "1.2.3.4"}]}});
        assert_eq!(
            read_gateway(&own, &links),
            Some(Observed::Address(Some("1.2.3.4".into())))
        );
        let peer = json!({
            "metadata": {"name": "istio-remote-peer-b", "labels": {MANAGED_BY: MANAGED_BY_VALUE, PEER_CLUSTER: "b"}},
            "spec": {"addresses": [{"type": "IPAddress", "value": "5.6.7.8"}]},
        });
        let seen = read_gateway(&peer, &links);
        assert_eq!(
            seen,
            Some(Observed::Link {
                peer: "b".into(),
                link: Some(LinkView {
                    address: Some("5.6.7.8".into()),
                    token_expires: None
                })
            })
        );
        assert_eq!(
            read_gateway(&peer, &links).map(gone),
            Some(Observed::Link {
                peer: "b".into(),
                link: None
            })
        );
        let foreign = json!({"metadata": {"name": "someone-elses", "labels": {PEER_CLUSTER: "b"}}});
        assert_eq!(read_gateway(&foreign, &links), None);
    }
}
