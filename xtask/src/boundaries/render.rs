//! The generated tables of the consolidation documents, rendered from the governance file.
//!
//! Each renderer is a pure function of [`Governance`]; [`DOC_BLOCKS`] says which block of
//! which document it fills. `cargo xtask codegen` writes the blocks and `cargo xtask
//! boundaries` fails with a diff when one is stale.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Result;

use super::governance::{GOVERNANCE_PATH, Governance};
use crate::drift::Drift;
use crate::findings::Findings;
use crate::generated;

/// The module boundary map.
pub const BOUNDARY_MAP_PATH: &str = "docs/implementation/PRODUCER_MODULE_BOUNDARY_MAP.md";
/// The ownership matrix.
pub const OWNERSHIP_MATRIX_PATH: &str = "docs/implementation/PRODUCER_OWNERSHIP_MATRIX.md";
/// The rollback checklist.
pub const ROLLBACK_CHECKLIST_PATH: &str =
    "docs/implementation/PRODUCER_CONSOLIDATION_ROLLBACK_CHECKLIST.md";

/// A generated block of a consolidation document and its renderer.
pub struct DocBlock {
    /// Repo-relative document path.
    pub path: &'static str,
    /// The block name (`<!-- generated:NAME -->`).
    pub name: &'static str,
    /// Renders the block body.
    pub render: fn(&Governance) -> String,
}

/// Every generated block of the consolidation documents.
pub const DOC_BLOCKS: &[DocBlock] = &[
    DocBlock {
        path: BOUNDARY_MAP_PATH,
        name: "boundary-domains",
        render: render_domains,
    },
    DocBlock {
        path: BOUNDARY_MAP_PATH,
        name: "dependency-rules",
        render: render_dependency_rules,
    },
    DocBlock {
        path: OWNERSHIP_MATRIX_PATH,
        name: "ownership-matrix",
        render: render_ownership_matrix,
    },
    DocBlock {
        path: OWNERSHIP_MATRIX_PATH,
        name: "change-rules",
        render: render_change_rules,
    },
    DocBlock {
        path: ROLLBACK_CHECKLIST_PATH,
        name: "rollback-steps",
        render: render_rollback_steps,
    },
];

/// The domain table of the boundary map: domain, crates, paths, responsibility.
#[must_use]
pub fn render_domains(governance: &Governance) -> String {
    let mut out = String::from("| domain | crates | paths | responsibility |\n|---|---|---|---|\n");
    for domain in &governance.domains {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            domain.name,
            code_list(&domain.crates),
            code_list(&domain.paths),
            cell(&domain.responsibility)
        );
    }
    out
}

/// The allowed dependency edges: crate, may depend on, rule.
#[must_use]
pub fn render_dependency_rules(governance: &Governance) -> String {
    let mut out = String::from("| crate | may depend on | rule |\n|---|---|---|\n");
    for rule in &governance.dependency_rules {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            rule.krate,
            code_list(&rule.may_depend_on),
            cell(&rule.rule)
        );
    }
    out
}

/// The ownership table: area, paths, primary owner, backup owner, required evidence (gates).
#[must_use]
pub fn render_ownership_matrix(governance: &Governance) -> String {
    let mut out = String::from(
        "| area | paths | primary owner | backup owner | required gates |\n|---|---|---|---|---|\n",
    );
    for area in &governance.ownership {
        let _ = writeln!(
            out,
            "| {} (`{}`) | {} | {} | {} | {} |",
            cell(&area.title),
            area.area,
            code_list(&area.paths),
            cell(&area.primary_owner),
            cell(&area.backup_owner),
            code_list(&area.required_evidence)
        );
    }
    out
}

/// The change rules: rule, triggered by, extra gates, what must change with it.
#[must_use]
pub fn render_change_rules(governance: &Governance) -> String {
    let mut out = String::from(
        "| rule | triggered by a change to | extra gates | must change with it |\n\
         |---|---|---|---|\n",
    );
    for rule in &governance.change_rules {
        let companions = if rule.companions.is_empty() {
            "–".to_owned()
        } else {
            rule.companions
                .iter()
                .map(|companion| {
                    format!("{}: {}", cell(&companion.what), code_list(&companion.paths))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            out,
            "| `{}`: {} | {} | {} | {companions} |",
            rule.name,
            cell(&rule.summary),
            code_list(&rule.triggers),
            code_list(&rule.required_evidence)
        );
    }
    out
}

/// The checklist steps, numbered, each with its action, rehearsal and success criterion.
#[must_use]
pub fn render_rollback_steps(governance: &Governance) -> String {
    let mut out = String::new();
    for (index, step) in governance.rollback_steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. **{}** (`{}`)",
            index + 1,
            step.title,
            step.id.name()
        );
        let _ = writeln!(out, "   - Do: {}", step.action);
        let _ = writeln!(out, "   - Rehearsal: {}", step.rehearsal);
        let _ = writeln!(out, "   - Done when: {}", step.success);
    }
    out
}

/// Renders block `name` of [`DOC_BLOCKS`] from the governance file under `root` (what
/// `cargo xtask codegen` writes).
///
/// # Errors
/// When the governance file is broken or no block has that name.
pub fn render_block(root: &Path, name: &str) -> Result<String> {
    let governance = Governance::load(root)?;
    let block = DOC_BLOCKS
        .iter()
        .find(|block| block.name == name)
        .ok_or_else(|| anyhow::anyhow!("no consolidation doc block named `{name}`"))?;
    Ok((block.render)(&governance))
}

/// One problem per stale or broken generated block of the consolidation documents under
/// `root`, each a unified diff with the fix `cargo xtask codegen`.
///
/// # Errors
/// Never for a stale or missing document (those are problems); only for unexpected failures.
pub fn check_blocks(root: &Path, governance: &Governance) -> Result<Findings> {
    let mut findings = Findings::new();
    for block in DOC_BLOCKS {
        let Ok(text) = fs::read_to_string(root.join(block.path)) else {
            findings.problem(format!(
                "{}: missing or unreadable; it carries the generated block `{}` rendered from \
                 {GOVERNANCE_PATH}: restore it, then run `cargo xtask codegen`",
                block.path, block.name
            ));
            continue;
        };
        let text = crate::drift::normalise_newlines(&text);
        let actual = match generated::block_body(&text, block.name) {
            Ok(body) => body,
            Err(error) => {
                findings.problem(format!("{}: {error:#}", block.path));
                continue;
            }
        };
        let expected = (block.render)(governance);
        let label = format!("{}#{}", block.path, block.name);
        if let Some(drift) = Drift::check(&label, &expected, actual, "cargo xtask codegen") {
            findings.problem(drift.to_string());
        }
    }
    Ok(findings)
}

fn code_list(items: &[String]) -> String {
    if items.is_empty() {
        return "–".to_owned();
    }
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Table cells cannot hold a raw `|` or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
