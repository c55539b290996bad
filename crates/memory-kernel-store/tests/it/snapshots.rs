//! Snapshot export/import: round trips, reproducibility, signing, encryption and the
//! all-or-nothing import (MKR-033, MKR-051, MKR-053, docs/spec/requirements.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use crate::support::{
    RecordBuilder, dir_listing, link, migrated_store, stored_ask, stored_recall, temp_db, ts,
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

/// A store whose lineage points "backwards in time", so import must order by dependency,
/// not by the file's created_at order.
fn seeded_store() -> (TempDir, Store) {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
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
    store
        .insert_records(&[v1.clone(), v2, decision.clone()], None)
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
    stored_recall(&store, "USB policy");
    stored_ask(&store, "may I use it?");
    (dir, store)
}

fn fresh_store() -> (TempDir, Store) {
    let (dir, path) = temp_db();
    let store = migrated_store(&path);
    (dir, store)
}

fn assert_same_content(a: &Store, b: &Store) {
    assert_eq!(a.all_records().unwrap(), b.all_records().unwrap());
    assert_eq!(a.all_links().unwrap(), b.all_links().unwrap());
    assert_eq!(
        a.all_context_packages().unwrap(),
        b.all_context_packages().unwrap()
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
    let (_a, source) = seeded_store();
    let (_out, snapshot) = export(&source, &ExportOptions::default());
    assert_eq!(
        dir_listing(&snapshot),
        [
            "context_packages.ndjson",
            "manifest.json",
            "memory_links.ndjson",
            "memory_records.ndjson",
            "outcome_events.ndjson",
            "outcome_rulesets.ndjson"
        ]
    );
    let (_b, target) = fresh_store();
    let report = target.import(&snapshot, &unsigned()).unwrap();
    assert_eq!(
        report,
        ImportReport {
            records_imported: 3,
            links_imported: 1,
            packages_imported: 2,
            ..ImportReport::default()
        }
    );
    assert_same_content(&source, &target);

    // Importing again skips (and counts) everything; nothing changes.
    let again = target.import(&snapshot, &unsigned()).unwrap();
    assert_eq!(
        again,
        ImportReport {
            records_skipped: 3,
            links_skipped: 1,
            packages_skipped: 2,
            ..ImportReport::default()
        }
    );
    assert_same_content(&source, &target);

    // Without skip_existing a duplicate is a typed conflict, and the DB is unchanged.
    let strict = ImportOptions {
        skip_existing: false,
        ..unsigned()
    };
    assert!(matches!(
        target.import(&snapshot, &strict).unwrap_err(),
        StoreError::DuplicateRecord { .. }
    ));
    assert_same_content(&source, &target);
}

#[test]
fn export_is_reproducible_and_exported_at_is_opt_in() {
    let (_a, store) = seeded_store();
    let (_o1, first) = export(
        &store,
        &ExportOptions {
            signing_key: Some(SIGNING_KEY),
            ..ExportOptions::default()
        },
    );
    let (_o2, second) = export(
        &store,
        &ExportOptions {
            signing_key: Some(SIGNING_KEY),
            ..ExportOptions::default()
        },
    );
    for name in dir_listing(&first) {
        assert_eq!(
            std::fs::read(first.join(&name)).unwrap(),
            std::fs::read(second.join(&name)).unwrap(),
            "{name}"
        );
    }
    let manifest = std::fs::read_to_string(first.join(MANIFEST_FILE)).unwrap();
    assert!(!manifest.contains("exported_at"));
    assert!(manifest.contains("\"format\": \"memorykernel-snapshot.v1\""));

    let at = ts("2026-05-05T05:05:05Z");
    let (_o3, stamped) = export(
        &store,
        &ExportOptions {
            exported_at: Some(at),
            ..ExportOptions::default()
        },
    );
    let manifest = std::fs::read_to_string(stamped.join(MANIFEST_FILE)).unwrap();
    assert!(manifest.contains("\"exported_at\": \"2026-05-05T05:05:05Z\""));

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
        ]
    );
    assert!(lines.contains(r#""confidence":0.9,"#));
}

#[test]
fn export_refuses_a_non_empty_target_and_accepts_an_empty_one() {
    let (_a, store) = seeded_store();
    let out = tempfile::tempdir().unwrap();
    let occupied = out.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("keep.txt"), b"mine").unwrap();
    assert!(matches!(
        store
            .export(&occupied, &ExportOptions::default())
            .unwrap_err(),
        StoreError::Snapshot(SnapshotError::TargetNotEmpty { .. })
    ));
    assert_eq!(dir_listing(&occupied), ["keep.txt"]);
    let empty = out.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    store.export(&empty, &ExportOptions::default()).unwrap();
    assert_eq!(
        dir_listing(out.path()),
        ["empty", "occupied"],
        "no staging folder left"
    );
}

