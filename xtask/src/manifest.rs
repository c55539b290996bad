//! `cargo xtask manifest`: the producer contract manifest (docs/spec/integration-contract.md) is valid, agrees with
//! the source of truth and points at a real release commit.

use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};
use xshell::Shell;

use crate::contracts::json_diff;
use crate::findings::Findings;
use crate::git;
use crate::pack::{self, MANIFEST_CONTRACT_VERSION, MANIFEST_PATH, PACK_DIR, ProducerManifest};
use crate::schemas::ContractSchemas;

/// The manifest's schema.
pub const MANIFEST_SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/producer-contract-manifest.schema.json";

/// Check contracts/integration/v1/producer-contract-manifest.json (docs/spec/integration-contract.md)
///
/// Consumers pin this file by its sha256, so every value in it is checked:
///
///   schema         it validates against schemas/producer-contract-manifest.schema.json.
///   versions       manifest_contract_version is producer-contract-manifest.v1; the
///                  service and API versions, integration_baseline and error_code_enum
///                  (same codes, same order) equal the source of truth
///                  (contracts/integration/v1/service-contract-source-of-truth.json).
///   release        release_tag is vX.Y.Z; commit_sha is 40 lowercase hex digits and, in a
///                  git checkout with history, a commit that is an ancestor of HEAD (skipped
///                  with a note outside a checkout, or in a shallow clone lacking it).
///   policy         stability_window.minimum_sprint_days 14; notice policy 10 business
///                  days, 24 emergency hours, same-day docs/spec/tests required; every
///                  service_v3_transition_guard flag true.
///
/// How to fix a failure: edit the manifest so it says what the message asks. It changes
/// at release time: set release_tag and commit_sha to the release, copy versions and codes
/// from the source of truth, then run `cargo xtask codegen` (the handoff payload and the
/// generated baselines follow the manifest).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Manifest {}

/// Runs the manifest check on the tree the shell is rooted at.
///
/// # Errors
/// When a problem is found.
pub fn run(sh: &Shell, _args: &Manifest) -> Result<()> {
    check(&sh.current_dir())?.report("cargo xtask manifest")
}

/// Every manifest rule, on the tree at `root`.
///
/// # Errors
/// When the manifest or the source of truth cannot be read at all.
pub fn check(root: &Path) -> Result<Findings> {
    let mut findings = Findings::new();
    let source = pack::source_of_truth(root)?;
    let text = pack::read_text(root, MANIFEST_PATH)?;
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            findings.problem(format!("{MANIFEST_PATH} is not JSON: {error}"));
            return Ok(findings);
        }
    };
    let schemas = ContractSchemas::load(root)?;
    match schemas.violations(MANIFEST_SCHEMA_PATH, &value) {
        Ok(violations) if violations.is_empty() => {}
        Ok(violations) => findings.problem(format!(
            "{MANIFEST_PATH} does not validate against {MANIFEST_SCHEMA_PATH}:\n  {}",
            violations.join("\n  ")
        )),
        Err(error) => findings.problem(format!("{error:#}")),
    }
    let manifest: ProducerManifest = match serde_json::from_value(value) {
        Ok(manifest) => manifest,
        Err(error) => {
            findings.problem(format!(
                "{MANIFEST_PATH} does not have the manifest's shape: {error}"
            ));
            return Ok(findings);
        }
    };
    if manifest.manifest_contract_version != MANIFEST_CONTRACT_VERSION {
        findings.problem(format!(
            "{MANIFEST_PATH}: manifest_contract_version is {:?}, must be {MANIFEST_CONTRACT_VERSION:?}",
            manifest.manifest_contract_version
        ));
    }
    let agree = [
        (
            "expected_service_contract_version",
            json!(source.expected_service_contract_version),
            json!(manifest.expected_service_contract_version),
        ),
        (
            "expected_api_contract_version",
            json!(source.expected_api_contract_version),
            json!(manifest.expected_api_contract_version),
        ),
        (
            "integration_baseline",
            json!(source.integration_baseline),
            json!(manifest.integration_baseline),
        ),
        (
            "error_code_enum",
            json!(source.error_code_enum),
            json!(manifest.error_code_enum),
        ),
    ];
    for (field, expected, actual) in agree {
        if expected != actual {
            findings.problem(format!(
                "{MANIFEST_PATH}: {field} differs from the source of truth \
                 ({PACK_DIR}/service-contract-source-of-truth.json):\n{}fix: copy it from the \
                 source of truth, then run `cargo xtask codegen`",
                json_diff(&format!("{MANIFEST_PATH}#{field}"), &expected, &actual)
            ));
        }
    }
    if !git::is_release_tag(&manifest.release_tag) {
        findings.problem(format!(
            "{MANIFEST_PATH}: release_tag {:?} is not vX.Y.Z",
            manifest.release_tag
        ));
    } else {
        recorded_release(root, &manifest, &mut findings)?;
    }
    if is_commit_sha(&manifest.commit_sha) {
        release_commit(root, &manifest.commit_sha, &mut findings)?;
    } else {
        findings.problem(format!(
            "{MANIFEST_PATH}: commit_sha {:?} is not 40 lowercase hex digits",
            manifest.commit_sha
        ));
    }
    policy(&manifest, &mut findings);
    Ok(findings)
}

