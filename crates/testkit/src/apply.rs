//! Server-side apply and managed-fields bookkeeping.
//!
//! Each object carries a list of [`ManagerEntry`]s (who owns which leaf fields).
//! `Apply` writes may conflict with other owners; `Update` writes (POST, PUT, merge and
//! JSON patches) take ownership of what they change and never conflict. Fields are
//! owned as structured-merge-diff owns them ([`crate::fields`]): keyed-list items one by
//! one, so two managers owning different listeners of one Gateway do not conflict.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::fields::{self, FieldSet, Path, Pe, Scope};
use crate::meta;
use crate::shape::Shape;
use crate::ssa_merge;
use crate::status::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Apply,
    Update,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManagerEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    /// Changed only through [`ManagerEntry::fields_mut`], which forgets `fields_v1`.
    pub fields: FieldSet,
    fields_v1: RenderedFields,
}

/// `fields` as FieldsV1 JSON, made when the entry is first rendered and kept while the
/// entry's fields stay the same: every write renders every entry's managedFields, and
/// most entries (the other managers') did not change. Not part of equality.
#[derive(Debug, Clone, Default)]
struct RenderedFields(OnceLock<Value>);

impl PartialEq for RenderedFields {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ManagerEntry {
    fn fields_mut(&mut self) -> &mut FieldSet {
        self.fields_v1 = RenderedFields::default();
        &mut self.fields
    }

    fn same_owner(&self, manager: &str, op: Operation, sub: &str) -> bool {
        self.manager == manager && self.operation == op && self.subresource == sub
    }

    /// How the real server names a manager in conflict messages.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", self.subresource);
        }
        match self.operation {
            Operation::Apply => s,
            Operation::Update => format!("{s} using {} at {}", self.api_version, self.time),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": match self.operation { Operation::Apply => "Apply", Operation::Update => "Update" },
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields_v1.0.get_or_init(|| fields::to_fields_v1(&self.fields)),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

/// Who is writing, and to which part of the object.
#[derive(Debug, Clone)]
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub scope: Scope,
    /// The kind's list and map types.
    pub shape: Shape,
}

/// Managers compare equal when they own the same fields (times aside), so a write
/// that changes nothing is recognised as a no-op.
pub fn same_ownership(a: &[ManagerEntry], b: &[ManagerEntry]) -> bool {
    fn key(m: &ManagerEntry) -> (&str, Operation, &str, &FieldSet) {
        (&m.manager, m.operation, &m.subresource, &m.fields)
    }
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// Server-side apply of `applied` onto `live` (None = create): merged by the kind's
/// list and map types ([`ssa_merge`]); conflicts are the members another manager owns
/// whose value the merge changes; members the applier stops sending are removed unless
/// another manager owns them (or something below them).
/// <https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts>
pub fn apply(
    live: &Value,
    managers: &[ManagerEntry],
    applied: &Value,
    w: &Writer,
    force: bool,
) -> Result<(Value, Vec<ManagerEntry>), ApiError> {
    let applied_fields = fields::members(applied, w.scope, w.shape);
    let mut managers = managers.to_vec();
    let mut obj = ssa_merge::merge(live, &fields::scoped(applied, w.scope), w.shape);
    let conflicts = find_conflicts(live, &obj, &managers, w);
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&managers, &conflicts));
    }
    for (idx, path) in &conflicts {
        managers[*idx].fields_mut().remove(path);
    }
    let previous = managers
        .iter()
        .find(|m| m.same_owner(w.manager, Operation::Apply, w.subresource))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    for path in previous.difference(&applied_fields) {
        if !fields::is_key_field(path) && !owned_by_others(&managers, path, w) {
            fields::remove(&mut obj, path);
        }
    }
    set_entry(&mut managers, w, Operation::Apply, applied_fields, true);
    Ok((obj, managers))
}

/// Another manager owns `path`, something below it, or an atomic field holding it (an
/// owned list item does not hold its fields: they are owned one by one).
fn owned_by_others(managers: &[ManagerEntry], path: &[Pe], w: &Writer) -> bool {
    managers
        .iter()
        .filter(|m| !m.same_owner(w.manager, Operation::Apply, w.subresource))
        .flat_map(|m| m.fields.iter())
        .any(|p| {
            fields::is_prefix(path, p)
                || (fields::is_prefix(p, path) && matches!(p.last(), Some(Pe::Field(_))))
        })
}

