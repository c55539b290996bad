//! The SLO policy (`service-slo-policy.v2`): thresholds and p95 budgets per endpoint, the
//! load profile `cargo xtask slo` drives, and the trust layer's benchmark budgets. The
//! checked-in `contracts/integration/v1/service-slo-policy.json` is embedded at build time
//! ([`DEFAULT_POLICY`]) so `mk` needs no file to run; its JSON Schema is the contract, and
//! this type is the one reader of it (spec: `docs/spec/service-slo-policy.md`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The policy version this build reads.
pub const POLICY_VERSION: &str = "service-slo-policy.v2";

/// The checked-in policy, the default of `mk service diagnostics --policy`.
pub const DEFAULT_POLICY: &str =
    include_str!("../../../contracts/integration/v1/service-slo-policy.json");

/// Why a policy document was refused.
#[derive(Debug, thiserror::Error)]
pub enum SloPolicyError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The text is not a policy document.
    #[error("not an SLO policy: {0}")]
    Parse(#[source] serde_json::Error),
    /// The document is another policy version.
    #[error("slo_policy_version is {found:?}, this build reads {POLICY_VERSION:?}")]
    Version {
        /// The version the document names.
        found: String,
    },
    /// A threshold or budget is negative or not a number.
    #[error("thresholds and budgets must be numbers >= 0")]
    Negative,
    /// A refusal of the document in `path`.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        source: Box<SloPolicyError>,
    },
    /// A refusal of the embedded default.
    #[error("embedded policy: {0}")]
    Embedded(Box<SloPolicyError>),
}

/// `service-slo-policy.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloPolicy {
    /// Must be [`POLICY_VERSION`].
    pub slo_policy_version: String,
    /// The service contract the policy is written for (`service.v3`).
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
    /// What the load run (`cargo xtask slo`) seeds and sends.
    pub benchmark_profile: BenchmarkProfile,
    /// The trust layer's benchmark defaults and budgets (`mk outcome benchmark run`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_benchmark: Option<OutcomeBenchmarkPolicy>,
}

/// One endpoint's p95 latency budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBudget {
    /// The route template.
    pub endpoint: String,
    /// The budget in milliseconds.
    pub p95_ms: f64,
}

/// The benchmark profile of the load run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestCount {
    /// The route template.
    pub endpoint: String,
    /// Requests.
    pub count: usize,
}

/// The trust layer's benchmark defaults and p95 budgets, in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl SloPolicy {
    /// Parses a policy document: its shape, its version and that no threshold or budget is
    /// negative.
    ///
    /// # Errors
    /// [`SloPolicyError::Parse`], [`SloPolicyError::Version`] or
    /// [`SloPolicyError::Negative`].
    pub fn parse(text: &str) -> Result<Self, SloPolicyError> {
        let policy: Self = serde_json::from_str(text).map_err(SloPolicyError::Parse)?;
        if policy.slo_policy_version != POLICY_VERSION {
            return Err(SloPolicyError::Version {
                found: policy.slo_policy_version,
            });
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
            return Err(SloPolicyError::Negative);
        }
        Ok(policy)
    }

    /// The policy at `path`, or the embedded default.
    ///
    /// # Errors
    /// [`SloPolicyError::Read`] when the file cannot be read, [`SloPolicyError::InFile`] or
    /// [`SloPolicyError::Embedded`] around the reason a document was refused.
    pub fn load(path: Option<&Path>) -> Result<Self, SloPolicyError> {
        match path {
            None => Self::parse(DEFAULT_POLICY).map_err(|e| SloPolicyError::Embedded(Box::new(e))),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SloPolicyError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?;
                Self::parse(&text).map_err(|e| SloPolicyError::InFile {
                    path: path.to_path_buf(),
                    source: Box::new(e),
                })
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
        assert!(
            policy
                .as_ref()
                .is_ok_and(|p| p.budget("/v1/query/ask").is_some())
        );
        assert!(policy.is_ok_and(|p| p.benchmark_profile.concurrency > 0));
    }

    #[test]
    fn a_wrong_version_or_a_negative_budget_is_refused() {
        let wrong = DEFAULT_POLICY.replace("service-slo-policy.v2", "service-slo-policy.v1");
        assert!(matches!(
            SloPolicy::parse(&wrong),
            Err(SloPolicyError::Version { found }) if found == "service-slo-policy.v1"
        ));
        let mut negative: serde_json::Value =
            serde_json::from_str(DEFAULT_POLICY).unwrap_or_default();
        negative["latency_budgets"][0]["p95_ms"] = serde_json::json!(-1);
        assert!(matches!(
            SloPolicy::parse(&negative.to_string()),
            Err(SloPolicyError::Negative)
        ));
        let mut unknown: serde_json::Value =
            serde_json::from_str(DEFAULT_POLICY).unwrap_or_default();
        unknown["surprise"] = serde_json::json!(1);
        assert!(matches!(
            SloPolicy::parse(&unknown.to_string()),
            Err(SloPolicyError::Parse(_))
        ));
    }

    #[test]
    fn a_file_is_named_in_its_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        assert!(matches!(
            SloPolicy::load(Some(&path)),
            Err(SloPolicyError::Read { .. })
        ));
        std::fs::write(&path, "{}").unwrap();
        let error = SloPolicy::load(Some(&path)).unwrap_err();
        assert!(matches!(&error, SloPolicyError::InFile { source, .. }
            if matches!(**source, SloPolicyError::Parse(_))));
        assert!(error.to_string().starts_with(&path.display().to_string()));
    }
}
