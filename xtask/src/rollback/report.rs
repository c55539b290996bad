//! The rehearsal report: each checklist step with its status, the handoff diff and the
//! consumer-facing change, as text and as JSON.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use similar::TextDiff;

use crate::boundaries::governance::StepId;

/// How a checklist step ended in the rehearsal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Rehearsed and passed.
    Passed,
    /// Rehearsed and failed.
    Failed,
    /// REF predates what the step needs (the command or file does not exist there).
    NotAvailable,
    /// Not run because an earlier step failed.
    NotRun,
    /// A step for a person; not rehearsed.
    Manual,
}

impl StepStatus {
    /// The label the text report shows.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            StepStatus::Passed => "PASS",
            StepStatus::Failed => "FAIL",
            StepStatus::NotAvailable => "NOT AVAILABLE",
            StepStatus::NotRun => "NOT RUN",
            StepStatus::Manual => "MANUAL",
        }
    }
}

/// One step of the checklist, rehearsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    /// The step.
    pub id: StepId,
    /// Its title, from the checklist.
    pub title: String,
    /// How it ended.
    pub status: StepStatus,
    /// What happened, one or a few lines.
    pub detail: String,
}

/// The stable handoff payload now and at REF.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HandoffComparison {
    /// Where the current payload came from, or why there is none.
    pub current_source: String,
    /// Unified diff, current → REF; `None` when either side is missing.
    pub diff: Option<String>,
    /// Both sides exist and are byte-identical.
    pub identical: bool,
}

/// A value now and at REF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versioned {
    /// In the current tree.
    pub current: Option<String>,
    /// At REF.
    pub at_ref: Option<String>,
}

impl Versioned {
    fn changed(&self) -> bool {
        self.current != self.at_ref
    }
}

/// What a consumer would see change if the producer rolled back to REF, from the service
/// contract source of truth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerChange {
    /// `expected_service_contract_version`.
    pub service_contract_version: Versioned,
    /// `expected_api_contract_version`.
    pub api_contract_version: Versioned,
    /// `integration_baseline`.
    pub integration_baseline: Versioned,
    /// Codes REF has and the current tree lacks: the rollback adds them back.
    pub error_codes_added_by_rollback: Vec<String>,
    /// Codes the current tree has and REF lacks: the rollback removes them.
    pub error_codes_removed_by_rollback: Vec<String>,
    /// Same set of codes in a different order.
    pub error_code_order_changed: bool,
}

