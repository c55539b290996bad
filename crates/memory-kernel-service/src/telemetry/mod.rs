//! Request telemetry (docs/spec/service-contract.md), kept by a layer in front of everything else:
//! every request, whatever answers it (a handler, the auth layer, a fallback, the body limit), is
//! counted exactly once, in exactly one outcome class, under the endpoint it was routed to.
//!
//! Per endpoint (the route template, e.g. `/v1/context/{context_package_id}`, or
//! [`UNMATCHED`] for a path no route has) the service keeps a counter per outcome class, a
//! counter per outcome code ([`CODE_LABELS`]) and a latency histogram with fixed buckets
//! ([`DURATION_BUCKETS`]). The hot path is a handful of relaxed atomic increments, no lock.
//!
//! Everything is read through one [`TelemetrySnapshot`]: `/v1/health` reports its
//! [`totals`](TelemetrySnapshot::totals) (the docs/spec/service-contract.md counters,
//! wire-compatible) and `GET /metrics` renders it in the Prometheus text format
//! ([`to_prometheus`](TelemetrySnapshot::to_prometheus)).
//!
//! The class comes from the response alone: 2xx is a success; otherwise the [`ErrorOutcome`] the
//! error envelope left in the response extensions decides: a timeout first, then the code
//! ([`ErrorCode::InvalidJson`], [`ErrorCode::ValidationError`],
//! [`ErrorCode::ContextPackageNotFound`], [`ErrorCode::WriteConflict`],
//! [`ErrorCode::SchemaUnavailable`], [`ErrorCode::InternalError`] have their own classes;
//! [`ErrorCode::WriteFailed`], [`ErrorCode::MigrationFailed`], [`ErrorCode::QueryFailed`] and
//! [`ErrorCode::ContextLookupFailed`] are `other_error`).

mod prometheus;
mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::body::BodyWait;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use memory_kernel_api::ErrorCode;

pub use prometheus::CONTENT_TYPE;
pub use snapshot::{EndpointSnapshot, TelemetrySnapshot, TelemetryTotals};

use crate::endpoints::ENDPOINTS;
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

/// The `endpoint` label of requests no route matched (404).
pub const UNMATCHED: &str = "unmatched";

/// How many outcome codes are counted per endpoint: `ok`, every contract code, `other`.
pub const CODES: usize = ErrorCode::ALL.len() + 2;

/// The `code` label of each per-endpoint counter: `ok` for a 2xx response, the envelope's
/// `error.code` otherwise (docs/spec/service-contract.md order), and `other` for a failure that
/// carried no code.
pub const CODE_LABELS: [&str; CODES] = {
    let mut labels = ["ok"; CODES];
    let mut i = 0;
    while i < ErrorCode::ALL.len() {
        labels[i + 1] = ErrorCode::ALL[i].as_str();
        i += 1;
    }
    labels[CODES - 1] = "other";
    labels
};

/// The finite upper bounds of the latency histogram, in nanoseconds, with their `le` label
/// (seconds). A last, implicit `+Inf` bucket takes everything slower.
pub const DURATION_BUCKETS: [(u64, &str); 15] = [
    (250_000, "0.00025"),
    (500_000, "0.0005"),
    (1_000_000, "0.001"),
    (2_500_000, "0.0025"),
    (5_000_000, "0.005"),
    (10_000_000, "0.01"),
    (25_000_000, "0.025"),
    (50_000_000, "0.05"),
    (100_000_000, "0.1"),
    (250_000_000, "0.25"),
    (500_000_000, "0.5"),
    (1_000_000_000, "1"),
    (2_500_000_000, "2.5"),
    (5_000_000_000, "5"),
    (10_000_000_000, "10"),
];

/// Histogram slots: the finite buckets plus `+Inf`.
pub const BUCKETS: usize = DURATION_BUCKETS.len() + 1;

/// The outcome class a response is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeClass {
    /// A 2xx response.
    Success,
    /// The operation ran out of time (whatever its code).
    Timeout,
    /// [`ErrorCode::InvalidJson`].
    InvalidJson,
    /// [`ErrorCode::ValidationError`], transport-level refusals (401, 404, 405, 413, 415) included.
    ValidationError,
    /// [`ErrorCode::ContextPackageNotFound`].
    ContextNotFound,
    /// [`ErrorCode::WriteConflict`].
    WriteConflict,
    /// [`ErrorCode::SchemaUnavailable`].
    SchemaUnavailable,
    /// [`ErrorCode::InternalError`].
    InternalError,
    /// Any other failure code.
    OtherError,
}

