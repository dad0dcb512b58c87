//! The RBAC authorizer, evaluated over the Roles, ClusterRoles, RoleBindings and
//! ClusterRoleBindings in the store, as kube-apiserver's
//! (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go, rule matching from
//! pkg/apis/rbac/v1/evaluation_helpers.go), behind the `system:masters` privileged-group
//! authorizer kube-apiserver puts first in its union
//! (pkg/kubeapiserver/authorizer/config.go, `authorizerfactory.NewPrivilegedGroups`).
//! Also the ClusterRole aggregation controller
//! (pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go).

use serde_json::{json, Value};

use crate::cluster::write_locked;
use crate::meta;
use crate::registry::{self, ResourceDef};
use crate::store::Store;

pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The group whose members every authorizer allows (kubeadm's admin is one).
pub const MASTERS: &str = "system:masters";
pub const AUTHENTICATED: &str = "system:authenticated";

/// Who asks: the authenticated user with all its groups (`system:authenticated` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub user: String,
    pub groups: Vec<String>,
}

/// A resource request's attributes, as `RequestInfo` (k8s.io/apiserver
/// pkg/endpoints/request/requestinfo.go) derives them from the URL and method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttrs {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

/// What is asked: `verb` on a resource, or on a non-resource `path` (`/version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub verb: String,
    pub resource: Option<ResourceAttrs>,
    pub path: String,
}

/// The authorizer's answer; `reason` as the SubjectAccessReview status carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub reason: String,
}

/// `rbacv1.PolicyRule`; absent lists are empty (and then match nothing, except
/// `resourceNames`, where empty means any name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_default()
}

impl Rule {
    fn from_json(v: &Value) -> Rule {
        Rule {
            verbs: strings(v, "verbs"),
            api_groups: strings(v, "apiGroups"),
            resources: strings(v, "resources"),
            resource_names: strings(v, "resourceNames"),
            non_resource_urls: strings(v, "nonResourceURLs"),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({"verbs": self.verbs});
        let mut put = |k: &str, l: &Vec<String>| {
            if !l.is_empty() {
                v[k] = json!(l);
            }
        };
        put("apiGroups", &self.api_groups);
        put("resources", &self.resources);
        put("resourceNames", &self.resource_names);
        put("nonResourceURLs", &self.non_resource_urls);
        v
    }

    /// `RuleAllows` (rbac.go): a rule with nonResourceURLs only ever grants paths.
    pub fn allows(&self, a: &Attributes) -> bool {
        let verb = any_or(&self.verbs, &a.verb);
        match &a.resource {
            Some(r) if self.non_resource_urls.is_empty() => {
                verb && any_or(&self.api_groups, &r.group)
                    && self.resource_matches(r)
                    && (self.resource_names.is_empty() || self.resource_names.contains(&r.name))
            }
            None if !self.non_resource_urls.is_empty() => verb && self.url_matches(&a.path),
            _ => false,
        }
    }

    /// `ResourceMatches`: `*`, the exact `resource[/subresource]`, or `*/subresource`.
    fn resource_matches(&self, r: &ResourceAttrs) -> bool {
        let combined = if r.subresource.is_empty() {
            r.resource.clone()
        } else {
            format!("{}/{}", r.resource, r.subresource)
        };
        self.resources.iter().any(|x| {
            x == "*"
                || *x == combined
                || (!r.subresource.is_empty() && x.strip_prefix("*/") == Some(r.subresource.as_str()))
        })
    }

    /// `NonResourceURLMatches`: `*`, exact, or a prefix ending in `*`.
    fn url_matches(&self, path: &str) -> bool {
        self.non_resource_urls
            .iter()
            .any(|u| u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p)))
    }
}

/// Whether `list` has `*` or `want`.
fn any_or(list: &[String], want: &str) -> bool {
    list.iter().any(|x| x == "*" || x == want)
}

fn def(plural: &str) -> Option<&'static ResourceDef> {
    registry::find(RBAC_GROUP, "v1", plural)
}

