//! `cargo xtask slo --check-policy` on the real tree and on broken copies: a policy that
//! violates its schema, a stale doc table, an endpoint without a budget, a budget for an
//! endpoint that does not exist — each fails with a message saying what to fix.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use xtask::findings::Findings;
use xtask::slo::{self, DOC_PATH, POLICY_PATH};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A throw-away tree with the contracts and the policy doc of the real one.
fn copy_of_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &repo_root().join("contracts"),
        &dir.path().join("contracts"),
    );
    fs::create_dir_all(dir.path().join("docs/spec")).unwrap();
    fs::copy(repo_root().join(DOC_PATH), dir.path().join(DOC_PATH)).unwrap();
    dir
}

fn edit_policy(root: &Path, edit: impl FnOnce(&mut Value)) {
    let path = root.join(POLICY_PATH);
    let mut policy: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut policy);
    fs::write(&path, serde_json::to_string_pretty(&policy).unwrap()).unwrap();
}

fn problems(findings: &Findings) -> String {
    assert!(!findings.passed(), "expected a problem");
    findings.problems.join("\n")
}

#[test]
fn the_checked_in_policy_and_doc_pass() {
    let findings = slo::check_policy(&repo_root(), None).unwrap();
    assert!(findings.passed(), "{findings}");
}

#[test]
fn a_policy_that_violates_its_schema_fails_naming_the_schema() {
    let tree = copy_of_tree();
    edit_policy(tree.path(), |p| {
        p["timeout_rate_max_percent"] = json!(-1);
        p["surprise"] = json!(true);
    });
    let text = problems(&slo::check_policy(tree.path(), None).unwrap());
    assert!(
        text.contains("violates contracts/integration/v1/schemas/service-slo-policy.schema.json"),
        "{text}"
    );
    assert!(text.contains("/timeout_rate_max_percent"), "{text}");
    assert!(text.contains("surprise"), "{text}");
}

#[test]
fn a_stale_doc_table_fails_with_a_diff_and_the_fix() {
    let tree = copy_of_tree();
    edit_policy(tree.path(), |p| p["failure_rate_max_percent"] = json!(7.5));
    let text = problems(&slo::check_policy(tree.path(), None).unwrap());
    assert!(
        text.contains("docs/spec/service-slo-policy.md#slo-thresholds has drifted"),
        "{text}"
    );
    assert!(
        text.contains("-| `failure_rate_max_percent` | 7.5 % |"),
        "{text}"
    );
    assert!(
        text.contains("+| `failure_rate_max_percent` | 5 % |"),
        "{text}"
    );
    assert!(text.contains("fix: run `cargo xtask codegen`"), "{text}");
}

#[test]
fn every_endpoint_needs_exactly_one_budget_of_a_real_endpoint() {
    let tree = copy_of_tree();
    edit_policy(tree.path(), |p| {
        let budgets = p["latency_budgets"].as_array_mut().unwrap();
        budgets.retain(|b| b["endpoint"] != "/metrics");
        budgets.push(json!({"endpoint": "/v1/nope", "p95_ms": 1}));
    });
    let text = problems(&slo::check_policy(tree.path(), None).unwrap());
    assert!(
        text.contains("endpoint /metrics has no p95 budget"),
        "{text}"
    );
    assert!(
        text.contains("names /v1/nope, which is not an endpoint"),
        "{text}"
    );
    assert!(
        text.contains("drives /metrics, which has no p95 budget"),
        "{text}"
    );
}

#[test]
fn another_policy_file_is_checked_without_the_doc() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.json");
    let mut policy: Value =
        serde_json::from_str(&fs::read_to_string(repo_root().join(POLICY_PATH)).unwrap()).unwrap();
    policy["latency_budgets"][0]["p95_ms"] = json!(0);
    fs::write(&path, policy.to_string()).unwrap();
    let findings = slo::check_policy(&repo_root(), Some(&path)).unwrap();
    assert!(findings.passed(), "{findings}");
}

#[test]
fn the_command_checks_the_policy_and_a_broken_policy_stops_the_load_run_before_building() {
    let xtask = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(repo_root().join("docs"))
            .output()
            .unwrap()
    };
    let ok = xtask(&["slo", "--check-policy"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    fs::write(
        &broken,
        "{\"slo_policy_version\": \"service-slo-policy.v2\"}",
    )
    .unwrap();
    let failed = xtask(&["slo", "--policy", broken.to_str().unwrap()]);
    assert!(!failed.status.success());
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert!(stdout.contains("violates"), "{stdout}");
    assert!(!stdout.contains("building"), "{stdout}");
}
