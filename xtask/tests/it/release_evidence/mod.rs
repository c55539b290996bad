//! `cargo xtask release-evidence`: determinism of the tarball, the verifier's refusals and the
//! published-summary gate.
//!
//! The fixture is a small git repository built here: a copy of the real repository's governed
//! files, committed at a fixed date, then cloned to temporary folders at different paths.
//! Nothing here writes to the real repository. The malformed bundles are built with the tar
//! crate from a good one, one mutation per row.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixture;
mod malformed;

use std::collections::BTreeMap;
use std::io::Read;
use std::mem::discriminant;
use std::process::Command;

use tar::EntryType;
use xtask::release_evidence::bundle::{self, Inputs};
use xtask::release_evidence::document::{Evidence, SCHEMA_PATH};
use xtask::release_evidence::summary;
use xtask::release_evidence::verify::{Limits, VerifyError, verify_bytes};
use xtask::schemas::ContractSchemas;

use fixture::{COMMIT_EPOCH, TOP, clone, fixture, inputs, repack, source_repo, unpack};
use malformed::cases;

// ---- determinism ----------------------------------------------------------------------------

#[test]
fn two_runs_give_byte_identical_tarballs_written_atomically() {
    let (dir, root) = fixture();
    let first = bundle::build(&root, &inputs()).unwrap();
    let second = bundle::build(&root, &inputs()).unwrap();
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(first.file_name, format!("{TOP}.tar.gz"));
    let out = dir.path().join("out");
    let path = bundle::write(&out, &first).unwrap();
    let again = bundle::write(&out, &second).unwrap();
    assert_eq!(path, again);
    assert_eq!(std::fs::read(&path).unwrap(), first.bytes);
    // Only the tarball is left: the temporary files were renamed, not copied.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
}

#[test]
fn clones_at_different_paths_give_the_same_bytes() {
    let source = source_repo();
    let dir = tempfile::tempdir().unwrap();
    let a = clone(source.path(), &dir.path().join("a"));
    let b = clone(
        source.path(),
        &dir.path().join("a much/longer/path to/the second clone"),
    );
    let (a, b) = (
        bundle::build(&a, &inputs()).unwrap(),
        bundle::build(&b, &inputs()).unwrap(),
    );
    assert_eq!(a.sha256(), b.sha256());
    assert_eq!(a.bytes, b.bytes);
    let source_state = a.evidence.source.as_ref().unwrap();
    assert!(!source_state.tree_dirty);
    // No absolute path of either clone anywhere in the bundle.
    for raw in unpack(&a.bytes) {
        let text = String::from_utf8_lossy(&raw.data);
        assert!(
            !text.contains(&*dir.path().to_string_lossy()),
            "{:?}",
            raw.path
        );
    }
}

