//! Snapshot export/import: round trips, reproducibility, signing, encryption and the
//! all-or-nothing import (MKR-033, MKR-051, MKR-053, docs/spec/requirements.md). Every
//! scenario runs on each engine (see `support::engines`), exporting from and importing into
//! stores of that engine; the engines' snapshot data files must be byte-identical.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::support::{
    Engines, RecordBuilder, dir_listing, link, migrated, same, stored_ask, stored_recall, ts,
};
use memory_kernel_core::{Effect, MemoryId, MemoryVersionId, RecordType, Relation};
use memory_kernel_store::manifest::{MANIFEST_FILE, RECORDS_FILE, SIGNATURE_FILE};
use memory_kernel_store::{
    ExportOptions, ImportOptions, ImportReport, KeyFileDefect, SnapshotError, Store, StoreError,
    read_key_file,
};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const SIGNING_KEY: [u8; 32] = [0x11; 32];
const ENCRYPTION_KEY: [u8; 32] = [0x22; 32];

/// A store of every engine holding the same records (built once, so ids match), whose lineage
/// points "backwards in time", so import must order by dependency, not by the file's
/// created_at order.
fn seeded_stores(test: &str) -> Engines {
    let engines = migrated(test);
    let memory = MemoryId::generate();
    let v1 = RecordBuilder::constraint("user", "use", "usb_drive", Effect::Allow)
        .version_of(memory, 1)
        .at("2026-03-01T00:00:00Z")
        .note("first")
        .build();
    let v2 = RecordBuilder::constraint("user", "use", "usb_drive", Effect::Deny)
        .version_of(memory, 2)
        .at("2026-01-01T00:00:00Z")
        .supersedes(v1.memory_version_id)
        .confidence(0.9)
        .build();
    let decision = RecordBuilder::summary(RecordType::Decision, "Ship the USB policy")
        .at("2026-02-01T00:00:00.250Z")
        .contradicts(v2.memory_version_id)
        .build();
    for (_, store) in &engines.stores {
        store
            .insert_records(&[v1.clone(), v2.clone(), decision.clone()], None)
            .unwrap();
        store
            .insert_link(
                &link(
                    decision.memory_version_id,
                    v1.memory_version_id,
                    Relation::Supersedes,
                    "2026-04-01T00:00:00Z",
                ),
                None,
            )
            .unwrap();
        stored_recall(store, "USB policy");
        stored_ask(store, "may I use it?");
    }
    engines
}

/// Fresh, migrated stores of every engine to import into, in the order of `seeded_stores`.
fn fresh_stores(test: &str) -> Engines {
    migrated(&format!("{test} target"))
}

/// Each engine's name with its seeded store and its fresh one.
fn pairs<'a>(
    sources: &'a Engines,
    targets: &'a Engines,
) -> impl Iterator<Item = (&'static str, &'a Store, &'a Store)> {
    sources
        .stores
        .iter()
        .zip(&targets.stores)
        .map(|((name, source), (target_name, target))| {
            assert_eq!(name, target_name);
            (*name, source, target)
        })
}

/// A snapshot's data files (records, links, packages), name and bytes, by name: the files
/// that are byte-identical on every engine for the same content. The manifest and the
/// outcome files also carry when each store got its built-in ruleset.
fn data_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    dir_listing(dir)
        .into_iter()
        .filter(|name| !name.starts_with("outcome_") && name != MANIFEST_FILE)
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

fn assert_same_content(name: &str, a: &Store, b: &Store) {
    assert_eq!(a.all_records().unwrap(), b.all_records().unwrap(), "{name}");
    assert_eq!(a.all_links().unwrap(), b.all_links().unwrap(), "{name}");
    assert_eq!(
        a.all_context_packages().unwrap(),
        b.all_context_packages().unwrap(),
        "{name}"
    );
}

fn unsigned() -> ImportOptions {
    ImportOptions {
        allow_unsigned: true,
        ..ImportOptions::default()
    }
}

fn export(store: &Store, options: &ExportOptions) -> (TempDir, std::path::PathBuf) {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("snapshot");
    store.export(&target, options).unwrap();
    (out, target)
}

