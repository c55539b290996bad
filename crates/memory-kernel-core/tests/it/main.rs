//! Integration tests of `memory-kernel-core`, one test binary: each former test file is a
//! module here, and the shared record builder is the `support` module.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ask_scenarios;
mod properties;
mod recall_scenarios;
mod relevance;
mod support;
mod validation;