#[test]
fn entries_are_sorted_regular_files_with_canonical_headers() {
    let (_dir, root) = fixture();
    let built = bundle::build(&root, &inputs()).unwrap();
    // gzip: no FNAME flag, mtime 0, OS 255.
    assert_eq!(&built.bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    assert_eq!(built.bytes[9], 255);
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(built.bytes.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    let mut archive = tar::Archive::new(tar.as_slice());
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        assert_eq!(header.entry_type(), EntryType::Regular, "{name}");
        assert!(header.as_gnu().is_some(), "{name}: GNU header");
        assert_eq!(header.uid().unwrap(), 0);
        assert_eq!(header.gid().unwrap(), 0);
        assert_eq!(header.username_bytes(), Some(&b""[..]));
        assert_eq!(header.groupname_bytes(), Some(&b""[..]));
        assert_eq!(header.mtime().unwrap(), COMMIT_EPOCH, "{name}");
        let executable = name == format!("{TOP}/CHANGELOG.md");
        let mode = if executable { 0o755 } else { 0o644 };
        assert_eq!(header.mode().unwrap(), mode, "{name}");
        names.push(name);
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    for required in ["evidence.json", "SHA256SUMS", "provenance.intoto.json"] {
        assert!(names.contains(&format!("{TOP}/{required}")), "{required}");
    }
    let evidence: Evidence = built.evidence;
    assert_eq!(names.len(), evidence.artifacts.len() + 3);
}

#[test]
fn source_date_epoch_dates_every_entry() {
    let (_dir, root) = fixture();
    let inputs = Inputs {
        source_date_epoch: Some("1000000000".to_owned()),
        ..inputs()
    };
    let built = bundle::build(&root, &inputs).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(built.bytes.as_slice())
        .read_to_end(&mut tar)
        .unwrap();
    for entry in tar::Archive::new(tar.as_slice()).entries().unwrap() {
        assert_eq!(entry.unwrap().header().mtime().unwrap(), 1_000_000_000);
    }
    let bad = Inputs {
        source_date_epoch: Some("yesterday".to_owned()),
        ..inputs
    };
    let error = bundle::build(&root, &bad).unwrap_err().to_string();
    assert!(error.contains("SOURCE_DATE_EPOCH"), "{error}");
}

#[test]
fn a_dirty_tree_is_recorded_and_gives_other_bytes() {
    let (_dir, root) = fixture();
    let clean = bundle::build(&root, &inputs()).unwrap();
    let changelog = root.join("CHANGELOG.md");
    let text = std::fs::read_to_string(&changelog).unwrap();
    std::fs::write(&changelog, format!("{text}- work in progress\n")).unwrap();
    let dirty = bundle::build(&root, &inputs()).unwrap();
    assert!(dirty.evidence.source.as_ref().unwrap().tree_dirty);
    assert_ne!(clean.bytes, dirty.bytes);
    verify_bytes(&dirty.bytes, Some(&root), &Limits::default()).unwrap();
}

// ---- verifier -------------------------------------------------------------------------------

#[test]
fn a_built_bundle_verifies_also_against_its_work_tree() {
    let (_dir, root) = fixture();
    let built = bundle::build(&root, &inputs()).unwrap();
    let verified = verify_bytes(&built.bytes, Some(&root), &Limits::default()).unwrap();
    assert_eq!(verified.top, TOP);
    assert_eq!(verified.evidence, built.evidence);

    let manifest = root.join("contracts/integration/v1/producer-contract-manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("v0.1.0", "v0.1.1")).unwrap();
    std::fs::write(root.join("contracts/v1/fixtures/new.golden.json"), "{}\n").unwrap();
    let errors = verify_bytes(&built.bytes, Some(&root), &Limits::default())
        .unwrap_err()
        .0;
    assert!(errors.contains(&VerifyError::RepoDiffers(
        "contracts/integration/v1/producer-contract-manifest.json".to_owned()
    )));
    assert!(errors.contains(&VerifyError::RepoExtra(
        "contracts/v1/fixtures/new.golden.json".to_owned()
    )));
    // Without a repository the bundle is still self-consistent.
    verify_bytes(&built.bytes, None, &Limits::default()).unwrap();
}

#[test]
fn every_malformed_bundle_is_refused_with_its_own_message() {
    let (_dir, root) = fixture();
    let good = bundle::build(&root, &inputs()).unwrap().bytes;
    let mut failures = Vec::new();
    let mut kinds = Vec::new();
    for case in cases() {
        let mut bytes = match case.entries {
            Some(mutate) => {
                let mut entries = unpack(&good);
                mutate(&mut entries);
                repack(&entries)
            }
            None => good.clone(),
        };
        (case.bytes)(&mut bytes);
        let errors = match verify_bytes(&bytes, None, &case.limits) {
            Ok(_) => {
                failures.push(format!("{}: passed", case.name));
                continue;
            }
            Err(failure) => failure.0,
        };
        let Some(first) = errors.first() else {
            failures.push(format!("{}: failed with no error", case.name));
            continue;
        };
        let text = first.to_string();
        if !(case.expect)(first) || !text.contains(case.message) {
            failures.push(format!(
                "{}: wanted {:?}, got:\n  {}",
                case.name,
                case.message,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
        kinds.push((discriminant(first), case.name));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (index, (kind, name)) in kinds.iter().enumerate() {
        for (other, other_name) in &kinds[index + 1..] {
            assert_ne!(kind, other, "{name} and {other_name} share a message");
        }
    }
}

#[test]
fn a_gzip_cut_anywhere_is_reported_as_truncated() {
    let (_dir, root) = fixture();
    let good = bundle::build(&root, &inputs()).unwrap().bytes;
    for keep in [
        1,
        2,
        10,
        good.len() / 2,
        good.len() - 100,
        good.len() - 8,
        good.len() - 1,
    ] {
        let errors = verify_bytes(&good[..keep], None, &Limits::default())
            .unwrap_err()
            .0;
        assert_eq!(errors, [VerifyError::TruncatedGzip], "keeping {keep} bytes");
    }
}

// ---- published summary ----------------------------------------------------------------------

#[test]
fn the_summary_gate_names_a_stale_artifact_and_the_fix() {
    let (_dir, root) = fixture();
    let summary_path = root.join(summary::SUMMARY_PATH);
    let text = summary::expected(&root, &BTreeMap::new())
        .unwrap()
        .render()
        .unwrap();
    std::fs::write(&summary_path, &text).unwrap();
    let findings = summary::check(&root).unwrap();
    assert!(findings.passed(), "{findings}");

    let changelog = root.join("CHANGELOG.md");
    let old = std::fs::read_to_string(&changelog).unwrap();
    std::fs::write(&changelog, format!("{old}- more\n")).unwrap();
    std::fs::write(root.join("contracts/v1/fixtures/new.golden.json"), "{}\n").unwrap();
    let problems = summary::check(&root).unwrap().problems.join("\n");
    assert!(
        problems.contains("CHANGELOG.md changed since it was generated"),
        "{problems}"
    );
    assert!(
        problems.contains("governed file contracts/v1/fixtures/new.golden.json is not listed"),
        "{problems}"
    );
    assert!(problems.contains("run `cargo xtask codegen`"), "{problems}");

    // A bundle's evidence.json is not a published summary.
    let built = bundle::build(&root, &inputs()).unwrap();
    std::fs::write(&summary_path, built.evidence.render().unwrap()).unwrap();
    let problems = summary::check(&root).unwrap().problems.join("\n");
    assert!(
        problems.contains("must be a published summary"),
        "{problems}"
    );
    // ... but it projects to one.
    assert_eq!(
        built.evidence.to_summary(),
        summary::expected(&root, &BTreeMap::new()).unwrap()
    );
}

#[test]
fn the_schema_ties_gates_and_source_to_the_scope() {
    let (_dir, root) = fixture();
    let schemas = ContractSchemas::load(&root).unwrap();
    let evidence = bundle::build(&root, &inputs()).unwrap().evidence;
    let bundle = serde_json::to_value(&evidence).unwrap();
    let summary = serde_json::to_value(evidence.to_summary()).unwrap();
    let violations = |value: &serde_json::Value| schemas.violations(SCHEMA_PATH, value).unwrap();
    assert_eq!(violations(&bundle), Vec::<String>::new());
    assert_eq!(violations(&summary), Vec::<String>::new());
    type Edit = fn(&mut serde_json::Value);
    let mutations: [(&str, Edit); 5] = [
        ("a bundle without source", |v| {
            v.as_object_mut().unwrap().remove("source");
        }),
        ("a summary with gates", |v| {
            v["scope"] = "published-summary".into();
            v.as_object_mut().unwrap().remove("source");
        }),
        ("a traversing artifact path", |v| {
            v["artifacts"][0]["path"] = "../x".into()
        }),
        ("an uppercase digest", |v| {
            v["artifacts"][0]["sha256"] = "A".repeat(64).into();
        }),
        ("a failed gate", |v| {
            v["gates"][0]["status"] = "failed".into()
        }),
    ];
    for (name, mutate) in mutations {
        let mut value = bundle.clone();
        mutate(&mut value);
        assert!(!violations(&value).is_empty(), "{name} validates");
    }
}

// ---- the binary -----------------------------------------------------------------------------

fn xtask(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_verify_command_passes_a_good_bundle_and_fails_a_truncated_one() {
    let (dir, root) = fixture();
    let built = bundle::build(&root, &inputs()).unwrap();
    let path = bundle::write(&dir.path().join("out"), &built).unwrap();
    let output = xtask(&[
        "release-evidence".as_ref(),
        "verify".as_ref(),
        path.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains(": OK: "), "{stdout}");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let output = xtask(&[
        "release-evidence".as_ref(),
        "verify".as_ref(),
        path.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the gzip stream is truncated"), "{stderr}");

    let output = xtask(&["release-evidence".as_ref(), "--help".as_ref()]);
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "SHA256SUMS",
        "SOURCE_DATE_EPOCH",
        "--full",
        "cargo xtask codegen",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}
