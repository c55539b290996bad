//! The outcome tables on both engines: append-only events, refusals, replay determinism and
//! idempotence, projector health, point-in-time gating. Every scenario runs on each engine
//! (see `support::engines`) and what the engines answer must be equal.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{RecordBuilder, migrated, migrated_store, same, temp_db, ts};
use memory_kernel_core::{MemoryId, RecordType};
use memory_kernel_outcome::{
    Candidate, EventType, GateMode, NewOutcomeEvent, OutcomeError, TrustSnapshot, TrustStatus,
    reason,
};
use memory_kernel_store::{ProjectorStatus, Store, StoreError};
use proptest::prelude::*;
use rusqlite::Connection;

const AT: &str = "2026-02-07T12:00:00Z";

fn memory(store: &Store) -> MemoryId {
    let record = RecordBuilder::summary(RecordType::Decision, "use sqlite").build();
    store.insert_record(&record, None).unwrap();
    record.memory_id
}

/// One memory written to every engine, so its id is the same on each.
fn shared_memory(stores: &[(&'static str, Store)]) -> MemoryId {
    let record = RecordBuilder::summary(RecordType::Decision, "use sqlite").build();
    for (_, store) in stores {
        store.insert_record(&record, None).unwrap();
    }
    record.memory_id
}

/// A snapshot without the moment it was written, which differs between any two replays.
fn content(snapshot: Option<TrustSnapshot>) -> Option<TrustSnapshot> {
    snapshot.map(|s| TrustSnapshot {
        updated_at: ts(AT),
        ..s
    })
}

fn event(memory_id: MemoryId, event_type: EventType, at: &str) -> NewOutcomeEvent {
    NewOutcomeEvent {
        event_id: None,
        ruleset_version: 1,
        memory_id,
        version: 1,
        event_type,
        occurred_at: ts(at),
        writer: "w".into(),
        justification: "j".into(),
        context_id: None,
        edited: false,
        escalated: false,
        severity: None,
        manual_confidence: None,
        override_cap: false,
        payload_json: serde_json::json!({}),
    }
}

fn log(store: &Store, memory_id: MemoryId, event_type: EventType) -> i64 {
    store
        .append_outcome_event(event(memory_id, event_type, AT), None)
        .unwrap()
        .event_seq
}

fn key(memory_id: MemoryId) -> Candidate {
    Candidate {
        memory_id,
        version: 1,
    }
}

#[test]
fn events_are_append_only_in_the_database() {
    let engines = migrated("events_are_append_only_in_the_database");
    let a = shared_memory(&engines.stores);
    for (_, store) in &engines.stores {
        log(store, a, EventType::Success);
    }
    let conn = Connection::open(engines.stores[0].1.path().unwrap()).unwrap();
    for statement in [
        "UPDATE outcome_events SET writer = 'x'",
        "DELETE FROM outcome_events",
    ] {
        let refused = conn.execute(statement, []).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("outcome_events is append-only"),
            "sqlite: {refused}"
        );
    }
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM outcome_events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    if let Some(db) = &engines.postgres {
        let mut client = db.client();
        for statement in [
            "UPDATE outcome_events SET writer = 'x'",
            "DELETE FROM outcome_events",
        ] {
            let refused = client.batch_execute(statement).unwrap_err();
            let message = refused.as_db_error().unwrap().message().to_owned();
            assert_eq!(message, "outcome_events is append-only", "postgresql");
        }
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM outcome_events WHERE writer = 'w'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(n, 1);
    }
}

#[test]
fn ruleset_v1_row_is_stored_in_the_original_format() {
    let (_dir, path) = temp_db();
    migrated_store(&path);
    let conn = Connection::open(&path).unwrap();
    let json: String = conn
        .query_row(
            "SELECT ruleset_json FROM outcome_rulesets WHERE ruleset_version = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(json.starts_with("{\"ruleset_version\":1,\"alpha\":0.08,\"per_event_decay\":0.02,"));
    let state: (String, i64) = conn
        .query_row(
            "SELECT projector_name, last_event_seq FROM outcome_projection_state",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(state, ("trust_v0".to_owned(), 0));
}

#[test]
fn both_engines_start_with_the_same_ruleset_and_projector() {
    let engines = migrated("both_engines_start_with_the_same_ruleset_and_projector");
    let mut starts = Vec::new();
    for (name, store) in &engines.stores {
        let status = store.projector_status().unwrap();
        assert_eq!(status.latest_event_seq, 0, "{name}");
        let created = status.updated_at.clone().unwrap();
        assert!(
            created.parse::<memory_kernel_core::Timestamp>().is_ok(),
            "{name}: {created}"
        );
        starts.push((
            *name,
            (
                status.projector_name,
                status.ruleset_version,
                status.lag_events,
            ),
        ));
    }
    same(&starts);
    if let Some(db) = &engines.postgres {
        let json: String = db
            .client()
            .query_one(
                "SELECT ruleset_json FROM outcome_rulesets WHERE ruleset_version = 1",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(json, memory_kernel_outcome::RULESET_V1.to_json());
    }
}

#[test]
fn refusals_are_typed() {
    let engines = migrated("outcome_refusals_are_typed");
    for (name, store) in &engines.stores {
        let missing = MemoryId::generate();
        let err = store
            .append_outcome_event(event(missing, EventType::Success, AT), None)
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UnknownMemoryVersion { version: 1, .. }),
            "{name}: {err:?}"
        );
        let a = memory(store);
        let mut wrong_version = event(a, EventType::Success, AT);
        wrong_version.version = 2;
        assert!(
            matches!(
                store.append_outcome_event(wrong_version, None),
                Err(StoreError::UnknownMemoryVersion { version: 2, .. })
            ),
            "{name}"
        );
        let mut no_ruleset = event(a, EventType::Success, AT);
        no_ruleset.ruleset_version = 9;
        assert!(
            matches!(
                store.append_outcome_event(no_ruleset, None),
                Err(StoreError::UnknownRuleset { version: 9 })
            ),
            "{name}"
        );
        let mut blank = event(a, EventType::Success, AT);
        blank.writer = " ".into();
        assert!(
            matches!(
                store.append_outcome_event(blank, None),
                Err(StoreError::Outcome(OutcomeError::InvalidEvent(_)))
            ),
            "{name}"
        );
        let first = store
            .append_outcome_event(event(a, EventType::Success, AT), None)
            .unwrap();
        assert_eq!(first.event_seq, 1, "{name}: refused events take no number");
        let mut duplicate = event(a, EventType::Success, AT);
        duplicate.event_id = Some(first.event_id.parse().unwrap());
        assert!(
            store.append_outcome_event(duplicate, None).is_err(),
            "{name}"
        );
        assert_eq!(store.outcome_events(a, 1, None).unwrap().len(), 1, "{name}");
        let next = store
            .append_outcome_event(event(a, EventType::Failure, AT), None)
            .unwrap();
        assert_eq!(next.event_seq, 2, "{name}: numbering stays gap-free");
    }
}

#[test]
fn replay_gives_the_reference_snapshot_and_is_idempotent() {
    let engines = migrated("replay_gives_the_reference_snapshot_and_is_idempotent");
    let a = shared_memory(&engines.stores);
    let mut snapshots = Vec::new();
    for (name, store) in &engines.stores {
        for _ in 0..3 {
            log(store, a, EventType::Success);
        }
        assert_eq!(store.trust_snapshot(a, 1).unwrap(), None, "{name}");
        let report = store.replay_outcomes(None, None).unwrap();
        assert_eq!(
            (
                report.projected_keys,
                report.processed_events,
                report.last_event_seq
            ),
            (1, 3, 3),
            "{name}"
        );
        let first = store.trust_snapshot(a, 1).unwrap().unwrap();
        assert_eq!(first.confidence_effective, 0.730_527_34_f32, "{name}");
        assert_eq!(first.trust_status, TrustStatus::Validated, "{name}");
        store.replay_outcomes(None, None).unwrap();
        store.replay_outcomes(Some(2), None).unwrap();
        assert_eq!(
            store.trust_snapshot(a, 1).unwrap().unwrap(),
            first,
            "{name}"
        );
        snapshots.push((*name, content(Some(first))));
    }
    same(&snapshots);
}

#[test]
fn partial_replay_does_not_hide_lag() {
    let engines = migrated("partial_replay_does_not_hide_lag");
    let (a, b) = (
        shared_memory(&engines.stores),
        shared_memory(&engines.stores),
    );
    let mut reports = Vec::new();
    for (name, store) in &engines.stores {
        for _ in 0..3 {
            log(store, a, EventType::Success);
        }
        log(store, b, EventType::Failure);
        let before = store.projector_status().unwrap();
        assert_eq!(
            (before.lag_events, before.stale_trust_rows),
            (4, 2),
            "{name}"
        );
        store.replay_outcomes(Some(4), None).unwrap();
        let status = store.projector_status().unwrap();
        assert_eq!(status.stale_trust_rows, 1, "{name}");
        assert_eq!(status.keys_with_events_no_trust_row, 1, "{name}");
        assert_eq!(status.projected_event_seq, 0, "{name}");
        assert_eq!(status.lag_events, 4, "{name}");
        assert_eq!(status.max_stale_seq_gap, 3, "{name}");
        let stale = store.stale_trust_keys(Some(25)).unwrap();
        assert_eq!(stale.len(), 1, "{name}");
        assert_eq!(stale[0].memory_id, a.to_string(), "{name}");
        store.replay_outcomes(None, None).unwrap();
        let healthy = store.projector_status().unwrap();
        assert_eq!(
            (healthy.lag_events, healthy.stale_trust_rows),
            (0, 0),
            "{name}"
        );
        assert_eq!(healthy.projected_event_seq, 4, "{name}");
        assert_eq!((healthy.tracked_keys, healthy.trust_rows), (2, 2), "{name}");
        log(store, b, EventType::Success);
        let lagging = store.projector_status().unwrap();
        assert_eq!(lagging.lag_events, 1, "{name}");
        reports.push((
            *name,
            (
                stale,
                store.stale_trust_keys(None).unwrap(),
                ProjectorStatus {
                    updated_at: None,
                    ..lagging
                },
            ),
        ));
    }
    same(&reports);
}

#[test]
fn events_list_keeps_the_newest_in_order() {
    let engines = migrated("events_list_keeps_the_newest_in_order");
    let a = shared_memory(&engines.stores);
    for (name, store) in &engines.stores {
        let seqs: Vec<i64> = (0..4).map(|_| log(store, a, EventType::Unknown)).collect();
        let listed: Vec<i64> = store
            .outcome_events(a, 1, Some(2))
            .unwrap()
            .iter()
            .map(|e| e.event_seq)
            .collect();
        assert_eq!(listed, seqs[2..], "{name}");
        assert_eq!(store.outcome_events(a, 1, None).unwrap().len(), 4, "{name}");
        assert!(
            store.outcome_events(a, 2, None).unwrap().is_empty(),
            "{name}"
        );
    }
}

#[test]
fn gate_at_a_past_instant_sees_only_events_that_had_occurred() {
    let engines = migrated("gate_at_a_past_instant_sees_only_events_that_had_occurred");
    let a = shared_memory(&engines.stores);
    let mut verdicts = Vec::new();
    for (name, store) in &engines.stores {
        for _ in 0..3 {
            log(store, a, EventType::Success);
        }
        for _ in 0..3 {
            store
                .append_outcome_event(event(a, EventType::Failure, "2026-03-01T00:00:00Z"), None)
                .unwrap();
        }
        store.replay_outcomes(None, None).unwrap();
        let at = |t: &str| {
            store
                .gate_preview(GateMode::Safe, ts(t), None, &[key(a)])
                .unwrap()
        };
        assert_eq!(
            at("2026-02-08T00:00:00Z")[0].reason_codes,
            [reason::SAFE_VALIDATED],
            "{name}"
        );
        assert_eq!(
            at("2026-03-02T00:00:00Z")[0].reason_codes,
            [reason::SAFE_EXCLUDED],
            "{name}"
        );
        assert_eq!(
            at("2026-01-01T00:00:00Z")[0].reason_codes,
            [reason::NO_TRUST_SNAPSHOT],
            "{name}"
        );
        let none = store
            .gate_preview(
                GateMode::Exploration,
                ts(AT),
                Some("x"),
                &[key(MemoryId::generate())],
            )
            .unwrap();
        assert_eq!(none[0].reason_codes, [reason::NO_TRUST_SNAPSHOT], "{name}");
        let past = store
            .trust_snapshot_at(key(a), ts("2026-02-08T00:00:00Z"))
            .unwrap();
        verdicts.push((
            *name,
            (
                store
                    .gate_verdicts(
                        GateMode::Safe,
                        ts("2026-03-02T00:00:00Z"),
                        None,
                        &[key(a), key(a)],
                    )
                    .unwrap(),
                content(past),
            ),
        ));
    }
    same(&verdicts);
}

#[test]
fn replay_of_the_same_events_in_another_file_gives_identical_rows() {
    let engines = migrated("replay_of_the_same_events_in_another_file_gives_identical_rows");
    let (a, b) = (
        shared_memory(&engines.stores),
        shared_memory(&engines.stores),
    );
    let mut rows = Vec::new();
    for (name, store) in &engines.stores {
        for (i, t) in [
            EventType::Success,
            EventType::Ignored,
            EventType::Failure,
            EventType::Success,
        ]
        .iter()
        .enumerate()
        {
            log(store, if i % 2 == 0 { a } else { b }, *t);
            store.replay_outcomes(Some(1), None).unwrap();
        }
        let incremental = (
            content(store.trust_snapshot(a, 1).unwrap()),
            content(store.trust_snapshot(b, 1).unwrap()),
        );
        store.replay_outcomes(None, None).unwrap();
        assert_eq!(
            (
                content(store.trust_snapshot(a, 1).unwrap()),
                content(store.trust_snapshot(b, 1).unwrap())
            ),
            incremental,
            "{name}"
        );
        rows.push((*name, incremental));
    }
    same(&rows);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn incremental_and_full_replay_agree(kinds in prop::collection::vec((0..9usize, any::<bool>()), 1..30)) {
        let (_dir, path) = temp_db();
        let store = migrated_store(&path);
        let keys = [memory(&store), memory(&store)];
        for (i, (kind, which)) in kinds.iter().enumerate() {
            let mut e = event(keys[usize::from(*which)], EventType::ALL[*kind], AT);
            e.manual_confidence = Some(0.42);
            store.append_outcome_event(e, None).unwrap();
            if i % 3 == 0 {
                store.replay_outcomes(Some(i64::try_from(i).unwrap()), None).unwrap();
            }
        }
        store.replay_outcomes(Some(1), None).unwrap();
        let partial: Vec<_> = keys.iter().map(|k| store.trust_snapshot(*k, 1).unwrap()).collect();
        store.replay_outcomes(None, None).unwrap();
        let full: Vec<_> = keys.iter().map(|k| store.trust_snapshot(*k, 1).unwrap()).collect();
        prop_assert_eq!(partial, full);
        prop_assert_eq!(store.projector_status().unwrap().lag_events, 0);
    }
}