impl ConsumerChange {
    /// Compares two source-of-truth documents (current, at REF).
    #[must_use]
    pub fn between(current: &Value, at_ref: &Value) -> Self {
        let field = |key: &str| Versioned {
            current: current[key].as_str().map(str::to_owned),
            at_ref: at_ref[key].as_str().map(str::to_owned),
        };
        let codes = |doc: &Value| -> Vec<String> {
            doc["error_code_enum"]
                .as_array()
                .map(|codes| {
                    codes
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let now = codes(current);
        let then = codes(at_ref);
        let added: Vec<String> = then.iter().filter(|c| !now.contains(c)).cloned().collect();
        let removed: Vec<String> = now.iter().filter(|c| !then.contains(c)).cloned().collect();
        let order_changed = added.is_empty() && removed.is_empty() && now != then;
        Self {
            service_contract_version: field("expected_service_contract_version"),
            api_contract_version: field("expected_api_contract_version"),
            integration_baseline: field("integration_baseline"),
            error_codes_added_by_rollback: added,
            error_codes_removed_by_rollback: removed,
            error_code_order_changed: order_changed,
        }
    }

    /// True when a consumer would see no difference.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.service_contract_version.changed()
            && !self.api_contract_version.changed()
            && !self.integration_baseline.changed()
            && self.error_codes_added_by_rollback.is_empty()
            && self.error_codes_removed_by_rollback.is_empty()
            && !self.error_code_order_changed
    }
}

/// The whole rehearsal report (`--json` writes it as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The REF asked for.
    pub reference: String,
    /// The commit it resolved to.
    pub commit: String,
    /// `--quick`: clippy and test skipped.
    pub quick: bool,
    /// Every checklist step, in checklist order.
    pub steps: Vec<StepOutcome>,
    /// The handoff payload, current → REF.
    pub handoff: HandoffComparison,
    /// The consumer-facing change; `None` when REF has no source of truth.
    pub consumer_change: Option<ConsumerChange>,
    /// The database way back; `None` when it was not rehearsed.
    pub database: Option<super::database::DatabaseRehearsal>,
    /// Leftover worktrees of interrupted earlier runs that were removed first.
    pub swept: Vec<String>,
    /// The rehearsal worktree was removed again.
    pub worktree_removed: bool,
    /// No step failed and the worktree was removed.
    pub passed: bool,
}

/// A unified diff from `current` to `at_ref` with labelled sides.
#[must_use]
pub fn diff(current: &str, at_ref: &str, reference: &str) -> String {
    TextDiff::from_lines(current, at_ref)
        .unified_diff()
        .context_radius(3)
        .header(
            "handoff (current tree)",
            &format!("handoff (at {reference})"),
        )
        .to_string()
}

/// The text report.
#[must_use]
pub fn render_text(report: &Report) -> String {
    let mut out = String::new();
    let short = report.commit.get(..12).unwrap_or(&report.commit);
    let _ = writeln!(
        out,
        "\nrollback rehearsal to {} ({short}){}",
        report.reference,
        if report.quick {
            ", quick: clippy and test skipped"
        } else {
            ""
        }
    );
    for swept in &report.swept {
        let _ = writeln!(out, "note: removed a leftover rehearsal worktree {swept}");
    }
    let width = report
        .steps
        .iter()
        .map(|step| step.title.len())
        .max()
        .unwrap_or(4);
    let _ = writeln!(out);
    for (index, step) in report.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {:<width$}  {:<13}  {}",
            index + 1,
            step.title,
            step.status.label(),
            first_line(&step.detail)
        );
        for line in step.detail.lines().skip(1) {
            let _ = writeln!(out, "   {:<width$}  {:<13}  {line}", "", "");
        }
    }
    let _ = writeln!(out, "\nhandoff payload, current → {}:", report.reference);
    let _ = writeln!(out, "  current: {}", report.handoff.current_source);
    match (&report.handoff.diff, report.handoff.identical) {
        (_, true) => {
            let _ = writeln!(out, "  identical");
        }
        (Some(diff), false) => {
            for line in diff.lines() {
                let _ = writeln!(out, "  {line}");
            }
        }
        (None, false) => {
            let _ = writeln!(out, "  no diff: one side is not available (see the steps)");
        }
    }
    let _ = writeln!(
        out,
        "\nconsumer-facing change, current → {}:",
        report.reference
    );
    match &report.consumer_change {
        None => {
            let _ = writeln!(
                out,
                "  not available: REF has no service contract source of truth"
            );
        }
        Some(change) => {
            for (label, value) in [
                ("service contract version", &change.service_contract_version),
                ("api contract version", &change.api_contract_version),
                ("integration baseline", &change.integration_baseline),
            ] {
                let now = value.current.as_deref().unwrap_or("(none)");
                let then = value.at_ref.as_deref().unwrap_or("(none)");
                let verdict = if value.changed() {
                    "CHANGES"
                } else {
                    "unchanged"
                };
                let _ = writeln!(out, "  {label:<25} {now} → {then} ({verdict})");
            }
            let codes = |list: &[String]| {
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            };
            let _ = writeln!(
                out,
                "  error codes removed by the rollback: {}",
                codes(&change.error_codes_removed_by_rollback)
            );
            let _ = writeln!(
                out,
                "  error codes added by the rollback:   {}",
                codes(&change.error_codes_added_by_rollback)
            );
            if change.error_code_order_changed {
                let _ = writeln!(out, "  error code order changes (same set)");
            }
            if change.is_empty() {
                let _ = writeln!(out, "  consumers see no contract difference");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nworktree removed: {}",
        if report.worktree_removed { "yes" } else { "NO" }
    );
    let _ = writeln!(
        out,
        "result: {}",
        if report.passed {
            "PASS (no step failed; NOT AVAILABLE and MANUAL steps are listed above)"
        } else {
            "FAIL"
        }
    );
    out
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
