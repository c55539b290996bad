//! `migrate` on files in the original's database layout (versions 2 and 1): what is carried,
//! how it reads back, what is refused, and that refusals and read-only calls leave the file
//! as it was.

use std::collections::BTreeMap;
use std::path::Path;

use memory_kernel_core::terms::record_terms;
use memory_kernel_core::{MemoryId, MemoryRecord, Relation};
use memory_kernel_store::{
    LegacyPayloadRows, RecordFilter, Store, StoreError, UPSTREAM_PACKAGE_KIND,
};
use rusqlite::Connection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::fixture::{FIXTURE_EXPECTED, FIXTURE_LIST, answer, bytes_of, fixture_copy, read_json};
use crate::support::{dir_listing, temp_db};

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn table_names(conn: &Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_fixture_is_carried_whole_and_answers_as_the_original_did() {
    let (_dir, path) = fixture_copy();
    let expected = read_json(FIXTURE_EXPECTED);
    let original_packages: BTreeMap<String, String> = {
        let conn = Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT context_package_id, package_json FROM context_packages")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };

    let plan = Store::plan_migration(&path).unwrap();
    assert!(plan.dry_run && plan.inferred_from_legacy);
    let inventory = plan.legacy_inventory.clone().unwrap();
    assert_eq!(inventory.layout_version, 2);
    assert!(!inventory.inferred_from_shape);
    assert_eq!(
        inventory.records,
        expected["memory_records"].as_u64().unwrap()
    );
    assert_eq!(inventory.links, expected["memory_links"].as_u64().unwrap());
    assert_eq!(
        inventory.context_packages,
        expected["context_packages"].as_u64().unwrap()
    );
    assert_eq!(inventory.duplicate_links, 0);
    assert_eq!(inventory.derived_version_ids, 0);
    assert_eq!(
        inventory.payload_rows,
        LegacyPayloadRows {
            constraint: 4,
            decision: 2,
            preference: 2,
            event: 1,
            outcome: 1
        }
    );

    let store = Store::open_existing(&path).unwrap();
    let report = store.migrate(false).unwrap();
    assert_eq!(report.up_to_date, Some(true));
    assert_eq!(report.legacy_inventory, Some(inventory));
    let status = store.schema_status().unwrap();
    assert!(status.up_to_date && !status.inferred_from_legacy);

    let carried = store.all_records().unwrap();
    assert_eq!(
        carried.len() as u64,
        expected["memory_records"].as_u64().unwrap()
    );
    let links = store.all_links().unwrap();
    assert_eq!(
        links.len() as u64,
        expected["memory_links"].as_u64().unwrap()
    );
    let explicit = links
        .iter()
        .find(|l| l.writer == "auditor")
        .expect("the explicit link is carried");
    assert_eq!(explicit.justification, "incident used a usb drive");
    assert_eq!(explicit.relation, Relation::Contradicts);
    assert_eq!(
        explicit.created_at.to_string(),
        "2026-12-01T00:16:39.958570604Z"
    );
    let packages = store.all_context_packages().unwrap();
    assert_eq!(packages.len(), original_packages.len());
    for package in packages {
        assert_eq!(package.kind, UPSTREAM_PACKAGE_KIND);
        assert_eq!(
            original_packages[&package.context_package_id], package.package_json,
            "stored verbatim"
        );
    }

    for (name, case) in expected["answers_as_computed_by_upstream"]
        .as_object()
        .unwrap()
    {
        let (result, selected) = answer(&store, name, &case["query"]);
        let want: Vec<String> = case["selected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        if name.starts_with("query-ask") {
            assert_eq!(result, case["result"].as_str().unwrap(), "{name}");
            assert_eq!(selected, want, "{name}");
        } else {
            let mut sorted = selected.clone();
            sorted.sort();
            let mut want = want;
            want.sort();
            assert_eq!(sorted, want, "{name}");
        }
    }
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let tables = table_names(&conn);
    for gone in [
        "memory_records",
        "memory_links",
        "context_packages",
        "schema_migrations",
        "constraint_payloads",
        "decision_payloads",
        "preference_payloads",
        "event_payloads",
        "outcome_payloads",
    ] {
        assert!(
            !tables.iter().any(|t| t == gone),
            "{gone} dropped: {tables:?}"
        );
    }
    // The indexes hold what the record-write path derives from each record.
    let terms: usize = carried.iter().map(|r| record_terms(r).len()).sum();
    assert_eq!(count(&conn, "mk_recall_postings"), terms as i64);
    assert_eq!(count(&conn, "mk_lineage_edges"), 6, "3 listed + 3 linked");
}

/// The original's record JSON (as `memory list` printed it) in this store's shape: the
/// payload's `record_type` and `payload` lifted to the top level.
fn original_to_ours(original: &Value) -> MemoryRecord {
    let mut object = original.as_object().unwrap().clone();
    object.remove("contract_version");
    let payload = object.remove("payload").unwrap();
    object.insert("record_type".into(), payload["record_type"].clone());
    object.insert("payload".into(), payload["payload"].clone());
    serde_json::from_value(Value::Object(object)).unwrap()
}

#[test]
fn carried_records_read_back_as_the_original_listed_them() {
    let (_dir, path) = fixture_copy();
    let store = Store::open_existing(&path).unwrap();
    store.migrate(false).unwrap();
    let listed = read_json(FIXTURE_LIST);
    let listed = listed["records"].as_array().unwrap();
    assert_eq!(listed.len(), 10);
    for original in listed {
        let want = original_to_ours(original);
        let stored = store.get_record(want.memory_version_id).unwrap().unwrap();
        assert_eq!(stored, want, "{}", want.memory_version_id);
    }
    // The source hash is kept as the original stored it, though new writes need 64 digits.
    let decision = store
        .get_record("01M8QFBVG633WXHG53QVD3PSXQ".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        decision.provenance.source_hash.as_deref(),
        Some("sha256:1f2e")
    );
}

#[test]
fn schema_status_and_plan_leave_the_fixture_byte_identical() {
    let (dir, path) = fixture_copy();
    let before = bytes_of(&path);
    let listing = dir_listing(dir.path());

    let status = Store::inspect(&path).unwrap();
    assert!(status.inferred_from_legacy);
    assert_eq!(status.current_version, 0);
    assert_eq!(
        status.pending_versions,
        (1..=memory_kernel_store::schema::target_version()).collect::<Vec<_>>()
    );
    assert!(!status.up_to_date);
    let plan = Store::plan_migration(&path).unwrap();
    assert!(plan.legacy_inventory.is_some());
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.schema_status().unwrap(), status);
    assert!(store.migrate(true).unwrap().legacy_inventory.is_some());
    assert!(matches!(
        store.migrate(false).unwrap_err(),
        StoreError::ReadOnly
    ));
    drop(store);

    assert_eq!(bytes_of(&path), before);
    // The original's files are in WAL mode, and a read-only SQLite connection to a WAL file
    // opens (creating when absent) its `-wal` and `-shm` companions and cannot remove them.
    // Nothing is written into them: the `-wal` stays empty.
    let companions: Vec<String> = dir_listing(dir.path())
        .into_iter()
        .filter(|name| !listing.contains(name))
        .collect();
    for name in &companions {
        assert!(
            name.ends_with("-wal") || name.ends_with("-shm"),
            "unexpected file {name}"
        );
        if name.ends_with("-wal") {
            assert_eq!(std::fs::metadata(dir.path().join(name)).unwrap().len(), 0);
        }
    }
}

#[test]
fn duplicate_link_rows_are_carried_once_and_counted() {
    let (_dir, path) = fixture_copy();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO memory_links (from_memory_version_id, to_memory_version_id, link_type,
                writer, justification, created_at)
             SELECT from_memory_version_id, to_memory_version_id, link_type, writer,
                justification, created_at FROM memory_links WHERE id IN (1, 3);
             -- The same instant written with an offset is the same link.
             INSERT INTO memory_links (from_memory_version_id, to_memory_version_id, link_type,
                writer, justification, created_at)
             SELECT from_memory_version_id, to_memory_version_id, link_type, writer,
                justification, '2026-12-01T02:16:39.958570604+02:00' FROM memory_links WHERE id = 3;",
        )
        .unwrap();
    }
    let inventory = Store::plan_migration(&path)
        .unwrap()
        .legacy_inventory
        .unwrap();
    assert_eq!((inventory.links, inventory.duplicate_links), (6, 3));
    let store = Store::open_existing(&path).unwrap();
    store.migrate(false).unwrap();
    assert_eq!(store.all_links().unwrap().len(), 3);
}

