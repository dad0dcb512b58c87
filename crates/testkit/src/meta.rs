//! Object metadata helpers: reading an object's name, namespace and uid, timestamps,
//! uids, tokens and name validation.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::status::Cause;

/// `metadata.<key>` of an object when it is a string; "" otherwise.
pub fn metadata_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub fn name_of(obj: &Value) -> &str {
    metadata_str(obj, "name")
}

pub fn namespace_of(obj: &Value) -> &str {
    metadata_str(obj, "namespace")
}

pub fn uid_of(obj: &Value) -> &str {
    metadata_str(obj, "uid")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp with second precision, like `metav1.Time`.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

pub fn now_rfc3339() -> String {
    rfc3339(now_secs())
}

/// Parses what [`rfc3339`] writes (used for Age columns).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    Some(days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?)
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Human age like kubectl's `Age` column (`5s`, `3m`, `2h`, `4d`).
pub fn age(created: &str) -> String {
    let Some(t) = parse_rfc3339(created) else {
        return "<unknown>".into();
    };
    let s = (now_secs() - t).max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// 64 random bits; RandomState is seeded from the OS per instance, so mixing a
/// counter into a fresh hasher is enough for test uids and tokens.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_i64(now_secs());
    h.finish()
}

pub fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&format!("{:016x}", random_u64()));
    }
    s.truncate(len);
    s
}

pub fn new_uid() -> String {
    let h = random_hex(32);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Suffix for `generateName` (5 chars from the real server's alphabet).
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| alnum(c) || *c == b'-')
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Which name validator a kind's strategy uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `ValidateNamespaceName`: a DNS-1123 label.
    Label,
    /// `ValidateServiceName`: a DNS-1035 label (starts with a letter).
    Dns1035Label,
    /// `ValidateRBACName`: a path segment (not `.`/`..`, no `/` or `%`).
    PathSegment,
    /// `NameIsDNSSubdomain`, the default.
    Subdomain,
}

/// Validates `metadata.name`: namespaces must be DNS-1123 labels, others subdomains.
pub fn validate_name(name: &str, label: bool) -> Vec<Cause> {
    validate_name_rule(
        name,
        if label {
            NameRule::Label
        } else {
            NameRule::Subdomain
        },
    )
}

/// Validates `metadata.name` with the kind's rule, as apimachinery's `ValidateObjectMeta`.
pub fn validate_name_rule(name: &str, rule: NameRule) -> Vec<Cause> {
    let field = "metadata.name";
    if name.is_empty() {
        return vec![Cause::required(field, "name or generateName is required")];
    }
    let mut causes = Vec::new();
    let mut bad = |msg: &str| causes.push(Cause::invalid_value(field, name, msg));
    match rule {
        NameRule::Label if !is_dns_label(name) => {
            bad(LABEL_MSG);
            if name.len() > 63 {
                bad("must be no more than 63 characters");
            }
        }
        NameRule::Dns1035Label
            if !(is_dns_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())) =>
        {
            bad(DNS1035_MSG);
            if name.len() > 63 {
                bad("must be no more than 63 characters");
            }
        }
        NameRule::PathSegment => {
            if name == "." || name == ".." {
                bad(&format!("may not be '{name}'"));
            }
            for c in ["/", "%"] {
                if name.contains(c) {
                    bad(&format!("may not contain '{c}'"));
                }
            }
        }
        NameRule::Subdomain if !is_dns_subdomain(name) => bad(SUBDOMAIN_MSG),
        _ => {}
    }
    causes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let t = 1_700_000_000;
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
        assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
    }

    #[test]
    fn names() {
        assert!(validate_name("istio-system", true).is_empty());
        assert!(!validate_name("a.b", true).is_empty());
        assert!(validate_name("a.b", false).is_empty());
        assert!(!validate_name("Bad_Name", false).is_empty());
    }
}
