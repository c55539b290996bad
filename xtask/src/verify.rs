//! `cargo xtask verify`: the Mandatory Verification Set, every gate in order.
//!
//! The gates are one table, [`GATES`]; a later check becomes a gate by adding a row.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::findings::GateSkipped;
use crate::release_evidence::document::{GateRun, GateStatus};
use crate::{clippy, fmt, test};
use anyhow::{Result, bail};
use clap::builder::{PossibleValue, PossibleValuesParser};
use serde::Serialize;
use xshell::Shell;

/// Run every gate of the Mandatory Verification Set, in order, and report each one
///
/// Prints a line as each gate starts and ends, then a summary table (PASS, FAIL, SKIP or
/// NOT RUN, with seconds). By default it stops at the first failing gate; `--keep-going`
/// runs them all so every failure is reported at once. The exit code is 0 only when every
/// gate that ran passed. Fix a failure by running that gate's own command (for example
/// `cargo xtask clippy`; `cargo xtask <gate> --help` explains the check), then re-run
/// `cargo xtask verify`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Verify {
    /// Run every gate even after one fails.
    #[arg(long)]
    pub keep_going: bool,
    /// Also write a JSON report to PATH (`{"gates": [...], "passed": bool}`), atomically.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Do not run GATE (reported as skipped); repeatable.
    #[arg(long, value_name = "GATE", value_parser = gate_names())]
    pub skip: Vec<String>,
    /// Fail when a required gate is skipped, by --skip or because it had nothing to check
    /// (what CI runs: a gate that checked nothing must not look green).
    #[arg(long)]
    pub strict: bool,
    /// Run only the gates the change since REF needs, as `cargo xtask changed-areas` maps it
    /// (default base: the merge-base with origin/main, else HEAD~1); the others say SKIP.
    /// A quick pre-commit check, never a substitute for the full run before a merge.
    #[arg(
        long,
        value_name = "REF",
        num_args = 0..=1,
        default_missing_value = "",
        conflicts_with = "strict"
    )]
    pub changed: Option<String>,
}

/// One verification gate: a named check that passes or fails with a message.
pub struct Gate {
    /// Name used by `--skip` and in reports.
    pub name: &'static str,
    /// One line saying what the gate checks.
    pub description: &'static str,
    /// Runs the check in a shell rooted at the workspace root. An error that is a
    /// [`GateSkipped`] means the gate had nothing to check: it is reported as SKIP.
    pub run: fn(&Shell) -> Result<()>,
    /// Whether `verify --strict` fails when this gate is skipped. Optional gates check
    /// inputs a checkout may legitimately lack (registered consumer mirrors).
    pub required: bool,
}

/// Every gate, in the order `verify` runs them (cheap, likely-to-fail checks first).
pub const GATES: &[Gate] = &[
    Gate {
        name: "fmt",
        description: "rustfmt check (cargo fmt --all -- --check)",
        run: |sh| fmt::run(sh, &fmt::Fmt { check: true }),
        required: true,
    },
    Gate {
        name: "clippy",
        description: "clippy, all targets and features, warnings denied",
        run: |sh| clippy::run(sh, &clippy::Clippy {}),
        required: true,
    },
    Gate {
        name: "test",
        description: "cargo test, whole workspace, all targets and features",
        run: |sh| test::run(sh, &test::Test { nextest: false }),
        required: true,
    },
    Gate {
        name: "tidy",
        description: "repository hygiene (scripts, layout, line endings, whitespace, crate docs, evidence paths)",
        run: |sh| crate::tidy::run(sh, &crate::tidy::Tidy {}),
        required: true,
    },
    Gate {
        name: "codegen",
        description: "generated artifacts are current (cargo xtask codegen --check)",
        run: |sh| crate::codegen::run(sh, &crate::codegen::Codegen { check: true }),
        required: true,
    },
    Gate {
        name: "contracts",
        description: "runtime contract, source of truth, OpenAPI copy, schemas and fixtures agree",
        run: |sh| crate::contracts::run(sh, &crate::contracts::Contracts::default()),
        required: true,
    },
    Gate {
        name: "manifest",
        description: "producer contract manifest valid and aligned with the source of truth",
        run: |sh| crate::manifest::run(sh, &crate::manifest::Manifest {}),
        required: true,
    },
    Gate {
        name: "handoff",
        description: "handoff payload rules, published copy current (cargo xtask handoff verify)",
        run: |sh| {
            let verify = crate::handoff::HandoffCommand::Verify(crate::handoff::Verify {});
            crate::handoff::run(sh, &crate::handoff::Handoff { command: verify })
        },
        required: true,
    },
    Gate {
        name: "parity",
        description: "consumer mirrors equal the canonical integration pack",
        run: crate::parity::gate,
        required: false,
    },
    Gate {
        name: "slo-policy",
        description: "SLO policy valid, one p95 budget per endpoint, doc table current",
        run: |sh| {
            let check = crate::slo::Slo {
                check_policy: true,
                ..crate::slo::Slo::default()
            };
            crate::slo::run(sh, &check)
        },
        required: true,
    },
    Gate {
        name: "boundaries",
        description: "crate dependency edges, file ownership and consolidation doc tables (contracts/governance/)",
        run: |sh| crate::boundaries::run(sh, &crate::boundaries::Boundaries {}, &gate_list()),
        required: true,
    },
    Gate {
        name: "contracts-diff",
        description: "contract changes since the newest recorded release (contracts/releases/) follow docs/spec/versioning.md",
        run: crate::contracts::diff::gate,
        required: true,
    },
    Gate {
        name: "evidence-summary",
        description: "docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json lists the tree's governed files with their current sha256",
        run: crate::release_evidence::summary::gate,
        required: true,
    },
];

