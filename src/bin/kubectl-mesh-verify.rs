//! `kubectl mesh verify` on its own (kubectl picks the longest matching plugin name).
fn main() -> std::process::ExitCode {
    kubectl_mesh_cli::main_single("verify", kubectl_mesh_cli::commands::verify::run)
}
