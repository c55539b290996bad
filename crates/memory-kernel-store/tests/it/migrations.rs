//! Schema status, migrations, legacy detection and the read-only guarantees (MKR-025,
//! MKR-031, MKR-032, docs/spec/requirements.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::support::{RecordBuilder, dir_listing, link, migrated_store, temp_db, ts};
use memory_kernel_core::{Authority, Effect, RecordType, Relation, TruthStatus};
use memory_kernel_store::{
    MIGRATE_COMMAND, RecordFilter, Store, StoreError,
    schema::{MIGRATIONS_TABLE, target_version},
};
use rusqlite::Connection;

/// A file the original MemoryKernel wrote at its layout version 1 (rows keyed by memory_id,
/// version read from the shape): one decision.
fn write_legacy_file(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE memory_records (memory_id TEXT PRIMARY KEY, record_type TEXT NOT NULL,
           created_at TEXT NOT NULL, effective_at TEXT NOT NULL, truth_status TEXT NOT NULL,
           authority TEXT NOT NULL, confidence REAL, writer TEXT NOT NULL,
           justification TEXT NOT NULL, source_uri TEXT NOT NULL, source_hash TEXT,
           evidence_json TEXT NOT NULL);
         CREATE TABLE decision_payloads (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         INSERT INTO memory_records VALUES ('01J0000000000000000000000A', 'decision',
           '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z', 'asserted', 'authoritative', NULL,
           'lead', 'adr', 'file:///adr/1', NULL, '[]');
         INSERT INTO decision_payloads VALUES ('01J0000000000000000000000A', 'old memory');",
    )
    .unwrap();
}

#[test]
fn fresh_database_migrates_to_target() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let before = store.schema_status().unwrap();
    assert_eq!(before.current_version, 0);
    let all: Vec<u32> = (1..=target_version()).collect();
    assert_eq!(before.pending_versions, all);
    assert!(!before.up_to_date && !before.inferred_from_legacy);

    let report = store.migrate(false).unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.would_apply_versions, all);
    assert_eq!(report.after_version, Some(target_version()));
    assert_eq!(report.up_to_date, Some(true));

    let after = store.schema_status().unwrap();
    assert!(after.up_to_date);
    assert!(after.pending_versions.is_empty());

    let again = store.migrate(false).unwrap();
    assert!(
        again.would_apply_versions.is_empty(),
        "migrating twice applies nothing"
    );
    let conn = Connection::open(&path).unwrap();
    let applied_at: String = conn
        .query_row(
            &format!("SELECT applied_at FROM {MIGRATIONS_TABLE} WHERE version = 1"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(applied_at.ends_with('Z'));
}

#[test]
fn every_connection_uses_wal_and_foreign_keys() {
    let (_dir, path) = temp_db();
    let _store = migrated_store(&path);
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn unmigrated_store_refuses_data_operations_naming_the_fix() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let record = RecordBuilder::summary(RecordType::Decision, "ship it").build();
    let err = store.insert_record(&record, None).unwrap_err();
    assert!(matches!(
        err,
        StoreError::SchemaOutdated {
            current: 0,
            target: 4
        }
    ));
    assert!(err.to_string().contains(MIGRATE_COMMAND));
    let err = store.list_records(&RecordFilter::default()).unwrap_err();
    assert!(matches!(err, StoreError::SchemaOutdated { .. }));
}

#[test]
fn legacy_schema_is_refused_with_guidance_then_migrated() {
    let (_dir, path) = temp_db();
    write_legacy_file(&path);

    let status = Store::inspect(&path).unwrap();
    assert!(status.inferred_from_legacy);
    assert_eq!(status.current_version, 0);
    assert!(!status.up_to_date);

    let store = Store::open(&path).unwrap();
    let record = RecordBuilder::summary(RecordType::Event, "deploy").build();
    let err = store.insert_record(&record, None).unwrap_err();
    assert!(matches!(err, StoreError::LegacySchema), "{err:?}");
    assert!(err.to_string().contains("run `mk db migrate`"), "{err}");
    assert!(matches!(
        store.list_records(&RecordFilter::default()).unwrap_err(),
        StoreError::LegacySchema
    ));

    let plan = store.migrate(true).unwrap();
    assert!(plan.inferred_from_legacy && plan.dry_run);
    assert_eq!(plan.legacy_tables, vec!["memory_records".to_owned()]);
    assert_eq!(plan.legacy_inventory.as_ref().map(|i| i.records), Some(1));

    let report = store.migrate(false).unwrap();
    assert!(report.inferred_from_legacy);
    assert_eq!(report.up_to_date, Some(true));
    store.insert_record(&record, None).unwrap();

    // The old row was carried into the current schema and the old tables dropped.
    let carried = store.all_records().unwrap();
    assert_eq!(carried.len(), 2);
    assert!(
        carried
            .iter()
            .any(|r| r.payload.summary_text() == Some("old memory"))
    );
    let conn = Connection::open(&path).unwrap();
    let old_tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('memory_records', 'decision_payloads')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_tables, 0);
    assert!(!store.schema_status().unwrap().inferred_from_legacy);
}

