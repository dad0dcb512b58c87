//! The clusters of one sandbox, as seen from inside any of them: what lets a controller
//! of one cluster look at the others (the simulated data plane spans clusters).

use std::sync::{Arc, Mutex, Weak};

use crate::cluster::Shared;

/// Every cluster of a sandbox, in sandbox order.
///
/// Holds them weakly: every cluster's controllers hold the world, and only the sandbox
/// should keep a cluster alive.
#[derive(Default)]
pub(crate) struct World {
    clusters: Mutex<Vec<Weak<Shared>>>,
}

impl World {
    pub fn add(&self, cluster: &Arc<Shared>) {
        self.lock().push(Arc::downgrade(cluster));
    }

    /// The clusters still alive, in sandbox order. The world's lock is released on return,
    /// so callers may lock the clusters' stores (one at a time) without holding it.
    pub fn clusters(&self) -> Vec<Arc<Shared>> {
        self.lock().iter().filter_map(Weak::upgrade).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Shared>>> {
        // Nothing panics while holding it, but a poisoned list is still a valid list.
        self.clusters.lock().unwrap_or_else(|e| e.into_inner())
    }
}
