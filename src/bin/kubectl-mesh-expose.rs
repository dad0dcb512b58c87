//! `kubectl mesh expose` on its own (kubectl picks the longest matching plugin name).
fn main() -> std::process::ExitCode {
    kubectl_mesh_cli::main_single("expose", kubectl_mesh_cli::commands::expose::run)
}
