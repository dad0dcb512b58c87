//! One fake cluster: its state, settings and the Rust API tests use to inspect and
//! steer it while it serves.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use rcgen::{Issuer, KeyPair};
use serde_json::Value;

use crate::apply::{self, Writer};
use crate::faults::{Fault, FaultState, LoggedRequest, RequestCounts};
use crate::fields::Scope;
use crate::meta;
use crate::registry;
use crate::route::{self, Route};
use crate::store::Store;

/// The manager recorded for objects written through the Rust API.
pub const SEED_MANAGER: &str = "mesh-testkit";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not take the server down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) struct Shared {
    pub name: String,
    pub index: usize,
    pub addr: SocketAddr,
    pub ca_pem: String,
    /// The cluster CA, which also signs the client certificates the server accepts.
    pub issuer: Issuer<'static, KeyPair>,
    pub token: String,
    pub user: String,
    pub gateway_api: AtomicBool,
    pub down: AtomicBool,
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultState>,
    /// Issued service-account tokens and the token clock ([`crate::tokens`]). Taken
    /// after the store's lock when both are held, never before it.
    pub authn: Mutex<crate::tokens::Authn>,
    pub latency: Mutex<Duration>,
    pub address_delay: Mutex<Option<Duration>>,
    pub job_delay: Mutex<Duration>,
    /// The load balancer's address ([`FakeCluster::set_lb_address`]). Changed only while
    /// holding the store's lock, and read under it by the controllers, so a pass never
    /// writes an address that was already replaced; taken after the store's lock.
    pub lb_address: Mutex<String>,
}

impl Shared {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }
    pub fn authn(&self) -> MutexGuard<'_, crate::tokens::Authn> {
        lock(&self.authn)
    }
    pub fn latency(&self) -> Duration {
        *lock(&self.latency)
    }
    pub fn address_delay(&self) -> Option<Duration> {
        *lock(&self.address_delay)
    }
    pub fn job_delay(&self) -> Duration {
        *lock(&self.job_delay)
    }
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }
    pub fn gateway_api(&self) -> bool {
        self.gateway_api.load(Ordering::SeqCst)
    }

    /// `https://127.0.0.1:<port>`
    pub fn server_url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The address controllers hand out: at first `203.0.113.<10+index>` (TEST-NET-3,
    /// never contacted), then whatever [`FakeCluster::set_lb_address`] set.
    pub fn lb_address(&self) -> String {
        lock(&self.lb_address).clone()
    }

    /// The first [`Shared::lb_address`] of the cluster at `index`.
    pub fn initial_lb_address(index: usize) -> String {
        format!("203.0.113.{}", 10 + index)
    }

    /// Writes an object as-is (status included) as manager `manager`.
    pub fn put(&self, obj: Value, manager: &str, subresource: &str) -> Result<Value> {
        write_locked(&mut self.store(), obj, manager, subresource)
    }
}

/// Creates or replaces `obj` in a locked store, recording `manager` as an Update owner
/// of what changed. Keeps a `metadata.uid` given for a new object (seeded uids).
pub(crate) fn write_locked(
    st: &mut Store,
    mut obj: Value,
    manager: &str,
    subresource: &str,
) -> Result<Value> {
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let def = registry::find_kind(&api_version, kind)
        .ok_or_else(|| anyhow!("unknown kind {api_version} {kind}"))?;
    if meta::name_of(&obj).is_empty() {
        bail!("object has no metadata.name");
    }
    if !def.namespaced {
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
    } else if meta::namespace_of(&obj).is_empty() {
        obj["metadata"]["namespace"] = "default".into();
    }
    let old = st.get(def, meta::namespace_of(&obj), meta::name_of(&obj));
    let (old_obj, old_managers) = match old {
        Some(s) => (&s.obj, s.managers.as_slice()),
        None => (&Value::Null, &[][..]),
    };
    let scope = if subresource == "status" {
        Scope::Status
    } else {
        Scope::Main { status_is_sub: false }
    };
    let w = Writer {
        manager,
        api_version: &api_version,
        subresource,
        scope,
        shape: crate::shape::Shape::of(def),
    };
    let managers = apply::update(old_obj, &obj, old_managers, &w);
    Ok(st.commit(def, obj, managers, false))
}

