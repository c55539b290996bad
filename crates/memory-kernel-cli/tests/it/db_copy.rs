//! `mk db copy`: a whole store moved SQLite -> PostgreSQL -> SQLite arrives unchanged (the
//! two SQLite files export identical snapshots and answer trust questions alike, the trust
//! history included), and a copy never lands in a store that already holds data.

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
        "outcome_events.ndjson",
    ]
    .iter()
    .map(|name| ((*name).to_owned(), fs::read(out.join(name)).unwrap()))
    .collect()
}

/// A trust history on the scenario's deny constraint: three events, a replay, and one more
/// event left unprojected, so the projector's position has to travel too.
fn add_trust_history(mk: &Mk, memory: &str) {
    let log = |event: &str| {
        let mut args = vec![
            "outcome",
            "log",
            "--memory-id",
            memory,
            "--version",
            "1",
            "--writer",
            "w",
            "--justification",
            "j",
            "--occurred-at",
            "2026-02-07T12:00:00Z",
            "--event",
            event,
        ];
        if event == "failure" {
            args.extend(["--severity", "high"]);
        }
        mk.ok(&args);
    };
    for event in ["success", "failure", "success"] {
        log(event);
    }
    mk.ok(&["outcome", "replay"]);
    log("success");
}

/// What a store says about trust: the projector's health and a gate's verdict on `memory`.
fn trust_answers(db: &str, memory: &str) -> (serde_json::Value, String) {
    let status = run_raw(&["--db", db, "outcome", "projector", "status", "--json"]);
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    let mut status = status.json();
    status.as_object_mut().unwrap().remove("updated_at");
    let candidate = format!("{memory}:1");
    let gate = run_raw(&[
        "--db",
        db,
        "outcome",
        "gate",
        "preview",
        "--mode",
        "safe",
        "--as-of",
        "2026-03-01T00:00:00Z",
        "--candidate",
        &candidate,
        "--json",
    ]);
    assert_eq!(gate.code, Some(0), "{}", gate.stderr);
    (status, gate.stdout)
}

fn copy(from: &str, to: &str) -> serde_json::Value {
    let run = run_raw(&["db", "copy", "--from", from, "--to", to]);
    assert_eq!(run.code, Some(0), "copy {from} -> {to}: {}", run.stderr);
    run.json()
}

#[test]
fn a_store_round_trips_through_postgresql_unchanged() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    add_trust_history(&mk, &scenario.deny_memory);
    let source = mk.db().to_str().unwrap().to_owned();
    let answers = trust_answers(&source, &scenario.deny_memory);
    assert_eq!(answers.0["lag_events"], 1, "{}", answers.0);
    let back = mk.dir().join("back.sqlite3");
    let back = back.to_str().unwrap();
    let (there, again) =
        match TempDatabase::create("a_store_round_trips_through_postgresql_unchanged") {
            Some(db) => {
                let there = copy(&source, &db.url);
                assert_eq!(trust_answers(&db.url, &scenario.deny_memory), answers);
                (there, copy(&db.url, back))
            }
            // Without a server the same round trip runs file to file.
            None => {
                let middle = mk.dir().join("middle.sqlite3");
                let middle = middle.to_str().unwrap();
                (copy(&source, middle), copy(middle, back))
            }
        };
    for key in [
        "records",
        "links",
        "context_packages",
        "outcome_events",
        "digest",
    ] {
        assert_eq!(there[key], again[key], "{key}");
    }
    assert_eq!(there["outcome_events"], 4);
    assert_eq!(trust_answers(back, &scenario.deny_memory), answers);
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

/// A file of the original MemoryKernel goes up in one copy: it is migrated in a temporary
/// copy, never in place, and the target holds what migrating the file itself would give.
#[test]
fn a_file_of_the_original_is_copied_without_being_changed() {
    let mk = Mk::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/upstream-handbook.sqlite3");
    let original = mk.dir().join("original.sqlite3");
    fs::copy(&fixture, &original).unwrap();
    let before = fs::read(&original).unwrap();

    // The long way round: migrate a second copy in place, then copy that.
    let migrated = mk.dir().join("migrated.sqlite3");
    fs::copy(&fixture, &migrated).unwrap();
    let run = crate::support::run_with_db(&migrated, &["db", "migrate"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let by_hand = copy(
        migrated.to_str().unwrap(),
        mk.dir().join("by-hand.sqlite3").to_str().unwrap(),
    );

    let database = TempDatabase::create("a_file_of_the_original_is_copied_without_being_changed");
    let target = match &database {
        Some(db) => db.url.clone(),
        None => mk.dir().join("target.sqlite3").to_str().unwrap().to_owned(),
    };
    let direct = copy(original.to_str().unwrap(), &target);
    assert_eq!(
        fs::read(&original).unwrap(),
        before,
        "the source was changed"
    );
    for key in [
        "records",
        "links",
        "context_packages",
        "outcome_events",
        "digest",
    ] {
        assert_eq!(direct[key], by_hand[key], "{key}");
    }
    assert_eq!(direct["records"], 10);
    let listed = run_raw(&["--db", &target, "memory", "list", "--limit", "50"]);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(listed.json()["records"].as_array().unwrap().len(), 10);
}
