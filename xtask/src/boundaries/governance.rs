//! `contracts/governance/boundaries.json`, typed: boundary domains, dependency rules,
//! ownership areas, change rules and rollback steps.
//!
//! The file is validated against its JSON Schema (`contracts/governance/schemas/
//! governance.schema.json`) before it is deserialised, so a typo is reported with the
//! schema's instance path rather than as a serde error.
//!
//! Path patterns are deliberately simple: a pattern ending in `/` owns every path that starts
//! with it (a folder, recursively); any other pattern owns exactly that one file. No globs.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use jsonschema::Draft;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the governance data lives, repo-relative.
pub const GOVERNANCE_PATH: &str = "contracts/governance/boundaries.json";
/// Its JSON Schema, repo-relative.
pub const GOVERNANCE_SCHEMA_PATH: &str = "contracts/governance/schemas/governance.schema.json";

/// The whole governance file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Governance {
    /// `governance.v1`.
    pub governance_version: String,
    /// The boundary domains (docs/spec/governance.md), each with its crates and paths.
    pub domains: Vec<Domain>,
    /// For each workspace crate, the workspace crates it may depend on.
    pub dependency_rules: Vec<DependencyRule>,
    /// Ownership areas: every file of the repository belongs to exactly one.
    pub ownership: Vec<OwnershipArea>,
    /// Rules that add evidence when a change touches particular paths.
    pub change_rules: Vec<ChangeRule>,
    /// The rollback checklist, in order; `cargo xtask rollback` rehearses these steps.
    pub rollback_steps: Vec<RollbackStep>,
}

/// One boundary domain.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// `service`, `api`, `core`, …
    pub name: String,
    /// What the domain is responsible for, one line.
    pub responsibility: String,
    /// The workspace crates in the domain.
    pub crates: Vec<String>,
    /// The path patterns the domain covers.
    pub paths: Vec<String>,
}

/// The allowed dependency edges out of one workspace crate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DependencyRule {
    /// The depending crate.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The workspace crates it may depend on (normal, dev and build dependencies alike).
    pub may_depend_on: Vec<String>,
    /// The rule in words, quoted when an edge breaks it.
    pub rule: String,
}

/// One row of the ownership table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OwnershipArea {
    /// Kebab-case id (`service-runtime`).
    pub area: String,
    /// Human name (`service runtime`).
    pub title: String,
    /// The path patterns the area owns.
    pub paths: Vec<String>,
    /// The owning team.
    pub primary_owner: String,
    /// The team that stands in.
    pub backup_owner: String,
    /// The `cargo xtask verify` gates a change to the area must pass.
    pub required_evidence: Vec<String>,
}

/// A rule that applies when a change touches any of its trigger paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRule {
    /// Kebab-case id (`service-contract-change`).
    pub name: String,
    /// The rule in words.
    pub summary: String,
    /// Path patterns whose change triggers the rule.
    pub triggers: Vec<String>,
    /// Gates the change must pass, on top of the areas' evidence.
    pub required_evidence: Vec<String>,
    /// Files that must change along with the trigger.
    pub companions: Vec<Companion>,
}

/// Something that must change together with a rule's trigger.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Companion {
    /// What it is, in words (`contract tests updated`).
    pub what: String,
    /// A change to any of these path patterns satisfies it.
    pub paths: Vec<String>,
}

/// The rollback steps `cargo xtask rollback` knows how to rehearse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    /// Check out the last-known-good tag (rehearsal: a temporary worktree).
    RevertToTag,
    /// Regenerate the handoff payload at the tag.
    RegenerateHandoff,
    /// Run the Mandatory Verification Set at the tag.
    RunGates,
    /// Take a database the current build migrated back to what the tag's build opens.
    RestoreDatabase,
    /// Compare the consumer-facing contract at the tag with the current one.
    ConsumerImpact,
    /// Publish the rollback note (manual).
    PublishNote,
}

impl StepId {
    /// Every step id, in checklist order.
    pub const ALL: [StepId; 6] = [
        StepId::RevertToTag,
        StepId::RegenerateHandoff,
        StepId::RunGates,
        StepId::RestoreDatabase,
        StepId::ConsumerImpact,
        StepId::PublishNote,
    ];

    /// The kebab-case id, as written in the governance file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StepId::RevertToTag => "revert-to-tag",
            StepId::RegenerateHandoff => "regenerate-handoff",
            StepId::RunGates => "run-gates",
            StepId::RestoreDatabase => "restore-database",
            StepId::ConsumerImpact => "consumer-impact",
            StepId::PublishNote => "publish-note",
        }
    }
}

/// One step of the rollback checklist.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RollbackStep {
    /// Which step this is.
    pub id: StepId,
    /// Imperative title.
    pub title: String,
    /// What a person does in a real rollback.
    pub action: String,
    /// What `cargo xtask rollback --dry-run` does for it.
    pub rehearsal: String,
    /// When the step counts as done.
    pub success: String,
}

