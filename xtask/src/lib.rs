//! The library half of `cargo xtask`: the pieces that tests drive directly.
//!
//! The `xtask` binary is the command-line surface; this library holds the checks that are
//! worth testing on throw-away copies of a repository (today: [`tidy`]) and the one place
//! that knows where the workspace root is ([`project_root`]). It is not a general-purpose
//! library and depends on no product crate.

use std::path::{Path, PathBuf};

pub mod drift;
pub mod tidy;

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
