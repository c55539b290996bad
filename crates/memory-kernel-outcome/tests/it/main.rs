//! Integration tests of `memory-kernel-outcome`, one test binary: each former test file is a
//! module here, and the shared event builders are the `support` module.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod golden;
mod properties;
mod support;
