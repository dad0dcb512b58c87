//! `GET /api/v1/namespaces/<ns>/pods/<pod>/log`: a pod's recorded log, with the real
//! endpoint's container checks and `tailLines`/`limitBytes` (`follow` and `timestamps`
//! are accepted and ignored: the log is complete when there is one).

use serde_json::Value;

use crate::request::{ApiRequest, Reply};
use crate::status::{ApiError, Cause};
use crate::store::Store;

pub fn get(st: &Store, req: &ApiRequest) -> Result<Reply, ApiError> {
    let def = req.route.def;
    let ns = req.route.namespace.as_deref().unwrap_or_default();
    let name = req.route.name.as_deref().unwrap_or_default();
    let pod = &st
        .get(def, ns, name)
        .ok_or_else(|| ApiError::not_found(def, name))?
        .obj;
    let tail = count(req, "tailLines", 0, name)?;
    let limit = count(req, "limitBytes", 1, name)?;
    let container = container(pod, name, req.q("container"))?;
    if matches!(req.q("previous"), "true" | "1") {
        // Simulated containers never restart, so there is no previous one.
        return Err(ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        )));
    }
    // The recorded log is what the first container (the one running a probe) printed.
    let first = pod.pointer("/spec/containers/0/name").and_then(Value::as_str);
    let log = match first == Some(container.as_str()) {
        true => st.pod_log(ns, name).unwrap_or_default(),
        false => "",
    };
    Ok(Reply::Text(
        200,
        limit_bytes(tail_lines(log, tail), limit).to_string(),
    ))
}

/// A non-negative integer option at least `min`: 400 if it is not a number, 422 (like
/// the real validation) if it is too small.
fn count(req: &ApiRequest, key: &str, min: i64, pod: &str) -> Result<Option<usize>, ApiError> {
    let raw = req.q(key);
    if raw.is_empty() {
        return Ok(None);
    }
    let n: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{key}: invalid value {raw:?}: not an integer")))?;
    if n < min {
        let detail = match min {
            0 => "must be greater than or equal to 0",
            _ => "must be greater than 0",
        };
        let cause = Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {n}: {detail}"),
            field: key.to_string(),
        };
        return Err(ApiError::invalid("PodLogOptions", "", pod, vec![cause]));
    }
    Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
}

fn names(pod: &Value, field: &str) -> Vec<String> {
    pod.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// The container a log request is for, checked like the real `ValidateContainer`: a
/// named one must exist (any kind), an unnamed one is the only regular container.
fn container(pod: &Value, name: &str, wanted: &str) -> Result<String, ApiError> {
    let all: Vec<String> = ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|f| names(pod, f))
        .collect();
    if !wanted.is_empty() {
        return match all.iter().any(|c| c == wanted) {
            true => Ok(wanted.to_string()),
            false => Err(ApiError::bad_request(format!(
                "container {wanted} is not valid for pod {name}"
            ))),
        };
    }
    match names(pod, "containers").as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// The last `n` lines (all without `n`).
fn tail_lines(log: &str, n: Option<usize>) -> &str {
    let Some(n) = n else { return log };
    let starts: Vec<usize> = log
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some(start)
        })
        .collect();
    match starts.len().checked_sub(n) {
        Some(skip) => starts.get(skip).map_or("", |&s| &log[s..]),
        None => log,
    }
}

/// At most `n` bytes, cut back to a character boundary.
fn limit_bytes(log: &str, n: Option<usize>) -> &str {
    let Some(mut end) = n.filter(|&n| n < log.len()) else {
        return log;
    };
    while !log.is_char_boundary(end) {
        end -= 1;
    }
    &log[..end]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tails() {
        let log = "a\nb\nc\n";
        assert_eq!(tail_lines(log, None), log);
        assert_eq!(tail_lines(log, Some(0)), "");
        assert_eq!(tail_lines(log, Some(2)), "b\nc\n");
        assert_eq!(tail_lines(log, Some(9)), log);
        assert_eq!(tail_lines("a\nb", Some(1)), "b");
        assert_eq!(tail_lines("", Some(1)), "");
    }

    #[test]
    fn limits() {
        assert_eq!(limit_bytes("abc", Some(2)), "ab");
        assert_eq!(limit_bytes("abc", Some(5)), "abc");
        assert_eq!(limit_bytes("é", Some(1)), "");
        assert_eq!(limit_bytes("abc", None), "abc");
    }

    #[test]
    fn containers() {
        let pod = json!({"spec": {"initContainers": [{"name": "init"}], "containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(container(&pod, "p", "b").ok().as_deref(), Some("b"));
        assert_eq!(container(&pod, "p", "init").ok().as_deref(), Some("init"));
        assert_eq!(
            container(&pod, "p", "c").map_err(|e| e.message),
            Err("container c is not valid for pod p".to_string())
        );
        assert_eq!(
            container(&pod, "p", "").map_err(|e| e.message),
            Err("a container name must be specified for pod p, choose one of: [init a b]".to_string())
        );
        let one = json!({"spec": {"containers": [{"name": "a"}]}});
        assert_eq!(container(&one, "p", "").ok().as_deref(), Some("a"));
        let none = json!({"spec": {}});
        assert_eq!(container(&none, "p", "").map_err(|e| e.code), Err(400));
    }
}
