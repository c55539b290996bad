//! The one snapshot type every telemetry view reads: per-endpoint counters and histograms, and
//! the docs/spec/service-contract.md totals derived from them.

use serde::Serialize;

use super::{BUCKETS, CODE_LABELS, CODES, OutcomeClass};

/// A point-in-time copy of every endpoint's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySnapshot {
    /// One entry per endpoint of the endpoint table, in table order, then `unmatched`.
    pub endpoints: Vec<EndpointSnapshot>,
}

/// The counters of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSnapshot {
    /// The route template (`/v1/context/{context_package_id}`) or `unmatched`.
    pub endpoint: &'static str,
    /// Finished requests per outcome class, by [`OutcomeClass::ALL`].
    pub classes: [u64; OutcomeClass::ALL.len()],
    /// Finished requests per outcome code, by [`CODE_LABELS`].
    pub codes: [u64; CODES],
    /// Requests per latency bucket (not cumulative), by `DURATION_BUCKETS` then `+Inf`.
    pub buckets: [u64; BUCKETS],
    /// The sum of all latencies, in nanoseconds.
    pub duration_sum_nanos: u64,
}

impl EndpointSnapshot {
    /// Every finished request.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.classes.iter().sum()
    }

    /// Requests in `class`.
    #[must_use]
    pub fn class(&self, class: OutcomeClass) -> u64 {
        self.classes[class.index()]
    }

    /// Requests that timed out.
    #[must_use]
    pub fn timeouts(&self) -> u64 {
        self.class(OutcomeClass::Timeout)
    }

    /// Requests whose code label is `label` (`ok`, a contract code, or `other`); 0 for a label
    /// that does not exist.
    #[must_use]
    pub fn code(&self, label: &str) -> u64 {
        CODE_LABELS
            .iter()
            .position(|l| *l == label)
            .map_or(0, |i| self.codes[i])
    }
}

/// The docs/spec/service-contract.md totals, as `/v1/health` reports them (field names are wire
/// contract).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TelemetryTotals {
    /// Every finished request.
    pub requests_total: u64,
    /// 2xx responses.
    pub requests_success_total: u64,
    /// Non-2xx responses (the sum of the classes below).
    pub requests_failure_total: u64,
    /// Timeouts.
    pub timeout_total: u64,
    /// [`ErrorCode::InvalidJson`](memory_kernel_api::ErrorCode::InvalidJson).
    pub invalid_json_total: u64,
    /// [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError) (transport
    /// refusals included).
    pub validation_error_total: u64,
    /// [`ErrorCode::ContextPackageNotFound`](memory_kernel_api::ErrorCode::ContextPackageNotFound).
    pub context_not_found_total: u64,
    /// [`ErrorCode::WriteConflict`](memory_kernel_api::ErrorCode::WriteConflict).
    pub write_conflict_total: u64,
    /// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable).
    pub schema_unavailable_total: u64,
    /// [`ErrorCode::InternalError`](memory_kernel_api::ErrorCode::InternalError).
    pub internal_error_total: u64,
    /// Every other failure code.
    pub other_error_total: u64,
}

impl TelemetrySnapshot {
    /// The counters of endpoint `path` (a route template, or `unmatched`).
    #[must_use]
    pub fn endpoint(&self, path: &str) -> Option<&EndpointSnapshot> {
        self.endpoints.iter().find(|e| e.endpoint == path)
    }

    /// The docs/spec/service-contract.md totals: each class summed over the endpoints.
    #[must_use]
    pub fn totals(&self) -> TelemetryTotals {
        totals_of(|class| self.endpoints.iter().map(|e| e.class(class)).sum())
    }
}

/// The totals, given each class's count summed over the endpoints.
pub(crate) fn totals_of(sum: impl Fn(OutcomeClass) -> u64) -> TelemetryTotals {
    {
        let success = sum(OutcomeClass::Success);
        let failure: u64 = OutcomeClass::ALL
            .iter()
            .filter(|class| **class != OutcomeClass::Success)
            .map(|class| sum(*class))
            .sum();
        TelemetryTotals {
            requests_total: success + failure,
            requests_success_total: success,
            requests_failure_total: failure,
            timeout_total: sum(OutcomeClass::Timeout),
            invalid_json_total: sum(OutcomeClass::InvalidJson),
            validation_error_total: sum(OutcomeClass::ValidationError),
            context_not_found_total: sum(OutcomeClass::ContextNotFound),
            write_conflict_total: sum(OutcomeClass::WriteConflict),
            schema_unavailable_total: sum(OutcomeClass::SchemaUnavailable),
            internal_error_total: sum(OutcomeClass::InternalError),
            other_error_total: sum(OutcomeClass::OtherError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::COUNTER_NAMES;

    #[test]
    fn totals_fields_are_the_counter_names() {
        let value = serde_json::to_value(TelemetryTotals::default()).ok();
        let names: Vec<String> = value
            .as_ref()
            .and_then(|v| v.as_object())
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let mut expected: Vec<String> = COUNTER_NAMES.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        assert_eq!(names, expected);
    }
}
