//! `mk db copy`: a whole store moved SQLite -> PostgreSQL -> SQLite arrives unchanged (the
//! two SQLite files export identical snapshots), and a copy never lands in a store that
//! already holds data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use crate::support::{Mk, assert_failure, run_raw, seed_scenario};
use memory_kernel_testkit::postgres::TempDatabase;

/// The snapshot files of `db`, exported into `out`.
fn exported(db: &Path, out: &Path) -> Vec<(String, Vec<u8>)> {
    let run = crate::support::run_with_db(db, &["db", "export", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    [
        "memory_records.ndjson",
        "memory_links.ndjson",
        "context_packages.ndjson",
    ]
    .iter()
    .map(|name| ((*name).to_owned(), fs::read(out.join(name)).unwrap()))
    .collect()
}

fn copy(from: &str, to: &str) -> serde_json::Value {
    let run = run_raw(&["db", "copy", "--from", from, "--to", to]);
    assert_eq!(run.code, Some(0), "copy {from} -> {to}: {}", run.stderr);
    run.json()
}

#[test]
fn a_store_round_trips_through_postgresql_unchanged() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let source = mk.db().to_str().unwrap().to_owned();
    let back = mk.dir().join("back.sqlite3");
    let back = back.to_str().unwrap();
    let (there, again) =
        match TempDatabase::create("a_store_round_trips_through_postgresql_unchanged") {
            Some(db) => {
                let there = copy(&source, &db.url);
                (there, copy(&db.url, back))
            }
            // Without a server the same round trip runs file to file.
            None => {
                let middle = mk.dir().join("middle.sqlite3");
                let middle = middle.to_str().unwrap();
                (copy(&source, middle), copy(middle, back))
            }
        };
    for key in ["records", "links", "context_packages", "digest"] {
        assert_eq!(there[key], again[key], "{key}");
    }
    assert!(there["records"].as_u64().unwrap() > 0);
    assert!(there["links"].as_u64().unwrap() > 0);
    assert!(there["context_packages"].as_u64().unwrap() > 0);
    let original = exported(mk.db(), &mk.dir().join("export-original"));
    let returned = exported(Path::new(back), &mk.dir().join("export-returned"));
    assert_eq!(
        original, returned,
        "the round trip changed the exported snapshot"
    );
}

#[test]
fn a_copy_refuses_a_target_that_holds_data() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let source = mk.db().to_str().unwrap();
    let run = run_raw(&["db", "copy", "--from", source, "--to", source]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(message.contains("not empty"), "{message}");
}

#[test]
fn a_missing_source_is_not_created() {
    let mk = Mk::new();
    let missing = mk.dir().join("absent.sqlite3");
    let target = mk.dir().join("target.sqlite3");
    let run = run_raw(&[
        "db",
        "copy",
        "--from",
        missing.to_str().unwrap(),
        "--to",
        target.to_str().unwrap(),
    ]);
    assert_failure(&run, 1, "schema_unavailable");
    assert!(!missing.exists());
}
