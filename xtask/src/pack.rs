//! The integration pack's governed documents, typed: where each lives and how it reads.
//!
//! `contracts/integration/v1/` is the canonical producer pack (docs/spec/integration-contract.md, MKR-057). The
//! source of truth (§8.2) is hand-written and is what every other document is checked
//! against; the producer manifest (§8.3) is written at release time; `mirrors.json` lists
//! the consumer copies that `cargo xtask parity` compares.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use memory_kernel_contract::EnvelopePolicy;

/// The canonical integration pack folder.
pub const PACK_DIR: &str = "contracts/integration/v1";
/// The source of truth (docs/spec/integration-contract.md).
pub const SOURCE_OF_TRUTH_PATH: &str =
    "contracts/integration/v1/service-contract-source-of-truth.json";
/// The producer manifest (docs/spec/integration-contract.md).
pub const MANIFEST_PATH: &str = "contracts/integration/v1/producer-contract-manifest.json";
/// The consumer mirrors `cargo xtask parity` checks.
pub const MIRRORS_PATH: &str = "contracts/integration/mirrors.json";
/// The checked-in copy of the service's OpenAPI document.
pub const OPENAPI_PATH: &str = "contracts/openapi/service.v3.yaml";
/// The changelog every contract change is recorded in.
pub const CHANGELOG_PATH: &str = "CHANGELOG.md";
/// The published handoff payload (docs/spec/integration-contract.md).
pub const PUBLISHED_HANDOFF_PATH: &str = "docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json";
/// The value of the manifest's `manifest_contract_version`.
pub const MANIFEST_CONTRACT_VERSION: &str = "producer-contract-manifest.v1";

/// `service-contract-source-of-truth.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOfTruth {
    /// `service-contract-source.v1`.
    pub service_contract_source_version: String,
    /// `service.v3`.
    pub expected_service_contract_version: String,
    /// `api.v1`.
    pub expected_api_contract_version: String,
    /// `integration/v1`.
    pub integration_baseline: String,
    /// `/v1/health`.
    pub liveness_endpoint: String,
    /// `/v1/ready`.
    pub readiness_endpoint: String,
    /// The error codes, canonical order.
    pub error_code_enum: Vec<String>,
    /// The non-2xx envelope policy.
    pub non_2xx_envelope_policy: EnvelopePolicy,
}

/// `producer-contract-manifest.json` (docs/spec/integration-contract.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerManifest {
    /// `producer-contract-manifest.v1`.
    pub manifest_contract_version: String,
    /// The release this manifest describes, `vX.Y.Z`.
    pub release_tag: String,
    /// The commit of that release: 40 lowercase hex digits.
    pub commit_sha: String,
    /// `service.v3`.
    pub expected_service_contract_version: String,
    /// `api.v1`.
    pub expected_api_contract_version: String,
    /// `integration/v1`.
    pub integration_baseline: String,
    /// The error codes, canonical order.
    pub error_code_enum: Vec<String>,
    /// How long a contract stays unchanged.
    pub stability_window: StabilityWindow,
    /// How much notice consumers get of a new error code.
    pub additive_error_code_notice_policy: NoticePolicy,
    /// The rules for retiring `legacy_error`.
    pub service_v3_transition_guard: TransitionGuard,
}

/// `stability_window`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StabilityWindow {
    /// 14.
    pub minimum_sprint_days: u32,
}

/// `additive_error_code_notice_policy`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoticePolicy {
    /// 10.
    pub standard_business_days: u32,
    /// 24.
    pub emergency_notice_hours: u32,
    /// true.
    pub emergency_requires_same_day_docs_spec_tests: bool,
}

/// `service_v3_transition_guard`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_field_names)]
pub struct TransitionGuard {
    /// true.
    pub legacy_error_must_remain_in_service_v2: bool,
    /// true.
    pub legacy_error_removal_requires_service_v3: bool,
    /// true.
    pub consumer_green_repin_required_before_legacy_error_removal: bool,
}

/// `mirrors.json`: `{"mirrors": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirrors {
    /// Every registered consumer copy of the pack; empty when there is none.
    pub mirrors: Vec<Mirror>,
}

/// One consumer copy of the canonical pack.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    /// A short unique name, used in messages.
    pub name: String,
    /// The mirror folder: relative to the repository root, or absolute.
    pub path: String,
    /// The consumer that owns the copy.
    pub consumer: String,
    /// The commands that consumer runs to validate a candidate release.
    pub validation_commands: Vec<String>,
}

/// Reads a repo-relative file as text.
///
/// # Errors
/// When the file cannot be read or is not UTF-8.
pub fn read_text(root: &Path, path: &str) -> Result<String> {
    fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))
}

/// Reads and parses a repo-relative JSON file.
///
/// # Errors
/// When the file cannot be read or does not have the expected shape.
pub fn read_json<T: DeserializeOwned>(root: &Path, path: &str) -> Result<T> {
    let text = read_text(root, path)?;
    serde_json::from_str(&text).with_context(|| format!("{path} is not valid"))
}

/// The source of truth under `root`.
///
/// # Errors
/// When it is missing or malformed.
pub fn source_of_truth(root: &Path) -> Result<SourceOfTruth> {
    read_json(root, SOURCE_OF_TRUTH_PATH)
}

/// The producer manifest under `root`.
///
/// # Errors
/// When it is missing or malformed.
pub fn manifest(root: &Path) -> Result<ProducerManifest> {
    read_json(root, MANIFEST_PATH)
}

/// The mirrors list under `root`; no file means no mirrors.
///
/// # Errors
/// When the file exists but is malformed.
pub fn mirrors(root: &Path) -> Result<Mirrors> {
    if root.join(MIRRORS_PATH).exists() {
        read_json(root, MIRRORS_PATH)
    } else {
        Ok(Mirrors::default())
    }
}
