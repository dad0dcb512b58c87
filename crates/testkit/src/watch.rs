//! Watch streams, as "Efficient detection of changes", "Watch bookmarks" and "Streaming
//! lists" of the API concepts describe them:
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes>
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#watch-bookmarks>
//! <https://kubernetes.io/docs/reference/using-api/api-concepts/#streaming-lists>
//!
//! - From a resourceVersion older than the kept history: one `ERROR` event holding a
//!   `Status` 410 `Expired` (`too old resource version: N (M)`), then the end of the stream,
//!   as the apiserver's watch cache answers (client-go and kube-runtime re-list on it).
//! - `allowWatchBookmarks=true`: a `BOOKMARK` (an object of the kind with only
//!   `metadata.resourceVersion`) every bookmark period.
//! - `sendInitialEvents=true` (with `resourceVersionMatch=NotOlderThan` and bookmarks, as
//!   validation requires): the current objects as `ADDED`, then a `BOOKMARK` annotated
//!   `k8s.io/initial-events-end: "true"`.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::registry::ResourceDef;
use crate::status::{ApiError, Cause};
use crate::store::{Event, Store};

/// The watch request's parameters.
pub struct WatchParams<'a> {
    pub resource_version: &'a str,
    pub match_: &'a str,
    pub bookmarks: bool,
    pub send_initial: &'a str,
    pub timeout: Duration,
}

fn validate(p: &WatchParams) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    if p.send_initial.is_empty() {
        if !p.match_.is_empty() {
            causes.push(Cause::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch",
            ));
        }
    } else {
        if p.match_ != "NotOlderThan" {
            causes.push(Cause::forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if !p.bookmarks {
            causes.push(Cause::forbidden(
                "allowWatchBookmarks",
                "sendInitialEvents requires setting allowWatchBookmarks to true",
            ));
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid("ListOptions", "meta.k8s.io", "", causes))
    }
}

fn line(kind: &str, o: &Value) -> Bytes {
    Bytes::from(format!("{}\n", json!({"type": kind, "object": o})))
}

fn bookmark(def: &ResourceDef, rv: u64, end_of_initial: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if end_of_initial {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": meta}),
    )
}

/// Starts a watch of `def`: `current` lists the objects for initial events, `keep` selects
/// the objects the watch reports.
pub fn start(
    st: &Store,
    def: &'static ResourceDef,
    p: &WatchParams,
    current: impl FnOnce() -> Result<Vec<Value>, ApiError>,
    keep: impl Fn(&Value) -> bool + Send + 'static,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    validate(p)?;
    let since: u64 = p.resource_version.parse().unwrap_or(0);
    let send_initial = match p.send_initial {
        "" => since == 0,
        s => s == "true",
    };
    let (tx, out) = mpsc::channel(64);
    if !send_initial && since != 0 && since < st.compacted() {
        let oldest = st.history().next().map_or(st.rv(), |e| e.rv);
        let status = ApiError::new(
            410,
            "Expired",
            format!("too old resource version: {since} ({oldest})"),
        );
        let ev = line("ERROR", &status.to_json());
        tokio::spawn(async move {
            let _ = tx.send(ev).await;
        });
        return Ok(out);
    }
    let (past, rx) = st.subscribe(if send_initial { u64::MAX } else { since });
    let mut first: Vec<Bytes> = if send_initial {
        current()?.iter().map(|o| line("ADDED", o)).collect()
    } else {
        past.iter()
            .filter(|e| std::ptr::eq(e.def, def) && keep(&e.obj))
            .map(|e| line(e.kind, &e.obj))
            .collect()
    };
    let start_rv = st.rv();
    if send_initial && p.send_initial == "true" {
        first.push(bookmark(def, start_rv, true));
    }
    let stream = Stream {
        def,
        keep: Box::new(keep),
        latest: start_rv,
        bookmarks: p.bookmarks.then_some(st.watch.bookmark_every),
    };
    tokio::spawn(stream.run(tx, first, rx, p.timeout));
    Ok(out)
}

struct Stream {
    def: &'static ResourceDef,
    keep: Box<dyn Fn(&Value) -> bool + Send>,
    /// The newest resourceVersion seen (of any kind: all changes come in order).
    latest: u64,
    bookmarks: Option<Duration>,
}

impl Stream {
    async fn run(
        mut self,
        tx: mpsc::Sender<Bytes>,
        first: Vec<Bytes>,
        mut rx: broadcast::Receiver<Event>,
        timeout: Duration,
    ) {
        for b in first {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        // A period far beyond any timeout when bookmarks are off.
        let period = self.bookmarks.unwrap_or(Duration::from_secs(86_400 * 365));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            let out = tokio::select! {
                _ = &mut deadline => return,
                _ = tick.tick() => Some(bookmark(self.def, self.latest, false)),
                ev = rx.recv() => match ev {
                    Ok(e) => self.event(&e),
                    Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(_) => return,
                },
            };
            if let Some(b) = out {
                if tx.send(b).await.is_err() {
                    return;
                }
            }
        }
    }

    fn event(&mut self, e: &Event) -> Option<Bytes> {
        self.latest = self.latest.max(e.rv);
        (std::ptr::eq(e.def, self.def) && (self.keep)(&e.obj)).then(|| line(e.kind, &e.obj))
    }
}
