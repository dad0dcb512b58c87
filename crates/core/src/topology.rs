//! The topology file of `up`/`down` (DESIGN §5.7): Istio's "simplified multicluster install"
//! format as is, plus optional keys. Errors name the file, line and column, and suggest the
//! nearest valid key for a misspelt one.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::kube::validation as names;
use crate::link::topology::{Field, Group, LinkTopology, Shape};
use crate::link::{full_mesh, Pair};
use crate::resources::eastwest::Flavor;
use crate::InputError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct File {
    // Istio's own format spells it mesh_id: errors use that name.
    #[serde(rename = "mesh_id", alias = "meshId")]
    mesh_id: String,
    #[serde(deserialize_with = "unique_contexts")]
    contexts: IndexMap<String, ContextFile>,
    #[serde(default)]
    flavor: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    primary: Option<String>,
    #[serde(default, alias = "trust_domain")]
    trust_domain: Option<String>,
    #[serde(default)]
    certs: Option<CertsFile>,
    #[serde(default)]
    installer: Option<String>,
    #[serde(default)]
    solo: Option<SoloFile>,
    #[serde(default)]
    links: Option<LinksFile>,
}

/// Which clusters link with which (issue 14): the model of `link --topology` and its flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinksFile {
    #[serde(default)]
    topology: Option<String>,
    #[serde(default)]
    hubs: Vec<String>,
    /// `a:b`, each side a cluster or (with groups) a group.
    #[serde(default)]
    pairs: Vec<String>,
    #[serde(default, deserialize_with = "unique_groups")]
    groups: IndexMap<String, Vec<String>>,
}

/// Solo's distribution of Istio (flavour ambient-peering installed with helm).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SoloFile {
    #[serde(default)]
    hub: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default, alias = "license_file")]
    license_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContextFile {
    network: String,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default, alias = "trust_domain")]
    trust_domain: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CertsFile {
    #[serde(default)]
    dir: Option<String>,
    #[serde(default, alias = "key_type")]
    key_type: Option<String>,
    #[serde(default, alias = "root_cert")]
    root_cert: Option<String>,
    #[serde(default, alias = "root_key")]
    root_key: Option<String>,
}

fn unique_contexts<'de, D, V>(deserializer: D) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    unique_keys(
        deserializer,
        "context",
        "a map of kubeconfig contexts to {network: ...}",
    )
}

fn unique_groups<'de, D, V>(deserializer: D) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    unique_keys(deserializer, "group", "a map of group names to lists of clusters")
}

/// A map that refuses a key given twice (plain maps keep the last one silently); `what` names
/// a key in the error.
fn unique_keys<'de, D, V>(
    deserializer: D,
    what: &'static str,
    expecting: &'static str,
) -> Result<IndexMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V> {
        what: &'static str,
        expecting: &'static str,
        value: std::marker::PhantomData<V>,
    }
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = IndexMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = IndexMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!(
                        "{} `{key}` is listed twice",
                        self.what
                    )));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_map(Unique {
        what,
        expecting,
        value: std::marker::PhantomData,
    })
}

/// Multi-primary (every cluster runs istiod) or primary-remote (one shared control plane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    MultiPrimary,
    PrimaryRemote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    None,
    Helm,
    Sail,
}

/// One cluster of the mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Cluster name (defaults to the context name).
    pub cluster: String,
    pub context: String,
    pub network: String,
    pub trust_domain: String,
    /// `file:line:column` of its context in the file, for errors found later (a context
    /// missing from the kubeconfig).
    pub location: String,
}

/// A validated topology.
#[derive(Debug, Clone)]
pub struct Topology {
    pub mesh_id: String,
    pub members: Vec<Member>,
    pub flavor: Flavor,
    pub model: Model,
    /// Primary-remote: the primary's cluster name.
    pub primary: Option<String>,
    pub installer: Installer,
    pub certs_dir: String,
    pub key_type: String,
    pub root_cert: Option<String>,
    pub root_key: Option<String>,
    /// Solo's image repository and tag, and where its licence key is (flavour ambient-peering).
    pub solo: SoloSettings,
    /// The folder of the topology file: relative paths in it are relative to it.
    pub base_dir: std::path::PathBuf,
    /// The file's name, for errors found after parsing.
    pub file: String,
    /// The `links:` section (the full mesh when absent).
    pub links: LinkTopology,
    /// What it means: the directed links among `members` (by index), checked when loaded.
    pub link_pairs: Vec<Pair>,
}

