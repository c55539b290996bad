//! `cargo xtask fmt`: rustfmt over the whole workspace.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::cargo::{self, Component};

/// Format every crate in the workspace with rustfmt (`cargo fmt --all`)
///
/// With `--check` nothing is rewritten: the command prints a diff and fails when any file
/// differs from rustfmt's output. That is the `fmt` gate of `cargo xtask verify`; fix a
/// failure by running `cargo xtask fmt` and committing the result. Settings: `rustfmt.toml`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Fmt {
    /// Only report unformatted files (with a diff); change nothing.
    #[arg(long)]
    pub check: bool,
}

/// Runs rustfmt on the workspace, or checks it with `--check`.
pub fn run(sh: &Shell, args: &Fmt) -> Result<()> {
    cargo::require(sh, Component::Rustfmt)?;
    let cargo = cargo::program();
    if args.check {
        if cmd!(sh, "{cargo} fmt --all -- --check").run().is_err() {
            bail!("files are not rustfmt-formatted (diff above): run `cargo xtask fmt`");
        }
    } else if cmd!(sh, "{cargo} fmt --all").run().is_err() {
        bail!("rustfmt failed (errors above): fix the syntax it reports, then re-run");
    }
    Ok(())
}
