//! Man pages (clap_mangen), written by the hidden `kubectl-mesh __man <dir>` that the release
//! script runs: `kubectl-mesh.1` and one page per subcommand, `kubectl-mesh-certs-generate.1`
//! and so on. The pages of `expose`, `link`, `certs` and `verify` are also those of the
//! binaries `kubectl-mesh-expose` etc., which take the same flags.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Writes every page into `dir` (created if missing) and returns their paths, sorted.
pub fn generate(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut root = crate::command().disable_help_subcommand(true);
    root.build();
    write_pages(&root, dir)?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "1"))
        .collect();
    pages.sort();
    Ok(pages)
}

/// The page of `command` and those of its visible subcommands, all from one source line.
fn write_pages(command: &clap::Command, dir: &Path) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    clap_mangen::Man::new(command.clone())
        .source(format!("kubectl-mesh {}", env!("CARGO_PKG_VERSION")))
        .manual("kubectl plugins")
        .generate_to(dir)?;
    Ok(())
}

/// `kubectl-mesh __man <dir>`.
pub fn main(args: &[String]) -> ExitCode {
    let [dir] = args else {
        eprintln!("usage: kubectl-mesh __man <dir>");
        return ExitCode::from(2);
    };
    match generate(Path::new(dir)) {
        Ok(pages) => {
            for page in pages {
                eprintln!("{}", page.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write man pages into {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}
