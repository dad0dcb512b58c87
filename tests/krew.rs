//! Packaging: the krew manifest is what scripts/release writes from the archives it built (every
//! listed platform has its archive, with that archive's sha256; no placeholders), an archive made
//! by scripts/release (its fast path: the debug binaries this test suite already built) holds
//! exactly what the manifest's `files` name, and the binaries report the git commit they were
//! built from.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value;

const BINARIES: [&str; 5] = [
    "kubectl-mesh",
    "kubectl-mesh-expose",
    "kubectl-mesh-link",
    "kubectl-mesh-certs",
    "kubectl-mesh-verify",
];

/// The platforms scripts/release knows, in the order it lists them.
const PLATFORMS: [&str; 4] = ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"];
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut v = value;
    for key in path {
        v = v.get(*key).unwrap_or_else(|| panic!("no {path:?} in {value:?}"));
    }
    v.as_str().unwrap_or_else(|| panic!("{path:?} is not a string"))
}

fn platforms(manifest: &Value) -> &Vec<Value> {
    manifest["spec"]["platforms"]
        .as_sequence()
        .expect("spec.platforms is a list")
}

/// `(from, to)` of a platform's `files`.
fn files(platform: &Value) -> Vec<(String, String)> {
    platform["files"]
        .as_sequence()
        .expect("files is a list")
        .iter()
        .map(|f| (str_at(f, &["from"]).to_string(), str_at(f, &["to"]).to_string()))
        .collect()
}

/// krew's `from` is a glob over the archive's paths; ours use a trailing `/*` at most.
fn matches(from: &str, path: &str) -> bool {
    match from.strip_suffix("/*") {
        Some(dir) => path
            .strip_prefix(dir)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|r| !r.is_empty() && !r.contains('/')),
        None => from == path,
    }
}

/// `os/arch` of a platform entry.
fn platform_name(platform: &Value) -> String {
    format!(
        "{}/{}",
        str_at(platform, &["selector", "matchLabels", "os"]),
        str_at(platform, &["selector", "matchLabels", "arch"])
    )
}

/// The krew platform of this machine, as scripts/release names it.
fn host_platform() -> String {
    let os = std::env::consts::OS.replace("macos", "darwin");
    match std::env::consts::ARCH {
        "x86_64" => format!("{os}/amd64"),
        "aarch64" => format!("{os}/arm64"),
        other => panic!("no krew platform for {other:?}"),
    }
}

fn archive_name(platform: &str) -> String {
    format!(
        "kubectl-mesh-{}-{}.tar.gz",
        env!("CARGO_PKG_VERSION"),
        platform.replace('/', "-")
    )
}

fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(output.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A manifest's text split where scripts/release writes: the part above `  platforms:`, and each
/// platform's lines (`sha256` masked) by `os/arch`.
fn sections(text: &str) -> (String, BTreeMap<String, String>) {
    let (head, platforms) = text
        .split_once("\n  platforms:\n")
        .expect("a `  platforms:` line");
    let mut entries = BTreeMap::new();
    for entry in platforms.split("  - selector:\n").filter(|e| !e.is_empty()) {
        let yaml: String = std::iter::once("- selector:")
            .chain(entry.lines().map(|l| l.strip_prefix("  ").unwrap_or(l)))
            .map(|l| format!("{l}\n"))
            .collect();
        let value: Value = serde_yaml_ng::from_str(&yaml).unwrap_or_else(|e| panic!("{e}: {entry}"));
        let masked: String = entry
            .lines()
            .map(|l| match l.strip_prefix("    sha256: ") {
                Some(_) => "    sha256: <sha256>\n".to_string(),
                None => format!("{l}\n"),
            })
            .collect();
        entries.insert(platform_name(&value[0]), masked);
    }
    (head.to_string(), entries)
}

/// The sha256 of a release archive: 64 lowercase hex digits, and not a stand-in such as all zeros.
fn assert_real_sha256(platform: &str, sha: &str) {
    assert!(
        sha.len() == 64
            && sha
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{platform}: sha256 {sha}"
    );
    let distinct: BTreeSet<char> = sha.chars().collect();
    assert!(distinct.len() > 4, "{platform}: placeholder sha256 {sha}");
}

#[test]
fn manifest_structure() {
    let m = manifest(&repo().join("krew/mesh.yaml"));
    assert_eq!(
        str_at(&m, &["apiVersion"]),
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(str_at(&m, &["kind"]), "Plugin");
    assert_eq!(str_at(&m, &["metadata", "name"]), "mesh");
    let version = str_at(&m, &["spec", "version"]);
    assert_eq!(version, format!("v{}", env!("CARGO_PKG_VERSION")));
    assert!(!str_at(&m, &["spec", "shortDescription"]).is_empty());

    // Only platforms a release has built an archive for: at least this one, each once, in
    // scripts/release's order.
    let listed: Vec<String> = platforms(&m).iter().map(platform_name).collect();
    assert!(!listed.is_empty(), "no platforms");
    let known: Vec<String> = PLATFORMS
        .iter()
        .filter(|p| listed.contains(&p.to_string()))
        .map(|p| p.to_string())
        .collect();
    assert_eq!(listed, known, "known platforms, each once, in order");
    for p in platforms(&m) {
        let name = platform_name(p);
        let uri = str_at(p, &["uri"]);
        assert!(
            uri.starts_with("https://") && uri.ends_with(&format!("/{version}/{}", archive_name(&name))),
            "{name}: uri {uri}"
        );
        assert_real_sha256(&name, str_at(p, &["sha256"]));
        // Where the release was made, its archive is still in dist/ (not committed): the same one.
        let released = repo().join("dist").join(archive_name(&name));
        if released.is_file() {
            assert_eq!(
                str_at(p, &["sha256"]),
                sha256(&released),
                "{name}: sha256 of {} (rerun scripts/release and commit krew/mesh.yaml)",
                released.display()
            );
        }
        assert_eq!(str_at(p, &["bin"]), "kubectl-mesh", "{name}");
        let files = files(p);
        for bin in BINARIES.iter().chain(&["LICENSE"]) {
            assert!(
                files.iter().any(|(from, to)| from == bin && to == "."),
                "{name}: files lack {bin}"
            );
        }
        for script in [
            "kubectl_complete-mesh",
            "kubectl-mesh.bash",
            "_kubectl-mesh",
            "kubectl-mesh.fish",
        ] {
            assert!(
                files
                    .iter()
                    .any(|(from, _)| matches(from, &format!("completions/{script}"))),
                "{name}: files lack completions/{script}"
            );
        }
    }
}

/// scripts/release (fast path) with a manifest that is stale in every way it can be: an older
/// version, a platform whose archive is not there (a placeholder sha256), and archives in the
/// output directory from another machine and from an older version.
#[test]
fn release_archive_holds_what_the_manifest_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dist");
    std::fs::create_dir_all(&out).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let committed_text = std::fs::read_to_string(repo().join("krew/mesh.yaml")).unwrap();
    let committed = manifest(&repo().join("krew/mesh.yaml"));
    let host = host_platform();

    // Another machine's archives: one for every committed platform but this one (so the output
    // can be compared with the committed manifest), and one more if there is a platform left.
    let committed_platforms: Vec<String> = platforms(&committed).iter().map(platform_name).collect();
    let others: Vec<&str> = PLATFORMS
        .iter()
        .copied()
        .filter(|p| *p != host && !committed_platforms.iter().any(|c| c == p))
        .collect();
    let mut copied: Vec<String> = committed_platforms
        .iter()
        .filter(|p| **p != host)
        .cloned()
        .collect();
    copied.extend(others.first().map(|p| p.to_string()));
    for (i, platform) in copied.iter().enumerate() {
        std::fs::write(
            out.join(archive_name(platform)),
            format!("archive {i} of {platform}"),
        )
        .unwrap();
    }
    // A platform listed in the old manifest, with no archive of this version (only an old one).
    let missing = others.get(1).copied();
    let mut stale = committed_text.replace(&format!("v{version}"), "v0.0.1");
    if let Some(missing) = missing {
        let (os, arch) = missing.split_once('/').unwrap();
        std::fs::write(out.join(format!("kubectl-mesh-0.0.1-{os}-{arch}.tar.gz")), "old").unwrap();
        stale.push_str(&format!(
            "  - selector:\n      matchLabels:\n        os: {os}\n        arch: {arch}\n    \
             uri: https://example.invalid/kubectl-mesh-0.0.1-{os}-{arch}.tar.gz\n    \
             sha256: \"{}\"\n    bin: kubectl-mesh\n",
            "0".repeat(64)
        ));
    }
    let manifest_copy = dir.path().join("mesh.yaml");
    std::fs::write(&manifest_copy, &stale).unwrap();

    let output = Command::new(repo().join("scripts/release"))
        .arg("--debug")
        .arg("--bin-dir")
        .arg(common::bin_dir())
        .arg("--out")
        .arg(&out)
        .arg("--manifest")
        .arg(&manifest_copy)
        .output()
        .expect("scripts/release runs");
    assert!(
        output.status.success(),
        "scripts/release: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let name = archive_name(&host);
    let archive = out.join(&name);
    assert!(archive.is_file(), "{} missing", archive.display());

    // Every listed platform has its archive in the output directory, with that archive's
    // sha256; every archive of this version there is listed; nothing else is.
    let updated = manifest(&manifest_copy);
    let listed: Vec<String> = platforms(&updated).iter().map(platform_name).collect();
    let mut expected: Vec<String> = copied.clone();
    expected.push(host.clone());
    let expected: Vec<String> = PLATFORMS
        .iter()
        .filter(|p| expected.iter().any(|e| e == *p))
        .map(|p| p.to_string())
        .collect();
    assert_eq!(listed, expected, "platforms = archives of v{version}");
    for p in platforms(&updated) {
        let platform = platform_name(p);
        let uri = str_at(p, &["uri"]);
        let file = out.join(uri.rsplit('/').next().unwrap());
        assert_eq!(file, out.join(archive_name(&platform)), "{platform}: uri {uri}");
        assert!(file.is_file(), "{platform}: no archive {}", file.display());
        assert_eq!(str_at(p, &["sha256"]), sha256(&file), "{platform}: sha256");
    }
    assert_real_sha256(&host, &sha256(&archive));

    // The committed manifest is what scripts/release writes, up to the sha256 values: the same
    // text above `platforms:` (the version updated everywhere), the same entry per platform.
    let updated_text = std::fs::read_to_string(&manifest_copy).unwrap();
    assert!(!updated_text.contains("v0.0.1"), "{updated_text}");
    let (committed_head, committed_entries) = sections(&committed_text);
    let (updated_head, updated_entries) = sections(&updated_text);
    assert_eq!(updated_head, committed_head);
    for (platform, entry) in &committed_entries {
        assert_eq!(
            Some(entry),
            updated_entries.get(platform),
            "{platform}: committed entry differs from what scripts/release writes"
        );
    }

    // Every path in the archive is named by a `from`, and every `from` matches something.
    let listing = Command::new("tar").arg("tzf").arg(&archive).output().unwrap();
    assert!(listing.status.success());
    let paths: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .filter(|l| !l.is_empty() && !l.ends_with('/'))
        .collect();
    let platform = platforms(&updated)
        .iter()
        .find(|p| str_at(p, &["uri"]).ends_with(&name))
        .expect("a platform for this archive");
    let files = files(platform);
    for path in &paths {
        assert!(
            files.iter().any(|(from, _)| matches(from, path)),
            "{path} in the archive but not in files"
        );
    }
    for (from, _) in &files {
        assert!(
            paths.iter().any(|p| matches(from, p)),
            "{from} in files but not in the archive"
        );
    }
    for bin in BINARIES {
        assert!(paths.contains(&bin.to_string()), "{bin}: {paths:?}");
    }
    for expected in [
        "LICENSE",
        "completions/kubectl_complete-mesh",
        "completions/_kubectl-mesh",
        "man/kubectl-mesh.1",
        "man/kubectl-mesh-certs-generate.1",
    ] {
        assert!(paths.contains(&expected.to_string()), "{expected}: {paths:?}");
    }
    // One man page per binary and per subcommand.
    for page in [
        "kubectl-mesh-expose",
        "kubectl-mesh-link",
        "kubectl-mesh-certs",
        "kubectl-mesh-verify",
        "kubectl-mesh-version",
        "kubectl-mesh-completion",
    ] {
        assert!(
            paths.contains(&format!("man/{page}.1")),
            "man/{page}.1: {paths:?}"
        );
    }
    // The archive's completions are the committed ones, executable where kubectl needs them.
    let extract = dir.path().join("x");
    std::fs::create_dir_all(&extract).unwrap();
    assert!(Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(&extract)
        .status()
        .unwrap()
        .success());
    use std::os::unix::fs::PermissionsExt;
    for path in paths.iter().filter(|p| p.starts_with("completions/")) {
        let packed = std::fs::read(extract.join(path)).unwrap();
        assert_eq!(packed, std::fs::read(repo().join(path)).unwrap(), "{path}");
    }
    let mode = std::fs::metadata(extract.join("completions/kubectl_complete-mesh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    let version = Command::new(extract.join("kubectl-mesh"))
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        version_line(),
        "packed binary runs"
    );
}

/// `git rev-parse --short=12 HEAD` of this checkout.
fn git_head() -> String {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo())
        .output()
        .expect("git runs (the tests run in a git checkout)");
    assert!(
        output.status.success(),
        "git rev-parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let head = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert_eq!(head.len(), 12, "{head}");
    head
}

fn version_line() -> String {
    format!(
        "kubectl-mesh {} (commit {})\n",
        env!("CARGO_PKG_VERSION"),
        git_head()
    )
}

/// An ordinary `cargo build` (this test suite's) reports the commit it was built from: the build
/// script reads git, no environment variable needed.
#[test]
fn version_reports_the_git_commit() {
    let output = Command::new(env!("CARGO_BIN_EXE_kubectl-mesh"))
        .arg("version")
        .output()
        .unwrap();
    assert!(output.status.success(), "kubectl-mesh version");
    assert_eq!(String::from_utf8_lossy(&output.stdout), version_line());
}
