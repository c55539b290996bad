//! The original's trust tables in one of its files: a copy of the handbook fixture gets the
//! four tables exactly as the original's migration created them, and rows as the original
//! wrote them (its ruleset JSON, its timestamps, the `f64` widening of its `f32` confidences).
//! `migrate` must carry every row unchanged, value for value and bit for bit, and a replay
//! afterwards must give the very snapshots the original stored.

use memory_kernel_outcome::RULESET_V1;
use memory_kernel_store::{Store, StoreError};
use rusqlite::Connection;
use rusqlite::types::Value;

use super::fixture::{bytes_of, fixture_copy};

/// Two records of the fixture (A has versions 1 and 2, B only 1).
const A: &str = "01M8QFBVG6WNA1FDMHKCCK7MJM";
const B: &str = "01M8QFBV8A9AA9AY0JBHPM35F5";

/// The original's outcome schema (its migration, run on every command).
const ORIGINAL_DDL: &str = "
CREATE TABLE IF NOT EXISTS outcome_rulesets (
    ruleset_version INTEGER PRIMARY KEY,
    ruleset_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outcome_events (
    event_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    ruleset_version INTEGER NOT NULL,
    memory_id TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    event_type TEXT NOT NULL CHECK (event_type IN ('success', 'failure', 'ignored', 'unknown',
        'manual_set_confidence', 'manual_promote', 'manual_retire',
        'authoritative_contradiction', 'inherited')),
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    writer TEXT NOT NULL,
    justification TEXT NOT NULL,
    context_id TEXT,
    edited INTEGER NOT NULL DEFAULT 0 CHECK (edited IN (0, 1)),
    escalated INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
    severity TEXT CHECK (severity IN ('low', 'med', 'high') OR severity IS NULL),
    manual_confidence REAL CHECK ((manual_confidence >= 0.0 AND manual_confidence <= 1.0)
        OR manual_confidence IS NULL),
    override_cap INTEGER NOT NULL DEFAULT 0 CHECK (override_cap IN (0, 1)),
    payload_json TEXT NOT NULL DEFAULT '{}',
    FOREIGN KEY (ruleset_version) REFERENCES outcome_rulesets (ruleset_version),
    FOREIGN KEY (memory_id, version) REFERENCES memory_records (memory_id, version)
);
CREATE TABLE IF NOT EXISTS memory_trust (
    memory_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    confidence_raw REAL NOT NULL CHECK (confidence_raw BETWEEN 0.0 AND 1.0),
    confidence_effective REAL NOT NULL CHECK (confidence_effective BETWEEN 0.0 AND 1.0),
    baseline_confidence REAL NOT NULL CHECK (baseline_confidence BETWEEN 0.0 AND 1.0),
    trust_status TEXT NOT NULL CHECK (trust_status IN ('active', 'validated', 'retired')),
    contradiction_cap_active INTEGER NOT NULL CHECK (contradiction_cap_active IN (0, 1)),
    cap_value REAL NOT NULL CHECK (cap_value BETWEEN 0.0 AND 1.0),
    manual_override_active INTEGER NOT NULL CHECK (manual_override_active IN (0, 1)),
    wins_last5 INTEGER NOT NULL CHECK (wins_last5 BETWEEN 0 AND 5),
    failures_last5 INTEGER NOT NULL CHECK (failures_last5 BETWEEN 0 AND 5),
    last_event_seq INTEGER NOT NULL,
    last_ruleset_version INTEGER NOT NULL,
    last_scored_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (memory_id, version)
);
CREATE TABLE IF NOT EXISTS outcome_projection_state (
    projector_name TEXT PRIMARY KEY,
    ruleset_version INTEGER NOT NULL,
    last_event_seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS trg_outcome_events_no_update BEFORE UPDATE ON outcome_events
BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only'); END;
CREATE TRIGGER IF NOT EXISTS trg_outcome_events_no_delete BEFORE DELETE ON outcome_events
BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only'); END;
CREATE INDEX IF NOT EXISTS idx_outcome_events_memory_version_seq
    ON outcome_events (memory_id, version, event_seq);
CREATE INDEX IF NOT EXISTS idx_outcome_events_type_seq ON outcome_events (event_type, event_seq);
CREATE INDEX IF NOT EXISTS idx_outcome_events_context_seq
    ON outcome_events (context_id, event_seq);
CREATE INDEX IF NOT EXISTS idx_memory_trust_gate
    ON memory_trust (trust_status, confidence_effective DESC, contradiction_cap_active);
INSERT OR IGNORE INTO schema_migrations (version, applied_at) VALUES (2, '2026-02-07T11:59:00Z');
";

/// (seq, id, memory, type, occurred_at, recorded_at, context, payload)
type EventRow = (
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
);

const EVENTS: [EventRow; 4] = [
    (
        1,
        "01KGVN3GY0E4FQ7RPM2K8TW5A1",
        A,
        "success",
        "2026-02-07T12:00:00Z",
        "2026-02-07T12:00:00.25Z",
        Some("run-1:plan"),
        "{\"run\":\"r1\"}",
    ),
    (
        2,
        "01KGVN3GY0E4FQ7RPM2K8TW5A2",
        B,
        "failure",
        "2026-02-07T12:00:01Z",
        "2026-02-07T12:00:01.5Z",
        None,
        "{}",
    ),
    (
        3,
        "01KGVN3GY0E4FQ7RPM2K8TW5A3",
        A,
        "success",
        "2026-02-07T12:00:02Z",
        "2026-02-07T12:00:02.125Z",
        Some("run-1:act"),
        "{}",
    ),
    (
        4,
        "01KGVN3GY0E4FQ7RPM2K8TW5A4",
        A,
        "success",
        "2026-02-07T12:00:03Z",
        "2026-12-01T00:29:32.48534505Z",
        None,
        "{}",
    ),
];

/// Widens an `f32` as the original stored it.
fn real(value: f32) -> f64 {
    f64::from(value)
}

/// Gives the copy at `path` the original's trust tables and rows: events on two versions, the
/// snapshots its replay wrote (the golden values: three successes 0.73052734, one failure
/// 0.402), and its projector state.
fn add_original_outcome_tables(path: &std::path::Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(ORIGINAL_DDL).unwrap();
    conn.execute(
        "INSERT INTO outcome_rulesets VALUES (1, ?1, '2026-02-07T11:59:00.5Z')",
        [RULESET_V1.to_json()],
    )
    .unwrap();
    for (seq, id, memory, kind, occurred, recorded, context, payload) in EVENTS {
        conn.execute(
            "INSERT INTO outcome_events (event_seq, event_id, ruleset_version, memory_id, \
             version, event_type, occurred_at, recorded_at, writer, justification, context_id, \
             payload_json) VALUES (?1, ?2, 1, ?3, 1, ?4, ?5, ?6, 'agent', 'observed', ?7, ?8)",
            rusqlite::params![seq, id, memory, kind, occurred, recorded, context, payload],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO memory_trust VALUES (?1, 1, ?2, ?2, 0.5, 'validated', 0, 1.0, 0, 3, 0, 4, 1, \
         '2026-02-07T12:00:03Z', '2026-12-01T00:29:32.48534505Z')",
        rusqlite::params![A, real(0.730_527_34)],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO memory_trust VALUES (?1, 1, ?2, ?2, 0.5, 'active', 0, 1.0, 0, 0, 1, 2, 1, \
         '2026-02-07T12:00:01Z', '2026-02-07T12:00:01.5Z')",
        rusqlite::params![B, real(0.402)],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO outcome_projection_state VALUES ('trust_v0', 1, 4, '2026-12-01T00:29:33Z')",
        [],
    )
    .unwrap();
}

/// A cell as text, REALs by their bits, so "equal" means the same bits.
fn cell(value: &Value) -> String {
    match value {
        Value::Real(r) => format!("real:{:#018x}", r.to_bits()),
        other => format!("{other:?}"),
    }
}

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |row| {
        (0..width)
            .map(|i| row.get::<_, Value>(i).map(|v| cell(&v)))
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

const SELECT_EVENTS: &str = "SELECT event_seq, event_id, ruleset_version, memory_id, version, \
    event_type, occurred_at, recorded_at, writer, justification, context_id, edited, escalated, \
    severity, manual_confidence, override_cap, payload_json FROM outcome_events ORDER BY event_seq";
const SELECT_TRUST: &str = "SELECT memory_id, version, confidence_raw, confidence_effective, \
    baseline_confidence, trust_status, contradiction_cap_active, cap_value, \
    manual_override_active, wins_last5, failures_last5, last_event_seq, last_ruleset_version, \
    last_scored_at, updated_at FROM memory_trust ORDER BY memory_id, version";
const SELECT_RULESETS: &str =
    "SELECT ruleset_version, ruleset_json, created_at FROM outcome_rulesets ORDER BY 1";
const SELECT_STATE: &str = "SELECT projector_name, ruleset_version, last_event_seq, updated_at \
    FROM outcome_projection_state ORDER BY 1";
const SELECT_SEQUENCE: &str = "SELECT seq FROM sqlite_sequence WHERE name = 'outcome_events'";

fn snapshot(conn: &Connection) -> [Vec<Vec<String>>; 5] {
    [
        rows(conn, SELECT_EVENTS),
        rows(conn, SELECT_TRUST),
        rows(conn, SELECT_RULESETS),
        rows(conn, SELECT_STATE),
        rows(conn, SELECT_SEQUENCE),
    ]
}

#[test]
fn the_originals_trust_tables_are_carried_row_for_row_and_replay_agrees() {
    let (_dir, path) = fixture_copy();
    add_original_outcome_tables(&path);
    let before = snapshot(&Connection::open(&path).unwrap());
    assert_eq!(before[0].len(), 4);
    assert_eq!(before[4], vec![vec!["Integer(4)".to_owned()]]);

    let store = Store::open_existing(&path).unwrap();
    let plan = store.migrate(true).unwrap();
    assert!(plan.inferred_from_legacy);
    let report = store.migrate(false).unwrap();
    assert_eq!(report.up_to_date, Some(true));

    let conn = Connection::open(&path).unwrap();
    let after = snapshot(&conn);
    let names = [
        "events",
        "trust",
        "rulesets",
        "projection state",
        "sequence",
    ];
    for ((name, was), is) in names.iter().zip(&before).zip(&after) {
        assert_eq!(was, is, "{name}");
    }
    // The tables are this schema's now: the events reference mk_memory_records, refuse
    // UPDATE and DELETE, and the original's tables are gone.
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'outcome_events'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("mk_memory_records"), "{sql}");
    let update = conn.execute(
        "UPDATE outcome_events SET writer = 'x' WHERE event_seq = 1",
        [],
    );
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let legacy: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'memory_records'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(legacy, 0);

    // A full replay recomputes the very snapshots the original stored, bit for bit.
    let replay = store.replay_outcomes(None, None).unwrap();
    assert_eq!((replay.projected_keys, replay.last_event_seq), (2, 4));
    assert_eq!(rows(&conn, SELECT_TRUST), before[1]);
    let status = store.projector_status().unwrap();
    assert_eq!((status.lag_events, status.stale_trust_rows), (0, 0));

    // Numbering continues after the original's last event.
    let next = store
        .append_outcome_event(
            memory_kernel_outcome::NewOutcomeEvent {
                event_id: None,
                ruleset_version: 1,
                memory_id: B.parse().unwrap(),
                version: 1,
                event_type: memory_kernel_outcome::EventType::Success,
                occurred_at: "2026-12-01T01:00:00Z".parse().unwrap(),
                writer: "agent".to_owned(),
                justification: "after the migration".to_owned(),
                context_id: None,
                edited: false,
                escalated: false,
                severity: None,
                manual_confidence: None,
                override_cap: false,
                payload_json: serde_json::json!({}),
            },
            None,
        )
        .unwrap();
    assert_eq!(next.event_seq, 5);
}

#[test]
fn an_event_naming_no_record_refuses_the_migration_and_leaves_the_file_untouched() {
    let (_dir, path) = fixture_copy();
    add_original_outcome_tables(&path);
    {
        // The original enforced its foreign key only while its pragma was on.
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.execute(
            "INSERT INTO outcome_events (event_seq, event_id, ruleset_version, memory_id, \
             version, event_type, occurred_at, recorded_at, writer, justification) VALUES \
             (5, '01KGVN3GY0E4FQ7RPM2K8TW5A5', 1, ?1, 3, 'failure', '2026-02-07T12:00:04Z', \
             '2026-02-07T12:00:04Z', 'agent', 'observed')",
            [A],
        )
        .unwrap();
    }
    let before = bytes_of(&path);
    let store = Store::open_existing(&path).unwrap();
    for dry_run in [true, false] {
        match store.migrate(dry_run).unwrap_err() {
            StoreError::LegacyRow { table, key, source } => {
                assert_eq!((table, key.as_str()), ("outcome_events", "5"));
                assert!(
                    matches!(*source, StoreError::UnknownMemoryVersion { version: 3, .. }),
                    "{source:?}"
                );
            }
            other => panic!("expected LegacyRow, got {other:?}"),
        }
    }
    assert!(store.schema_status().unwrap().inferred_from_legacy);
    drop(store);
    assert_eq!(bytes_of(&path), before, "file unchanged");
}
