//! `kubectl mesh completion <shell>`: the completion script of `kubectl-mesh` for one shell
//! (clap_complete). `kubectl mesh <TAB>` itself is completed by kubectl through the
//! `kubectl_complete-mesh` scripts in completions/, which call the hidden `__complete`.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::exit::CliError;

#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  # bash: load now, or install for every new shell
  source <(kubectl mesh completion bash)
  kubectl mesh completion bash > ~/.local/share/bash-completion/completions/kubectl-mesh

  # zsh: a file named _kubectl-mesh in a directory of $fpath
  kubectl mesh completion zsh > \"${fpath[1]}/_kubectl-mesh\"

  # fish
  kubectl mesh completion fish > ~/.config/fish/completions/kubectl-mesh.fish

  # powershell
  kubectl mesh completion powershell | Out-String | Invoke-Expression

  # `kubectl mesh <TAB>` through kubectl (1.26+): put completions/kubectl_complete-mesh* on PATH")]
pub struct CompletionArgs {
    /// The shell to print the completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl Shell {
    /// The file name the script is committed under in completions/.
    pub fn file_name(self) -> &'static str {
        match self {
            Shell::Bash => "kubectl-mesh.bash",
            Shell::Zsh => "_kubectl-mesh",
            Shell::Fish => "kubectl-mesh.fish",
            Shell::Powershell => "_kubectl-mesh.ps1",
        }
    }
}

/// The completion script of `kubectl-mesh` for `shell`.
pub fn script(shell: Shell) -> String {
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut command = crate::command();
    let mut out = Vec::new();
    clap_complete::generate(generator, &mut command, "kubectl-mesh", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

pub fn run(args: CompletionArgs) -> Result<ExitCode, CliError> {
    crate::output::print(&script(args.shell));
    Ok(ExitCode::SUCCESS)
}
