//! Reporting commands never create or change the database file (SPEC §12).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Mk, assert_failure, assert_valid, db_state};

#[test]
fn schema_version_on_a_missing_path_reports_it_and_creates_nothing() {
    let mk = Mk::new();
    let message = assert_failure(&mk.run(&["db", "schema-version"]), 1, "schema_unavailable");
    assert!(message.contains("does not exist"), "{message}");
    assert!(!mk.db().exists());
    assert_eq!(std::fs::read_dir(mk.dir()).unwrap().count(), 0);
}

#[test]
fn dry_run_migrate_on_a_missing_path_creates_nothing() {
    let mk = Mk::new();
    assert_failure(
        &mk.run(&["db", "migrate", "--dry-run"]),
        1,
        "schema_unavailable",
    );
    assert!(!mk.db().exists());
}

#[test]
fn data_commands_on_a_missing_path_create_nothing() {
    let mk = Mk::new();
    let message = assert_failure(&mk.run(&["memory", "list"]), 1, "schema_unavailable");
    assert!(message.contains("db migrate"), "{message}");
    assert!(!mk.db().exists());
}

#[test]
fn schema_version_and_dry_run_leave_an_unmigrated_file_byte_identical() {
    let mk = Mk::new();
    std::fs::write(mk.db(), b"").unwrap();
    let before = db_state(mk.db());
    let status = mk.ok(&["db", "schema-version"]);
    assert_valid("db-schema-version.schema.json", &status);
    assert_eq!(status["schema_status"]["up_to_date"], false);
    let plan = mk.ok(&["db", "migrate", "--dry-run"]);
    assert_valid("db-migrate.schema.json", &plan);
    assert_eq!(plan["migration"]["dry_run"], true);
    assert!(db_state(mk.db()) == before);
}

#[test]
fn schema_version_leaves_a_migrated_file_byte_identical() {
    let mk = Mk::migrated();
    let before = db_state(mk.db());
    let status = mk.ok(&["db", "schema-version"]);
    assert_eq!(status["schema_status"]["up_to_date"], true);
    mk.ok(&["db", "migrate", "--dry-run"]);
    assert!(db_state(mk.db()) == before);
}