impl Governance {
    /// Reads, schema-validates and parses `root/contracts/governance/boundaries.json`.
    ///
    /// # Errors
    /// When a file cannot be read, is not JSON, breaks the schema (every violation is
    /// listed) or does not deserialise.
    pub fn load(root: &Path) -> Result<Self> {
        let text = fs::read_to_string(root.join(GOVERNANCE_PATH))
            .with_context(|| format!("cannot read {GOVERNANCE_PATH}"))?;
        let schema_text = fs::read_to_string(root.join(GOVERNANCE_SCHEMA_PATH))
            .with_context(|| format!("cannot read {GOVERNANCE_SCHEMA_PATH}"))?;
        Self::parse(&text, &schema_text)
    }

    /// Validates `text` against `schema_text` and parses it.
    ///
    /// # Errors
    /// As [`Governance::load`].
    pub fn parse(text: &str, schema_text: &str) -> Result<Self> {
        let schema: Value = serde_json::from_str(schema_text)
            .with_context(|| format!("{GOVERNANCE_SCHEMA_PATH} is not JSON"))?;
        let instance: Value =
            serde_json::from_str(text).with_context(|| format!("{GOVERNANCE_PATH} is not JSON"))?;
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&schema)
            .map_err(|error| anyhow!("{GOVERNANCE_SCHEMA_PATH} does not compile: {error}"))?;
        let violations: Vec<String> = validator
            .iter_errors(&instance)
            .map(|error| {
                format!(
                    "  {}: {error}",
                    display_pointer(&error.instance_path().to_string())
                )
            })
            .collect();
        if !violations.is_empty() {
            bail!(
                "{GOVERNANCE_PATH} does not match {GOVERNANCE_SCHEMA_PATH}:\n{}\nfix the file \
                 and re-run `cargo xtask boundaries`",
                violations.join("\n")
            );
        }
        serde_json::from_value(instance)
            .with_context(|| format!("{GOVERNANCE_PATH} does not parse"))
    }

    /// The ownership areas whose patterns match `path`, with the matching pattern each.
    #[must_use]
    pub fn owners_of<'g>(&'g self, path: &str) -> Vec<(&'g OwnershipArea, &'g str)> {
        self.ownership
            .iter()
            .filter_map(|area| {
                area.paths
                    .iter()
                    .find(|pattern| matches(pattern, path))
                    .map(|pattern| (area, pattern.as_str()))
            })
            .collect()
    }

    /// The one area that owns `path`, when exactly one does.
    #[must_use]
    pub fn owner_of(&self, path: &str) -> Option<&OwnershipArea> {
        match self.owners_of(path).as_slice() {
            [(area, _)] => Some(area),
            _ => None,
        }
    }

    /// The dependency rule of `krate`.
    #[must_use]
    pub fn rule_for(&self, krate: &str) -> Option<&DependencyRule> {
        self.dependency_rules
            .iter()
            .find(|rule| rule.krate == krate)
    }

    /// The step `id`, when the checklist has it.
    #[must_use]
    pub fn step(&self, id: StepId) -> Option<&RollbackStep> {
        self.rollback_steps.iter().find(|step| step.id == id)
    }
}

/// Whether path pattern `pattern` covers the repo-relative file `path`: a pattern ending in
/// `/` covers everything under that folder; any other pattern covers exactly one file.
#[must_use]
pub fn matches(pattern: &str, path: &str) -> bool {
    if pattern.ends_with('/') {
        path.starts_with(pattern)
    } else {
        path == pattern
    }
}

/// Why `pattern` is not a usable repo-relative path pattern, if it is not.
#[must_use]
pub fn pattern_problem(pattern: &str) -> Option<&'static str> {
    if pattern.is_empty() {
        return Some("is empty");
    }
    if pattern.starts_with('/') || pattern.contains('\\') || pattern.contains(':') {
        return Some("is not repo-relative (absolute, or with `\\` or `:`)");
    }
    if pattern.contains(['*', '?', '[', ']']) {
        return Some("uses glob characters (write a folder ending in `/` or an exact file)");
    }
    let body = pattern.strip_suffix('/').unwrap_or(pattern);
    if body
        .split('/')
        .any(|segment| matches!(segment, "" | "." | ".."))
    {
        return Some("has an empty, `.` or `..` segment");
    }
    None
}

fn display_pointer(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_patterns_match_recursively_and_file_patterns_exactly() {
        assert!(matches("docs/", "docs/spec/a.md"));
        assert!(!matches("docs/", "docsx/a.md"));
        assert!(matches("Cargo.toml", "Cargo.toml"));
        assert!(!matches("Cargo.toml", "xtask/Cargo.toml"));
        assert!(!matches("docs", "docs/a.md"));
    }

    #[test]
    fn bad_patterns_are_named() {
        for (pattern, expected) in [
            ("", "empty"),
            ("/etc/", "repo-relative"),
            ("C:/x", "repo-relative"),
            ("docs/*.md", "glob"),
            ("docs//x", "segment"),
            ("../x", "segment"),
        ] {
            let problem = pattern_problem(pattern).unwrap_or("none");
            assert!(problem.contains(expected), "{pattern}: {problem}");
        }
        assert_eq!(pattern_problem("docs/spec/"), None);
        assert_eq!(pattern_problem(".cargo/"), None);
    }
}