#[test]
fn a_legacy_named_table_of_another_shape_is_refused_and_left_alone() {
    let (_dir, path) = temp_db();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE memory_records (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         INSERT INTO memory_records VALUES ('01J0000000000000000000000A', 'old memory');",
    )
    .unwrap();
    drop(conn);
    assert!(Store::inspect(&path).unwrap().inferred_from_legacy);
    let bytes = std::fs::read(&path).unwrap();
    let store = Store::open(&path).unwrap();
    assert!(matches!(
        Store::plan_migration(&path).unwrap_err(),
        StoreError::UnsupportedLegacyLayout { .. }
    ));
    assert!(matches!(
        store.migrate(false).unwrap_err(),
        StoreError::UnsupportedLegacyLayout { .. }
    ));
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn future_schema_version_is_refused() {
    let (_dir, path) = temp_db();
    drop(migrated_store(&path));
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        &format!(
            "INSERT INTO {MIGRATIONS_TABLE} VALUES ({}, 'from_the_future', '2030-01-01T00:00:00Z')",
            target_version() + 1
        ),
        [],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        Store::inspect(&path).unwrap_err(),
        StoreError::UnknownSchemaVersion {
            found: 5,
            supported: 4
        }
    ));
    let store = Store::open(&path).unwrap();
    assert!(matches!(
        store.migrate(false).unwrap_err(),
        StoreError::UnknownSchemaVersion { .. }
    ));
}

/// Every read-only entry point, run against one file.
fn run_read_only_operations(path: &Path, backup_dir: &Path) {
    let _ = Store::inspect(path).unwrap();
    let plan = Store::plan_migration(path).unwrap();
    assert!(plan.dry_run);
    let store = Store::open_read_only(path).unwrap();
    let _ = store.schema_status().unwrap();
    assert!(store.migrate(true).unwrap().dry_run);
    assert!(matches!(
        store.migrate(false).unwrap_err(),
        StoreError::ReadOnly
    ));
    let _ = store.integrity_check().unwrap();
    store
        .backup(backup_dir.join("copy.sqlite3"), false)
        .unwrap();
}

