//! Appending records, links and packages: the store's own rules, append-only enforcement,
//! deadlines, ordering and concurrency. What the `Store` API alone shows runs on each engine
//! (see `support::engines`), and the engines must give the same results; what looks into the
//! SQLite file itself (raw statements, file sizes, a replaced file) runs on SQLite only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{self, Engines, RecordBuilder, link, migrated, migrated_store, same, temp_db};
use memory_kernel_core::{
    Effect, MemoryId, MemoryVersionId, RecordType, Relation, ValidationError,
};
use memory_kernel_store::{RecordFilter, Store, StoreError};
use rusqlite::Connection;

#[test]
fn record_round_trips_exactly() {
    let engines = migrated("record_round_trips_exactly");
    let first = RecordBuilder::constraint(" User ", "USE", "usb_drive", Effect::Deny)
        .note("  keep the spaces  ")
        .build();
    let second = RecordBuilder::summary(RecordType::Preference, "  padded summary ")
        .at("2026-01-02T00:00:00.123456Z")
        .confidence(0.25)
        .supersedes(first.memory_version_id)
        .contradicts(first.memory_version_id)
        .build();
    let mut listed = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_record(&first, None).unwrap();
        store.insert_record(&second, None).unwrap();
        assert_eq!(
            store.get_record(first.memory_version_id).unwrap(),
            Some(first.clone()),
            "{name}"
        );
        assert_eq!(
            store.get_record(second.memory_version_id).unwrap(),
            Some(second.clone()),
            "{name}"
        );
        let all = store.all_records().unwrap();
        assert_eq!(all, vec![first.clone(), second.clone()], "{name}");
        assert_eq!(
            store.get_record(MemoryVersionId::generate()).unwrap(),
            None,
            "{name}"
        );
        listed.push((*name, all));
    }
    same(&listed);
}

#[test]
fn confidence_point_nine_round_trips_as_point_nine() {
    let engines = migrated("confidence_point_nine_round_trips_as_point_nine");
    let record = RecordBuilder::summary(RecordType::Decision, "ship")
        .confidence(0.9)
        .build();
    for (name, store) in &engines.stores {
        store.insert_record(&record, None).unwrap();
        let back = store.get_record(record.memory_version_id).unwrap().unwrap();
        assert_eq!(back, record, "{name}");
        assert_eq!(back.confidence.map(|c| c.get()), Some(0.9_f32), "{name}");
        let json = serde_json::to_string(&back).unwrap();
        assert!(json.contains(r#""confidence":0.9,"#), "{name}: {json}");
    }
    // The column itself holds 0.9, not the nearest f32 widened.
    let conn = Connection::open(engines.stores[0].1.path().unwrap()).unwrap();
    let stored: f64 = conn
        .query_row("SELECT confidence FROM mk_memory_records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored.to_string(), "0.9", "sqlite");
    if let Some(db) = &engines.postgres {
        let stored: f64 = db
            .client()
            .query_one("SELECT confidence FROM mk_memory_records", &[])
            .unwrap()
            .get(0);
        assert_eq!(stored.to_string(), "0.9", "postgresql");
    }
}

#[test]
fn append_only_triggers_block_update_and_delete() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
    let record = RecordBuilder::summary(RecordType::Event, "it happened").build();
    store.insert_record(&record, None).unwrap();
    support::stored_recall(&store, "happened");
    drop(store);
    let conn = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE mk_memory_records SET writer = 'mallory'",
        "DELETE FROM mk_memory_records",
        "UPDATE mk_event_payloads SET summary = 'nothing happened'",
        "DELETE FROM mk_recall_postings",
        "UPDATE mk_recall_postings SET frequency = 9",
        "DELETE FROM mk_recall_docs",
        "UPDATE mk_recall_docs SET length = 1",
        "UPDATE mk_stored_packages SET kind = 'forged'",
        "UPDATE mk_schema_migrations SET version = 7",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert_eq!(
            err.sqlite_error().map(|e| e.extended_code),
            Some(rusqlite::ffi::SQLITE_CONSTRAINT_TRIGGER),
            "{sql}"
        );
    }
}

#[test]
fn versions_follow_one_another() {
    let engines = migrated("versions_follow_one_another");
    let memory = MemoryId::generate();
    let skipping = RecordBuilder::summary(RecordType::Decision, "v2 first")
        .version_of(memory, 2)
        .build();
    let v1 = RecordBuilder::summary(RecordType::Decision, "v1")
        .version_of(memory, 1)
        .build();
    let again = RecordBuilder::summary(RecordType::Decision, "v1 again")
        .version_of(memory, 1)
        .build();
    for (name, store) in &engines.stores {
        assert_eq!(store.next_version(memory).unwrap(), 1, "{name}");
        let refused = store.insert_record(&skipping, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::VersionConflict { expected: 1, got: 2, memory_id } if memory_id == memory
            ),
            "{name}: {refused:?}"
        );
        store.insert_record(&v1, None).unwrap();
        let refused = store.insert_record(&again, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::VersionConflict {
                    expected: 2,
                    got: 1,
                    ..
                }
            ),
            "{name}: {refused:?}"
        );
        assert_eq!(store.next_version(memory).unwrap(), 2, "{name}");
        let refused = store.insert_record(&v1, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::DuplicateRecord { memory_version_id } if memory_version_id == v1.memory_version_id
            ),
            "{name}: {refused:?}"
        );
    }
}