/// The `solo` section of the topology file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SoloSettings {
    pub hub: Option<String>,
    pub tag: Option<String>,
    /// A file holding the licence key; `SOLO_LICENSE_KEY` is used when absent.
    pub license_file: Option<String>,
}

impl Topology {
    /// Reads the file at `path`, or standard input for `-` (as `kubectl apply -f -`); paths
    /// in a file read from standard input are relative to the current directory.
    pub fn load(path: &Path) -> Result<Topology, InputError> {
        if path == Path::new("-") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| InputError::new(format!("cannot read the topology from standard input: {e}")))?;
            return Topology::parse(&text, "<stdin>");
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::new(format!("cannot read topology file {}: {e}", path.display()))
                .with_hint("pass -f with the path of your mesh.yaml, or -f - to read it from standard input")
        })?;
        let mut topology = Topology::parse(&text, &path.display().to_string())?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Paths in the file mean the same whatever the current directory: running `up`
            // from elsewhere must not mint a second root next to the caller.
            let resolve = |p: &str| dir.join(p).display().to_string();
            topology.certs_dir = dir.join(&topology.certs_dir).display().to_string();
            topology.root_cert = topology.root_cert.as_deref().map(resolve);
            topology.root_key = topology.root_key.as_deref().map(resolve);
            topology.base_dir = dir.to_path_buf();
        }
        Ok(topology)
    }

    /// `path` from the file, relative to the file's folder unless absolute.
    pub fn resolve(&self, path: &str) -> std::path::PathBuf {
        self.base_dir.join(path)
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Topology, InputError> {
        let raw: File = serde_yaml_ng::from_str(text).map_err(|e| syntax_error(file, text, &e))?;
        validate(raw, text, file)
    }

    /// The first member whose context `kubeconfig` lacks, as the error to show: where the
    /// file names it, and which contexts there are.
    pub fn missing_context(
        &self,
        kubeconfig: &crate::kube::kubeconfig::LoadedKubeconfig,
    ) -> Option<InputError> {
        let member = self
            .members
            .iter()
            .find(|m| !kubeconfig.has_context(&m.context))?;
        let mut error = kubeconfig.unknown_context(&member.context);
        error.message = format!("{}: {}", member.location, error.message);
        Some(error)
    }

    pub fn member(&self, cluster: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.cluster == cluster)
    }

    /// The members as clusters to connect to: name and context.
    pub fn cluster_refs(&self) -> Vec<crate::kube::clusters::ClusterRef> {
        self.members
            .iter()
            .map(|m| crate::kube::clusters::ClusterRef {
                name: m.cluster.clone(),
                context: m.context.clone(),
            })
            .collect()
    }

    /// Settings of the file that this combination does not use: said rather than dropped
    /// silently.
    pub fn ignored_settings(&self) -> Vec<String> {
        let mut ignored = Vec::new();
        let uses_solo = self.installer == Installer::Helm && self.flavor == Flavor::AmbientPeering;
        if self.solo != SoloSettings::default() && !uses_solo {
            ignored.push("solo: used only with flavor ambient-peering and installer helm".to_string());
        }
        ignored
    }

    /// The directed links the file wants among `clusters` (cluster names of members, in the
    /// order of the file): its links whose two clusters are both there. A cluster left out
    /// (unreachable) takes its links along; the others' links stay as the file says.
    pub fn links_among(&self, clusters: &[&str]) -> Vec<Pair> {
        let at = |member: usize| {
            let name = self.members.get(member)?.cluster.as_str();
            clusters.iter().position(|c| *c == name)
        };
        let mut pairs: Vec<Pair> = self
            .link_pairs
            .iter()
            .filter_map(|p| {
                Some(Pair {
                    from: at(p.from)?,
                    to: at(p.to)?,
                })
            })
            .collect();
        pairs.sort_by_key(|p| (p.from, p.to));
        pairs
    }

    /// Whether its clusters link with peer Gateways (else remote secrets).
    pub fn uses_peering(&self) -> bool {
        self.flavor == Flavor::AmbientPeering && self.model == Model::MultiPrimary
    }

    /// Trust domains differ somewhere: istiod must not validate them.
    pub fn trust_domains_differ(&self) -> bool {
        self.members
            .windows(2)
            .any(|w| w[0].trust_domain != w[1].trust_domain)
    }
}

