//! The files on disk: modes, no overwriting without force, atomic writes, rotation
//! backups and the cluster listing.

#[macro_use]
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use mesh_trust::{generate_intermediate, generate_root, CaKeyPair, CertsDir, Error, Intermediate};

use common::{assert_message_starts, ec_p256, mode, tree, write_east};

fn material() -> (CaKeyPair, Intermediate) {
    let root = generate_root(&ec_p256()).unwrap();
    let int = generate_intermediate(&root, "east", &ec_p256()).unwrap();
    (root, int)
}

fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|p| dir.join(p).is_file())
        .map(|p| {
            let bytes = fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

#[test]
fn files_and_directories_get_private_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, int) = material();
    let certs = write_east(tmp.path(), &root, &int);
    let east = certs.cluster_dir("east").unwrap();
    assert_eq!(mode(certs.path()), 0o700);
    assert_eq!(mode(&east), 0o700);
    assert_eq!(mode(&certs.root_key_path()), 0o600);
    assert_eq!(mode(&east.join("ca-key.pem")), 0o600);
    for cert in [
        certs.root_cert_path(),
        east.join("ca-cert.pem"),
        east.join("root-cert.pem"),
        east.join("cert-chain.pem"),
    ] {
        assert_eq!(mode(&cert), 0o644, "{}", cert.display());
    }
    assert_eq!(
        tree(certs.path()),
        [
            "east",
            "east/ca-cert.pem",
            "east/ca-key.pem",
            "east/cert-chain.pem",
            "east/root-cert.pem",
            "root-cert.pem",
            "root-key.pem"
        ]
    );
    assert_eq!(
        fs::read_to_string(certs.root_key_path()).unwrap(),
        root.key_pem().expose()
    );
    assert_eq!(certs.read_intermediate("east").unwrap(), int);
}

#[test]
fn existing_directory_is_tightened_to_0700() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("certs");
    fs::create_dir(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    CertsDir::new(&dir).write_root(&material().0, false).unwrap();
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn nothing_is_overwritten_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, int) = material();
    let certs = write_east(tmp.path(), &root, &int);
    let before = snapshot(certs.path());

    let (root2, int2) = material();
    let err = certs.write_root(&root2, false).unwrap_err();
    assert!(
        matches!(&err, Error::Exists { paths } if paths.len() == 2),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("root-cert.pem") && msg.contains("root-key.pem") && msg.ends_with("(use --force)"),
        "{msg}"
    );
    let err = certs.write_intermediate("east", &int2, false).unwrap_err();
    assert!(
        matches!(&err, Error::Exists { paths } if paths.len() == 4),
        "{err:?}"
    );
    assert_eq!(snapshot(certs.path()), before, "nothing changed");

    certs.write_root(&root2, true).unwrap();
    certs.write_intermediate("east", &int2, true).unwrap();
    assert_eq!(
        fs::read_to_string(certs.root_cert_path()).unwrap(),
        root2.cert_pem()
    );
    assert_eq!(certs.read_intermediate("east").unwrap(), int2);
    assert_eq!(mode(&certs.root_key_path()), 0o600);
    assert_eq!(
        tree(certs.path()).len(),
        7,
        "no temp files: {:?}",
        tree(certs.path())
    );
}

#[test]
fn one_existing_file_blocks_the_whole_set() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    fs::write(certs.root_cert_path(), "mine").unwrap();
    let err = certs.write_root(&material().0, false).unwrap_err();
    match &err {
        Error::Exists { paths } => assert_eq!(paths, &[certs.root_cert_path()]),
        other => panic!("{other:?}"),
    }
    assert!(!certs.root_key_path().exists(), "the key was not written either");
    assert_eq!(fs::read_to_string(certs.root_cert_path()).unwrap(), "mine");
}

#[test]
fn failed_write_leaves_no_temp_file() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    let (_, int) = material();
    // A directory where ca-key.pem should go: renaming the staged key onto it fails.
    fs::create_dir_all(tmp.path().join("east/ca-key.pem/x")).unwrap();
    let err = certs.write_intermediate("east", &int, true).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("ca-key.pem"), "{err}");
    let left: Vec<String> = tree(tmp.path())
        .into_iter()
        .filter(|p| p.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
}

#[test]
fn invalid_cluster_name_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path().join("certs"));
    let (_, int) = material();
    for bad in ["../evil", "a/b", "", "UPPER"] {
        let err = certs.write_intermediate(bad, &int, true).unwrap_err();
        assert!(matches!(err, Error::InvalidClusterName { .. }), "{bad}: {err:?}");
    }
    assert!(tree(tmp.path()).is_empty());
}

