//! Which clusters link with which (issue 14, fleets): the directed [`Pair`]s that `link`
//! writes and `verify` expects, from a [`LinkTopology`] and the cluster list. Pure: the
//! flags of `link`/`verify` and the `links:` section of the topology file (not to be confused
//! with [`crate::topology`], the file itself) both describe a `LinkTopology`, and
//! [`LinkTopology::pairs`] validates it before anything is read or written.
//!
//! * full mesh (the default): every cluster with every other, N·(N-1) links;
//! * hub-and-spoke: every hub with every other cluster (hubs with each other too), spokes not
//!   with each other: 2·H·(N-H) + H·(H-1) links for H hubs;
//! * pairs: exactly the pairs given;
//! * groups: a full mesh inside each group, plus the pairs given across groups, whose sides
//!   name a cluster or a whole group (every member of one with every member of the other).
//!
//! Every topology is symmetric: a pair `a:b` links a to b *and* b to a, because traffic and
//! endpoint discovery each need the link of one direction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use super::{full_mesh, Pair};
use crate::kube::validation as names;

/// The kinds of topology, as `--topology` and `links.topology` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    #[default]
    FullMesh,
    HubAndSpoke,
    Pairs,
    Groups,
}

impl Shape {
    pub const NAMES: [&'static str; 4] = ["full-mesh", "hub-and-spoke", "pairs", "groups"];

    fn name(self) -> &'static str {
        match self {
            Shape::FullMesh => "full-mesh",
            Shape::HubAndSpoke => "hub-and-spoke",
            Shape::Pairs => "pairs",
            Shape::Groups => "groups",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Shape {
    type Err = String;

    fn from_str(text: &str) -> Result<Shape, String> {
        match text {
            "full-mesh" => Ok(Shape::FullMesh),
            "hub-and-spoke" => Ok(Shape::HubAndSpoke),
            "pairs" => Ok(Shape::Pairs),
            "groups" => Ok(Shape::Groups),
            other => Err(format!(
                "unknown topology {other:?}: use {}",
                Shape::NAMES.join(", ")
            )),
        }
    }
}

/// A named set of clusters, fully meshed inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub members: Vec<String>,
}

impl FromStr for Group {
    type Err = String;

    /// `NAME=a,b,c`, as `--group` takes it.
    fn from_str(text: &str) -> Result<Group, String> {
        let Some((name, members)) = text.split_once('=') else {
            return Err(format!(
                "{text:?} is not NAME=CLUSTER,...: e.g. east=east-1,east-2"
            ));
        };
        Ok(Group {
            name: name.trim().to_string(),
            members: members
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }
}

/// What the user described: the flags or the file's `links:` section, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkTopology {
    /// `None`: said by what is given — hubs: hub-and-spoke; groups: groups; pairs alone:
    /// pairs; nothing: full mesh.
    pub shape: Option<Shape>,
    /// Cluster names of the hubs.
    pub hubs: Vec<String>,
    /// `a:b`; with groups, each side is a cluster or a group.
    pub pairs: Vec<String>,
    pub groups: Vec<Group>,
}

/// Where in the description a problem is, for the caller to name in its own terms (a flag,
/// or a field path and line of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The kind of topology.
    Shape,
    /// All hubs / all pairs / all groups.
    Hubs,
    Pairs,
    Groups,
    /// The hub, pair or group at this index.
    Hub(usize),
    Pair(usize),
    Group(usize),
    /// Member `.1` of group `.0`.
    Member(usize, usize),
}

/// A problem with a link topology: `message` says what, `hint` how to fix it. The caller
/// prefixes where ([`Field`]) and turns it into an [`crate::InputError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyError {
    pub field: Field,
    pub message: String,
    pub hint: String,
}

impl TopologyError {
    fn new(field: Field, message: impl Into<String>, hint: impl Into<String>) -> Self {
        TopologyError {
            field,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The input error, with `place` (where `field` is) in front of the message.
    pub fn at(self, place: &str) -> crate::InputError {
        crate::InputError::new(format!("{place}: {}", self.message)).with_hint(self.hint)
    }
}

/// An undirected link, lower index first: the set of them is what a topology means; both
/// directions are written.
type Edge = (usize, usize);

fn edge(a: usize, b: usize) -> Edge {
    (a.min(b), a.max(b))
}

impl LinkTopology {
    pub fn full_mesh() -> Self {
        LinkTopology::default()
    }

    /// Whether this is the full mesh (given as such, or by giving nothing).
    pub fn is_full_mesh(&self) -> bool {
        self.shape() == Shape::FullMesh
    }

    /// The kind of topology, given or said by what is given.
    pub fn shape(&self) -> Shape {
        self.shape.unwrap_or(if !self.hubs.is_empty() {
            Shape::HubAndSpoke
        } else if !self.groups.is_empty() {
            Shape::Groups
        } else if !self.pairs.is_empty() {
            Shape::Pairs
        } else {
            Shape::FullMesh
        })
    }

    /// The `link`/`verify` flags that say this topology (empty for the full mesh), for the
    /// commands we print.
    pub fn flags(&self) -> String {
        let mut flags = String::new();
        if let Some(shape) = self.shape.filter(|s| *s != Shape::FullMesh) {
            flags.push_str(&format!(" --topology {shape}"));
        }
        if !self.hubs.is_empty() {
            flags.push_str(&format!(" --hub {}", self.hubs.join(",")));
        }
        for group in &self.groups {
            flags.push_str(&format!(" --group {}={}", group.name, group.members.join(",")));
        }
        if !self.pairs.is_empty() {
            flags.push_str(&format!(" --pairs {}", self.pairs.join(",")));
        }
        flags
    }

    /// The directed pairs among `clusters` (by index), sorted, each once, never a cluster
    /// with itself, and each with its reverse. The full mesh is [`full_mesh`] as it always
    /// was, whatever the number of clusters (one, or none, gives no pair).
    pub fn pairs(&self, clusters: &[&str]) -> Result<Vec<Pair>, TopologyError> {
        let shape = self.shape();
        self.check_fields(shape)?;
        let index = Index::new(clusters);
        let edges = match shape {
            Shape::FullMesh => return Ok(full_mesh(clusters.len())),
            Shape::HubAndSpoke => self.hub_and_spoke(&index)?,
            Shape::Pairs => self.cross_pairs(&index, &BTreeMap::new())?,
            Shape::Groups => self.grouped(&index)?,
        };
        if edges.is_empty() {
            return Err(TopologyError::new(
                Field::Shape,
                format!("this {shape} topology links no two clusters"),
                "give pairs, or groups of two clusters or more",
            ));
        }
        Ok(both_ways(&edges))
    }

    /// Each kind takes only its own details, and needs them.
    fn check_fields(&self, shape: Shape) -> Result<(), TopologyError> {
        let given = |field: Field, what: &str, hint: &str| {
            Err(TopologyError::new(
                field,
                format!("a {shape} topology takes no {what}"),
                hint.to_string(),
            ))
        };
        let missing = |field: Field, what: &str, hint: &str| {
            Err(TopologyError::new(
                field,
                format!("a {shape} topology needs at least one {what}"),
                hint.to_string(),
            ))
        };
        let takes_pairs = matches!(shape, Shape::Pairs | Shape::Groups);
        if shape != Shape::HubAndSpoke && !self.hubs.is_empty() {
            return given(Field::Hubs, "hubs", "hubs belong to topology hub-and-spoke");
        }
        if !takes_pairs && !self.pairs.is_empty() {
            return given(
                Field::Pairs,
                "pairs",
                "pairs belong to topologies pairs and groups (spokes link with the hubs only)",
            );
        }
        if shape != Shape::Groups && !self.groups.is_empty() {
            return given(
                Field::Groups,
                "groups",
                "groups belong to topology groups (pairs across them link groups)",
            );
        }
        match shape {
            Shape::HubAndSpoke if self.hubs.is_empty() => missing(
                Field::Hubs,
                "hub",
                "name the hub clusters, e.g. --hub east-1 (hubs: [east-1] in a file)",
            ),
            Shape::Pairs if self.pairs.is_empty() => {
                missing(Field::Pairs, "pair", "name the pairs to link, e.g. east-1:west-1")
            }
            Shape::Groups if self.groups.is_empty() => missing(
                Field::Groups,
                "group",
                "name the groups and their clusters, e.g. east=east-1,east-2",
            ),
            _ => Ok(()),
        }
    }

    fn hub_and_spoke(&self, index: &Index) -> Result<BTreeSet<Edge>, TopologyError> {
        let mut edges = BTreeSet::new();
        for (i, hub) in self.hubs.iter().enumerate() {
            let hub = index.cluster(hub, Field::Hub(i), "hub")?;
            edges.extend((0..index.len()).filter(|&c| c != hub).map(|c| edge(hub, c)));
        }
        Ok(edges)
    }

    /// The pairs, each side a cluster or one of `groups` (all its members).
    fn cross_pairs(
        &self,
        index: &Index,
        groups: &BTreeMap<&str, Vec<usize>>,
    ) -> Result<BTreeSet<Edge>, TopologyError> {
        let mut edges = BTreeSet::new();
        for (i, text) in self.pairs.iter().enumerate() {
            let (a, b) = split_pair(text).ok_or_else(|| {
                TopologyError::new(
                    Field::Pair(i),
                    format!("{text:?} is not a pair"),
                    "write a pair as two names joined by ':', e.g. east-1:west-1",
                )
            })?;
            if a == b {
                return Err(TopologyError::new(
                    Field::Pair(i),
                    format!("pair {text} links {a} with itself"),
                    "a cluster does not link to itself: name two different clusters",
                ));
            }
            let side = |name: &str| match groups.get(name) {
                Some(members) => Ok(members.clone()),
                None => index
                    .side(name, Field::Pair(i), !groups.is_empty())
                    .map(|c| vec![c]),
            };
            let (from, to) = (side(a)?, side(b)?);
            if let Some(shared) = from.iter().find(|c| to.contains(c)) {
                return Err(TopologyError::new(
                    Field::Pair(i),
                    format!(
                        "pair {text} links {} with itself: it is on both sides",
                        index.name(*shared)
                    ),
                    "a pair across groups names two groups, or clusters of two different groups",
                ));
            }
            edges.extend(from.iter().flat_map(|&x| to.iter().map(move |&y| edge(x, y))));
        }
        Ok(edges)
    }

    /// A full mesh inside each group, then the pairs across.
    fn grouped(&self, index: &Index) -> Result<BTreeSet<Edge>, TopologyError> {
        let groups = self.check_groups(index)?;
        let mut edges = BTreeSet::new();
        for members in groups.values() {
            for (n, &x) in members.iter().enumerate() {
                edges.extend(members[n + 1..].iter().map(|&y| edge(x, y)));
            }
        }
        edges.extend(self.cross_pairs(index, &groups)?);
        Ok(edges)
    }

    /// The groups' members by group name: named as labels, unlike any cluster, not empty,
    /// of known clusters, and no cluster in two groups.
    fn check_groups<'a>(&'a self, index: &Index) -> Result<BTreeMap<&'a str, Vec<usize>>, TopologyError> {
        let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        let mut group_of: HashMap<usize, &str> = HashMap::new();
        for (g, group) in self.groups.iter().enumerate() {
            let name = group.name.as_str();
            check_group_name(name, g, index, &groups)?;
            if group.members.is_empty() {
                return Err(TopologyError::new(
                    Field::Group(g),
                    format!("group {name} is empty"),
                    format!("list its clusters (e.g. {name}=east-1,east-2), or leave the group out"),
                ));
            }
            let mut members = BTreeSet::new();
            for (m, member) in group.members.iter().enumerate() {
                let cluster = index.cluster(member, Field::Member(g, m), "cluster")?;
                if let Some(other) = group_of.get(&cluster).filter(|o| **o != name) {
                    return Err(TopologyError::new(
                        Field::Member(g, m),
                        format!("cluster {member} is in two groups, {other} and {name}"),
                        "put every cluster in one group; a pair across groups links them",
                    ));
                }
                group_of.insert(cluster, name);
                members.insert(cluster);
            }
            groups.insert(name, members.into_iter().collect());
        }
        Ok(groups)
    }
}

/// Group names are labels (they appear in pairs next to cluster names, and `:`, `,` and `=`
/// separate those), given once, and never a cluster's name, which would make a pair mean two
/// things.
fn check_group_name(
    name: &str,
    g: usize,
    index: &Index,
    seen: &BTreeMap<&str, Vec<usize>>,
) -> Result<(), TopologyError> {
    let fail = |message: String, hint: &str| Err(TopologyError::new(Field::Group(g), message, hint));
    if !names::is_label(name) {
        return fail(
            format!("invalid group name {name:?}"),
            "group names are DNS-1123 labels: lowercase letters, digits and '-' (e.g. east)",
        );
    }
    if seen.contains_key(name) {
        return fail(
            format!("group {name} is given twice"),
            "give each group once, with all its clusters",
        );
    }
    if index.find(name).is_some() {
        return fail(
            format!("group {name} has the name of a cluster"),
            "rename the group: pairs name groups and clusters alike",
        );
    }
    Ok(())
}

/// `a:b` as its two names, trimmed; `None` unless exactly two non-empty names.
fn split_pair(text: &str) -> Option<(&str, &str)> {
    let (a, b) = text.split_once(':')?;
    let (a, b) = (a.trim(), b.trim());
    (!a.is_empty() && !b.is_empty() && !b.contains(':')).then_some((a, b))
}

/// Both directions of every edge, sorted by source then target (as [`full_mesh`] is).
fn both_ways(edges: &BTreeSet<Edge>) -> Vec<Pair> {
    let directed: BTreeSet<Edge> = edges.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect();
    directed.into_iter().map(|(from, to)| Pair { from, to }).collect()
}

/// The cluster list by name.
struct Index<'a> {
    clusters: &'a [&'a str],
    by_name: HashMap<&'a str, usize>,
}

