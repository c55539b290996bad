//! The metrics artifact (`service-metrics.v1`, schema
//! `contracts/integration/v1/schemas/service-metrics.schema.json`), computed from one reading of
//! `/metrics` and the SLO policy. This is the one place the artifact's numbers are derived.
//!
//! - `failures` are the service's own failures: every code but `ok` and the caller errors
//!   ([`ErrorCode::InvalidJson`], [`ErrorCode::ValidationError`],
//!   [`ErrorCode::ContextPackageNotFound`], [`ErrorCode::WriteConflict`]), so timeouts
//!   ([`ErrorCode::OperationTimeout`]) and [`ErrorCode::StorageUnavailable`] are failures too;
//! - rates are percentages of the endpoint's requests; `schema_unavailable_per_1000_requests`
//!   is over every request;
//! - latency quantiles come from the histogram: the bucket holding rank `q × count` is found
//!   and the value interpolated linearly between its lower bound (the previous bucket's upper
//!   bound, 0 for the first) and its upper bound, as Prometheus' `histogram_quantile` does; a
//!   rank in the `+Inf` bucket reads as the largest finite bound;
//! - every number is rounded to 0.001.

use memory_kernel_api::ErrorCode;
use memory_kernel_contract::SloPolicy;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::exposition::EndpointReading;

/// The artifact's contract version.
pub const METRICS_CONTRACT_VERSION: &str = "service-metrics.v1";

/// The codes that are the caller's doing, never the service's failure.
const CLIENT_CODES: [ErrorCode; 5] = [
    ErrorCode::InvalidJson,
    ErrorCode::ValidationError,
    ErrorCode::ContextPackageNotFound,
    ErrorCode::WriteConflict,
    ErrorCode::MemoryNotFound,
];

/// The artifact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceMetrics {
    /// [`METRICS_CONTRACT_VERSION`].
    pub metrics_contract_version: &'static str,
    /// The service contract the exposition belongs to.
    pub service_contract_version: String,
    /// The policy version the reading was checked against.
    pub slo_policy_version: String,
    /// When the metrics were read (RFC 3339, UTC).
    pub generated_at_utc: String,
    /// The URL read.
    pub source: String,
    /// The rate thresholds applied.
    pub thresholds: Thresholds,
    /// Every endpoint together.
    pub totals: Totals,
    /// One entry per endpoint.
    pub endpoints: Vec<EndpointMetrics>,
    /// Every threshold broken.
    pub breaches: Vec<Breach>,
    /// The overall verdict.
    pub verdict: Verdict,
}

/// The policy's rate thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Largest timeout share of an endpoint, in percent.
    pub timeout_rate_max_percent: f64,
    /// Largest failure share of an endpoint, in percent.
    pub failure_rate_max_percent: f64,
    /// Largest [`ErrorCode::SchemaUnavailable`] count per 1000 requests.
    pub schema_unavailable_max_per_1000_requests: f64,
}

/// Every endpoint together.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Totals {
    /// Finished requests.
    pub requests: u64,
    /// The service's own failures (timeouts included).
    pub failures: u64,
    /// Caller errors.
    pub client_errors: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// [`ErrorCode::SchemaUnavailable`] answers.
    pub schema_unavailable: u64,
    /// `failures / requests`, in percent.
    pub failure_rate_percent: f64,
    /// `timeouts / requests`, in percent.
    pub timeout_rate_percent: f64,
    /// [`ErrorCode::SchemaUnavailable`] answers per 1000 requests.
    pub schema_unavailable_per_1000_requests: f64,
}

/// One endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointMetrics {
    /// The route template, or `unmatched`.
    pub endpoint: String,
    /// Finished requests.
    pub requests: u64,
    /// The service's own failures (timeouts included).
    pub failures: u64,
    /// Caller errors.
    pub client_errors: u64,
    /// Timeouts.
    pub timeouts: u64,
    /// `failures / requests`, in percent.
    pub failure_rate_percent: f64,
    /// `timeouts / requests`, in percent.
    pub timeout_rate_percent: f64,
    /// Latency quantiles; `None` without requests.
    pub latency_ms: Option<Latency>,
    /// The policy's p95 budget, if any.
    pub p95_budget_ms: Option<f64>,
    /// Requests per code label, in canonical order.
    pub codes: Codes,
}

/// Latency quantiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Requests per code label: `ok`, each contract code in canonical order, `other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes(pub Vec<(&'static str, u64)>);

impl Serialize for Codes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, count) in &self.0 {
            map.serialize_entry(label, count)?;
        }
        map.end()
    }
}

/// A broken threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// Which rule.
    pub rule: Rule,
    /// The endpoint, or `None` for the rule over all requests.
    pub endpoint: Option<String>,
    /// The observed value.
    pub observed: f64,
    /// The threshold it exceeds.
    pub threshold: f64,
    /// One line for a human.
    pub message: String,
}

/// The rules a reading is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// An endpoint's p95 over its budget.
    LatencyP95,
    /// An endpoint's timeout rate over `timeout_rate_max_percent`.
    TimeoutRate,
    /// An endpoint's failure rate over `failure_rate_max_percent`.
    FailureRate,
    /// [`ErrorCode::SchemaUnavailable`] per 1000 requests over its maximum.
    SchemaUnavailableRate,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// No threshold broken.
    #[serde(rename = "OK")]
    Ok,
    /// A threshold broken, not critical.
    #[serde(rename = "WARNING")]
    Warning,
    /// A failure-rate breach together with a [`ErrorCode::SchemaUnavailable`] breach.
    #[serde(rename = "CRITICAL")]
    Critical,
}

