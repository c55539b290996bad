//! Request counters (SPEC §7.5), kept by a layer in front of everything else: every request,
//! whatever answers it (a handler, the auth layer, a fallback, the body limit), is counted
//! exactly once, in exactly one outcome class.
//!
//! The class comes from the response alone: 2xx is a success; otherwise the [`ErrorOutcome`]
//! the error envelope left in the response extensions decides: a timeout first, then the code
//! (`invalid_json`, `validation_error`, `context_package_not_found`, `write_conflict`,
//! `schema_unavailable`, `internal_error` have their own counters; `write_failed`,
//! `migration_failed`, `query_failed` and `context_lookup_failed` are `other_error`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use memory_kernel_api::ErrorCode;
use serde::Serialize;

use crate::error::ErrorOutcome;

/// The counter names, in the order `/v1/health` reports them.
pub const COUNTER_NAMES: [&str; 11] = [
    "requests_total",
    "requests_success_total",
    "requests_failure_total",
    "timeout_total",
    "invalid_json_total",
    "validation_error_total",
    "context_not_found_total",
    "write_conflict_total",
    "schema_unavailable_total",
    "internal_error_total",
    "other_error_total",
];

/// The outcome class a response is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    /// A 2xx response.
    Success,
    /// The operation ran out of time (whatever its code).
    Timeout,
    /// `invalid_json`.
    InvalidJson,
    /// `validation_error`, transport-level refusals (401, 404, 405, 413, 415) included.
    ValidationError,
    /// `context_package_not_found`.
    ContextNotFound,
    /// `write_conflict`.
    WriteConflict,
    /// `schema_unavailable`.
    SchemaUnavailable,
    /// `internal_error`.
    InternalError,
    /// Any other failure code.
    OtherError,
}

impl OutcomeClass {
    /// The class of a finished response.
    #[must_use]
    pub fn of(response: &Response) -> Self {
        if response.status().is_success() {
            return Self::Success;
        }
        match response.extensions().get::<ErrorOutcome>() {
            Some(ErrorOutcome {
                timed_out: true, ..
            }) => Self::Timeout,
            Some(ErrorOutcome { code, .. }) => match code {
                ErrorCode::InvalidJson => Self::InvalidJson,
                ErrorCode::ValidationError => Self::ValidationError,
                ErrorCode::ContextPackageNotFound => Self::ContextNotFound,
                ErrorCode::WriteConflict => Self::WriteConflict,
                ErrorCode::SchemaUnavailable => Self::SchemaUnavailable,
                ErrorCode::InternalError => Self::InternalError,
                ErrorCode::WriteFailed
                | ErrorCode::MigrationFailed
                | ErrorCode::QueryFailed
                | ErrorCode::ContextLookupFailed => Self::OtherError,
            },
            None => Self::OtherError,
        }
    }
}

/// The live counters.
#[derive(Debug, Default)]
pub struct Telemetry {
    requests: AtomicU64,
    success: AtomicU64,
    failure: AtomicU64,
    timeout: AtomicU64,
    invalid_json: AtomicU64,
    validation_error: AtomicU64,
    context_not_found: AtomicU64,
    write_conflict: AtomicU64,
    schema_unavailable: AtomicU64,
    internal_error: AtomicU64,
    other_error: AtomicU64,
}

/// A point-in-time copy of the counters, as `/v1/health` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TelemetrySnapshot {
    /// Every finished request.
    pub requests_total: u64,
    /// 2xx responses.
    pub requests_success_total: u64,
    /// Non-2xx responses (the sum of the classes below).
    pub requests_failure_total: u64,
    /// Timeouts.
    pub timeout_total: u64,
    /// `invalid_json`.
    pub invalid_json_total: u64,
    /// `validation_error` (transport refusals included).
    pub validation_error_total: u64,
    /// `context_package_not_found`.
    pub context_not_found_total: u64,
    /// `write_conflict`.
    pub write_conflict_total: u64,
    /// `schema_unavailable`.
    pub schema_unavailable_total: u64,
    /// `internal_error`.
    pub internal_error_total: u64,
    /// Every other failure code.
    pub other_error_total: u64,
}

impl Telemetry {
    /// Counts one finished request in `class`.
    pub fn record(&self, class: OutcomeClass) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let counter = match class {
            OutcomeClass::Success => {
                self.success.fetch_add(1, Ordering::Relaxed);
                return;
            }
            OutcomeClass::Timeout => &self.timeout,
            OutcomeClass::InvalidJson => &self.invalid_json,
            OutcomeClass::ValidationError => &self.validation_error,
            OutcomeClass::ContextNotFound => &self.context_not_found,
            OutcomeClass::WriteConflict => &self.write_conflict,
            OutcomeClass::SchemaUnavailable => &self.schema_unavailable,
            OutcomeClass::InternalError => &self.internal_error,
            OutcomeClass::OtherError => &self.other_error,
        };
        self.failure.fetch_add(1, Ordering::Relaxed);
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now. Requests still in flight (the one asking included) are not counted
    /// yet.
    #[must_use]
    pub fn snapshot(&self) -> TelemetrySnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TelemetrySnapshot {
            requests_total: load(&self.requests),
            requests_success_total: load(&self.success),
            requests_failure_total: load(&self.failure),
            timeout_total: load(&self.timeout),
            invalid_json_total: load(&self.invalid_json),
            validation_error_total: load(&self.validation_error),
            context_not_found_total: load(&self.context_not_found),
            write_conflict_total: load(&self.write_conflict),
            schema_unavailable_total: load(&self.schema_unavailable),
            internal_error_total: load(&self.internal_error),
            other_error_total: load(&self.other_error),
        }
    }
}

/// The counting layer.
pub async fn count(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    telemetry.record(OutcomeClass::of(&response));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_fields_are_the_counter_names() {
        let value = serde_json::to_value(TelemetrySnapshot::default()).ok();
        let names: Vec<String> = value
            .as_ref()
            .and_then(|v| v.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut expected: Vec<String> = COUNTER_NAMES.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }

    #[test]
    fn each_request_lands_in_one_class() {
        let telemetry = Telemetry::default();
        for class in [
            OutcomeClass::Success,
            OutcomeClass::Timeout,
            OutcomeClass::InvalidJson,
            OutcomeClass::OtherError,
        ] {
            telemetry.record(class);
        }
        let s = telemetry.snapshot();
        assert_eq!(s.requests_total, 4);
        assert_eq!(s.requests_success_total, 1);
        assert_eq!(s.requests_failure_total, 3);
        assert_eq!(
            (s.timeout_total, s.invalid_json_total, s.other_error_total),
            (1, 1, 1)
        );
    }
}