#[test]
fn lineage_targets_must_be_stored_versions() {
    let engines = migrated("lineage_targets_must_be_stored_versions");
    let stored = RecordBuilder::summary(RecordType::Decision, "base").build();
    let ghost = MemoryVersionId::generate();
    let ghostly = RecordBuilder::summary(RecordType::Decision, "next")
        .supersedes(ghost)
        .build();
    // A memory_id where a memory_version_id belongs is simply an unknown version id.
    let as_version: MemoryVersionId = stored.memory_id.to_string().parse().unwrap();
    let misnamed = RecordBuilder::summary(RecordType::Decision, "next")
        .contradicts(as_version)
        .build();
    let dangling = link(
        stored.memory_version_id,
        ghost,
        Relation::Supersedes,
        "2026-01-02T00:00:00Z",
    );
    for (name, store) in &engines.stores {
        store.insert_record(&stored, None).unwrap();
        let refused = store.insert_record(&ghostly, None).unwrap_err();
        assert!(
            matches!(refused, StoreError::UnknownLineageTarget { id } if id == ghost),
            "{name}: {refused:?}"
        );
        let refused = store.insert_record(&misnamed, None).unwrap_err();
        assert!(
            matches!(refused, StoreError::UnknownLineageTarget { id } if id == as_version),
            "{name}: {refused:?}"
        );
        let refused = store.insert_link(&dangling, None).unwrap_err();
        assert!(
            matches!(refused, StoreError::UnknownLineageTarget { id } if id == ghost),
            "{name}: {refused:?}"
        );
        assert_eq!(store.all_records().unwrap(), vec![stored.clone()], "{name}");
        assert!(store.all_links().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn links_are_validated_and_not_duplicated() {
    let engines = migrated("links_are_validated_and_not_duplicated");
    let a = RecordBuilder::summary(RecordType::Decision, "a").build();
    let b = RecordBuilder::summary(RecordType::Decision, "b").build();
    let l = link(
        b.memory_version_id,
        a.memory_version_id,
        Relation::Supersedes,
        "2026-01-03T00:00:00Z",
    );
    let mut blank = l.clone();
    blank.writer = "  ".to_owned();
    let mut links = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&[a.clone(), b.clone()], None).unwrap();
        assert_eq!(store.insert_link(&l, None).unwrap(), l, "{name}");
        assert_eq!(
            store.insert_link(&l, None).unwrap(),
            l,
            "{name}: idempotent"
        );
        let refused = store.insert_link(&blank, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Validation(ValidationError::EmptyField { field: "writer" })
            ),
            "{name}: {refused:?}"
        );
        let all = store.all_links().unwrap();
        assert_eq!(all, vec![l.clone()], "{name}");
        links.push((*name, all));
    }
    same(&links);
}