#[test]
fn signed_snapshots_need_the_right_key_and_an_untouched_manifest() {
    let (_a, store) = seeded_store();
    let (_out, snapshot) = export(
        &store,
        &ExportOptions {
            signing_key: Some(SIGNING_KEY),
            ..ExportOptions::default()
        },
    );
    assert!(snapshot.join(SIGNATURE_FILE).exists());
    let (_b, target) = fresh_store();

    let no_key = target.import(&snapshot, &unsigned()).unwrap_err();
    assert!(
        matches!(
            no_key,
            StoreError::Snapshot(SnapshotError::VerifyKeyRequired)
        ),
        "{no_key:?}"
    );
    let wrong = ImportOptions {
        verify_key: Some([0x99; 32]),
        ..ImportOptions::default()
    };
    assert!(matches!(
        target.import(&snapshot, &wrong).unwrap_err(),
        StoreError::Snapshot(SnapshotError::SignatureMismatch)
    ));

    let right = ImportOptions {
        verify_key: Some(SIGNING_KEY),
        ..ImportOptions::default()
    };
    let version = format!(
        "\"schema_version\": {}",
        memory_kernel_store::schema::target_version()
    );
    rewrite(&snapshot.join(MANIFEST_FILE), |m| {
        assert!(m.contains(&version), "{m}");
        m.replace(&version, "\"schema_version\": 0")
    });
    assert!(matches!(
        target.import(&snapshot, &right).unwrap_err(),
        StoreError::Snapshot(SnapshotError::SignatureMismatch)
    ));
    rewrite(&snapshot.join(MANIFEST_FILE), |m| {
        m.replace("\"schema_version\": 0", &version)
    });
    assert!(target.all_records().unwrap().is_empty());

    target.import(&snapshot, &right).unwrap();
    assert_same_content(&store, &target);
}

#[test]
fn tampered_data_files_are_refused_by_digest() {
    let (_a, store) = seeded_store();
    let (_out, snapshot) = export(
        &store,
        &ExportOptions {
            signing_key: Some(SIGNING_KEY),
            ..ExportOptions::default()
        },
    );
    rewrite(&snapshot.join(RECORDS_FILE), |r| {
        r.replace("Ship the USB policy", "Ship the USB palicy")
    });
    let (_b, target) = fresh_store();
    let options = ImportOptions {
        verify_key: Some(SIGNING_KEY),
        ..ImportOptions::default()
    };
    assert!(matches!(
        target.import(&snapshot, &options).unwrap_err(),
        StoreError::Snapshot(SnapshotError::DigestMismatch { file }) if file == RECORDS_FILE
    ));
    assert!(target.all_records().unwrap().is_empty());
}

#[test]
fn unsigned_snapshots_need_explicit_permission() {
    let (_a, store) = seeded_store();
    let (_out, snapshot) = export(&store, &ExportOptions::default());
    let (_b, target) = fresh_store();
    assert!(matches!(
        target
            .import(&snapshot, &ImportOptions::default())
            .unwrap_err(),
        StoreError::Snapshot(SnapshotError::UnsignedRefused)
    ));
    assert!(target.all_records().unwrap().is_empty());
}

#[test]
fn encrypted_snapshots_round_trip_with_the_key() {
    let (_a, store) = seeded_store();
    let options = ExportOptions {
        signing_key: Some(SIGNING_KEY),
        encryption_key: Some(ENCRYPTION_KEY),
        ..ExportOptions::default()
    };
    let (_out, snapshot) = export(&store, &options);
    let raw = std::fs::read(snapshot.join(RECORDS_FILE)).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("usb_drive"),
        "records are not plaintext"
    );
    // The manifest's digest is over the ciphertext as written.
    let manifest = std::fs::read_to_string(snapshot.join(MANIFEST_FILE)).unwrap();
    assert!(manifest.contains(&hex::encode(Sha256::digest(&raw))));

    let (_b, target) = fresh_store();
    let import = ImportOptions {
        verify_key: Some(SIGNING_KEY),
        decrypt_key: Some(ENCRYPTION_KEY),
        ..ImportOptions::default()
    };
    target.import(&snapshot, &import).unwrap();
    assert_same_content(&store, &target);
}

#[test]
fn a_wrong_decrypt_key_changes_nothing_and_leaves_no_files() {
    let (_a, store) = seeded_store();
    let options = ExportOptions {
        encryption_key: Some(ENCRYPTION_KEY),
        ..ExportOptions::default()
    };
    let (_out, snapshot) = export(&store, &options);
    let snapshot_files = dir_listing(&snapshot);
    let (db_dir, target) = fresh_store();
    let existing = RecordBuilder::summary(RecordType::Event, "already here").build();
    target.insert_record(&existing, None).unwrap();
    let db_files = dir_listing(db_dir.path());

    let wrong = ImportOptions {
        decrypt_key: Some([0x33; 32]),
        ..unsigned()
    };
    assert!(matches!(
        target.import(&snapshot, &wrong).unwrap_err(),
        StoreError::Snapshot(SnapshotError::DecryptionFailed { .. })
    ));
    assert!(matches!(
        target.import(&snapshot, &unsigned()).unwrap_err(),
        StoreError::Snapshot(SnapshotError::DecryptKeyRequired)
    ));
    assert_eq!(target.all_records().unwrap(), vec![existing]);
    assert_eq!(dir_listing(&snapshot), snapshot_files);
    assert_eq!(dir_listing(db_dir.path()), db_files);
}

