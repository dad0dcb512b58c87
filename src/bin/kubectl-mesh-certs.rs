//! `kubectl mesh certs` on its own (kubectl picks the longest matching plugin name).
fn main() -> std::process::ExitCode {
    kubectl_mesh_cli::main_single("certs", kubectl_mesh_cli::commands::certs::run)
}