fn rewrite(path: &Path, edit: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    std::fs::write(path, edit(text)).unwrap();
}

#[test]
fn export_then_import_reproduces_the_store() {
    let test = "export_then_import_reproduces_the_store";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    let mut snapshots = Vec::new();
    for (name, source, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(source, &ExportOptions::default());
        assert_eq!(
            dir_listing(&snapshot),
            [
                "context_packages.ndjson",
                "manifest.json",
                "memory_links.ndjson",
                "memory_records.ndjson",
                "outcome_events.ndjson",
                "outcome_rulesets.ndjson"
            ],
            "{name}"
        );
        snapshots.push((name, data_files(&snapshot)));
        let report = target.import(&snapshot, &unsigned()).unwrap();
        assert_eq!(
            report,
            ImportReport {
                records_imported: 3,
                links_imported: 1,
                packages_imported: 2,
                ..ImportReport::default()
            },
            "{name}"
        );
        assert_same_content(name, source, target);

        // Importing again skips (and counts) everything; nothing changes.
        let again = target.import(&snapshot, &unsigned()).unwrap();
        assert_eq!(
            again,
            ImportReport {
                records_skipped: 3,
                links_skipped: 1,
                packages_skipped: 2,
                ..ImportReport::default()
            },
            "{name}"
        );
        assert_same_content(name, source, target);

        // Without skip_existing a duplicate is a typed conflict, and the DB is unchanged.
        let strict = ImportOptions {
            skip_existing: false,
            ..unsigned()
        };
        let refused = target.import(&snapshot, &strict).unwrap_err();
        assert!(
            matches!(refused, StoreError::DuplicateRecord { .. }),
            "{name}: {refused:?}"
        );
        assert_same_content(name, source, target);
    }
    same(&snapshots);
}

#[test]
fn export_is_reproducible_and_exported_at_is_opt_in() {
    let engines = seeded_stores("export_is_reproducible_and_exported_at_is_opt_in");
    let mut exports = Vec::new();
    for (name, store) in &engines.stores {
        let signed = ExportOptions {
            signing_key: Some(SIGNING_KEY),
            ..ExportOptions::default()
        };
        let (_o1, first) = export(store, &signed);
        let (_o2, second) = export(store, &signed);
        for file in dir_listing(&first) {
            assert_eq!(
                std::fs::read(first.join(&file)).unwrap(),
                std::fs::read(second.join(&file)).unwrap(),
                "{name}: {file}"
            );
        }
        let manifest = std::fs::read_to_string(first.join(MANIFEST_FILE)).unwrap();
        assert!(!manifest.contains("exported_at"), "{name}");
        assert!(
            manifest.contains("\"format\": \"memorykernel-snapshot.v1\""),
            "{name}"
        );

        let at = ts("2026-05-05T05:05:05Z");
        let (_o3, stamped) = export(
            store,
            &ExportOptions {
                exported_at: Some(at),
                ..ExportOptions::default()
            },
        );
        let manifest = std::fs::read_to_string(stamped.join(MANIFEST_FILE)).unwrap();
        assert!(
            manifest.contains("\"exported_at\": \"2026-05-05T05:05:05Z\""),
            "{name}"
        );

        // Records are listed by created_at instant, one JSON object per line.
        let lines = std::fs::read_to_string(first.join(RECORDS_FILE)).unwrap();
        let created: Vec<String> = lines
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["created_at"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            created,
            [
                "2026-01-01T00:00:00Z",
                "2026-02-01T00:00:00.25Z",
                "2026-03-01T00:00:00Z"
            ],
            "{name}"
        );
        assert!(lines.contains(r#""confidence":0.9,"#), "{name}");
        exports.push((*name, data_files(&first)));
    }
    same(&exports);
}

#[test]
fn export_refuses_a_non_empty_target_and_accepts_an_empty_one() {
    let engines = seeded_stores("export_refuses_a_non_empty_target_and_accepts_an_empty_one");
    for (name, store) in &engines.stores {
        let out = tempfile::tempdir().unwrap();
        let occupied = out.path().join("occupied");
        std::fs::create_dir(&occupied).unwrap();
        std::fs::write(occupied.join("keep.txt"), b"mine").unwrap();
        let refused = store
            .export(&occupied, &ExportOptions::default())
            .unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Snapshot(SnapshotError::TargetNotEmpty { .. })
            ),
            "{name}: {refused:?}"
        );
        assert_eq!(dir_listing(&occupied), ["keep.txt"], "{name}");
        let empty = out.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        store.export(&empty, &ExportOptions::default()).unwrap();
        assert_eq!(
            dir_listing(out.path()),
            ["empty", "occupied"],
            "{name}: no staging folder left"
        );
    }
}