/// The gates `cargo xtask release-evidence` runs before it builds: every gate, in order,
/// except fmt, clippy and test unless `full`; the first failure stops the run and the build.
pub fn release_gates(sh: &Shell, full: bool) -> Result<Vec<GateRun>> {
    let skip: Vec<String> = if full {
        Vec::new()
    } else {
        ["fmt", "clippy", "test"].map(str::to_owned).to_vec()
    };
    let outcomes = run_gates(sh, GATES, &skip, false);
    print_summary(&outcomes);
    if let Some(failed) = outcomes.iter().find(|o| o.status == Status::Failed) {
        bail!(
            "gate `{}` failed, so no release evidence was written: fix it as its message above \
             says, then re-run `cargo xtask release-evidence`",
            failed.gate
        );
    }
    Ok(outcomes
        .iter()
        .map(|outcome| GateRun {
            gate: outcome.gate.to_owned(),
            status: match outcome.status {
                Status::Passed => GateStatus::Passed,
                _ => GateStatus::Skipped,
            },
        })
        .collect())
}

/// The gate names, in order (what `boundaries` checks required evidence against).
pub fn gate_list() -> Vec<&'static str> {
    GATES.iter().map(|gate| gate.name).collect()
}

/// Every gate as (name, description), in order (how `changed-areas` explains evidence).
pub fn gate_catalogue() -> Vec<(&'static str, &'static str)> {
    GATES
        .iter()
        .map(|gate| (gate.name, gate.description))
        .collect()
}

/// `--skip` accepts exactly the gate names, so a typo is a usage error listing them.
fn gate_names() -> PossibleValuesParser {
    PossibleValuesParser::new(
        GATES
            .iter()
            .map(|gate| PossibleValue::new(gate.name).help(gate.description)),
    )
}

/// Runs the gates, prints the summary, writes the JSON report when asked, and fails when any
/// gate failed.
pub fn run(sh: &Shell, args: &Verify) -> Result<()> {
    let mut skip = args.skip.clone();
    if let Some(since) = &args.changed {
        skip.extend(unneeded_gates(sh, since)?);
    }
    let outcomes = run_gates(sh, GATES, &skip, args.keep_going);
    print_summary(&outcomes);
    let report = Report::new(&outcomes, args.strict.then_some(GATES));
    if let Some(path) = &args.json {
        crate::atomic_file::write_json(path, &report)?;
    }
    if args.strict {
        let skipped = strictly_failed(&outcomes, GATES);
        if !skipped.is_empty() {
            bail!(
                "verify --strict failed: required gate{} skipped ({}); a skipped gate checked \
                 nothing. Run without --skip, or give the gate what it needs (its SKIP line \
                 above says what)",
                if skipped.len() == 1 { "" } else { "s" },
                skipped.join(", ")
            );
        }
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|outcome| outcome.status == Status::Failed)
        .map(|outcome| outcome.gate)
        .collect();
    if !failed.is_empty() {
        bail!(
            "verify failed ({}): run each failing gate's command, fix it, then re-run \
             `cargo xtask verify`{}",
            failed.join(", "),
            if args.keep_going {
                ""
            } else {
                " (`--keep-going` reports every failure)"
            },
        );
    }
    Ok(())
}

/// The gates the change since `since` (empty: the default base) does not need, by the
/// ownership and change rules of `contracts/governance/boundaries.json`.
fn unneeded_gates(sh: &Shell, since: &str) -> Result<Vec<String>> {
    let root = sh.current_dir();
    let governance = crate::boundaries::Governance::load(&root)?;
    let base = crate::changed_areas::resolve_base(&root, (!since.is_empty()).then_some(since))?;
    let files = crate::changed_areas::changed_files(&root, &base.commit)?;
    let analysis = crate::changed_areas::analyse(&governance, &files, &gate_list());
    let needed = &analysis.evidence;
    println!(
        "verify --changed: {} file{} changed since {} ({}); gates needed: {}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        base.reference,
        base.how,
        if needed.is_empty() {
            "none".to_owned()
        } else {
            needed.join(", ")
        }
    );
    Ok(GATES
        .iter()
        .filter(|gate| !needed.iter().any(|name| name == gate.name))
        .map(|gate| gate.name.to_owned())
        .collect())
}

