//! `kubectl mesh link` on its own (kubectl picks the longest matching plugin name).
fn main() -> std::process::ExitCode {
    kubectl_mesh_cli::main_single("link", kubectl_mesh_cli::commands::link::run)
}