impl OutcomeClass {
    /// Every class, in the order of the `/v1/health` counters.
    pub const ALL: [Self; 9] = [
        Self::Success,
        Self::Timeout,
        Self::InvalidJson,
        Self::ValidationError,
        Self::ContextNotFound,
        Self::WriteConflict,
        Self::SchemaUnavailable,
        Self::InternalError,
        Self::OtherError,
    ];

    /// Position in [`OutcomeClass::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }

    fn of_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidJson => Self::InvalidJson,
            ErrorCode::ValidationError => Self::ValidationError,
            ErrorCode::ContextPackageNotFound => Self::ContextNotFound,
            ErrorCode::WriteConflict => Self::WriteConflict,
            ErrorCode::SchemaUnavailable => Self::SchemaUnavailable,
            ErrorCode::InternalError => Self::InternalError,
            ErrorCode::WriteFailed
            | ErrorCode::MigrationFailed
            | ErrorCode::QueryFailed
            | ErrorCode::ContextLookupFailed
            | ErrorCode::OperationTimeout
            | ErrorCode::StorageUnavailable
            | ErrorCode::MemoryNotFound => Self::OtherError,
        }
    }
}

/// How one finished response is counted: its class and its code label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The outcome class.
    pub class: OutcomeClass,
    /// Position of the code in [`CODE_LABELS`].
    pub code: usize,
}

impl Outcome {
    /// The outcome of a finished response.
    #[must_use]
    pub fn of(response: &Response) -> Self {
        if response.status().is_success() {
            return Self {
                class: OutcomeClass::Success,
                code: 0,
            };
        }
        match response.extensions().get::<ErrorOutcome>() {
            Some(outcome) => Self {
                class: if outcome.timed_out {
                    OutcomeClass::Timeout
                } else {
                    OutcomeClass::of_code(outcome.code)
                },
                code: ErrorCode::ALL
                    .iter()
                    .position(|c| *c == outcome.code)
                    .map_or(CODES - 1, |i| i + 1),
            },
            None => Self {
                class: OutcomeClass::OtherError,
                code: CODES - 1,
            },
        }
    }
}

/// The live counters of one endpoint.
#[derive(Debug, Default)]
struct EndpointCounters {
    classes: [AtomicU64; OutcomeClass::ALL.len()],
    codes: [AtomicU64; CODES],
    buckets: [AtomicU64; BUCKETS],
    duration_sum_nanos: AtomicU64,
}

/// The live counters of every endpoint ([`ENDPOINTS`] in table order, then [`UNMATCHED`]).
#[derive(Debug)]
pub struct Telemetry {
    endpoints: Box<[EndpointCounters]>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            endpoints: (0..=ENDPOINTS.len())
                .map(|_| EndpointCounters::default())
                .collect(),
        }
    }
}

/// The label of endpoint slot `index`.
fn endpoint_label(index: usize) -> &'static str {
    ENDPOINTS
        .get(index)
        .map_or(UNMATCHED, |endpoint| endpoint.path)
}

impl Telemetry {
    /// The slot of a matched route template (`None` or an unknown template: [`UNMATCHED`]).
    #[must_use]
    pub fn endpoint_index(template: Option<&str>) -> usize {
        template
            .and_then(|path| ENDPOINTS.iter().position(|e| e.path == path))
            .unwrap_or(ENDPOINTS.len())
    }

    /// The `/v1/health` totals, read straight from the counters (no snapshot is built).
    #[must_use]
    pub fn totals(&self) -> TelemetryTotals {
        snapshot::totals_of(|class| {
            self.endpoints
                .iter()
                .map(|e| e.classes[class.index()].load(Ordering::Relaxed))
                .sum()
        })
    }

    /// Counts one finished request of endpoint slot `endpoint` that took `elapsed`.
    pub fn record(&self, endpoint: usize, outcome: Outcome, elapsed: Duration) {
        let Some(counters) = self.endpoints.get(endpoint) else {
            return;
        };
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = DURATION_BUCKETS
            .iter()
            .position(|(bound, _)| nanos <= *bound)
            .unwrap_or(BUCKETS - 1);
        let add = |counter: &AtomicU64, n: u64| counter.fetch_add(n, Ordering::Relaxed);
        add(&counters.classes[outcome.class.index()], 1);
        if let Some(code) = counters.codes.get(outcome.code) {
            add(code, 1);
        }
        add(&counters.buckets[bucket], 1);
        add(&counters.duration_sum_nanos, nanos);
    }

