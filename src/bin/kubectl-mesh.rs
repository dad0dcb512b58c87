//! `kubectl mesh`: the umbrella plugin with every subcommand.
fn main() -> std::process::ExitCode {
    kubectl_mesh_cli::main_umbrella()
}