#[test]
fn invalid_records_are_refused_by_core_rules() {
    let engines = migrated("invalid_records_are_refused_by_core_rules");
    let mut record = RecordBuilder::summary(RecordType::Decision, "x").build();
    record.provenance.source_hash = Some("sha256:ABC".to_owned());
    for (name, store) in &engines.stores {
        let refused = store.insert_record(&record, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Validation(ValidationError::InvalidSourceHash { .. })
            ),
            "{name}: {refused:?}"
        );
        assert!(store.all_records().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn a_passed_deadline_writes_nothing() {
    let engines = migrated("a_passed_deadline_writes_nothing");
    let record = RecordBuilder::summary(RecordType::Decision, "late").build();
    for (name, store) in &engines.stores {
        let deadline = Instant::now();
        thread::sleep(Duration::from_millis(2));
        let refused = store.insert_record(&record, Some(deadline)).unwrap_err();
        assert!(
            matches!(refused, StoreError::DeadlineExceeded),
            "{name}: {refused:?}"
        );
        assert!(store.all_records().unwrap().is_empty(), "{name}");
        let later = Instant::now() + Duration::from_secs(60);
        store.insert_record(&record, Some(later)).unwrap();
        assert_eq!(store.all_records().unwrap().len(), 1, "{name}");
    }
}

#[test]
fn a_batch_is_all_or_nothing() {
    let engines = migrated("a_batch_is_all_or_nothing");
    let good = RecordBuilder::summary(RecordType::Decision, "good").build();
    let bad = RecordBuilder::summary(RecordType::Decision, "bad")
        .supersedes(MemoryVersionId::generate())
        .build();
    for (name, store) in &engines.stores {
        assert!(
            store
                .insert_records(&[good.clone(), bad.clone()], None)
                .is_err(),
            "{name}"
        );
        assert!(store.all_records().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn listing_orders_by_instant_not_text() {
    let engines = migrated("listing_orders_by_instant_not_text");
    // As text ".5Z" sorts before "Z"; as instants it is half a second later.
    let later = RecordBuilder::summary(RecordType::Event, "later")
        .at("2026-01-01T00:00:00.5Z")
        .build();
    let earlier = RecordBuilder::summary(RecordType::Event, "earlier")
        .at("2026-01-01T00:00:00Z")
        .build();
    let other = RecordBuilder::summary(RecordType::Decision, "other")
        .at("2025-12-31T00:00:00Z")
        .build();
    let mut listings = Vec::new();
    for (name, store) in &engines.stores {
        store
            .insert_records(&[later.clone(), earlier.clone(), other.clone()], None)
            .unwrap();
        let all = store.all_records().unwrap();
        assert_eq!(
            all,
            vec![other.clone(), earlier.clone(), later.clone()],
            "{name}"
        );
        let events = store
            .list_records(&RecordFilter {
                record_type: Some(RecordType::Event),
                ..RecordFilter::default()
            })
            .unwrap();
        assert_eq!(events, vec![earlier.clone(), later.clone()], "{name}");
        let limited = store
            .list_records(&RecordFilter {
                limit: Some(1),
                ..RecordFilter::default()
            })
            .unwrap();
        assert_eq!(limited, vec![other.clone()], "{name}");
        let by_memory = store
            .list_records(&RecordFilter {
                memory_id: Some(earlier.memory_id),
                ..RecordFilter::default()
            })
            .unwrap();
        assert_eq!(by_memory, vec![earlier.clone()], "{name}");
        listings.push((*name, (all, events, limited, by_memory)));
    }
    same(&listings);
}

/// The records `seeded_for_packages` writes: built once, so every engine holds the same ids.
fn package_corpus(count: usize) -> Vec<memory_kernel_core::MemoryRecord> {
    (0..count)
        .map(|i| {
            RecordBuilder::summary(
                RecordType::Decision,
                &format!("deploy service {} to region {} on friday", i % 7, i % 13),
            )
            .build()
        })
        .collect()
}

fn seeded_for_packages(path: &std::path::Path, count: usize) -> Store {
    let store = migrated_store(path);
    store.insert_records(&package_corpus(count), None).unwrap();
    store
}

/// Stores of every engine holding the same `count` records.
fn seeded_engines_for_packages(test: &str, count: usize) -> Engines {
    let engines = migrated(test);
    let records = package_corpus(count);
    for (_, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
    }
    engines
}

fn package_rows(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM mk_stored_packages", [], |r| r.get(0))
        .unwrap()
}

/// The rows of the stored packages table of `store`'s database, counted by the engine itself.
fn engine_package_rows(engines: &Engines, store: &Store) -> i64 {
    match store.path() {
        Some(path) => package_rows(path),
        None => engines
            .postgres
            .as_ref()
            .unwrap()
            .client()
            .query_one("SELECT count(*) FROM mk_stored_packages", &[])
            .unwrap()
            .get(0),
    }
}

#[test]
fn stored_packages_come_back_byte_identical_and_once() {
    let engines =
        seeded_engines_for_packages("stored_packages_come_back_byte_identical_and_once", 50);
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        let recall = support::stored_recall(store, "deploy friday region");
        let ask = support::stored_ask(store, "may I?");
        for package in [&recall, &ask] {
            assert_eq!(
                store
                    .get_context_package(&package.context_package_id)
                    .unwrap()
                    .unwrap(),
                package.to_canonical_json(),
                "{name}"
            );
        }
        assert_eq!(engine_package_rows(&engines, store), 2, "{name}");
        // The same query again is already stored: nothing is written, so even a read-only
        // handle accepts it.
        let read_only = Store::open_read_only(engines.location(store)).unwrap();
        read_only
            .put_context_package(&recall, &[], "recall")
            .unwrap();
        store.put_context_package(&recall, &[], "recall").unwrap();
        assert_eq!(engine_package_rows(&engines, store), 2, "{name}");
        assert_eq!(
            store.get_context_package("cp_missing").unwrap(),
            None,
            "{name}"
        );
        let exported = store.all_context_packages().unwrap();
        assert_eq!(exported.len(), 2, "{name}");
        assert!(
            exported
                .iter()
                .any(|p| p.package_json == recall.to_canonical_json()),
            "{name}"
        );
        outcomes.push((
            *name,
            (
                recall.to_canonical_json(),
                ask.to_canonical_json(),
                exported,
            ),
        ));
    }
    same(&outcomes);
}

#[test]
fn a_stored_package_costs_about_a_kilobyte() {
    let (_dir, path) = temp_db();
    let store = seeded_for_packages(&path, 2_000);
    for i in 0..50 {
        support::stored_recall(&store, &format!("deploy service {} friday", i % 7));
        support::stored_recall(&store, &format!("region {i} friday"));
    }
    let average: f64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT avg(length(body)) FROM mk_stored_packages",
            [],
            |r| r.get(0),
        )
        .unwrap();
    println!("mean stored package body: {average:.0} bytes");
    assert!(
        average <= 1024.0,
        "average stored package is {average} bytes"
    );
}

#[test]
fn pruning_removes_packages_and_nothing_else() {
    let engines = seeded_engines_for_packages("pruning_removes_packages_and_nothing_else", 30);
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        let package = support::stored_recall(store, "deploy friday");
        let records = store.all_records().unwrap();
        let links = store.all_links().unwrap();
        let before = store.integrity_check().unwrap();

        let kept = store
            .prune_context_packages(support::ts("2000-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            (kept.pruned_packages, kept.remaining_packages),
            (0, 1),
            "{name}"
        );
        let report = store
            .prune_context_packages(memory_kernel_core::Timestamp::now())
            .unwrap();
        assert_eq!(
            (report.pruned_packages, report.remaining_packages),
            (1, 0),
            "{name}"
        );
        assert_eq!(
            store
                .get_context_package(&package.context_package_id)
                .unwrap(),
            None,
            "{name}"
        );
        assert_eq!(store.all_records().unwrap(), records, "{name}");
        assert_eq!(store.all_links().unwrap(), links, "{name}");
        assert_eq!(store.integrity_check().unwrap(), before, "{name}");
        // Re-running the query at the same as_of stores the same package again.
        assert_eq!(
            support::stored_recall(store, "deploy friday"),
            package,
            "{name}"
        );
        outcomes.push((*name, (package.to_canonical_json(), records)));
    }
    same(&outcomes);
}

#[test]
fn read_only_store_refuses_writes() {
    let engines = migrated("read_only_store_refuses_writes");
    let record = RecordBuilder::summary(RecordType::Decision, "nope").build();
    for (name, store) in &engines.stores {
        let read_only = Store::open_read_only(engines.location(store)).unwrap();
        assert!(read_only.is_read_only(), "{name}");
        let refused = read_only.insert_record(&record, None).unwrap_err();
        assert!(
            matches!(refused, StoreError::ReadOnly),
            "{name}: {refused:?}"
        );
        // A package not stored yet would be a write: refused too.
        let query =
            memory_kernel_core::RecallQuery::new("nope", support::ts("2027-01-01T00:00:00Z"))
                .unwrap();
        let (package, listed) = read_only.recall_indexed(&query).unwrap();
        let refused = read_only
            .put_context_package(&package, &listed, "recall")
            .unwrap_err();
        assert!(
            matches!(refused, StoreError::ReadOnly),
            "{name}: {refused:?}"
        );
        assert!(read_only.all_records().unwrap().is_empty(), "{name}");
        assert!(store.all_records().unwrap().is_empty(), "{name}");
        assert!(store.all_context_packages().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 500;
    let engines = migrated("concurrent_writers_lose_nothing");
    for (name, store) in &engines.stores {
        let store = Arc::new(store.clone());
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let record = RecordBuilder::summary(
                            RecordType::Event,
                            &format!("thread {t} write {i}"),
                        )
                        .build();
                        store.insert_record(&record, None).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(
            store.all_records().unwrap().len(),
            THREADS * PER_THREAD,
            "{name}"
        );
        let report = store.integrity_check().unwrap();
        assert!(report.is_healthy(), "{name}: {report:?}");
    }
}

#[test]
fn item_04_supersedes_cycles_are_refused_and_identical_links_are_idempotent() {
    let engines =
        migrated("item_04_supersedes_cycles_are_refused_and_identical_links_are_idempotent");
    let a = RecordBuilder::summary(RecordType::Decision, "a").build();
    let b = RecordBuilder::summary(RecordType::Decision, "b").build();
    let c = RecordBuilder::summary(RecordType::Decision, "c")
        .supersedes(b.memory_version_id)
        .build();
    let records = [a.clone(), b.clone(), c.clone()];
    let (a, b, c) = (
        a.memory_version_id,
        b.memory_version_id,
        c.memory_version_id,
    );
    let ab = link(a, b, Relation::Supersedes, "2026-01-03T00:00:00Z");
    // The same link sent again, later and by someone else, is stored once.
    let mut again = ab.clone();
    again.created_at = memory_kernel_core::Timestamp::now();
    again.writer = "someone else".to_owned();
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        store.insert_link(&ab, None).unwrap();

        // B supersedes A closes a two-version cycle.
        let ba = link(b, a, Relation::Supersedes, "2026-01-04T00:00:00Z");
        let refused = store.insert_link(&ba, None).unwrap_err();
        assert!(
            matches!(
                &refused,
                StoreError::Validation(ValidationError::SupersedesCycle { from, to })
                    if *from == b.to_string() && *to == a.to_string()
            ),
            "{name}: {refused:?}"
        );
        // B supersedes C closes a cycle through C's own `supersedes` list (C -> B).
        let bc = link(b, c, Relation::Supersedes, "2026-01-04T00:00:00Z");
        let refused = store.insert_link(&bc, None).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Validation(ValidationError::SupersedesCycle { .. })
            ),
            "{name}: {refused:?}"
        );
        // A contradiction both ways is no cycle of replacement.
        store
            .insert_link(
                &link(a, c, Relation::Contradicts, "2026-01-05T00:00:00Z"),
                None,
            )
            .unwrap();
        store
            .insert_link(
                &link(c, a, Relation::Contradicts, "2026-01-05T00:00:00Z"),
                None,
            )
            .unwrap();

        assert_eq!(store.insert_link(&again, None).unwrap(), ab, "{name}");
        let links = store.all_links().unwrap();
        assert_eq!(
            links
                .iter()
                .filter(|l| l.from == a && l.to == b && l.relation == Relation::Supersedes)
                .count(),
            1,
            "{name}"
        );
        assert_eq!(links.len(), 3, "{name}");
        outcomes.push((*name, links));
    }
    same(&outcomes);
}

#[test]
fn item_10_a_replaced_database_file_is_reopened_and_a_missing_one_refused() {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    let first = RecordBuilder::summary(RecordType::Decision, "before the swap").build();
    store.insert_record(&first, None).unwrap();
    // A copy of the file, taken the way an operator would (a consistent backup).
    let copy = dir.path().join("copy.sqlite3");
    store.backup(&copy, false).unwrap();

    // Delete the file (and its WAL companions) and put the copy back in its place.
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        let _ = std::fs::remove_file(std::path::PathBuf::from(name));
    }
    let missing = RecordBuilder::summary(RecordType::Decision, "while missing").build();
    assert!(matches!(
        store.insert_record(&missing, None).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    std::fs::copy(&copy, &path).unwrap();

    let second = RecordBuilder::summary(RecordType::Decision, "after the swap").build();
    store.insert_record(&second, None).unwrap();
    drop(store);
    // The acknowledged write is in the file at the path, not in the unlinked one.
    let reopened = Store::open_existing(&path).unwrap();
    let ids: Vec<_> = reopened
        .all_records()
        .unwrap()
        .into_iter()
        .map(|r| r.memory_version_id)
        .collect();
    assert_eq!(ids, vec![first.memory_version_id, second.memory_version_id]);
}

/// The database file (after a checkpoint folds the WAL in), in bytes.
fn checkpointed_size(path: &std::path::Path) -> u64 {
    let conn = Connection::open(path).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    drop(conn);
    std::fs::metadata(path).unwrap().len()
}

#[test]
fn storing_a_package_grows_the_database_by_under_a_kilobyte() {
    let (_dir, path) = temp_db();
    let store = seeded_for_packages(&path, 1_000);
    let before = checkpointed_size(&path);
    let queries = 150;
    for i in 0..queries {
        support::stored_recall(
            &store,
            &format!("deploy service {} friday region {i}", i % 7),
        );
    }
    drop(store);
    let per_query = (checkpointed_size(&path) - before) as f64 / f64::from(queries);
    println!("database growth per stored recall package: {per_query:.0} bytes");
    assert!(per_query <= 1024.0, "{per_query} bytes per stored package");
}

#[test]
fn packages_stored_in_the_version_one_compact_form_read_back_unchanged() {
    use std::io::{Read, Write};
    let (_dir, path) = temp_db();
    let store = seeded_for_packages(&path, 50);
    let package = support::stored_recall(&store, "deploy friday region");
    drop(store);
    // Rewrite the row as schema 2 and 3 stored it: the id and generated_at in the body, and
    // items naming their records by version id.
    let conn = Connection::open(&path).unwrap();
    let body: Vec<u8> = conn
        .query_row("SELECT body FROM mk_stored_packages", [], |r| r.get(0))
        .unwrap();
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(&body[..])
        .read_to_end(&mut json)
        .unwrap();
    let mut compact: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert!(compact.get("id").is_none() && compact.get("at").is_none());
    compact["id"] = serde_json::json!(package.context_package_id);
    compact["at"] = serde_json::json!(package.generated_at);
    for (list, items) in [
        ("s", &package.selected_items),
        ("x", &package.excluded_items),
    ] {
        for (stored, item) in compact[list].as_array_mut().unwrap().iter_mut().zip(items) {
            let stored = stored.as_object_mut().unwrap();
            assert!(stored.remove("d").is_some());
            stored.insert("v".to_owned(), serde_json::json!(item.memory_version_id));
        }
    }
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&serde_json::to_vec(&compact).unwrap())
        .unwrap();
    let v1 = encoder.finish().unwrap();
    conn.execute_batch("DELETE FROM mk_stored_packages")
        .unwrap();
    conn.execute(
        "INSERT INTO mk_stored_packages VALUES (?1, 'recall', 'compact-deflate.v1', 0, ?2)",
        rusqlite::params![package.context_package_id, v1],
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(
        store
            .get_context_package(&package.context_package_id)
            .unwrap()
            .unwrap(),
        package.to_canonical_json()
    );
}