const TOP_KEYS: &[&str] = &[
    "mesh_id",
    "meshId",
    "contexts",
    "flavor",
    "model",
    "primary",
    "trustDomain",
    "certs",
    "installer",
    "solo",
    "links",
];
const CONTEXT_KEYS: &[&str] = &["network", "cluster", "trustDomain"];
const CERTS_KEYS: &[&str] = &["dir", "keyType", "rootCert", "rootKey"];
const SOLO_KEYS: &[&str] = &["hub", "tag", "licenseFile"];
const LINKS_KEYS: &[&str] = &["topology", "hubs", "pairs", "groups"];

fn syntax_error(file: &str, text: &str, error: &serde_yaml_ng::Error) -> InputError {
    let message = error.to_string();
    let mut place = error
        .location()
        .map(|l| format!("{file}:{}:{}", l.line(), l.column()))
        .unwrap_or_else(|| file.to_string());
    // The parser points at the map; point at the second occurrence of the key instead.
    if let Some(key) = message
        .split("context `")
        .nth(1)
        .and_then(|r| r.split("` is listed twice").next())
    {
        place = locate_key(file, text, key, 2).unwrap_or(place);
    }
    // serde says "unknown field `netwrk`, expected one of ..."; name the nearest valid key.
    let hint = unknown_field(&message).map(|field| {
        // The keys of the section at fault, as serde lists them; all keys when it does not.
        let expected = expected_fields(&message);
        let all = TOP_KEYS
            .iter()
            .chain(CONTEXT_KEYS)
            .chain(CERTS_KEYS)
            .chain(SOLO_KEYS)
            .chain(LINKS_KEYS)
            .copied();
        let candidates: Vec<&str> = match expected.is_empty() {
            true => all.collect(),
            false => expected.iter().map(String::as_str).collect(),
        };
        match candidates
            .into_iter()
            .min_by_key(|k| distance(&field, k))
            .filter(|k| distance(&field, k) <= 3)
        {
            Some(nearest) => format!("unknown key `{field}`: did you mean `{nearest}`?"),
            None => format!("unknown key `{field}`; see the topology format in the README"),
        }
    });
    // serde names our Rust types ("expected struct ContextFile"): say what the file holds.
    let message = message
        .replace("struct File", "a map of topology keys (mesh_id, contexts, ...)")
        .replace("struct ContextFile", "a context's settings ({network: ...})")
        .replace("struct CertsFile", "the certs settings ({dir: ...})")
        .replace("struct SoloFile", "the solo settings ({hub: ..., tag: ...})")
        .replace(
            "struct LinksFile",
            "the links settings ({topology: ..., hubs: [...]})",
        );
    let first_line = message.lines().next().unwrap_or_default();
    let message = first_line.split(" at line ").next().unwrap_or(first_line);
    let mut err = InputError::new(format!("{place}: {message}"));
    if let Some(hint) = hint {
        err = err.with_hint(hint);
    } else if text.trim().is_empty() {
        err = err.with_hint("the file is empty: it needs mesh_id and contexts");
    }
    err
}

/// The keys serde says it expected ("expected one of `a`, `b`").
fn expected_fields(message: &str) -> Vec<String> {
    let Some(list) = message.split(", expected ").nth(1) else {
        return Vec::new();
    };
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

/// Edit distance, to suggest the key (or cluster) the user meant.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            prev = current;
        }
    }
    row[b.len()]
}

/// `file:line:column` of the `nth` line whose text starts with `key:`.
fn locate_key(file: &str, text: &str, key: &str, nth: usize) -> Option<String> {
    let prefix = format!("{key}:");
    let (i, line) = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(&prefix))
        .nth(nth - 1)?;
    Some(format!(
        "{file}:{}:{}",
        i + 1,
        line.len() - line.trim_start().len() + 1
    ))
}

/// `file:line:column` of the first place `needle` appears, for errors found after parsing.
fn locate(file: &str, text: &str, needle: &str) -> String {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return format!("{file}:{}:{}", i + 1, col + 1);
        }
    }
    file.to_string()
}

