//! The set of clusters a command works on: parsed from `--context`/`--contexts`, validated
//! before anything is sent, then connected.

use std::time::Duration;

use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::kube::api::{ApiClient, ApiError, RetryPolicy};
use crate::kube::apply::ApplyError;
pub use crate::kube::cluster_error::{Cause, ClusterError};
use crate::kube::kubeconfig::LoadedKubeconfig;
use crate::kube::validation as names;
use crate::InputError;

/// A cluster as the user named it: `east-1` or `east-1=some-context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRef {
    /// The cluster name used in object names and reports.
    pub name: String,
    /// The kubeconfig context to reach it.
    pub context: String,
}

/// Parses `--contexts` entries (`ctx` or `name=ctx`), refusing duplicates and invalid names.
pub fn parse_refs(entries: &[String]) -> Result<Vec<ClusterRef>, InputError> {
    let mut refs: Vec<ClusterRef> = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let (name, context) = match entry.split_once('=') {
            Some((name, context)) => (name.trim(), context.trim()),
            None => (entry, entry),
        };
        if context.is_empty() {
            return Err(
                InputError::new(format!("--contexts entry {entry:?} has no context after '='"))
                    .with_hint("write NAME=CONTEXT, e.g. --contexts east-1=kind-east"),
            );
        }
        check_cluster_name(name, entry)?;
        if let Some(dup) = refs.iter().find(|r| r.name == name || r.context == context) {
            let what = if dup.name == name {
                format!("cluster {name:?}")
            } else {
                format!("context {context:?}")
            };
            return Err(InputError::new(format!("{what} is listed twice in --contexts"))
                .with_hint("list every cluster once"));
        }
        refs.push(ClusterRef {
            name: name.to_string(),
            context: context.to_string(),
        });
    }
    Ok(refs)
}

fn check_cluster_name(name: &str, entry: &str) -> Result<(), InputError> {
    if names::is_label(name) {
        return Ok(());
    }
    let hint = if entry.contains('=') {
        "cluster names are DNS-1123 labels: lowercase letters, digits and '-' (e.g. east-1)".to_string()
    } else {
        format!(
            "the context name is not a valid cluster name; name the cluster explicitly: --contexts {}={entry}",
            suggested_name(entry)
        )
    };
    Err(InputError::new(format!(
        "invalid cluster name {name:?}: not a valid DNS-1123 label"
    ))
    .with_hint(hint))
}

/// A valid cluster name made from a context name (`arn:aws:eks:...:cluster/East_1` →
/// `east-1`), for hints that must work when copied.
pub fn suggested_name(context: &str) -> String {
    let last = context
        .rsplit(['/', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or(context);
    let mut name: String = last
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    name = name
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(63);
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "cluster-1".to_string()
    } else {
        name
    }
}

/// Which clusters a command targets: `--contexts` if given, else `--context`, else the
/// kubeconfig's current context.
pub fn select(
    kubeconfig: &LoadedKubeconfig,
    context: Option<&str>,
    contexts: &[String],
) -> Result<Vec<ClusterRef>, InputError> {
    if context.is_some() && !contexts.is_empty() {
        return Err(InputError::new("--context and --contexts were both given")
            .with_hint("use --context for one cluster or --contexts a,b,c for several"));
    }
    let refs = if !contexts.is_empty() {
        parse_refs(contexts)?
    } else {
        let name = match context {
            Some(c) => c.to_string(),
            None => kubeconfig.current_context().map(str::to_string).ok_or_else(|| {
                InputError::new("no context selected and the kubeconfig has no current-context")
                    .with_hint("pass --context NAME or --contexts a,b,c")
            })?,
        };
        parse_refs(&[name])?
    };
    if refs.is_empty() {
        // `--contexts ''`, `--contexts ,` or `--context ''`: a command run on nothing would
        // report success having checked or changed nothing.
        return Err(InputError::new("no clusters given: the cluster list is empty")
            .with_hint("name the clusters: --context NAME, or --contexts a,b,c"));
    }
    for r in &refs {
        if !kubeconfig.has_context(&r.context) {
            return Err(kubeconfig.unknown_context(&r.context));
        }
    }
    Ok(refs)
}

/// The `--contexts` entry that names a cluster: `name=context` when it is named apart from
/// its context, so that printed fixes run as they are.
pub fn contexts_entry(name: &str, context: &str) -> String {
    if name == context {
        name.to_string()
    } else {
        format!("{name}={context}")
    }
}

/// A cluster ready to be talked to.
#[derive(Clone)]
pub struct Cluster {
    pub name: String,
    pub context: String,
    /// The API server URL, as the kubeconfig gives it.
    pub server: String,
    /// The CA bundle the kubeconfig trusts for this server (PEM), if it names one.
    pub ca_pem: Option<String>,
    pub api: ApiClient,
}

/// The CA of a context's cluster: inline data, or the file it names; `None` when the
/// kubeconfig names none (the system's roots are used). A CA that is named but cannot be
/// read is an error: remote secrets copy it, and a silent gap would break them later.
fn kubeconfig_ca(kubeconfig: &Kubeconfig, context: &str) -> Result<Option<String>, String> {
    let cluster = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|ctx| kubeconfig.clusters.iter().find(|c| c.name == ctx.cluster))
        .and_then(|c| c.cluster.as_ref());
    let Some(cluster) = cluster else {
        return Ok(None);
    };
    if let Some(data) = &cluster.certificate_authority_data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("certificate-authority-data is not base64: {e}"))?;
        let pem =
            String::from_utf8(bytes).map_err(|_| "certificate-authority-data is not PEM text".to_string())?;
        return Ok(Some(pem));
    }
    match &cluster.certificate_authority {
        Some(file) => std::fs::read_to_string(file)
            .map(Some)
            .map_err(|e| format!("cannot read certificate-authority {file}: {e}")),
        None => Ok(None),
    }
}

