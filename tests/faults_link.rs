//! `kubectl mesh link` under every injected fault (issue #9): how to set it up, which request each
//! fault hits and what it makes, for the fault matrix in `common/faults.rs`, whose observed table
//! is section `link` of `docs/faults.md`.

mod common;

use common::faults::*;
use common::*;

fn link_cmd() -> Cmd {
    Cmd {
        name: "link",
        setup: exposed,
        args: |_| strings(&["link", "--contexts", "a,b", "-o", "json"]),
        hit: ("PATCH", "istio-remote-peer-a"),
        deny: ("patch", "gateways"),
        objects: |cluster| vec![peer_path(other(cluster))],
        conflict: Some(|env| {
            owned_by_other(
                env,
                &["link", "--generate", "--context", "a"],
                (
                    "gatewayClassName: istio-remote",
                    "gatewayClassName: someone-elses",
                ),
            );
        }),
        no_address: Some(strip_address),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: None,
    }
}

#[test]
fn link_under_faults() {
    run_table(link_cmd());
}
