//! The rollback rehearsal on a temporary git repository with two tagged commits, with a fake
//! xtask runner so nothing is built: the report, the contract differences, and that the
//! current work tree, `git status` and `git worktree list` are left exactly as they were.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::{Value, json};
use tempfile::TempDir;
use xtask::boundaries::Governance;
use xtask::boundaries::governance::StepId;
use xtask::rollback::report::StepStatus;
use xtask::rollback::runner::{RunResult, XtaskRunner};
use xtask::rollback::{self, Options, worktree};

const SOURCE_OF_TRUTH: &str = "contracts/integration/v1/service-contract-source-of-truth.json";

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn write(root: &Path, path: &str, contents: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn source_of_truth(service: &str, codes: &[&str]) -> String {
    serde_json::to_string_pretty(&json!({
        "service_contract_source_version": "service-contract-source.v1",
        "expected_service_contract_version": service,
        "expected_api_contract_version": "api.v1",
        "integration_baseline": "integration/v1",
        "error_code_enum": codes,
    }))
    .unwrap()
}

/// A repository with `v0.1.0` (service.v2, codes a, b, legacy) and `v0.2.0` = HEAD
/// (service.v3, codes a, b, c).
fn repository() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "README.md", "fixture\n");
    write(root, "xtask/Cargo.toml", "[package]\nname = \"xtask\"\n");
    write(
        root,
        SOURCE_OF_TRUTH,
        &source_of_truth("service.v2", &["a", "b", "legacy"]),
    );
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "first"]);
    git(root, &["tag", "v0.1.0"]);
    write(
        root,
        SOURCE_OF_TRUTH,
        &source_of_truth("service.v3", &["a", "b", "c"]),
    );
    git(root, &["commit", "-q", "-am", "second"]);
    git(root, &["tag", "v0.2.0"]);
    dir
}

fn governance() -> Governance {
    Governance::load(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap()
}

/// Answers like `cargo xtask` would, per checkout, and records every call.
struct FakeRunner {
    current_root: PathBuf,
    /// Whether the checkout at REF has `handoff generate`.
    handoff_at_ref: bool,
    /// Whether `verify` passes at REF.
    gates_pass: bool,
    calls: RefCell<Vec<(PathBuf, Vec<String>)>>,
}

impl FakeRunner {
    fn new(current_root: &Path) -> Self {
        Self {
            current_root: current_root.to_path_buf(),
            handoff_at_ref: true,
            gates_pass: true,
            calls: RefCell::new(Vec::new()),
        }
    }
}

impl XtaskRunner for FakeRunner {
    fn xtask(&self, checkout: &Path, args: &[String], _capture: bool) -> Result<RunResult> {
        self.calls
            .borrow_mut()
            .push((checkout.to_path_buf(), args.to_vec()));
        let here = checkout == self.current_root;
        let code = match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["handoff", "generate", "--help"] => {
                if here || self.handoff_at_ref {
                    0
                } else {
                    2
                }
            }
            ["handoff", "generate", "--mode", "stable", "--out", out] => {
                // The payload is built from the checkout's own source of truth.
                let truth: Value =
                    serde_json::from_str(&fs::read_to_string(checkout.join(SOURCE_OF_TRUTH))?)?;
                let payload = json!({
                    "handoff_mode": "stable",
                    "expected_service_contract_version": truth["expected_service_contract_version"],
                    "error_code_enum": truth["error_code_enum"],
                });
                fs::write(out, serde_json::to_string_pretty(&payload)? + "\n")?;
                0
            }
            ["verify", ..] => {
                if self.gates_pass {
                    0
                } else {
                    1
                }
            }
            other => panic!("unexpected xtask call {other:?}"),
        };
        Ok(RunResult {
            code: Some(code),
            output: String::new(),
        })
    }
}

fn statuses(report: &rollback::report::Report) -> Vec<(StepId, StepStatus)> {
    report
        .steps
        .iter()
        .map(|step| (step.id, step.status))
        .collect()
}

fn options(reference: &str) -> Options {
    Options {
        reference: reference.to_owned(),
        quick: true,
    }
}

