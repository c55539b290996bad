//! Integration tests of `xtask`, one test binary: each former test file or folder is a module
//! here. Tests that need the real binary run it as a child process (`CARGO_BIN_EXE_xtask`).

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench;
mod boundaries;
mod changed_areas;
mod cli;
mod dist;
mod negative_fixtures;
mod release_evidence;
mod rollback;
mod rollback_shared_target;
mod slo;
mod tidy;
