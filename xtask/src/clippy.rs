//! `cargo xtask clippy`: clippy over every target and feature, warnings denied.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::cargo::{self, Component};

/// Lint the whole workspace with clippy, treating every warning as an error
///
/// Runs `cargo clippy --workspace --all-targets --all-features -- -D warnings`, so tests,
/// examples and feature-gated code are linted too. The lint levels come from
/// `[workspace.lints]` in the root `Cargo.toml` (`unwrap`/`expect` are denied outside tests,
/// see `.clippy.toml`). Fix a failure by changing the code clippy points at;
/// `cargo clippy --fix --workspace --all-targets --all-features` applies the mechanical ones.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Clippy {}

/// Runs clippy on the workspace with warnings denied.
pub fn run(sh: &Shell, _args: &Clippy) -> Result<()> {
    cargo::require(sh, Component::Clippy)?;
    let cargo = cargo::program();
    if cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --all-features -- -D warnings"
    )
    .run()
    .is_err()
    {
        bail!("clippy found problems (listed above): fix them, then run `cargo xtask clippy`");
    }
    Ok(())
}
