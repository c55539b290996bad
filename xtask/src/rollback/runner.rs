//! How a rehearsal runs `cargo xtask` commands: through a trait, so tests inject a fake that
//! never builds the workspace.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// The end of one `cargo xtask` run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// The exit code; `None` when killed by a signal or not known (inherited output).
    pub code: Option<i32>,
    /// Captured stdout and stderr (empty when the output went to the terminal), or the
    /// failure message.
    pub output: String,
}

impl RunResult {
    /// Exit code 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `cargo xtask <args>` in a checkout.
pub trait XtaskRunner {
    /// Runs `cargo xtask <args>` with `checkout` as the workspace. With `capture` the output
    /// is collected (and the exit code is exact); without it the output goes to the terminal
    /// and a failure has no exact code.
    ///
    /// # Errors
    /// Only when the process cannot be started.
    fn xtask(&self, checkout: &Path, args: &[String], capture: bool) -> Result<RunResult>;

    /// Builds `mk` of `checkout` and returns the binary; `None` when the checkout has no
    /// `mk` (no `crates/memory-kernel-cli`).
    ///
    /// # Errors
    /// When the build fails.
    fn build_mk(&self, checkout: &Path) -> Result<Option<PathBuf>>;

    /// Runs an `mk` binary that [`XtaskRunner::build_mk`] returned, capturing its output.
    ///
    /// # Errors
    /// Only when the process cannot be started.
    fn mk(&self, binary: &Path, args: &[String]) -> Result<RunResult>;
}

/// Where a checkout's `mk` crate lives.
pub const MK_MANIFEST: &str = "crates/memory-kernel-cli/Cargo.toml";

/// The real runner: the running xtask binary for the current tree, and `cargo xtask` (that
/// checkout's own alias and xtask source) with a shared `CARGO_TARGET_DIR` for any other.
#[derive(Debug, Clone)]
pub struct CargoXtask {
    /// The current tree's root: commands there run the running binary itself.
    pub current_root: PathBuf,
    /// The build folder other checkouts use (never the caller's own).
    pub target_dir: PathBuf,
    /// The caller's build folder, where the current tree's `mk` is built.
    pub current_target_dir: PathBuf,
}

impl XtaskRunner for CargoXtask {
    fn build_mk(&self, checkout: &Path) -> Result<Option<PathBuf>> {
        self.build(checkout)
    }

    fn mk(&self, binary: &Path, args: &[String]) -> Result<RunResult> {
        let output = std::process::Command::new(binary)
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", binary.display()))?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok(RunResult {
            code: output.status.code(),
            output: text,
        })
    }

    fn xtask(&self, checkout: &Path, args: &[String], capture: bool) -> Result<RunResult> {
        let sh = Shell::new().context("cannot start a shell")?;
        sh.change_dir(checkout);
        let here = same_folder(checkout, &self.current_root);
        let (program, mut full): (OsString, Vec<OsString>) = if here {
            let exe = std::env::current_exe().context("cannot locate the running xtask")?;
            (exe.into_os_string(), Vec::new())
        } else {
            (crate::cargo_program(), vec![OsString::from("xtask")])
        };
        full.extend(args.iter().map(OsString::from));
        let command = cmd!(sh, "{program} {full...}");
        let command = if here {
            command
        } else {
            command.env("CARGO_TARGET_DIR", &self.target_dir)
        };
        if capture {
            let output = command
                .quiet()
                .ignore_status()
                .output()
                .context("cannot run cargo xtask")?;
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            Ok(RunResult {
                code: output.status.code(),
                output: text,
            })
        } else {
            Ok(match command.run() {
                Ok(()) => RunResult {
                    code: Some(0),
                    output: String::new(),
                },
                Err(error) => RunResult {
                    code: None,
                    output: error.to_string(),
                },
            })
        }
    }
}

impl CargoXtask {
    fn target_dir_for(&self, checkout: &Path) -> &Path {
        if same_folder(checkout, &self.current_root) {
            &self.current_target_dir
        } else {
            &self.target_dir
        }
    }
}

impl CargoXtask {
    fn build(&self, checkout: &Path) -> Result<Option<PathBuf>> {
        if !checkout.join(MK_MANIFEST).is_file() {
            return Ok(None);
        }
        let sh = Shell::new().context("cannot start a shell")?;
        sh.change_dir(checkout);
        let cargo = crate::cargo_program();
        let target_dir = self.target_dir_for(checkout);
        cmd!(sh, "{cargo} build -p memory-kernel-cli --bin mk")
            .env("CARGO_TARGET_DIR", target_dir)
            .run()
            .with_context(|| format!("cannot build mk in {}", checkout.display()))?;
        Ok(Some(
            target_dir
                .join("debug")
                .join(format!("mk{}", std::env::consts::EXE_SUFFIX)),
        ))
    }
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