/// A record row of the original's version 2, inserted with its payload.
fn insert_original_record(conn: &Connection, id: &str, memory_id: &str, created_at: &str) {
    conn.execute(
        "INSERT INTO memory_records VALUES (?1, ?2, 1, 'event', ?3, ?3, 'observed',
            'authoritative', NULL, 'oncall', 'pager', 'file:///x', NULL, '[]')",
        rusqlite::params![id, memory_id, created_at],
    )
    .unwrap();
    conn.execute("INSERT INTO event_payloads VALUES (?1, 'late event')", [id])
        .unwrap();
}

#[test]
fn a_row_refused_while_writing_rolls_the_whole_migration_back() {
    let (dir, path) = fixture_copy();
    {
        // The original accepted any RFC 3339 instant; this store orders by nanoseconds and
        // refuses years past 2262. The row sorts last, so everything else is written first.
        let conn = Connection::open(&path).unwrap();
        insert_original_record(
            &conn,
            "01M8QFBWZZ0000000000000001",
            "01M8QFBWZZ0000000000000002",
            "2300-01-01T00:00:00Z",
        );
    }
    let before = bytes_of(&path);
    let listing = dir_listing(dir.path());

    let store = Store::open_existing(&path).unwrap();
    let err = store.migrate(false).unwrap_err();
    match &err {
        StoreError::LegacyRow { table, key, source } => {
            assert_eq!(*table, "memory_records");
            assert_eq!(key, "01M8QFBWZZ0000000000000001");
            assert!(
                matches!(**source, StoreError::TimestampOutOfRange { .. }),
                "{source:?}"
            );
        }
        other => panic!("expected LegacyRow, got {other:?}"),
    }
    assert!(
        err.to_string().contains("01M8QFBWZZ0000000000000001"),
        "{err}"
    );
    assert!(store.schema_status().unwrap().inferred_from_legacy);
    drop(store);

    assert_eq!(bytes_of(&path), before, "file unchanged");
    assert_eq!(dir_listing(dir.path()), listing);
}

