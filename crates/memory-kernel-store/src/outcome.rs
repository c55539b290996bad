//! The trust layer's tables (`outcome_rulesets`, `outcome_events`, `memory_trust`,
//! `outcome_projection_state`, named as the original MemoryKernel named them, because other
//! tools read them directly) and every operation on them, on both engines: each statement is
//! written once (`crate::sql`). The rules themselves live in `memory-kernel-outcome`; this
//! module only stores, reads and replays. See `docs/spec/outcome.md`.

use std::collections::BTreeMap;

use memory_kernel_core::{MemoryId, Timestamp, ValidationError};
use memory_kernel_outcome::{
    Candidate, EventType, GateDecision, GateMode, NewOutcomeEvent, OutcomeEvent, PROJECTOR_NAME,
    RULESET_V1, Ruleset, Severity, TrustSnapshot, TrustStatus, decay_as_of, decide, project,
};
use rusqlite::types::Value;
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::rows::Cells;
use crate::snapshot::SnapshotError;
use crate::sql::{Engine, Lite, Sql};
use crate::store::Store;

/// The SQL of schema version 3: the four outcome tables, their indexes, the append-only
/// triggers on events, the built-in ruleset and the projector's state row.
pub(crate) fn schema_sql() -> String {
    let event_types: Vec<String> = EventType::ALL
        .iter()
        .map(|t| format!("'{}'", t.as_str()))
        .collect();
    let statuses: Vec<String> = TrustStatus::ALL
        .iter()
        .map(|t| format!("'{}'", t.as_str()))
        .collect();
    let severities: Vec<String> = Severity::ALL
        .iter()
        .map(|t| format!("'{}'", t.as_str()))
        .collect();
    let ruleset_json = RULESET_V1.to_json().replace('\'', "''");
    format!(
        "
CREATE TABLE outcome_rulesets (
    ruleset_version INTEGER PRIMARY KEY,
    ruleset_json    TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE outcome_events (
    event_seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id          TEXT NOT NULL UNIQUE,
    ruleset_version   INTEGER NOT NULL REFERENCES outcome_rulesets (ruleset_version),
    memory_id         TEXT NOT NULL,
    version           INTEGER NOT NULL CHECK (version >= 1),
    event_type        TEXT NOT NULL CHECK (event_type IN ({event_types})),
    occurred_at       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL,
    writer            TEXT NOT NULL,
    justification     TEXT NOT NULL,
    context_id        TEXT,
    edited            INTEGER NOT NULL DEFAULT 0 CHECK (edited IN (0, 1)),
    escalated         INTEGER NOT NULL DEFAULT 0 CHECK (escalated IN (0, 1)),
    severity          TEXT CHECK (severity IN ({severities}) OR severity IS NULL),
    manual_confidence REAL CHECK ((manual_confidence >= 0.0 AND manual_confidence <= 1.0)
                                  OR manual_confidence IS NULL),
    override_cap      INTEGER NOT NULL DEFAULT 0 CHECK (override_cap IN (0, 1)),
    payload_json      TEXT NOT NULL DEFAULT '{{}}',
    FOREIGN KEY (memory_id, version) REFERENCES mk_memory_records (memory_id, version)
);
CREATE INDEX idx_outcome_events_memory_version_seq
    ON outcome_events (memory_id, version, event_seq);
CREATE INDEX idx_outcome_events_type_seq ON outcome_events (event_type, event_seq);
CREATE INDEX idx_outcome_events_context_seq ON outcome_events (context_id, event_seq);
CREATE TRIGGER trg_outcome_events_no_update BEFORE UPDATE ON outcome_events
BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only'); END;
CREATE TRIGGER trg_outcome_events_no_delete BEFORE DELETE ON outcome_events
BEGIN SELECT RAISE(ABORT, 'outcome_events is append-only'); END;

CREATE TABLE memory_trust (
    memory_id                TEXT NOT NULL,
    version                  INTEGER NOT NULL,
    confidence_raw           REAL NOT NULL CHECK (confidence_raw BETWEEN 0.0 AND 1.0),
    confidence_effective     REAL NOT NULL CHECK (confidence_effective BETWEEN 0.0 AND 1.0),
    baseline_confidence      REAL NOT NULL CHECK (baseline_confidence BETWEEN 0.0 AND 1.0),
    trust_status             TEXT NOT NULL CHECK (trust_status IN ({statuses})),
    contradiction_cap_active INTEGER NOT NULL CHECK (contradiction_cap_active IN (0, 1)),
    cap_value                REAL NOT NULL CHECK (cap_value BETWEEN 0.0 AND 1.0),
    manual_override_active   INTEGER NOT NULL CHECK (manual_override_active IN (0, 1)),
    wins_last5               INTEGER NOT NULL CHECK (wins_last5 >= 0),
    failures_last5           INTEGER NOT NULL CHECK (failures_last5 >= 0),
    last_event_seq           INTEGER NOT NULL,
    last_ruleset_version     INTEGER NOT NULL,
    last_scored_at           TEXT,
    updated_at               TEXT NOT NULL,
    PRIMARY KEY (memory_id, version)
);
CREATE INDEX idx_memory_trust_gate
    ON memory_trust (trust_status, confidence_effective DESC, contradiction_cap_active);

CREATE TABLE outcome_projection_state (
    projector_name  TEXT PRIMARY KEY,
    ruleset_version INTEGER NOT NULL,
    last_event_seq  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL
);

INSERT INTO outcome_rulesets (ruleset_version, ruleset_json, created_at)
    VALUES (1, '{ruleset_json}', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
INSERT INTO outcome_projection_state (projector_name, ruleset_version, last_event_seq, updated_at)
    VALUES ('{PROJECTOR_NAME}', 1, 0, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
",
        event_types = event_types.join(", "),
        severities = severities.join(", "),
        statuses = statuses.join(", "),
    )
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutcomeReplay {
    /// Keys whose snapshot was rebuilt.
    pub projected_keys: u64,
    /// Events read (whole streams of the keys, older events included).
    pub processed_events: u64,
    /// The newest event sequence number (0 without events).
    pub last_event_seq: i64,
}

/// The projector's health, read without writing. Field order is the output's key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectorStatus {
    /// The projector's name (`trust_v0`).
    pub projector_name: String,
    /// The ruleset recorded in the projector's state.
    pub ruleset_version: u32,
    /// Every event up to this sequence number is reflected in its key's snapshot.
    pub projected_event_seq: i64,
    /// The newest event sequence number (0 without events).
    pub latest_event_seq: i64,
    /// `latest_event_seq - projected_event_seq`, never negative.
    pub lag_events: i64,
    /// The same as `lag_events` (kept for readers of the original's output).
    pub lag_delta_events: i64,
    /// Distinct (memory_id, version) keys with events.
    pub tracked_keys: u64,
    /// Rows of `memory_trust`.
    pub trust_rows: u64,
    /// Keys whose snapshot is missing or older than their newest event.
    pub stale_trust_rows: u64,
    /// Keys with events and no snapshot.
    pub keys_with_events_no_trust_row: u64,
    /// Snapshots of keys without events.
    pub trust_rows_without_events: u64,
    /// The largest gap, over stale keys, between newest event and snapshot.
    pub max_stale_seq_gap: i64,
    /// When the projector's state was last written.
    pub updated_at: Option<String>,
}

/// A key whose snapshot is missing or out of date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleKey {
    /// The memory.
    pub memory_id: String,
    /// The version.
    pub version: u32,
    /// The key's newest event.
    pub max_event_seq: i64,
    /// The event its snapshot reflects, if it has one.
    pub projected_event_seq: Option<i64>,
}

/// The outcome memory's tables, named as the original named them.
pub(crate) const RULESETS: &str = "outcome_rulesets";
pub(crate) const EVENTS: &str = "outcome_events";
pub(crate) const TRUST: &str = "memory_trust";
pub(crate) const PROJECTION: &str = "outcome_projection_state";
/// All four.
pub(crate) const TABLES: [&str; 4] = [RULESETS, EVENTS, TRUST, PROJECTION];

pub(crate) const EVENT_COLUMNS: &str = "event_seq, event_id, ruleset_version, memory_id, version, \
    event_type, occurred_at, recorded_at, writer, justification, context_id, edited, \
    escalated, severity, manual_confidence, override_cap, payload_json";

/// The columns of `memory_trust`, in the order [`trust_from`] reads them; the first two are
/// the key.
pub(crate) const TRUST_COLUMNS: &str = "memory_id, version, confidence_raw, \
    confidence_effective, baseline_confidence, trust_status, contradiction_cap_active, \
    cap_value, manual_override_active, wins_last5, failures_last5, last_event_seq, \
    last_ruleset_version, last_scored_at, updated_at";

fn corrupt(key: impl Into<String>, detail: impl std::fmt::Display) -> StoreError {
    StoreError::CorruptRow {
        key: key.into(),
        detail: detail.to_string(),
    }
}

fn parse_ts(key: &str, text: &str) -> Result<Timestamp> {
    text.parse::<Timestamp>().map_err(|e| corrupt(key, e))
}

fn parse_u32(key: &str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|e| corrupt(key, e))
}

/// Stored REALs hold the `f64` widening of an `f32`, so narrowing is exact.
#[allow(clippy::cast_possible_truncation)]
const fn narrow(value: f64) -> f32 {
    value as f32
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

fn int(value: impl Into<i64>) -> Value {
    Value::Integer(value.into())
}

/// Flags are stored as 0 or 1 on both engines, as the original stored them.
fn flag(value: bool) -> Value {
    Value::Integer(i64::from(value))
}

fn opt_text(value: Option<impl Into<String>>) -> Value {
    value.map_or(Value::Null, text)
}

/// A `LIMIT` value: the limit, or no limit.
fn limit_value(limit: Option<u32>) -> Value {
    Value::Integer(limit.map_or(i64::MAX, i64::from))
}

/// Decodes one row of [`EVENT_COLUMNS`].
fn event_from(row: &dyn Cells) -> Result<OutcomeEvent> {
    let event_seq = row.int(0)?;
    let key = format!("outcome_events#{event_seq}");
    let bad = |e: ValidationError| corrupt(key.clone(), e);
    Ok(OutcomeEvent {
        event_seq,
        event_id: row.text(1)?,
        ruleset_version: parse_u32(&key, row.int(2)?)?,
        memory_id: row.text(3)?.parse().map_err(bad)?,
        version: parse_u32(&key, row.int(4)?)?,
        event_type: row.text(5)?.parse().map_err(bad)?,
        occurred_at: parse_ts(&key, &row.text(6)?)?,
        recorded_at: parse_ts(&key, &row.text(7)?)?,
        writer: row.text(8)?,
        justification: row.text(9)?,
        context_id: row.opt_text(10)?,
        edited: row.int(11)? != 0,
        escalated: row.int(12)? != 0,
        severity: row
            .opt_text(13)?
            .map(|s| s.parse::<Severity>())
            .transpose()
            .map_err(bad)?,
        manual_confidence: row.opt_real(14)?.map(narrow),
        override_cap: row.int(15)? != 0,
        payload_json: serde_json::from_str(&row.text(16)?).map_err(|e| corrupt(key.clone(), e))?,
    })
}

/// The values of [`EVENT_COLUMNS`] after `event_seq`, as `?1`..`?16`.
fn event_values(event: &OutcomeEvent) -> Vec<Value> {
    vec![
        text(event.event_id.clone()),
        int(event.ruleset_version),
        text(event.memory_id.to_string()),
        int(event.version),
        text(event.event_type.as_str()),
        text(event.occurred_at.to_string()),
        text(event.recorded_at.to_string()),
        text(event.writer.clone()),
        text(event.justification.clone()),
        opt_text(event.context_id.clone()),
        flag(event.edited),
        flag(event.escalated),
        opt_text(event.severity.map(Severity::as_str)),
        event
            .manual_confidence
            .map_or(Value::Null, |c| Value::Real(f64::from(c))),
        flag(event.override_cap),
        text(event.payload_json.to_string()),
    ]
}

fn query_events(db: &mut dyn Sql, sql: &str, values: &[Value]) -> Result<Vec<OutcomeEvent>> {
    db.rows(sql, values, event_from)
}

fn key_events(db: &mut dyn Sql, memory_id: MemoryId, version: u32) -> Result<Vec<OutcomeEvent>> {
    query_events(
        db,
        &format!(
            "SELECT {EVENT_COLUMNS} FROM outcome_events WHERE memory_id = ?1 AND version = ?2 \
             ORDER BY event_seq"
        ),
        &[text(memory_id.to_string()), int(version)],
    )
}

/// Every stored ruleset, decoded and validated.
fn load_rulesets(db: &mut dyn Sql) -> Result<BTreeMap<u32, Ruleset>> {
    let mut map = BTreeMap::new();
    for stored in all_rulesets(db)? {
        let ruleset = Ruleset::from_json(stored.ruleset_version, &stored.ruleset_json)?;
        map.insert(stored.ruleset_version, ruleset);
    }
    Ok(map)
}

/// Decodes one row of [`TRUST_COLUMNS`].
fn trust_from(row: &dyn Cells) -> Result<TrustSnapshot> {
    let memory_id = row.text(0)?;
    let version = row.int(1)?;
    let key = format!("memory_trust#{memory_id}:{version}");
    let status_text = row.text(5)?;
    let status = TrustStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str() == status_text)
        .ok_or_else(|| corrupt(key.clone(), format!("trust_status {status_text}")))?;
    Ok(TrustSnapshot {
        memory_id: memory_id
            .parse()
            .map_err(|e: ValidationError| corrupt(key.clone(), e))?,
        version: parse_u32(&key, version)?,
        confidence_raw: narrow(row.real(2)?),
        confidence_effective: narrow(row.real(3)?),
        baseline_confidence: narrow(row.real(4)?),
        trust_status: status,
        contradiction_cap_active: row.int(6)? != 0,
        cap_value: narrow(row.real(7)?),
        manual_override_active: row.int(8)? != 0,
        wins_last5: parse_u32(&key, row.int(9)?)?,
        failures_last5: parse_u32(&key, row.int(10)?)?,
        last_event_seq: row.int(11)?,
        last_ruleset_version: parse_u32(&key, row.int(12)?)?,
        last_scored_at: row.opt_text(13)?.map(|t| parse_ts(&key, &t)).transpose()?,
        updated_at: parse_ts(&key, &row.text(14)?)?,
    })
}

fn snapshot(db: &mut dyn Sql, memory_id: MemoryId, version: u32) -> Result<Option<TrustSnapshot>> {
    db.first(
        &format!(
            "SELECT {} FROM memory_trust WHERE memory_id = ?1 AND version = ?2",
            TRUST_COLUMNS
        ),
        &[text(memory_id.to_string()), int(version)],
        trust_from,
    )
}

/// Stores `s` as its key's snapshot, replacing any older one.
fn upsert_snapshot(db: &mut dyn Sql, s: &TrustSnapshot) -> Result<()> {
    let columns: Vec<&str> = TRUST_COLUMNS.split(',').map(str::trim).collect();
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = columns[2..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    db.execute(
        &format!(
            "INSERT INTO memory_trust ({}) VALUES ({}) \
             ON CONFLICT (memory_id, version) DO UPDATE SET {}",
            TRUST_COLUMNS,
            placeholders.join(", "),
            updates.join(", ")
        ),
        &[
            text(s.memory_id.to_string()),
            int(s.version),
            Value::Real(f64::from(s.confidence_raw)),
            Value::Real(f64::from(s.confidence_effective)),
            Value::Real(f64::from(s.baseline_confidence)),
            text(s.trust_status.as_str()),
            flag(s.contradiction_cap_active),
            Value::Real(f64::from(s.cap_value)),
            flag(s.manual_override_active),
            int(s.wins_last5),
            int(s.failures_last5),
            int(s.last_event_seq),
            int(s.last_ruleset_version),
            opt_text(s.last_scored_at.map(|t| t.to_string())),
            text(s.updated_at.to_string()),
        ],
    )
}

fn stale_keys(db: &mut dyn Sql, limit: Option<u32>) -> Result<Vec<StaleKey>> {
    db.rows(
        "WITH k AS (SELECT memory_id, version, MAX(event_seq) AS max_seq \
                    FROM outcome_events GROUP BY memory_id, version) \
         SELECT k.memory_id, k.version, k.max_seq, t.last_event_seq \
         FROM k LEFT JOIN memory_trust t ON t.memory_id = k.memory_id AND t.version = k.version \
         WHERE t.last_event_seq IS NULL OR t.last_event_seq < k.max_seq \
         ORDER BY k.memory_id, k.version LIMIT ?1",
        &[limit_value(limit)],
        |row| {
            let memory_id = row.text(0)?;
            Ok(StaleKey {
                version: parse_u32(&memory_id, row.int(1)?)?,
                memory_id,
                max_event_seq: row.int(2)?,
                projected_event_seq: row.opt_int(3)?,
            })
        },
    )
}

/// The largest sequence number up to which every event is reflected in its key's snapshot:
/// one before the oldest event that no snapshot reflects yet, or the newest event when every
/// snapshot is current.
fn consistent_seq(db: &mut dyn Sql) -> Result<i64> {
    db.int(
        "SELECT COALESCE(
            (SELECT MIN(e.event_seq) - 1 FROM outcome_events e
             LEFT JOIN memory_trust t ON t.memory_id = e.memory_id AND t.version = e.version
             WHERE t.last_event_seq IS NULL OR e.event_seq > t.last_event_seq),
            (SELECT MAX(event_seq) FROM outcome_events),
            0)",
        &[],
    )
}

fn latest_seq(db: &mut dyn Sql) -> Result<i64> {
    db.int(
        "SELECT COALESCE(MAX(event_seq), 0) FROM outcome_events",
        &[],
    )
}

fn count(db: &mut dyn Sql, sql: &str) -> Result<u64> {
    Ok(u64::try_from(db.int(sql, &[])?).unwrap_or(0))
}

/// The projector's state row: its ruleset, how far it has projected, when it was written.
struct ProjectorState {
    ruleset_version: i64,
    last_event_seq: i64,
    updated_at: String,
}

fn status(db: &mut dyn Sql) -> Result<ProjectorStatus> {
    let state = projector_state(db)?;
    let latest = latest_seq(db)?;
    // Never claim more than the snapshots show: an event appended or left unprojected after
    // the last replay counts as lag, whatever the state row says.
    let recorded = state.as_ref().map_or(0, |s| s.last_event_seq);
    let projected = recorded.min(consistent_seq(db)?);
    let lag = (latest - projected).max(0);
    let stale = stale_keys(db, None)?;
    let max_gap = stale
        .iter()
        .map(|k| k.max_event_seq - k.projected_event_seq.unwrap_or(0))
        .max()
        .unwrap_or(0);
    Ok(ProjectorStatus {
        projector_name: PROJECTOR_NAME.to_owned(),
        ruleset_version: state.as_ref().map_or(Ok(1), |s| {
            parse_u32("outcome_projection_state", s.ruleset_version)
        })?,
        projected_event_seq: projected,
        latest_event_seq: latest,
        lag_events: lag,
        lag_delta_events: lag,
        tracked_keys: count(
            db,
            "SELECT COUNT(*) FROM \
             (SELECT 1 AS one FROM outcome_events GROUP BY memory_id, version) AS k",
        )?,
        trust_rows: count(db, "SELECT COUNT(*) FROM memory_trust")?,
        stale_trust_rows: u64::try_from(stale.len()).unwrap_or(u64::MAX),
        keys_with_events_no_trust_row: u64::try_from(
            stale
                .iter()
                .filter(|k| k.projected_event_seq.is_none())
                .count(),
        )
        .unwrap_or(u64::MAX),
        trust_rows_without_events: count(
            db,
            "SELECT COUNT(*) FROM memory_trust t WHERE NOT EXISTS (SELECT 1 FROM outcome_events e \
             WHERE e.memory_id = t.memory_id AND e.version = t.version)",
        )?,
        max_stale_seq_gap: max_gap,
        updated_at: state.map(|s| s.updated_at),
    })
}

/// The snapshot of `candidate` as the gate sees it at `as_of`: the stored snapshot when no
/// event it reflects occurred after `as_of`, otherwise a fold of only the events that had
/// occurred by then (none: no snapshot). Decay is applied on top.
fn snapshot_at(
    db: &mut dyn Sql,
    rulesets: &BTreeMap<u32, Ruleset>,
    candidate: Candidate,
    as_of: Timestamp,
) -> Result<Option<TrustSnapshot>> {
    let Some(stored) = snapshot(db, candidate.memory_id, candidate.version)? else {
        return Ok(None);
    };
    let times = db.rows(
        "SELECT occurred_at FROM outcome_events \
         WHERE memory_id = ?1 AND version = ?2 AND event_seq <= ?3",
        &[
            text(candidate.memory_id.to_string()),
            int(candidate.version),
            int(stored.last_event_seq),
        ],
        |row| row.text(0),
    )?;
    let mut later = false;
    for time in &times {
        if parse_ts("outcome_events", time)? > as_of {
            later = true;
            break;
        }
    }
    let current = if later {
        let events: Vec<OutcomeEvent> = key_events(db, candidate.memory_id, candidate.version)?
            .into_iter()
            .filter(|e| e.event_seq <= stored.last_event_seq && e.occurred_at <= as_of)
            .collect();
        match project(&events, rulesets)? {
            Some(s) => s,
            None => return Ok(None),
        }
    } else {
        stored
    };
    let ruleset = rulesets.get(&current.last_ruleset_version).ok_or(
        memory_kernel_outcome::OutcomeError::MissingRuleset {
            version: current.last_ruleset_version,
        },
    )?;
    Ok(Some(decay_as_of(&current, as_of, ruleset)))
}

/// Whether the memory version is stored.
fn memory_version_exists(db: &mut dyn Sql, memory_id: MemoryId, version: u32) -> Result<bool> {
    Ok(db
        .first(
            "SELECT memory_version_id FROM mk_memory_records \
             WHERE memory_id = ?1 AND version = ?2",
            &[text(memory_id.to_string()), int(version)],
            |_| Ok(()),
        )?
        .is_some())
}

/// Stores `event` under `event_seq`, or under the next sequence number when `None`, after
/// checking that its ruleset and memory version are stored; the number it was stored under.
///
/// # Errors
/// [`StoreError::UnknownRuleset`], [`StoreError::UnknownMemoryVersion`]; the engines' errors
/// (a taken `event_id` or `event_seq`).
fn insert_event(db: &mut dyn Sql, event: &OutcomeEvent, event_seq: Option<i64>) -> Result<i64> {
    if get_ruleset(db, event.ruleset_version)?.is_none() {
        return Err(StoreError::UnknownRuleset {
            version: event.ruleset_version,
        });
    }
    if !memory_version_exists(db, event.memory_id, event.version)? {
        return Err(StoreError::UnknownMemoryVersion {
            memory_id: event.memory_id,
            version: event.version,
        });
    }
    // SQLite numbers by AUTOINCREMENT, which continues a migrated original's sequence;
    // PostgreSQL takes the next number under the writer lock, so no number is skipped.
    let next = match db.engine() {
        Engine::Sqlite => "NULL",
        Engine::Postgres => "(SELECT COALESCE(MAX(event_seq), 0) + 1 FROM outcome_events)",
    };
    let mut values = event_values(event);
    values.push(event_seq.map_or(Value::Null, Value::Integer));
    let stored = db.first(
        &format!(
            "INSERT INTO outcome_events ({EVENT_COLUMNS}) VALUES (COALESCE(?17, {next}), \
             ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
             RETURNING event_seq"
        ),
        &values,
        |row| row.int(0),
    )?;
    stored.ok_or_else(|| corrupt("outcome_events", "an insert returned no sequence number"))
}

/// Rebuilds the snapshots a replay from `from` covers and records how far the snapshots are
/// current.
fn replay(db: &mut dyn Sql, from: Option<i64>) -> Result<OutcomeReplay> {
    let rulesets = load_rulesets(db)?;
    let events = match from {
        None => query_events(
            db,
            &format!(
                "SELECT {EVENT_COLUMNS} FROM outcome_events ORDER BY memory_id, version, event_seq"
            ),
            &[],
        )?,
        Some(from) => query_events(
            db,
            &format!(
                "SELECT {EVENT_COLUMNS} FROM outcome_events e WHERE EXISTS \
                 (SELECT 1 FROM outcome_events f WHERE f.memory_id = e.memory_id \
                  AND f.version = e.version AND f.event_seq >= ?1) \
                 ORDER BY memory_id, version, event_seq"
            ),
            &[int(from)],
        )?,
    };
    let mut report = OutcomeReplay {
        projected_keys: 0,
        processed_events: u64::try_from(events.len()).unwrap_or(u64::MAX),
        last_event_seq: 0,
    };
    for stream in events.chunk_by(|a, b| a.memory_id == b.memory_id && a.version == b.version) {
        if let Some(snapshot) = project(stream, &rulesets)? {
            upsert_snapshot(db, &snapshot)?;
            report.projected_keys += 1;
        }
    }
    report.last_event_seq = latest_seq(db)?;
    let consistent = consistent_seq(db)?;
    db.execute(
        "INSERT INTO outcome_projection_state \
         (projector_name, ruleset_version, last_event_seq, updated_at) \
         VALUES (?1, 1, ?2, ?3) ON CONFLICT (projector_name) DO UPDATE SET \
         last_event_seq = excluded.last_event_seq, updated_at = excluded.updated_at",
        &[
            text(PROJECTOR_NAME),
            int(consistent),
            text(Timestamp::now().to_string()),
        ],
    )?;
    Ok(report)
}

fn gate_verdicts(
    db: &mut dyn Sql,
    mode: GateMode,
    as_of: Timestamp,
    context_id: Option<&str>,
    candidates: &[Candidate],
) -> Result<Vec<(GateDecision, Option<u32>)>> {
    let rulesets = load_rulesets(db)?;
    let default = rulesets.get(&1).copied().unwrap_or(RULESET_V1);
    candidates
        .iter()
        .map(|candidate| {
            let s = snapshot_at(db, &rulesets, *candidate, as_of)?;
            let ruleset = s
                .as_ref()
                .and_then(|s| rulesets.get(&s.last_ruleset_version))
                .copied()
                .unwrap_or(default);
            let decision = decide(*candidate, s.as_ref(), mode, context_id, &ruleset);
            Ok((decision, s.map(|s| s.last_ruleset_version)))
        })
        .collect()
}

impl Store {
    /// Runs `f` on a session of this store's engine whose schema is current (one read-only
    /// snapshot on PostgreSQL).
    fn outcome_read<T>(&self, f: impl FnOnce(&mut dyn Sql) -> Result<T>) -> Result<T> {
        match self.postgres() {
            Some(pg) => pg.read_sql(f),
            None => self.with_current_conn(|conn| f(&mut Lite(conn))),
        }
    }

    /// Runs `f` in one write transaction of this store's engine.
    fn outcome_write<T>(
        &self,
        deadline: Option<std::time::Instant>,
        f: impl FnOnce(&mut dyn Sql) -> Result<T>,
    ) -> Result<T> {
        match self.postgres() {
            Some(pg) => pg.write_sql(deadline, f),
            None => self.write_tx(deadline, |tx| f(&mut Lite(tx))),
        }
    }

    /// Appends one outcome event in its own transaction, after the trust rules accept it,
    /// its ruleset is stored and its memory version exists. Nothing is projected.
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a broken rule, [`StoreError::UnknownRuleset`],
    /// [`StoreError::UnknownMemoryVersion`], a uniqueness conflict on `event_id` as the
    /// engine's error; schema and engine errors.
    pub fn append_outcome_event(
        &self,
        event: NewOutcomeEvent,
        deadline: Option<std::time::Instant>,
    ) -> Result<OutcomeEvent> {
        event.validate()?;
        self.outcome_write(deadline, |db| {
            let stored = event.into_event(0, ulid::Ulid::new(), Timestamp::now());
            let event_seq = insert_event(db, &stored, None)?;
            Ok(OutcomeEvent {
                event_seq,
                ..stored
            })
        })
    }

    /// The events of one key, oldest first; with `limit`, only the newest `limit` of them.
    ///
    /// # Errors
    /// Schema, corrupt-row and engine errors.
    pub fn outcome_events(
        &self,
        memory_id: MemoryId,
        version: u32,
        limit: Option<u32>,
    ) -> Result<Vec<OutcomeEvent>> {
        self.outcome_read(|db| {
            let mut events = query_events(
                db,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM outcome_events \
                     WHERE memory_id = ?1 AND version = ?2 ORDER BY event_seq DESC LIMIT ?3"
                ),
                &[
                    text(memory_id.to_string()),
                    int(version),
                    limit_value(limit),
                ],
            )?;
            events.reverse();
            Ok(events)
        })
    }

    /// Rebuilds the snapshot of every key with events (or, with `from`, of every key with an
    /// event at or after `from`) from the key's whole stream, and records how far the
    /// snapshots are current. One transaction: a replay lands whole or not at all.
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a stored ruleset or stream the rules refuse; schema,
    /// corrupt-row and engine errors.
    pub fn replay_outcomes(
        &self,
        from: Option<i64>,
        deadline: Option<std::time::Instant>,
    ) -> Result<OutcomeReplay> {
        self.outcome_write(deadline, |db| replay(db, from))
    }

    /// The stored snapshot of one key, if replay has built one.
    ///
    /// # Errors
    /// Schema, corrupt-row and engine errors.
    pub fn trust_snapshot(
        &self,
        memory_id: MemoryId,
        version: u32,
    ) -> Result<Option<TrustSnapshot>> {
        self.outcome_read(|db| snapshot(db, memory_id, version))
    }

    /// The snapshot of one key as read at `as_of` (point in time and decay applied).
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and engine errors.
    pub fn trust_snapshot_at(
        &self,
        candidate: Candidate,
        as_of: Timestamp,
    ) -> Result<Option<TrustSnapshot>> {
        self.outcome_read(|db| {
            let rulesets = load_rulesets(db)?;
            snapshot_at(db, &rulesets, candidate, as_of)
        })
    }

    /// The projector's health.
    ///
    /// # Errors
    /// Schema and engine errors.
    pub fn projector_status(&self) -> Result<ProjectorStatus> {
        self.outcome_read(status)
    }

    /// Keys whose snapshot is missing or out of date, ordered by memory_id, version.
    ///
    /// # Errors
    /// Schema and engine errors.
    pub fn stale_trust_keys(&self, limit: Option<u32>) -> Result<Vec<StaleKey>> {
        self.outcome_read(|db| stale_keys(db, limit))
    }

    /// Gate decisions for `candidates` (duplicates kept, order preserved) at `as_of`. The
    /// gate's thresholds come from ruleset 1 unless the candidate's snapshot names another.
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and engine errors.
    pub fn gate_preview(
        &self,
        mode: GateMode,
        as_of: Timestamp,
        context_id: Option<&str>,
        candidates: &[Candidate],
    ) -> Result<Vec<GateDecision>> {
        Ok(self
            .gate_verdicts(mode, as_of, context_id, candidates)?
            .into_iter()
            .map(|(decision, _)| decision)
            .collect())
    }

    /// As [`Store::gate_preview`], each decision with the ruleset of the snapshot it read
    /// (`None` without a snapshot).
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and engine errors.
    pub fn gate_verdicts(
        &self,
        mode: GateMode,
        as_of: Timestamp,
        context_id: Option<&str>,
        candidates: &[Candidate],
    ) -> Result<Vec<(GateDecision, Option<u32>)>> {
        self.outcome_read(|db| gate_verdicts(db, mode, as_of, context_id, candidates))
    }
}

