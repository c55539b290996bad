//! `cargo xtask rollback --to REF --dry-run`: the rollback checklist, rehearsed for real in a
//! temporary worktree at REF.
//!
//! [`rehearse`] runs the steps of `contracts/governance/boundaries.json` (the list the
//! checklist document's generated block is rendered from) with an injected
//! [`runner::XtaskRunner`], so tests rehearse on a temporary repository without building
//! anything. The worktree lives in [`worktree`]; the report types and text in [`report`].

pub mod database;
pub mod report;
pub mod runner;
pub mod worktree;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use xshell::Shell;

use crate::boundaries::governance::{Governance, StepId};
use crate::boundaries::metadata::Metadata;
use crate::pack::{PUBLISHED_HANDOFF_PATH, SOURCE_OF_TRUTH_PATH};
use report::{ConsumerChange, HandoffComparison, Report, StepOutcome, StepStatus};
use runner::{CargoXtask, XtaskRunner};
use worktree::Worktree;

/// Rehearse the rollback checklist against REF in a temporary worktree (never changes yours)
///
/// Runs the steps of docs/implementation/PRODUCER_CONSOLIDATION_ROLLBACK_CHECKLIST.md (the
/// same list, from contracts/governance/boundaries.json) against REF, the last-known-good
/// tag or commit:
///
///   revert-to-tag        `git worktree add --detach <temp>/worktree REF`
///   regenerate-handoff   `cargo xtask handoff generate --mode stable --out <temp>` in the
///                        worktree, diffed against the current tree's payload (NOT
///                        AVAILABLE when REF predates the command)
///   run-gates            `cargo xtask verify` in the worktree (--quick: `--skip clippy
///                        --skip test`)
///   restore-database     a scratch file created by REF's `mk`, backed up (`mk db backup`)
///                        and migrated (`mk db migrate`) by the current `mk`; REF's `mk` must
///                        refuse it, restore the backup (`mk db restore --in`) and open it
///                        (`db schema-version`, `db integrity-check`). NOT AVAILABLE when
///                        REF has no mk
///   consumer-impact      service/api versions, integration baseline and error codes of
///                        contracts/integration/v1/service-contract-source-of-truth.json at
///                        REF (`git show`) against the current tree
///   publish-note         MANUAL: the report is the note's draft
///
/// The current work tree, index and branch are never touched. The worktree is removed
/// afterwards — on success, failure or panic; a run killed by Ctrl-C leaves it behind, and
/// the next rehearsal removes it first (`git worktree list` returns to what it was).
/// Rehearsals of one repository run one at a time.
///
/// The worktree builds into a folder of its own, `rollback-rehearsal/` inside the current
/// tree's target folder (CARGO_TARGET_DIR when set): REF's build must never replace the
/// caller's artifacts, least of all the caller's own `xtask` binary, whose compiled-in
/// project root would then be the deleted worktree. --target-dir picks another folder.
///
/// Exit code 0 when no step FAILs (NOT AVAILABLE and MANUAL steps do not fail it). A FAIL
/// at run-gates means REF is not a good rollback target: pick an older tag, or fix forward.
/// Without --dry-run the command refuses: a real rollback is done by a person following
/// the checklist.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Rollback {
    /// The last-known-good tag or commit to rehearse a rollback to.
    #[arg(long, value_name = "REF")]
    pub to: String,
    /// Rehearse only (required: this command never rolls anything back).
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the clippy and test gates at REF.
    #[arg(long)]
    pub quick: bool,
    /// Also write the report as JSON to PATH, atomically.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Build folder for the worktree (default: the current tree's target folder).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

/// The rehearsal's own build folder inside the caller's `shared` one: never `shared` itself,
/// whose `debug/xtask` is the caller's running tool.
#[must_use]
pub fn rehearsal_target_dir(shared: &Path) -> PathBuf {
    shared.join("rollback-rehearsal")
}

