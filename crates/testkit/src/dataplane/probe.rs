//! What a probe container asks for: the host of its `PROBE_URL`, the Service that host
//! names (as cluster DNS, or the mesh's global domain, resolves it) and how many requests
//! `PROBE_REQUESTS` makes.

use serde_json::Value;

/// A Job asking for more is a test bug; the cap keeps such a log from eating the memory.
pub(super) const MAX_REQUESTS: usize = 10_000;

/// What a request names: a Service, through Solo's global host or its cluster-local host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub service: String,
    pub namespace: String,
    /// `<svc>.<ns>.mesh.internal` (Solo's peering): only Services labelled
    /// `solo.io/service-scope: global|global-only` answer.
    pub global: bool,
}

/// What a probe container does: `requests` requests to `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub host: String,
    /// None: a host no cluster DNS resolves.
    pub target: Option<Target>,
    pub requests: usize,
    /// The caller's namespace: its `istio.io/dataplane-mode` says whether ztunnel (upstream
    /// ambient scoping) or a sidecar (every namesake) carries the calls.
    pub namespace: String,
}

/// The probe a pod runs, from its first container's env; None if it runs none.
pub(crate) fn probe_of(pod_spec: &Value, pod_namespace: &str) -> Option<Probe> {
    let env = pod_spec.pointer("/containers/0/env").and_then(Value::as_array)?;
    let var = |name: &str| {
        env.iter()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|e| e.get("value").and_then(Value::as_str))
    };
    let host = host_of(var("PROBE_URL")?);
    let requests = var("PROBE_REQUESTS")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .min(MAX_REQUESTS);
    Some(Probe {
        target: target_of(&host, pod_namespace),
        host,
        requests,
        namespace: pod_namespace.to_string(),
    })
}

/// The host of a URL (`http://h:80/p` → `h`), lowercased.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The Service a host names, as cluster DNS (and the mesh's global domain) resolves it;
/// a bare name resolves in the pod's own namespace.
fn target_of(host: &str, pod_namespace: &str) -> Option<Target> {
    let labels: Vec<&str> = host.split('.').collect();
    let (service, namespace, global) = match labels.as_slice() {
        [s, n, "mesh", "internal"] => (*s, *n, true),
        [s, n, "svc", "cluster", "local"] | [s, n, "svc"] | [s, n] => (*s, *n, false),
        [s] => (*s, pod_namespace, false),
        _ => return None,
    };
    if service.is_empty() || namespace.is_empty() {
        return None;
    }
    Some(Target {
        service: service.to_string(),
        namespace: namespace.to_string(),
        global,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn probe_env_contract() {
        let spec = |env: Value| json!({"containers": [{"name": "c", "env": env}, {"name": "d"}]});
        assert_eq!(probe_of(&spec(json!([])), "ns"), None);
        assert_eq!(probe_of(&json!({"containers": [{"name": "c"}]}), "ns"), None);
        let p = probe_of(
            &spec(json!([{"name": "PROBE_URL", "value": "http://Echo.Probe.mesh.internal./x"}])),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.host, "echo.probe.mesh.internal");
        assert_eq!(p.requests, 1);
        assert_eq!(p.namespace, "ns", "the caller's namespace");
        assert_eq!(
            p.target,
            Some(Target {
                service: "echo".into(),
                namespace: "probe".into(),
                global: true
            })
        );
        let p = probe_of(
            &spec(
                json!([{"name": "PROBE_URL", "value": "http://user@echo:8080?q=1"},
                           {"name": "PROBE_REQUESTS", "value": "999999999"}]),
            ),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.requests, MAX_REQUESTS);
        assert_eq!(
            p.target.map(|t| (t.namespace, t.global)),
            Some(("ns".to_string(), false))
        );
        let p = probe_of(
            &spec(json!([{"name": "PROBE_URL", "value": "echo.probe.svc"},
                           {"name": "PROBE_REQUESTS", "value": "many"}])),
            "ns",
        )
        .expect("probe");
        assert_eq!(p.requests, 1);
        assert_eq!(p.target.map(|t| t.namespace), Some("probe".to_string()));
        // Only the first container's env counts.
        let second = json!({"containers": [{"name": "c"}, {"name": "d", "env": [{"name": "PROBE_URL", "value": "x"}]}]});
        assert_eq!(probe_of(&second, "ns"), None);
    }

    #[test]
    fn host_parsing() {
        assert_eq!(
            host_of("http://a.b.svc.cluster.local:80/"),
            "a.b.svc.cluster.local"
        );
        assert_eq!(host_of("https://[::1]:443/x"), "::1");
        assert_eq!(host_of("a.b"), "a.b");
        assert_eq!(target_of("a.b.c.d", "ns"), None);
        assert_eq!(target_of("", "ns"), None);
    }
}