/// The bootstrap policy every kube-apiserver reconciles at start
/// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), for the roles the fake
/// cluster relies on. Used when the store has no ClusterRole of that name.
fn bootstrap_role(name: &str) -> Option<Vec<Rule>> {
    let urls = |u: &[&str], verbs: &[&str]| Rule {
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        api_groups: vec![],
        resources: vec![],
        resource_names: vec![],
        non_resource_urls: u.iter().map(|s| s.to_string()).collect(),
    };
    let res = |g: &str, r: &[&str], verbs: &[&str]| Rule {
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        api_groups: vec![g.to_string()],
        resources: r.iter().map(|s| s.to_string()).collect(),
        resource_names: vec![],
        non_resource_urls: vec![],
    };
    let info = ["/healthz", "/livez", "/readyz", "/version", "/version/"];
    Some(match name {
        "cluster-admin" => vec![res("*", &["*"], &["*"]), urls(&["*"], &["*"])],
        "system:discovery" => {
            let mut u = vec!["/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*"];
            u.extend(info);
            vec![urls(&u, &["get"])]
        }
        "system:public-info-viewer" => vec![urls(&info, &["get"])],
        "system:basic-user" => vec![
            res(
                "authorization.k8s.io",
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            ),
            res("authentication.k8s.io", &["selfsubjectreviews"], &["create"]),
        ],
        _ => return None,
    })
}

/// The bootstrap ClusterRoleBindings (name = role name) and the group each binds.
const BOOTSTRAP_BINDINGS: &[(&str, &str)] = &[
    ("cluster-admin", MASTERS),
    ("system:discovery", AUTHENTICATED),
    ("system:basic-user", AUTHENTICATED),
    ("system:public-info-viewer", AUTHENTICATED),
    ("system:public-info-viewer", "system:unauthenticated"),
];

/// Where granted rules come from, worded as rbac.go's describers for the allow reason.
struct Source {
    describe: String,
    rules: Result<Vec<Rule>, String>,
}

fn cluster_role_rules(st: &Store, name: &str) -> Result<Vec<Rule>, String> {
    match def("clusterroles").and_then(|d| st.get(d, "", name)) {
        Some(s) => Ok(rules_of(&s.obj)),
        None => bootstrap_role(name)
            .ok_or_else(|| format!("clusterrole.rbac.authorization.k8s.io \"{name}\" not found")),
    }
}

fn rules_of(role: &Value) -> Vec<Rule> {
    role.get("rules")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(Rule::from_json).collect())
        .unwrap_or_default()
}

/// `GetRoleReferenceRules`: a RoleBinding's Role lives in its namespace.
fn role_ref_rules(st: &Store, binding: &Value, ns: &str) -> Result<Vec<Rule>, String> {
    let name = str_at(binding, "/roleRef/name");
    match str_at(binding, "/roleRef/kind") {
        "ClusterRole" => cluster_role_rules(st, name),
        "Role" => match def("roles").and_then(|d| st.get(d, ns, name)) {
            Some(s) => Ok(rules_of(&s.obj)),
            None => Err(format!("role.rbac.authorization.k8s.io \"{name}\" not found")),
        },
        other => Err(format!("unsupported role reference kind: \"{other}\"")),
    }
}

/// `appliesToUser`: a ServiceAccount subject without a namespace takes the binding's.
fn applies(subject: &Value, who: &Subject, binding_ns: &str) -> bool {
    let name = str_at(subject, "/name");
    match str_at(subject, "/kind") {
        "User" => who.user == name,
        "Group" => who.groups.iter().any(|g| g == name),
        "ServiceAccount" => {
            let ns = match str_at(subject, "/namespace") {
                "" => binding_ns,
                n => n,
            };
            !ns.is_empty() && who.user == format!("system:serviceaccount:{ns}:{name}")
        }
        _ => false,
    }
}

/// `describeSubject`: a ServiceAccount is named `name/namespace`.
fn describe_subject(subject: &Value, binding_ns: &str) -> String {
    let (kind, name) = (str_at(subject, "/kind"), str_at(subject, "/name"));
    if kind != "ServiceAccount" {
        return format!("{kind} \"{name}\"");
    }
    let ns = match str_at(subject, "/namespace") {
        "" => binding_ns,
        n => n,
    };
    format!("{kind} \"{name}/{ns}\"")
}

/// The first subject of `binding` that is `who`.
fn subject_for<'a>(binding: &'a Value, who: &Subject, ns: &str) -> Option<&'a Value> {
    binding
        .get("subjects")
        .and_then(Value::as_array)?
        .iter()
        .find(|s| applies(s, who, ns))
}