#[test]
fn a_row_refused_by_validation_is_named_by_the_plan_and_the_migration() {
    let (_dir, path) = fixture_copy();
    {
        // The original let an inferred record go without a confidence; this store does not.
        let conn = Connection::open(&path).unwrap();
        insert_original_record(
            &conn,
            "01M8QFBWZZ0000000000000003",
            "01M8QFBWZZ0000000000000004",
            "2026-01-20T00:00:00Z",
        );
        conn.execute(
            "UPDATE memory_records SET truth_status = 'inferred'
             WHERE memory_version_id = '01M8QFBWZZ0000000000000003'",
            [],
        )
        .unwrap();
    }
    let before = bytes_of(&path);
    let refused = |err: StoreError| match err {
        StoreError::LegacyRow { table, key, source } => {
            assert_eq!(
                (table, key.as_str()),
                ("memory_records", "01M8QFBWZZ0000000000000003")
            );
            assert!(matches!(*source, StoreError::Validation(_)), "{source:?}");
        }
        other => panic!("expected LegacyRow, got {other:?}"),
    };
    refused(Store::plan_migration(&path).unwrap_err());
    let store = Store::open_existing(&path).unwrap();
    refused(store.migrate(false).unwrap_err());
    drop(store);
    assert_eq!(bytes_of(&path), before);
}

