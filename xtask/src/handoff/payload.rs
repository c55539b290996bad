//! The handoff payload (docs/spec/integration-contract.md): its shape, how it is built from the manifest, the
//! source of truth and the mirrors list, and how it is dated.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::git;
use crate::pack::{self, CHANGELOG_PATH, MANIFEST_PATH, ProducerManifest, SourceOfTruth};
use memory_kernel_contract::EnvelopePolicy;

/// `handoff_mode` of the stable payload.
pub const STABLE_MODE: &str = "stable";
/// `handoff_mode` of the candidate payload.
pub const CANDIDATE_MODE: &str = "service-v3-candidate";
/// The keys only a candidate payload has.
pub const CANDIDATE_ONLY_KEYS: [&str; 3] = [
    "rehearsal_candidate",
    "compatibility_expectations",
    "required_consumer_validation_commands",
];
/// The commands that verify a release; consumers may run them on a producer checkout.
pub const VERIFICATION_COMMANDS: [&str; 5] = [
    "cargo xtask verify",
    "cargo xtask contracts",
    "cargo xtask manifest",
    "cargo xtask handoff verify",
    "cargo xtask parity",
];

/// Which payload to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The stable payload: the release consumers run today.
    Stable,
    /// The rehearsal payload for a service.v3 candidate (`service-v3-candidate`).
    #[value(alias = "service-v3-candidate")]
    Candidate,
}

impl Mode {
    /// The `handoff_mode` value.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Stable => STABLE_MODE,
            Mode::Candidate => CANDIDATE_MODE,
        }
    }
}

/// The payload; field order is the published key order.
#[derive(Debug, Clone, Serialize)]
pub struct HandoffPayload {
    handoff_generated_at_utc: String,
    handoff_mode: &'static str,
    release_tag: String,
    commit_sha: String,
    expected_service_contract_version: String,
    expected_api_contract_version: String,
    integration_baseline: String,
    active_runtime_baseline: RuntimeBaseline,
    error_code_enum: Vec<String>,
    non_2xx_envelope_policy: EnvelopePolicies,
    manifest_contract_version: String,
    manifest_path: &'static str,
    changelog_path: &'static str,
    verification_commands: Vec<&'static str>,
    consumer_impact_statement_template: ImpactTemplate,
    #[serde(skip_serializing_if = "Option::is_none")]
    rehearsal_candidate: Option<RehearsalCandidate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compatibility_expectations: Option<CompatibilityExpectations>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required_consumer_validation_commands: Option<Vec<ConsumerValidation>>,
}

#[derive(Debug, Clone, Serialize)]
struct RuntimeBaseline {
    release_tag: String,
    commit_sha: String,
    expected_service_contract_version: String,
    expected_api_contract_version: String,
    integration_baseline: String,
}

#[derive(Debug, Clone, Serialize)]
struct EnvelopePolicies {
    service_v3_stable: EnvelopePolicy,
    service_v3_candidate: EnvelopePolicy,
}

