//! Property tests: the parsers of user input never panic, whatever they are given; they
//! answer with an error instead. CI runs them with proptest's default (256 cases each); set
//! PROPTEST_CASES for a longer run.

use kubectl_mesh_core::duration;
use kubectl_mesh_core::kube::clusters::parse_refs;
use kubectl_mesh_core::topology::Topology;
use proptest::prelude::*;

/// YAML-shaped text built from the topology's own vocabulary, so that the generator reaches
/// deep into validation rather than stopping at the first syntax error.
fn topology_like() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("mesh_id"),
        Just("meshId"),
        Just("contexts"),
        Just("network"),
        Just("cluster"),
        Just("flavor"),
        Just("model"),
        Just("primary"),
        Just("installer"),
        Just("certs"),
        Just("trustDomain"),
        Just("dir"),
        Just("keyType"),
        Just("netwrk"),
        Just("a"),
        Just("b"),
    ];
    let value = prop_oneof![
        Just("n1".to_string()),
        Just("".to_string()),
        Just("primary-remote".to_string()),
        Just("helm".to_string()),
        Just("ec-p256".to_string()),
        Just("{network: n}".to_string()),
        Just("[1, 2]".to_string()),
        Just("~".to_string()),
        "[a-zA-Z0-9_.:/ -]{0,12}",
    ];
    let line = (0usize..3, key, value).prop_map(|(indent, k, v)| format!("{}{k}: {v}", "  ".repeat(indent)));
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #[test]
    fn topology_parser_never_panics_on_any_text(text in any::<String>()) {
        let _ = Topology::parse(&text, "fuzz.yaml");
    }

    #[test]
    fn topology_parser_never_panics_on_yaml_like_text(text in topology_like()) {
        if let Err(e) = Topology::parse(&text, "fuzz.yaml") {
            prop_assert!(e.message.starts_with("fuzz.yaml"), "errors name the file: {}", e.message);
        }
    }

    #[test]
    fn contexts_parser_never_panics(entries in prop::collection::vec("[a-zA-Z0-9=:,._ -]{0,20}", 0..6)) {
        if let Ok(refs) = parse_refs(&entries) {
            for r in &refs {
                prop_assert!(kubectl_mesh_core::kube::validation::is_label(&r.name));
                prop_assert!(!r.context.is_empty());
            }
        }
    }

    #[test]
    fn durations_never_panic(text in "[0-9.]{0,6}[a-z]{0,3}[0-9]{0,3}[a-z]{0,2}") {
        let _ = duration::parse(&text);
    }
}
