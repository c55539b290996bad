//! The store contract on both engines: every scenario runs on a SQLite file and on a
//! PostgreSQL database (when a server is configured, see `memory-kernel-testkit`), and what
//! the engines return must be equal, byte for byte where bytes are the contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::thread;

use crate::support::{RecordBuilder, engines, link, migrated, same, temp_db, ts};
use memory_kernel_core::{
    AskQuery, Effect, MemoryId, MemoryRecord, RecallQuery, RecordType, Relation, Timestamp,
    TruthStatus, ValidationError,
};
use memory_kernel_outcome::{EventType, NewOutcomeEvent, Severity};
use memory_kernel_store::{RecordFilter, Store, StoreError};
use memory_kernel_testkit::postgres::TempDatabase;

/// A corpus built once and written to every engine, so ids match across engines.
fn corpus() -> Vec<MemoryRecord> {
    let mut records = Vec::new();
    let deny = RecordBuilder::constraint("user", "use", "usb_drive", Effect::Deny)
        .at("2026-01-01T00:00:00Z")
        .build();
    let allow = RecordBuilder::constraint("user", "use", "usb_drive", Effect::Allow)
        .at("2026-02-01T00:00:00Z")
        .version_of(deny.memory_id, 2)
        .supersedes(deny.memory_version_id)
        .build();
    let wildcard = RecordBuilder::constraint("*", "use", "*", Effect::Deny)
        .at("2026-01-15T00:00:00Z")
        .truth(TruthStatus::Inferred)
        .build();
    records.extend([deny, allow, wildcard]);
    let topics = [
        "usb drives are blocked on build machines",
        "the release train leaves every second tuesday",
        "prefer small pull requests with focused reviews",
        "usb keyboards are fine on every machine",
        "outcome of the usb audit: no exceptions granted",
        "decision: drives are encrypted before leaving the office",
    ];
    let types = [
        RecordType::Decision,
        RecordType::Preference,
        RecordType::Event,
        RecordType::Outcome,
    ];
    for i in 0..48_usize {
        let text = format!("{} (note {i})", topics[i % topics.len()]);
        let day = 1 + (i % 27);
        let mut builder = RecordBuilder::summary(types[i % types.len()], &text)
            .at(&format!("2026-03-{day:02}T00:00:{:02}Z", i % 60));
        if i % 5 == 0 {
            builder = builder.confidence(0.25 + (i % 3) as f64 / 4.0);
        }
        records.push(builder.build());
    }
    records
}

#[test]
fn a_fresh_database_needs_migrating_and_migrates_once() {
    let engines = engines("a_fresh_database_needs_migrating_and_migrates_once");
    let mut before = Vec::new();
    let mut plans = Vec::new();
    let mut after = Vec::new();
    for (name, store) in &engines.stores {
        let status = store.schema_status().unwrap();
        assert!(!status.up_to_date, "{name}");
        assert_eq!(status.current_version, 0, "{name}");
        let refused = store.list_records(&RecordFilter::default()).unwrap_err();
        assert!(
            matches!(refused, StoreError::SchemaOutdated { .. }),
            "{name}: {refused:?}"
        );
        before.push((*name, status.up_to_date));
        let plan = store.migrate(true).unwrap();
        assert!(
            plan.dry_run && !plan.would_apply_versions.is_empty(),
            "{name}"
        );
        assert!(
            !store.schema_status().unwrap().up_to_date,
            "{name}: a dry run changed nothing"
        );
        plans.push((*name, plan.after_version));
        let applied = store.migrate(false).unwrap();
        assert_eq!(applied.up_to_date, Some(true), "{name}");
        let again = store.migrate(false).unwrap();
        assert!(again.would_apply_versions.is_empty(), "{name}: {again:?}");
        after.push((*name, store.schema_status().unwrap().up_to_date));
    }
    same(&before);
    same(&plans);
    same(&after);
}