/// A stored ruleset row, as snapshots carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredRuleset {
    /// The ruleset's version.
    pub ruleset_version: u32,
    /// Its parameters, as stored.
    pub ruleset_json: String,
    /// When it was stored.
    pub created_at: String,
}

/// Every ruleset row, by version.
pub(crate) fn all_rulesets(db: &mut dyn Sql) -> Result<Vec<StoredRuleset>> {
    db.rows(
        "SELECT ruleset_version, ruleset_json, created_at FROM outcome_rulesets \
         ORDER BY ruleset_version",
        &[],
        |row| {
            Ok(StoredRuleset {
                ruleset_version: parse_u32("outcome_rulesets", row.int(0)?)?,
                ruleset_json: row.text(1)?,
                created_at: row.text(2)?,
            })
        },
    )
}

/// The stored ruleset `version`, if any.
fn get_ruleset(db: &mut dyn Sql, version: u32) -> Result<Option<String>> {
    db.first(
        "SELECT ruleset_json FROM outcome_rulesets WHERE ruleset_version = ?1",
        &[int(version)],
        |row| row.text(0),
    )
}

/// Every event, by sequence number.
pub(crate) fn all_events(db: &mut dyn Sql) -> Result<Vec<OutcomeEvent>> {
    query_events(
        db,
        &format!("SELECT {EVENT_COLUMNS} FROM outcome_events ORDER BY event_seq"),
        &[],
    )
}