/// A running fake cluster (cheap to clone; all clones share state).
#[derive(Clone)]
pub struct FakeCluster {
    pub(crate) shared: Arc<Shared>,
}

impl FakeCluster {
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Position in the sandbox (0-based); the controllers' first address is
    /// `203.0.113.<10+index>` ([`FakeCluster::lb_address`]).
    pub fn index(&self) -> usize {
        self.shared.index
    }

    /// `https://127.0.0.1:<port>`
    pub fn server_url(&self) -> String {
        self.shared.server_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// PEM of the cluster CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.shared.ca_pem
    }

    /// A client certificate and key (both PEM) for `user`, signed by the cluster CA
    /// ([`FakeCluster::ca_pem`]). Presented on a connection it authenticates every
    /// request as `user` (the subject CN), with no bearer token needed and taking
    /// precedence over one. Other clusters reject it in the TLS handshake.
    pub fn client_cert(&self, user: &str) -> (String, String) {
        self.client_cert_in_group(user, None)
    }

    /// [`FakeCluster::client_cert`] with `group` as the subject O (a Kubernetes group,
    /// e.g. `system:masters`); it shows in [`LoggedRequest::groups`]. (rcgen keeps one
    /// value per attribute type, so one group.)
    pub fn client_cert_in_group(&self, user: &str, group: Option<&str>) -> (String, String) {
        crate::tls::client_cert(&self.shared.issuer, user, group).expect("issuing a client certificate")
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The admin user name the token authenticates as (used in RBAC messages).
    pub fn user(&self) -> &str {
        &self.shared.user
    }

    /// The address controllers give Gateways and LoadBalancer Services without
    /// `spec.addresses`: `203.0.113.<10+index>` until [`FakeCluster::set_lb_address`].
    pub fn lb_address(&self) -> String {
        self.shared.lb_address()
    }

    /// Moves the cluster's load balancer to `addr`, as a cloud re-IPing it would: from now
    /// on the controllers hand out `addr`, and at once every Gateway and LoadBalancer
    /// Service whose status carries the old address (as the controllers wrote it: Gateways
    /// without `spec.addresses`) gets `addr` in its place, the rest of its status kept.
    /// Each is a status write: a new resourceVersion and a MODIFIED event for watchers.
    /// `addr` is an IP address (Gateway address type `IPAddress`, Service ingress `ip`
    /// with `ipMode: VIP`) or else a host name (`Hostname`, ingress `hostname`, as an AWS
    /// load balancer has). Objects still waiting for an address get `addr` when their
    /// delay is up.
    pub fn set_lb_address(&self, addr: &str) {
        let mut st = self.shared.store();
        let old = std::mem::replace(&mut *lock(&self.shared.lb_address), addr.to_string());
        crate::controllers::readdress(&mut st, &old, addr);
    }

    /// The object at an API path such as
    /// `/apis/gateway.networking.k8s.io/v1/namespaces/istio-gateways/gateways/istio-eastwest`.
    pub fn object(&self, path: &str) -> Option<Value> {
        let Route::Resource(r) = route::parse(path, true) else {
            return None;
        };
        let name = r.name.as_deref()?;
        let st = self.shared.store();
        st.get(r.def, r.namespace.as_deref().unwrap_or_default(), name)
            .map(|s| s.obj.clone())
    }

    /// The objects of a collection path (`/api/v1/namespaces`, `/api/v1/namespaces/x/secrets`,
    /// `/api/v1/secrets` for all namespaces).
    pub fn objects(&self, path: &str) -> Vec<Value> {
        let Route::Resource(r) = route::parse(path, true) else {
            return Vec::new();
        };
        let st = self.shared.store();
        st.list(r.def, r.namespace.as_deref())
            .into_iter()
            .map(|s| s.obj.clone())
            .collect()
    }

    /// Creates or replaces an object directly (not counted, no faults), status included.
    /// Namespaced objects without a namespace go to `default`.
    pub fn put_object(&self, obj: Value) -> Result<Value> {
        self.shared.put(obj, SEED_MANAGER, "")
    }

    /// Deletes the object at an API path directly (a namespace takes its contents).
    pub fn delete_object(&self, path: &str) -> Option<Value> {
        let Route::Resource(r) = route::parse(path, true) else {
            return None;
        };
        let name = r.name.as_deref()?;
        let mut st = self.shared.store();
        st.delete(r.def, r.namespace.as_deref().unwrap_or_default(), name, false)
    }

    /// The log of pod `namespace/pod` (its first container's), as `GET .../pods/<pod>/log`
    /// serves it; None if none was recorded. A Job's pod gets one when the Job completes.
    pub fn pod_log(&self, namespace: &str, pod: &str) -> Option<String> {
        self.shared.store().pod_log(namespace, pod).map(str::to_string)
    }

    /// Sets the log of an existing pod (e.g. one made with [`FakeCluster::put_object`]);
    /// deleting the pod deletes its log.
    pub fn set_pod_log(&self, namespace: &str, pod: &str, log: &str) -> Result<()> {
        if !self.shared.store().set_pod_log(namespace, pod, log.to_string()) {
            bail!("no pod {namespace}/{pod}");
        }
        Ok(())
    }

    /// The cluster's current resourceVersion counter.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv()
    }