#[test]
fn records_versions_and_lineage_behave_alike() {
    let engines = migrated("records_versions_and_lineage_behave_alike");
    let records = corpus();
    let memory = MemoryId::generate();
    let first = RecordBuilder::summary(RecordType::Decision, "first take")
        .version_of(memory, 1)
        .build();
    let second = RecordBuilder::summary(RecordType::Decision, "second take")
        .version_of(memory, 2)
        .at("2026-01-02T00:00:00Z")
        .build();
    let skipped = RecordBuilder::summary(RecordType::Decision, "a gap")
        .version_of(memory, 5)
        .build();
    let dangling = RecordBuilder::summary(RecordType::Event, "points nowhere")
        .supersedes(
            RecordBuilder::summary(RecordType::Event, "never stored")
                .build()
                .memory_version_id,
        )
        .build();
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        store.insert_record(&first, None).unwrap();
        store.insert_record(&second, None).unwrap();
        let conflict = store.insert_record(&skipped, None).unwrap_err();
        assert!(
            matches!(
                conflict,
                StoreError::VersionConflict {
                    expected: 3,
                    got: 5,
                    ..
                }
            ),
            "{name}: {conflict:?}"
        );
        let duplicate = store.insert_record(&first, None).unwrap_err();
        assert!(
            matches!(duplicate, StoreError::DuplicateRecord { .. }),
            "{name}: {duplicate:?}"
        );
        let unknown = store.insert_record(&dangling, None).unwrap_err();
        assert!(
            matches!(unknown, StoreError::UnknownLineageTarget { .. }),
            "{name}: {unknown:?}"
        );

        let a = records[3].memory_version_id;
        let b = records[4].memory_version_id;
        let stored = store
            .insert_link(
                &link(a, b, Relation::Supersedes, "2026-04-01T00:00:00Z"),
                None,
            )
            .unwrap();
        let repeated = store
            .insert_link(
                &link(a, b, Relation::Supersedes, "2026-05-01T00:00:00Z"),
                None,
            )
            .unwrap();
        assert_eq!(
            stored, repeated,
            "{name}: the same link twice is stored once"
        );
        let cycle = store
            .insert_link(
                &link(b, a, Relation::Supersedes, "2026-04-02T00:00:00Z"),
                None,
            )
            .unwrap_err();
        assert!(
            matches!(
                cycle,
                StoreError::Validation(ValidationError::SupersedesCycle { .. })
            ),
            "{name}: {cycle:?}"
        );
        store
            .insert_link(
                &link(b, a, Relation::Contradicts, "2026-04-03T00:00:00Z"),
                None,
            )
            .unwrap();

        outcomes.push((
            *name,
            (
                store.all_records().unwrap(),
                store.all_links().unwrap(),
                store
                    .list_records(&RecordFilter {
                        record_type: Some(RecordType::Decision),
                        memory_id: Some(memory),
                        limit: Some(1),
                    })
                    .unwrap(),
                store.get_record(second.memory_version_id).unwrap(),
                store.next_version(memory).unwrap(),
                store.next_version(MemoryId::generate()).unwrap(),
            ),
        ));
    }
    same(&outcomes);
    let (_, (all, links, listed, got, next, fresh)) = &outcomes[0];
    assert_eq!(all.len(), records.len() + 2);
    assert_eq!(links.len(), 2);
    assert_eq!(listed.len(), 1);
    assert_eq!(got.as_ref(), Some(&second));
    assert_eq!((*next, *fresh), (3, 1));
}

