//! The garbage collector and the namespace controller of kube-controller-manager, one
//! pass at a time under the store lock ([`crate::controllers`] runs it after writes).
//!
//! - Owner references: a dependent all of whose owners are gone is deleted (background
//!   cascading deletion); an owner marked `foregroundDeletion` has its dependents deleted
//!   and keeps the finalizer until none with `blockOwnerDeletion: true` is left; an owner
//!   marked `orphan` has its uid taken out of its dependents' `ownerReferences`, then the
//!   finalizer removed.
//!   <https://kubernetes.io/docs/concepts/architecture/garbage-collection/#owners-dependents>
//! - Namespaces being deleted: every object in them is deleted (background), and once
//!   none is left, `spec.finalizers`' `kubernetes` is removed and the namespace goes.
//!   <https://kubernetes.io/docs/concepts/overview/working-with-objects/namespaces/#deleting-a-namespace>

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::deletion::{self, Options, Propagation, FOREGROUND, ORPHAN};
use crate::meta;
use crate::registry::{ResourceDef, RESOURCES};
use crate::store::Store;

type Id = (&'static ResourceDef, String, String);

/// One collection pass.
pub(crate) fn collect(st: &mut Store) {
    namespaces(st);
    owners(st);
}

fn id(def: &'static ResourceDef, o: &Value) -> Id {
    (
        def,
        meta::namespace_of(o).to_string(),
        meta::name_of(o).to_string(),
    )
}

fn delete(st: &mut Store, (def, ns, name): &Id, propagation: Propagation) {
    let opts = Options {
        propagation: Some(propagation),
        ..Options::default()
    };
    let _ = deletion::delete(st, def, ns, name, &opts, false);
}

fn namespaces(st: &mut Store) {
    let Some(ns_def) = RESOURCES
        .iter()
        .find(|d| d.group.is_empty() && d.plural == "namespaces")
    else {
        return;
    };
    let doomed: Vec<String> = st
        .list(ns_def, None)
        .iter()
        .filter(|s| deletion::is_deleting(&s.obj))
        .map(|s| meta::name_of(&s.obj).to_string())
        .collect();
    for ns in doomed {
        let content = contents(st, &ns);
        for (item, deleting) in &content {
            if !deleting {
                delete(st, item, Propagation::Background);
            }
        }
        if contents(st, &ns).is_empty() {
            deletion::finalize_namespace(st, ns_def, &ns);
        }
    }
}

/// Every object in namespace `ns`, and whether it is already being deleted.
fn contents(st: &Store, ns: &str) -> Vec<(Id, bool)> {
    RESOURCES
        .iter()
        .filter(|d| d.namespaced)
        .flat_map(|d| {
            st.list(d, Some(ns))
                .into_iter()
                .map(move |s| (id(d, &s.obj), deletion::is_deleting(&s.obj)))
        })
        .collect()
}

/// What a pass knows about an owner.
struct Owner {
    id: Id,
    foreground: bool,
    orphaning: bool,
}

/// A dependent: its id, whether it is being deleted, and its owners' `(uid, blocks)`.
struct Dependent {
    id: Id,
    deleting: bool,
    owners: Vec<(String, bool)>,
}

fn snapshot(st: &Store) -> (HashMap<String, Owner>, Vec<Dependent>) {
    let mut owners = HashMap::new();
    let mut dependents = Vec::new();
    for def in RESOURCES.iter() {
        for s in st.list(def, None) {
            let o = &s.obj;
            let fins = deletion::finalizers(o);
            let deleting = deletion::is_deleting(o);
            owners.insert(
                meta::uid_of(o).to_string(),
                Owner {
                    id: id(def, o),
                    foreground: deleting && fins.iter().any(|f| f == FOREGROUND),
                    orphaning: deleting && fins.iter().any(|f| f == ORPHAN),
                },
            );
            let refs = owner_refs(o);
            if !refs.is_empty() {
                dependents.push(Dependent {
                    id: id(def, o),
                    deleting,
                    owners: refs,
                });
            }
        }
    }
    (owners, dependents)
}

fn owner_refs(o: &Value) -> Vec<(String, bool)> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| (uid_of_ref(r), r["blockOwnerDeletion"] == json!(true)))
                .collect()
        })
        .unwrap_or_default()
}

fn uid_of_ref(r: &Value) -> String {
    r.get("uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn owners(st: &mut Store) {
    let (owners, dependents) = snapshot(st);
    for d in &dependents {
        let live: Vec<&Owner> = d.owners.iter().filter_map(|(u, _)| owners.get(u)).collect();
        let orphaned: Vec<&str> = d
            .owners
            .iter()
            .filter(|(u, _)| owners.get(u).is_some_and(|o| o.orphaning))
            .map(|(u, _)| u.as_str())
            .collect();
        if !orphaned.is_empty() {
            drop_refs(st, &d.id, &orphaned);
        } else if d.deleting {
            continue;
        } else if live.is_empty() {
            delete(st, &d.id, Propagation::Background);
        } else if live.iter().any(|o| o.foreground) {
            delete(st, &d.id, Propagation::Foreground);
        }
    }
    release_owners(st, &owners);
}

/// Removes the finalizers of owners whose part is done: orphaning happened in this pass
/// (before), foreground owners wait for blocking dependents still stored.
fn release_owners(st: &mut Store, owners: &HashMap<String, Owner>) {
    let (_, dependents) = snapshot(st);
    for (uid, o) in owners {
        let (def, ns, name) = &o.id;
        if o.orphaning {
            deletion::remove_finalizer(st, def, ns, name, ORPHAN);
        }
        let blocked = dependents
            .iter()
            .any(|d| d.owners.iter().any(|(u, block)| u == uid && *block));
        if o.foreground && !blocked {
            deletion::remove_finalizer(st, def, ns, name, FOREGROUND);
        }
    }
}

/// Takes the orphaning owners' uids out of a dependent's `ownerReferences`.
fn drop_refs(st: &mut Store, (def, ns, name): &Id, uids: &[&str]) {
    let Some(stored) = st.get(def, ns, name).cloned() else {
        return;
    };
    let mut obj = stored.obj;
    let kept: Vec<Value> = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|r| !uids.contains(&uid_of_ref(r).as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(m) = obj["metadata"].as_object_mut() {
        if kept.is_empty() {
            m.remove("ownerReferences");
        } else {
            m.insert("ownerReferences".into(), Value::Array(kept));
        }
    }
    st.commit(def, obj, stored.managers, false);
}
