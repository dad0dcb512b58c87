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
    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let before = snapshot(&dir);
    let run = certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]);
    assert_input_error(run, &["root-cert.pem", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    // --force replaces it.
    certs(
        &env,
        &["root", "--dir", s(&dir), "--key-type", "ec-p256", "--force"],
    )
    .success();
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
    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let args = [
        "intermediate",
        "--cluster",
        "x",
        "--dir",
        s(&dir),
        "--key-type",
        "ec-p256",
    ];
    certs(&env, &args).success();
    let before = snapshot(&dir);
    assert_input_error(certs(&env, &args), &["cluster x", "already exists", "--force"]);
    assert_eq!(snapshot(&dir), before);
    let mut forced = args.to_vec();
    forced.push("--force");
    certs(&env, &forced).success();
    assert_ne!(snapshot(&dir), before);
    assert_openssl_verifies(&dir.join("x"));
}

#[test]
fn intermediate_without_a_root_is_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    let run = certs(
        &env,
        &[
            "intermediate",
            "--cluster",
            "x",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
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
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["cluster a", "different root", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    let corp = env.dir.path().join("corp");
    let (cert, key) = openssl_root(&corp, "corp-root");
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--root-cert",
            s(&cert),
            "--root-key",
            s(&key),
        ],
    );
    assert_input_error(run, &["cluster a", "different root"]);
    assert_eq!(snapshot(&dir), before, "nothing written");

    // --force re-issues them all from the new root.
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--force",
        ],
    )
    .success();
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
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,c,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["cluster b", "ca-cert.pem", "--force"]);
    assert_eq!(snapshot(&dir), before, "nothing written");
    assert!(!dir.join("c").exists());
    certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,c,b",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
            "--force",
        ],
    )
    .success();
    for cluster in ["a", "b", "c"] {
        assert_openssl_verifies(&dir.join(cluster));
    }
}

#[test]
fn invalid_cluster_names_are_refused() {
    let env = start(Vec::new());
    let dir = certs_dir(&env);
    for bad in ["East", "a_b", "../x", "-a", "a.b"] {
        let run = certs(
            &env,
            &[
                "generate",
                "--clusters",
                &format!("ok,{bad}"),
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
        assert!(!dir.exists(), "generate with {bad:?} wrote files");
    }
    let run = certs(
        &env,
        &[
            "generate",
            "--clusters",
            "a,a",
            "--dir",
            s(&dir),
            "--key-type",
            "ec-p256",
        ],
    );
    assert_input_error(run, &["listed twice"]);
    assert!(!dir.exists());

    certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]).success();
    let before = snapshot(&dir);
    for bad in ["East", "../x", "a/b"] {
        let run = certs(
            &env,
            &[
                "intermediate",
                "--cluster",
                bad,
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
        assert_input_error(run, &[bad, "DNS-1123"]);
        let run = certs(
            &env,
            &[
                "rotate",
                "--cluster",
                bad,
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        );
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
        certs(&env, &["root", "--dir", s(&dir), "--key-type", "ec-p256"]),
        certs(
            &env,
            &[
                "generate",
                "--clusters",
                "a",
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        ),
        certs(
            &env,
            &[
                "intermediate",
                "--cluster",
                "a",
                "--dir",
                s(&dir),
                "--key-type",
                "ec-p256",
            ],
        ),
        rotate(&env, "a", s(&dir), &[]),
    ];
    for run in runs {
        assert_input_error(run, &["a-file", "not writable", "--dir"]);
    }
    assert_eq!(read(&file), "not a directory\n");

    // A read-only bind of a real directory is also unwritable for root: a directory whose
    // own path is a file is the portable version of that.
    let run = certs(&env, &["root", "--dir", s(&file), "--key-type", "ec-p256"]);
    assert_input_error(run, &["a-file", "not writable"]);
    assert_eq!(read(&file), "not a directory\n");
}