impl Cluster {
    /// A cluster-side API failure, typed: which cluster, what the server said, and (in its
    /// text) what to do about it.
    pub fn error(&self, error: ApiError) -> ClusterError {
        self.with_cause(Cause::Api(error))
    }

    /// A failed write, typed: the object, then as [`Cluster::error`].
    pub fn write_error(&self, error: ApplyError) -> ClusterError {
        self.with_cause(Cause::Write(error))
    }

    /// The cluster does not hold what we need; `message` says what and how to fix it.
    pub fn state_error(&self, message: impl Into<String>) -> ClusterError {
        self.with_cause(Cause::State(message.into()))
    }

    fn with_cause(&self, cause: Cause) -> ClusterError {
        ClusterError {
            cluster: self.name.clone(),
            context: self.context.clone(),
            server: self.server.clone(),
            cause: Box::new(cause),
        }
    }

    /// [`Cluster::error`] in words, for reports that hold text (verify's checks).
    pub fn explain(&self, error: &ApiError) -> String {
        self.error(error.clone()).to_string()
    }

    /// [`Cluster::write_error`] in words.
    pub fn explain_write(&self, error: &ApplyError) -> String {
        self.write_error(error.clone()).to_string()
    }
}

/// How clients are configured.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    /// Per API call.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// Builds a client for every cluster. Fails (as input error) only on a broken kubeconfig entry;
/// unreachable servers show up later, per cluster, when they are called.
pub async fn connect(
    kubeconfig: &LoadedKubeconfig,
    refs: &[ClusterRef],
    options: ConnectOptions,
) -> Result<Vec<Cluster>, InputError> {
    let mut clusters = Vec::with_capacity(refs.len());
    for r in refs {
        clusters.push(connect_one(&kubeconfig.config, r, options).await?);
    }
    Ok(clusters)
}

/// The cluster this process runs in (its ServiceAccount), as `kubectl` does in a pod: for a
/// controller that keeps its Lease and status in its own cluster.
pub fn connect_in_cluster(options: ConnectOptions) -> Result<Cluster, InputError> {
    let broken = |e: &dyn std::fmt::Display| {
        InputError::new(format!("the in-cluster configuration cannot be used: {e}"))
            .with_hint("outside a pod, name the cluster with --lease-context")
    };
    let mut config = kube::Config::incluster().map_err(|e| broken(&e))?;
    config.default_retry = false;
    config.connect_timeout = Some(options.timeout);
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client = http2_client(&config).map_err(|e| broken(&e))?;
    Ok(Cluster {
        name: "in-cluster".into(),
        context: "in-cluster".into(),
        server,
        ca_pem: None,
        api: ApiClient::new(client, options.timeout, options.retry),
    })
}