#[test]
fn rotation_keeps_a_timestamped_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path().join("certs"));
    let root = generate_root(&ec_p256()).unwrap();
    let old = generate_intermediate(&root, "east", &ec_p256()).unwrap();
    certs.write_intermediate("east", &old, false).unwrap();
    let old_files = snapshot(&certs.cluster_dir("east").unwrap());

    let new = generate_intermediate(&root, "east", &ec_p256()).unwrap();
    let backup = certs.rotate_intermediate("east", &new).unwrap();
    let name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(backup.parent().unwrap(), certs.cluster_dir("east").unwrap());
    assert!(
        name.starts_with("backup-") && name.ends_with('Z') && name.len() == "backup-20261126T110000Z".len(),
        "{name}"
    );
    assert_eq!(&name[15..16], "T");
    assert_eq!(snapshot(&backup), old_files, "backup holds the old files");
    assert_eq!(mode(&backup), 0o700);
    assert_eq!(mode(&backup.join("ca-key.pem")), 0o600);
    assert_eq!(certs.read_intermediate("east").unwrap(), new);

    // A second rotation in the same second gets its own directory.
    let newer = generate_intermediate(&root, "east", &ec_p256()).unwrap();
    let second = certs.rotate_intermediate("east", &newer).unwrap();
    assert_ne!(second, backup);
    assert_eq!(certs.backups("east").unwrap(), vec![backup, second]);
    assert_eq!(certs.clusters().unwrap(), ["east"], "backups are not clusters");
}

#[test]
fn backup_of_missing_cluster_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    let err = certs.backup_intermediate("west").unwrap_err();
    assert_error!(err, Error::Missing { .. }, "west/ca-cert.pem");
    assert!(tree(tmp.path()).is_empty());
}

#[test]
fn clusters_lists_directories_with_an_intermediate() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path().join("certs"));
    assert!(
        certs.clusters().unwrap().is_empty(),
        "absent directory has no clusters"
    );
    let root = generate_root(&ec_p256()).unwrap();
    certs.write_root(&root, false).unwrap();
    for c in ["west", "east", "central-1"] {
        certs
            .write_intermediate(c, &generate_intermediate(&root, c, &ec_p256()).unwrap(), false)
            .unwrap();
    }
    fs::create_dir(certs.path().join("empty")).unwrap();
    fs::create_dir(certs.path().join("Not_A_Label")).unwrap();
    fs::write(certs.path().join("Not_A_Label/ca-cert.pem"), "x").unwrap();
    assert_eq!(certs.clusters().unwrap(), ["central-1", "east", "west"]);
    assert!(certs.root_exists());
}

#[test]
fn read_intermediate_names_the_missing_or_bad_file() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = CertsDir::new(tmp.path());
    let (_, int) = material();
    certs.write_intermediate("east", &int, false).unwrap();
    let chain = certs.cluster_dir("east").unwrap().join("cert-chain.pem");
    fs::write(&chain, "junk").unwrap();
    let err = certs.read_intermediate("east").unwrap_err();
    assert_error!(err, Error::MalformedPem { .. }, "cert-chain.pem");
    fs::remove_file(&chain).unwrap();
    let err = certs.read_intermediate("east").unwrap_err();
    assert_error!(err, Error::Missing { .. }, "cert-chain.pem");
}

#[test]
fn check_writable_probes_without_leaving_anything() {
    let tmp = tempfile::tempdir().unwrap();
    CertsDir::new(tmp.path().join("not/yet/there"))
        .check_writable()
        .unwrap();
    CertsDir::new(tmp.path()).check_writable().unwrap();
    assert!(tree(tmp.path()).is_empty(), "{:?}", tree(tmp.path()));

    let file = tmp.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let err = CertsDir::new(&file).check_writable().unwrap_err();
    assert_error!(err, Error::NotWritable { .. }, "a-file");
    // procfs refuses new files even to root, whose writes ignore permission bits.
    let err = CertsDir::new("/proc/mesh-certs").check_writable().unwrap_err();
    assert!(matches!(err, Error::NotWritable { .. }), "{err}");
    assert_message_starts(&err, "directory /proc is not writable");
}

#[test]
fn write_private_makes_an_owner_only_file_in_an_owner_only_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("values");
    let file = dir.join("deep/secret.yaml");
    mesh_trust::write_private(&file, "token: x\n").unwrap();
    assert_eq!(fs::read_to_string(&file).unwrap(), "token: x\n");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir.join("deep")), 0o700);
    assert_eq!(mode(&dir), 0o700, "missing parents are created 0700 too");

    // An existing file is replaced and tightened, an existing folder tightened.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(dir.join("deep"), fs::Permissions::from_mode(0o755)).unwrap();
    mesh_trust::layout::write_private(&file, b"token: y\n").unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"token: y\n");
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir.join("deep")), 0o700);
    assert_eq!(tree(&dir), ["deep", "deep/secret.yaml"], "no temp files");

    let err = mesh_trust::write_private("bare.yaml", "x").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
    assert!(!std::path::Path::new("bare.yaml").exists());

    // A folder where the file should go: the rename fails, nothing is left behind.
    fs::create_dir_all(dir.join("deep/taken/x")).unwrap();
    mesh_trust::write_private(dir.join("deep/taken"), "x").unwrap_err();
    assert_eq!(
        tree(&dir),
        ["deep", "deep/secret.yaml", "deep/taken", "deep/taken/x"]
    );
}