#[test]
fn signed_snapshots_need_the_right_key_and_an_untouched_manifest() {
    let test = "signed_snapshots_need_the_right_key_and_an_untouched_manifest";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(
            store,
            &ExportOptions {
                signing_key: Some(SIGNING_KEY),
                ..ExportOptions::default()
            },
        );
        assert!(snapshot.join(SIGNATURE_FILE).exists(), "{name}");

        let no_key = target.import(&snapshot, &unsigned()).unwrap_err();
        assert!(
            matches!(
                no_key,
                StoreError::Snapshot(SnapshotError::VerifyKeyRequired)
            ),
            "{name}: {no_key:?}"
        );
        let wrong = ImportOptions {
            verify_key: Some([0x99; 32]),
            ..ImportOptions::default()
        };
        let mismatch = target.import(&snapshot, &wrong).unwrap_err();
        assert!(
            matches!(
                mismatch,
                StoreError::Snapshot(SnapshotError::SignatureMismatch)
            ),
            "{name}: {mismatch:?}"
        );

        let right = ImportOptions {
            verify_key: Some(SIGNING_KEY),
            ..ImportOptions::default()
        };
        let version = format!(
            "\"schema_version\": {}",
            memory_kernel_store::schema::target_version()
        );
        rewrite(&snapshot.join(MANIFEST_FILE), |m| {
            assert!(m.contains(&version), "{name}: {m}");
            m.replace(&version, "\"schema_version\": 0")
        });
        let edited = target.import(&snapshot, &right).unwrap_err();
        assert!(
            matches!(
                edited,
                StoreError::Snapshot(SnapshotError::SignatureMismatch)
            ),
            "{name}: {edited:?}"
        );
        rewrite(&snapshot.join(MANIFEST_FILE), |m| {
            m.replace("\"schema_version\": 0", &version)
        });
        assert!(target.all_records().unwrap().is_empty(), "{name}");

        target.import(&snapshot, &right).unwrap();
        assert_same_content(name, store, target);
    }
}

