//! Tidy rules, one test per rule: a clean fixture repository passes, then one injected
//! violation is reported with its file, line and rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use tempfile::TempDir;
use xtask::tidy::{self, Rule, Violation};

/// A minimal clean repository: a workspace manifest, one documented crate and a README.
fn clean_fixture() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\n",
    );
    write(root, "README.md", "# Fixture\n\nA clean repository.\n");
    write(
        root,
        "crates/a/Cargo.toml",
        "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    write(
        root,
        "crates/a/src/lib.rs",
        "//! Crate a.\n\npub fn a() {}\n",
    );
    write(root, ".ci/run", "cargo xtask verify\n");
    // Build output is never checked.
    write(root, "target/debug/junk.sh", "echo junk \r\n");
    dir
}

fn write(root: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// One row of the injection table: the file to write, and every violation it must produce
/// as (path, line, rule).
struct Case {
    path: &'static str,
    contents: &'static [u8],
    expected: &'static [(&'static str, Option<usize>, Rule)],
}

/// The shared runner: the clean copy passes; the injected copy reports exactly the expected
/// violations, each printed as `path:line: rule: message`.
fn assert_reported(case: &Case) {
    let fixture = clean_fixture();
    let root = fixture.path();
    let clean = tidy::check(root).unwrap();
    assert_eq!(clean, Vec::<Violation>::new(), "clean fixture");

    write(root, case.path, case.contents);
    let violations = tidy::check(root).unwrap();
    let found: Vec<(&str, Option<usize>, Rule)> = violations
        .iter()
        .map(|v| (v.path.as_str(), v.line, v.rule))
        .collect();
    assert_eq!(found, case.expected, "{violations:#?}");
    for violation in &violations {
        let prefix = match violation.line {
            Some(line) => format!("{}:{line}: {}: ", violation.path, violation.rule.name()),
            None => format!("{}: {}: ", violation.path, violation.rule.name()),
        };
        assert!(violation.to_string().starts_with(&prefix), "{violation}");
    }
}

#[test]
fn trailing_whitespace_in_rust_file() {
    assert_reported(&Case {
        path: "crates/a/src/extra.rs",
        contents: b"//! Extra.\n\npub fn b() {} \n",
        expected: &[("crates/a/src/extra.rs", Some(3), Rule::TrailingWhitespace)],
    });
}

#[test]
fn shell_script() {
    // `scripts/` is also not an allowed top-level directory.
    assert_reported(&Case {
        path: "scripts/x.sh",
        contents: b"echo hi\n",
        expected: &[
            ("scripts/", None, Rule::TopLevelLayout),
            ("scripts/x.sh", None, Rule::NoScripts),
        ],
    });
}

#[test]
fn shell_script_inside_an_allowed_directory() {
    assert_reported(&Case {
        path: "crates/a/build.py",
        contents: b"print('hi')\n",
        expected: &[("crates/a/build.py", None, Rule::NoScripts)],
    });
}

#[test]
fn script_by_shebang_without_extension() {
    assert_reported(&Case {
        path: "docs/tool",
        contents: b"#!/usr/bin/env bash\necho hi\n",
        expected: &[("docs/tool", None, Rule::NoScripts)],
    });
}

#[test]
fn crlf_line_endings() {
    assert_reported(&Case {
        path: "docs/notes.txt",
        contents: b"first\nsecond\r\nthird\r\n",
        expected: &[("docs/notes.txt", Some(2), Rule::LineEndings)],
    });
}

#[test]
fn missing_final_newline() {
    assert_reported(&Case {
        path: "docs/notes.txt",
        contents: b"first\nsecond",
        expected: &[("docs/notes.txt", Some(2), Rule::LineEndings)],
    });
}

#[test]
fn crate_without_doc_comment() {
    assert_reported(&Case {
        path: "crates/a/src/lib.rs",
        contents: b"// Not a doc comment.\npub fn a() {}\n",
        expected: &[("crates/a/src/lib.rs", Some(1), Rule::CrateDocs)],
    });
}

#[test]
fn unexpected_top_level_dir() {
    assert_reported(&Case {
        path: "stray/notes.md",
        contents: b"# Stray\n",
        expected: &[("stray/", None, Rule::TopLevelLayout)],
    });
}

#[test]
fn binary_files_are_exempt_from_text_rules() {
    let fixture = clean_fixture();
    write(
        fixture.path(),
        "docs/logo.bin",
        b"\x89PNG\r\n\x00 \r\n no final newline",
    );
    assert_eq!(
        tidy::check(fixture.path()).unwrap(),
        Vec::<Violation>::new()
    );
}