#[test]
fn answers_and_stored_packages_are_byte_identical() {
    let engines = migrated("answers_and_stored_packages_are_byte_identical");
    let records = corpus();
    let as_of = ts("2027-01-01T00:00:00Z");
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        let mut answers = Vec::new();
        for (actor, action, resource) in [("user", "use", "usb_drive"), ("admin", "use", "printer")]
        {
            let query = AskQuery::from_triple("may they?", actor, action, resource, as_of).unwrap();
            let set = store.ask_candidates(query.scope(), query.as_of()).unwrap();
            let package = memory_kernel_core::ask(&set, &query);
            store
                .put_context_package(&package, &set.records, "ask")
                .unwrap();
            let stored = store
                .get_context_package(&package.context_package_id)
                .unwrap();
            assert_eq!(
                stored.as_deref(),
                Some(package.to_canonical_json().as_str()),
                "{name}"
            );
            answers.push(package.to_canonical_json());
        }
        for text in [
            "usb drives",
            "release tuesday",
            "usb",
            "nothing matches this",
            "drives encrypted office",
        ] {
            let query = RecallQuery::new(text, as_of).unwrap();
            let set = store
                .recall_candidates(query.terms(), query.record_types(), query.as_of(), false)
                .unwrap();
            let over_candidates = memory_kernel_core::recall(&set, &query);
            let (indexed, listed) = store.recall_indexed(&query).unwrap();
            assert_eq!(
                indexed, over_candidates,
                "{name}: indexed recall equals recall"
            );
            store
                .put_context_package(&indexed, &listed, "recall")
                .unwrap();
            let stored = store
                .get_context_package(&indexed.context_package_id)
                .unwrap();
            assert_eq!(
                stored.as_deref(),
                Some(indexed.to_canonical_json().as_str()),
                "{name}"
            );
            answers.push(indexed.to_canonical_json());
        }
        let past = RecallQuery::new("usb", ts("2026-03-05T00:00:00Z")).unwrap();
        answers.push(store.recall_indexed(&past).unwrap().0.to_canonical_json());
        let packages = store.all_context_packages().unwrap();
        assert_eq!(packages.len(), 7, "{name}: one package per distinct query");
        outcomes.push((*name, (answers, packages)));
    }
    same(&outcomes);
}

#[test]
fn pruning_packages_leaves_records_alone() {
    let engines = migrated("pruning_packages_leaves_records_alone");
    let records = corpus();
    let mut outcomes = Vec::new();
    for (_, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        crate::support::stored_recall(store, "usb drives");
        let kept = store
            .prune_context_packages(ts("2000-01-01T00:00:00Z"))
            .unwrap();
        let pruned = store
            .prune_context_packages(
                Timestamp::from_unix_nanos(Timestamp::now().unix_nanos() + 1_000_000_000).unwrap(),
            )
            .unwrap();
        outcomes.push((
            "engine",
            (
                kept.pruned_packages,
                kept.remaining_packages,
                pruned.pruned_packages,
                pruned.remaining_packages,
                store.all_records().unwrap().len(),
            ),
        ));
    }
    same(&outcomes);
    assert_eq!(outcomes[0].1, (0, 1, 1, 0, records.len()));
}