#[test]
fn an_unknown_original_version_is_refused_untouched() {
    let (_dir, path) = fixture_copy();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO schema_migrations VALUES (3, '2027-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    }
    let before = bytes_of(&path);
    assert!(matches!(
        Store::plan_migration(&path).unwrap_err(),
        StoreError::UnsupportedLegacyLayout { .. }
    ));
    let store = Store::open_existing(&path).unwrap();
    assert!(matches!(
        store.migrate(false).unwrap_err(),
        StoreError::UnsupportedLegacyLayout { .. }
    ));
    drop(store);
    assert_eq!(bytes_of(&path), before);
}

/// A file at the original's version 1: rows keyed by memory_id, links by memory_id, no
/// `schema_migrations` rows (the version is read from the shape).
fn write_version_one_file(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
         CREATE TABLE memory_records (
           memory_id TEXT PRIMARY KEY, record_type TEXT NOT NULL, created_at TEXT NOT NULL,
           effective_at TEXT NOT NULL, truth_status TEXT NOT NULL, authority TEXT NOT NULL,
           confidence REAL, writer TEXT NOT NULL, justification TEXT NOT NULL,
           source_uri TEXT NOT NULL, source_hash TEXT, evidence_json TEXT NOT NULL);
         CREATE TABLE memory_links (
           id INTEGER PRIMARY KEY AUTOINCREMENT, from_memory_id TEXT NOT NULL,
           to_memory_id TEXT NOT NULL, link_type TEXT NOT NULL, writer TEXT NOT NULL,
           justification TEXT NOT NULL, created_at TEXT NOT NULL);
         CREATE TABLE constraint_payloads (memory_id TEXT PRIMARY KEY, actor TEXT NOT NULL,
           action TEXT NOT NULL, resource TEXT NOT NULL, effect TEXT NOT NULL, note TEXT);
         CREATE TABLE decision_payloads (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         CREATE TABLE preference_payloads (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         CREATE TABLE event_payloads (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         CREATE TABLE outcome_payloads (memory_id TEXT PRIMARY KEY, summary TEXT NOT NULL);
         CREATE TABLE context_packages (context_package_id TEXT PRIMARY KEY,
           generated_at TEXT NOT NULL, package_json TEXT NOT NULL);

         INSERT INTO memory_records VALUES
           ('01J0000000AAAAAAAAAAAAAAAA', 'constraint', '2025-06-01T10:00:00+02:00',
            '2025-06-01T10:00:00+02:00', 'asserted', 'authoritative', 0.75, 'sec', 'policy',
            'file:///policy', NULL, '[\"file:///evidence\"]'),
           ('01J0000000BBBBBBBBBBBBBBBB', 'decision', '2025-06-02T08:00:00Z',
            '2025-06-02T08:00:00Z', 'asserted', 'authoritative', NULL, 'lead', 'adr',
            'file:///adr/1', NULL, '[]'),
           ('01J0000000CCCCCCCCCCCCCCCC', 'decision', '2025-06-03T08:00:00Z',
            '2025-06-03T08:00:00Z', 'asserted', 'authoritative', NULL, 'lead', 'adr',
            'file:///adr/2', NULL, '[]');
         INSERT INTO constraint_payloads VALUES
           ('01J0000000AAAAAAAAAAAAAAAA', 'user', 'use', 'usb_drive', 'deny', 'old rule');
         INSERT INTO decision_payloads VALUES
           ('01J0000000BBBBBBBBBBBBBBBB', 'Use Postgres for billing'),
           ('01J0000000CCCCCCCCCCCCCCCC', 'Use SQLite for billing');
         INSERT INTO memory_links (from_memory_id, to_memory_id, link_type, writer,
             justification, created_at) VALUES
           ('01J0000000CCCCCCCCCCCCCCCC', '01J0000000BBBBBBBBBBBBBBBB', 'supersedes', 'lead',
            'adr', '2025-06-03T10:00:00+02:00'),
           ('01J0000000CCCCCCCCCCCCCCCC', '01J0000000BBBBBBBBBBBBBBBB', 'supersedes', 'lead',
            'adr', '2025-06-03T08:00:00Z');
         INSERT INTO context_packages VALUES
           ('cpkg_v1', '2025-06-04T00:00:00Z', '{\"context_package_id\":\"cpkg_v1\"}');",
    )
    .unwrap();
}

/// The documented derivation: the memory_id's 48-bit time, then the first 80 bits of
/// SHA-256 of `memorykernel.legacy-v1.memory_version_id:<memory_id>`.
fn derived(memory_id: &str) -> String {
    let memory: ulid::Ulid = memory_id.parse().unwrap();
    let digest = Sha256::digest(format!(
        "memorykernel.legacy-v1.memory_version_id:{memory_id}"
    ));
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&digest[..10]);
    ulid::Ulid::from_parts(memory.timestamp_ms(), u128::from_be_bytes(random)).to_string()
}

#[test]
fn a_version_one_file_gets_derived_version_ids_and_utc_instants() {
    let (_dir, path) = temp_db();
    write_version_one_file(&path);
    let inventory = Store::plan_migration(&path)
        .unwrap()
        .legacy_inventory
        .unwrap();
    assert_eq!(inventory.layout_version, 1);
    assert!(inventory.inferred_from_shape);
    assert_eq!(
        (
            inventory.records,
            inventory.derived_version_ids,
            inventory.links,
            inventory.duplicate_links,
            inventory.context_packages
        ),
        (3, 3, 2, 1, 1),
        "the +02:00 link is the same instant as the Z one"
    );

    let store = Store::open_existing(&path).unwrap();
    store.migrate(false).unwrap();
    let records = store.list_records(&RecordFilter::default()).unwrap();
    assert_eq!(records.len(), 3);
    for record in &records {
        assert_eq!(record.version, 1);
        assert_eq!(
            record.memory_version_id.to_string(),
            derived(&record.memory_id.to_string())
        );
    }
    let by_memory = |memory: &str| -> MemoryRecord {
        let memory: MemoryId = memory.parse().unwrap();
        records
            .iter()
            .find(|r| r.memory_id == memory)
            .unwrap()
            .clone()
    };
    let constraint = by_memory("01J0000000AAAAAAAAAAAAAAAA");
    assert_eq!(constraint.created_at.to_string(), "2025-06-01T08:00:00Z");
    assert_eq!(constraint.provenance.evidence, vec!["file:///evidence"]);
    let old = by_memory("01J0000000BBBBBBBBBBBBBBBB");
    let new = by_memory("01J0000000CCCCCCCCCCCCCCCC");
    assert_eq!(new.supersedes, vec![old.memory_version_id]);
    let links = store.all_links().unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].from, links[0].to),
        (new.memory_version_id, old.memory_version_id)
    );
    assert_eq!(links[0].created_at.to_string(), "2025-06-03T08:00:00Z");
    assert_eq!(
        store.get_context_package("cpkg_v1").unwrap().as_deref(),
        Some("{\"context_package_id\":\"cpkg_v1\"}")
    );

    // The ids depend on the file alone: migrating another copy gives the same ones.
    let (_other_dir, other) = temp_db();
    write_version_one_file(&other);
    let again = Store::open_existing(&other).unwrap();
    again.migrate(false).unwrap();
    let mut first: Vec<_> = records.iter().map(|r| r.memory_version_id).collect();
    let mut second: Vec<_> = again
        .all_records()
        .unwrap()
        .iter()
        .map(|r| r.memory_version_id)
        .collect();
    first.sort();
    second.sort();
    assert_eq!(first, second);
}
