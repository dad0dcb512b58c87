//! The merge-relevant shape of a kind, read from its vendored schema: which lists are
//! keyed maps, sets or atomic, which maps are atomic, and the strategic-merge-patch
//! merge keys and strategies of built-in kinds.
//!
//! Server-side apply takes list types as kube-openapi's `schemaconv` does for
//! structured-merge-diff: `x-kubernetes-list-type` (`map` with
//! `x-kubernetes-list-map-keys`, `set`, `atomic`); a built-in list without one falls back
//! to its `x-kubernetes-patch-strategy: merge` (keyed by `x-kubernetes-patch-merge-key`,
//! else a set); anything else is atomic. Maps are granular unless
//! `x-kubernetes-map-type: atomic`. Unknown parts (no schema) are granular maps and
//! atomic lists, as structured-merge-diff's deduced type treats them.
//! <https://kubernetes.io/docs/reference/using-api/server-side-apply/#merge-strategy>

use std::collections::HashMap;

use serde_json::Value;

use crate::registry::ResourceDef;
use crate::schema::{self, Schemas};

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole, owned as one field.
    Atomic,
    /// Scalars, each owned on its own (`v:"x"`).
    Set,
    /// Items identified by these key fields (`k:{"name":"x"}`).
    Map(Vec<String>),
}

/// A position in a kind's schema (or outside any: `node` None).
#[derive(Clone, Copy)]
pub struct Shape {
    node: Option<&'static Value>,
    defs: Option<&'static HashMap<String, Value>>,
    /// At the root of a custom resource: its `metadata` is the ObjectMeta of the OpenAPI.
    crd_root: bool,
}

impl std::fmt::Debug for Shape {
    // The definitions are the whole OpenAPI: not worth printing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shape")
            .field("typed", &self.node.is_some())
            .finish()
    }
}

impl Shape {
    /// No schema: maps granular, lists atomic.
    pub fn unknown() -> Shape {
        Shape {
            node: None,
            defs: None,
            crd_root: false,
        }
    }

    /// The root of the kind `def` serves.
    pub fn of(def: &ResourceDef) -> Shape {
        Self::of_kind(&def.api_version(), def.kind)
    }

    pub fn of_kind(api_version: &str, kind: &str) -> Shape {
        let schemas = Schemas::upstream();
        match schemas.kind(api_version, kind) {
            Some(k) => Shape {
                node: Some(schema::resolve(schemas.definitions(), &k.root)),
                defs: Some(schemas.definitions()),
                crd_root: k.crd,
            },
            None => Shape::unknown(),
        }
    }

    fn at(&self, node: Option<&'static Value>) -> Shape {
        Shape {
            node: node.map(|n| match self.defs {
                Some(d) => schema::resolve(d, n),
                None => n,
            }),
            defs: self.defs,
            crd_root: false,
        }
    }

    /// The schema of property `key` (a declared property, else `additionalProperties`).
    pub fn field(&self, key: &str) -> Shape {
        if self.crd_root && key == "metadata" {
            return self.at(self.defs.and_then(|d| d.get(schema::OBJECT_META)));
        }
        let node = self.node.and_then(|n| {
            n.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| n.get("additionalProperties").filter(|a| a.is_object()))
        });
        self.at(node)
    }

    /// The schema of a list's items.
    pub fn items(&self) -> Shape {
        self.at(self.node.and_then(|n| n.get("items")))
    }

    fn ext(&self, key: &str) -> Option<&'static str> {
        self.node.and_then(|n| n.get(key)).and_then(Value::as_str)
    }

    /// How a list at this position merges under server-side apply.
    pub fn list_kind(&self) -> ListKind {
        let keys = |k: Option<&Value>| -> Vec<String> {
            k.and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default()
        };
        let node = self.node;
        match self.ext("x-kubernetes-list-type") {
            Some("map") => ListKind::Map(keys(node.and_then(|n| n.get("x-kubernetes-list-map-keys")))),
            Some("set") => ListKind::Set,
            Some(_) => ListKind::Atomic,
            None => match self.merge_key() {
                Some(k) if self.strategies().contains(&"merge") => ListKind::Map(vec![k.to_string()]),
                None if self.strategies().contains(&"merge") => ListKind::Set,
                _ => ListKind::Atomic,
            },
        }
    }

    /// `x-kubernetes-map-type: atomic` (or a map-typed `x-kubernetes-list-type`-less
    /// granular default otherwise).
    pub fn atomic_map(&self) -> bool {
        self.ext("x-kubernetes-map-type") == Some("atomic")
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn merge_key(&self) -> Option<&'static str> {
        self.ext("x-kubernetes-patch-merge-key")
    }

    /// `x-kubernetes-patch-strategy`, split at commas (`merge,retainKeys`).
    pub fn strategies(&self) -> Vec<&'static str> {
        split_strategies(self.ext("x-kubernetes-patch-strategy"))
    }

    /// The strategic-merge-patch metadata of property `key`, read on the property node
    /// itself: for a struct field the OpenAPI puts `x-kubernetes-patch-strategy` beside
    /// its `allOf` `$ref` (DeploymentSpec `strategy: retainKeys`), which [`Shape::field`]
    /// resolves away. Map values (`additionalProperties`) and unknown parts have none.
    pub fn patch_meta(&self, key: &str) -> PatchMeta {
        let prop = self
            .node
            .and_then(|n| n.get("properties"))
            .and_then(|p| p.get(key));
        let ext = |name: &str| prop.and_then(|p| p.get(name)).and_then(Value::as_str);
        PatchMeta {
            strategies: split_strategies(ext("x-kubernetes-patch-strategy")),
            merge_key: ext("x-kubernetes-patch-merge-key"),
        }
    }
}

fn split_strategies(s: Option<&'static str>) -> Vec<&'static str> {
    s.map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

/// A field's `x-kubernetes-patch-strategy` (split at commas) and
/// `x-kubernetes-patch-merge-key`: the `patchStrategy`/`patchMergeKey` struct tags of the
/// Go types, which strategic merge patch reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchMeta {
    pub strategies: Vec<&'static str>,
    pub merge_key: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_kinds_come_from_the_vendored_schemas() {
        let gw = Shape::of_kind("gateway.networking.k8s.io/v1", "Gateway");
        assert_eq!(
            gw.field("spec").field("listeners").list_kind(),
            ListKind::Map(vec!["name".into()])
        );
        assert_eq!(
            gw.field("metadata").field("finalizers").list_kind(),
            ListKind::Set
        );
        let svc = Shape::of_kind("v1", "Service");
        assert_eq!(
            svc.field("spec").field("ports").list_kind(),
            ListKind::Map(vec!["port".into(), "protocol".into()])
        );
        let dep = Shape::of_kind("apps/v1", "Deployment");
        let pod = dep.field("spec").field("template").field("spec");
        let containers = pod.field("containers");
        assert_eq!(containers.list_kind(), ListKind::Map(vec!["name".into()]));
        assert_eq!(containers.merge_key(), Some("name"));
        assert_eq!(
            containers.items().field("env").list_kind(),
            ListKind::Map(vec!["name".into()])
        );
        assert_eq!(containers.items().field("args").list_kind(), ListKind::Atomic);
        assert_eq!(pod.field("volumes").strategies(), vec!["merge", "retainKeys"]);
        assert_eq!(
            dep.field("spec").patch_meta("strategy").strategies,
            vec!["retainKeys"]
        );
        assert_eq!(svc.field("spec").patch_meta("ports").merge_key, Some("port"));
        assert_eq!(Shape::unknown().field("x").list_kind(), ListKind::Atomic);
    }
}
