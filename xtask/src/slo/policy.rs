//! The policy file as `cargo xtask slo` reads it (`service-slo-policy.v2`). Its schema is
//! the contract; this reader only gives the validated document types.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// `service-slo-policy.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloPolicy {
    /// `service-slo-policy.v2`.
    pub slo_policy_version: String,
    /// `service.v3`.
    pub service_contract_version: String,
    /// Largest timeout share of an endpoint's requests, in percent.
    pub timeout_rate_max_percent: f64,
    /// Largest failure share of an endpoint's requests, in percent.
    pub failure_rate_max_percent: f64,
    /// Largest `schema_unavailable` count per 1000 requests (all endpoints).
    pub schema_unavailable_max_per_1000_requests: f64,
    /// The p95 budget of each endpoint.
    pub latency_budgets: Vec<LatencyBudget>,
    /// What the load run seeds and sends.
    pub benchmark_profile: BenchmarkProfile,
    /// The trust layer's benchmark budgets: read by `mk outcome benchmark run`, not here.
    #[serde(default, rename = "outcome_benchmark")]
    _outcome_benchmark: Option<serde::de::IgnoredAny>,
}

/// One endpoint's p95 budget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBudget {
    /// The route template.
    pub endpoint: String,
    /// Milliseconds.
    pub p95_ms: f64,
}

/// The benchmark profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkProfile {
    /// Records written before the measured load.
    pub seed_records: SeedRecords,
    /// Requests per endpoint during the measured load.
    pub requests: Vec<RequestCount>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// Records written before the measured load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRecords {
    /// Constraint records.
    pub constraints: usize,
    /// Summary records (decision, preference, event, outcome in turn).
    pub summaries: usize,
    /// Links between seeded records.
    pub links: usize,
}

/// How many requests one endpoint gets.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCount {
    /// The route template.
    pub endpoint: String,
    /// Requests.
    pub count: usize,
}

impl SloPolicy {
    /// Reads the policy at `path` (not validated against the schema; see
    /// [`super::check_policy`]).
    ///
    /// # Errors
    /// When the file cannot be read or is not a policy document.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not an SLO policy", path.display()))
    }
}
