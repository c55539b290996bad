//! Integration tests of `memory-kernel-service`, one test binary. In process, the router:
//! every endpoint's success, the error and degraded-dependency matrix, telemetry and
//! `/metrics`, and the generated contract documents against their checked-in and
//! source-of-truth copies. As a child process, the real binary (`process`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browse;
mod contract;
mod endpoints;
mod error_matrix;
mod hardening;
mod metrics;
mod outcome;
mod process;
mod prometheus_text;
mod request_schemas;
mod support;
mod telemetry;
