//! What every controller does with the objects it looks after: picks those that need
//! work, keys a delay by an object's generation, and writes status as the controllers'
//! field manager. Shared by the background controllers and the Job controller.

use serde_json::Value;

use crate::cluster::write_locked;
use crate::meta;
use crate::registry;
use crate::store::Store;

/// The field manager of what the controllers write.
pub(crate) const MANAGER: &str = "mesh-testkit-controller";

/// Copies of the objects of one resource that `needs_work` picks. Only those are cloned:
/// a pass runs after every write, and cloning every object each time (the peer Gateways
/// of twenty linked clusters, say) made the fake server, not the client, the bottleneck
/// of benchmarks.
pub(crate) fn pending(
    st: &Store,
    group: &str,
    version: &str,
    plural: &str,
    needs_work: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    match registry::find(group, version, plural) {
        Some(def) => st
            .list(def, None)
            .into_iter()
            .filter(|s| needs_work(&s.obj))
            .map(|s| s.obj.clone())
            .collect(),
        None => Vec::new(),
    }
}

/// Identifies an object at a generation, so a spec change restarts the delay.
pub(crate) fn gen_key(kind: &str, o: &Value) -> String {
    let uid = meta::uid_of(o);
    let gen = o
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    format!("{kind}/{uid}/{gen}")
}

pub(crate) fn write_status(st: &mut Store, mut obj: Value, status: Value) {
    obj["status"] = status;
    let _ = write_locked(st, obj, MANAGER, "status");
}
