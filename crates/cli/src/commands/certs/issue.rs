//! `certs root`, `certs intermediate` and `certs generate`: certificates on disk, checked
//! before anything is written (by core), then reported.

use super::*;

pub(super) fn root(args: RootArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let row = core_issue::root(&args.keys.dir(), args.byo.get(), &options, args.keys.force, &warn)?;
    print_rows(&[row], args.report.output)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn intermediate(args: IntermediateArgs) -> Result<ExitCode, CliError> {
    let options = args.keys.options()?;
    let dir = args.keys.dir();
    let row = core_issue::intermediate(&dir, &args.cluster, &options, args.keys.force, &warn)?;
    print_rows(&[row], args.report.output)?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn generate(args: GenerateArgs) -> Result<ExitCode, CliError> {
    let root = &args.root;
    let options = root.keys.options()?;
    let (dir, byo) = (root.keys.dir(), root.byo.get());
    let rows = core_issue::generate(&dir, &args.clusters, byo, &options, root.keys.force, &warn)?;
    print_rows(&rows, root.report.output)?;
    Ok(ExitCode::SUCCESS)
}
