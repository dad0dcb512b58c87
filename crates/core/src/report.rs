//! What happened, per object and per cluster: the data behind every table and `-o json`.

use serde::Serialize;

use crate::kube::kinds::ObjectRef;

/// The result of writing one object (kubectl's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Unchanged,
    Created,
    Configured,
    Deleted,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Deleted => "deleted",
            Outcome::Failed => "failed",
        }
    }

    /// Whether this outcome wrote (or, in a dry run, would write) to the cluster.
    pub fn is_change(self) -> bool {
        matches!(self, Outcome::Created | Outcome::Configured | Outcome::Deleted)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    #[serde(flatten)]
    pub object: ObjectRef,
    pub result: Outcome,
}

/// Everything a command did in one cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterReport {
    pub cluster: String,
    pub context: String,
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub objects: Vec<ObjectResult>,
    /// Why the cluster failed, with the fix where we know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the user should know or do next (e.g. "istiod must restart").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ClusterReport {
    pub fn new(cluster: &str, context: &str) -> Self {
        ClusterReport {
            cluster: cluster.to_string(),
            context: context.to_string(),
            result: Outcome::Unchanged,
            network: None,
            address: None,
            objects: Vec::new(),
            error: None,
            notes: Vec::new(),
        }
    }

    pub fn record(&mut self, object: ObjectRef, result: Outcome) {
        self.objects.push(ObjectResult { object, result });
        self.result = summarize(self.objects.iter().map(|o| o.result));
    }

    pub fn fail(&mut self, error: impl std::fmt::Display) {
        self.error = Some(error.to_string());
        self.result = Outcome::Failed;
    }

    pub fn failed(&self) -> bool {
        self.result == Outcome::Failed
    }
}

/// One word for several outcomes: failed if any failed, unchanged if all were, created if
/// everything that changed was created, configured otherwise.
pub fn summarize(outcomes: impl Iterator<Item = Outcome>) -> Outcome {
    outcomes.fold(Outcome::Unchanged, |acc, o| match (acc, o) {
        (Outcome::Failed, _) | (_, Outcome::Failed) => Outcome::Failed,
        (Outcome::Unchanged, o) | (o, Outcome::Unchanged) => o,
        (a, b) if a == b => a,
        _ => Outcome::Configured,
    })
}

/// Receives progress of long multi-cluster work (the CLI prints it on stderr).
pub trait Progress: Send + Sync {
    fn event(&self, cluster: &str, message: &str);
}

/// Progress that goes nowhere (library callers and tests).
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _cluster: &str, _message: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use Outcome::*;

    #[test]
    fn summary_words() {
        assert_eq!(summarize([].into_iter()), Unchanged);
        assert_eq!(summarize([Unchanged, Created].into_iter()), Created);
        assert_eq!(summarize([Created, Created].into_iter()), Created);
        assert_eq!(summarize([Created, Configured].into_iter()), Configured);
        assert_eq!(summarize([Created, Failed, Unchanged].into_iter()), Failed);
    }
}
