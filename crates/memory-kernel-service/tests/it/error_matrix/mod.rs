//! The error and degraded-dependency matrix: one table ([`rows`]), one runner, named rows.
//!
//! Every row gets a fresh service, optionally puts it into a degraded [`Condition`], sends one
//! request and expects a status and code (or a success), then the runner checks, for every row:
//! - the body is the error envelope of `error-envelope.schema.json` (no
//!   `api_contract_version`, no `legacy_error`) with the expected details;
//! - the telemetry moved by exactly one request, in the expected class and code, under the
//!   row's endpoint, and nowhere else;
//! - after the condition is restored, the next good request to the same endpoint succeeds;
//! - every record committed before the row is still there, and a failed request committed
//!   nothing.
//!
//! The rows come from two places: hand-written cases per error code ([`code_rows`]) and every
//! endpoint × every degraded condition ([`degraded`]), generated from an explicit expectation
//! table that must name every endpoint of the endpoint table.

mod code_rows;
mod conditions;
mod degraded;
mod runner;

use memory_kernel_api::ErrorCode;
use memory_kernel_service::endpoints::ENDPOINTS;
use memory_kernel_service::status;
use serde_json::Value;

pub use conditions::Condition;

use crate::support::{Seed, TestRequest, Variant};

type Build = Box<dyn Fn(&Seed) -> TestRequest>;

/// What a row expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200, and the success counters move.
    Success,
    /// An error envelope with this status and code; `timed_out` picks the timeout class.
    Failure {
        status: u16,
        code: ErrorCode,
        timed_out: bool,
    },
}

pub struct Row {
    pub name: String,
    pub variant: Variant,
    /// The endpoint (template path) the row exercises; `None` for unknown routes.
    pub endpoint: Option<&'static str>,
    pub condition: Condition,
    pub request: Build,
    pub expect: Expect,
    pub details: Vec<(&'static str, Value)>,
}

/// A row expecting `code` with its canonical status.
pub fn row(
    name: impl Into<String>,
    variant: Variant,
    endpoint: Option<&'static str>,
    code: ErrorCode,
    request: impl Fn(&Seed) -> TestRequest + 'static,
) -> Row {
    Row {
        name: name.into(),
        variant,
        endpoint,
        condition: Condition::None,
        request: Box::new(request),
        expect: Expect::Failure {
            status: status(code).as_u16(),
            code,
            timed_out: false,
        },
        details: Vec::new(),
    }
}

impl Row {
    pub fn status(mut self, new_status: u16) -> Self {
        if let Expect::Failure { status, .. } = &mut self.expect {
            *status = new_status;
        }
        self
    }

    pub fn timed_out(mut self) -> Self {
        if let Expect::Failure { timed_out, .. } = &mut self.expect {
            *timed_out = true;
        }
        self
    }

    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }

    pub fn under(mut self, condition: Condition) -> Self {
        self.condition = condition;
        self
    }

    pub fn detail(mut self, key: &'static str, value: Value) -> Self {
        self.details.push((key, value));
        self
    }

    fn code(&self) -> Option<ErrorCode> {
        match self.expect {
            Expect::Success => None,
            Expect::Failure { code, .. } => Some(code),
        }
    }
}

/// The whole table.
pub fn rows() -> Vec<Row> {
    let mut rows = code_rows::rows();
    rows.extend(code_rows::per_endpoint_rows());
    rows.extend(degraded::rows());
    rows
}

#[tokio::test]
async fn every_row_answers_counts_once_recovers_and_loses_nothing() {
    let rows = rows();
    let total = rows.len();
    let mut failures = Vec::new();
    for row in rows {
        if let Err(message) = runner::run(&row).await {
            failures.push(format!("{}: {message}", row.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn row_names_are_unique() {
    let mut names: Vec<String> = rows().into_iter().map(|r| r.name).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count);
}

/// Declared codes no row reaches, each with the reason.
const UNREACHABLE: [(&str, ErrorCode, &str); 2] = [
    (
        "/v1/openapi",
        ErrorCode::InternalError,
        "the generated document fails to render as YAML",
    ),
    (
        "/v1/memory/link",
        ErrorCode::WriteConflict,
        "a repeated link is idempotent: it answers 200 with the stored link",
    ),
];

/// Every code an endpoint declares is exercised by some row (except the [`UNREACHABLE`]
/// ones), so the table in the contract is backed by a test.
#[test]
fn every_declared_code_of_every_endpoint_has_a_row() {
    let rows = rows();
    let mut missing = Vec::new();
    for endpoint in &ENDPOINTS {
        for code in endpoint.error_codes {
            let exempt = UNREACHABLE
                .iter()
                .any(|(path, c, _)| *path == endpoint.path && c == code);
            let covered = exempt
                || rows
                    .iter()
                    .any(|r| r.endpoint == Some(endpoint.path) && r.code() == Some(*code));
            if !covered {
                missing.push(format!("{} {}", endpoint.path, code));
            }
        }
    }
    assert!(missing.is_empty(), "no row for: {missing:#?}");
}