fn validate(raw: File, text: &str, file: &str) -> Result<Topology, InputError> {
    let at = |needle: &str| locate(file, text, needle);
    names::check_label_value("mesh_id", &raw.mesh_id).map_err(|e| InputError {
        message: format!("{}: {}", at(&raw.mesh_id), e.message),
        hint: e.hint,
    })?;
    if raw.mesh_id.is_empty() {
        return Err(
            InputError::new(format!("{}: mesh_id is empty", at("mesh"))).with_hint("e.g. mesh_id: mymesh")
        );
    }
    if raw.contexts.is_empty() {
        return Err(InputError::new(format!("{}: contexts is empty", at("contexts")))
            .with_hint("list each cluster's kubeconfig context with its network"));
    }
    let flavor: Flavor = raw
        .flavor
        .as_deref()
        .unwrap_or("ambient-peering")
        .parse()
        .map_err(|e: InputError| InputError {
            message: format!("{}: {}", at("flavor"), e.message),
            hint: e.hint,
        })?;
    let model = match raw.model.as_deref() {
        None | Some("multi-primary") => Model::MultiPrimary,
        Some("primary-remote") => Model::PrimaryRemote,
        Some(other) => {
            return Err(
                InputError::new(format!("{}: unknown model {other:?}", at("model")))
                    .with_hint("use multi-primary or primary-remote"),
            )
        }
    };
    let installer = match raw.installer.as_deref() {
        None | Some("none") => Installer::None,
        Some("helm") => Installer::Helm,
        Some("sail") => Installer::Sail,
        Some(other) => {
            return Err(
                InputError::new(format!("{}: unknown installer {other:?}", at("installer")))
                    .with_hint("use none, helm or sail"),
            )
        }
    };
    check_supported(flavor, model, installer, &at)?;
    let default_td = raw.trust_domain.clone().unwrap_or_else(|| "cluster.local".into());
    let mut members: Vec<Member> = Vec::new();
    for (context, spec) in &raw.contexts {
        let cluster = spec.cluster.clone().unwrap_or_else(|| context.clone());
        if !names::is_label(&cluster) {
            let hint = if spec.cluster.is_some() {
                "cluster names are DNS-1123 labels: lowercase letters, digits and '-'".to_string()
            } else {
                format!("the context name is not a valid cluster name: add `cluster: <name>` under {context}")
            };
            return Err(
                InputError::new(format!("{}: invalid cluster name {cluster:?}", at(&cluster)))
                    .with_hint(hint),
            );
        }
        if spec.network.is_empty() {
            return Err(InputError::new(format!(
                "{}: context {context} has an empty network",
                at(context)
            )));
        }
        names::check_label_value("network", &spec.network).map_err(|e| InputError {
            message: format!("{}: {}", at(&spec.network), e.message),
            hint: e.hint,
        })?;
        if members.iter().any(|m| m.cluster == cluster) {
            return Err(
                InputError::new(format!("{}: cluster {cluster} is listed twice", at(&cluster)))
                    .with_hint("every context needs its own cluster name"),
            );
        }
        let trust_domain = spec.trust_domain.clone().unwrap_or_else(|| default_td.clone());
        // Whatever the installer: the value also goes into peer Gateways and verify's checks.
        names::check_trust_domain(&trust_domain).map_err(|e| InputError {
            message: format!("{}: {}", at(&trust_domain), e.message),
            hint: e.hint,
        })?;
        members.push(Member {
            cluster,
            context: context.clone(),
            network: spec.network.clone(),
            trust_domain,
            location: at(context),
        });
    }
    let primary = match (model, &raw.primary) {
        (Model::PrimaryRemote, None) => {
            return Err(
                InputError::new(format!("{}: model primary-remote needs `primary`", at("model")))
                    .with_hint("name the cluster that runs istiod: primary: <cluster>"),
            )
        }
        (_, Some(primary))
            if !members
                .iter()
                .any(|m| &m.cluster == primary || &m.context == primary) =>
        {
            return Err(InputError::new(format!(
                "{}: primary {primary:?} is not one of the contexts",
                at("primary")
            )))
        }
        (_, Some(primary)) => members
            .iter()
            .find(|m| &m.cluster == primary || &m.context == primary)
            .map(|m| m.cluster.clone()),
        (_, None) => None,
    };
    let (links, link_pairs) = links(raw.links, model, &members, text, file)?;
    let certs = raw.certs.unwrap_or_default();
    if let Some(key_type) = &certs.key_type {
        if !["rsa-4096", "rsa-2048", "ec-p256", "ec-p384"].contains(&key_type.as_str()) {
            return Err(
                InputError::new(format!("{}: unknown certs.keyType {key_type:?}", at(key_type)))
                    .with_hint("use rsa-4096, rsa-2048, ec-p256 or ec-p384"),
            );
        }
    }
    if certs.root_cert.is_some() != certs.root_key.is_some() {
        return Err(InputError::new(format!(
            "{}: certs.rootCert and certs.rootKey go together",
            at("root")
        )));
    }
    Ok(Topology {
        mesh_id: raw.mesh_id,
        members,
        flavor,
        model,
        primary,
        installer,
        certs_dir: certs.dir.unwrap_or_else(|| "certs".into()),
        key_type: certs.key_type.unwrap_or_else(|| "rsa-4096".into()),
        root_cert: certs.root_cert,
        root_key: certs.root_key,
        solo: raw
            .solo
            .map(|s| SoloSettings {
                hub: s.hub,
                tag: s.tag,
                license_file: s.license_file,
            })
            .unwrap_or_default(),
        base_dir: std::path::PathBuf::from("."),
        file: file.to_string(),
        links,
        link_pairs,
    })
}