/// `visitRulesFor`: ClusterRoleBindings (stored, then bootstrap), then the RoleBindings
/// of the request's namespace.
fn sources(st: &Store, who: &Subject, namespace: &str) -> Vec<Source> {
    let mut out = Vec::new();
    for b in def("clusterrolebindings")
        .map(|d| st.list(d, None))
        .unwrap_or_default()
    {
        if let Some(s) = subject_for(&b.obj, who, "") {
            out.push(Source {
                describe: format!(
                    "ClusterRoleBinding \"{}\" of ClusterRole \"{}\" to {}",
                    meta::name_of(&b.obj),
                    str_at(&b.obj, "/roleRef/name"),
                    describe_subject(s, "")
                ),
                rules: cluster_role_rules(st, str_at(&b.obj, "/roleRef/name")),
            });
        }
    }
    for (role, group) in BOOTSTRAP_BINDINGS {
        let stored = def("clusterrolebindings").and_then(|d| st.get(d, "", role));
        if stored.is_none() && who.groups.iter().any(|g| g == group) {
            out.push(Source {
                describe: format!(
                    "ClusterRoleBinding \"{role}\" of ClusterRole \"{role}\" to Group \"{group}\""
                ),
                rules: cluster_role_rules(st, role),
            });
        }
    }
    if namespace.is_empty() {
        return out;
    }
    for b in def("rolebindings")
        .map(|d| st.list(d, Some(namespace)))
        .unwrap_or_default()
    {
        if let Some(s) = subject_for(&b.obj, who, namespace) {
            out.push(Source {
                describe: format!(
                    "RoleBinding \"{}/{namespace}\" of {} \"{}\" to {}",
                    meta::name_of(&b.obj),
                    str_at(&b.obj, "/roleRef/kind"),
                    str_at(&b.obj, "/roleRef/name"),
                    describe_subject(s, namespace)
                ),
                rules: role_ref_rules(st, &b.obj, namespace),
            });
        }
    }
    out
}

/// Authorizes `a` for `who`. Denied requests carry no reason unless a binding pointed at
/// a missing role (`RBAC: clusterrole.rbac.authorization.k8s.io "x" not found`), as in
/// rbac.go.
pub fn authorize(st: &Store, who: &Subject, a: &Attributes) -> Decision {
    if who.groups.iter().any(|g| g == MASTERS) {
        return Decision {
            allowed: true,
            reason: String::new(),
        };
    }
    let ns = a
        .resource
        .as_ref()
        .map(|r| r.namespace.as_str())
        .unwrap_or_default();
    let mut errors = Vec::new();
    for s in sources(st, who, ns) {
        match s.rules {
            Ok(rules) if rules.iter().any(|r| r.allows(a)) => {
                return Decision {
                    allowed: true,
                    reason: format!("RBAC: allowed by {}", s.describe),
                }
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    let reason = match errors.len() {
        0 => String::new(),
        1 => format!("RBAC: {}", errors[0]),
        _ => format!("RBAC: [{}]", errors.join(", ")),
    };
    Decision {
        allowed: false,
        reason,
    }
}

/// Every rule granted to `who` in `namespace` (cluster-wide ones included), for
/// SelfSubjectRulesReview (`RulesFor` in rbac.go), and the errors met on the way.
pub fn rules_for(st: &Store, who: &Subject, namespace: &str) -> (Vec<Rule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    if who.groups.iter().any(|g| g == MASTERS) {
        // Real clusters bind cluster-admin to system:masters (bootstrap policy).
        rules.extend(bootstrap_role("cluster-admin").unwrap_or_default());
    }
    for s in sources(st, who, namespace) {
        match s.rules {
            Ok(r) => rules.extend(r),
            Err(e) => errors.push(e),
        }
    }
    (rules, errors)
}

/// The 403 of the authorization filter (k8s.io/apiserver pkg/endpoints/handlers/
/// responsewriters/errors.go `forbiddenMessage`, with `errors.NewForbidden`'s
/// `<resource>.<group> "<name>" is forbidden: ` prefix); `reason` is appended after `: `.
pub fn forbidden_message(user: &str, a: &Attributes, reason: &str) -> String {
    let mut msg = match &a.resource {
        None => format!("User \"{user}\" cannot {} path \"{}\"", a.verb, a.path),
        Some(r) => {
            let mut resource = r.resource.clone();
            if !r.subresource.is_empty() {
                resource = format!("{resource}/{}", r.subresource);
            }
            let scope = if r.namespace.is_empty() {
                "at the cluster scope".to_string()
            } else {
                format!("in the namespace \"{}\"", r.namespace)
            };
            format!(
                "User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}",
                a.verb, r.group
            )
        }
    };
    if !reason.is_empty() {
        msg = format!("{msg}: {reason}");
    }
    msg
}

/// `metav1.LabelSelector` (matchLabels, matchExpressions) against an object's labels.
fn selector_matches(sel: &Value, obj: &Value) -> bool {
    let labels = crate::selector::labels_of(obj);
    let exact = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| {
            let have = labels.get(str_at(e, "/key"));
            let values = strings(e, "values");
            match str_at(e, "/operator") {
                "In" => have.is_some_and(|h| values.contains(h)),
                "NotIn" => have.is_none_or(|h| !values.contains(h)),
                "Exists" => have.is_some(),
                "DoesNotExist" => have.is_none(),
                _ => false,
            }
        });
    exact && exprs
}

const AGGREGATOR: &str = "clusterrole-aggregation-controller";

/// The rules an aggregated ClusterRole gets: those of every other ClusterRole its
/// `aggregationRule.clusterRoleSelectors` select, selector by selector, roles by name,
/// without duplicates (`syncClusterRole`).
fn aggregated_rules(st: &Store, d: &ResourceDef, role: &Value) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let selectors = role
        .pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The store lists in name order, as the controller sorts them.
    let all = st.list(d, None);
    for sel in &selectors {
        for other in &all {
            if meta::name_of(&other.obj) == meta::name_of(role) || !selector_matches(sel, &other.obj) {
                continue;
            }
            for r in other
                .obj
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !out.contains(r) {
                    out.push(r.clone());
                }
            }
        }
    }
    out
}

