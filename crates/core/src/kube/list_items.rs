//! Decoding a LIST's `items` without their `metadata.managedFields` (and, for lists only
//! compared with what we would write, without their `status`).
//!
//! Nothing we do reads managedFields from a list (`down` reads them from a GET), and in a
//! fleet they are about half of every item: a peer Gateway carries one entry for our apply
//! and one for the gateway controller's status, each a FieldsV1 tree as large as the fields
//! it names. `verify` of 100 clusters lists 10 000 Gateways; building their managedFields
//! as JSON trees only to drop them was a large share of its CPU and memory. Here they are
//! skipped while parsing (`IgnoredAny`), the rest of each item is decoded as before.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `{"items": [...]}` of a `<Kind>List`; every other field of the list is skipped.
/// `WITH_STATUS: false` skips each item's `status` too.
#[derive(Deserialize)]
pub struct ListItems<const WITH_STATUS: bool = true> {
    #[serde(default)]
    items: Option<Vec<Item<WITH_STATUS>>>,
}

impl<const WITH_STATUS: bool> ListItems<WITH_STATUS> {
    pub fn into_values(self) -> Vec<Value> {
        self.items
            .unwrap_or_default()
            .into_iter()
            .map(|Item(v)| v)
            .collect()
    }
}

/// One item: an object whose `metadata` is read by [`Metadata`].
struct Item<const WITH_STATUS: bool>(Value);

/// An item's `metadata`, without `managedFields`.
struct Metadata(Value);

/// Reads a JSON object into a map, decoding the value of `nested` with `N` and skipping
/// the value of `skip`.
struct ObjectVisitor<N> {
    skip: Option<&'static str>,
    nested: Option<&'static str>,
    wrap: fn(N) -> Value,
}

impl<'de, N: Deserialize<'de>> Visitor<'de> for ObjectVisitor<N> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if Some(key.as_str()) == self.skip {
                access.next_value::<IgnoredAny>()?;
            } else if Some(key.as_str()) == self.nested {
                let value = (self.wrap)(access.next_value::<N>()?);
                map.insert(key, value);
            } else {
                map.insert(key, access.next_value::<Value>()?);
            }
        }
        Ok(Value::Object(map))
    }
}

impl<'de, const WITH_STATUS: bool> Deserialize<'de> for Item<WITH_STATUS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor::<Metadata> {
            skip: (!WITH_STATUS).then_some("status"),
            nested: Some("metadata"),
            wrap: |Metadata(m)| m,
        })
        .map(Item)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor::<Value> {
            skip: Some("managedFields"),
            nested: None,
            wrap: |v| v,
        })
        .map(Metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_lose_only_their_managed_fields() {
        let list = json!({
            "kind": "GatewayList",
            "metadata": {"resourceVersion": "7"},
            "items": [
                {"metadata": {"name": "a", "labels": {"x": "y"},
                              "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
                 "spec": {"managedFields": "kept: not metadata"}},
                {"metadata": {"name": "b"}, "status": {"addresses": []}},
            ],
        });
        let items: ListItems = serde_json::from_slice(list.to_string().as_bytes()).unwrap();
        assert_eq!(
            items.into_values(),
            vec![
                json!({"metadata": {"name": "a", "labels": {"x": "y"}},
                       "spec": {"managedFields": "kept: not metadata"}}),
                json!({"metadata": {"name": "b"}, "status": {"addresses": []}}),
            ]
        );
    }

    #[test]
    fn status_is_skipped_only_when_asked() {
        let body = r#"{"items":[{"metadata":{"name":"a"},"spec":{"x":1},"status":{"y":2}}]}"#;
        let with: ListItems = serde_json::from_str(body).unwrap();
        assert_eq!(with.into_values()[0]["status"], json!({"y": 2}));
        let without: ListItems<false> = serde_json::from_str(body).unwrap();
        assert_eq!(
            without.into_values(),
            vec![json!({"metadata": {"name": "a"}, "spec": {"x": 1}})]
        );
    }

    #[test]
    fn a_list_without_items_is_empty() {
        for body in [r#"{"kind":"GatewayList"}"#, r#"{"items":null}"#] {
            let items: ListItems = serde_json::from_str(body).unwrap();
            assert!(items.into_values().is_empty());
        }
    }

    #[test]
    fn an_item_that_is_not_an_object_is_an_error() {
        assert!(serde_json::from_str::<ListItems>(r#"{"items":[1]}"#).is_err());
    }
}