#[test]
fn binary_crate_docs_live_in_main_rs() {
    let fixture = clean_fixture();
    let root = fixture.path();
    write(root, "xtask/Cargo.toml", "[package]\nname = \"xtask\"\n");
    write(
        root,
        "xtask/src/main.rs",
        "#![allow(dead_code)]\n\n//! Tasks.\nfn main() {}\n",
    );
    assert_eq!(tidy::check(root).unwrap(), Vec::<Violation>::new());

    write(root, "xtask/src/main.rs", "fn main() {}\n");
    let violations = tidy::check(root).unwrap();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert_eq!(violations[0].path, "xtask/src/main.rs");
    assert_eq!(violations[0].line, Some(1));
    assert_eq!(violations[0].rule, Rule::CrateDocs);
}

#[test]
fn violations_are_sorted_by_path_then_line() {
    let fixture = clean_fixture();
    let root = fixture.path();
    write(root, "docs/b.md", "one \ntwo\nthree \n");
    write(root, "docs/a.md", "one \n");
    let places: Vec<(String, Option<usize>)> = tidy::check(root)
        .unwrap()
        .into_iter()
        .map(|v| (v.path, v.line))
        .collect();
    assert_eq!(
        places,
        [
            ("docs/a.md".to_owned(), Some(1)),
            ("docs/b.md".to_owned(), Some(1)),
            ("docs/b.md".to_owned(), Some(3)),
        ]
    );
}

#[test]
fn evidence_path_that_does_not_exist() {
    assert_reported(&Case {
        path: "docs/implementation/QUEUE.md",
        contents: b"# Queue\n\n| item | evidence |\n|---|---|\n| a | `README.md`, `cargo xtask verify`, `docs/missing.md` |\n",
        expected: &[("docs/implementation/QUEUE.md", Some(5), Rule::EvidencePaths)],
    });
}

#[test]
fn absolute_evidence_path() {
    assert_reported(&Case {
        path: "docs/implementation/QUEUE.md",
        contents: b"# Queue\n\n- item\n  - Evidence: `/work/main/README.md`\n",
        expected: &[("docs/implementation/QUEUE.md", Some(4), Rule::EvidencePaths)],
    });
}

#[test]
fn evidence_paths_outside_evidence_places_or_documents_are_not_checked() {
    let fixture = clean_fixture();
    let root = fixture.path();
    // Prose and non-evidence columns may name anything; other folders are not evidence docs.
    write(
        root,
        "docs/implementation/QUEUE.md",
        "See `not/here.md`.\n\n| item | owner |\n|---|---|\n| `x/y.md` | z |\n\nEvidence: `README.md`, `crates/a/`\n",
    );
    write(root, "docs/spec/x.md", "Evidence: `missing.md`\n");
    assert_eq!(tidy::check(root).unwrap(), Vec::<Violation>::new());
}

#[test]
fn a_queue_document_calling_a_gate_pending() {
    assert_reported(&Case {
        path: "docs/implementation/QUEUE.md",
        contents: b"# Queue\n\n| gate | command |\n|---|---|\n| slo | `cargo xtask slo` (pending: lands later) |\n",
        expected: &[("docs/implementation/QUEUE.md", Some(5), Rule::HandWrittenStatus)],
    });
}

#[test]
fn a_citation_of_a_spec_outside_the_repository() {
    let citation = format!(
        "//! Crate b ({} 7.2).\n\npub fn b() {{}}\n",
        concat!("SPEC ", "§")
    );
    assert_reported(&Case {
        path: "crates/b/src/lib.rs",
        contents: Box::leak(citation.into_bytes().into_boxed_slice()),
        expected: &[("crates/b/src/lib.rs", Some(1), Rule::SpecReferences)],
    });
}

#[test]
fn a_dangling_spec_reference() {
    assert_reported(&Case {
        path: "crates/b/src/lib.rs",
        contents: b"//! Crate b, as docs/spec/nowhere.md says.\n\npub fn b() {}\n",
        expected: &[("crates/b/src/lib.rs", Some(1), Rule::SpecReferences)],
    });
}

#[test]
fn an_architecture_page_naming_a_missing_path() {
    assert_reported(&Case {
        path: "ARCHITECTURE.md",
        contents: b"# Architecture\n\nThe resolver is in `crates/a/src/gone.rs`.\n",
        expected: &[("ARCHITECTURE.md", Some(3), Rule::SpecReferences)],
    });
}
