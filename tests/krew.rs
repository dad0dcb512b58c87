//! Packaging: the krew manifest's structure, and an archive made by scripts/release (its fast
//! path: the debug binaries this test suite already built) holds exactly what the manifest's
//! `files` name.

mod common;

use std::collections::BTreeSet;
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

    let mut seen = BTreeSet::new();
    for p in platforms(&m) {
        let os = str_at(p, &["selector", "matchLabels", "os"]);
        let arch = str_at(p, &["selector", "matchLabels", "arch"]);
        seen.insert(format!("{os}/{arch}"));
        let uri = str_at(p, &["uri"]);
        assert!(
            uri.starts_with("https://")
                && uri.ends_with(&format!("/kubectl-mesh-{}-{os}-{arch}.tar.gz", &version[1..])),
            "{os}/{arch}: uri {uri}"
        );
        let sha = str_at(p, &["sha256"]);
        assert!(
            sha.len() == 64
                && sha
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "{os}/{arch}: sha256 {sha}"
        );
        assert_eq!(str_at(p, &["bin"]), "kubectl-mesh", "{os}/{arch}");
        let files = files(p);
        for bin in BINARIES.iter().chain(&["LICENSE"]) {
            assert!(
                files.iter().any(|(from, to)| from == bin && to == "."),
                "{os}/{arch}: files lack {bin}"
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
                "{os}/{arch}: files lack completions/{script}"
            );
        }
    }
    let expected: BTreeSet<String> = ["linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"]
        .map(String::from)
        .into();
    assert_eq!(seen, expected);
}

#[test]
fn release_archive_holds_what_the_manifest_names() {
    let dir = tempfile::tempdir().unwrap();
    let manifest_copy = dir.path().join("mesh.yaml");
    std::fs::copy(repo().join("krew/mesh.yaml"), &manifest_copy).unwrap();
    let out = dir.path().join("dist");
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

    let (os, arch) = match (std::env::consts::OS, std::env::consts::ARCH) {
        (os, "x86_64") => (os.replace("macos", "darwin"), "amd64"),
        (os, "aarch64") => (os.replace("macos", "darwin"), "arm64"),
        other => panic!("no krew platform for {other:?}"),
    };
    let name = format!("kubectl-mesh-{}-{os}-{arch}.tar.gz", env!("CARGO_PKG_VERSION"));
    let archive = out.join(&name);
    assert!(archive.is_file(), "{} missing", archive.display());

    // The manifest copy now carries the archive's sha256 in the matching platform, only there.
    let sha = Command::new("sha256sum").arg(&archive).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let updated = manifest(&manifest_copy);
    let original = manifest(&repo().join("krew/mesh.yaml"));
    for (p, before) in platforms(&updated).iter().zip(platforms(&original)) {
        let mine = str_at(p, &["uri"]).ends_with(&name);
        if mine {
            assert_eq!(str_at(p, &["sha256"]), sha);
        } else {
            assert_eq!(
                str_at(p, &["sha256"]),
                str_at(before, &["sha256"]),
                "other platforms untouched"
            );
        }
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
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("kubectl-mesh "),
        "packed binary runs"
    );
}