#[test]
fn quick_rehearsal_to_the_older_tag_passes_and_reports_the_contract_differences() {
    let repo = repository();
    let root = repo.path();
    let worktrees_before = git(root, &["worktree", "list", "--porcelain"]);
    let head_before = git(root, &["rev-parse", "HEAD"]);
    let runner = FakeRunner::new(root);

    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();

    assert!(report.passed, "{report:#?}");
    assert_eq!(
        statuses(&report),
        [
            (StepId::RevertToTag, StepStatus::Passed),
            (StepId::RegenerateHandoff, StepStatus::Passed),
            (StepId::RunGates, StepStatus::Passed),
            (StepId::ConsumerImpact, StepStatus::Passed),
            (StepId::PublishNote, StepStatus::Manual),
        ]
    );
    assert_eq!(
        report.commit.trim(),
        git(root, &["rev-parse", "v0.1.0"]).trim()
    );

    let change = report.consumer_change.as_ref().unwrap();
    assert_eq!(
        change.service_contract_version.current.as_deref(),
        Some("service.v3")
    );
    assert_eq!(
        change.service_contract_version.at_ref.as_deref(),
        Some("service.v2")
    );
    assert_eq!(change.error_codes_removed_by_rollback, ["c"]);
    assert_eq!(change.error_codes_added_by_rollback, ["legacy"]);
    assert!(!change.is_empty());

    let diff = report.handoff.diff.as_deref().unwrap();
    assert!(
        diff.contains("-  \"expected_service_contract_version\": \"service.v3\""),
        "{diff}"
    );
    assert!(
        diff.contains("+  \"expected_service_contract_version\": \"service.v2\""),
        "{diff}"
    );
    assert!(!report.handoff.identical);

    // The gates ran in the worktree, quick, and the worktree is gone.
    let calls = runner.calls.borrow();
    let (checkout, args) = calls.iter().find(|(_, args)| args[0] == "verify").unwrap();
    assert_eq!(args, &["verify", "--skip", "clippy", "--skip", "test"]);
    assert_ne!(checkout, root);
    assert!(
        !checkout.exists(),
        "worktree left at {}",
        checkout.display()
    );
    assert!(report.worktree_removed);

    let text = rollback::report::render_text(&report);
    assert!(
        text.contains("error codes removed by the rollback: c"),
        "{text}"
    );
    assert!(text.contains("service.v3 → service.v2 (CHANGES)"), "{text}");
    assert!(text.contains("result: PASS"), "{text}");

    // Nothing of the current checkout changed.
    assert_eq!(git(root, &["status", "--porcelain"]), "");
    assert_eq!(
        git(root, &["worktree", "list", "--porcelain"]),
        worktrees_before
    );
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(
        git(root, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
}

#[test]
fn uncommitted_work_is_left_alone() {
    let repo = repository();
    let root = repo.path();
    write(root, "README.md", "edited, not committed\n");
    write(root, "notes.txt", "untracked\n");
    let status_before = git(root, &["status", "--porcelain"]);
    let runner = FakeRunner::new(root);
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(report.passed);
    assert_eq!(git(root, &["status", "--porcelain"]), status_before);
    assert_eq!(
        fs::read_to_string(root.join("README.md")).unwrap(),
        "edited, not committed\n"
    );
}

#[test]
fn a_failing_gate_fails_the_rehearsal_and_the_worktree_is_still_removed() {
    let repo = repository();
    let root = repo.path();
    let worktrees_before = git(root, &["worktree", "list", "--porcelain"]);
    let mut runner = FakeRunner::new(root);
    runner.gates_pass = false;
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(!report.passed);
    assert_eq!(statuses(&report)[2], (StepId::RunGates, StepStatus::Failed));
    assert!(
        report.steps[2]
            .detail
            .contains("cargo xtask verify --skip clippy --skip test: exit 1")
    );
    assert_eq!(
        git(root, &["worktree", "list", "--porcelain"]),
        worktrees_before
    );
    assert_eq!(git(root, &["status", "--porcelain"]), "");
}

#[test]
fn a_ref_without_the_handoff_command_reports_it_as_not_available() {
    let repo = repository();
    let root = repo.path();
    let mut runner = FakeRunner::new(root);
    runner.handoff_at_ref = false;
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(report.passed, "NOT AVAILABLE does not fail the rehearsal");
    let step = &report.steps[1];
    assert_eq!(step.status, StepStatus::NotAvailable);
    assert_eq!(
        step.detail,
        "`cargo xtask handoff generate` does not exist at v0.1.0"
    );
    assert!(report.handoff.diff.is_none());
}

#[test]
fn rehearsing_the_current_tag_shows_no_consumer_change() {
    let repo = repository();
    let root = repo.path();
    let runner = FakeRunner::new(root);
    let report = rollback::rehearse(root, &governance(), &options("v0.2.0"), &runner).unwrap();
    assert!(report.passed);
    assert!(report.consumer_change.unwrap().is_empty());
    assert!(report.handoff.identical);
}

#[test]
fn an_unknown_ref_fails_before_anything_is_created() {
    let repo = repository();
    let root = repo.path();
    let worktrees_before = git(root, &["worktree", "list", "--porcelain"]);
    let runner = FakeRunner::new(root);
    let error = rollback::rehearse(root, &governance(), &options("v9.9.9"), &runner).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`v9.9.9` does not name a commit"),
        "{error:#}"
    );
    assert!(runner.calls.borrow().is_empty());
    assert_eq!(
        git(root, &["worktree", "list", "--porcelain"]),
        worktrees_before
    );
}

#[test]
fn a_worktree_left_by_a_killed_run_is_removed_by_the_next_rehearsal() {
    let repo = repository();
    let root = repo.path();
    let worktrees_before = git(root, &["worktree", "list", "--porcelain"]);
    // What a run killed by Ctrl-C leaves: a registered worktree in an mk-rollback- folder.
    let leftover = tempfile::Builder::new()
        .prefix(worktree::FOLDER_PREFIX)
        .tempdir()
        .unwrap();
    let leftover = leftover.keep();
    let path = leftover.join("worktree");
    git(
        root,
        &[
            "worktree",
            "add",
            "--detach",
            path.to_str().unwrap(),
            "v0.1.0",
        ],
    );
    assert_ne!(
        git(root, &["worktree", "list", "--porcelain"]),
        worktrees_before
    );

    let runner = FakeRunner::new(root);
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert_eq!(report.swept.len(), 1, "{report:#?}");
    assert_eq!(
        git(root, &["worktree", "list", "--porcelain"]),
        worktrees_before
    );
    assert!(!leftover.exists());
}

#[test]
fn the_command_refuses_to_run_without_dry_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["rollback", "--to", "HEAD"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("only rehearses: add --dry-run"), "{stderr}");
}

#[test]
fn a_rehearsal_never_builds_into_the_callers_target_folder() {
    let shared = std::path::Path::new("/shared/target");
    let own = xtask::rollback::rehearsal_target_dir(shared);
    assert_ne!(own, shared);
    assert!(own.starts_with(shared));
    // The caller's tool lives at <shared>/debug/xtask; the rehearsal's build cannot reach it.
    assert!(!shared.join("debug/xtask").starts_with(&own));
}
