//! `verify --check-credentials`: log in to every target with the token its remote secret
//! holds, the way istiod will, and report when that token expires.

use base64::Engine;
use serde_json::Value;

use super::checks::pair;
use super::facts::ClusterFacts;
use super::{Check, Status, VerifyOptions};
use crate::kube::api::{ApiClient, RetryPolicy};
use crate::kube::parallel;
use crate::resources::remote_secret;

pub async fn check(all: &[ClusterFacts], options: &VerifyOptions) -> Vec<Check> {
    let mut jobs = Vec::new();
    for facts in all {
        for secret in facts.remote_secrets.iter().flatten() {
            let target = secret
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(remote_secret::CLUSTER_ANNOTATION))
                .and_then(Value::as_str);
            if let Some(target) = target {
                jobs.push((facts.name.as_str(), target.to_string(), secret));
            }
        }
    }
    parallel::map_bounded(jobs, options.parallel, |(from, to, secret)| async move {
        let result = login(secret, &to, options).await;
        match result {
            Ok(expiry) => pair(
                "link-credentials",
                from,
                &to,
                Status::Pass,
                format!("token authenticates; {expiry}"),
            ),
            Err(e) => pair(
                "link-credentials",
                from,
                &to,
                Status::Fail,
                format!("token does not work: {e}"),
            )
            .hint(format!(
                "kubectl mesh link --mode remote-secret --from {from} --to {to}"
            )),
        }
    })
    .await
}

async fn login(secret: &Value, target: &str, options: &VerifyOptions) -> Result<String, String> {
    let text =
        crate::link::remote_secret::kubeconfig_of(secret, target).ok_or("the secret holds no kubeconfig")?;
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&text).map_err(|e| format!("invalid kubeconfig: {e}"))?;
    let expires = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .and_then(expiry);
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| format!("invalid kubeconfig: {e}"))?;
    config.default_retry = false;
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    let api = ApiClient::new(
        client,
        options.timeout,
        RetryPolicy {
            attempts: 1,
            ..Default::default()
        },
    );
    // Listing namespaces needs a valid identity and the reader's permissions (unlike /version).
    api.list("/api/v1/namespaces", None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(match expires {
        Some(exp) => format!("expires {exp}"),
        None => "no expiry".to_string(),
    })
}

/// The `exp` claim of a JWT, as a date. The token itself is never shown.
fn expiry(token: &str) -> Option<String> {
    let claims = token.split('.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .ok()?;
    let exp = serde_json::from_slice::<Value>(&claims)
        .ok()?
        .get("exp")?
        .as_i64()?;
    let when = mesh_trust::OffsetDateTime::from_unix_timestamp(exp).ok()?;
    Some(when.date().to_string())
}