/// What to rehearse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The tag or commit to roll back to.
    pub reference: String,
    /// Skip clippy and test at REF.
    pub quick: bool,
}

/// The command.
///
/// # Errors
/// Without `--dry-run`; when REF is unknown; when a step fails.
pub fn run(sh: &Shell, args: &Rollback) -> Result<()> {
    if !args.dry_run {
        bail!(
            "`cargo xtask rollback` only rehearses: add --dry-run. A real rollback is done by a \
             person following docs/implementation/PRODUCER_CONSOLIDATION_ROLLBACK_CHECKLIST.md"
        );
    }
    let root = sh.current_dir();
    let governance = Governance::load(&root)?;
    let current_target_dir = Metadata::load(&root)?
        .target_directory
        .map_or_else(|| root.join("target"), PathBuf::from);
    let target_dir = match &args.target_dir {
        Some(dir) => dir.clone(),
        None => rehearsal_target_dir(&current_target_dir),
    };
    let runner = CargoXtask {
        current_root: root.clone(),
        target_dir,
        current_target_dir,
    };
    let options = Options {
        reference: args.to.clone(),
        quick: args.quick,
    };
    let report = rehearse(&root, &governance, &options, &runner)?;
    print!("{}", report::render_text(&report));
    if let Some(path) = &args.json {
        crate::atomic_file::write_json(path, &report)?;
    }
    if !report.passed {
        bail!(
            "the rollback rehearsal to {} failed (see the steps above); fix the cause or pick \
             another last-known-good tag, then re-run `cargo xtask rollback --to {} --dry-run`",
            args.to,
            args.to
        );
    }
    Ok(())
}

/// Rehearses every checklist step of `governance` against `options.reference` for the
/// repository at `root`, running xtask commands through `runner`. The worktree is removed
/// before this returns, whatever happened.
///
/// # Errors
/// When `root` is not a git checkout or REF names no commit (nothing is created then).
pub fn rehearse(
    root: &Path,
    governance: &Governance,
    options: &Options,
    runner: &dyn XtaskRunner,
) -> Result<Report> {
    if !crate::git::is_checkout(root) {
        bail!(
            "a rollback rehearsal needs a git checkout at {}",
            root.display()
        );
    }
    let swept = worktree::sweep(root)?;
    let reference = &options.reference;
    let commit = crate::git::resolve(root, reference)?;
    let scratch = tempfile::tempdir().context("cannot create a scratch folder")?;
    let (current_source, current_payload) = current_handoff(root, runner, scratch.path());
    let mut handoff = HandoffComparison {
        current_source,
        ..HandoffComparison::default()
    };
    let mut consumer_change = None;
    let mut database = None;
    let mut steps = Vec::new();
    let mut worktree_removed = true;
    let mut worktree = match Worktree::add(root, &commit) {
        Ok(worktree) => Some(worktree),
        Err(error) => {
            steps.push(outcome(
                governance,
                StepId::RevertToTag,
                StepStatus::Failed,
                format!("{error:#}"),
            ));
            None
        }
    };
    for step in &governance.rollback_steps {
        let Some(tree) = worktree.as_ref() else {
            if step.id != StepId::RevertToTag {
                let status = match step.id {
                    StepId::PublishNote => StepStatus::Manual,
                    _ => StepStatus::NotRun,
                };
                steps.push(outcome(
                    governance,
                    step.id,
                    status,
                    "the worktree could not be created".to_owned(),
                ));
            }
            continue;
        };
        let (status, detail) = match step.id {
            StepId::RevertToTag => (
                StepStatus::Passed,
                format!("detached worktree at {commit} in {}", tree.path().display()),
            ),
            StepId::RegenerateHandoff => {
                let out = tree.scratch().join("handoff-at-ref.json");
                let (status, detail, payload) =
                    regenerate_handoff(tree.path(), &out, runner, reference);
                if let (Some(current), Some(at_ref)) = (&current_payload, &payload) {
                    handoff.identical = current == at_ref;
                    handoff.diff = Some(report::diff(current, at_ref, reference));
                }
                (status, detail)
            }
            StepId::RunGates => run_gates(tree.path(), runner, options.quick, reference),
            StepId::RestoreDatabase => {
                let (status, detail, found) =
                    database::rehearse(root, tree.path(), tree.scratch(), runner, reference);
                database = found;
                (status, detail)
            }
            StepId::ConsumerImpact => {
                let (status, detail, change) = consumer_impact(root, &commit, reference);
                consumer_change = change;
                (status, detail)
            }
            StepId::PublishNote => (
                StepStatus::Manual,
                "write the note from this report: the consumer-facing change and the handoff diff"
                    .to_owned(),
            ),
        };
        steps.push(outcome(governance, step.id, status, detail));
    }
    if let Some(tree) = worktree.as_mut() {
        worktree_removed = tree.remove().is_ok() && !tree.path().exists();
    }
    drop(worktree);
    let passed = worktree_removed && steps.iter().all(|step| step.status != StepStatus::Failed);
    Ok(Report {
        reference: reference.clone(),
        commit,
        quick: options.quick,
        steps,
        handoff,
        consumer_change,
        database,
        swept: swept
            .iter()
            .map(|path| path.display().to_string())
            .collect(),
        worktree_removed,
        passed,
    })
}

