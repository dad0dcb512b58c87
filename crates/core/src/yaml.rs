//! YAML that kubectl, helm and istiod read as we meant it.
//!
//! serde_yaml_ng writes YAML 1.2, where `yes`, `no`, `on`, `off`, `y` and `n` are strings and
//! need no quotes. Kubernetes reads YAML with sigs.k8s.io/yaml, on go-yaml v2's YAML 1.1
//! rules, where those words are booleans: a network named `on`, or a cluster named `no` as a
//! key of a remote secret's `stringData`, came out as `true`/`false` and the object was
//! refused (or, as a key, renamed). Such plain scalars are quoted here.

use serde::Serialize;

/// The words go-yaml v2 resolves to booleans (resolve.go), which YAML 1.2 leaves strings.
const YAML_1_1_BOOLEANS: [&str; 16] = [
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
];

/// [`serde_yaml_ng::to_string`], with the YAML 1.1 booleans above quoted.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_yaml_ng::Error> {
    serde_yaml_ng::to_string(value).map(|text| quote_yaml_1_1(&text))
}

/// Quotes plain keys and values that YAML 1.1 would read as booleans, in serde_yaml_ng's
/// block style output; the content of block scalars (`|`, `>`) is text and left alone.
pub fn quote_yaml_1_1(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // The column of the key whose value is a block scalar being copied.
    let mut in_block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches('\n');
        let indent = content.len() - content.trim_start().len();
        if let Some(column) = in_block {
            if content.trim().is_empty() || indent > column {
                out.push_str(line);
                continue;
            }
            in_block = None;
        }
        let (prefix, rest) = split_items(content);
        let (key, value) = match rest.split_once(": ") {
            Some((key, value)) if !key.starts_with(['\'', '"']) => (Some(key), value),
            _ => match rest.strip_suffix(':') {
                Some(key) if !key.starts_with(['\'', '"']) => (Some(key), ""),
                _ => (None, rest),
            },
        };
        if is_block_indicator(value) {
            in_block = Some(prefix.len());
        }
        out.push_str(prefix);
        if let Some(key) = key {
            out.push_str(&quoted(key));
            out.push(':');
            if !value.is_empty() || rest.contains(": ") {
                out.push(' ');
            }
        }
        out.push_str(&quoted(value));
        out.push_str(&line[content.len()..]);
    }
    out
}

/// The indentation and `- ` list markers in front of a line's key or value.
fn split_items(line: &str) -> (&str, &str) {
    let mut at = line.len() - line.trim_start().len();
    while line[at..].starts_with("- ") {
        at += 2;
    }
    if &line[at..] == "-" {
        at = line.len();
    }
    line.split_at(at)
}

fn is_block_indicator(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
}

fn quoted(scalar: &str) -> std::borrow::Cow<'_, str> {
    match YAML_1_1_BOOLEANS.contains(&scalar) {
        true => format!("'{scalar}'").into(),
        false => scalar.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_booleans_are_quoted_and_read_back_the_same() {
        let value = json!({
            "metadata": {"name": "on", "labels": {"topology.istio.io/network": "no"}},
            "stringData": {"y": "apiVersion: v1\nclusters:\n- name: n\n  on: off\n"},
            "list": ["yes", "Off", "keep", {"n": "N"}],
            "fine": "yesterday",
        });
        let text = to_string(&value).unwrap();
        for quoted in [
            "name: 'on'",
            "topology.istio.io/network: 'no'",
            "'y': |",
            "- 'yes'",
            "- 'Off'",
            "- 'n': 'N'",
        ] {
            assert!(text.contains(quoted), "{quoted}:\n{text}");
        }
        // A block scalar's text is left as it is.
        assert!(text.contains("    - name: n\n      on: off\n"), "{text}");
        assert!(text.contains("fine: yesterday"), "{text}");
        let back: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn lines_without_such_words_are_untouched() {
        let value = json!({"a": {"b": ["c", {"d": "e"}], "f": ""}, "g": [], "h": {}});
        let plain = serde_yaml_ng::to_string(&value).unwrap();
        assert_eq!(to_string(&value).unwrap(), plain);
    }
}
