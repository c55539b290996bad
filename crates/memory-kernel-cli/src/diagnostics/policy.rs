//! The SLO policy (`service-slo-policy.v2`): the checked-in
//! `contracts/integration/v1/service-slo-policy.json`, embedded at build time so `mk` needs no
//! file to run, or a file given with `--policy`. Only the thresholds are read here; the
//! benchmark profile is `cargo xtask slo`'s business.

use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The policy version this build reads.
pub const POLICY_VERSION: &str = "service-slo-policy.v2";

/// The checked-in policy, the default of `--policy`.
pub const DEFAULT_POLICY: &str =
    include_str!("../../../../contracts/integration/v1/service-slo-policy.json");

/// The thresholds of the policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloPolicy {
    /// Must be [`POLICY_VERSION`].
    pub slo_policy_version: String,
    /// The service contract the policy is written for.
    pub service_contract_version: String,
    /// Largest share of an endpoint's requests that may time out, in percent.
    pub timeout_rate_max_percent: f64,
    /// Largest share of an endpoint's requests that may fail on the service's side, in
    /// percent.
    pub failure_rate_max_percent: f64,
    /// Largest number of `schema_unavailable` answers per 1000 requests, over all endpoints.
    pub schema_unavailable_max_per_1000_requests: f64,
    /// The p95 budget of each endpoint.
    pub latency_budgets: Vec<LatencyBudget>,
    /// Read by `cargo xtask slo`, not here.
    #[serde(rename = "benchmark_profile")]
    _benchmark_profile: IgnoredAny,
    /// The trust layer's benchmark defaults and budgets (`mk outcome benchmark run`).
    #[serde(default)]
    pub outcome_benchmark: Option<OutcomeBenchmarkPolicy>,
}

/// The trust layer's benchmark defaults and p95 budgets, in milliseconds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBenchmarkPolicy {
    /// Event volumes run when no `--volume` is given.
    pub volumes: Vec<u64>,
    /// Repetitions when no `--repetitions` is given.
    pub repetitions: u32,
    /// Budget of one outcome append.
    pub append_p95_ms: f64,
    /// Budget of one full replay.
    pub replay_p95_ms: f64,
    /// Budget of one gate decision.
    pub gate_p95_ms: f64,
}

/// One endpoint's p95 latency budget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBudget {
    /// The route template.
    pub endpoint: String,
    /// The budget in milliseconds.
    pub p95_ms: f64,
}

impl SloPolicy {
    /// Parses a policy document.
    ///
    /// # Errors
    /// A message when the text is not a `service-slo-policy.v2` document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let policy: Self =
            serde_json::from_str(text).map_err(|e| format!("not an SLO policy: {e}"))?;
        if policy.slo_policy_version != POLICY_VERSION {
            return Err(format!(
                "slo_policy_version is {:?}, this mk reads {POLICY_VERSION:?}",
                policy.slo_policy_version
            ));
        }
        let negative = [
            policy.timeout_rate_max_percent,
            policy.failure_rate_max_percent,
            policy.schema_unavailable_max_per_1000_requests,
        ]
        .into_iter()
        .chain(policy.latency_budgets.iter().map(|b| b.p95_ms))
        .chain(
            policy
                .outcome_benchmark
                .iter()
                .flat_map(|o| [o.append_p95_ms, o.replay_p95_ms, o.gate_p95_ms]),
        )
        .any(|value| value.is_nan() || value < 0.0);
        if negative {
            return Err("thresholds and budgets must be numbers >= 0".to_owned());
        }
        Ok(policy)
    }

    /// The policy at `path`, or the embedded default.
    ///
    /// # Errors
    /// A message naming the file when it cannot be read or is not a policy.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        match path {
            None => Self::parse(DEFAULT_POLICY).map_err(|e| format!("embedded policy: {e}")),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// The p95 budget of `endpoint`, if the policy gives one.
    #[must_use]
    pub fn budget(&self, endpoint: &str) -> Option<f64> {
        self.latency_budgets
            .iter()
            .find(|b| b.endpoint == endpoint)
            .map(|b| b.p95_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_policy_parses() {
        let policy = SloPolicy::load(None);
        assert_eq!(
            policy.as_ref().map(|p| p.timeout_rate_max_percent).ok(),
            Some(2.0)
        );
        assert!(policy.is_ok_and(|p| p.budget("/v1/query/ask").is_some()));
    }

    #[test]
    fn a_wrong_version_or_a_negative_budget_is_refused() {
        let wrong = DEFAULT_POLICY.replace("service-slo-policy.v2", "service-slo-policy.v1");
        assert!(SloPolicy::parse(&wrong).is_err());
        let mut negative: serde_json::Value =
            serde_json::from_str(DEFAULT_POLICY).unwrap_or_default();
        negative["latency_budgets"][0]["p95_ms"] = serde_json::json!(-1);
        assert!(SloPolicy::parse(&negative.to_string()).is_err());
    }
}
