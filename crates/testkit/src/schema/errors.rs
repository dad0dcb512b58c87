//! Field errors and the `Invalid` error, worded as kube-apiserver words them.
//!
//! Follows k8s.io/apimachinery/pkg/util/validation/field (`Error.ErrorBody`, `Required`,
//! `Invalid`, `TypeInvalid`, `NotSupported`, `TooLong`, `TooMany`, `Duplicate`) and
//! k8s.io/apimachinery/pkg/api/errors `NewInvalid` (the aggregated message).

use std::fmt;

use serde_json::{json, Value};

/// One `details.causes` entry: the field path (`spec.listeners[0].name`), the reason
/// (`FieldValueInvalid`, ...) and the message (`Invalid value: "x": ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

/// How `field.Error.ErrorBody` prints a bad value: strings quoted (`%q`), numbers and
/// booleans bare, null as the string "null", anything else as JSON (Go prints `%#v`).
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => quote(s),
        Value::Null => quote("null"),
        Value::Number(_) | Value::Bool(_) => value.to_string(),
        other => other.to_string(),
    }
}

/// Go's `strconv.Quote` for the characters object fields hold.
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

impl FieldError {
    fn new(reason: &'static str, field: &str, message: String) -> Self {
        FieldError {
            reason,
            message,
            field: field.to_string(),
        }
    }

    /// `field.Required`: "Required value" (": detail" when there is one).
    pub fn required(field: &str, detail: &str) -> Self {
        let message = match detail {
            "" => "Required value".to_string(),
            d => format!("Required value: {d}"),
        };
        Self::new("FieldValueRequired", field, message)
    }

    /// `field.Invalid` with a string value (the common case for names).
    pub fn invalid_value(field: &str, value: &str, detail: &str) -> Self {
        Self::invalid(field, &json!(value), detail)
    }

    /// `field.Invalid`: `Invalid value: <value>: <detail>`.
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        let message = format!("Invalid value: {}: {detail}", show(value));
        Self::new("FieldValueInvalid", field, message)
    }

    /// `field.TypeInvalid`: worded as Invalid, with its own reason.
    pub fn type_invalid(field: &str, value: &Value, detail: &str) -> Self {
        let message = format!("Invalid value: {}: {detail}", show(value));
        Self::new("FieldValueTypeInvalid", field, message)
    }

    /// `field.NotSupported`: `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: &Value, supported: &[String]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| quote(s)).collect();
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            show(value),
            list.join(", ")
        );
        Self::new("FieldValueNotSupported", field, message)
    }

    /// `field.TooLong` (1.33 wording).
    pub fn too_long(field: &str, max: i64) -> Self {
        let message = format!("Too long: may not be more than {max} bytes");
        Self::new("FieldValueTooLong", field, message)
    }

    /// `field.TooMany`: `Too many: 3: must have at most 2 items`.
    pub fn too_many(field: &str, actual: usize, max: i64) -> Self {
        let message = format!("Too many: {actual}: must have at most {max} items");
        Self::new("FieldValueTooMany", field, message)
    }

    /// `field.Duplicate`: `Duplicate value: <value>`.
    pub fn duplicate(field: &str, shown: &str) -> Self {
        Self::new("FieldValueDuplicate", field, format!("Duplicate value: {shown}"))
    }

    /// `field.Forbidden`: `Forbidden: <detail>`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new("FieldValueForbidden", field, format!("Forbidden: {detail}"))
    }

    pub fn to_json(&self) -> Value {
        json!({"reason": self.reason, "message": self.message, "field": self.field})
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// `Kind.group` (just `Kind` for the core group), as `schema.GroupKind.String()`.
pub fn qualified_kind(kind: &str, group: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// The message of `errors.NewInvalid`: `<Kind.group> "<name>" is invalid: <errors>`, the
/// errors joined as `utilerrors.NewAggregate` prints them (one bare, several in brackets,
/// identical messages once).
pub fn invalid_message(kind: &str, group: &str, name: &str, causes: &[FieldError]) -> String {
    let mut list: Vec<String> = Vec::new();
    for c in causes {
        let s = c.to_string();
        if !list.contains(&s) {
            list.push(s);
        }
    }
    let joined = match list.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    format!(
        "{} {} is invalid: {joined}",
        qualified_kind(kind, group),
        quote(name)
    )
}

/// Why an object does not pass [`super::Schemas::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    message: String,
    causes: Vec<FieldError>,
}

impl SchemaError {
    pub(crate) fn invalid(kind: &str, group: &str, name: &str, causes: Vec<FieldError>) -> Self {
        SchemaError {
            message: invalid_message(kind, group, name, &causes),
            causes,
        }
    }

    pub(crate) fn other(message: String) -> Self {
        SchemaError {
            message,
            causes: Vec::new(),
        }
    }

    /// `(field, reason, message)` of each cause, as in the apiserver's `details.causes`.
    pub fn causes(&self) -> Vec<(&str, &str, &str)> {
        self.causes
            .iter()
            .map(|c| (c.field.as_str(), c.reason, c.message.as_str()))
            .collect()
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.causes
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SchemaError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_worded_like_the_apiserver() {
        let e = FieldError::invalid_value("spec.listeners[0].name", "Bad_Name", "x");
        assert_eq!(
            e.to_string(),
            "spec.listeners[0].name: Invalid value: \"Bad_Name\": x"
        );
        let e = FieldError::not_supported("spec.t", &json!("C"), &["A".into(), "B".into()]);
        assert_eq!(
            e.message,
            "Unsupported value: \"C\": supported values: \"A\", \"B\""
        );
        assert_eq!(FieldError::required("spec.x", "").message, "Required value");
        assert_eq!(
            FieldError::too_many("l", 3, 2).message,
            "Too many: 3: must have at most 2 items"
        );
        let one = invalid_message(
            "Gateway",
            "gateway.networking.k8s.io",
            "g",
            std::slice::from_ref(&e),
        );
        assert_eq!(
            one,
            format!("Gateway.gateway.networking.k8s.io \"g\" is invalid: {e}")
        );
        let two = invalid_message("ConfigMap", "", "c", &[e.clone(), FieldError::required("a", "")]);
        assert_eq!(
            two,
            format!("ConfigMap \"c\" is invalid: [{e}, a: Required value]")
        );
    }
}
