//! One cluster's objects, resource-version counter and watch history.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::OnceLock;

use bytes::Bytes;

use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::apply::{self, ManagerEntry};
use crate::meta;
use crate::registry::{ResourceDef, RESOURCES};
use crate::strategy;

/// A stored object: its JSON (with managedFields rendered) and the ownership behind it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub obj: Value,
    pub managers: Vec<ManagerEntry>,
    /// `obj` serialised, made by the first GET or LIST that sends it and reused by the
    /// ones after (a stored object never changes: a write stores a new one). The
    /// apiserver's watch cache keeps serialisations the same way (`cachingObject`, which
    /// encodes an object once for every watcher); here a fleet's verify LISTs 10 000
    /// Gateways, and serialising them for every LIST was most of the fake's CPU.
    json: OnceLock<Bytes>,
}

impl Stored {
    /// The object as JSON.
    pub fn json(&self) -> &Bytes {
        self.json
            .get_or_init(|| Bytes::from(serde_json::to_vec(&self.obj).unwrap_or_default()))
    }
}

/// A change, as a watch stream reports it.
#[derive(Debug, Clone)]
pub struct Event {
    pub def: &'static ResourceDef,
    pub kind: &'static str,
    pub rv: u64,
    /// Shared by the history and every watcher: one copy per change, not one per reader.
    pub obj: std::sync::Arc<Value>,
}

type Key = (String, String, String);

fn key(def: &ResourceDef, ns: &str, name: &str) -> Key {
    (
        format!("{}/{}", def.group, def.plural),
        ns.to_string(),
        name.to_string(),
    )
}

/// Per-cluster watch settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchSettings {
    /// Events kept for watches that resume from a resourceVersion (the apiserver's
    /// watch cache / etcd compaction window).
    pub history: usize,
    /// Period of BOOKMARK events on watches with `allowWatchBookmarks=true`.
    pub bookmark_every: std::time::Duration,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            history: 2048,
            bookmark_every: std::time::Duration::from_secs(60),
        }
    }
}

pub struct Store {
    objects: BTreeMap<Key, Stored>,
    rv: u64,
    history: VecDeque<Event>,
    /// Watch settings ([`crate::watch`]): how many events the history keeps, and how
    /// often a watch with bookmarks gets one.
    pub watch: WatchSettings,
    /// The resourceVersion of the newest event dropped from the history: a watch or an
    /// exact list from before it is `410 Gone`.
    compacted: u64,
    events: broadcast::Sender<Event>,
    /// Pod logs by (namespace, pod): what the pod's first container printed. Kept here so
    /// deleting a pod (or its namespace) takes its log along.
    logs: HashMap<(String, String), String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            objects: BTreeMap::new(),
            rv: 1000,
            history: VecDeque::new(),
            watch: WatchSettings::default(),
            compacted: 0,
            events: broadcast::channel(4096).0,
            logs: HashMap::new(),
        }
    }
}

/// Metadata the server owns: a write that differs only there changes nothing.
const SERVER_METADATA: [&str; 5] = [
    "resourceVersion",
    "managedFields",
    "generation",
    "uid",
    "creationTimestamp",
];

/// Whether `a` and `b` are equal once the keys `skip` returns true for are left out of the
/// top-level object. Compares in place: writes are frequent and objects carry big
/// managedFields, so cloning both sides to compare them cost more than the write.
fn equal_except(a: &Value, b: &Value, skip: impl Fn(&str) -> bool) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let kept = |m: &'_ serde_json::Map<String, Value>| m.iter().filter(|(k, _)| !skip(k)).count();
    kept(a) == kept(b)
        && a.iter()
            .filter(|(k, _)| !skip(k))
            .all(|(k, v)| b.get(k) == Some(v))
}

/// Equal apart from server-owned metadata.
fn same_content(a: &Value, b: &Value) -> bool {
    equal_except(a, b, |k| k == "metadata")
        && equal_except(
            a.get("metadata").unwrap_or(&Value::Null),
            b.get("metadata").unwrap_or(&Value::Null),
            |k| SERVER_METADATA.contains(&k),
        )
}

/// Whether the spec (everything but metadata and status) changed: that bumps the generation.
fn spec_changed(old: &Value, new: &Value) -> bool {
    !equal_except(old, new, |k| k == "metadata" || k == "status")
}

impl Store {
    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Option<&Stored> {
        self.objects.get(&key(def, ns, name))
    }

