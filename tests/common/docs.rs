//! Generated docs that tests check: a section of a file under `docs/` between
//! `<!-- faults:NAME -->` and `<!-- /faults:NAME -->` is compared with what a test observed, and
//! rewritten with `UPDATE_DOCS=1` (`docs/faults.md` by the `faults_*` tests, `docs/errors.md`
//! by `bad_input`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One writer at a time within a test binary (cargo runs the binaries one after another).
static DOCS: Mutex<()> = Mutex::new(());

const SECTIONS: [&str; 5] = ["expose", "certs-secret", "link", "verify", "up"];

fn docs_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(file)
}

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v == "1")
}

/// Checks (or with `UPDATE_DOCS=1` rewrites) the part of `file` between
/// `<!-- faults:NAME -->` and `<!-- /faults:NAME -->`.
pub fn check_section(file: &str, header: &str, name: &str, body: &str) {
    let _guard = DOCS.lock().unwrap_or_else(|e| e.into_inner());
    let path = docs_path(file);
    let open = format!("<!-- faults:{name} -->");
    let close = format!("<!-- /faults:{name} -->");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let current = text.find(&open).and_then(|start| {
        let end = text[start..].find(&close)? + start;
        Some((start, end))
    });
    let wanted = format!("{open}\n{body}{close}");
    match current {
        Some((start, end)) if text[start..end + close.len()] == wanted => {}
        _ if updating() => {
            let new = match current {
                Some((start, end)) => format!(
                    "{}{wanted}{}",
                    &text[..start],
                    &text[end + close.len()..]
                ),
                None if text.is_empty() => format!("{header}\n{wanted}\n"),
                None if file == "faults.md" => {
                    // Keep the sections in the order of SECTIONS, whichever test writes first.
                    let mine = SECTIONS.iter().position(|s| *s == name).unwrap_or(usize::MAX);
                    let next = SECTIONS[mine.saturating_add(1).min(SECTIONS.len())..]
                        .iter()
                        .find_map(|s| text.find(&format!("<!-- faults:{s} -->")));
                    match next {
                        Some(at) => format!("{}{wanted}\n{}", &text[..at], &text[at..]),
                        None => format!("{}\n{wanted}\n", text.trim_end()),
                    }
                }
                None => format!("{}\n{wanted}\n", text.trim_end()),
            };
            std::fs::write(&path, new).unwrap();
        }
        Some((start, end)) => panic!(
            "docs/{file} section {name} is out of date (UPDATE_DOCS=1 cargo test --test {} rewrites it)\n--- committed:\n{}\n--- observed:\n{wanted}",
            env!("CARGO_CRATE_NAME"),
            &text[start..end + close.len()]
        ),
        None => panic!(
            "docs/{file} has no section {name} (UPDATE_DOCS=1 cargo test --test {} writes it)\n--- observed:\n{wanted}",
            env!("CARGO_CRATE_NAME")
        ),
    }
}

/// Messages made stable for the docs: no ports, temp paths or transport detail.
pub fn clean(env_dir: &Path, text: &str) -> String {
    let mut s = text.replace(env_dir.to_str().unwrap(), "<tmp>");
    // https://127.0.0.1:<port>
    while let Some(i) = s.find("https://127.0.0.1:") {
        let start = i + "https://127.0.0.1:".len();
        let end = s[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(s.len(), |n| start + n);
        s.replace_range(i..end, "https://<server>");
    }
    // Transport detail varies with the exact moment the connection dropped.
    let marker = "cannot reach the API server: ";
    let mut from = 0;
    while let Some(i) = s[from..].find(marker) {
        let start = from + i + marker.len();
        let end = s[start..].find("; check").map_or(s.len(), |n| start + n);
        s.replace_range(start..end, "<transport error>");
        from = start + "<transport error>".len();
    }
    s.replace('|', "\\|").replace('\n', " ")
}