#[test]
fn an_import_that_fails_midway_rolls_back_entirely() {
    let (_a, store) = seeded_store();
    // A record whose lineage target is in neither the snapshot nor the target DB: it is
    // written after the valid ones, and its failure must undo them.
    let orphan = RecordBuilder::summary(RecordType::Outcome, "orphan")
        .at("2030-01-01T00:00:00Z")
        .supersedes(MemoryVersionId::generate())
        .build();
    let (_out, snapshot) = export(&store, &ExportOptions::default());
    let line = serde_json::to_string(&orphan).unwrap();
    let records = snapshot.join(RECORDS_FILE);
    rewrite(&records, |r| format!("{r}{line}\n"));
    let digest = hex::encode(Sha256::digest(std::fs::read(&records).unwrap()));
    rewrite(&snapshot.join(MANIFEST_FILE), |m| {
        let manifest: serde_json::Value = serde_json::from_str(&m).unwrap();
        let old = manifest["files"][0]["sha256"].as_str().unwrap().to_owned();
        m.replace(&old, &digest)
            .replacen("\"count\": 3", "\"count\": 4", 1)
    });
    let (_b, target) = fresh_store();
    let err = target.import(&snapshot, &unsigned()).unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownLineageTarget { .. }),
        "{err:?}"
    );
    assert!(target.all_records().unwrap().is_empty());
    assert!(target.all_context_packages().unwrap().is_empty());
}

#[test]
fn invalid_records_in_a_snapshot_are_refused_before_any_write() {
    let (_a, store) = seeded_store();
    let (_out, snapshot) = export(&store, &ExportOptions::default());
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
    let (_b, target) = fresh_store();
    assert!(matches!(
        target.import(&snapshot, &unsigned()).unwrap_err(),
        StoreError::Snapshot(SnapshotError::InvalidItem { line: 1, .. })
    ));
    assert!(target.all_records().unwrap().is_empty());
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
    let (_a, store) = seeded_store();
    let (_out, snapshot) = export(
        &store,
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

    let (_b, target) = fresh_store();
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
        "{refused:?}"
    );
    assert!(target.all_records().unwrap().is_empty());
    // The genuine snapshot still imports.
    target.import(&snapshot, &keyed).unwrap();
    assert_same_content(&store, &target);
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
    let (_a, source) = seeded_store();
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
    let (_out, snapshot) = export(&source, &ExportOptions::default());
    let manifest = std::fs::read_to_string(snapshot.join(MANIFEST_FILE)).unwrap();
    assert!(
        manifest.contains("\"outcome_events.ndjson\",\n      \"count\": 3"),
        "{manifest}"
    );

    let (_b, target) = fresh_store();
    target.import(&snapshot, &unsigned()).unwrap();
    let events = |store: &Store, record: &memory_kernel_core::MemoryRecord| {
        store
            .outcome_events(record.memory_id, record.version, None)
            .unwrap()
    };
    for record in &records[..2] {
        let before = events(&source, record);
        assert!(!before.is_empty());
        assert_eq!(
            events(&target, record),
            before,
            "same events, same seq and ids"
        );
    }
    // Snapshots are derived: the target has none until a replay, which rebuilds the
    // source's exactly.
    let key = (records[0].memory_id, records[0].version);
    assert!(target.trust_snapshot(key.0, key.1).unwrap().is_none());
    assert_eq!(target.projector_status().unwrap().lag_events, 3);
    target.replay_outcomes(None, None).unwrap();
    for record in &records[..2] {
        assert_eq!(
            target
                .trust_snapshot(record.memory_id, record.version)
                .unwrap(),
            source
                .trust_snapshot(record.memory_id, record.version)
                .unwrap()
        );
    }

    // Importing again skips the same events; a diverging log is refused whole.
    target.import(&snapshot, &unsigned()).unwrap();
    assert_eq!(events(&target, &records[0]).len(), 2);
    let (_c, other) = seeded_store();
    let theirs = other.all_records().unwrap();
    other
        .append_outcome_event(outcome(&theirs[0], Failure), None)
        .unwrap();
    let (_out2, diverging) = export(&other, &ExportOptions::default());
    let before = source.outcome_events(key.0, key.1, None).unwrap();
    let error = source.import(&diverging, &unsigned()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Snapshot(SnapshotError::ConflictingEvent { event_seq: 1 })
        ),
        "{error:?}"
    );
    assert_eq!(source.outcome_events(key.0, key.1, None).unwrap(), before);
}
