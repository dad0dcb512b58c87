mod common;
use common::*;
use mesh_testkit::Fault;
use std::time::{Duration, Instant};

#[test]
fn probe() {
    let cases: Vec<(&str, Box<dyn Fn(&Env)>)> = vec![
        (
            "forever503",
            Box::new(|e: &Env| {
                e.cluster("b")
                    .inject(Fault::status(503).method("PATCH").path_contains("gateways"))
            }),
        ),
        (
            "slow",
            Box::new(|e: &Env| e.cluster("b").set_latency(Duration::from_secs(2))),
        ),
        (
            "resetwrites",
            Box::new(|e: &Env| e.cluster("b").inject(Fault::reset().method("PATCH"))),
        ),
        (
            "deny",
            Box::new(|e: &Env| e.cluster("b").deny("patch", "gateways")),
        ),
        (
            "noaddr",
            Box::new(|e: &Env| e.cluster("b").set_address_delay(None)),
        ),
    ];
    for (name, f) in cases {
        let env = with_istio(&["a", "b"]);
        f(&env);
        let t = Instant::now();
        let r = env.mesh(&[
            "expose",
            "--contexts",
            "a,b",
            "--timeout",
            "1s",
            "--wait=2s",
            "-o",
            "json",
        ]);
        eprintln!(
            "=== {name} code {} in {:?}\n{}\n{}",
            r.code,
            t.elapsed(),
            r.stdout,
            r.stderr
        );
        for l in env.cluster("b").request_log() {
            eprintln!("  {} {} {}", l.method, l.path, l.status);
        }
    }
}
