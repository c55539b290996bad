//! Online backup, atomic restore and the integrity report (docs/spec/snapshots.md, MKR-034).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{RecordBuilder, dir_listing, link, migrated_store, stored_ask, temp_db};
use memory_kernel_core::{Effect, RecordType, Relation};
use memory_kernel_store::{Store, StoreError};
use rusqlite::Connection;

fn seed(store: &Store) {
    let a = RecordBuilder::constraint("user", "use", "disk", Effect::Allow).build();
    let b = RecordBuilder::summary(RecordType::Decision, "keep disks")
        .at("2026-01-02T00:00:00Z")
        .supersedes(a.memory_version_id)
        .build();
    store.insert_records(&[a.clone(), b.clone()], None).unwrap();
    store
        .insert_link(
            &link(
                b.memory_version_id,
                a.memory_version_id,
                Relation::Contradicts,
                "2026-01-03T00:00:00Z",
            ),
            None,
        )
        .unwrap();
    stored_ask(store, "may I?");
}

#[test]
fn backup_then_restore_reproduces_the_store() {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    seed(&store);
    let records = store.all_records().unwrap();
    let links = store.all_links().unwrap();
    let packages = store.all_context_packages().unwrap();

    let backup = dir.path().join("backup.sqlite3");
    store.backup(&backup, false).unwrap();
    assert_eq!(
        Store::inspect(&backup).unwrap().current_version,
        memory_kernel_store::schema::target_version()
    );

    // Diverge, then restore: the later write disappears, everything else is back.
    let clone = store.clone();
    clone
        .insert_record(
            &RecordBuilder::summary(RecordType::Event, "after backup").build(),
            None,
        )
        .unwrap();
    store.restore(&backup).unwrap();
    assert_eq!(clone.all_records().unwrap(), records);
    assert_eq!(store.all_links().unwrap(), links);
    assert_eq!(store.all_context_packages().unwrap(), packages);
    assert!(store.integrity_check().unwrap().is_healthy());
    let mode: String = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the live file stays in WAL mode");

    // The store keeps working on the restored content.
    store
        .insert_record(
            &RecordBuilder::summary(RecordType::Event, "after restore").build(),
            None,
        )
        .unwrap();
    assert_eq!(store.all_records().unwrap().len(), records.len() + 1);
    drop((store, clone));
    let leftovers: Vec<String> = dir_listing(dir.path())
        .into_iter()
        .filter(|name| name.starts_with(".mk-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn backup_replaces_an_existing_destination_atomically() {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    seed(&store);
    let dest = dir.path().join("backup.sqlite3");
    std::fs::write(&dest, b"old contents").unwrap();
    store.backup(&dest, true).unwrap();
    let copy = Store::open_read_only(&dest).unwrap();
    assert_eq!(copy.all_records().unwrap(), store.all_records().unwrap());
}

#[test]
fn restore_refuses_bad_sources_and_leaves_the_live_database_unchanged() {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    seed(&store);
    let before = store.all_records().unwrap();

    let unmigrated = dir.path().join("unmigrated.sqlite3");
    Connection::open(&unmigrated)
        .unwrap()
        .execute_batch("CREATE TABLE notes (x TEXT);")
        .unwrap();
    assert!(matches!(
        store.restore(&unmigrated).unwrap_err(),
        StoreError::RestoreSourceNotCurrent { current: 0, .. }
    ));

    let garbage = dir.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    assert!(matches!(
        store.restore(&garbage).unwrap_err(),
        StoreError::NotADatabase { .. }
    ));

    let missing = dir.path().join("missing.sqlite3");
    assert!(matches!(
        store.restore(&missing).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    assert!(!missing.exists());

    assert_eq!(store.all_records().unwrap(), before);
    assert!(store.integrity_check().unwrap().is_healthy());
    assert!(
        dir_listing(dir.path())
            .iter()
            .all(|name| !name.starts_with(".mk-"))
    );
}

#[test]
fn integrity_report_covers_quick_check_foreign_keys_and_schema() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
    seed(&store);
    let report = store.integrity_check().unwrap();
    assert!(report.quick_check_ok);
    assert_eq!(report.quick_check_message, "ok");
    assert!(report.foreign_key_violations.is_empty());
    assert!(report.schema_status.up_to_date);

    // A dangling reference written behind the store's back is reported.
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys = OFF;
         INSERT INTO mk_recall_postings (term, doc, frequency) VALUES ('ghost', 999999, 1);",
    )
    .unwrap();
    drop(conn);
    let report = Store::open(&path).unwrap().integrity_check().unwrap();
    assert_eq!(report.foreign_key_violations.len(), 1);
    assert_eq!(report.foreign_key_violations[0].table, "mk_recall_postings");
    assert_eq!(report.foreign_key_violations[0].parent, "mk_recall_docs");
    assert!(!report.is_healthy());
}

#[test]
fn item_16_backup_refuses_an_existing_file_without_force_and_always_the_live_database() {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    seed(&store);
    let dest = dir.path().join("backup.sqlite3");
    std::fs::write(&dest, b"precious").unwrap();
    assert!(matches!(
        store.backup(&dest, false).unwrap_err(),
        StoreError::BackupTargetExists { .. }
    ));
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious");

    // The live database is refused even with force, under its own name or another path.
    let records = store.all_records().unwrap();
    for live in [
        path.clone(),
        dir.path().join(".").join(path.file_name().unwrap()),
    ] {
        assert!(matches!(
            store.backup(&live, true).unwrap_err(),
            StoreError::BackupOntoLiveDatabase { .. }
        ));
    }
    assert_eq!(store.all_records().unwrap(), records);

    store.backup(&dest, true).unwrap();
    let hidden: Vec<String> = dir_listing(dir.path())
        .into_iter()
        .filter(|name| name.starts_with('.') || name.contains("mk-partial"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}
