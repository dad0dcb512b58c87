//! `kubectl mesh verify` under every injected fault (issue #9): how to set it up, which request
//! each fault hits and what it makes, for the fault matrix in `common/faults.rs`, whose observed
//! table is section `verify` of `docs/faults.md`.

mod common;

use common::faults::*;
use common::*;

fn verify_cmd() -> Cmd {
    Cmd {
        name: "verify",
        setup: || {
            let env = exposed();
            generate_certs(&env);
            env.mesh(&[
                "certs",
                "secret",
                "--contexts",
                "a,b",
                "--dir",
                &dir_arg(&env, "certs"),
            ])
            .success();
            env.mesh(&["link", "--contexts", "a,b"]).success();
            env
        },
        args: |_| strings(&["verify", "--contexts", "a,b", "-o", "json"]),
        hit: ("GET", "secrets/cacerts"),
        deny: ("get", "secrets"),
        objects: |_| Vec::new(),
        conflict: None,
        no_address: Some(strip_address),
        expect: |kind| match kind {
            Kind::Throttle | Kind::Burst503 | Kind::Reset | Kind::WritesDown => Some(0),
            Kind::Conflict => None,
            _ => Some(1),
        },
        not_applicable: |_| "verify writes nothing, so no field manager can conflict with it",
        slow_only: None,
    }
}

#[test]
fn verify_under_faults() {
    run_table(verify_cmd());
}
