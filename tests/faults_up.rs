//! `kubectl mesh up` under every injected fault (issue #9): how to set it up, which request each
//! fault hits and what it makes, for the fault matrix in `common/faults.rs`, whose observed table
//! is section `up` of `docs/faults.md`.

mod common;

use common::faults::*;
use common::*;

fn up_cmd() -> Cmd {
    Cmd {
        name: "up",
        setup: || {
            let env = with_bare_istio(&CLUSTERS);
            write_topology(
                &env,
                "contexts:\n  a: {network: network-a}\n  b: {network: network-b}\n",
            );
            env
        },
        args: |env| {
            strings(&[
                "up",
                "-f",
                &dir_arg(env, "mesh.yaml"),
                "--values-dir",
                &dir_arg(env, "values"),
                "--wait=2s",
                "-o",
                "json",
            ])
        },
        hit: ("PATCH", "gateways/istio-eastwest"),
        deny: ("patch", "gateways"),
        objects: |cluster| {
            vec![
                CACERTS.to_string(),
                GATEWAYS_NS.to_string(),
                GATEWAY.to_string(),
                peer_path(other(cluster)),
            ]
        },
        conflict: Some(eastwest_owned_by_other),
        no_address: Some(|env| env.cluster("b").set_address_delay(None)),
        expect: retried_faults_pass,
        not_applicable: |_| "",
        slow_only: Some("gateways/istio-eastwest"),
    }
}

#[test]
fn up_under_faults() {
    run_table(up_cmd());
}
