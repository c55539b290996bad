//! The published summary `docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json`: what it
//! is, how `cargo xtask codegen` writes it and how the `evidence-summary` gate checks it.
//!
//! Policy: the summary is the tree's release evidence without the run-specific parts (the
//! gates run, HEAD and the dirty flag), scope `published-summary`: the active runtime baseline
//! of the manifest, the policy assertions, and every governed artifact with its size and
//! sha256. It is a pure function of the tree, so `cargo xtask codegen` regenerates it on every
//! commit, in the same pass as the artifacts it digests (it renders them first), and `verify`
//! stays green after one `codegen` run. A governed file changed without regenerating fails
//! the gate, naming the file. A release's bundle carries the same content in its
//! `evidence.json`, plus the run record.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use serde_json::{Value, json};
use xshell::Shell;

use super::artifacts;
use super::document::{Evidence, SCHEMA_PATH, Scope};
use crate::findings::Findings;
use crate::pack;
use crate::runtime::RuntimeTruth;
use crate::schemas::ContractSchemas;

/// Where the summary is published.
pub const SUMMARY_PATH: &str = "docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json";

/// The command that regenerates the summary.
pub const FIX: &str = "cargo xtask codegen";

/// The gate's own command.
pub const RERUN: &str = "cargo xtask release-evidence check-summary";

/// The summary of the tree at `root`; `overlay` stands in for files about to be written.
///
/// # Errors
/// When a governed file is missing or unreadable, or the manifest, the source of truth or
/// the SLO policy cannot be read.
pub fn expected(root: &Path, overlay: &BTreeMap<String, Vec<u8>>) -> Result<Evidence> {
    let artifacts = artifacts::collect(root, overlay)?;
    Evidence::summary(root, &artifacts)
}

/// The summary as `cargo xtask codegen` writes it: every other generated artifact is
/// rendered first and digested as it will be written, so one run leaves a consistent set.
///
/// # Errors
/// As [`expected`], or when another artifact cannot be rendered at all.
pub fn render_generated(root: &Path, truth: &RuntimeTruth) -> Result<String> {
    let (others, _) = crate::codegen::expected_except(root, truth, SUMMARY_PATH)?;
    render_over(root, &others)
}

/// The summary digesting `others` (`(path, content)` of the other generated artifacts, as
/// they are about to be written) instead of their files.
///
/// # Errors
/// As [`expected`].
pub fn render_over(root: &Path, others: &[(String, String)]) -> Result<String> {
    let overlay = others
        .iter()
        .map(|(path, content)| (path.clone(), content.clone().into_bytes()))
        .collect();
    expected(root, &overlay)?.render()
}

/// The `evidence-summary` gate on the tree at `root`: the summary validates against its
/// schema, is a published summary, and every listed sha256 (and the baseline and policy
/// values) matches the tree.
///
/// # Errors
/// Only for unexpected failures (a problem is a finding).
pub fn check(root: &Path) -> Result<Findings> {
    let mut findings = Findings::new();
    let Ok(text) = pack::read_text(root, SUMMARY_PATH) else {
        findings.problem(format!("{SUMMARY_PATH} is missing: run `{FIX}`"));
        return Ok(findings);
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            findings.problem(format!("{SUMMARY_PATH} is not JSON ({error}): run `{FIX}`"));
            return Ok(findings);
        }
    };
    match ContractSchemas::load(root)?.violations(SCHEMA_PATH, &value) {
        Ok(violations) if violations.is_empty() => {}
        Ok(violations) => findings.problem(format!(
            "{SUMMARY_PATH} does not validate against {SCHEMA_PATH}:\n  {}\nfix: run `{FIX}`",
            violations.join("\n  ")
        )),
        Err(error) => findings.problem(format!("{error:#}")),
    }
    let published: Evidence = match serde_json::from_value(value) {
        Ok(published) => published,
        Err(error) => {
            findings.problem(format!(
                "{SUMMARY_PATH} is not an evidence document ({error}): run `{FIX}`"
            ));
            return Ok(findings);
        }
    };
    if published.scope != Scope::PublishedSummary
        || published.gates.is_some()
        || published.source.is_some()
    {
        findings.problem(format!(
            "{SUMMARY_PATH} must be a published summary (scope published-summary, no gates, no \
             source), not a bundle's evidence.json: run `{FIX}`"
        ));
    }
    let fresh = match expected(root, &BTreeMap::new()) {
        Ok(fresh) => fresh,
        Err(error) => {
            findings.problem(format!("cannot derive the tree's evidence: {error:#}"));
            return Ok(findings);
        }
    };
    compare(&published, &fresh, &mut findings);
    Ok(findings)
}

/// One problem per stale value and per stale, unlisted or vanished artifact.
fn compare(published: &Evidence, fresh: &Evidence, findings: &mut Findings) {
    for (field, listed, tree) in [
        (
            "runtime_baseline",
            json!(published.runtime_baseline),
            json!(fresh.runtime_baseline),
        ),
        (
            "policy_assertions",
            json!(published.policy_assertions),
            json!(fresh.policy_assertions),
        ),
    ] {
        if listed != tree {
            findings.problem(format!(
                "{SUMMARY_PATH} is stale: its {field} is {listed}, the tree says {tree}: run \
                 `{FIX}`"
            ));
        }
    }
    let tree: BTreeMap<&str, (u64, &str)> = fresh
        .artifacts
        .iter()
        .map(|a| (a.path.as_str(), (a.size, a.sha256.as_str())))
        .collect();
    for artifact in &published.artifacts {
        match tree.get(artifact.path.as_str()) {
            None => findings.problem(format!(
                "{SUMMARY_PATH} is stale: it lists {}, which is no longer a governed file of \
                 the tree: run `{FIX}`",
                artifact.path
            )),
            Some((size, sha256)) if *sha256 != artifact.sha256 || *size != artifact.size => {
                findings.problem(format!(
                    "{SUMMARY_PATH} is stale: {} changed since it was generated (listed sha256 \
                     {}, {} bytes; the tree has {sha256}, {size} bytes): run `{FIX}`",
                    artifact.path, artifact.sha256, artifact.size
                ));
            }
            Some(_) => {}
        }
    }
    for path in tree.keys() {
        if !published.artifacts.iter().any(|a| a.path == *path) {
            findings.problem(format!(
                "{SUMMARY_PATH} is stale: governed file {path} is not listed: run `{FIX}`"
            ));
        }
    }
}

/// The `evidence-summary` gate of `cargo xtask verify`, on the tree the shell is rooted at.
///
/// # Errors
/// When the summary is missing, invalid or stale.
pub fn gate(sh: &Shell) -> Result<()> {
    check(&sh.current_dir())?.report(RERUN)
}