#[test]
fn tampered_data_files_are_refused_by_digest() {
    let test = "tampered_data_files_are_refused_by_digest";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(
            store,
            &ExportOptions {
                signing_key: Some(SIGNING_KEY),
                ..ExportOptions::default()
            },
        );
        rewrite(&snapshot.join(RECORDS_FILE), |r| {
            r.replace("Ship the USB policy", "Ship the USB palicy")
        });
        let options = ImportOptions {
            verify_key: Some(SIGNING_KEY),
            ..ImportOptions::default()
        };
        let refused = target.import(&snapshot, &options).unwrap_err();
        assert!(
            matches!(
                &refused,
                StoreError::Snapshot(SnapshotError::DigestMismatch { file }) if file == RECORDS_FILE
            ),
            "{name}: {refused:?}"
        );
        assert!(target.all_records().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn unsigned_snapshots_need_explicit_permission() {
    let test = "unsigned_snapshots_need_explicit_permission";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(store, &ExportOptions::default());
        let refused = target
            .import(&snapshot, &ImportOptions::default())
            .unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Snapshot(SnapshotError::UnsignedRefused)
            ),
            "{name}: {refused:?}"
        );
        assert!(target.all_records().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn encrypted_snapshots_round_trip_with_the_key() {
    let test = "encrypted_snapshots_round_trip_with_the_key";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let options = ExportOptions {
            signing_key: Some(SIGNING_KEY),
            encryption_key: Some(ENCRYPTION_KEY),
            ..ExportOptions::default()
        };
        let (_out, snapshot) = export(store, &options);
        let raw = std::fs::read(snapshot.join(RECORDS_FILE)).unwrap();
        assert!(
            !String::from_utf8_lossy(&raw).contains("usb_drive"),
            "{name}: records are not plaintext"
        );
        // The manifest's digest is over the ciphertext as written.
        let manifest = std::fs::read_to_string(snapshot.join(MANIFEST_FILE)).unwrap();
        assert!(
            manifest.contains(&hex::encode(Sha256::digest(&raw))),
            "{name}"
        );

        let import = ImportOptions {
            verify_key: Some(SIGNING_KEY),
            decrypt_key: Some(ENCRYPTION_KEY),
            ..ImportOptions::default()
        };
        target.import(&snapshot, &import).unwrap();
        assert_same_content(name, store, target);
    }
}

#[test]
fn a_wrong_decrypt_key_changes_nothing_and_leaves_no_files() {
    let test = "a_wrong_decrypt_key_changes_nothing_and_leaves_no_files";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    let existing = RecordBuilder::summary(RecordType::Event, "already here").build();
    for (name, store, target) in pairs(&sources, &targets) {
        let options = ExportOptions {
            encryption_key: Some(ENCRYPTION_KEY),
            ..ExportOptions::default()
        };
        let (_out, snapshot) = export(store, &options);
        let snapshot_files = dir_listing(&snapshot);
        target.insert_record(&existing, None).unwrap();
        // The SQLite file's folder gains no file; PostgreSQL has no folder.
        let db_files = || {
            target
                .path()
                .map(|path| dir_listing(path.parent().unwrap()))
        };
        let before = db_files();

        let wrong = ImportOptions {
            decrypt_key: Some([0x33; 32]),
            ..unsigned()
        };
        let refused = target.import(&snapshot, &wrong).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Snapshot(SnapshotError::DecryptionFailed { .. })
            ),
            "{name}: {refused:?}"
        );
        let keyless = target.import(&snapshot, &unsigned()).unwrap_err();
        assert!(
            matches!(
                keyless,
                StoreError::Snapshot(SnapshotError::DecryptKeyRequired)
            ),
            "{name}: {keyless:?}"
        );
        assert_eq!(
            target.all_records().unwrap(),
            vec![existing.clone()],
            "{name}"
        );
        assert_eq!(dir_listing(&snapshot), snapshot_files, "{name}");
        assert_eq!(db_files(), before, "{name}");
    }
}

