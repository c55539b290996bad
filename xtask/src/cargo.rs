//! How xtask runs cargo and checks for the toolchain components a command needs.
//!
//! Cargo is called through the `CARGO` variable cargo sets for the running xtask, so child
//! builds use exactly the cargo that built xtask. `RUSTFLAGS` and profile flags are never
//! changed (a different value would make cargo rebuild xtask itself on every call), and
//! toolchain variables such as `RUSTUP_TOOLCHAIN` are deliberately inherited so rustfmt and
//! clippy come from the same toolchain as the compiler.

use std::ffi::OsString;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

/// The cargo to run: `$CARGO`, or `cargo` from `PATH` when xtask was started some other way.
pub(crate) fn program() -> OsString {
    crate::cargo_program()
}

/// A rustup component that a cargo subcommand comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Component {
    /// `cargo fmt`.
    Rustfmt,
    /// `cargo clippy`.
    Clippy,
}

impl Component {
    fn subcommand(self) -> &'static str {
        match self {
            Component::Rustfmt => "fmt",
            Component::Clippy => "clippy",
        }
    }

    fn rustup_name(self) -> &'static str {
        match self {
            Component::Rustfmt => "rustfmt",
            Component::Clippy => "clippy",
        }
    }
}

/// Fails with one line naming the `rustup component add` command when the component's cargo
/// subcommand does not answer `--version`.
pub(crate) fn require(sh: &Shell, component: Component) -> Result<()> {
    let cargo = program();
    let subcommand = component.subcommand();
    let installed = cmd!(sh, "{cargo} {subcommand} --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok();
    if !installed {
        let name = component.rustup_name();
        bail!("{name} is not installed: run `rustup component add {name}`");
    }
    Ok(())
}
