//! `evidence.json` (`release-evidence-bundle.v2`): what a release's evidence says, typed.
//!
//! One shape, two scopes. A tarball's `evidence.json` (scope `release-bundle`) records the run:
//! the gates and the git state of the tree. The published summary
//! (`docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json`, scope `published-summary`) is the
//! same document without those two run-specific parts, so it is a pure function of the tree
//! and `cargo xtask codegen` can keep it current on every commit. Field order here is the
//! published key order. Schema:
//! `contracts/integration/v1/schemas/release-evidence-bundle.schema.json`.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::artifacts::Artifact;
use crate::pack;

/// The value of `evidence_bundle_version`.
pub const EVIDENCE_BUNDLE_VERSION: &str = "release-evidence-bundle.v2";

/// The schema every `evidence.json` and the published summary validate against.
pub const SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/release-evidence-bundle.schema.json";

/// `evidence.json`, or the published summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// [`EVIDENCE_BUNDLE_VERSION`].
    pub evidence_bundle_version: String,
    /// Which of the two documents this is.
    pub scope: Scope,
    /// The active runtime baseline, from the producer manifest.
    pub runtime_baseline: RuntimeBaseline,
    /// What the governed files assert.
    pub policy_assertions: PolicyAssertions,
    /// Every governed artifact, sorted by path.
    pub artifacts: Vec<ArtifactDigest>,
    /// The gates the run ran, in order (`release-bundle` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<Vec<GateRun>>,
    /// The git state of the tree (`release-bundle` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceState>,
}

/// Which document an [`Evidence`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The `evidence.json` inside a tarball: carries `gates` and `source`.
    ReleaseBundle,
    /// The published summary: neither `gates` nor `source`.
    PublishedSummary,
}

/// `runtime_baseline`: the release the manifest describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeBaseline {
    /// `vX.Y.Z`; also names the tarball.
    pub release_tag: String,
    /// The release commit.
    pub commit_sha: String,
    /// `service.v3`.
    pub expected_service_contract_version: String,
    /// `api.v1`.
    pub expected_api_contract_version: String,
    /// `integration/v1`.
    pub integration_baseline: String,
}

/// `policy_assertions`: the policy values the governed files state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAssertions {
    /// The error codes of the source of truth, canonical order.
    pub error_code_enum: Vec<String>,
    /// The source of truth's `service_contract_source_version`.
    pub service_contract_source_version: String,
    /// The SLO policy's `slo_policy_version`.
    pub slo_policy_version: String,
}

/// One artifact: where it is, how big, and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactDigest {
    /// Repo-relative path (also its path under the tarball's top folder).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex sha256.
    pub sha256: String,
}

/// One gate of the run and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRun {
    /// The gate's name, as `cargo xtask verify` knows it.
    pub gate: String,
    /// How it ended.
    pub status: GateStatus,
}

/// How a gate of a release run ended (a failed gate stops the run: no bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// Ran and passed.
    Passed,
    /// Not run (fmt, clippy and test without `--full`).
    Skipped,
}

/// `source`: the git state the bundle was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceState {
    /// `git rev-parse HEAD`.
    pub git_head: String,
    /// Whether `git status --porcelain` listed anything: the bundle then holds work-tree
    /// bytes that no commit has, and differs from a clean run of the same HEAD.
    pub tree_dirty: bool,
}

impl Evidence {
    /// The published summary of the tree at `root` whose governed files are `artifacts`.
    ///
    /// # Errors
    /// When the manifest, the source of truth or the SLO policy cannot be read.
    pub fn summary(root: &Path, artifacts: &[Artifact]) -> Result<Self> {
        let manifest = pack::manifest(root)?;
        let source = pack::source_of_truth(root)?;
        let slo: Value = pack::read_json(root, crate::slo::POLICY_PATH)?;
        let slo_policy_version = slo["slo_policy_version"]
            .as_str()
            .with_context(|| format!("{} has no slo_policy_version", crate::slo::POLICY_PATH))?
            .to_owned();
        Ok(Self {
            evidence_bundle_version: EVIDENCE_BUNDLE_VERSION.to_owned(),
            scope: Scope::PublishedSummary,
            runtime_baseline: RuntimeBaseline {
                release_tag: manifest.release_tag,
                commit_sha: manifest.commit_sha,
                expected_service_contract_version: manifest.expected_service_contract_version,
                expected_api_contract_version: manifest.expected_api_contract_version,
                integration_baseline: manifest.integration_baseline,
            },
            policy_assertions: PolicyAssertions {
                error_code_enum: source.error_code_enum,
                service_contract_source_version: source.service_contract_source_version,
                slo_policy_version,
            },
            artifacts: artifacts
                .iter()
                .map(|artifact| ArtifactDigest {
                    path: artifact.path.clone(),
                    size: artifact.bytes.len() as u64,
                    sha256: artifact.sha256(),
                })
                .collect(),
            gates: None,
            source: None,
        })
    }

    /// This summary as a tarball's `evidence.json`: the gates run and the git state added.
    #[must_use]
    pub fn into_bundle(self, gates: Vec<GateRun>, source: SourceState) -> Self {
        Self {
            scope: Scope::ReleaseBundle,
            gates: Some(gates),
            source: Some(source),
            ..self
        }
    }

    /// The published summary this document projects to (the run-specific parts dropped).
    #[must_use]
    pub fn to_summary(&self) -> Self {
        Self {
            scope: Scope::PublishedSummary,
            gates: None,
            source: None,
            ..self.clone()
        }
    }

    /// Pretty JSON (two-space indent) with a final newline: the bytes that are written.
    ///
    /// # Errors
    /// Never in practice (every field serialises).
    pub fn render(&self) -> Result<String> {
        let mut text =
            serde_json::to_string_pretty(self).context("cannot serialise the evidence")?;
        text.push('\n');
        Ok(text)
    }
}