#[test]
fn an_import_that_fails_midway_rolls_back_entirely() {
    let test = "an_import_that_fails_midway_rolls_back_entirely";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    // A record whose lineage target is in neither the snapshot nor the target DB: it is
    // written after the valid ones, and its failure must undo them.
    let orphan = RecordBuilder::summary(RecordType::Outcome, "orphan")
        .at("2030-01-01T00:00:00Z")
        .supersedes(MemoryVersionId::generate())
        .build();
    let line = serde_json::to_string(&orphan).unwrap();
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(store, &ExportOptions::default());
        let records = snapshot.join(RECORDS_FILE);
        rewrite(&records, |r| format!("{r}{line}\n"));
        let digest = hex::encode(Sha256::digest(std::fs::read(&records).unwrap()));
        rewrite(&snapshot.join(MANIFEST_FILE), |m| {
            let manifest: serde_json::Value = serde_json::from_str(&m).unwrap();
            let old = manifest["files"][0]["sha256"].as_str().unwrap().to_owned();
            m.replace(&old, &digest)
                .replacen("\"count\": 3", "\"count\": 4", 1)
        });
        let err = target.import(&snapshot, &unsigned()).unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownLineageTarget { .. }),
            "{name}: {err:?}"
        );
        assert!(target.all_records().unwrap().is_empty(), "{name}");
        assert!(target.all_context_packages().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn invalid_records_in_a_snapshot_are_refused_before_any_write() {
    let test = "invalid_records_in_a_snapshot_are_refused_before_any_write";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(store, &ExportOptions::default());
        let records = snapshot.join(RECORDS_FILE);
        rewrite(&records, |r| {
            r.replacen("\"writer\":\"tester\"", "\"writer\":\"  \"", 1)
        });
        let digest = hex::encode(Sha256::digest(std::fs::read(&records).unwrap()));
        rewrite(&snapshot.join(MANIFEST_FILE), |m| {
            let manifest: serde_json::Value = serde_json::from_str(&m).unwrap();
            let old = manifest["files"][0]["sha256"].as_str().unwrap().to_owned();
            m.replace(&old, &digest)
        });
        let refused = target.import(&snapshot, &unsigned()).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Snapshot(SnapshotError::InvalidItem { line: 1, .. })
            ),
            "{name}: {refused:?}"
        );
        assert!(target.all_records().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn key_files_hold_64_hex_digits() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.key");
    std::fs::write(&good, format!("\n  {}  \n", "0f".repeat(32))).unwrap();
    assert_eq!(read_key_file(&good).unwrap(), [0x0f; 32]);
    let short = dir.path().join("short.key");
    std::fs::write(&short, "abcd").unwrap();
    assert!(matches!(
        read_key_file(&short).unwrap_err(),
        SnapshotError::KeyFileInvalid {
            defect: KeyFileDefect::WrongLength { chars: 4 },
            ..
        }
    ));
    assert!(matches!(
        read_key_file(dir.path().join("absent.key")).unwrap_err(),
        SnapshotError::KeyFileUnreadable { .. }
    ));
}

#[test]
fn item_12_a_verify_key_makes_a_valid_signature_mandatory() {
    let test = "item_12_a_verify_key_makes_a_valid_signature_mandatory";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    for (name, store, target) in pairs(&sources, &targets) {
        let (_out, snapshot) = export(
            store,
            &ExportOptions {
                signing_key: Some(SIGNING_KEY),
                ..ExportOptions::default()
            },
        );
        // A forged copy: an edited record, a re-digested manifest, and no signature file.
        let forged_dir = tempfile::tempdir().unwrap();
        let forged = forged_dir.path().join("forged");
        std::fs::create_dir(&forged).unwrap();
        for entry in std::fs::read_dir(&snapshot).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), forged.join(entry.file_name())).unwrap();
        }
        let records = forged.join(RECORDS_FILE);
        let old = hex::encode(Sha256::digest(std::fs::read(&records).unwrap()));
        rewrite(&records, |r| {
            r.replace("Ship the USB policy", "Ship the USB palicy")
        });
        let new = hex::encode(Sha256::digest(std::fs::read(&records).unwrap()));
        rewrite(&forged.join(MANIFEST_FILE), |m| m.replace(&old, &new));
        std::fs::remove_file(forged.join(SIGNATURE_FILE)).unwrap();

        let keyed = ImportOptions {
            verify_key: Some(SIGNING_KEY),
            allow_unsigned: true,
            ..ImportOptions::default()
        };
        let refused = target.import(&forged, &keyed).unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Snapshot(SnapshotError::SignatureMissing)
            ),
            "{name}: {refused:?}"
        );
        assert!(target.all_records().unwrap().is_empty(), "{name}");
        // The genuine snapshot still imports.
        target.import(&snapshot, &keyed).unwrap();
        assert_same_content(name, store, target);
    }
}

/// An outcome event about `record`'s version.
fn outcome(
    record: &memory_kernel_core::MemoryRecord,
    event_type: memory_kernel_outcome::EventType,
) -> memory_kernel_outcome::NewOutcomeEvent {
    memory_kernel_outcome::NewOutcomeEvent {
        event_id: None,
        ruleset_version: 1,
        memory_id: record.memory_id,
        version: record.version,
        event_type,
        occurred_at: ts("2026-05-01T10:00:00.5Z"),
        writer: "agent".to_owned(),
        justification: "observed".to_owned(),
        context_id: Some("run-9".to_owned()),
        edited: false,
        escalated: event_type == memory_kernel_outcome::EventType::Failure,
        severity: (event_type == memory_kernel_outcome::EventType::Failure)
            .then_some(memory_kernel_outcome::Severity::High),
        manual_confidence: None,
        override_cap: false,
        payload_json: serde_json::json!({"step": 3}),
    }
}