/// The required gates of `gates` that were skipped, by name (what `--strict` fails on).
pub(crate) fn strictly_failed(outcomes: &[Outcome], gates: &[Gate]) -> Vec<&'static str> {
    outcomes
        .iter()
        .filter(|outcome| outcome.status == Status::Skipped)
        .filter(|outcome| {
            gates
                .iter()
                .any(|gate| gate.name == outcome.gate && gate.required)
        })
        .map(|outcome| outcome.gate)
        .collect()
}

/// How a gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Ran and passed.
    Passed,
    /// Ran and failed.
    Failed,
    /// Not run because of `--skip`, or ran and had nothing to check.
    Skipped,
    /// Not run because an earlier gate failed (without `--keep-going`).
    NotRun,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Skipped => "SKIP",
            Status::NotRun => "NOT RUN",
        })
    }
}

/// The result of one gate in one `verify` run.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    gate: &'static str,
    status: Status,
    /// Wall time, for gates that ran.
    duration: Option<Duration>,
    message: Option<String>,
}

/// Runs `gates` in order, honouring `skip` and `keep_going`, printing a line as each starts
/// and ends.
pub(crate) fn run_gates(
    sh: &Shell,
    gates: &[Gate],
    skip: &[String],
    keep_going: bool,
) -> Vec<Outcome> {
    let total = gates.len();
    let mut stopped = false;
    let mut outcomes = Vec::with_capacity(total);
    for (index, gate) in gates.iter().enumerate() {
        let position = index + 1;
        let without_running = |status: Status, message: &str| Outcome {
            gate: gate.name,
            status,
            duration: None,
            message: Some(message.to_owned()),
        };
        if skip.iter().any(|name| name == gate.name) {
            println!("--- [{position}/{total}] {} SKIP (--skip)", gate.name);
            outcomes.push(without_running(Status::Skipped, "skipped with --skip"));
            continue;
        }
        if stopped {
            outcomes.push(without_running(
                Status::NotRun,
                "not run: an earlier gate failed",
            ));
            continue;
        }
        println!(
            "==> [{position}/{total}] {}: {} ...",
            gate.name, gate.description
        );
        let started = Instant::now();
        let result = (gate.run)(sh);
        let duration = started.elapsed();
        let seconds = duration.as_secs_f64();
        let (status, message) = match result {
            Ok(()) => {
                println!("<== {} PASS {seconds:.1}s", gate.name);
                (Status::Passed, None)
            }
            Err(error) => match error.downcast_ref::<GateSkipped>() {
                Some(skipped) => {
                    println!("<== {} SKIP {seconds:.1}s: {}", gate.name, skipped.reason);
                    (Status::Skipped, Some(skipped.reason.clone()))
                }
                None => {
                    let message = format!("{error:#}");
                    println!("<== {} FAIL {seconds:.1}s: {message}", gate.name);
                    stopped = !keep_going;
                    (Status::Failed, Some(message))
                }
            },
        };
        outcomes.push(Outcome {
            gate: gate.name,
            status,
            duration: Some(duration),
            message,
        });
    }
    outcomes
}

fn print_summary(outcomes: &[Outcome]) {
    let width = outcomes
        .iter()
        .map(|outcome| outcome.gate.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!();
    println!("{:<width$}  {:<7}  {:>7}", "gate", "status", "seconds");
    for outcome in outcomes {
        let seconds = match outcome.duration {
            Some(duration) => format!("{:.1}", duration.as_secs_f64()),
            None => "-".to_owned(),
        };
        let why = match (outcome.status, &outcome.message) {
            (Status::Skipped, Some(reason)) => format!("  {reason}"),
            _ => String::new(),
        };
        println!(
            "{:<width$}  {:<7}  {seconds:>7}{why}",
            outcome.gate,
            outcome.status.to_string()
        );
    }
}

/// The `--json` report.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    gates: Vec<GateReport>,
    /// True when no gate failed (and, under `--strict`, no required gate was skipped).
    passed: bool,
    /// Whether the run was `--strict`.
    strict: bool,
}

#[derive(Debug, Serialize)]
struct GateReport {
    gate: &'static str,
    status: Status,
    /// Wall time in milliseconds; 0 for gates that did not run.
    duration_ms: u64,
    message: Option<String>,
}

