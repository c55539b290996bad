//! The human view of the artifact: one row per endpoint with requests, the breaches, and the
//! verdict on the last line.

use std::fmt::Write as _;

use super::artifact::ServiceMetrics;

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// The table, the breaches and `verdict: OK|WARNING|CRITICAL`, each line ending with a
/// newline except the last.
#[must_use]
pub fn render(metrics: &ServiceMetrics) -> String {
    let width = metrics
        .endpoints
        .iter()
        .map(|e| e.endpoint.len())
        .chain([8])
        .max()
        .unwrap_or(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>7}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}",
        "endpoint", "requests", "fail %", "timeout %", "p50 ms", "p95 ms", "p99 ms", "budget ms"
    );
    for e in &metrics.endpoints {
        let latency = e.latency_ms;
        let _ = writeln!(
            out,
            "{:<width$}  {:>8}  {:>7.3}  {:>9.3}  {:>9}  {:>9}  {:>9}  {:>9}",
            e.endpoint,
            e.requests,
            e.failure_rate_percent,
            e.timeout_rate_percent,
            number(latency.map(|l| l.p50)),
            number(latency.map(|l| l.p95)),
            number(latency.map(|l| l.p99)),
            number(e.p95_budget_ms),
        );
    }
    let t = &metrics.totals;
    let _ = writeln!(
        out,
        "{:<width$}  {:>8}  {:>7.3}  {:>9.3}  schema_unavailable per 1000: {}",
        "total",
        t.requests,
        t.failure_rate_percent,
        t.timeout_rate_percent,
        t.schema_unavailable_per_1000_requests
    );
    for breach in &metrics.breaches {
        let _ = writeln!(out, "breach: {}", breach.message);
    }
    let _ = write!(out, "verdict: {}", metrics.verdict.as_str());
    out
}