/// The `links:` section: which members link with which, as directed pairs of member indexes.
/// Errors name the file, line and column, and the field path (`links.hubs[0]`).
fn links(
    raw: Option<LinksFile>,
    model: Model,
    members: &[Member],
    text: &str,
    file: &str,
) -> Result<(LinkTopology, Vec<Pair>), InputError> {
    let Some(raw) = raw else {
        return Ok((LinkTopology::full_mesh(), full_mesh(members.len())));
    };
    let at = |steps: &[&str]| locate_path(file, text, steps);
    if model == Model::PrimaryRemote {
        return Err(InputError::new(format!(
            "{}: links: model primary-remote links the primary with each remote, and nothing else",
            at(&["links"])
        ))
        .with_hint("leave links out with model: primary-remote, or use model: multi-primary"));
    }
    let shape =
        match raw.topology.as_deref() {
            None => None,
            Some(name) => Some(name.parse::<Shape>().map_err(|e| {
                InputError::new(format!("{}: links.topology: {e}", at(&["links", "topology"])))
            })?),
        };
    let description = LinkTopology {
        shape,
        hubs: raw.hubs,
        pairs: raw.pairs,
        groups: raw
            .groups
            .into_iter()
            .map(|(name, members)| Group { name, members })
            .collect(),
    };
    let names: Vec<&str> = members.iter().map(|m| m.cluster.as_str()).collect();
    match description.pairs(&names) {
        Ok(pairs) => Ok((description, pairs)),
        Err(e) => {
            let (path, steps) = field_path(&description, &e.field);
            let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
            Err(e.at(&format!("{}: {path}", at(&steps))))
        }
    }
}

/// The path of a field of the links section (`links.groups.east[1]`), and the words to look
/// for, one after the other, to find its line.
fn field_path(links: &LinkTopology, field: &Field) -> (String, Vec<String>) {
    let item = |items: &[String], i: usize| items.get(i).cloned().unwrap_or_default();
    let group = |g: usize| links.groups.get(g).map(|g| g.name.clone()).unwrap_or_default();
    let (path, mut steps) = match field {
        Field::Shape => ("links.topology".to_string(), vec!["topology".to_string()]),
        Field::Hubs => ("links.hubs".into(), vec!["hubs".into()]),
        Field::Pairs => ("links.pairs".into(), vec!["pairs".into()]),
        Field::Groups => ("links.groups".into(), vec!["groups".into()]),
        Field::Hub(i) => (
            format!("links.hubs[{i}]"),
            vec!["hubs".into(), item(&links.hubs, *i)],
        ),
        Field::Pair(i) => (
            format!("links.pairs[{i}]"),
            vec!["pairs".into(), item(&links.pairs, *i)],
        ),
        Field::Group(g) => (
            format!("links.groups.{}", group(*g)),
            vec!["groups".into(), group(*g)],
        ),
        Field::Member(g, m) => {
            let members = links
                .groups
                .get(*g)
                .map(|g| g.members.as_slice())
                .unwrap_or_default();
            (
                format!("links.groups.{}[{m}]", group(*g)),
                vec!["groups".into(), group(*g), item(members, *m)],
            )
        }
    };
    steps.insert(0, "links".into());
    (path, steps)
}