async fn connect_one(
    kubeconfig: &Kubeconfig,
    r: &ClusterRef,
    options: ConnectOptions,
) -> Result<Cluster, InputError> {
    let kube_options = KubeConfigOptions {
        context: Some(r.context.clone()),
        ..Default::default()
    };
    let broken = |e: &dyn std::fmt::Display| {
        InputError::new(format!(
            "context {:?} (cluster {}) in the kubeconfig cannot be used: {e}",
            r.context, r.name
        ))
        .with_hint(format!("check it with `kubectl --context {} get ns`", r.context))
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &kube_options)
        .await
        .map_err(|e| broken(&e))?;
    if config.accept_invalid_certs {
        tracing::warn!(
            cluster = %r.name,
            "TLS verification is OFF for context {:?} (insecure-skip-tls-verify in the kubeconfig)",
            r.context
        );
    }
    // Retries are ours (they honour Retry-After and bound the total); kube's would stack on top.
    config.default_retry = false;
    config.connect_timeout = Some(options.timeout);
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let ca_pem = kubeconfig_ca(kubeconfig, &r.context).map_err(|e| broken(&e))?;
    let client = http2_client(&config).map_err(|e| broken(&e))?;
    Ok(Cluster {
        name: r.name.clone(),
        context: r.context.clone(),
        server,
        ca_pem,
        api: ApiClient::new(client, options.timeout, options.retry),
    })
}

/// A kube client that speaks HTTP/2 when the server offers it, as kubectl and client-go do:
/// one TLS connection per cluster carries every concurrent request, where kube's default
/// HTTP/1.1 client opens (and handshakes) a connection per request in flight. The stack is
/// kube's own layers (base URI, authentication with token refresh and exec plugins, extra
/// headers) over a connector that offers `h2` and `http/1.1` by ALPN.
fn http2_client(config: &kube::Config) -> Result<kube::Client, String> {
    use kube::client::ConfigExt;

    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    // Without TCP_NODELAY a request written in two pieces (HTTP/2 HEADERS, then DATA) waits
    // for the server's delayed ACK: 40 ms per round trip. Go, hence kubectl, sets it always.
    http.set_nodelay(true);
    let mut builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.rustls_client_config().map_err(|e| e.to_string())?)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|e| format!("tls-server-name {name:?}: {e}"))?;
        builder = builder.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let connector = builder.enable_all_versions().wrap_connector(http);
    let http_client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, kube::client::Body>(connector);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer().map_err(|e| e.to_string())?)
        .layer(config.extra_headers_layer().map_err(|e| e.to_string())?)
        .map_err(tower::BoxError::from)
        .service(http_client);
    Ok(kube::Client::new(service, config.default_namespace.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_names_and_contexts() {
        let refs = parse_refs(&strings(&["a", "east-1=kind-east", " b "])).unwrap();
        assert_eq!(
            refs[0],
            ClusterRef {
                name: "a".into(),
                context: "a".into()
            }
        );
        assert_eq!(
            refs[1],
            ClusterRef {
                name: "east-1".into(),
                context: "kind-east".into()
            }
        );
        assert_eq!(refs[2].name, "b");
    }

    #[test]
    fn refuses_duplicates_and_bad_names() {
        let err = parse_refs(&strings(&["a", "a"])).unwrap_err();
        assert!(err.message.contains("listed twice"), "{err}");
        let err = parse_refs(&strings(&["x=a", "y=a"])).unwrap_err();
        assert!(err.message.contains("context \"a\""), "{err}");
        let err = parse_refs(&strings(&["arn:aws:eks:eu-west-1:1:cluster/prod"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("--contexts prod=arn:aws:eks:eu-west-1:1:cluster/prod"),
            "{err}"
        );
        let err = parse_refs(&strings(&["Foo_Bar"])).unwrap_err();
        assert!(err.to_string().contains("--contexts foo-bar=Foo_Bar"), "{err}");
        assert_eq!(suggested_name("kind-East_2"), "kind-east-2");
        assert_eq!(suggested_name("___"), "cluster-1");
        let err = parse_refs(&strings(&["East=ctx"])).unwrap_err();
        assert!(err.message.contains("invalid cluster name \"East\""), "{err}");
        assert!(parse_refs(&strings(&["a="])).is_err());
    }
}