#[derive(Debug, Clone, Serialize)]
struct ImpactTemplate {
    runtime_behavior_changes: &'static str,
    required_consumer_mapping_changes: &'static str,
    required_test_updates: &'static str,
    repin_required: &'static str,
    rollback_instruction: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct RehearsalCandidate {
    requires_runtime_cutover: bool,
    consumer_non_blocking_fallback_required: bool,
    candidate_service_contract_version: String,
    fallback_release_tag: String,
}

#[derive(Debug, Clone, Serialize)]
struct CompatibilityExpectations {
    versions_compared: &'static str,
    error_code_enum_compared: &'static str,
    liveness_endpoint: String,
    readiness_endpoint: String,
    non_2xx_envelope_policy_unchanged: bool,
    additive_error_codes_require_notice: bool,
}

#[derive(Debug, Clone, Serialize)]
struct ConsumerValidation {
    consumer: String,
    mirror: String,
    commands: Vec<String>,
}

/// Builds the payload of `mode` for the tree at `root`, dated `generated_at`.
///
/// # Errors
/// When the manifest, the source of truth or the mirrors list cannot be read.
pub fn build(root: &Path, mode: Mode, generated_at: &str) -> Result<HandoffPayload> {
    let manifest = pack::manifest(root)?;
    let source = pack::source_of_truth(root)?;
    let candidate = mode == Mode::Candidate;
    let consumers = || -> Result<Vec<ConsumerValidation>> {
        Ok(pack::mirrors(root)?
            .mirrors
            .into_iter()
            .map(|mirror| ConsumerValidation {
                consumer: mirror.consumer,
                mirror: mirror.name,
                commands: mirror.validation_commands,
            })
            .collect())
    };
    Ok(HandoffPayload {
        handoff_generated_at_utc: generated_at.to_owned(),
        handoff_mode: mode.name(),
        release_tag: manifest.release_tag.clone(),
        commit_sha: manifest.commit_sha.clone(),
        expected_service_contract_version: manifest.expected_service_contract_version.clone(),
        expected_api_contract_version: manifest.expected_api_contract_version.clone(),
        integration_baseline: manifest.integration_baseline.clone(),
        active_runtime_baseline: baseline(&manifest),
        error_code_enum: manifest.error_code_enum.clone(),
        non_2xx_envelope_policy: EnvelopePolicies {
            service_v3_stable: source.non_2xx_envelope_policy.clone(),
            service_v3_candidate: source.non_2xx_envelope_policy.clone(),
        },
        manifest_contract_version: manifest.manifest_contract_version.clone(),
        manifest_path: MANIFEST_PATH,
        changelog_path: CHANGELOG_PATH,
        verification_commands: VERIFICATION_COMMANDS.to_vec(),
        consumer_impact_statement_template: ImpactTemplate {
            runtime_behavior_changes: "none | what a consumer observes differently at runtime",
            required_consumer_mapping_changes: "none | the codes, fields or paths consumers must map anew",
            required_test_updates: "none | the consumer tests to update",
            repin_required: "yes | no: whether consumers re-pin the manifest's sha256",
            rollback_instruction: "re-pin the previous release_tag's manifest and run its verification_commands",
        },
        rehearsal_candidate: candidate.then(|| RehearsalCandidate {
            requires_runtime_cutover: false,
            consumer_non_blocking_fallback_required: true,
            candidate_service_contract_version: source.expected_service_contract_version.clone(),
            fallback_release_tag: manifest.release_tag.clone(),
        }),
        compatibility_expectations: candidate.then(|| compatibility(&source)),
        required_consumer_validation_commands: if candidate { Some(consumers()?) } else { None },
    })
}

fn baseline(manifest: &ProducerManifest) -> RuntimeBaseline {
    RuntimeBaseline {
        release_tag: manifest.release_tag.clone(),
        commit_sha: manifest.commit_sha.clone(),
        expected_service_contract_version: manifest.expected_service_contract_version.clone(),
        expected_api_contract_version: manifest.expected_api_contract_version.clone(),
        integration_baseline: manifest.integration_baseline.clone(),
    }
}

fn compatibility(source: &SourceOfTruth) -> CompatibilityExpectations {
    CompatibilityExpectations {
        versions_compared: "exact",
        error_code_enum_compared: "as_set",
        liveness_endpoint: source.liveness_endpoint.clone(),
        readiness_endpoint: source.readiness_endpoint.clone(),
        non_2xx_envelope_policy_unchanged: true,
        additive_error_codes_require_notice: true,
    }
}

/// The payload as published: pretty JSON, two-space indent, final newline.
///
/// # Errors
/// Never in practice (the payload is plain data).
pub fn render(payload: &HandoffPayload) -> Result<String> {
    Ok(serde_json::to_string_pretty(payload).context("cannot render the handoff payload")? + "\n")
}

/// Unix seconds as RFC 3339 UTC, e.g. `2026-02-01T00:00:00Z`.
#[must_use]
pub fn rfc3339_utc(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let seconds = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Whether `text` is an RFC 3339 UTC time in the form [`rfc3339_utc`] writes.
#[must_use]
pub fn is_rfc3339_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:ddZ";
    bytes.len() == shape.len()
        && shape.bytes().zip(bytes).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            other => other == *got,
        })
}

/// The timestamp of a freshly generated payload: `SOURCE_DATE_EPOCH` when set, else the
/// commit time of the manifest's `commit_sha`.
///
/// # Errors
/// When `SOURCE_DATE_EPOCH` is not a number, or git does not know the commit.
pub fn generation_time(root: &Path, source_date_epoch: Option<&str>) -> Result<String> {
    if let Some(epoch) = source_date_epoch {
        let epoch: i64 = epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={epoch:?} is not a number of seconds"))?;
        return Ok(rfc3339_utc(epoch));
    }
    let manifest = pack::manifest(root)?;
    release_commit_time(root, &manifest.commit_sha)?.with_context(|| {
        format!(
            "cannot date the handoff: set SOURCE_DATE_EPOCH, or run in a git checkout that \
             has the manifest's commit {}",
            manifest.commit_sha
        )
    })
}

/// The commit time of `sha` as RFC 3339 UTC, or `None` when `root` is not a checkout that
/// has the commit.
///
/// # Errors
/// When git knows the commit but cannot date it.
pub fn release_commit_time(root: &Path, sha: &str) -> Result<Option<String>> {
    if !git::is_checkout(root) || !git::has_commit(root, sha) {
        return Ok(None);
    }
    Ok(Some(rfc3339_utc(git::commit_time(root, sha)?)))
}

/// Whether `path` is repo-relative: not absolute, no drive letter, no backslash, no `..`.
#[must_use]
pub fn is_repo_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path.get(1..2).is_none_or(|second| second != ":")
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_769_904_000), "2026-02-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_769_904_000 + 3_723), "2026-02-01T01:02:03Z");
        assert!(is_rfc3339_utc("2026-02-01T01:02:03Z"));
        assert!(!is_rfc3339_utc("2026-02-01T01:02:03+00:00"));
    }

    #[test]
    fn repo_relative_paths() {
        for good in ["CHANGELOG.md", "contracts/integration/v1/x.json"] {
            assert!(is_repo_relative(good), "{good}");
        }
        for bad in ["/abs/x", "C:/x", "a\\b", "../x", "a/../b", "", "a//b"] {
            assert!(!is_repo_relative(bad), "{bad}");
        }
    }
}