fn outcome(governance: &Governance, id: StepId, status: StepStatus, detail: String) -> StepOutcome {
    StepOutcome {
        id,
        title: governance
            .step(id)
            .map_or_else(|| id.name().to_owned(), |step| step.title.clone()),
        status,
        detail,
    }
}

const HANDOFF_HELP: [&str; 3] = ["handoff", "generate", "--help"];

fn handoff_args(out: &Path) -> Vec<String> {
    ["handoff", "generate", "--mode", "stable", "--out"]
        .iter()
        .map(|arg| (*arg).to_owned())
        .chain(std::iter::once(out.display().to_string()))
        .collect()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_owned()).collect()
}

/// The current tree's stable payload: freshly generated when the running xtask has `handoff
/// generate`, else the published copy, else none. Returns (where it came from, text).
fn current_handoff(
    root: &Path,
    runner: &dyn XtaskRunner,
    scratch: &Path,
) -> (String, Option<String>) {
    let out = scratch.join("handoff-current.json");
    let available = runner
        .xtask(root, &strings(&HANDOFF_HELP), true)
        .is_ok_and(|result| result.success());
    let generated = available
        && runner
            .xtask(root, &handoff_args(&out), true)
            .is_ok_and(|result| result.success());
    if generated && let Ok(text) = fs::read_to_string(&out) {
        return (
            "generated by `cargo xtask handoff generate --mode stable`".to_owned(),
            Some(text),
        );
    }
    match fs::read_to_string(root.join(PUBLISHED_HANDOFF_PATH)) {
        Ok(text) => (
            format!("the published copy {PUBLISHED_HANDOFF_PATH}"),
            Some(text),
        ),
        Err(_) => (
            "not available: the current tree can neither generate a payload nor has a published \
             copy"
                .to_owned(),
            None,
        ),
    }
}

fn has_xtask(tree: &Path) -> bool {
    tree.join("xtask/Cargo.toml").is_file()
}