#[test]
fn outcome_events_and_rulesets_round_trip_and_replay_gives_the_same_trust() {
    use memory_kernel_outcome::EventType::{Failure, Success};
    let test = "outcome_events_and_rulesets_round_trip_and_replay_gives_the_same_trust";
    let (sources, targets) = (seeded_stores(test), fresh_stores(test));
    let others = seeded_stores(&format!("{test} diverging"));
    let mut outcomes = Vec::new();
    for ((name, source, target), (_, other)) in pairs(&sources, &targets).zip(&others.stores) {
        let records = source.all_records().unwrap();
        for (record, kind) in [
            (&records[0], Success),
            (&records[1], Failure),
            (&records[0], Success),
        ] {
            source
                .append_outcome_event(outcome(record, kind), None)
                .unwrap();
        }
        source.replay_outcomes(None, None).unwrap();
        let (_out, snapshot) = export(source, &ExportOptions::default());
        let manifest = std::fs::read_to_string(snapshot.join(MANIFEST_FILE)).unwrap();
        assert!(
            manifest.contains("\"outcome_events.ndjson\",\n      \"count\": 3"),
            "{name}: {manifest}"
        );

        target.import(&snapshot, &unsigned()).unwrap();
        let events = |store: &Store, record: &memory_kernel_core::MemoryRecord| {
            store
                .outcome_events(record.memory_id, record.version, None)
                .unwrap()
        };
        for record in &records[..2] {
            let before = events(source, record);
            assert!(!before.is_empty(), "{name}");
            assert_eq!(
                events(target, record),
                before,
                "{name}: same events, same seq and ids"
            );
        }
        // Snapshots are derived: the target has none until a replay, which rebuilds the
        // source's exactly.
        let key = (records[0].memory_id, records[0].version);
        assert!(
            target.trust_snapshot(key.0, key.1).unwrap().is_none(),
            "{name}"
        );
        assert_eq!(target.projector_status().unwrap().lag_events, 3, "{name}");
        target.replay_outcomes(None, None).unwrap();
        let mut trust = Vec::new();
        for record in &records[..2] {
            let rebuilt = target
                .trust_snapshot(record.memory_id, record.version)
                .unwrap();
            assert_eq!(
                rebuilt,
                source
                    .trust_snapshot(record.memory_id, record.version)
                    .unwrap(),
                "{name}"
            );
            // When the snapshot was written is each store's own; the trust itself must match.
            trust.push(
                rebuilt.map(|snapshot| memory_kernel_outcome::TrustSnapshot {
                    updated_at: ts("2026-05-01T10:00:00.5Z"),
                    ..snapshot
                }),
            );
        }

        // Importing again skips the same events; a diverging log is refused whole.
        target.import(&snapshot, &unsigned()).unwrap();
        assert_eq!(events(target, &records[0]).len(), 2, "{name}");
        let theirs = other.all_records().unwrap();
        other
            .append_outcome_event(outcome(&theirs[0], Failure), None)
            .unwrap();
        let (_out2, diverging) = export(other, &ExportOptions::default());
        let before = source.outcome_events(key.0, key.1, None).unwrap();
        let error = source.import(&diverging, &unsigned()).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::Snapshot(SnapshotError::ConflictingEvent { event_seq: 1 })
            ),
            "{name}: {error:?}"
        );
        assert_eq!(
            source.outcome_events(key.0, key.1, None).unwrap(),
            before,
            "{name}"
        );
        let seqs: Vec<(i64, memory_kernel_outcome::EventType)> = before
            .iter()
            .map(|event| (event.event_seq, event.event_type))
            .collect();
        outcomes.push((name, (seqs, trust)));
    }
    same(&outcomes);
}
