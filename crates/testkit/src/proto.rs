//! Protobuf wire reading, just enough for the bodies kubectl posts as protobuf
//! (`application/vnd.kubernetes.protobuf`: the `k8s\0` envelope around a
//! `runtime.Unknown` whose `raw` (2) is the object): TokenRequest and the access
//! reviews. client-go's typed clients send these as protobuf and do not fall back to
//! JSON. Field numbers from k8s.io/api/{authentication,authorization}/v1/generated.proto.

use serde_json::{json, Value};

/// `(field number, varint value or bytes)` of each field of one message.
fn fields(mut b: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b)?;
        let f = match key & 7 {
            0 => Field::Varint(varint(&mut b)?),
            2 => {
                let n = usize::try_from(varint(&mut b)?).ok()?;
                let (v, rest) = (b.get(..n)?, b.get(n..)?);
                b = rest;
                Field::Bytes(v)
            }
            1 => {
                b = b.get(8..)?;
                continue;
            }
            5 => {
                b = b.get(4..)?;
                continue;
            }
            _ => return None,
        };
        out.push((key >> 3, f));
    }
    Some(out)
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = b.split_first()?;
        *b = rest;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn bytes_of<'a>(fs: &[(u64, Field<'a>)], n: u64) -> Option<&'a [u8]> {
    fs.iter().find_map(|(k, f)| match f {
        Field::Bytes(b) if *k == n => Some(*b),
        _ => None,
    })
}

/// The JSON form of a protobuf-encoded TokenRequest (the `k8s\0` envelope, a
/// `runtime.Unknown` whose `raw` (2) is the TokenRequest: metadata (1) with name
/// (1); spec (2) with audiences (1) and expirationSeconds (4), as in
/// k8s.io/api/authentication/v1/generated.proto).
pub fn token_request(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(b"k8s\0")?)?;
    let tr = fields(bytes_of(&unknown, 2)?)?;
    let mut out = json!({"metadata": {}, "spec": {}});
    if let Some(meta) = bytes_of(&tr, 1).and_then(fields) {
        if let Some(name) = bytes_of(&meta, 1) {
            out["metadata"]["name"] = json!(String::from_utf8_lossy(name));
        }
    }
    let spec = bytes_of(&tr, 2).map(fields).unwrap_or(Some(Vec::new()))?;
    let audiences = texts(&spec, 1);
    if !audiences.is_empty() {
        out["spec"]["audiences"] = json!(audiences);
    }
    for (k, f) in &spec {
        if let (4, Field::Varint(v)) = (k, f) {
            // int64 on the wire: two's complement in 64 bits.
            out["spec"]["expirationSeconds"] = json!(*v as i64);
        }
    }
    Some(out)
}

fn text(fs: &[(u64, Field<'_>)], n: u64) -> Option<String> {
    bytes_of(fs, n).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Every value of the repeated string field `n`, in order.
fn texts(fs: &[(u64, Field<'_>)], n: u64) -> Vec<String> {
    fs.iter()
        .filter_map(|(k, f)| match f {
            Field::Bytes(b) if *k == n => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

/// The strings fields `names` (numbered from 1) of a message, as a JSON object.
fn strings_object(b: &[u8], names: &[&str]) -> Option<Value> {
    let fs = fields(b)?;
    let mut out = json!({});
    for (i, name) in names.iter().enumerate() {
        if let Some(v) = text(&fs, i as u64 + 1) {
            out[*name] = json!(v);
        }
    }
    Some(out)
}

/// The JSON `spec` of a protobuf SelfSubjectAccessReview, SubjectAccessReview or
/// SelfSubjectRulesReview (`kind` says which); the envelope as for TokenRequest.
pub fn review(kind: &str, body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(b"k8s\0")?)?;
    let obj = fields(bytes_of(&unknown, 2)?)?;
    let spec = bytes_of(&obj, 2).unwrap_or_default();
    let out = if kind == "SelfSubjectRulesReview" {
        strings_object(spec, &["namespace"])?
    } else {
        let fs = fields(spec)?;
        let mut out = json!({});
        if let Some(ra) = bytes_of(&fs, 1) {
            let names = [
                "namespace",
                "verb",
                "group",
                "version",
                "resource",
                "subresource",
                "name",
            ];
            out["resourceAttributes"] = strings_object(ra, &names)?;
        }
        if let Some(nra) = bytes_of(&fs, 2) {
            out["nonResourceAttributes"] = strings_object(nra, &["path", "verb"])?;
        }
        if let Some(user) = text(&fs, 3) {
            out["user"] = json!(user);
        }
        let groups = texts(&fs, 4);
        if !groups.is_empty() {
            out["groups"] = json!(groups);
        }
        out
    };
    Some(json!({"spec": out}))
}
