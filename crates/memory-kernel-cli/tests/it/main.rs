//! Integration tests of `memory-kernel-cli`, one test binary: each former test file is a
//! module here, and the shared helpers (the real `mk` binary against a temporary database,
//! schema checks, the fixed scenario) are the `support` module.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod browse;
mod configuration;
mod contract_outputs;
mod db_copy;
mod diagnostics;
mod golden;
mod mcp;
mod outcome;
mod quick_start;
mod read_only;
mod support;
mod upstream_compat;