/// One pass of the aggregation controller: rewrites the `rules` of each aggregated
/// ClusterRole whose selected roles changed (as field manager
/// `clusterrole-aggregation-controller`).
pub(crate) fn aggregate(st: &mut Store) {
    let Some(d) = def("clusterroles") else {
        return;
    };
    let aggregates: Vec<Value> = st
        .list(d, None)
        .into_iter()
        .filter(|s| s.obj.get("aggregationRule").is_some_and(Value::is_object))
        .map(|s| s.obj.clone())
        .collect();
    for mut role in aggregates {
        let rules = json!(aggregated_rules(st, d, &role));
        if role.get("rules").unwrap_or(&json!([])) == &rules {
            continue;
        }
        role["rules"] = rules;
        let _ = write_locked(st, role, AGGREGATOR, "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: Value) -> Rule {
        Rule::from_json(&v)
    }

    fn res(verb: &str, group: &str, resource: &str, sub: &str, name: &str) -> Attributes {
        Attributes {
            verb: verb.into(),
            resource: Some(ResourceAttrs {
                group: group.into(),
                resource: resource.into(),
                subresource: sub.into(),
                namespace: "ns".into(),
                name: name.into(),
            }),
            path: String::new(),
        }
    }

    #[test]
    fn resource_rules_match_as_upstream() {
        let r = rule(json!({"apiGroups": [""], "resources": ["pods", "*/status"], "verbs": ["get"]}));
        assert!(r.allows(&res("get", "", "pods", "", "p")));
        assert!(r.allows(&res("get", "", "services", "status", "s")));
        assert!(
            !r.allows(&res("get", "", "pods", "log", "p")),
            "pods does not cover pods/log"
        );
        assert!(!r.allows(&res("list", "", "pods", "", "")));
        assert!(!r.allows(&res("get", "apps", "pods", "", "p")));
        let named =
            rule(json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"], "resourceNames": ["x"]}));
        assert!(named.allows(&res("delete", "apps", "deployments", "", "x")));
        assert!(!named.allows(&res("delete", "apps", "deployments", "", "y")));
        assert!(!named.allows(&res("list", "apps", "deployments", "", "")));
    }

    #[test]
    fn non_resource_rules_match_paths_only() {
        let r = rule(json!({"nonResourceURLs": ["/apis/*", "/version"], "verbs": ["get"]}));
        let path = |p: &str| Attributes {
            verb: "get".into(),
            resource: None,
            path: p.into(),
        };
        assert!(r.allows(&path("/apis/apps/v1")));
        assert!(r.allows(&path("/version")));
        assert!(!r.allows(&path("/versions")));
        assert!(!r.allows(&res("get", "", "pods", "", "p")));
    }

    #[test]
    fn forbidden_wording() {
        let a = res("list", "discovery.k8s.io", "endpointslices", "", "");
        assert_eq!(
            forbidden_message("u", &a, ""),
            "User \"u\" cannot list resource \"endpointslices\" in API group \"discovery.k8s.io\" in the namespace \"ns\""
        );
    }
}