/// Adds a trust history: rulesets, then events under their own sequence numbers. A ruleset already stored with the same parameters is kept (its
/// `created_at` is the target's); an event already stored under its `event_seq` is skipped
/// when it is the same event. Either with different content is refused: the event log is
/// append-only, so two different histories cannot be merged by skipping one. Snapshots are
/// not written; a replay rebuilds them from the events.
///
/// # Errors
/// [`SnapshotError::ConflictingRuleset`], [`SnapshotError::ConflictingEvent`],
/// [`StoreError::UnknownMemoryVersion`] for an event whose record is not stored; the engines'
/// errors.
fn add_history(
    db: &mut dyn Sql,
    rulesets: &[StoredRuleset],
    events: &[OutcomeEvent],
) -> Result<()> {
    for ruleset in rulesets {
        match get_ruleset(db, ruleset.ruleset_version)? {
            None => db.execute(
                "INSERT INTO outcome_rulesets (ruleset_version, ruleset_json, created_at) \
                 VALUES (?1, ?2, ?3)",
                &[
                    int(ruleset.ruleset_version),
                    text(ruleset.ruleset_json.clone()),
                    text(ruleset.created_at.clone()),
                ],
            )?,
            Some(stored) if stored == ruleset.ruleset_json => {}
            Some(_) => {
                return Err(SnapshotError::ConflictingRuleset {
                    version: ruleset.ruleset_version,
                }
                .into());
            }
        }
    }
    for event in events {
        let stored = query_events(
            db,
            &format!("SELECT {EVENT_COLUMNS} FROM outcome_events WHERE event_seq = ?1"),
            &[int(event.event_seq)],
        )?
        .pop();
        match stored {
            None => {
                insert_event(db, event, Some(event.event_seq))?;
            }
            Some(stored) if stored == *event => {}
            Some(_) => {
                return Err(SnapshotError::ConflictingEvent {
                    event_seq: event.event_seq,
                }
                .into());
            }
        }
    }
    Ok(())
}