fn regenerate_handoff(
    tree: &Path,
    out: &Path,
    runner: &dyn XtaskRunner,
    reference: &str,
) -> (StepStatus, String, Option<String>) {
    if !has_xtask(tree) {
        return (
            StepStatus::NotAvailable,
            format!("{reference} has no xtask"),
            None,
        );
    }
    println!("==> building xtask at {reference} and probing `cargo xtask handoff generate` ...");
    let probe = match runner.xtask(tree, &strings(&HANDOFF_HELP), true) {
        Ok(result) => result,
        Err(error) => return (StepStatus::Failed, format!("{error:#}"), None),
    };
    match probe.code {
        Some(0) => {}
        // clap's usage error: the sub-command does not exist at REF.
        Some(2) => {
            return (
                StepStatus::NotAvailable,
                format!("`cargo xtask handoff generate` does not exist at {reference}"),
                None,
            );
        }
        _ => {
            return (
                StepStatus::Failed,
                failure("cargo xtask at REF", &probe),
                None,
            );
        }
    }
    match runner.xtask(tree, &handoff_args(out), true) {
        Ok(result) if result.success() => match fs::read_to_string(out) {
            Ok(text) => (
                StepStatus::Passed,
                "generated `--mode stable` at REF; diff below".to_owned(),
                Some(text),
            ),
            Err(error) => (
                StepStatus::Failed,
                format!("no payload written: {error}"),
                None,
            ),
        },
        Ok(result) => (
            StepStatus::Failed,
            failure("cargo xtask handoff generate", &result),
            None,
        ),
        Err(error) => (StepStatus::Failed, format!("{error:#}"), None),
    }
}

fn run_gates(
    tree: &Path,
    runner: &dyn XtaskRunner,
    quick: bool,
    reference: &str,
) -> (StepStatus, String) {
    if !has_xtask(tree) {
        return (
            StepStatus::NotAvailable,
            format!("{reference} has no xtask"),
        );
    }
    let mut args = vec!["verify"];
    if quick {
        args.extend(["--skip", "clippy", "--skip", "test"]);
    }
    let shown = format!("cargo xtask {}", args.join(" "));
    println!("==> running `{shown}` at {reference} ...");
    match runner.xtask(tree, &strings(&args), false) {
        Ok(result) if result.success() => (StepStatus::Passed, format!("`{shown}` passed")),
        Ok(result) => (StepStatus::Failed, failure(&shown, &result)),
        Err(error) => (StepStatus::Failed, format!("{error:#}")),
    }
}

fn consumer_impact(
    root: &Path,
    commit: &str,
    reference: &str,
) -> (StepStatus, String, Option<ConsumerChange>) {
    let at_ref = match crate::git::file_at(root, commit, SOURCE_OF_TRUTH_PATH) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return (
                StepStatus::NotAvailable,
                format!("{SOURCE_OF_TRUTH_PATH} does not exist at {reference}"),
                None,
            );
        }
        Err(error) => return (StepStatus::Failed, format!("{error:#}"), None),
    };
    let Ok(current) = fs::read_to_string(root.join(SOURCE_OF_TRUTH_PATH)) else {
        return (
            StepStatus::NotAvailable,
            format!("the current tree has no {SOURCE_OF_TRUTH_PATH}"),
            None,
        );
    };
    let parse = |text: &str, side: &str| {
        serde_json::from_str::<Value>(text)
            .map_err(|error| format!("{SOURCE_OF_TRUTH_PATH} {side} is not JSON: {error}"))
    };
    let (current, at_ref) = match (
        parse(&current, "in the current tree"),
        parse(&at_ref, "at REF"),
    ) {
        (Ok(current), Ok(at_ref)) => (current, at_ref),
        (Err(error), _) | (_, Err(error)) => return (StepStatus::Failed, error, None),
    };
    let change = ConsumerChange::between(&current, &at_ref);
    let detail = if change.is_empty() {
        "no consumer-visible contract difference".to_owned()
    } else {
        "consumers see a difference (below): give notice before the rollback ships".to_owned()
    };
    (StepStatus::Passed, detail, Some(change))
}

/// "what failed (exit N)" plus the last lines of its output.
fn failure(what: &str, result: &runner::RunResult) -> String {
    let code = result
        .code
        .map_or_else(|| "failed".to_owned(), |code| format!("exit {code}"));
    let lines: Vec<&str> = result.output.lines().collect();
    let tail = lines[lines.len().saturating_sub(8)..].join("\n");
    if tail.is_empty() {
        format!("{what}: {code}")
    } else {
        format!("{what}: {code}\n{tail}")
    }
}