impl Report {
    /// The report of `outcomes`; `strict` carries the gate table when `--strict` was given.
    pub(crate) fn new(outcomes: &[Outcome], strict: Option<&[Gate]>) -> Report {
        let strict_ok = strict.is_none_or(|gates| strictly_failed(outcomes, gates).is_empty());
        Report {
            strict: strict.is_some(),
            gates: outcomes
                .iter()
                .map(|outcome| GateReport {
                    gate: outcome.gate,
                    status: outcome.status,
                    duration_ms: outcome.duration.map_or(0, |duration| {
                        u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
                    }),
                    message: outcome.message.clone(),
                })
                .collect(),
            passed: strict_ok
                && outcomes
                    .iter()
                    .all(|outcome| outcome.status != Status::Failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(_: &Shell) -> Result<()> {
        Ok(())
    }

    fn fail(_: &Shell) -> Result<()> {
        bail!("broken on purpose")
    }

    const FAKE_GATES: &[Gate] = &[
        Gate {
            name: "one",
            description: "passes",
            run: pass,
            required: true,
        },
        Gate {
            name: "two",
            description: "fails",
            run: fail,
            required: true,
        },
        Gate {
            name: "three",
            description: "passes",
            run: pass,
            required: true,
        },
    ];

    fn nothing_to_check(_: &Shell) -> Result<()> {
        let mut findings = crate::findings::Findings::new();
        findings.skip("no input on purpose");
        findings.gate("rerun")
    }

    const SKIPPING_GATES: &[Gate] = &[
        Gate {
            name: "required",
            description: "checks nothing",
            run: nothing_to_check,
            required: true,
        },
        Gate {
            name: "optional",
            description: "checks nothing either",
            run: nothing_to_check,
            required: false,
        },
    ];

    #[test]
    fn a_gate_with_nothing_to_check_is_skip_never_pass() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, SKIPPING_GATES, &[], false);
        assert_eq!(statuses(&outcomes), [Status::Skipped, Status::Skipped]);
        assert_eq!(outcomes[0].message.as_deref(), Some("no input on purpose"));
        // Without --strict a skip does not fail the run; with it, a required skip does.
        assert!(Report::new(&outcomes, None).passed);
        assert!(!Report::new(&outcomes, Some(SKIPPING_GATES)).passed);
        assert_eq!(strictly_failed(&outcomes, SKIPPING_GATES), ["required"]);
    }

    #[test]
    fn strict_fails_on_a_required_gate_skipped_with_the_flag() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, FAKE_GATES, &["one".to_owned()], true);
        assert_eq!(strictly_failed(&outcomes, FAKE_GATES), ["one"]);
    }

    fn statuses(outcomes: &[Outcome]) -> Vec<Status> {
        outcomes.iter().map(|outcome| outcome.status).collect()
    }

    #[test]
    fn stops_at_first_failure_by_default() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, FAKE_GATES, &[], false);
        assert_eq!(
            statuses(&outcomes),
            [Status::Passed, Status::Failed, Status::NotRun]
        );
        assert_eq!(outcomes[1].message.as_deref(), Some("broken on purpose"));
    }

    #[test]
    fn keep_going_runs_every_gate() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, FAKE_GATES, &[], true);
        assert_eq!(
            statuses(&outcomes),
            [Status::Passed, Status::Failed, Status::Passed]
        );
    }

    #[test]
    fn skipped_gates_are_reported_and_do_not_fail() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, FAKE_GATES, &["two".to_owned()], false);
        assert_eq!(
            statuses(&outcomes),
            [Status::Passed, Status::Skipped, Status::Passed]
        );
        assert!(Report::new(&outcomes, None).passed);
    }

    #[test]
    fn json_report_has_the_documented_shape() {
        let sh = Shell::new().unwrap();
        let outcomes = run_gates(&sh, FAKE_GATES, &[], false);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        crate::atomic_file::write_json(&path, &Report::new(&outcomes, None)).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["passed"], false);
        let gates = json["gates"].as_array().unwrap();
        let statuses: Vec<&str> = gates
            .iter()
            .map(|g| g["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["passed", "failed", "not_run"]);
        assert!(gates[0]["message"].is_null());
        assert!(gates[0]["duration_ms"].is_u64());
        assert_eq!(gates[1]["message"], "broken on purpose");
        // Only the report is left behind: the temporary file was renamed, not copied.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn gate_names_are_unique() {
        let mut names: Vec<&str> = GATES.iter().map(|gate| gate.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), GATES.len());
    }

    #[test]
    fn the_gate_benchmark_times_every_governance_gate_of_the_table() {
        let governance: Vec<&str> = GATES
            .iter()
            .map(|gate| gate.name)
            .filter(|name| !["fmt", "clippy", "test"].contains(name))
            .collect();
        let benchmarked: Vec<&str> = crate::bench::gates::GATE_COMMANDS
            .iter()
            .map(|gate| gate.gate)
            .collect();
        assert_eq!(benchmarked, governance);
    }
}
