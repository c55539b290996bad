//! The library half of `cargo xtask`: the pieces that tests drive directly.
//!
//! The `xtask` binary is the command-line surface; this library holds the checks that are
//! worth testing on throw-away copies of a repository ([`tidy`] and the governance checks:
//! [`codegen`], [`contracts`], [`manifest`], [`handoff`], [`parity`]; consolidation
//! readiness: [`boundaries`], [`changed_areas`], [`rollback`]; release evidence:
//! [`release_evidence`] and the release directory, [`dist`]; the service load runs [`slo`] and
//! [`bench`]), the gate table of `cargo xtask verify` ([`verify`], with the cargo gates
//! [`fmt`], [`clippy`] and [`test`]), so tests read the real table, and the one place that
//! knows where the workspace root is
//! ([`project_root`]). It is not a general-purpose library and depends on no product crate but
//! `memory-kernel-contract` (the contract facts, with light dependencies).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub mod atomic_file;
pub mod bench;
pub mod boundaries;
mod cargo;
pub mod changed_areas;
pub mod clippy;
pub mod codegen;
pub mod contracts;
pub mod dist;
pub mod drift;
pub mod findings;
pub mod fmt;
pub mod generated;
pub mod git;
pub mod handoff;
pub mod manifest;
pub mod pack;
pub mod parity;
pub mod release;
pub mod release_evidence;
pub mod rollback;
pub mod runtime;
pub mod schemas;
pub mod slo;
pub mod test;
pub mod tidy;
pub mod verify;

/// The workspace root: the parent of the `xtask/` directory this crate was built from.
///
/// Computed from the compile-time `CARGO_MANIFEST_DIR`, so every command behaves the same
/// whichever sub-folder it is started from.
pub fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `xtask/` always sits directly under the root; fall back to the crate dir itself
    // rather than panic if the layout is ever changed.
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The cargo to run: `$CARGO` (set by cargo for the running xtask, so child builds use the
/// same cargo), or `cargo` from `PATH` when xtask was started some other way.
#[must_use]
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}
