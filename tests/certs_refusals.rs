//! What `kubectl mesh certs` refuses to do to `--dir`, changing nothing: replace a root or an
//! intermediate without `--force`, issue an intermediate without a root, keep intermediates of
//! another root, build on unreadable files, take invalid cluster names, or write into a
//! directory it cannot write.

mod common;

use common::certs::*;
use common::*;

#[test]
fn root_twice_is_refused_and_changes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    root(&env, &dir, &[]).success();
    let before = snapshot(&dir);
    let run = root(&env, &dir, &[]);
    assert_input_error(run, &["root-cert.pem", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    // --force replaces it.
    root(&env, &dir, &["--force"]).success();
    assert_ne!(
        read(&dir.join("root-cert.pem")).as_bytes(),
        &before.0[&dir.join("root-cert.pem")].1[..]
    );
    assert_eq!(mode(&dir.join("root-key.pem")), 0o600);
}

#[test]
fn intermediate_twice_is_refused_and_changes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    root(&env, &dir, &[]).success();
    intermediate(&env, "x", &dir, &[]).success();
    let before = snapshot(&dir);
    let run = intermediate(&env, "x", &dir, &[]);
    assert_input_error(run, &["cluster x", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    intermediate(&env, "x", &dir, &["--force"]).success();
    assert_ne!(snapshot(&dir), before);
    assert_openssl_verifies(&dir.join("x"));
}

#[test]
fn intermediate_without_a_root_is_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    let run = intermediate(&env, "x", &dir, &[]);
    assert_input_error(run, &["no root CA", "certs root"]);
    assert!(!dir.exists());
}

#[test]
fn generate_refuses_to_keep_intermediates_of_another_root() {
    // The root was removed (or another root is brought) while intermediates signed by the
    // old one are still there: keeping them would leave clusters that do not chain to the
    // root in --dir.
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a");
    std::fs::remove_file(dir.join("root-cert.pem")).unwrap();
    std::fs::remove_file(dir.join("root-key.pem")).unwrap();
    let before = snapshot(&dir);
    let run = generate_into(&env, "a,b", &dir, &[]);
    assert_input_error(run, &["cluster a", "different root", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");
    let run = generate_into(&env, "a,b", &dir, &root_flags(&cert, &key));
    assert_input_error(run, &["cluster a", "different root"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    // --force re-issues them all from the new root.
    generate_into(&env, "a,b", &dir, &["--force"]).success();
    for cluster in ["a", "b"] {
        assert_eq!(
            read(&dir.join(cluster).join("root-cert.pem")),
            read(&dir.join("root-cert.pem"))
        );
        assert_openssl_verifies(&dir.join(cluster));
    }
}

#[test]
fn generate_with_unreadable_intermediate_files_writes_nothing() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate(&env, "a,b");
    std::fs::write(dir.join("b/ca-cert.pem"), "garbage\n").unwrap();
    let before = snapshot(&dir);
    // c comes before b: it must not be written before b is found unusable.
    let run = generate_into(&env, "a,c,b", &dir, &[]);
    assert_input_error(run, &["cluster b", "ca-cert.pem", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");
    assert!(!dir.join("c").exists());
    generate_into(&env, "a,c,b", &dir, &["--force"]).success();
    for cluster in ["a", "b", "c"] {
        assert_openssl_verifies(&dir.join(cluster));
    }
}

#[test]
fn invalid_cluster_names_are_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    for bad in ["East", "a_b", "../x", "-a", "a.b"] {
        let run = generate_into(&env, &format!("ok,{bad}"), &dir, &[]);
        assert_input_error(run, &[bad, "DNS-1123"]);
        assert!(!dir.exists(), "generate with {bad:?} wrote files");
    }
    let run = generate_into(&env, "a,a", &dir, &[]);
    assert_input_error(run, &["listed twice"]);
    assert!(!dir.exists());

    root(&env, &dir, &[]).success();
    let before = snapshot(&dir);
    for bad in ["East", "../x", "a/b"] {
        let run = intermediate(&env, bad, &dir, &[]);
        assert_input_error(run, &[bad, "DNS-1123"]);
        let run = rotate(&env, bad, &dir, &[]);
        assert_input_error(run, &[bad, "DNS-1123"]);
        let run = certs(
            &env,
            &["secret", "--generate", "--clusters", bad, "--dir", s(&dir)],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
    }
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn unwritable_directory_is_refused() {
    // Root ignores permission bits; a path under a regular file is unwritable for anyone.
    let env = start(Vec::new());
    let file = env.dir.path().join("a-file");
    std::fs::write(&file, "not a directory\n").unwrap();
    let dir = file.join("certs");
    let runs = [
        root(&env, &dir, &[]),
        generate_into(&env, "a", &dir, &[]),
        intermediate(&env, "a", &dir, &[]),
        rotate(&env, "a", &dir, &[]),
    ];
    for run in runs {
        assert_input_error(run, &["a-file", "not writable", "--dir"]);
    }
    assert_eq!(read(&file), "not a directory\n");

    // A read-only bind of a real directory is also unwritable for root: a directory whose
    // own path is a file is the portable version of that.
    let run = root(&env, &file, &[]);
    assert_input_error(run, &["a-file", "not writable"]);
    assert_eq!(read(&file), "not a directory\n");
}

/// `generate --force` for one cluster replaces the root (as --force says), but the old root
/// and its key are kept in a backup folder, and the other clusters' intermediates, still on
/// the old root, are named with the command that re-issues them; running it makes them chain.
#[test]
fn a_root_replaced_with_force_is_backed_up_and_its_intermediates_named() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    generate_into(&env, "a,b,c", &dir, &[]).success();
    let old_key = read(&dir.join("root-key.pem"));
    let run = generate_into(&env, "b", &dir, &["--force"]).success();
    let backups: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("backup-"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(
        read(&backups[0].join("root-key.pem")),
        old_key,
        "the old key is kept"
    );
    assert_eq!(mode(&backups[0].join("root-key.pem")), 0o600);
    assert!(
        run.stderr.contains(&format!("kept in {}", backups[0].display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the intermediates of a, c were signed by the replaced root"),
        "{}",
        run.stderr
    );
    let fix = run
        .stderr
        .split("re-issue them: ")
        .nth(1)
        .expect("the commands")
        .lines()
        .next()
        .unwrap()
        .to_string();
    for command in fix.split("; ") {
        let words: Vec<&str> = command.split_whitespace().skip(2).collect();
        env.mesh(&words).success();
    }
    for cluster in ["a", "b", "c"] {
        assert_eq!(
            read(&dir.join(cluster).join("root-cert.pem")),
            read(&dir.join("root-cert.pem"))
        );
        assert_openssl_verifies(&dir.join(cluster));
    }
}