/// Whether `sha` is a full commit id: 40 lowercase hex digits.
#[must_use]
pub fn is_commit_sha(sha: &str) -> bool {
    sha.len() == 40
        && sha
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The release the manifest names must be recorded (`cargo xtask release cut`), for the same
/// commit: a manifest never names a release that was not made.
fn recorded_release(
    root: &Path,
    manifest: &ProducerManifest,
    findings: &mut Findings,
) -> Result<()> {
    let version = manifest.release_tag.trim_start_matches('v');
    match crate::release::find(root, version)? {
        None => findings.problem(format!(
            "{MANIFEST_PATH}: release_tag {} names a release that is not recorded in {}/: \
             record it with `cargo xtask release cut {version}` (which also sets release_tag \
             and commit_sha)",
            manifest.release_tag,
            crate::release::RELEASES_DIR
        )),
        Some(release) if release.record.commit_sha != manifest.commit_sha => {
            findings.problem(format!(
                "{MANIFEST_PATH}: commit_sha {} is not the commit release {version} was cut \
                 from ({}, in {}/{version}/{}): set it to that commit",
                manifest.commit_sha,
                release.record.commit_sha,
                crate::release::RELEASES_DIR,
                crate::release::RELEASE_FILE
            ));
        }
        Some(_) => {}
    }
    Ok(())
}

fn release_commit(root: &Path, sha: &str, findings: &mut Findings) -> Result<()> {
    if !git::is_checkout(root) {
        findings.note(format!(
            "commit_sha {sha}: not a git checkout, so its ancestry is not checked"
        ));
        return Ok(());
    }
    if !git::has_commit(root, sha) {
        if git::is_shallow(root)? {
            findings.note(format!(
                "commit_sha {sha} is not in this shallow clone, so its ancestry is not checked \
                 (`git fetch --unshallow` to check it)"
            ));
        } else {
            findings.problem(format!(
                "{MANIFEST_PATH}: commit_sha {sha} is not a commit of this repository: set it \
                 to the release commit"
            ));
        }
        return Ok(());
    }
    if !git::is_ancestor(root, sha, "HEAD")? {
        findings.problem(format!(
            "{MANIFEST_PATH}: commit_sha {sha} is not an ancestor of HEAD: the release commit \
             must be in this branch's history"
        ));
    }
    Ok(())
}

fn policy(manifest: &ProducerManifest, findings: &mut Findings) {
    let notice = &manifest.additive_error_code_notice_policy;
    let guard = &manifest.service_v3_transition_guard;
    let rules = [
        (
            "stability_window.minimum_sprint_days",
            json!(manifest.stability_window.minimum_sprint_days),
            json!(14),
        ),
        (
            "additive_error_code_notice_policy.standard_business_days",
            json!(notice.standard_business_days),
            json!(10),
        ),
        (
            "additive_error_code_notice_policy.emergency_notice_hours",
            json!(notice.emergency_notice_hours),
            json!(24),
        ),
        (
            "additive_error_code_notice_policy.emergency_requires_same_day_docs_spec_tests",
            json!(notice.emergency_requires_same_day_docs_spec_tests),
            json!(true),
        ),
        (
            "service_v3_transition_guard.legacy_error_must_remain_in_service_v2",
            json!(guard.legacy_error_must_remain_in_service_v2),
            json!(true),
        ),
        (
            "service_v3_transition_guard.legacy_error_removal_requires_service_v3",
            json!(guard.legacy_error_removal_requires_service_v3),
            json!(true),
        ),
        (
            "service_v3_transition_guard.consumer_green_repin_required_before_legacy_error_removal",
            json!(guard.consumer_green_repin_required_before_legacy_error_removal),
            json!(true),
        ),
    ];
    for (field, actual, expected) in rules {
        if actual != expected {
            findings.problem(format!(
                "{MANIFEST_PATH}: {field} is {actual}, docs/spec/integration-contract.md sets it to {expected}"
            ));
        }
    }
}