#[test]
fn concurrent_writers_to_one_memory_get_gap_free_versions() {
    let engines = migrated("concurrent_writers_to_one_memory_get_gap_free_versions");
    const WRITERS: usize = 8;
    const EACH: usize = 6;
    for (name, store) in &engines.stores {
        let memory = MemoryId::generate();
        let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                let acknowledged = Arc::clone(&acknowledged);
                thread::spawn(move || {
                    for n in 0..EACH {
                        loop {
                            let version = store.next_version(memory).unwrap();
                            let record = RecordBuilder::summary(
                                RecordType::Event,
                                &format!("writer {writer} event {n}"),
                            )
                            .version_of(memory, version)
                            .build();
                            match store.insert_record(&record, None) {
                                Ok(()) => {
                                    acknowledged.lock().unwrap().push(record.memory_version_id);
                                    break;
                                }
                                Err(StoreError::VersionConflict { .. }) => continue,
                                Err(other) => panic!("{other:?}"),
                            }
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let stored = store
            .list_records(&RecordFilter {
                memory_id: Some(memory),
                ..RecordFilter::default()
            })
            .unwrap();
        let mut versions: Vec<u32> = stored.iter().map(|r| r.version).collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            (1..=(WRITERS * EACH) as u32).collect::<Vec<_>>(),
            "{name}"
        );
        for id in acknowledged.lock().unwrap().iter() {
            assert!(
                store.get_record(*id).unwrap().is_some(),
                "{name}: acknowledged {id} lost"
            );
        }
    }
}

#[test]
fn the_database_itself_refuses_to_rewrite_history() {
    let engines = migrated("the_database_itself_refuses_to_rewrite_history");
    let record = RecordBuilder::summary(RecordType::Decision, "kept forever").build();
    for (_, store) in &engines.stores {
        store.insert_record(&record, None).unwrap();
    }
    let (_, path) = (
        &engines.stores[0].0,
        engines.stores[0].1.path().unwrap().to_owned(),
    );
    let sqlite = rusqlite::Connection::open(path).unwrap();
    for statement in [
        "UPDATE mk_memory_records SET writer = 'someone else'",
        "DELETE FROM mk_decision_payloads",
        "DELETE FROM mk_recall_postings",
    ] {
        assert!(
            sqlite.execute(statement, []).is_err(),
            "sqlite took {statement}"
        );
    }
    if let Some(db) = &engines.postgres {
        let mut client = db.client();
        for statement in [
            "UPDATE mk_memory_records SET writer = 'someone else'",
            "DELETE FROM mk_decision_payloads",
            "DELETE FROM mk_recall_postings",
            "UPDATE mk_schema_migrations SET name = 'x'",
        ] {
            let refused = client.batch_execute(statement).unwrap_err();
            assert!(
                refused.as_db_error().is_some(),
                "postgresql took {statement}"
            );
        }
        let kept: i64 = client
            .query_one(
                "SELECT count(*) FROM mk_memory_records WHERE writer = 'tester'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(kept, 1);
    }
}

#[test]
fn operations_a_file_engine_offers_are_refused_clearly_on_postgresql() {
    let Some(db) =
        TempDatabase::create("operations_a_file_engine_offers_are_refused_clearly_on_postgresql")
    else {
        return;
    };
    let store = Store::open(&db.url).unwrap();
    store.migrate(false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let refused = store
        .backup(dir.path().join("copy.sqlite3"), false)
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Unsupported {
                engine: "postgresql"
            }
        ),
        "{refused:?}"
    );
    assert!(!dir.path().join("copy.sqlite3").exists());
    assert_eq!(store.engine(), "postgresql");
    assert!(store.path().is_none());
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    let error = Store::open("postgres://mk:hunter2@127.0.0.1:1/memory").unwrap_err();
    assert!(matches!(error, StoreError::Unreachable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("postgres://mk:***@127.0.0.1:1/memory"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

/// An outcome event on version 1 of `record`'s memory.
fn outcome_event(record: &MemoryRecord, event_type: EventType) -> NewOutcomeEvent {
    NewOutcomeEvent {
        event_id: None,
        ruleset_version: 1,
        memory_id: record.memory_id,
        version: record.version,
        event_type,
        occurred_at: ts("2026-04-02T00:00:00Z"),
        writer: "tester".into(),
        justification: "observed".into(),
        context_id: Some("ctx-1".into()),
        edited: false,
        escalated: event_type == EventType::Failure,
        severity: (event_type == EventType::Failure).then_some(Severity::High),
        manual_confidence: Some(0.5),
        override_cap: false,
        payload_json: serde_json::json!({"run": 1}),
    }
}

/// A snapshot folder's files: name and bytes, by name.
type Files = Vec<(String, Vec<u8>)>;

/// The files of a snapshot folder, by name.
fn snapshot_files(dir: &std::path::Path) -> Files {
    let mut files: Files = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn snapshots_are_byte_identical_and_cross_engines() {
    use memory_kernel_store::{ExportOptions, ImportOptions};

    let engines = migrated("snapshots_are_byte_identical_and_cross_engines");
    let records = corpus();
    let folder = tempfile::tempdir().unwrap();
    let unsigned = ImportOptions {
        allow_unsigned: true,
        ..ImportOptions::default()
    };
    let mut exports = Vec::new();
    for (index, (name, store)) in engines.stores.iter().enumerate() {
        store.insert_records(&records, None).unwrap();
        if index == 0 {
            // The first store's snapshot carries a trust history into every engine.
            for event_type in [EventType::Success, EventType::Failure, EventType::Success] {
                store
                    .append_outcome_event(outcome_event(&records[3], event_type), None)
                    .unwrap();
            }
        }
        store
            .insert_link(
                &link(
                    records[5].memory_version_id,
                    records[6].memory_version_id,
                    Relation::Contradicts,
                    "2026-04-01T00:00:00Z",
                ),
                None,
            )
            .unwrap();
        crate::support::stored_recall(store, "usb drives");
        let out = folder.path().join(format!("export-{name}"));
        store.export(&out, &ExportOptions::default()).unwrap();
        exports.push((*name, snapshot_files(&out)));
    }
    // The data files are byte-identical; the manifest and the outcome files differ by the
    // moment each store got its built-in ruleset.
    let data = |files: &[(String, Vec<u8>)]| -> Files {
        files
            .iter()
            .filter(|(name, _)| !name.starts_with("outcome_") && name != "manifest.json")
            .cloned()
            .collect()
    };
    let data: Vec<(&str, Files)> = exports
        .iter()
        .map(|(name, files)| (*name, data(files)))
        .collect();
    assert_eq!(data[0].1.len(), 3);
    same(&data);

    // Every engine's snapshot imports into a fresh store of every engine, whole, and the
    // target exports the same outcome events, byte for byte.
    for (from, source) in &engines.stores {
        let source = source.content_summary().unwrap();
        let snapshot = folder.path().join(format!("export-{from}"));
        let events = |dir: &std::path::Path| {
            snapshot_files(dir)
                .into_iter()
                .find(|(name, _)| name.starts_with("outcome_events"))
                .unwrap()
                .1
        };
        let targets = self::engines(&format!("snapshot import from {from}"));
        for (to, target) in &targets.stores {
            target.migrate(false).unwrap();
            let report = target.import(&snapshot, &unsigned).unwrap();
            assert_eq!(
                report.records_imported as usize,
                records.len(),
                "{from} -> {to}"
            );
            assert_eq!(target.content_summary().unwrap(), source, "{from} -> {to}");
            // Importing again skips everything and changes nothing.
            let again = target.import(&snapshot, &unsigned).unwrap();
            assert_eq!(again.records_imported, 0, "{from} -> {to}");
            assert_eq!(target.content_summary().unwrap(), source, "{from} -> {to}");
            let out = folder.path().join(format!("re-export-{from}-{to}"));
            target.export(&out, &ExportOptions::default()).unwrap();
            assert_eq!(events(&out), events(&snapshot), "{from} -> {to}");
        }
    }
}

#[test]
fn browsing_pages_and_history_behave_alike() {
    use memory_kernel_store::{PackageKey, PageFilter, PageOrder, RecordKey};

    let engines = migrated("browsing_pages_and_history_behave_alike");
    let records = corpus();
    let memory = records[3].memory_id;
    let second = RecordBuilder::summary(RecordType::Decision, "usb drives, second take")
        .version_of(memory, 2)
        .at("2026-03-30T00:00:00Z")
        .supersedes(records[3].memory_version_id)
        .build();
    let mut outcomes = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        store.insert_record(&second, None).unwrap();
        crate::support::stored_recall(store, "usb drives");
        crate::support::stored_recall(store, "release tuesday");
        let mut pages = Vec::new();
        for order in [PageOrder::Oldest, PageOrder::Newest] {
            // Walk every record seven at a time; the pages must cover each record once.
            let mut after: Option<RecordKey> = None;
            let mut seen = Vec::new();
            loop {
                let page = store
                    .record_page(&PageFilter::default(), order, after.as_ref(), 7)
                    .unwrap();
                let Some(last) = page.last() else { break };
                after = Some(RecordKey::of(last).unwrap());
                seen.extend(page.iter().map(|r| r.memory_version_id));
            }
            assert_eq!(seen.len(), records.len() + 1, "{name} {order:?}");
            pages.push(seen);
        }
        let filtered = store
            .record_page(
                &PageFilter {
                    record_type: Some(RecordType::Decision),
                    created_from: Some(ts("2026-03-10T00:00:00Z")),
                    ..PageFilter::default()
                },
                PageOrder::Newest,
                None,
                50,
            )
            .unwrap();
        let history = store.memory_history(memory).unwrap();
        assert_eq!(history.records.len(), 2, "{name}");
        assert!(!history.edges.is_empty(), "{name}");
        let first_package = store.package_page(PageOrder::Oldest, None, 1).unwrap();
        let after = PackageKey {
            stored_at_nanos: 0,
            context_package_id: String::new(),
        };
        let packages: Vec<(String, String)> = store
            .package_page(PageOrder::Oldest, Some(&after), 10)
            .unwrap()
            .into_iter()
            .map(|p| (p.context_package_id, p.kind))
            .collect();
        assert_eq!(first_package.len(), 1, "{name}");
        assert_eq!(packages.len(), 2, "{name}");
        outcomes.push((*name, (pages, filtered, history, packages.len())));
    }
    same(&outcomes);
}

#[test]
fn a_healthy_store_checks_healthy_on_both_engines() {
    let healthy = migrated("a_healthy_store_checks_healthy_on_both_engines");
    let mut reports = Vec::new();
    for (name, store) in &healthy.stores {
        store.insert_records(&corpus(), None).unwrap();
        let report = store.integrity_check().unwrap();
        assert!(report.is_healthy(), "{name}: {report:?}");
        assert_eq!(report.quick_check_message, "ok", "{name}");
        reports.push((
            *name,
            (report.quick_check_ok, report.foreign_key_violations),
        ));
    }
    same(&reports);
    // An outdated schema is reported, not hidden.
    let fresh = engines("a fresh store is not healthy");
    for (name, store) in &fresh.stores {
        let report = store.integrity_check().unwrap();
        assert!(!report.is_healthy(), "{name}: {report:?}");
        assert!(!report.schema_status.up_to_date, "{name}");
    }
}

#[test]
fn a_copy_that_fails_midway_leaves_the_target_empty() {
    let (_dir, path) = temp_db();
    let source = Store::open(&path).unwrap();
    source.migrate(false).unwrap();
    source.insert_records(&corpus(), None).unwrap();
    crate::support::stored_recall(&source, "usb drives");
    let targets = migrated("a_copy_that_fails_midway_leaves_the_target_empty");
    for (name, target) in &targets.stores {
        // The target refuses packages, which are written after every record.
        match target.path() {
            Some(file) => rusqlite::Connection::open(file)
                .unwrap()
                .execute_batch(
                    "CREATE TRIGGER refuse_packages BEFORE INSERT ON mk_stored_packages
                     BEGIN SELECT RAISE(ABORT, 'packages refused'); END;",
                )
                .unwrap(),
            None => targets
                .postgres
                .as_ref()
                .unwrap()
                .client()
                .batch_execute(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
                       $$ BEGIN RAISE EXCEPTION 'packages refused'; END $$;
                     CREATE TRIGGER refuse_packages BEFORE INSERT ON mk_stored_packages
                       FOR EACH ROW EXECUTE FUNCTION refuse();",
                )
                .unwrap(),
        }
        assert!(source.copy_to(target).is_err(), "{name}");
        let left = target.content_summary().unwrap();
        assert_eq!(
            (left.records, left.links, left.context_packages),
            (0, 0, 0),
            "{name}"
        );
    }
}

#[test]
fn a_copy_reports_each_stage_in_order_and_every_thousand_records() {
    use memory_kernel_store::{CopyProgress, CopyStage};

    let (_dir, path) = temp_db();
    let source = Store::open(&path).unwrap();
    source.migrate(false).unwrap();
    let records: Vec<MemoryRecord> = (0..1200)
        .map(|i| RecordBuilder::summary(RecordType::Event, &format!("event {i}")).build())
        .collect();
    source.insert_records(&records, None).unwrap();
    crate::support::stored_recall(&source, "event");
    let (_target_dir, target_path) = temp_db();
    let target = Store::open(&target_path).unwrap();
    let mut steps = Vec::new();
    source
        .copy_to_with(&target, &mut |step| steps.push(step))
        .unwrap();
    let step = |stage, done, total| CopyProgress { stage, done, total };
    assert_eq!(
        steps,
        [
            step(CopyStage::Reading, 0, 0),
            step(CopyStage::Records, 0, 1200),
            step(CopyStage::Records, 1000, 1200),
            step(CopyStage::Records, 1200, 1200),
            step(CopyStage::Links, 0, 0),
            step(CopyStage::Links, 0, 0),
            step(CopyStage::Packages, 0, 1),
            step(CopyStage::Packages, 1, 1),
            step(CopyStage::OutcomeEvents, 0, 0),
            step(CopyStage::OutcomeEvents, 0, 0),
            step(CopyStage::Verifying, 0, 0),
        ]
    );
}
