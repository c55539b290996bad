//! Negative fixtures: the proof that every governance check fails when it should.
//!
//! Each case copies the governed files of the real repository into a temporary tree, proves
//! (once) that the untouched copy passes every check against the real runtime truth, then
//! applies one mutation and asserts that its check fails with its specific message. The
//! checks take the tree root as a parameter, so nothing here touches the real repository.
//!
//! The runtime truth is the real one: `memory-kernel-service contract` and `openapi`, run
//! once per test binary through the same `RuntimeTruth::fetch` the gates use.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod cases;
mod tree;

use std::path::Path;

use serde_json::json;
use xtask::findings::Findings;
use xtask::{codegen, contracts, handoff, manifest, parity};

use cases::CASES;
use tree::{BASE_TAG, SOT, TRUST, changelog, edit_json, fixture_tree, git_base, mirror, truth};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Codegen,
    Contracts,
    Manifest,
    Handoff,
    Parity,
    ContractsDiff,
    /// `contracts diff` against the newest recorded release (0.1.0), with its corrections.
    ReleaseDiff,
    /// `parity --consumer consumer-a` (the case builds the consumer checkout).
    Consumer,
}

const ALL_CHECKS: [Check; 8] = [
    Check::Codegen,
    Check::Contracts,
    Check::Manifest,
    Check::Handoff,
    Check::Parity,
    Check::ContractsDiff,
    Check::ReleaseDiff,
    Check::Consumer,
];

/// Runs one check; an `Err` counts as a failure with its message.
fn run(check: Check, root: &Path) -> Result<Findings, String> {
    let result = match check {
        Check::Codegen => codegen::check(root, truth()),
        Check::Contracts => contracts::check(root, truth()),
        Check::Manifest => manifest::check(root),
        Check::Handoff => handoff::check(root),
        Check::Parity => parity::check(root, &[], false),
        Check::ContractsDiff => contracts::diff::check(root, BASE_TAG),
        Check::ReleaseDiff => match xtask::release::newest(root) {
            Ok(Some(release)) => contracts::diff::check_release(root, &release),
            Ok(None) => Err(anyhow::anyhow!("no release recorded")),
            Err(error) => Err(error),
        },
        Check::Consumer => parity::check_consumer(root, &root.join(tree::CONSUMER)),
    };
    result.map_err(|error| format!("{error:#}"))
}

#[test]
fn the_table_has_at_least_25_cases_and_two_per_check() {
    assert!(CASES.len() >= 25, "{} cases", CASES.len());
    for check in ALL_CHECKS {
        let count = CASES.iter().filter(|case| case.check == check).count();
        assert!(count >= 2, "{check:?} has {count} cases");
    }
    let mut names: Vec<&str> = CASES.iter().map(|case| case.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CASES.len(), "case names are unique");
}

#[test]
fn the_untouched_copy_passes_every_check() {
    let tree = fixture_tree();
    for check in ALL_CHECKS
        .into_iter()
        .filter(|check| ![Check::ContractsDiff, Check::Consumer].contains(check))
    {
        let findings = run(check, tree.path()).unwrap_or_else(|error| panic!("{check:?}: {error}"));
        assert!(findings.passed(), "{check:?}:\n{findings}");
    }
    // `contracts diff` needs history: the same tree, committed and tagged, unchanged since.
    git_base(tree.path());
    let findings = run(Check::ContractsDiff, tree.path()).unwrap();
    assert!(findings.passed(), "ContractsDiff:\n{findings}");
    assert!(
        findings
            .notes
            .iter()
            .any(|note| note.contains("no contract file changed")),
        "{findings}"
    );
}

#[test]
fn a_consumer_pinned_to_the_release_passes() {
    let tree = fixture_tree();
    tree::consumer(tree.path());
    let findings = run(Check::Consumer, tree.path()).unwrap();
    assert!(findings.passed(), "{findings}");
}

#[test]
fn with_no_release_recorded_contracts_diff_checks_nothing_and_says_skip() {
    let tree = fixture_tree();
    std::fs::remove_dir_all(tree.path().join(xtask::release::RELEASES_DIR)).unwrap();
    let sh = xshell::Shell::new().unwrap();
    sh.change_dir(tree.path());
    let error = contracts::diff::gate(&sh).unwrap_err();
    let skipped = error
        .downcast_ref::<xtask::findings::GateSkipped>()
        .unwrap_or_else(|| panic!("not a skip: {error:#}"));
    assert!(skipped.reason.contains("release cut"), "{}", skipped.reason);
    // With the release recorded, the same gate checks the tree and passes.
    let tree = fixture_tree();
    sh.change_dir(tree.path());
    contracts::diff::gate(&sh).unwrap();
}

