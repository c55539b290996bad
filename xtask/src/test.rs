//! `cargo xtask test`: every test of the workspace, optionally through cargo-nextest.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::cargo;

/// Run every test in the workspace, all targets and all features
///
/// Runs `cargo test --workspace --all-targets --all-features` (unit, integration, example
/// and bench targets; doctests are not part of `--all-targets`). With `--nextest` and
/// cargo-nextest installed it runs `cargo nextest run` with the same selection instead. Fix a
/// failure by reading the failing test's output above; re-run one test with
/// `cargo test -p <crate> --test it <module>::<name>` (each crate's integration tests are one
/// binary, `tests/it/main.rs`, with a module per file).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Test {
    /// Use cargo-nextest when it is installed (otherwise fall back to `cargo test`).
    #[arg(long)]
    pub nextest: bool,
}

/// Runs the workspace tests.
pub fn run(sh: &Shell, args: &Test) -> Result<()> {
    let cargo = cargo::program();
    if args.nextest {
        if nextest_installed(sh) {
            if cmd!(
                sh,
                "{cargo} nextest run --workspace --all-targets --all-features"
            )
            .run()
            .is_err()
            {
                bail!("tests failed (output above): fix them, then run `cargo xtask test`");
            }
            return Ok(());
        }
        eprintln!(
            "note: cargo-nextest is not installed (`cargo install cargo-nextest --locked`); \
             running `cargo test` instead"
        );
    }
    if cmd!(sh, "{cargo} test --workspace --all-targets --all-features")
        .run()
        .is_err()
    {
        bail!("tests failed (output above): fix them, then run `cargo xtask test`");
    }
    Ok(())
}

fn nextest_installed(sh: &Shell) -> bool {
    let cargo = cargo::program();
    cmd!(sh, "{cargo} nextest --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
}
