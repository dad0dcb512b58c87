//! The table of resource kinds the fake server knows: the built-in kinds (one line each
//! in `BUILTIN`) and the kinds of the vendored CustomResourceDefinitions.

use std::sync::LazyLock;

use crate::schema::Schemas;

/// One REST resource (a kind served at `<group>/<version>/<plural>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceDef {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Has a `/status` subresource: main-resource writes ignore `.status`.
    pub status: bool,
    /// `metadata.generation` is maintained (bumped on non-metadata, non-status change).
    pub generation: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
}

const fn r(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceDef {
    ResourceDef {
        group,
        version,
        kind,
        plural,
        namespaced,
        status: false,
        generation: false,
        short_names,
        categories: &[],
    }
}

impl ResourceDef {
    const fn with_status(mut self) -> Self {
        self.status = true;
        self
    }
    const fn with_generation(mut self) -> Self {
        self.generation = true;
        self
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `gateways.gateway.networking.k8s.io`, or `namespaces` for the core group, as in
    /// the real server's error messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// URL prefix of the group-version: `/api/v1` or `/apis/apps/v1`.
    pub fn gv_prefix(&self) -> String {
        gv_prefix(self.group, self.version)
    }
}

pub fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

pub const GATEWAY_API_GROUP: &str = "gateway.networking.k8s.io";

/// The built-in kinds, whose REST facts the OpenAPI does not state.
const BUILTIN: &[ResourceDef] = &[
    r("", "v1", "Namespace", "namespaces", false, &["ns"]),
    r("", "v1", "Secret", "secrets", true, &[]),
    r("", "v1", "ConfigMap", "configmaps", true, &["cm"]),
    r("", "v1", "ServiceAccount", "serviceaccounts", true, &["sa"]),
    r("", "v1", "Service", "services", true, &["svc"]).with_status(),
    r("", "v1", "Pod", "pods", true, &["po"]).with_status(),
    r("", "v1", "Endpoints", "endpoints", true, &["ep"]),
    r("", "v1", "Event", "events", true, &["ev"]),
    r(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
        &[],
    ),
    r("apps", "v1", "Deployment", "deployments", true, &["deploy"])
        .with_status()
        .with_generation(),
    r("batch", "v1", "Job", "jobs", true, &[])
        .with_status()
        .with_generation(),
    r("rbac.authorization.k8s.io", "v1", "Role", "roles", true, &[]),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
    ),
    // kube-apiserver's legacy REST storage for coordination.k8s.io (pkg/registry/coordination/lease):
    // namespaced, no status subresource, no generation.
    r("coordination.k8s.io", "v1", "Lease", "leases", true, &[]),
    r(
        CRD_GROUP,
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
    ),
];

pub const CRD_GROUP: &str = "apiextensions.k8s.io";

/// Every kind served: the built-in ones, then the preferred served version of each
/// vendored CRD (kind, plural, scope, short names, status subresource as the CRD says;
/// custom resources always keep `metadata.generation`). Group order here is the
/// discovery order, which decides what kubectl picks for an ambiguous short name such as
/// `gateway`: the Gateway API CRDs are vendored before Istio's.
pub static RESOURCES: LazyLock<Vec<ResourceDef>> = LazyLock::new(|| {
    let mut all = BUILTIN.to_vec();
    for k in Schemas::upstream()
        .kinds()
        .iter()
        .filter(|k| k.crd && k.preferred)
    {
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let shorts: Vec<&'static str> = k.short_names.iter().map(|s| leak(s)).collect();
        let mut def = r(
            leak(&k.group),
            leak(&k.version),
            leak(&k.kind),
            leak(&k.plural),
            k.namespaced,
            Box::leak(shorts.into_boxed_slice()),
        )
        .with_generation();
        def.status = k.status;
        def.categories = Box::leak(
            k.categories
                .iter()
                .map(|s| leak(s))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        all.push(def);
    }
    all
});

/// Whether this is the read-only CustomResourceDefinition resource.
pub fn is_crd(def: &ResourceDef) -> bool {
    def.group == CRD_GROUP && def.plural == "customresourcedefinitions"
}

/// Finds the resource served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|d| d.group == group && d.version == version && d.plural == plural)
}

/// Finds a kind by `apiVersion` and `kind` (as written in an object).
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceDef> {
    RESOURCES
        .iter()
        .find(|d| d.api_version() == api_version && d.kind == kind)
}

/// Groups in discovery order, without duplicates.
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for d in RESOURCES.iter() {
        if !out.contains(&(d.group, d.version)) {
            out.push((d.group, d.version));
        }
    }
    out
}
