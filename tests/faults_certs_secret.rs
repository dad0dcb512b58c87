//! `kubectl mesh certs secret` under every injected fault (issue #9): how to set it up, which
//! request each fault hits and what it makes, for the fault matrix in `common/faults.rs`, whose
//! observed table is section `certs-secret` of `docs/faults.md`.

mod common;

use common::faults::*;
use common::*;

fn certs_secret_cmd() -> Cmd {
    Cmd {
        name: "certs-secret",
        setup: || {
            let env = with_istio(&CLUSTERS);
            generate_certs(&env);
            env
        },
        args: |env| {
            strings(&[
                "certs",
                "secret",
                "--contexts",
                "a,b",
                "--dir",
                &dir_arg(env, "certs"),
                "-o",
                "json",
            ])
        },
        hit: ("PATCH", "secrets/cacerts"),
        deny: ("patch", "secrets"),
        objects: |_| vec![CACERTS.to_string()],
        conflict: Some(|env| {
            let certs = dir_arg(env, "certs");
            owned_by_other(
                env,
                &[
                    "certs",
                    "secret",
                    "--generate",
                    "--clusters",
                    "b",
                    "--dir",
                    &certs,
                ],
                (
                    "app.kubernetes.io/managed-by: kubectl-mesh",
                    "app.kubernetes.io/managed-by: someone-else",
                ),
            );
        }),
        no_address: None,
        expect: |kind| match kind {
            Kind::Throttle | Kind::Burst503 | Kind::Reset => Some(0),
            Kind::NoAddress => None,
            _ => Some(1),
        },
        not_applicable: |_| "certs secret waits for no address",
        slow_only: None,
    }
}

#[test]
fn certs_secret_under_faults() {
    run_table(certs_secret_cmd());
}
