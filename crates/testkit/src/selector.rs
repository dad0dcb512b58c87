//! Label and field selectors with the apimachinery syntax.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        split_top_level(s)
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse_req(p.trim()))
            .collect::<Result<Vec<_>, _>>()
            .map(LabelSelector)
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => labels.get(k) == Some(v),
            Req::NotEq(k, v) => labels.get(k) != Some(v),
            Req::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Req::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Req::Exists(k) => labels.contains_key(k),
            Req::NotExists(k) => !labels.contains_key(k),
        })
    }

    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches(&labels_of(obj))
    }
}

pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Splits on commas that are not inside `( )`.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_req(p: &str) -> Result<Req, String> {
    if let Some(k) = p.strip_prefix('!') {
        return Ok(Req::NotExists(key(k.trim())?));
    }
    for (op, ctor) in [("!=", 1), ("==", 0), ("=", 0)] {
        if let Some((k, v)) = p.split_once(op) {
            let (k, v) = (key(k.trim())?, value(v.trim())?);
            return Ok(if ctor == 1 {
                Req::NotEq(k, v)
            } else {
                Req::Eq(k, v)
            });
        }
    }
    if let Some(r) = parse_set(p, " notin ", Req::NotIn)? {
        return Ok(r);
    }
    if let Some(r) = parse_set(p, " in ", Req::In)? {
        return Ok(r);
    }
    Ok(Req::Exists(key(p)?))
}

fn parse_set(p: &str, op: &str, ctor: fn(String, Vec<String>) -> Req) -> Result<Option<Req>, String> {
    let Some((k, rest)) = p.split_once(op) else {
        return Ok(None);
    };
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("unable to parse requirement: found '{rest}', expected: '('"))?;
    let values = inner
        .split(',')
        .map(|v| value(v.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ctor(key(k.trim())?, values)))
}

fn key(k: &str) -> Result<String, String> {
    let name = k.rsplit('/').next().unwrap_or_default();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(k.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: <nil>: Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

fn value(v: &str) -> Result<String, String> {
    let ok = v.len() <= 63 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: values[0]: Invalid value: \"{v}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ))
    }
}

/// A `fieldSelector` over `metadata.name` / `metadata.namespace` (and any other
/// string path such as `type` or `status.phase`).
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, eq, v) = if let Some((k, v)) = p.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                (k, true, v)
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{p}'"));
            };
            out.push((k.trim().to_string(), eq, v.trim().to_string()));
        }
        Ok(FieldSelector(out))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(k, eq, v)| {
            let pointer = format!("/{}", k.replace('.', "/"));
            let actual = obj.pointer(&pointer).and_then(Value::as_str).unwrap_or_default();
            (actual == v) == *eq
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn full_syntax() {
        let l = labels(&[
            ("a", "b"),
            ("env", "prod"),
            ("app.kubernetes.io/managed-by", "kubectl-mesh"),
        ]);
        for (sel, want) in [
            ("a=b", true),
            ("a==b", true),
            ("a!=b", false),
            ("a", true),
            ("!a", false),
            ("!zz", true),
            ("env in (prod,dev)", true),
            ("env notin (prod)", false),
            ("zz notin (x)", true),
            (
                "a=b,env in (dev, prod),app.kubernetes.io/managed-by=kubectl-mesh",
                true,
            ),
            ("a=b,zz", false),
            ("", true),
        ] {
            let s = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
            assert_eq!(s.matches(&l), want, "{sel}");
        }
    }

    #[test]
    fn invalid() {
        for sel in ["a in x", "a=b c", "=x", "a in (x"] {
            assert!(LabelSelector::parse(sel).is_err(), "{sel}");
        }
    }
}
