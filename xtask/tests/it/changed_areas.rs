//! `cargo xtask changed-areas`: the analysis against the real governance file (areas, owners,
//! docs/spec/governance.md change rules, evidence order) and the git side on a temporary repository (base
//! selection, uncommitted and untracked files, deletions).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

use xtask::boundaries::Governance;
use xtask::changed_areas::{self, Analysis, EMPTY_TREE};

/// The gate order of `cargo xtask verify`, from its table.
fn order() -> Vec<&'static str> {
    xtask::verify::gate_list()
}

fn governance() -> Governance {
    Governance::load(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()).unwrap()
}

fn analyse(files: &[&str]) -> Analysis {
    let files: Vec<String> = files.iter().map(|f| (*f).to_owned()).collect();
    changed_areas::analyse(&governance(), &files, &order())
}

fn area_ids(analysis: &Analysis) -> Vec<&str> {
    analysis
        .areas
        .iter()
        .map(|area| area.area.as_str())
        .collect()
}

#[test]
fn a_service_contract_change_needs_openapi_contract_tests_and_manifest_or_handoff() {
    let analysis = analyse(&[
        "crates/memory-kernel-service/src/endpoints.rs",
        "contracts/openapi/service.v3.yaml",
    ]);
    assert_eq!(area_ids(&analysis), ["service-runtime", "contract-pack"]);
    let service = &analysis.areas[0];
    assert_eq!(service.primary_owner, "Producer Runtime");
    assert_eq!(service.backup_owner, "Producer API");

    let names: Vec<&str> = analysis
        .rules
        .iter()
        .map(|rule| rule.name.as_str())
        .collect();
    assert_eq!(names, ["service-contract-change"]);
    let companions: Vec<(&str, bool)> = analysis.rules[0]
        .companions
        .iter()
        .map(|companion| (companion.what.as_str(), companion.met))
        .collect();
    assert_eq!(
        companions,
        [
            ("OpenAPI copy regenerated", true),
            ("contract tests updated", false),
            ("producer manifest or published handoff updated", false),
        ]
    );
    assert!(!analysis.complete);
    // The union of the areas' and the rule's gates, in verify order.
    assert_eq!(
        analysis.evidence,
        [
            "fmt",
            "clippy",
            "test",
            "codegen",
            "contracts",
            "manifest",
            "handoff",
            "parity",
            "slo-policy",
            "contracts-diff",
            "evidence-summary"
        ]
    );
}

#[test]
fn a_contract_pack_change_needs_parity() {
    let analysis = analyse(&["contracts/integration/v1/schemas/error-envelope.schema.json"]);
    assert_eq!(area_ids(&analysis), ["contract-pack"]);
    assert_eq!(analysis.rules.len(), 1);
    assert_eq!(analysis.rules[0].name, "contract-pack-change");
    assert!(analysis.evidence.contains(&"parity".to_owned()));
    assert!(analysis.complete);
}

#[test]
fn a_governance_check_change_needs_its_negative_fixture() {
    let without = analyse(&["xtask/src/tidy.rs"]);
    assert_eq!(without.rules[0].name, "governance-check-change");
    assert!(!without.rules[0].companions[0].met);
    assert!(!without.complete);

    let with = analyse(&["xtask/src/tidy.rs", "xtask/tests/it/tidy.rs"]);
    assert!(with.rules[0].companions[0].met);
    assert_eq!(
        with.rules[0].companions[0].changed,
        ["xtask/tests/it/tidy.rs"]
    );
    assert!(with.complete);
}

#[test]
fn unowned_files_are_listed_and_make_the_change_incomplete() {
    let analysis = analyse(&["stray/file.txt", "README.md"]);
    assert_eq!(analysis.unowned, ["stray/file.txt"]);
    assert_eq!(area_ids(&analysis), ["workspace"]);
    assert!(!analysis.complete);
}

#[test]
fn the_text_report_names_owners_missing_companions_and_the_exact_verify_command() {
    let analysis = analyse(&["xtask/src/tidy.rs"]);
    let base = changed_areas::Base {
        reference: "HEAD~1".to_owned(),
        commit: "0123456789abcdef".to_owned(),
        how: "default".to_owned(),
    };
    let text = changed_areas::render_text(&base, &analysis, &xtask::verify::gate_catalogue());
    assert!(
        text.starts_with("1 changed file against HEAD~1 (0123456789ab; default)"),
        "{text}"
    );
    assert!(
        text.contains("governance      1  Producer Governance   Producer Contracts"),
        "{text}"
    );
    assert!(
        text.contains(
            "MISSING negative fixture test added or updated: no change under xtask/tests/"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "run exactly these: cargo xtask verify --skip contracts --skip manifest --skip handoff \
             --skip parity --skip slo-policy --skip contracts-diff"
        ),
        "{text}"
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn write(root: &Path, path: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, format!("{path}\n")).unwrap();
}

#[test]
fn base_selection_and_changed_files_include_the_work_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "README.md");
    write(root, "docs/spec/a.md");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "one"]);

    // One commit: the base is the empty tree, so every file is a change.
    let base = changed_areas::resolve_base(root, None).unwrap();
    assert_eq!(base.commit, EMPTY_TREE);
    assert_eq!(
        changed_areas::changed_files(root, &base.commit).unwrap(),
        ["README.md", "docs/spec/a.md"]
    );

    let first = git(root, &["rev-parse", "HEAD"]);
    write(root, "xtask/src/x.rs");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "two"]);
    // Uncommitted: a modification, a deletion, a staged file and an untracked one.
    fs::write(root.join("README.md"), "changed\n").unwrap();
    fs::remove_file(root.join("docs/spec/a.md")).unwrap();
    write(root, "contracts/v1/staged.json");
    git(root, &["add", "contracts/v1/staged.json"]);
    write(root, "crates/memory-kernel-core/src/new.rs");

    let base = changed_areas::resolve_base(root, None).unwrap();
    assert_eq!(base.reference, "HEAD~1");
    assert_eq!(base.commit, first);
    assert_eq!(
        changed_areas::changed_files(root, &base.commit).unwrap(),
        [
            "README.md",
            "contracts/v1/staged.json",
            "crates/memory-kernel-core/src/new.rs",
            "docs/spec/a.md",
            "xtask/src/x.rs"
        ]
    );

    // With an origin/main, the base is the merge-base with it.
    git(root, &["update-ref", "refs/remotes/origin/main", &first]);
    let base = changed_areas::resolve_base(root, None).unwrap();
    assert_eq!(base.commit, first);
    assert!(base.how.contains("origin/main"), "{}", base.how);

    // --since wins, and an unknown REF is an error.
    let base = changed_areas::resolve_base(root, Some("HEAD")).unwrap();
    assert_eq!(base.commit, git(root, &["rev-parse", "HEAD"]));
    assert!(changed_areas::resolve_base(root, Some("no-such-ref")).is_err());
}
