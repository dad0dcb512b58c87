//! The `mesh-sandbox` binary: ready line, kubeconfig, SIGTERM.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesh_sandbox_serves_until_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kc = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mesh-sandbox"))
        .args(["--names", "a,b", "--address-delay", "100ms", "--kubeconfig"])
        .arg(&kc)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next_line().await.expect("read").expect("a line");
    assert_eq!(
        line,
        format!(
            "mesh-sandbox: 2 clusters ready (a, b); kubeconfig written to {}",
            kc.display()
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kc).expect("kc").permissions().mode() & 0o777,
            0o600
        );
    }
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kc)
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .args([
            "--context",
            "b",
            "get",
            "ns",
            "istio-system",
            "-o",
            "jsonpath={.metadata.labels.topology\\.istio\\.io/network}",
        ])
        .output()
        .await
        .expect("kubectl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "network-b",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = child.id().expect("pid").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
        .await
        .expect("exits on SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}");
}
