//! `kubectl mesh expose` under every injected fault (issue #9): how to set it up, which request
//! each fault hits and what it makes, for the fault matrix in `common/faults.rs`, whose observed
//! table is section `expose` of `docs/faults.md`.

mod common;

use common::faults::*;
use common::*;

fn expose_cmd() -> Cmd {
    Cmd {
        name: "expose",
        setup: || with_istio(&CLUSTERS),
        args: |_| strings(&["expose", "--contexts", "a,b", "--wait=2s", "-o", "json"]),
        hit: ("PATCH", "gateways/istio-eastwest"),
        deny: ("patch", "gateways"),
        objects: |_| vec![GATEWAYS_NS.to_string(), GATEWAY.to_string()],
        conflict: Some(eastwest_owned_by_other),
        no_address: Some(|env| env.cluster("b").set_address_delay(None)),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: None,
    }
}

#[test]
fn expose_under_faults() {
    run_table(expose_cmd());
}