    /// The counters now. Requests still in flight (the one asking included) are not counted
    /// yet. Each counter is read atomically; a request finishing during the read may show in
    /// some of its counters and not yet in others.
    #[must_use]
    pub fn snapshot(&self) -> TelemetrySnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TelemetrySnapshot {
            endpoints: self
                .endpoints
                .iter()
                .enumerate()
                .map(|(index, counters)| EndpointSnapshot {
                    endpoint: endpoint_label(index),
                    classes: counters.classes.each_ref().map(load),
                    codes: counters.codes.each_ref().map(load),
                    buckets: counters.buckets.each_ref().map(load),
                    duration_sum_nanos: load(&counters.duration_sum_nanos),
                })
                .collect(),
        }
    }
}

/// The start of one request's count: its endpoint slot, when it started, and the body-wait
/// tracker (only for requests that can carry a body, so a GET allocates nothing here).
pub struct Timing {
    endpoint: usize,
    started: Instant,
    wait: Option<BodyWait>,
}

impl Timing {
    /// Starts timing `request` under its route template.
    pub fn begin(request: &mut Request) -> Self {
        let endpoint = Telemetry::endpoint_index(
            request
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str),
        );
        let wait =
            (request.method() != Method::GET && request.method() != Method::HEAD).then(|| {
                let wait = BodyWait::default();
                request.extensions_mut().insert(wait.clone());
                wait
            });
        Self {
            endpoint,
            started: Instant::now(),
            wait,
        }
    }

    /// How long the request has taken so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Counts the finished request. Waiting for a slow client's body is the client's time, not
    /// the endpoint's.
    pub fn finish(self, telemetry: &Telemetry, response: &Response) {
        let waited = self.wait.map_or(Duration::ZERO, |wait| wait.get());
        let elapsed = self.started.elapsed().saturating_sub(waited);
        telemetry.record(self.endpoint, Outcome::of(response), elapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(class: OutcomeClass, code: &str) -> Outcome {
        Outcome {
            class,
            code: CODE_LABELS.iter().position(|l| *l == code).unwrap_or(0),
        }
    }

    #[test]
    fn code_labels_are_ok_the_contract_codes_and_other() {
        assert_eq!(CODE_LABELS[0], "ok");
        assert_eq!(CODE_LABELS[1], "invalid_json");
        assert_eq!(CODE_LABELS[10], "internal_error");
        assert_eq!(CODE_LABELS[11], "operation_timeout");
        assert_eq!(CODE_LABELS[12], "storage_unavailable");
        assert_eq!(CODE_LABELS[13], "memory_not_found");
        assert_eq!(CODE_LABELS[14], "other");
    }

    #[test]
    fn each_request_lands_in_one_class_of_its_endpoint() {
        let telemetry = Telemetry::default();
        let ask = Telemetry::endpoint_index(Some("/v1/query/ask"));
        let ms = Duration::from_millis;
        telemetry.record(ask, outcome(OutcomeClass::Success, "ok"), ms(3));
        telemetry.record(
            ask,
            outcome(OutcomeClass::Timeout, "query_failed"),
            ms(2600),
        );
        telemetry.record(
            ask,
            outcome(OutcomeClass::InvalidJson, "invalid_json"),
            ms(0),
        );
        telemetry.record(
            Telemetry::endpoint_index(None),
            outcome(OutcomeClass::ValidationError, "validation_error"),
            ms(0),
        );
        let snapshot = telemetry.snapshot();
        let totals = snapshot.totals();
        assert_eq!(totals.requests_total, 4);
        assert_eq!(totals.requests_success_total, 1);
        assert_eq!(totals.requests_failure_total, 3);
        assert_eq!(
            (
                totals.timeout_total,
                totals.invalid_json_total,
                totals.other_error_total
            ),
            (1, 1, 0)
        );
        let ask = snapshot.endpoint("/v1/query/ask").map(|e| {
            (
                e.requests(),
                e.timeouts(),
                e.code("query_failed"),
                e.buckets,
            )
        });
        let mut buckets = [0; BUCKETS];
        buckets[0] = 1; // 0 ms
        buckets[4] = 1; // 3 ms <= 5 ms
        buckets[13] = 1; // 2.6 s <= 5 s
        assert_eq!(ask, Some((3, 1, 1, buckets)));
        assert_eq!(
            snapshot.endpoint(UNMATCHED).map(EndpointSnapshot::requests),
            Some(1)
        );
    }

    #[test]
    fn an_unknown_template_is_unmatched() {
        assert_eq!(Telemetry::endpoint_index(Some("/v9/nope")), ENDPOINTS.len());
        assert_eq!(endpoint_label(ENDPOINTS.len()), UNMATCHED);
    }
}
