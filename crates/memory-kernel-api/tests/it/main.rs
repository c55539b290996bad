//! Integration tests of `memory-kernel-api`, one test binary: each former test file is a
//! module here.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fault;
mod kernel;
