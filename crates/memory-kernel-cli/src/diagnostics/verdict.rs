//! The threshold check: a pure function from the computed metrics and the policy to the
//! breaches and the verdict. The alert guidance of `docs/spec/service-slo-policy.md` asks
//! about consecutive runs; one reading cannot know about the run before it, so:
//! - a **breach** is an endpoint whose p95 is over its budget, whose timeout rate is over
//!   `timeout_rate_max_percent` or whose failure rate is over `failure_rate_max_percent`, or
//!   [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) per 1000
//!   requests (all endpoints) over its maximum;
//! - **CRITICAL**: a failure-rate breach together with the
//!   [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) breach;
//! - **WARNING**: any other breach;
//! - **OK**: no breach.
//!
//! Endpoints without requests are not checked. A value equal to its threshold is within it.

use memory_kernel_contract::SloPolicy;

use super::artifact::{Breach, EndpointMetrics, Rule, Totals, Verdict};

/// Every breach of `policy` in `endpoints` and `totals`, and the verdict.
#[must_use]
pub fn evaluate(
    endpoints: &[EndpointMetrics],
    totals: &Totals,
    policy: &SloPolicy,
) -> (Vec<Breach>, Verdict) {
    let mut breaches = Vec::new();
    for e in endpoints.iter().filter(|e| e.requests > 0) {
        let endpoint = Some(e.endpoint.clone());
        if let (Some(latency), Some(budget)) = (e.latency_ms, e.p95_budget_ms)
            && latency.p95 > budget
        {
            breaches.push(Breach {
                rule: Rule::LatencyP95,
                endpoint: endpoint.clone(),
                observed: latency.p95,
                threshold: budget,
                message: format!(
                    "{}: p95 {} ms is over its budget of {budget} ms",
                    e.endpoint, latency.p95
                ),
            });
        }
        if e.timeout_rate_percent > policy.timeout_rate_max_percent {
            breaches.push(Breach {
                rule: Rule::TimeoutRate,
                endpoint: endpoint.clone(),
                observed: e.timeout_rate_percent,
                threshold: policy.timeout_rate_max_percent,
                message: format!(
                    "{}: {} % of requests timed out (at most {} %)",
                    e.endpoint, e.timeout_rate_percent, policy.timeout_rate_max_percent
                ),
            });
        }
        if e.failure_rate_percent > policy.failure_rate_max_percent {
            breaches.push(Breach {
                rule: Rule::FailureRate,
                endpoint,
                observed: e.failure_rate_percent,
                threshold: policy.failure_rate_max_percent,
                message: format!(
                    "{}: {} % of requests failed (at most {} %)",
                    e.endpoint, e.failure_rate_percent, policy.failure_rate_max_percent
                ),
            });
        }
    }
    let max = policy.schema_unavailable_max_per_1000_requests;
    if totals.schema_unavailable_per_1000_requests > max {
        breaches.push(Breach {
            rule: Rule::SchemaUnavailableRate,
            endpoint: None,
            observed: totals.schema_unavailable_per_1000_requests,
            threshold: max,
            message: format!(
                "schema_unavailable: {} per 1000 requests (at most {max})",
                totals.schema_unavailable_per_1000_requests
            ),
        });
    }
    let has = |rule: Rule| breaches.iter().any(|b| b.rule == rule);
    let verdict = if has(Rule::FailureRate) && has(Rule::SchemaUnavailableRate) {
        Verdict::Critical
    } else if breaches.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Warning
    };
    (breaches, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::artifact::{Codes, Latency};

    fn policy() -> SloPolicy {
        SloPolicy::load(None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn endpoint(name: &str, p95: f64, failure: f64, timeout: f64) -> EndpointMetrics {
        EndpointMetrics {
            endpoint: name.to_owned(),
            requests: 100,
            failures: 0,
            client_errors: 0,
            timeouts: 0,
            failure_rate_percent: failure,
            timeout_rate_percent: timeout,
            latency_ms: Some(Latency {
                p50: p95 / 2.0,
                p95,
                p99: p95,
            }),
            p95_budget_ms: policy().budget(name),
            codes: Codes(Vec::new()),
        }
    }

    fn totals(schema_unavailable_per_1000: f64) -> Totals {
        Totals {
            requests: 1000,
            failures: 0,
            client_errors: 0,
            timeouts: 0,
            schema_unavailable: 0,
            failure_rate_percent: 0.0,
            timeout_rate_percent: 0.0,
            schema_unavailable_per_1000_requests: schema_unavailable_per_1000,
        }
    }

    #[test]
    fn within_every_threshold_is_ok() {
        let endpoints = [endpoint("/v1/query/ask", 1.0, 5.0, 2.0)];
        assert_eq!(
            evaluate(&endpoints, &totals(1.0), &policy()),
            (vec![], Verdict::Ok)
        );
    }

    #[test]
    fn a_zero_ms_budget_is_breached_and_names_the_endpoint() {
        let mut endpoints = vec![endpoint("/v1/query/recall", 0.3, 0.0, 0.0)];
        endpoints[0].p95_budget_ms = Some(0.0);
        let (breaches, verdict) = evaluate(&endpoints, &totals(0.0), &policy());
        assert_eq!(verdict, Verdict::Warning);
        assert_eq!(breaches.len(), 1);
        assert_eq!(breaches[0].rule, Rule::LatencyP95);
        assert_eq!(breaches[0].endpoint.as_deref(), Some("/v1/query/recall"));
        assert!(
            breaches[0].message.contains("/v1/query/recall"),
            "{breaches:?}"
        );
        assert!(
            breaches[0].message.contains("budget of 0 ms"),
            "{breaches:?}"
        );
    }

    #[test]
    fn timeouts_alone_warn() {
        let endpoints = [endpoint("/v1/memory/link", 1.0, 0.0, 2.5)];
        let (breaches, verdict) = evaluate(&endpoints, &totals(0.0), &policy());
        assert_eq!(verdict, Verdict::Warning);
        assert_eq!(breaches[0].rule, Rule::TimeoutRate);
    }

    #[test]
    fn failures_alone_or_schema_unavailable_alone_warn() {
        let failing = [endpoint("/v1/query/ask", 1.0, 7.5, 0.0)];
        assert_eq!(
            evaluate(&failing, &totals(0.0), &policy()).1,
            Verdict::Warning
        );
        let fine = [endpoint("/v1/query/ask", 1.0, 0.0, 0.0)];
        assert_eq!(evaluate(&fine, &totals(3.0), &policy()).1, Verdict::Warning);
    }

    #[test]
    fn failures_with_a_schema_unavailable_spike_are_critical() {
        let failing = [endpoint("/v1/query/ask", 1.0, 7.5, 0.0)];
        let (breaches, verdict) = evaluate(&failing, &totals(12.0), &policy());
        assert_eq!(verdict, Verdict::Critical);
        let rules: Vec<Rule> = breaches.iter().map(|b| b.rule).collect();
        assert_eq!(rules, [Rule::FailureRate, Rule::SchemaUnavailableRate]);
        assert_eq!(breaches[1].endpoint, None);
    }

    #[test]
    fn endpoints_without_requests_are_not_checked() {
        let mut idle = endpoint("/v1/query/ask", 0.0, 0.0, 0.0);
        idle.requests = 0;
        idle.latency_ms = None;
        idle.p95_budget_ms = Some(0.0);
        assert_eq!(evaluate(&[idle], &totals(0.0), &policy()).1, Verdict::Ok);
    }
}