/// The whole trust layer of a store, as `mk db copy` carries it: the rows themselves, the
/// projector's snapshots and state included, so the copy answers exactly as the source. A
/// snapshot file carries only the history (rulesets and events).
#[derive(Default)]
pub(crate) struct TrustLayer {
    pub(crate) rulesets: Vec<StoredRuleset>,
    pub(crate) events: Vec<OutcomeEvent>,
    pub(crate) snapshots: Vec<TrustSnapshot>,
    state: Option<ProjectorState>,
}

impl TrustLayer {
    /// Only a history: rulesets and events, which a replay turns into snapshots.
    pub(crate) const fn history(rulesets: Vec<StoredRuleset>, events: Vec<OutcomeEvent>) -> Self {
        Self {
            rulesets,
            events,
            snapshots: Vec::new(),
            state: None,
        }
    }

    /// The projector's state as digested: how far it had projected, under which ruleset.
    pub(crate) fn projected(&self) -> Option<(i64, i64)> {
        self.state
            .as_ref()
            .map(|s| (s.ruleset_version, s.last_event_seq))
    }
}

/// Writes a trust layer read elsewhere: rulesets and events by the rules of [`add_history`],
/// then its trust snapshots and the projector's position as they were (a copy's; a snapshot
/// file has neither).
pub(crate) fn add_trust_layer(db: &mut dyn Sql, layer: &TrustLayer) -> Result<()> {
    add_history(db, &layer.rulesets, &layer.events)?;
    for snapshot in &layer.snapshots {
        upsert_snapshot(db, snapshot)?;
    }
    if let Some(state) = &layer.state {
        db.execute(
            "INSERT INTO outcome_projection_state \
             (projector_name, ruleset_version, last_event_seq, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (projector_name) DO UPDATE SET \
             ruleset_version = excluded.ruleset_version, \
             last_event_seq = excluded.last_event_seq, updated_at = excluded.updated_at",
            &[
                text(PROJECTOR_NAME),
                int(state.ruleset_version),
                int(state.last_event_seq),
                text(state.updated_at.clone()),
            ],
        )?;
    }
    Ok(())
}

fn projector_state(db: &mut dyn Sql) -> Result<Option<ProjectorState>> {
    db.first(
        "SELECT ruleset_version, last_event_seq, updated_at \
         FROM outcome_projection_state WHERE projector_name = ?1",
        &[text(PROJECTOR_NAME)],
        |row| {
            Ok(ProjectorState {
                ruleset_version: row.int(0)?,
                last_event_seq: row.int(1)?,
                updated_at: row.text(2)?,
            })
        },
    )
}

impl Store {
    /// Reads the whole trust layer in one view of the database.
    pub(crate) fn trust_layer(&self) -> Result<TrustLayer> {
        self.outcome_read(|db| {
            Ok(TrustLayer {
                rulesets: all_rulesets(db)?,
                events: all_events(db)?,
                snapshots: db.rows(
                    &format!(
                        "SELECT {} FROM memory_trust ORDER BY memory_id, version",
                        TRUST_COLUMNS
                    ),
                    &[],
                    trust_from,
                )?,
                state: projector_state(db)?,
            })
        })
    }
}