#[test]
fn an_exact_mirror_passes_parity() {
    let tree = fixture_tree();
    mirror(tree.path(), &["cargo test"]);
    let findings = run(Check::Parity, tree.path()).unwrap();
    assert!(findings.passed(), "{findings}");
}

#[test]
fn a_breaking_change_with_a_version_bump_and_a_changelog_entry_passes() {
    let tree = fixture_tree();
    let root = tree.path();
    git_base(root);
    edit_json(root, TRUST, |v| {
        v["properties"].as_object_mut().unwrap().remove("capped");
        v["required"]
            .as_array_mut()
            .unwrap()
            .retain(|f| f != "capped");
    });
    edit_json(root, SOT, |v| {
        v["integration_baseline"] = json!("integration/v2")
    });
    changelog(
        root,
        "integration/v2: trust-gate-attachment.schema.json drops `capped`.",
    );
    let findings = run(Check::ContractsDiff, root).unwrap();
    assert!(findings.passed(), "{findings}");
    assert!(
        findings.notes.iter().any(|n| n.starts_with("breaking:")),
        "{findings}"
    );
}

#[test]
fn every_mutation_fails_its_check_with_its_message() {
    let mut failures = Vec::new();
    for case in CASES {
        let tree = fixture_tree();
        if case.check == Check::ContractsDiff {
            git_base(tree.path());
        }
        (case.mutate)(tree.path());
        let text = match run(case.check, tree.path()) {
            Ok(findings) if findings.passed() => {
                failures.push(format!(
                    "{}: {:?} passed\n{findings}",
                    case.name, case.check
                ));
                continue;
            }
            Ok(findings) => findings.problems.join("\n"),
            Err(error) => error,
        };
        for expected in case.expect {
            if !text.contains(expected) {
                failures.push(format!(
                    "{}: {:?} failed without {expected:?}; it said:\n{text}",
                    case.name, case.check
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_cut_release_is_recorded_named_by_the_manifest_and_compared_against() {
    let tree = fixture_tree();
    let root = tree.path();
    git_base(root);
    let head = xtask::git::resolve(root, "HEAD").unwrap();
    let release = xtask::release::cut(root, "0.2.0").unwrap();
    assert_eq!(release.record.commit_sha, head);
    assert!(
        release
            .record
            .files
            .iter()
            .all(|file| file.path != tree::MANIFEST),
        "the manifest is not a contract file of the baseline"
    );
    assert!(!release.record.files.is_empty());
    let changelog = tree::read(root, "CHANGELOG.md");
    assert!(
        changelog.contains("## Unreleased\n\n## 0.2.0\n"),
        "{changelog}"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&tree::read(root, tree::MANIFEST)).unwrap();
    assert_eq!(manifest["release_tag"], "v0.2.0");
    let corrections: serde_json::Value =
        serde_json::from_str(&tree::read(root, tree::CORRECTIONS)).unwrap();
    assert_eq!(corrections["release"], "0.2.0");
    assert_eq!(corrections["corrections"], json!([]));
    assert_eq!(manifest["commit_sha"], head.as_str());
    // The manifest now names a recorded release of an existing commit, and the tree equals
    // the baseline it was cut from.
    let findings = run(Check::Manifest, root).unwrap();
    assert!(findings.passed(), "{findings}");
    let diff =
        contracts::diff::check_release(root, &xtask::release::newest(root).unwrap().unwrap())
            .unwrap();
    assert!(diff.passed(), "{diff}");
    assert!(
        diff.notes
            .iter()
            .any(|n| n.contains("no contract file changed")),
        "{diff}"
    );

    // Cutting the same version again is refused and changes nothing.
    let before = (
        tree::read(root, "CHANGELOG.md"),
        tree::read(root, tree::MANIFEST),
    );
    assert!(xtask::release::cut(root, "0.2.0").is_err());
    assert!(xtask::release::cut(root, "2.0").is_err());
    assert_eq!(
        (
            tree::read(root, "CHANGELOG.md"),
            tree::read(root, tree::MANIFEST)
        ),
        before
    );
}