    pub fn counts(&self) -> RequestCounts {
        self.shared.faults().counts
    }

    /// Zeroes the counts and clears the request log.
    pub fn reset_counts(&self) {
        let mut f = self.shared.faults();
        f.counts = RequestCounts::default();
        f.log.clear();
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.shared.faults().log.clone()
    }

    /// Adds a fault rule; the first matching rule wins.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults().rules.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().rules.clear();
    }

    /// Latency added to every request.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.shared.latency) = d;
    }

    /// Answers `verb` (get, list, watch, create, update, patch, delete, or `*`) on
    /// `resource` (plural, `plural/subresource`, or `*`) with 403 Forbidden, for every
    /// user, the admin included: fault injection, checked before RBAC
    /// ([`crate::rbac`]) and worded like its 403. As in the real API server, a
    /// server-side apply that would create the object also needs `create`.
    pub fn deny(&self, verb: &str, resource: &str) {
        self.shared
            .faults()
            .denied
            .push((verb.to_string(), resource.to_string()));
    }

    pub fn clear_denies(&self) {
        self.shared.faults().denied.clear();
    }

    /// Down: new connections are reset and open ones closed on their next request.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Delay before Gateways and LoadBalancer Services get addresses; `None` = never.
    pub fn set_address_delay(&self, d: Option<Duration>) {
        *lock(&self.shared.address_delay) = d;
    }

    /// Delay before Jobs are marked complete (and their pod and its log appear).
    pub fn set_job_delay(&self, d: Duration) {
        *lock(&self.shared.job_delay) = d;
    }

    /// How many changes the watch history keeps (default 2048; from the next change on):
    /// a watch, an `Exact` list or a list page from before them is `410 Gone` (`Expired`).
    pub fn set_watch_history(&self, events: usize) {
        self.shared.store().watch.history = events;
    }

    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK (default 60s).
    pub fn set_bookmark_interval(&self, every: Duration) {
        self.shared.store().watch.bookmark_every = every;
    }

    /// Shows or hides the gateway.networking.k8s.io group (as if its CRDs were absent).
    pub fn set_gateway_api(&self, present: bool) {
        self.shared.gateway_api.store(present, Ordering::SeqCst);
    }

    /// The user a service-account bearer token was issued to, if any (whether or not
    /// it still authenticates).
    pub fn user_for_token(&self, token: &str) -> Option<String> {
        self.shared.authn().user_of(token)
    }

    /// Moves the clock service-account tokens are issued and checked against forward by
    /// `by` (wall time plus every advance): a TokenRequest token stops authenticating
    /// (401) once the clock is more than a minute past its `exp` (the one-minute leeway
    /// kube-apiserver's service-account validator allows), without the test sleeping.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.authn().advance(by);
    }

    /// The token clock ([`FakeCluster::advance_clock`]), in Unix seconds.
    pub fn clock(&self) -> i64 {
        self.shared.authn().now()
    }
}
