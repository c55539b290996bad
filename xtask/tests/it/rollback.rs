//! The rollback rehearsal on a temporary git repository with two tagged commits, with a fake
//! xtask runner so nothing is built: the report, the contract differences, and that the
//! current work tree, `git status` and `git worktree list` are left exactly as they were.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::BTreeMap;
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
    /// Whether REF has `mk`.
    mk_at_ref: bool,
    /// Whether REF's `mk` refuses a file at a newer schema version (a real one does).
    ref_mk_refuses_newer: bool,
    /// The schema version REF's `mk` creates; the current one creates 3.
    ref_schema: u64,
    /// The fake database files: path → schema version.
    files: RefCell<BTreeMap<String, u64>>,
    calls: RefCell<Vec<(PathBuf, Vec<String>)>>,
}

const CURRENT_SCHEMA: u64 = 3;

impl FakeRunner {
    fn new(current_root: &Path) -> Self {
        Self {
            current_root: current_root.to_path_buf(),
            handoff_at_ref: true,
            gates_pass: true,
            mk_at_ref: true,
            ref_mk_refuses_newer: true,
            ref_schema: 2,
            files: RefCell::new(BTreeMap::new()),
            calls: RefCell::new(Vec::new()),
        }
    }
}

impl XtaskRunner for FakeRunner {
    fn build_mk(&self, checkout: &Path) -> Result<Option<PathBuf>> {
        let here = checkout == self.current_root;
        self.calls
            .borrow_mut()
            .push((checkout.to_path_buf(), vec!["build mk".to_owned()]));
        Ok((here || self.mk_at_ref)
            .then(|| PathBuf::from(if here { "current-mk" } else { "ref-mk" })))
    }

    /// `mk --db FILE db …` over [`FakeRunner::files`], as the real ones answer.
    fn mk(&self, binary: &Path, args: &[String]) -> Result<RunResult> {
        self.calls
            .borrow_mut()
            .push((binary.to_path_buf(), args.to_vec()));
        let target = if binary == Path::new("current-mk") {
            CURRENT_SCHEMA
        } else {
            self.ref_schema
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ["--db", db, "db", command @ ..] = args.as_slice() else {
            panic!("unexpected mk call {args:?}");
        };
        let mut files = self.files.borrow_mut();
        let version = files.get(*db).copied();
        let newer = version.is_some_and(|v| v > target);
        let refuse = |message: &str| RunResult {
            code: Some(1),
            output: format!("{{\"error\":\"{message}\"}}\n"),
        };
        let ok = |value: Value| RunResult {
            code: Some(0),
            output: value.to_string(),
        };
        Ok(match command {
            ["migrate"] if newer => refuse("unknown schema version"),
            ["migrate"] => {
                files.insert((*db).to_owned(), target);
                ok(json!({"before_version": version.unwrap_or(0), "after_version": target}))
            }
            ["backup", "--out", out] => {
                let v = version.unwrap();
                files.insert((*out).to_owned(), v);
                ok(json!({"status": "ok"}))
            }
            ["restore", "--in", input] => {
                let v = files[*input];
                files.insert((*db).to_owned(), v);
                ok(json!({"current_version": v}))
            }
            ["integrity-check" | "schema-version"] if newer && self.ref_mk_refuses_newer => {
                refuse("unknown schema version")
            }
            ["integrity-check"] => ok(json!({"quick_check_ok": true})),
            ["schema-version"] => ok(json!({"current_version": version})),
            other => panic!("unexpected mk db call {other:?}"),
        })
    }

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
            (StepId::RestoreDatabase, StepStatus::Passed),
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

#[test]
fn the_database_step_shows_the_migrated_file_refused_and_the_restored_one_opened() {
    let repo = repository();
    let root = repo.path();
    let runner = FakeRunner::new(root);
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    let step = &report.steps[3];
    assert_eq!(
        (step.id, step.status),
        (StepId::RestoreDatabase, StepStatus::Passed),
        "{}",
        step.detail
    );
    assert!(
        step.detail
            .starts_with("schema 2 → 3: REF's mk refuses the migrated file"),
        "{}",
        step.detail
    );
    let database = report.database.as_ref().unwrap();
    assert_eq!(database.ref_schema_version, Some(2));
    assert_eq!(database.current_schema_version, Some(3));
    assert_eq!(database.ref_refused_migrated_file, Some(true));
    assert_eq!(database.ref_opens_restored_file, Some(true));
    // The way back, in order: REF creates, the current build backs up and migrates, REF is
    // refused, REF restores the backup and opens it.
    let calls: Vec<String> = runner
        .calls
        .borrow()
        .iter()
        .filter(|(program, _)| program.to_string_lossy().ends_with("-mk"))
        .map(|(program, args)| format!("{} {}", program.display(), args[3]))
        .collect();
    assert_eq!(
        calls,
        [
            "ref-mk migrate",
            "current-mk backup",
            "current-mk migrate",
            "ref-mk integrity-check",
            "ref-mk restore",
            "ref-mk schema-version",
            "ref-mk integrity-check",
        ]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["database"]["ref_opens_restored_file"], true);
    let text = rollback::report::render_text(&report);
    assert!(text.contains("Take the database back"), "{text}");
}

#[test]
fn an_older_mk_that_opens_a_newer_file_fails_the_database_step() {
    let repo = repository();
    let root = repo.path();
    let mut runner = FakeRunner::new(root);
    runner.ref_mk_refuses_newer = false;
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(!report.passed);
    let step = &report.steps[3];
    assert_eq!(step.status, StepStatus::Failed);
    assert!(
        step.detail.contains("opened a file migrated to version 3"),
        "{}",
        step.detail
    );
}

#[test]
fn the_same_schema_version_needs_no_restore() {
    let repo = repository();
    let root = repo.path();
    let mut runner = FakeRunner::new(root);
    runner.ref_schema = CURRENT_SCHEMA;
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(report.passed);
    assert_eq!(report.steps[3].status, StepStatus::Passed);
    assert!(report.steps[3].detail.contains("nothing to restore"));
    assert_eq!(report.database.unwrap().ref_refused_migrated_file, None);
}

#[test]
fn a_ref_without_mk_reports_the_database_step_as_not_available() {
    let repo = repository();
    let root = repo.path();
    let mut runner = FakeRunner::new(root);
    runner.mk_at_ref = false;
    let report = rollback::rehearse(root, &governance(), &options("v0.1.0"), &runner).unwrap();
    assert!(report.passed);
    assert_eq!(report.steps[3].status, StepStatus::NotAvailable);
    assert!(report.database.is_none());
}
