//! A fake multi-cluster Kubernetes API server for the end-to-end tests of kubectl-mesh.
//!
//! Each cluster is its own HTTPS server on `127.0.0.1:<random port>` with its own CA
//! and bearer token. Like kube-apiserver with `--client-ca-file`, it also accepts
//! (without requiring) client certificates signed by that same CA: the subject CN is
//! the user, O the groups; a certificate from another CA fails the TLS handshake. It serves legacy discovery, minimal OpenAPI v3 (enough for
//! `kubectl apply --server-side` with default validation), CRUD with label/field
//! selectors, watch (410 `Expired` past a bounded history, bookmarks, streaming lists),
//! list `resourceVersionMatch` and `limit`/`continue` pages, merge and JSON patches,
//! strategic merge patches of built-in kinds (merge keys and strategies from the vendored
//! OpenAPI, `$patch`/`$retainKeys`/`$deleteFromPrimitiveList`/`$setElementOrder`, so
//! client-side `kubectl apply` works; custom resources refuse them with 415 as the real
//! server does),
//! server-side apply with managed fields and conflicts (keyed lists, sets and atomic
//! lists by the vendored schemas' list types, list items owned one by one), graceful
//! deletion (finalizers, Terminating namespaces, `propagationPolicy`, a garbage
//! collector and namespace controller), the `status` subresource, TokenRequest, pod logs, Table output,
//! `coordination.k8s.io/v1` Leases (enough for leader election with kube-lease-manager),
//! small controllers, a simulated mesh data plane for probe Jobs, and per-cluster fault
//! injection and request accounting.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use mesh_testkit::{ClusterSpec, Fault, IstioSeed, Sandbox};
//!
//! let sb = Sandbox::builder()
//!     .cluster("a")
//!     .cluster_with("b", ClusterSpec { istio: Some(IstioSeed::network("net-b")), ..Default::default() })
//!     .start()
//!     .await?;
//! sb.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?; // contexts "a" and "b"
//! let a = sb.cluster("a");
//! let _ns = a.object("/api/v1/namespaces/default");
//! a.inject(Fault::status(429).retry_after(1).times(2).method("PATCH").path_contains("gateways"));
//! a.inject(Fault::reset().times(1));
//! a.deny("create", "serviceaccounts");
//! a.set_address_delay(Some(Duration::from_millis(200))); // None: addresses never come
//! a.set_lb_address("198.51.100.7"); // the load balancer re-IPed: statuses follow at once
//! assert_eq!(a.counts().writes(), 0);
//! # Ok(()) }
//! ```
//!
//! Rust API:
//! - [`Sandbox::builder`] → [`SandboxBuilder::cluster`] / [`SandboxBuilder::cluster_with`]
//!   ([`ClusterSpec`], [`IstioSeed`]) → [`SandboxBuilder::start`].
//! - [`Sandbox::cluster`], [`Sandbox::kubeconfig_yaml`], [`Sandbox::write_kubeconfig`]
//!   (tokens), [`Sandbox::kubeconfig_yaml_with`] / [`Sandbox::write_kubeconfig_with`]
//!   ([`Auth::Token`] or [`Auth::ClientCert`]).
//! - [`FakeCluster`]: `name`, `server_url`, `ca_pem`, `token`, `user`,
//!   `client_cert(user)` / `client_cert_in_group(user, group)` (cert and key PEM),
//!   `lb_address` / `set_lb_address(addr)` (the load balancer moves: every Gateway and
//!   LoadBalancer Service status carrying the old address gets the new one at once),
//!   `object(path)`,
//!   `objects(collection_path)`, `put_object(value)`, `delete_object(path)` (direct,
//!   uncounted, immediate: finalizers ignored, a namespace takes its contents at once), `counts()` ([`RequestCounts`], `writes()`), `reset_counts`,
//!   `request_log`, `inject(`[`Fault`]`)`, `clear_faults`, `set_latency`,
//!   `deny(verb, resource)`, `set_down`, `set_address_delay`, `set_job_delay`,
//!   `set_watch_history(events)` (default 2048), `set_bookmark_interval(duration)` (60s),
//!   `advance_clock(duration)` / `clock()` (the token clock), `user_for_token`,
//!   `set_gateway_api`, `pod_log(namespace, pod)`, `set_pod_log(namespace, pod, log)`
//!   (for a pod made with `put_object`).
//!
//! Authentication and authorization: the admin token and admin client certificates
//! are `system:masters` members (kubeadm's admin), allowed everything as by
//! kube-apiserver's privileged-group authorizer; every other user gets what RBAC
//! grants. [`FakeCluster::deny`] is fault injection checked before RBAC, for everyone.
//! RBAC (module `rbac`) evaluates the stored Roles, ClusterRoles, RoleBindings and
//! ClusterRoleBindings as plugin/pkg/auth/authorizer/rbac does: apiGroups, resources
//! (`*`, `resource/subresource`, `*/subresource`), verbs, resourceNames (a list or
//! watch with `fieldSelector=metadata.name=<n>` names `<n>`), nonResourceURLs; a
//! RoleBinding grants only in its namespace and may reference a ClusterRole; subjects
//! User, Group and ServiceAccount. Request attributes are RequestInfo's (a server-side
//! apply that creates also needs `create`); denials are the authorization filter's
//! 403 (`services is forbidden: User "…" cannot list resource "services" in API group
//! "" in the namespace "x"`, plus `: RBAC: role.rbac.authorization.k8s.io "r" not
//! found` for dangling bindings). The bootstrap roles `cluster-admin`,
//! `system:discovery`, `system:basic-user`, `system:public-info-viewer` and their
//! bindings to `system:masters`/`system:authenticated` apply unless overridden by stored
//! objects of the same name. A controller fills aggregated ClusterRoles' rules from
//! `aggregationRule.clusterRoleSelectors`. Served review APIs: SelfSubjectAccessReview,
//! SelfSubjectRulesReview, SubjectAccessReview, LocalSubjectAccessReview (so `kubectl
//! auth can-i [--list]` works), TokenReview and SelfSubjectReview (`kubectl auth
//! whoami`), listed in discovery. Service-account tokens authenticate as
//! `system:serviceaccount:<ns>:<name>` in groups `system:serviceaccounts` and
//! `system:serviceaccounts:<ns>` (plus `system:authenticated`): legacy ones from
//! service-account-token Secrets while the Secret exists, TokenRequest ones
//! (`kubectl create token`) until a minute past their `exp` on the token clock
//! ([`FakeCluster::advance_clock`]; the minute is the leeway of go-jose's claim check,
//! which kube-apiserver's service-account validator uses), then a 401; only for the API audience
//! `https://kubernetes.default.svc.cluster.local`; both only while their
//! ServiceAccount exists with the uid it had. TokenRequest: 404 for a missing account,
//! `expirationSeconds` default 3600 and 600..=2^32 (422 otherwise), audiences default
//! to the API audience, `status.expirationTimestamp` from the token clock.
//!
//! Controllers: gateway.networking.k8s.io Gateways get `status.addresses` (their
//! `spec.addresses`, else the cluster's load-balancer address) and `Accepted`/`Programmed`
//! conditions; LoadBalancer Services get that address as their ingress (both after the
//! address delay). The address is `203.0.113.<10+cluster index>` until
//! [`FakeCluster::set_lb_address`] moves it (an IP address: `IPAddress`, ingress `ip` with
//! `ipMode: VIP`; a host name: `Hostname`, ingress `hostname`); a move rewrites at once
//! the addresses of every Gateway and Service status that held the old one (a status
//! write each: new resourceVersion, MODIFIED to watchers), conditions untouched.
//! Service-account-token Secrets get `token`, `ca.crt`, `namespace`; Deployments report
//! their replicas ready. A Job gets, on create, the selector and template labels of the
//! real Job strategy (`batch.kubernetes.io/controller-uid`, ..., unless
//! `spec.manualSelector`), and after the job delay completes and leaves one
//! Succeeded Pod `<job>-<5 random chars>`: the template's labels plus `job-name`,
//! `controller-uid` (both also `batch.kubernetes.io/`-prefixed), an ownerReference to
//! the Job, the template's spec, a terminated (exit 0, `Completed`) status per container,
//! and a log. `GET .../pods/<pod>/log` serves it as `text/plain` (`container`,
//! `tailLines`, `limitBytes`; `follow` and `timestamps` ignored; checked, authorized as
//! `get` on `pods/log`, counted and faulted like any read), so `kubectl logs <pod>` and
//! `kubectl logs job/<job>` work; deleting the pod or its namespace drops the log.
//!
//! Data plane: a Job whose template's first container has env `PROBE_URL` (literal
//! `value`; host `<svc>.<ns>.mesh.internal`, or cluster-local
//! `<svc>.<ns>[.svc[.cluster.local]]` or `<svc>` in the Job's namespace; any scheme,
//! port and path, e.g. `http://echo.ns.mesh.internal/`) and `PROBE_REQUESTS` (default
//! 1, at most 10000) logs one line per request, computed when it completes from all the
//! sandbox's clusters: the answer (the serving Deployment's http-echo `-text`, else the
//! cluster name), or `error: curl: (56) Recv failure: Connection reset by peer` (a
//! remote cluster without the same `istio-system/cacerts` `root-cert.pem`), or
//! `error: curl: (6) Could not resolve host: <host>` (nobody serves or is reachable).
//! A cluster serves a host if it has the Service (for `mesh.internal` labelled
//! `solo.io/service-scope: global|global-only`, Solo's ambient-peering) selecting a
//! Deployment with ready replicas. Upstream ambient keeps the cluster-local host: a caller
//! in an ambient namespace reaches its own cluster's Service, plus other clusters'
//! `istio.io/global: "true"` Services when its own is global too or it has none. The caller reaches itself, and a remote cluster it
//! is linked to: an `istio-remote` Gateway whose `spec.addresses` has the remote's
//! east-west address (`status.addresses[0]` of an `istio-eastwest`/`istio-east-west`
//! Gateway, or the ingress of `istio-system/istio-eastwestgateway`), or an
//! `istio/multiCluster` Secret whose kubeconfig names the remote's `server_url` (across
//! `topology.istio.io/network`s the remote also needs an east-west address). Requests
//! go round-robin, in sandbox order, over the candidates the Service's
//! `networking.istio.io/traffic-distribution` keeps (`Any`; `PreferNetwork`, the
//! default for `mesh.internal`; `PreferClose`/`PreferRegion`; cluster-local hosts
//! default to `Any`). `set_down` does not affect it (only the API server is down).
//! Without `PROBE_URL` the log is empty.
//!
//! Leases: `coordination.k8s.io/v1` `Lease` (namespaced, no status subresource) is served
//! like the other built-in kinds, with its schema from the vendored Kubernetes OpenAPI:
//! discovery, CRUD, list/watch, merge/JSON/strategic merge patches, server-side apply with
//! field managers and conflicts (an apply without `force` that would take another
//! manager's `spec.holderIdentity` is the 409 leader-election clients count on), RBAC on
//! `leases`. kube-lease-manager 0.13 (create, get, apply, strategic merge patch) runs
//! against it (tests/leases.rs); lease expiry is the clients' business (their clocks
//! compare `renewTime` plus `leaseDurationSeconds`), the server keeps no time of its own.
//!
//! Schemas ([`schema`]): every cluster has the vendored CRDs (`upstream/`: Gateway API
//! v1.6.1 standard, Istio 1.30.3, Sail 1.30.3 `Istio`/`IstioCNI`/`ZTunnel`), read-only at
//! `/apis/apiextensions.k8s.io/v1/customresourcedefinitions`; their kinds (preferred
//! served version) are served with discovery and OpenAPI v3 built from the CRDs, the
//! built-in groups serve the vendored Kubernetes 1.33 OpenAPI v3 (so `kubectl explain`
//! works). Every create, update, patch, apply and status write is checked on the final
//! object as kube-apiserver does: CRD schema defaults applied, unknown fields dropped
//! (`fieldValidation` absent or `Warn`: a `Warning: 299 - "unknown field "spec.foo""`
//! header; `Strict`: a 400 `strict decoding error`, or for an apply a 422 `.spec.foo: field
//! not declared in schema`), then types, required, enum, pattern, lengths, bounds, list
//! sizes, list-map/set uniqueness and CEL rules, refused with a 422 `Invalid` whose causes
//! and message are worded as the apiserver's. [`schema::Schemas::validate`] runs the same
//! checks without a server, unknown fields being errors.
//!
//! Divergences from a real cluster worth knowing: no anonymous auth (a request
//! without credentials is a 401, not `system:anonymous`); no impersonation (`--as`);
//! the bootstrap roles are evaluated but not stored (only `cluster-admin` and the
//! three discovery/basic roles exist, not `view`/`edit`/`admin`); `boundObjectRef`
//! tokens are not bound to their object; no `--service-account-max-token-expiration`;
//! only the token clock advances (object timestamps use wall time); request logs list
//! a user's groups without `system:authenticated`. Deletion: the garbage collector and
//! namespace controller run on the controllers' 20 ms tick (a deleted namespace is
//! Terminating for about that long, not seconds); owners are found by uid alone; pods
//! have no grace period (no kubelet); `Exact` lists and list pages at an older
//! resourceVersion are rebuilt from the watch history (410 when it no longer tells,
//! where etcd could still answer); a resourceVersion newer than the server's is a 504
//! at once (the real one waits 3 s). Server-side apply: schema defaults in an applied
//! configuration are owned by the applier (the real server defaults after the merge);
//! removing a manager's last item keeps the item while another manager owns a field
//! in it. Strategic merge patch (module `smp`, apimachinery's
//! strategicpatch): keys of a patch map are merged in the patch's order, not Go's random
//! map order (it matters only when a field and its `$deleteFromPrimitiveList` name the
//! same item); EndpointSlices have no vendored schema, so all their lists (metadata's
//! too) are replaced; a merged object that does not decode is refused by the schema
//! checks' 422, not the handler's `Invalid` on `patch`.
//! Jobs always succeed with their first pod, containers never restart (`previous=true` is a 400), and only the first
//! container has a log. Validation: only each CRD's preferred version is served (no
//! conversion); CRDs cannot be changed; built-in kinds get no server defaults and only
//! the checks their OpenAPI states plus name rules (DNS label/subdomain, DNS-1035 for
//! Services, path segment for RBAC), not their full strategies (a Lease's
//! `leaseDurationSeconds: 0` or negative `leaseTransitions` is accepted, where
//! `ValidateLeaseSpec` refuses them); timestamps are stored as written (the real server
//! decodes a Lease's MicroTime `acquireTime`/`renewTime` as `RFC3339Micro`, six fractional digits,
//! refusing others, and re-encodes them); `format` is not checked;
//! CEL rules run only when the structural checks pass, with the `cel` crate plus the
//! Kubernetes functions the vendored rules use (`isIP`, `isURL`, `url().getScheme()`,
//! `split`, `substring`) — a rule calling anything else is never enforced and is listed by
//! `Schemas::unchecked_rules` (pinned empty by a test); `||`/`&&` absorb errors only
//! outside comprehensions; transition rules (`oldSelf`) correlate through objects and
//! list-map keys only, and `optionalOldSelf`/`messageExpression` are not supported (none
//! of the vendored rules use them); evaluation errors are worded `<crate error>
//! evaluating rule: <message>` with the crate's error text, not cel-go's.

mod api;
mod apply;
mod authn;
mod cluster;
mod controllers;
mod crds;
mod dataplane;
mod deletion;
mod discovery;
mod faults;
mod fields;
mod gc;
mod jobs;
mod listing;
mod meta;
mod openapi;
mod patch;
mod podlog;
mod proto;
mod rbac;
mod reconcile;
mod registry;
mod request;
mod reviews;
mod route;
mod sandbox;
pub mod schema;
mod seed;
mod selector;
mod server;
mod shape;
mod smp;
mod ssa_merge;
mod status;
mod store;
mod strategy;
mod table;
mod tls;
mod tokens;
mod watch;
mod world;

pub use cluster::FakeCluster;
pub use faults::{Fault, FaultAction, LoggedRequest, RequestCounts, Verb};
pub use registry::{ResourceDef, RESOURCES};
pub use sandbox::{Auth, ClusterSpec, Sandbox, SandboxBuilder};
pub use seed::IstioSeed;
