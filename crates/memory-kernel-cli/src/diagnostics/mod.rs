//! `mk service diagnostics`: reads a running service's `GET /metrics`, derives per-endpoint
//! requests, failure and timeout rates and latency quantiles, checks them against the SLO
//! policy and reports a verdict — as a table, or as the metrics artifact
//! (`service-metrics.v1`). This module is the one place the artifact is computed;
//! `cargo xtask slo` runs this command rather than computing it again.

mod artifact;
mod exposition;
mod table;
mod verdict;

use std::time::Duration;

use memory_kernel_api::ErrorCode;

pub use artifact::{METRICS_CONTRACT_VERSION, ServiceMetrics, Verdict};
pub use memory_kernel_contract::SloPolicy;
pub use table::render as render_table;

use crate::failure::Failure;

/// How long the whole `/metrics` request may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The exposition's URL: `url` itself when it ends with `/metrics`, else `url` + `/metrics`.
///
/// # Errors
/// [`ErrorCode::ValidationError`] unless `url` starts with `http://` (the service binds plain
/// HTTP).
pub fn metrics_url(url: &str) -> Result<String, Failure> {
    if !url.starts_with("http://") {
        return Err(Failure::new(
            ErrorCode::ValidationError,
            format!("--url must be a plain http:// URL of the service, got {url:?}"),
        ));
    }
    let base = url.trim_end_matches('/');
    Ok(if base.ends_with("/metrics") {
        base.to_owned()
    } else {
        format!("{base}/metrics")
    })
}

/// Reads the exposition at `url` (with the bearer `token`, when given).
///
/// # Errors
/// [`ErrorCode::InternalError`] when the service cannot be reached or does not answer 200.
pub fn fetch(url: &str, token: Option<&str>) -> Result<String, Failure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let unreachable =
        |e: ureq::Error| Failure::new(ErrorCode::InternalError, format!("cannot read {url}: {e}"));
    let mut response = request.call().map_err(unreachable)?;
    let status = response.status();
    let body = response.body_mut().read_to_string().map_err(unreachable)?;
    if status != 200 {
        let head: String = body.chars().take(300).collect();
        return Err(Failure::new(
            ErrorCode::InternalError,
            format!("{url} answered {status}: {head}"),
        ));
    }
    Ok(body)
}

/// The artifact for the exposition `text` read from `source` at `now` (RFC 3339), checked
/// against `policy`.
///
/// # Errors
/// [`ErrorCode::InternalError`] when `text` is not the service's exposition.
pub fn compute(
    text: &str,
    source: &str,
    policy: &SloPolicy,
    now: String,
) -> Result<ServiceMetrics, Failure> {
    let readings = exposition::read(text).map_err(|e| Failure::new(ErrorCode::InternalError, e))?;
    let endpoints: Vec<artifact::EndpointMetrics> = readings
        .iter()
        .map(|reading| artifact::EndpointMetrics::from_reading(reading, policy))
        .collect();
    let totals = artifact::Totals::of(&endpoints);
    let (breaches, verdict) = verdict::evaluate(&endpoints, &totals, policy);
    Ok(ServiceMetrics {
        metrics_contract_version: METRICS_CONTRACT_VERSION,
        service_contract_version: policy.service_contract_version.clone(),
        slo_policy_version: policy.slo_policy_version.clone(),
        generated_at_utc: now,
        source: source.to_owned(),
        thresholds: artifact::Thresholds {
            timeout_rate_max_percent: policy.timeout_rate_max_percent,
            failure_rate_max_percent: policy.failure_rate_max_percent,
            schema_unavailable_max_per_1000_requests: policy
                .schema_unavailable_max_per_1000_requests,
        },
        totals,
        endpoints,
        breaches,
        verdict,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_url_is_derived_from_the_service_url() {
        let url = |u: &str| metrics_url(u).ok();
        assert_eq!(
            url("http://127.0.0.1:4010"),
            Some("http://127.0.0.1:4010/metrics".to_owned())
        );
        assert_eq!(
            url("http://127.0.0.1:4010/"),
            Some("http://127.0.0.1:4010/metrics".to_owned())
        );
        assert_eq!(
            url("http://h:1/metrics"),
            Some("http://h:1/metrics".to_owned())
        );
        assert_eq!(url("https://h:1"), None);
        assert_eq!(url("127.0.0.1:4010"), None);
    }
}
