//! `cargo xtask boundaries`: module boundaries and ownership, checked against
//! `contracts/governance/boundaries.json`.
//!
//! [`check`] is pure apart from reading the tree: it takes the root and the parsed
//! `cargo metadata`, so tests run it on temporary trees with fixture metadata. The governance
//! file's model is [`governance`], the dependency edges come from [`metadata`], ownership
//! completeness is [`ownership`] and the generated document tables are [`render`].

pub mod governance;
pub mod metadata;
pub mod ownership;
pub mod render;

use std::fs;
use std::path::Path;

use anyhow::Result;
use xshell::Shell;

pub use governance::{GOVERNANCE_PATH, Governance};
pub use metadata::Metadata;
pub use render::{
    DOC_BLOCKS, render_change_rules, render_dependency_rules, render_domains,
    render_ownership_matrix, render_rollback_steps,
};

use crate::findings::Findings;

/// Check crate dependency boundaries, file ownership and the consolidation docs' tables
///
/// Reads contracts/governance/boundaries.json (validated against
/// contracts/governance/schemas/governance.schema.json) and checks:
///
///   dependency edges   every dependency between two workspace crates, as listed by
///                      `cargo metadata --no-deps` (normal, dev and build alike), is allowed
///                      by the depending crate's rule: core → nothing of ours; store → core;
///                      api → core + store; cli and service → api + core, never the store;
///                      contract → nothing of ours; xtask → the contract facts only. A failure names the edge, the manifest
///                      and the rule: remove the dependency (or, if the architecture really
///                      changed, change the rule and say why in the change).
///   ownership          every file git knows (tracked, plus untracked files not ignored;
///                      outside a checkout every file but target/ and .git/) is owned by
///                      exactly one ownership area. Patterns are folder prefixes ending in
///                      `/` or exact files. Fix: add the path to one area's `paths`, or
///                      narrow overlapping patterns.
///   references         each crate is in one domain and has one rule; every gate named as
///                      required evidence is a `cargo xtask verify` gate; path patterns are
///                      repo-relative without globs; every rollback step appears once.
///   generated tables   the generated blocks of docs/implementation/
///                      PRODUCER_MODULE_BOUNDARY_MAP.md, PRODUCER_OWNERSHIP_MATRIX.md and
///                      PRODUCER_CONSOLIDATION_ROLLBACK_CHECKLIST.md match the governance
///                      file; fix drift with `cargo xtask codegen`.
///
/// Notes (not failures) list ownership patterns that match no file yet.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Boundaries {}

/// Runs every boundary check on the repository the shell is rooted at; `known_gates` are the
/// gate names of `cargo xtask verify`, in order.
///
/// # Errors
/// When any check finds a problem, or `cargo metadata` cannot be run.
pub fn run(sh: &Shell, _args: &Boundaries, known_gates: &[&str]) -> Result<()> {
    let root = sh.current_dir();
    let metadata = Metadata::workspace(&root)?;
    let findings = check(&root, &metadata, known_gates)?;
    findings.report("cargo xtask boundaries")?;
    println!(
        "boundaries: {} workspace crates, {} dependency edges, every file owned once",
        metadata.member_names().len(),
        metadata.workspace_edges().len()
    );
    Ok(())
}

/// Every boundary check of the tree at `root`, with the workspace described by `metadata`.
/// Gate names in evidence are checked against `known_gates` unless it is empty.
///
/// # Errors
/// When the files of the tree cannot be listed; a broken governance file is a problem.
pub fn check(root: &Path, metadata: &Metadata, known_gates: &[&str]) -> Result<Findings> {
    let mut findings = Findings::new();
    let governance = match Governance::load(root) {
        Ok(governance) => governance,
        Err(error) => {
            findings.problem(format!("{error:#}"));
            return Ok(findings);
        }
    };
    findings.extend(check_edges(&governance, metadata));
    findings.extend(ownership::check_references(
        &governance,
        metadata,
        known_gates,
    ));
    let files = existing_files(root)?;
    findings.extend(ownership::check_files(&governance, &files));
    findings.extend(render::check_blocks(root, &governance)?);
    Ok(findings)
}

/// One problem per dependency edge between workspace crates that the depending crate's rule
/// does not allow, naming the edge, its manifest and the rule.
#[must_use]
pub fn check_edges(governance: &Governance, metadata: &Metadata) -> Findings {
    let mut findings = Findings::new();
    for edge in metadata.workspace_edges() {
        // A crate without a rule is reported by the reference check.
        let Some(rule) = governance.rule_for(&edge.from) else {
            continue;
        };
        if rule.may_depend_on.contains(&edge.to) {
            continue;
        }
        let allowed = if rule.may_depend_on.is_empty() {
            "no workspace crate".to_owned()
        } else {
            rule.may_depend_on.join(", ")
        };
        findings.problem(format!(
            "forbidden dependency edge {edge}: rule for `{}`: {} (allowed: {allowed}); remove \
             the dependency from {}, or change the rule in {GOVERNANCE_PATH} if the \
             architecture really changed",
            rule.krate, rule.rule, edge.manifest
        ));
    }
    findings
}

/// The repository's files that exist in the work tree (git's view, tracked plus untracked
/// but not ignored, or a walk outside a checkout).
///
/// # Errors
/// When the tree cannot be listed.
pub fn existing_files(root: &Path) -> Result<Vec<String>> {
    Ok(crate::tidy::repository_files(root)?
        .into_iter()
        .filter(|path| fs::symlink_metadata(root.join(path)).is_ok_and(|meta| !meta.is_dir()))
        .collect())
}