/// (index of the other manager, its conflicting path): what others own that the merge
/// changed or removed.
fn find_conflicts(live: &Value, merged: &Value, managers: &[ManagerEntry], w: &Writer) -> Vec<(usize, Path)> {
    let (changed, removed) = fields::diff(live, merged, w.scope, w.shape);
    let mut out = Vec::new();
    for (idx, m) in managers.iter().enumerate() {
        if m.same_owner(w.manager, Operation::Apply, w.subresource) {
            continue;
        }
        for owned in &m.fields {
            if changed.contains(owned) || removed.contains(owned) {
                out.push((idx, owned.clone()));
            }
        }
    }
    out
}

fn conflict_error(managers: &[ManagerEntry], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"reason": "FieldManagerConflict",
                   "message": format!("conflict with {}", managers[*i].describe()),
                   "field": fields::display(p)})
        })
        .collect();
    let message = if let [(i, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            managers[*i].describe(),
            fields::display(p)
        )
    } else {
        // Grouped by manager, managers sorted, as getConflictMessage does.
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, p) in conflicts {
            by.entry(managers[*i].describe())
                .or_default()
                .push(fields::display(p));
        }
        let mut lines = Vec::new();
        for (who, paths) in by {
            lines.push(format!("conflicts with {who}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let mut e = ApiError::new(409, "Conflict", message);
    e.details = Some(Box::new(json!({"causes": causes})));
    e
}

/// Ownership after a non-apply write from `old` to `new`: the writer takes what it
/// added or changed, everyone loses what was removed or taken.
pub fn update(old: &Value, new: &Value, managers: &[ManagerEntry], w: &Writer) -> Vec<ManagerEntry> {
    let (changed, removed) = fields::diff(old, new, w.scope, w.shape);
    let mut managers = managers.to_vec();
    for m in managers.iter_mut() {
        let loses = |p: &_| removed.contains(p) || changed.contains(p);
        if m.fields.iter().any(loses) {
            m.fields_mut().retain(|p| !loses(p));
        }
    }
    let mut mine = managers
        .iter()
        .find(|m| m.same_owner(w.manager, Operation::Update, w.subresource))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    mine.extend(changed.iter().cloned());
    set_entry(&mut managers, w, Operation::Update, mine, !changed.is_empty());
    managers
}

/// Replaces the writer's entry (dropping it when empty); entries left empty by
/// ownership transfer disappear too.
fn set_entry(managers: &mut Vec<ManagerEntry>, w: &Writer, op: Operation, fields: FieldSet, touched: bool) {
    let now = meta::now_rfc3339();
    match managers
        .iter_mut()
        .find(|m| m.same_owner(w.manager, op, w.subresource))
    {
        Some(m) => {
            if touched || m.fields != fields {
                m.time = now;
                m.api_version = w.api_version.to_string();
            }
            if m.fields != fields {
                *m.fields_mut() = fields;
            }
        }
        None => managers.push(ManagerEntry {
            manager: w.manager.to_string(),
            operation: op,
            api_version: w.api_version.to_string(),
            time: now,
            subresource: w.subresource.to_string(),
            fields,
            fields_v1: RenderedFields::default(),
        }),
    }
    managers.retain(|m| !m.fields.is_empty());
}

/// The `managedFields` array for an object's metadata.
pub fn render(managers: &[ManagerEntry]) -> Value {
    Value::Array(managers.iter().map(ManagerEntry::to_json).collect())
}

/// A starting object for an apply that creates: identity only, fields come from the
/// applied configuration.
pub fn skeleton(applied: &Value) -> Value {
    let mut meta = Map::new();
    for k in ["name", "namespace", "generateName"] {
        if let Some(v) = applied.pointer(&format!("/metadata/{k}")) {
            meta.insert(k.into(), v.clone());
        }
    }
    json!({
        "apiVersion": applied.get("apiVersion").cloned().unwrap_or(Value::Null),
        "kind": applied.get("kind").cloned().unwrap_or(Value::Null),
        "metadata": meta,
    })
}

/// The field manager the real server derives from a User-Agent (`kubectl/v1.32 ...`
/// becomes `kubectl`).
pub fn manager_from_user_agent(ua: &str) -> String {
    let prefix = ua.split('/').next().unwrap_or_default();
    let cleaned: String = prefix.chars().filter(|c| !c.is_control()).take(128).collect();
    cleaned
}