/// `file:line:column` of the last of `steps` found: the first is a top-level key, each next
/// one a whole word after the one before. Where one is not found, the last found.
fn locate_path(file: &str, text: &str, steps: &[&str]) -> String {
    let mut found: Option<usize> = None;
    let mut from = 0;
    for (n, step) in steps.iter().enumerate() {
        let at = match n {
            0 => top_level_key(text, step),
            _ => find_word(text, step, from),
        };
        let Some(at) = at else { break };
        found = Some(at);
        from = at + step.len();
    }
    match found {
        Some(at) => {
            let line = text[..at].matches('\n').count() + 1;
            let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{file}:{line}:{column}")
        }
        None => file.to_string(),
    }
}

/// Where the top-level `key:` starts.
fn top_level_key(text: &str, key: &str) -> Option<usize> {
    let prefix = format!("{key}:");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with(&prefix) {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// Where `word` next appears on its own (not inside a longer name) at or after `from`.
fn find_word(text: &str, word: &str, from: usize) -> Option<usize> {
    let name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_' || c == '.';
    let mut start = from;
    while let Some(i) = text.get(start..)?.find(word) {
        let at = start + i;
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        if !before.is_some_and(name_char) && !after.is_some_and(name_char) && !word.is_empty() {
            return Some(at);
        }
        start = at + word.len().max(1);
    }
    None
}

/// Combinations upstream does not support are refused rather than half-installed.
fn check_supported(
    flavor: Flavor,
    model: Model,
    installer: Installer,
    at: &dyn Fn(&str) -> String,
) -> Result<(), InputError> {
    if model == Model::PrimaryRemote && flavor != Flavor::Sidecar {
        // Istio 1.30's ambient multicluster supports multi-primary only (istio.io
        // docs/ambient/install/multicluster has no primary-remote guide), and the remote
        // profile would replace the ambient one; Solo's peering links primaries.
        return Err(InputError::new(format!(
            "{}: flavor {flavor} does not support model primary-remote",
            at("model")
        ))
        .with_hint(
            "use model: multi-primary with an ambient flavour, or flavor: sidecar for primary-remote",
        ));
    }
    if installer == Installer::Sail && flavor == Flavor::AmbientPeering {
        // The Sail operator installs upstream Istio: its Istio CRD (sail-operator 1.30.3,
        // chart/crds/sailoperator.io_istios.yaml) has no `values.platforms` and no licence.
        return Err(InputError::new(format!(
            "{}: installer sail cannot install flavor ambient-peering (Solo's distribution)",
            at("installer")
        ))
        .with_hint("use installer: helm (with a `solo:` section), or flavor: ambient for upstream Istio"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISTIO_EXAMPLE: &str = "mesh_id: mymesh\ncontexts:\n  context-east-1: {network: network-east}\n  context-east-2: {network: network-east}\n  context-west-1: {network: network-west}\n";

    #[test]
    fn accepts_the_istio_format_as_is() {
        let t = Topology::parse(ISTIO_EXAMPLE, "mesh.yaml").unwrap();
        assert_eq!(t.mesh_id, "mymesh");
        let names: Vec<&str> = t.members.iter().map(|m| m.cluster.as_str()).collect();
        assert_eq!(names, ["context-east-1", "context-east-2", "context-west-1"]);
        assert_eq!(t.members[2].network, "network-west");
        assert_eq!(t.flavor, Flavor::AmbientPeering);
        assert_eq!(t.model, Model::MultiPrimary);
        assert_eq!(t.installer, Installer::None);
        assert!(!t.trust_domains_differ());
    }

    #[test]
    fn optional_keys_in_both_spellings() {
        let text = "meshId: m\nflavor: sidecar\nmodel: primary-remote\nprimary: east\ninstaller: helm\ntrust_domain: corp\ncerts: {dir: pki, key_type: ec-p256}\ncontexts:\n  ctx-a: {network: n1, cluster: east, trustDomain: east.corp}\n  ctx-b: {network: n2, cluster: west}\n";
        let t = Topology::parse(text, "f").unwrap();
        assert_eq!(t.primary.as_deref(), Some("east"));
        assert_eq!(t.members[0].trust_domain, "east.corp");
        assert_eq!(t.members[1].trust_domain, "corp");
        assert!(t.trust_domains_differ());
        assert_eq!(t.certs_dir, "pki");
        assert_eq!(t.key_type, "ec-p256");
        assert_eq!(t.installer, Installer::Helm);
    }

    #[test]
    fn trust_domains_are_dns_names() {
        let err = Topology::parse(
            "mesh_id: m\ntrustDomain: Bad_Domain\ncontexts:\n  a: {network: n}\n",
            "f",
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("f:2:14: invalid trustDomain \"Bad_Domain\""),
            "{err}"
        );
        let err = Topology::parse(
            "mesh_id: m\ncontexts:\n  a: {network: n, trustDomain: 'a..b'}\n",
            "f",
        )
        .unwrap_err();
        assert!(err.message.contains("invalid trustDomain \"a..b\""), "{err}");
        assert!(Topology::parse(
            "mesh_id: m\ncontexts:\n  a: {network: n, trustDomain: east.example.com.}\n",
            "f"
        )
        .is_ok());
    }

    #[test]
    fn unsupported_combinations_are_refused() {
        let err = Topology::parse(
            "mesh_id: m\nmodel: primary-remote\nprimary: a\ncontexts:\n  a: {network: n}\n  b: {network: n}\n",
            "f",
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "f:2:1: flavor ambient-peering does not support model primary-remote"
        );
        let err = Topology::parse(
            "mesh_id: m\nflavor: ambient\nmodel: primary-remote\nprimary: a\ncontexts:\n  a: {network: n}\n",
            "f",
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("flavor ambient does not support model primary-remote"),
            "{err}"
        );
        let err =
            Topology::parse("mesh_id: m\ninstaller: sail\ncontexts:\n  a: {network: n}\n", "f").unwrap_err();
        assert!(
            err.message
                .contains("installer sail cannot install flavor ambient-peering"),
            "{err}"
        );
        assert!(err.hint.unwrap().contains("installer: helm"));
    }

    #[test]
    fn solo_section_and_paths_relative_to_the_file() {
        let dir = std::env::temp_dir().join(format!("topology-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mesh.yaml");
        std::fs::write(
            &path,
            "mesh_id: m\nsolo: {hub: repo.example/solo, tag: 1.30.3-solo, license_file: solo.key}\ncontexts:\n  a: {network: n}\n",
        )
        .unwrap();
        let t = Topology::load(&path).unwrap();
        assert_eq!(t.solo.hub.as_deref(), Some("repo.example/solo"));
        assert_eq!(t.solo.tag.as_deref(), Some("1.30.3-solo"));
        assert_eq!(t.resolve("solo.key"), dir.join("solo.key"));
        assert_eq!(t.resolve("/abs/key"), std::path::PathBuf::from("/abs/key"));
        std::fs::remove_dir_all(&dir).unwrap();
        let err =
            Topology::parse("mesh_id: m\nsolo: {hubb: x}\ncontexts:\n  a: {network: n}\n", "f").unwrap_err();
        assert_eq!(
            err.hint.as_deref(),
            Some("unknown key `hubb`: did you mean `hub`?")
        );
    }

    #[test]
    fn errors_name_file_line_column_and_nearest_key() {
        let err = Topology::parse("mesh_id: m\ncontexts:\n  a: {netwrk: n1}\n", "mesh.yaml").unwrap_err();
        assert!(err.message.starts_with("mesh.yaml:3:"), "{err}");
        assert_eq!(
            err.hint.as_deref(),
            Some("unknown key `netwrk`: did you mean `network`?")
        );
        let err = Topology::parse("mesh_id: m\ncontexts:\n  a: {cluster: x}\n", "f").unwrap_err();
        assert!(err.message.contains("missing field `network`"), "{err}");
        let err = Topology::parse(
            "mesh_id: m\ncontexts:\n  a: {network: n}\n  a: {network: n}\n",
            "f",
        )
        .unwrap_err();
        assert!(err.message.contains("context `a` is listed twice"), "{err}");
        assert!(err.message.starts_with("f:4:3:"), "{err}");
        let err =
            Topology::parse("mesh_id: m\ninstaller: apt\ncontexts:\n  a: {network: n}\n", "f").unwrap_err();
        assert_eq!(err.message, "f:2:1: unknown installer \"apt\"");
        let err = Topology::parse("mesh_id: m\ncontexts:\n  Bad_Ctx: {network: n}\n", "f").unwrap_err();
        assert!(err.message.starts_with("f:3:3: invalid cluster name"), "{err}");
        let err = Topology::parse(
            "mesh_id: m\ncontexts:\n  a: {network: n}\n  b: {network: n, cluster: a}\n",
            "f",
        )
        .unwrap_err();
        assert!(err.message.contains("cluster a is listed twice"), "{err}");
        let err = Topology::parse(
            "mesh_id: m\nflavor: sidecar\nmodel: primary-remote\ncontexts:\n  a: {network: n}\n",
            "f",
        )
        .unwrap_err();
        assert!(err.message.contains("needs `primary`"), "{err}");
        assert!(Topology::parse("", "f").is_err());
    }

    #[test]
    fn links_section_in_every_topology() {
        let contexts =
            "contexts:\n  a: {network: n}\n  b: {network: n}\n  c: {network: n}\n  d: {network: n}\n";
        let parse = |links: &str| Topology::parse(&format!("mesh_id: m\n{contexts}{links}"), "mesh.yaml");
        let t = parse("").unwrap();
        assert!(t.links.is_full_mesh());
        assert_eq!(t.link_pairs, full_mesh(4));
        let t = parse("links:\n  topology: hub-and-spoke\n  hubs: [a]\n").unwrap();
        assert_eq!(t.link_pairs.len(), 6);
        // Among a subset (b unreachable): the file's links between those that are there.
        let among = t.links_among(&["a", "c", "d"]);
        assert_eq!(among.len(), 4);
        assert!(t.links_among(&["c", "d"]).is_empty());
        let t = parse("links:\n  groups:\n    east: [a, b]\n    west: [c, d]\n  pairs: [a:c]\n").unwrap();
        assert_eq!(t.link_pairs.len(), 6);
        let t = parse("links: {pairs: ['a:b', 'c:d']}\n").unwrap();
        assert_eq!(t.link_pairs.len(), 4);
    }

    #[test]
    fn links_errors_name_file_line_column_and_field_path() {
        let contexts = "contexts:\n  a: {network: n}\n  b: {network: n}\n  c: {network: n}\n";
        let parse =
            |links: &str| Topology::parse(&format!("mesh_id: m\n{contexts}{links}"), "f").unwrap_err();
        let err = parse("links:\n  hubs: [a, x]\n");
        assert_eq!(
            err.message,
            "f:7:13: links.hubs[1]: hub x is not one of the clusters being linked"
        );
        let err = parse("links:\n  pairs:\n  - a:b\n  - c:c\n");
        assert_eq!(err.message, "f:9:5: links.pairs[1]: pair c:c links c with itself");
        let err = parse("links:\n  groups:\n    east: [a, b]\n    west: [b, c]\n");
        assert_eq!(
            err.message,
            "f:9:12: links.groups.west[0]: cluster b is in two groups, east and west"
        );
        let err = parse("links:\n  groups:\n    east: []\n");
        assert_eq!(err.message, "f:8:5: links.groups.east: group east is empty");
        let err = parse("links:\n  topology: ring\n");
        assert!(
            err.message
                .starts_with("f:7:3: links.topology: unknown topology \"ring\""),
            "{err}"
        );
        let err = parse("links:\n  topology: hub-and-spoke\n");
        assert_eq!(
            err.message,
            "f:6:1: links.hubs: a hub-and-spoke topology needs at least one hub"
        );
        let err = parse("links:\n  hub: [a]\n");
        assert_eq!(
            err.hint.as_deref(),
            Some("unknown key `hub`: did you mean `hubs`?")
        );
        let err = parse("links:\n  groups:\n    g: [a]\n    g: [b]\n");
        assert!(err.message.contains("group `g` is listed twice"), "{err}");
        let err = Topology::parse(
            "mesh_id: m\nflavor: sidecar\nmodel: primary-remote\nprimary: a\ncontexts:\n  a: {network: n}\n  b: {network: n}\nlinks: {hubs: [a]}\n",
            "f",
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("f:8:1: links: model primary-remote"),
            "{err}"
        );
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("netwrk", "network"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