    /// Objects of a kind, in one namespace or all (`None`).
    pub fn list(&self, def: &ResourceDef, ns: Option<&str>) -> Vec<&Stored> {
        let prefix = format!("{}/{}", def.group, def.plural);
        self.objects
            .iter()
            .filter(|((k, n, _), _)| *k == prefix && ns.is_none_or(|ns| ns == n))
            .map(|(_, s)| s)
            .collect()
    }

    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.get(&RESOURCES[0], "", ns).is_some()
    }

    /// Stores `obj` (server metadata filled in) unless it equals what is stored;
    /// returns what a client sees. `dry_run` computes without storing.
    pub fn commit(
        &mut self,
        def: &'static ResourceDef,
        mut obj: Value,
        managers: Vec<ManagerEntry>,
        dry_run: bool,
    ) -> Value {
        let ns = if def.namespaced {
            meta::namespace_of(&obj).to_string()
        } else {
            String::new()
        };
        let k = key(def, &ns, meta::name_of(&obj));
        let old = self.objects.get(&k);
        if let Some(old) = old {
            if same_content(&old.obj, &obj) && apply::same_ownership(&old.managers, &managers) {
                return old.obj.clone();
            }
        }
        let (uid, created, generation) = match old {
            Some(o) => {
                let gen = o
                    .obj
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let bump = spec_changed(&o.obj, &obj);
                (
                    o.obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null),
                    o.obj
                        .pointer("/metadata/creationTimestamp")
                        .cloned()
                        .unwrap_or(Value::Null),
                    gen + i64::from(bump),
                )
            }
            None => {
                let uid = obj
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .filter(|u| !u.is_empty())
                    .map_or_else(meta::new_uid, str::to_string);
                strategy::prepare_for_create(def, &mut obj, &uid);
                (json!(uid), json!(meta::now_rfc3339()), 1)
            }
        };
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        let rv = self.rv + 1;
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("uid".into(), uid);
            m.insert("creationTimestamp".into(), created);
            m.insert("resourceVersion".into(), json!(rv.to_string()));
            if def.generation {
                m.insert("generation".into(), json!(generation));
            } else {
                m.remove("generation");
            }
            m.insert("managedFields".into(), apply::render(&managers));
        }
        if !dry_run {
            self.rv = rv;
            self.objects.insert(
                k,
                Stored {
                    obj: obj.clone(),
                    managers,
                    json: OnceLock::new(),
                },
            );
            self.emit(def, kind, &obj);
        }
        obj
    }

    /// Removes an object (a namespace takes its contents along); returns it.
    pub fn delete(
        &mut self,
        def: &'static ResourceDef,
        ns: &str,
        name: &str,
        dry_run: bool,
    ) -> Option<Value> {
        let k = key(def, ns, name);
        let stored = self.objects.get(&k)?.obj.clone();
        if dry_run {
            return Some(stored);
        }
        if def.group.is_empty() && def.plural == "namespaces" {
            self.delete_contents(name);
        }
        if is_pods(def) {
            self.logs.remove(&(ns.to_string(), name.to_string()));
        }
        self.objects.remove(&k);
        self.rv += 1;
        self.emit(def, "DELETED", &stored);
        Some(stored)
    }

    fn delete_contents(&mut self, ns: &str) {
        for def in RESOURCES.iter().filter(|d| d.namespaced) {
            let names: Vec<String> = self
                .list(def, Some(ns))
                .iter()
                .map(|s| meta::name_of(&s.obj).to_string())
                .collect();
            for n in names {
                self.delete(def, ns, &n, false);
            }
        }
    }

    fn emit(&mut self, def: &'static ResourceDef, kind: &'static str, obj: &Value) {
        let ev = Event {
            def,
            kind,
            rv: self.rv,
            obj: std::sync::Arc::new(obj.clone()),
        };
        self.history.push_back(ev.clone());
        while self.history.len() > self.watch.history.max(1) {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        let _ = self.events.send(ev);
    }

    /// The resourceVersion history starts after: older ones are expired.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    /// The kept events, oldest first.
    pub fn history(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.history.iter()
    }

    /// Subscribes to changes and returns the recorded ones after `since` (a watch that
    /// starts from a list's resourceVersion must not miss what happened in between).
    pub fn subscribe(&self, since: u64) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let past = self.history.iter().filter(|e| e.rv > since).cloned().collect();
        (past, self.events.subscribe())
    }
}

fn is_pods(def: &ResourceDef) -> bool {
    def.group.is_empty() && def.plural == "pods"
}

impl Store {
    /// The log of pod `ns/name`, if one was recorded.
    pub fn pod_log(&self, ns: &str, name: &str) -> Option<&str> {
        self.logs
            .get(&(ns.to_string(), name.to_string()))
            .map(String::as_str)
    }

    /// Records the log of an existing pod; false (nothing recorded) if there is no such pod.
    pub fn set_pod_log(&mut self, ns: &str, name: &str, log: String) -> bool {
        let exists = RESOURCES
            .iter()
            .find(|d| is_pods(d))
            .is_some_and(|d| self.get(d, ns, name).is_some());
        if exists {
            self.logs.insert((ns.to_string(), name.to_string()), log);
        }
        exists
    }
}