impl Verdict {
    /// The verdict's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "OK",
            Self::Warning => "WARNING",
            Self::Critical => "CRITICAL",
        }
    }
}

/// The code labels, in the order the artifact lists them.
fn code_labels() -> impl Iterator<Item = &'static str> {
    std::iter::once("ok")
        .chain(ErrorCode::ALL.iter().map(|c| c.as_str()))
        .chain(std::iter::once("other"))
}

/// Rounds to 0.001.
fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// `part / whole × scale`, 0 without a whole.
#[allow(clippy::cast_precision_loss)]
fn ratio(part: u64, whole: u64, scale: f64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        round(part as f64 / whole as f64 * scale)
    }
}

/// Quantile `q` of a cumulative histogram, in milliseconds (see the module docs).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn quantile_ms(buckets: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut lower = (0.0, 0_u64);
    let mut largest_finite = 0.0;
    for &(le, count) in buckets {
        if le.is_finite() {
            largest_finite = le;
        }
        if count as f64 >= rank && count > lower.1 {
            let seconds = if le.is_finite() {
                let share = (rank - lower.1 as f64) / (count - lower.1) as f64;
                lower.0 + (le - lower.0) * share
            } else {
                largest_finite
            };
            return Some(round(seconds * 1000.0));
        }
        lower = (le, count);
    }
    Some(round(largest_finite * 1000.0))
}

impl EndpointMetrics {
    /// The metrics of one endpoint reading under `policy`.
    #[must_use]
    pub fn from_reading(reading: &EndpointReading, policy: &SloPolicy) -> Self {
        let requests = reading.requests();
        let count = |label: &str| reading.codes.get(label).copied().unwrap_or(0);
        let client_errors = CLIENT_CODES.iter().map(|c| count(c.as_str())).sum();
        let answered: u64 = code_labels().map(count).sum();
        let failures = answered.saturating_sub(count("ok") + client_errors);
        let latency = match (
            quantile_ms(&reading.buckets, 0.5),
            quantile_ms(&reading.buckets, 0.95),
            quantile_ms(&reading.buckets, 0.99),
        ) {
            (Some(p50), Some(p95), Some(p99)) => Some(Latency { p50, p95, p99 }),
            _ => None,
        };
        Self {
            endpoint: reading.endpoint.clone(),
            requests,
            failures,
            client_errors,
            timeouts: reading.timeouts,
            failure_rate_percent: ratio(failures, requests, 100.0),
            timeout_rate_percent: ratio(reading.timeouts, requests, 100.0),
            latency_ms: latency,
            p95_budget_ms: policy.budget(&reading.endpoint),
            codes: Codes(code_labels().map(|label| (label, count(label))).collect()),
        }
    }
}

impl Totals {
    /// The sums over `endpoints`.
    #[must_use]
    pub fn of(endpoints: &[EndpointMetrics]) -> Self {
        let sum = |f: fn(&EndpointMetrics) -> u64| endpoints.iter().map(f).sum::<u64>();
        let requests = sum(|e| e.requests);
        let failures = sum(|e| e.failures);
        let timeouts = sum(|e| e.timeouts);
        let schema_unavailable = sum(|e| {
            e.codes
                .0
                .iter()
                .find(|(label, _)| *label == ErrorCode::SchemaUnavailable.as_str())
                .map_or(0, |(_, n)| *n)
        });
        Self {
            requests,
            failures,
            client_errors: sum(|e| e.client_errors),
            timeouts,
            schema_unavailable,
            failure_rate_percent: ratio(failures, requests, 100.0),
            timeout_rate_percent: ratio(timeouts, requests, 100.0),
            schema_unavailable_per_1000_requests: ratio(schema_unavailable, requests, 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn quantiles_interpolate_inside_the_bucket_holding_the_rank() {
        // 10 requests: 4 under 1 ms, 5 more under 10 ms, 1 slower than 10 s.
        let buckets = [(0.001, 4), (0.01, 9), (10.0, 9), (INF, 10)];
        // p50: rank 5, second bucket (4..9): 1 ms + 9 ms × 1/5.
        assert_eq!(quantile_ms(&buckets, 0.5), Some(2.8));
        // p95: rank 9.5, in +Inf: the largest finite bound.
        assert_eq!(quantile_ms(&buckets, 0.95), Some(10_000.0));
        // First bucket: from 0.
        assert_eq!(quantile_ms(&buckets, 0.2), Some(0.5));
        assert_eq!(quantile_ms(&[(0.001, 0), (INF, 0)], 0.5), None);
    }

    #[test]
    fn caller_errors_are_not_failures_but_timeouts_are() {
        let mut reading = EndpointReading {
            endpoint: "/v1/query/ask".to_owned(),
            buckets: vec![(0.01, 20), (INF, 20)],
            timeouts: 1,
            ..EndpointReading::default()
        };
        for (code, n) in [("ok", 15), ("invalid_json", 2), ("write_conflict", 1)] {
            reading.codes.insert(code.to_owned(), n);
        }
        reading.codes.insert("query_failed".to_owned(), 2);
        let policy = SloPolicy::load(None).unwrap_or_else(|e| panic!("{e}"));
        let metrics = EndpointMetrics::from_reading(&reading, &policy);
        assert_eq!(
            (metrics.requests, metrics.failures, metrics.client_errors),
            (20, 2, 3)
        );
        assert_eq!(metrics.failure_rate_percent, 10.0);
        assert_eq!(metrics.timeout_rate_percent, 5.0);
        assert_eq!(metrics.p95_budget_ms, policy.budget("/v1/query/ask"));
        assert_eq!(metrics.codes.0.len(), 15);
        let totals = Totals::of(&[metrics]);
        assert_eq!((totals.requests, totals.failures), (20, 2));
    }
}
