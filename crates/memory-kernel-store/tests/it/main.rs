//! Integration tests of `memory-kernel-store`, one test binary: each former test file
//! is a module here, the files of the original MemoryKernel are the `legacy` module, and the
//! record builder and store helpers are the `support` module.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod candidates;
mod engines;
mod legacy;
mod migrations;
mod outcome;
mod records;
mod snapshots;
mod support;