#[test]
fn read_only_operations_leave_an_unmigrated_file_byte_identical() {
    for legacy in [false, true] {
        let (dir, path) = temp_db();
        if legacy {
            write_legacy_file(&path);
        } else {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');")
                .unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        let listing = dir_listing(dir.path());
        let backups = tempfile::tempdir().unwrap();

        run_read_only_operations(&path, backups.path());

        assert_eq!(std::fs::read(&path).unwrap(), bytes, "legacy={legacy}");
        assert_eq!(dir_listing(dir.path()), listing, "legacy={legacy}");
        assert_eq!(dir_listing(backups.path()), vec!["copy.sqlite3"]);
    }
}

#[test]
fn read_only_operations_leave_a_migrated_file_byte_identical() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
    store
        .insert_record(
            &RecordBuilder::summary(RecordType::Outcome, "done").build(),
            None,
        )
        .unwrap();
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    let backups = tempfile::tempdir().unwrap();
    run_read_only_operations(&path, backups.path());
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn missing_file_is_reported_never_created() {
    let (dir, path) = temp_db();
    assert!(matches!(
        Store::inspect(&path).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        Store::plan_migration(&path).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        Store::open_existing(&path).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(matches!(
        Store::open_read_only(&path).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(dir_listing(dir.path()).is_empty());
}

#[test]
fn a_file_that_is_not_a_database_is_named() {
    let (_dir, path) = temp_db();
    std::fs::write(
        &path,
        b"this is not sqlite, just some text long enough to be a header",
    )
    .unwrap();
    assert!(matches!(
        Store::inspect(&path).unwrap_err(),
        StoreError::NotADatabase { .. }
    ));
    assert!(matches!(
        Store::open(&path).unwrap_err(),
        StoreError::NotADatabase { .. }
    ));
}

#[test]
fn check_constraints_accept_every_core_variant() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
    let mut stored = Vec::new();
    for truth in TruthStatus::ALL {
        for authority in Authority::ALL {
            for effect in Effect::ALL {
                let record = RecordBuilder::constraint("user", "use", "disk", *effect)
                    .truth(*truth)
                    .authority(*authority)
                    .build();
                store.insert_record(&record, None).unwrap();
                stored.push(record);
            }
        }
    }
    for record_type in RecordType::ALL
        .iter()
        .filter(|t| **t != RecordType::Constraint)
    {
        let record = RecordBuilder::summary(*record_type, "a summary").build();
        store.insert_record(&record, None).unwrap();
        stored.push(record);
    }
    for relation in Relation::ALL {
        store
            .insert_link(
                &link(
                    stored[1].memory_version_id,
                    stored[0].memory_version_id,
                    *relation,
                    "2026-01-02T00:00:00Z",
                ),
                None,
            )
            .unwrap();
    }
    assert_eq!(store.all_records().unwrap().len(), stored.len());

    // And the CHECKs refuse what core does not define.
    drop(store);
    let conn = Connection::open(&path).unwrap();
    for (column, value) in [
        ("truth_status", "rumoured"),
        ("authority", "gossip"),
        ("record_type", "memo"),
    ] {
        let sql = format!(
            "INSERT INTO mk_memory_records SELECT 'X{column}', memory_id, version + 100, \
             {sel_type}, created_at, created_at_nanos, effective_at, effective_at_nanos, \
             {sel_truth}, {sel_authority}, confidence, writer, justification, source_uri, \
             source_hash, evidence_json, supersedes_json, contradicts_json \
             FROM mk_memory_records LIMIT 1",
            sel_type = if column == "record_type" {
                format!("'{value}'")
            } else {
                "record_type".into()
            },
            sel_truth = if column == "truth_status" {
                format!("'{value}'")
            } else {
                "truth_status".into()
            },
            sel_authority = if column == "authority" {
                format!("'{value}'")
            } else {
                "authority".into()
            },
        );
        let err = conn.execute(&sql, []).unwrap_err();
        assert_eq!(
            err.sqlite_error().map(|e| e.extended_code),
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_CHECK),
            "{column}"
        );
    }
}

#[test]
fn version_2_reindexes_terms_and_keeps_stored_packages() {
    let (_dir, path) = temp_db();
    let conn = Connection::open(&path).unwrap();
    let v1 = &memory_kernel_store::schema::migrations()[0];
    conn.execute_batch(&v1.sql).unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO {MIGRATIONS_TABLE} VALUES (1, 'versioned_records', '2026-01-01T00:00:00Z');
         INSERT INTO mk_memory_records VALUES ('01J00000000000000000000001',
             '01J00000000000000000000002', 1, 'decision', '2026-01-01T00:00:00Z',
             1767225600000000000, '2026-01-01T00:00:00Z', 1767225600000000000, 'asserted',
             'authoritative', NULL, 'w', 'j', 'file:///x', NULL, '[]', '[]', '[]');
         INSERT INTO mk_decision_payloads VALUES ('01J00000000000000000000001',
             'Meet at the Café');
         INSERT INTO mk_record_terms VALUES ('caf', '01J00000000000000000000001');
         INSERT INTO mk_context_packages VALUES ('cp_old', 'ask', '{{\"kept\":\"as is\"}}');"
    ))
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    let report = store.migrate(false).unwrap();
    assert_eq!(report.would_apply_versions, vec![2, 3, 4]);
    // The package of an older build is served verbatim, and the record is found by the
    // accent-folded term under the new rules.
    assert_eq!(
        store.get_context_package("cp_old").unwrap().as_deref(),
        Some(r#"{"kept":"as is"}"#)
    );
    let set = store
        .recall_candidates(
            &memory_kernel_core::terms::terms("cafe"),
            &[RecordType::Decision],
            ts("2026-06-01T00:00:00Z"),
            false,
        )
        .unwrap();
    assert_eq!(set.records.len(), 1);
    // Version 4 re-derives the index with frequencies and lengths, so the indexed recall
    // ranks the carried record without reading any other.
    let query = memory_kernel_core::RecallQuery::new("cafe", ts("2026-06-01T00:00:00Z")).unwrap();
    let (package, read) = store.recall_indexed(&query).unwrap();
    assert_eq!(package.selected_items.len(), 1);
    assert_eq!(read.len(), 1);
    let conn = Connection::open(&path).unwrap();
    let postings: Vec<(String, i64, i64)> = conn
        .prepare(
            "SELECT p.term, p.frequency, d.length FROM mk_recall_postings p \
             JOIN mk_recall_docs d ON d.doc = p.doc ORDER BY p.term",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, i64, i64)> = ["at", "cafe", "meet", "the"]
        .iter()
        .map(|term| ((*term).to_owned(), 1, 4))
        .collect();
    assert_eq!(postings, expected);
}