impl<'a> Index<'a> {
    fn new(clusters: &'a [&'a str]) -> Self {
        let by_name = clusters.iter().enumerate().map(|(i, c)| (*c, i)).collect();
        Index { clusters, by_name }
    }

    fn len(&self) -> usize {
        self.clusters.len()
    }

    fn name(&self, i: usize) -> &str {
        self.clusters[i]
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The index of cluster `name`, which `field` names as a `what` (hub, cluster).
    fn cluster(&self, name: &str, field: Field, what: &str) -> Result<usize, TopologyError> {
        let name = name.trim();
        self.find(name).ok_or_else(|| {
            TopologyError::new(
                field,
                format!("{what} {name} is not one of the clusters being linked"),
                self.unknown_hint(name),
            )
        })
    }

    /// A side of a pair: a cluster (or, `with_groups`, a group — found by the caller first).
    fn side(&self, name: &str, field: Field, with_groups: bool) -> Result<usize, TopologyError> {
        match with_groups {
            false => self.cluster(name, field, "cluster"),
            true => self.find(name).ok_or_else(|| {
                TopologyError::new(
                    field,
                    format!("{name} is neither a group nor one of the clusters being linked"),
                    self.unknown_hint(name),
                )
            }),
        }
    }

    /// The nearest cluster name, if one is close: most unknown names are typos.
    fn unknown_hint(&self, name: &str) -> String {
        let nearest = self
            .clusters
            .iter()
            .map(|c| (crate::topology::distance(name, c), *c))
            .filter(|(d, _)| *d <= 3)
            .min();
        match nearest {
            Some((_, c)) => {
                format!("did you mean {c}? Hubs, pairs and groups name listed clusters by cluster name")
            }
            None => "name a listed cluster by its cluster name, or add the cluster to the list".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn refs(names: &[String]) -> Vec<&str> {
        names.iter().map(String::as_str).collect()
    }

    /// The pairs as `from->to` names, for readable assertions.
    fn named(topology: &LinkTopology, clusters: &[&str]) -> Vec<String> {
        topology
            .pairs(clusters)
            .unwrap()
            .iter()
            .map(|p| format!("{}->{}", clusters[p.from], clusters[p.to]))
            .collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn hubs(hubs: &[&str]) -> LinkTopology {
        LinkTopology {
            hubs: strings(hubs),
            ..Default::default()
        }
    }

    fn pairs(pairs: &[&str]) -> LinkTopology {
        LinkTopology {
            pairs: strings(pairs),
            ..Default::default()
        }
    }

    fn groups(groups: &[&str], pairs: &[&str]) -> LinkTopology {
        LinkTopology {
            groups: groups.iter().map(|g| g.parse().unwrap()).collect(),
            pairs: strings(pairs),
            ..Default::default()
        }
    }

    fn error(topology: &LinkTopology, clusters: &[&str]) -> TopologyError {
        topology.pairs(clusters).unwrap_err()
    }

    #[test]
    fn full_mesh_is_the_default_and_unchanged() {
        let clusters = names(5);
        let clusters = refs(&clusters);
        assert_eq!(LinkTopology::default().pairs(&clusters).unwrap(), full_mesh(5));
        let given = LinkTopology {
            shape: Some(Shape::FullMesh),
            ..Default::default()
        };
        assert_eq!(given.pairs(&clusters).unwrap(), full_mesh(5));
        assert!(LinkTopology::default().pairs(&["a"]).unwrap().is_empty());
    }

    #[test]
    fn hub_and_spoke_links_hubs_with_everyone_and_spokes_with_hubs_only() {
        let clusters = ["a", "b", "c", "d"];
        assert_eq!(
            named(&hubs(&["a"]), &clusters),
            ["a->b", "a->c", "a->d", "b->a", "c->a", "d->a"]
        );
        // Two hubs are linked with each other too.
        let two = named(&hubs(&["a", "b", "a"]), &clusters);
        assert_eq!(two.len(), 2 * 2 * 2 + 2, "{two:?}");
        assert!(two.contains(&"a->b".to_string()) && !two.contains(&"c->d".to_string()));
    }

    #[test]
    fn pairs_link_both_ways_once() {
        let clusters = ["a", "b", "c"];
        assert_eq!(
            named(&pairs(&["a:b", "b:a", " b : c "]), &clusters),
            ["a->b", "b->a", "b->c", "c->b"]
        );
    }

    #[test]
    fn groups_mesh_inside_and_pair_across() {
        let clusters = ["e1", "e2", "w1", "w2", "x"];
        // Two groups and a group-to-group pair: the full mesh of the four, x alone.
        let t = groups(&["east=e1,e2", "west=w1,w2"], &["east:west"]);
        assert_eq!(t.pairs(&clusters).unwrap(), full_mesh(4));
        // A cluster-to-cluster pair across, and a group with a cluster in no group.
        let t = groups(&["east=e1,e2", "west=w1,w2"], &["e1:w1", "west:x"]);
        assert_eq!(
            named(&t, &clusters),
            [
                "e1->e2", "e1->w1", "e2->e1", "w1->e1", "w1->w2", "w1->x", "w2->w1", "w2->x", "x->w1",
                "x->w2"
            ]
        );
    }

    #[test]
    fn shape_is_said_by_what_is_given_and_checked_when_given() {
        assert_eq!(hubs(&["a"]).shape(), Shape::HubAndSpoke);
        assert_eq!(pairs(&["a:b"]).shape(), Shape::Pairs);
        assert_eq!(groups(&["g=a"], &["g:b"]).shape(), Shape::Groups);
        let clusters = ["a", "b", "c"];
        let mut t = hubs(&["a"]);
        t.pairs = strings(&["b:c"]);
        let e = error(&t, &clusters);
        assert_eq!(e.field, Field::Pairs);
        assert_eq!(e.message, "a hub-and-spoke topology takes no pairs");
        let t = LinkTopology {
            shape: Some(Shape::HubAndSpoke),
            ..Default::default()
        };
        assert_eq!(
            error(&t, &clusters).message,
            "a hub-and-spoke topology needs at least one hub"
        );
        let t = LinkTopology {
            shape: Some(Shape::FullMesh),
            groups: vec!["g=a".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(error(&t, &clusters).field, Field::Groups);
        let t = LinkTopology {
            shape: Some(Shape::Groups),
            ..Default::default()
        };
        assert_eq!(error(&t, &clusters).field, Field::Groups);
        assert!("ring"
            .parse::<Shape>()
            .unwrap_err()
            .contains("full-mesh, hub-and-spoke, pairs, groups"));
    }

    #[test]
    fn unknown_clusters_and_hubs_name_the_field_and_the_nearest_name() {
        let clusters = ["east-1", "east-2", "west-1"];
        let e = error(&hubs(&["east-1", "eats-2"]), &clusters);
        assert_eq!(e.field, Field::Hub(1));
        assert_eq!(e.message, "hub eats-2 is not one of the clusters being linked");
        assert!(e.hint.starts_with("did you mean east-2?"), "{}", e.hint);
        let e = error(&pairs(&["east-1:west-1", "east-1:mars"]), &clusters);
        assert_eq!(e.field, Field::Pair(1));
        assert_eq!(e.message, "cluster mars is not one of the clusters being linked");
        let e = error(&groups(&["east=east-1,east-3"], &[]), &clusters);
        assert_eq!(e.field, Field::Member(0, 1));
        let e = error(&groups(&["east=east-1,east-2"], &["east:moon"]), &clusters);
        assert_eq!(
            e.message,
            "moon is neither a group nor one of the clusters being linked"
        );
    }

    #[test]
    fn flags_say_the_topology_again() {
        assert_eq!(LinkTopology::default().flags(), "");
        let mut t = groups(&["east=a,b", "west=c"], &["east:west"]);
        assert_eq!(t.flags(), " --group east=a,b --group west=c --pairs east:west");
        t.shape = Some(Shape::Groups);
        assert!(t.flags().starts_with(" --topology groups --group"));
        assert_eq!(hubs(&["a", "b"]).flags(), " --hub a,b");
    }

    #[test]
    fn self_pairs_are_refused() {
        let clusters = ["a", "b", "c"];
        let e = error(&pairs(&["a:b", "c:c"]), &clusters);
        assert_eq!(e.field, Field::Pair(1));
        assert_eq!(e.message, "pair c:c links c with itself");
        let e = error(&groups(&["g=a,b"], &["g:a"]), &clusters);
        assert_eq!(e.message, "pair g:a links a with itself: it is on both sides");
        for bad in ["a", "a:", ":b", "a:b:c"] {
            let e = error(&pairs(&[bad]), &clusters);
            assert_eq!(e.message, format!("{bad:?} is not a pair"));
        }
    }

    #[test]
    fn bad_groups_are_refused() {
        let clusters = ["a", "b", "c", "d"];
        let e = error(&groups(&["x=a,b", "y=b,c"], &[]), &clusters);
        assert_eq!(e.field, Field::Member(1, 0));
        assert_eq!(e.message, "cluster b is in two groups, x and y");
        let e = error(&groups(&["x=a,b", "y="], &[]), &clusters);
        assert_eq!(
            (e.field, e.message.as_str()),
            (Field::Group(1), "group y is empty")
        );
        let e = error(&groups(&["x=a", "x=b"], &[]), &clusters);
        assert_eq!(e.message, "group x is given twice");
        let e = error(&groups(&["a=b,c"], &[]), &clusters);
        assert_eq!(e.message, "group a has the name of a cluster");
        let e = error(&groups(&["East=a,b"], &[]), &clusters);
        assert_eq!(e.message, "invalid group name \"East\"");
        // Groups of one cluster and no pairs link nothing: surely not what was meant.
        let e = error(&groups(&["x=a", "y=b"], &[]), &clusters);
        assert_eq!(e.message, "this groups topology links no two clusters");
        assert!("east".parse::<Group>().is_err());
    }

    /// The properties every topology has, over every cluster list of up to 6 clusters and
    /// random hubs, pairs and groups.
    fn assert_well_formed(pairs: &[Pair], n: usize) {
        let set: BTreeSet<(usize, usize)> = pairs.iter().map(|p| (p.from, p.to)).collect();
        assert_eq!(set.len(), pairs.len(), "no duplicates: {pairs:?}");
        assert!(pairs.iter().all(|p| p.from != p.to && p.from < n && p.to < n));
        assert!(
            set.iter().all(|(a, b)| set.contains(&(*b, *a))),
            "symmetric: {pairs:?}"
        );
        assert!(pairs
            .windows(2)
            .all(|w| (w[0].from, w[0].to) < (w[1].from, w[1].to)));
    }

    #[test]
    fn full_mesh_gives_n_times_n_minus_one() {
        for n in 0..=40 {
            let clusters = names(n);
            let pairs = LinkTopology::default().pairs(&refs(&clusters)).unwrap();
            assert_eq!(pairs.len(), n * n.saturating_sub(1));
            assert_well_formed(&pairs, n);
        }
    }

    #[test]
    fn hub_and_spoke_counts_exhaustively() {
        for n in 1..=7 {
            let clusters = names(n);
            // Every non-empty set of hubs.
            for mask in 1..(1u32 << n) {
                let chosen: Vec<String> = (0..n)
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| clusters[i].clone())
                    .collect();
                let h = chosen.len();
                let t = LinkTopology {
                    hubs: chosen,
                    ..Default::default()
                };
                match t.pairs(&refs(&clusters)) {
                    Ok(pairs) => {
                        assert_eq!(pairs.len(), 2 * h * (n - h) + h * (h - 1), "n={n} hubs={mask:b}");
                        assert_well_formed(&pairs, n);
                    }
                    Err(e) => assert_eq!(n, 1, "only a lone hub links nothing: {e:?}"),
                }
            }
        }
    }

    proptest! {
        #[test]
        fn explicit_pairs_are_well_formed(
            n in 2usize..8,
            raw in proptest::collection::vec((0usize..8, 0usize..8), 1..12),
        ) {
            let clusters = names(n);
            let wanted: Vec<(usize, usize)> =
                raw.into_iter().map(|(a, b)| (a % n, b % n)).filter(|(a, b)| a != b).collect();
            prop_assume!(!wanted.is_empty());
            let t = LinkTopology {
                pairs: wanted.iter().map(|(a, b)| format!("{}:{}", clusters[*a], clusters[*b])).collect(),
                ..Default::default()
            };
            let pairs = t.pairs(&refs(&clusters)).unwrap();
            assert_well_formed(&pairs, n);
            for (a, b) in wanted {
                let wanted = Pair { from: a, to: b };
                prop_assert!(pairs.contains(&wanted), "{:?} missing", wanted);
                let back = Pair { from: b, to: a };
                prop_assert!(pairs.contains(&back), "{:?} missing", back);
            }
        }

        #[test]
        fn groups_are_well_formed(
            n in 2usize..9,
            assignment in proptest::collection::vec(proptest::option::of(0usize..3), 9),
            across in proptest::collection::vec((0usize..12, 0usize..12), 0..4),
        ) {
            let clusters = names(n);
            // Each cluster in group g0..g2, or in none.
            let mut members: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for (i, g) in assignment.iter().take(n).enumerate() {
                if let Some(g) = g {
                    members.entry(*g).or_default().push(clusters[i].clone());
                }
            }
            prop_assume!(!members.is_empty());
            // Sides of pairs: a group (g0..g2) when it exists, else a cluster.
            let side = |k: usize| match members.contains_key(&(k % 3)) && k >= 9 {
                true => format!("g{}", k % 3),
                false => clusters[k % n].clone(),
            };
            let t = LinkTopology {
                groups: members.iter().map(|(g, m)| Group { name: format!("g{g}"), members: m.clone() }).collect(),
                pairs: across.iter().map(|(a, b)| format!("{}:{}", side(*a), side(*b))).collect(),
                ..Default::default()
            };
            if let Ok(pairs) = t.pairs(&refs(&clusters)) {
                assert_well_formed(&pairs, n);
                // Inside a group: everyone with everyone.
                for m in members.values() {
                    for a in m {
                        for b in m.iter().filter(|b| *b != a) {
                            let (a, b) = (clusters.iter().position(|c| c == a).unwrap(), clusters.iter().position(|c| c == b).unwrap());
                            let inside = Pair { from: a, to: b };
                            prop_assert!(pairs.contains(&inside), "{:?} missing", inside);
                        }
                    }
                }
            }
        }
    }
}
