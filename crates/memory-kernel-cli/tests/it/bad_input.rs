//! Refused input: one runner over named rows. Each row must fail with the right exit code (2
//! for a command line that does not parse, 1 for a command the kernel refuses) and contract
//! code, print a schema-valid error object, and leave the database byte-identical.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use crate::support::{Mk, assert_failure, db_state, run_with_db};

/// Where a row's command points `--db`.
enum Db {
    /// The migrated database holding one record.
    Seeded,
    /// A path inside a folder that does not exist.
    MissingFolder,
    /// A folder instead of a file.
    Folder,
}

struct Row<'a> {
    name: &'static str,
    db: Db,
    args: Vec<String>,
    exit_code: i32,
    code: &'static str,
    /// A fragment the message must contain, so the user learns what to fix.
    message_contains: &'a str,
}

/// A complete `memory add decision` command with `replace` applied to its flags: a flag
/// mapped to `None` is dropped, one mapped to `Some(value)` gets that value.
fn add_decision(replace: &[(&str, Option<&str>)]) -> Vec<String> {
    let base = [
        ("--summary", "Ship on Fridays"),
        ("--writer", "ops"),
        ("--justification", "Retro outcome"),
        ("--source-uri", "file:///retro.md"),
        ("--truth-status", "asserted"),
        ("--authority", "derived"),
    ];
    let mut args: Vec<String> = ["memory", "add", "decision"].map(String::from).to_vec();
    for (flag, value) in base {
        let value = replace
            .iter()
            .find(|(f, _)| *f == flag)
            .map_or(Some(value), |(_, v)| *v);
        if let Some(value) = value {
            args.extend([flag.to_owned(), value.to_owned()]);
        }
    }
    for (flag, value) in replace {
        if !base.iter().any(|(f, _)| f == flag)
            && let Some(value) = value
        {
            args.extend([(*flag).to_owned(), (*value).to_owned()]);
        }
    }
    args
}

#[test]
fn refused_input_fails_with_its_code_and_leaves_the_database_untouched() {
    let mk = Mk::migrated();
    let seeded = mk.ok(&add_decision(&[])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let record = &seeded;
    let memory_id = record["memory_id"].as_str().unwrap();
    let version_id = record["memory_version_id"].as_str().unwrap();

    let rows = vec![
        Row {
            name: "missing --writer",
            db: Db::Seeded,
            args: add_decision(&[("--writer", None)]),
            exit_code: 2,
            code: "validation_error",
            message_contains: "--writer",
        },
        Row {
            name: "confidence above 1",
            db: Db::Seeded,
            args: add_decision(&[("--confidence", Some("1.5"))]),
            exit_code: 1,
            code: "validation_error",
            message_contains: "confidence",
        },
        Row {
            name: "non-UTC --created-at",
            db: Db::Seeded,
            args: add_decision(&[("--created-at", Some("2026-01-01T00:00:00+02:00"))]),
            exit_code: 1,
            code: "validation_error",
            message_contains: "UTC",
        },
        Row {
            name: "unknown --truth-status",
            db: Db::Seeded,
            args: add_decision(&[("--truth-status", Some("maybe"))]),
            exit_code: 2,
            code: "validation_error",
            message_contains: "asserted",
        },
        Row {
            name: "memory link to a memory_id",
            db: Db::Seeded,
            args: [
                "memory",
                "link",
                "--from",
                version_id,
                "--to",
                memory_id,
                "--relation",
                "supersedes",
                "--writer",
                "ops",
                "--justification",
                "wrong id kind",
            ]
            .map(String::from)
            .to_vec(),
            exit_code: 1,
            code: "validation_error",
            message_contains: memory_id,
        },
        Row {
            name: "item_01 non-canonical --supersedes",
            db: Db::Seeded,
            args: add_decision(&[("--supersedes", Some("81M8QFBV8A9AA9AY0JBHPM35F5"))]),
            exit_code: 2,
            code: "validation_error",
            message_contains: "81M8QFBV8A9AA9AY0JBHPM35F5",
        },
        Row {
            name: "item_01 non-canonical --memory-id",
            db: Db::Seeded,
            args: add_decision(&[("--memory-id", Some("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"))]),
            exit_code: 2,
            code: "validation_error",
            message_contains: "ULID",
        },
        Row {
            name: "item_02 NUL in --writer",
            db: Db::Seeded,
            args: add_decision(&[("--writer", Some("w\u{1}x"))]),
            exit_code: 1,
            code: "validation_error",
            message_contains: "control characters",
        },
        Row {
            name: "database in a missing folder",
            db: Db::MissingFolder,
            args: add_decision(&[]),
            exit_code: 1,
            code: "schema_unavailable",
            message_contains: "no-such-folder",
        },
        Row {
            name: "database path is a folder",
            db: Db::Folder,
            args: add_decision(&[]),
            exit_code: 1,
            code: "schema_unavailable",
            message_contains: "a-folder",
        },
    ];

    let folder = mk.dir().join("a-folder");
    fs::create_dir(&folder).unwrap();
    let missing = mk.dir().join("no-such-folder").join("x.sqlite3");
    for row in rows {
        let before = db_state(mk.db());
        let db = match row.db {
            Db::Seeded => mk.db(),
            Db::MissingFolder => missing.as_path(),
            Db::Folder => folder.as_path(),
        };
        let args: Vec<&str> = row.args.iter().map(String::as_str).collect();
        let run = run_with_db(db, &args);
        let message = assert_failure(&run, row.exit_code, row.code);
        assert!(
            message.contains(row.message_contains),
            "{}: message {message:?} does not mention {:?}",
            row.name,
            row.message_contains
        );
        assert!(
            db_state(mk.db()) == before,
            "{}: the database changed",
            row.name
        );
        assert!(
            !missing.exists(),
            "{}: created {}",
            row.name,
            missing.display()
        );
        assert!(
            fs::read_dir(&folder).unwrap().next().is_none(),
            "{}: wrote into the folder given as --db",
            row.name
        );
    }
}

#[test]
fn item_01_non_canonical_ulids_are_refused_by_the_cli() {
    let mk = Mk::migrated();
    let before = db_state(mk.db());
    let run = mk.run(&[
        "memory",
        "link",
        "--from",
        "GZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "--to",
        "01M8QFBV8A9AA9AY0JBHPM35F5",
        "--relation",
        "supersedes",
        "--writer",
        "ops",
        "--justification",
        "alias",
    ]);
    assert_failure(&run, 2, "validation_error");
    assert!(db_state(mk.db()) == before);
}

#[test]
fn item_16_backup_refuses_an_existing_file_without_force_and_the_live_database() {
    let mk = Mk::migrated();
    let out = mk.dir().join("backup.sqlite3");
    fs::write(&out, b"precious").unwrap();
    let out_text = out.to_str().unwrap();
    let run = mk.run(&["db", "backup", "--out", out_text]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(message.contains("--force"), "{message}");
    assert_eq!(fs::read(&out).unwrap(), b"precious");
    let live = mk.db().to_str().unwrap().to_owned();
    let run = mk.run(&["db", "backup", "--out", &live, "--force"]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(message.contains("live database"), "{message}");
    mk.ok(&["db", "backup", "--out", out_text, "--force"]);
    assert_ne!(fs::read(&out).unwrap(), b"precious");
}
