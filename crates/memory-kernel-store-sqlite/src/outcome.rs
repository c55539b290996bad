//! The trust layer's tables (`outcome_rulesets`, `outcome_events`, `memory_trust`,
//! `outcome_projection_state`, named as the original MemoryKernel named them, because other
//! tools read them directly) and every operation on them. The rules themselves live in
//! `memory-kernel-outcome`; this module only stores, reads and replays. See
//! `docs/spec/outcome.md`.

use std::collections::BTreeMap;

use memory_kernel_core::{MemoryId, Timestamp, ValidationError};
use memory_kernel_outcome::{
    Candidate, EventType, GateDecision, GateMode, NewOutcomeEvent, OutcomeEvent, PROJECTOR_NAME,
    RULESET_V1, Ruleset, Severity, TrustSnapshot, TrustStatus, decay_as_of, decide, project,
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use crate::error::{Result, StoreError};
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

pub(crate) const EVENT_COLUMNS: &str = "event_seq, event_id, ruleset_version, memory_id, version, \
    event_type, occurred_at, recorded_at, writer, justification, context_id, edited, \
    escalated, severity, manual_confidence, override_cap, payload_json";

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

struct RawEvent {
    event_seq: i64,
    event_id: String,
    ruleset_version: i64,
    memory_id: String,
    version: i64,
    event_type: String,
    occurred_at: String,
    recorded_at: String,
    writer: String,
    justification: String,
    context_id: Option<String>,
    edited: bool,
    escalated: bool,
    severity: Option<String>,
    manual_confidence: Option<f64>,
    override_cap: bool,
    payload_json: String,
}

fn raw_event(row: &Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        event_seq: row.get(0)?,
        event_id: row.get(1)?,
        ruleset_version: row.get(2)?,
        memory_id: row.get(3)?,
        version: row.get(4)?,
        event_type: row.get(5)?,
        occurred_at: row.get(6)?,
        recorded_at: row.get(7)?,
        writer: row.get(8)?,
        justification: row.get(9)?,
        context_id: row.get(10)?,
        edited: row.get(11)?,
        escalated: row.get(12)?,
        severity: row.get(13)?,
        manual_confidence: row.get(14)?,
        override_cap: row.get(15)?,
        payload_json: row.get(16)?,
    })
}

impl RawEvent {
    fn into_event(self) -> Result<OutcomeEvent> {
        let key = format!("outcome_events#{}", self.event_seq);
        let bad = |e: ValidationError| corrupt(key.clone(), e);
        Ok(OutcomeEvent {
            event_seq: self.event_seq,
            event_id: self.event_id,
            ruleset_version: parse_u32(&key, self.ruleset_version)?,
            memory_id: self.memory_id.parse().map_err(bad)?,
            version: parse_u32(&key, self.version)?,
            event_type: self.event_type.parse().map_err(bad)?,
            occurred_at: parse_ts(&key, &self.occurred_at)?,
            recorded_at: parse_ts(&key, &self.recorded_at)?,
            writer: self.writer,
            justification: self.justification,
            context_id: self.context_id,
            edited: self.edited,
            escalated: self.escalated,
            severity: self
                .severity
                .map(|s| s.parse::<Severity>())
                .transpose()
                .map_err(bad)?,
            manual_confidence: self.manual_confidence.map(narrow),
            override_cap: self.override_cap,
            payload_json: serde_json::from_str(&self.payload_json)
                .map_err(|e| corrupt(key.clone(), e))?,
        })
    }
}

fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<OutcomeEvent>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map(params, raw_event)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(RawEvent::into_event).collect()
}

fn key_events(conn: &Connection, memory_id: MemoryId, version: u32) -> Result<Vec<OutcomeEvent>> {
    query_events(
        conn,
        &format!(
            "SELECT {EVENT_COLUMNS} FROM outcome_events WHERE memory_id = ?1 AND version = ?2 \
             ORDER BY event_seq"
        ),
        params![memory_id.to_string(), version],
    )
}

/// Every stored ruleset, decoded and validated.
pub(crate) fn load_rulesets(conn: &Connection) -> Result<BTreeMap<u32, Ruleset>> {
    let mut stmt =
        conn.prepare_cached("SELECT ruleset_version, ruleset_json FROM outcome_rulesets")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut map = BTreeMap::new();
    for (version, json) in rows {
        let version = parse_u32("outcome_rulesets", version)?;
        map.insert(version, Ruleset::from_json(version, &json)?);
    }
    Ok(map)
}

struct RawTrust {
    memory_id: String,
    version: i64,
    raw: f64,
    effective: f64,
    baseline: f64,
    status: String,
    cap_active: bool,
    cap_value: f64,
    override_active: bool,
    wins: i64,
    failures: i64,
    last_event_seq: i64,
    last_ruleset_version: i64,
    last_scored_at: Option<String>,
    updated_at: String,
}

const TRUST_COLUMNS: &str = "memory_id, version, confidence_raw, confidence_effective, \
    baseline_confidence, trust_status, contradiction_cap_active, cap_value, \
    manual_override_active, wins_last5, failures_last5, last_event_seq, last_ruleset_version, \
    last_scored_at, updated_at";

fn raw_trust(row: &Row<'_>) -> rusqlite::Result<RawTrust> {
    Ok(RawTrust {
        memory_id: row.get(0)?,
        version: row.get(1)?,
        raw: row.get(2)?,
        effective: row.get(3)?,
        baseline: row.get(4)?,
        status: row.get(5)?,
        cap_active: row.get(6)?,
        cap_value: row.get(7)?,
        override_active: row.get(8)?,
        wins: row.get(9)?,
        failures: row.get(10)?,
        last_event_seq: row.get(11)?,
        last_ruleset_version: row.get(12)?,
        last_scored_at: row.get(13)?,
        updated_at: row.get(14)?,
    })
}

impl RawTrust {
    fn into_snapshot(self) -> Result<TrustSnapshot> {
        let key = format!("memory_trust#{}:{}", self.memory_id, self.version);
        let status = TrustStatus::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == self.status)
            .ok_or_else(|| corrupt(key.clone(), format!("trust_status {}", self.status)))?;
        Ok(TrustSnapshot {
            memory_id: self
                .memory_id
                .parse()
                .map_err(|e: ValidationError| corrupt(key.clone(), e))?,
            version: parse_u32(&key, self.version)?,
            confidence_raw: narrow(self.raw),
            confidence_effective: narrow(self.effective),
            baseline_confidence: narrow(self.baseline),
            trust_status: status,
            contradiction_cap_active: self.cap_active,
            cap_value: narrow(self.cap_value),
            manual_override_active: self.override_active,
            wins_last5: parse_u32(&key, self.wins)?,
            failures_last5: parse_u32(&key, self.failures)?,
            last_event_seq: self.last_event_seq,
            last_ruleset_version: parse_u32(&key, self.last_ruleset_version)?,
            last_scored_at: self
                .last_scored_at
                .map(|t| parse_ts(&key, &t))
                .transpose()?,
            updated_at: parse_ts(&key, &self.updated_at)?,
        })
    }
}

fn snapshot(conn: &Connection, memory_id: MemoryId, version: u32) -> Result<Option<TrustSnapshot>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRUST_COLUMNS} FROM memory_trust WHERE memory_id = ?1 AND version = ?2"
    ))?;
    stmt.query_row(params![memory_id.to_string(), version], raw_trust)
        .optional()?
        .map(RawTrust::into_snapshot)
        .transpose()
}

fn upsert_snapshot(conn: &Connection, s: &TrustSnapshot) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO memory_trust ({TRUST_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
    ))?
    .execute(params![
        s.memory_id.to_string(),
        s.version,
        f64::from(s.confidence_raw),
        f64::from(s.confidence_effective),
        f64::from(s.baseline_confidence),
        s.trust_status.as_str(),
        s.contradiction_cap_active,
        f64::from(s.cap_value),
        s.manual_override_active,
        s.wins_last5,
        s.failures_last5,
        s.last_event_seq,
        s.last_ruleset_version,
        s.last_scored_at.map(|t| t.to_string()),
        s.updated_at.to_string(),
    ])?;
    Ok(())
}

fn stale_keys(conn: &Connection, limit: Option<u32>) -> Result<Vec<StaleKey>> {
    let mut stmt = conn.prepare_cached(
        "WITH k AS (SELECT memory_id, version, MAX(event_seq) AS max_seq \
                    FROM outcome_events GROUP BY memory_id, version) \
         SELECT k.memory_id, k.version, k.max_seq, t.last_event_seq \
         FROM k LEFT JOIN memory_trust t ON t.memory_id = k.memory_id AND t.version = k.version \
         WHERE t.last_event_seq IS NULL OR t.last_event_seq < k.max_seq \
         ORDER BY k.memory_id, k.version LIMIT ?1",
    )?;
    let limit = limit.map_or(-1, i64::from);
    let rows = stmt
        .query_map([limit], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Option<i64>>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(memory_id, version, max_event_seq, projected_event_seq)| {
            Ok(StaleKey {
                version: parse_u32(&memory_id, version)?,
                memory_id,
                max_event_seq,
                projected_event_seq,
            })
        })
        .collect()
}

/// The largest sequence number up to which every event is reflected in its key's snapshot:
/// one before the oldest event that no snapshot reflects yet, or the newest event when every
/// snapshot is current.
fn consistent_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COALESCE(
            (SELECT MIN(e.event_seq) - 1 FROM outcome_events e
             LEFT JOIN memory_trust t ON t.memory_id = e.memory_id AND t.version = e.version
             WHERE t.last_event_seq IS NULL OR e.event_seq > t.last_event_seq),
            (SELECT MAX(event_seq) FROM outcome_events),
            0)",
        [],
        |row| row.get(0),
    )?)
}

fn count(conn: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn.query_row(sql, [], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

fn status(conn: &Connection) -> Result<ProjectorStatus> {
    let state: Option<(String, i64, i64, String)> = conn
        .query_row(
            "SELECT projector_name, ruleset_version, last_event_seq, updated_at \
             FROM outcome_projection_state WHERE projector_name = ?1",
            [PROJECTOR_NAME],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;
    let latest: i64 = conn.query_row(
        "SELECT COALESCE(MAX(event_seq), 0) FROM outcome_events",
        [],
        |row| row.get(0),
    )?;
    // Never claim more than the snapshots show: an event appended or left unprojected after
    // the last replay counts as lag, whatever the state row says.
    let recorded = state.as_ref().map_or(0, |s| s.2);
    let projected = recorded.min(consistent_seq(conn)?);
    let lag = (latest - projected).max(0);
    let stale = stale_keys(conn, None)?;
    let max_gap = stale
        .iter()
        .map(|k| k.max_event_seq - k.projected_event_seq.unwrap_or(0))
        .max()
        .unwrap_or(0);
    Ok(ProjectorStatus {
        projector_name: PROJECTOR_NAME.to_owned(),
        ruleset_version: state
            .as_ref()
            .map_or(Ok(1), |s| parse_u32("outcome_projection_state", s.1))?,
        projected_event_seq: projected,
        latest_event_seq: latest,
        lag_events: lag,
        lag_delta_events: lag,
        tracked_keys: count(
            conn,
            "SELECT COUNT(*) FROM (SELECT 1 FROM outcome_events GROUP BY memory_id, version)",
        )?,
        trust_rows: count(conn, "SELECT COUNT(*) FROM memory_trust")?,
        stale_trust_rows: u64::try_from(stale.len()).unwrap_or(u64::MAX),
        keys_with_events_no_trust_row: u64::try_from(
            stale
                .iter()
                .filter(|k| k.projected_event_seq.is_none())
                .count(),
        )
        .unwrap_or(u64::MAX),
        trust_rows_without_events: count(
            conn,
            "SELECT COUNT(*) FROM memory_trust t WHERE NOT EXISTS (SELECT 1 FROM outcome_events e \
             WHERE e.memory_id = t.memory_id AND e.version = t.version)",
        )?,
        max_stale_seq_gap: max_gap,
        updated_at: state.map(|s| s.3),
    })
}

/// The snapshot of `candidate` as the gate sees it at `as_of`: the stored snapshot when no
/// event it reflects occurred after `as_of`, otherwise a fold of only the events that had
/// occurred by then (none: no snapshot). Decay is applied on top.
fn snapshot_at(
    conn: &Connection,
    rulesets: &BTreeMap<u32, Ruleset>,
    candidate: Candidate,
    as_of: Timestamp,
) -> Result<Option<TrustSnapshot>> {
    let Some(stored) = snapshot(conn, candidate.memory_id, candidate.version)? else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT occurred_at FROM outcome_events \
         WHERE memory_id = ?1 AND version = ?2 AND event_seq <= ?3",
    )?;
    let times = stmt
        .query_map(
            params![
                candidate.memory_id.to_string(),
                candidate.version,
                stored.last_event_seq
            ],
            |row| row.get::<_, String>(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut later = false;
    for text in &times {
        if parse_ts("outcome_events", text)? > as_of {
            later = true;
            break;
        }
    }
    let current = if later {
        let events: Vec<OutcomeEvent> = key_events(conn, candidate.memory_id, candidate.version)?
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

impl Store {
    /// Appends one outcome event in its own transaction, after the trust rules accept it,
    /// its ruleset is stored and its memory version exists. Nothing is projected.
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a broken rule, [`StoreError::UnknownRuleset`],
    /// [`StoreError::UnknownMemoryVersion`], a uniqueness conflict on `event_id` as
    /// [`StoreError::Sqlite`]; schema and SQLite errors.
    pub fn append_outcome_event(
        &self,
        event: NewOutcomeEvent,
        deadline: Option<std::time::Instant>,
    ) -> Result<OutcomeEvent> {
        event.validate()?;
        self.write_tx(deadline, |tx| {
            let ruleset: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM outcome_rulesets WHERE ruleset_version = ?1")?
                .query_row([event.ruleset_version], |row| row.get(0))
                .optional()?;
            if ruleset.is_none() {
                return Err(StoreError::UnknownRuleset {
                    version: event.ruleset_version,
                });
            }
            let exists: Option<i64> = tx
                .prepare_cached(
                    "SELECT 1 FROM mk_memory_records WHERE memory_id = ?1 AND version = ?2",
                )?
                .query_row(params![event.memory_id.to_string(), event.version], |row| {
                    row.get(0)
                })
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::UnknownMemoryVersion {
                    memory_id: event.memory_id,
                    version: event.version,
                });
            }
            let recorded_at = Timestamp::now();
            let stored = event.clone().into_event(0, ulid::Ulid::new(), recorded_at);
            tx.prepare_cached(
                "INSERT INTO outcome_events (event_id, ruleset_version, memory_id, version, \
                 event_type, occurred_at, recorded_at, writer, justification, context_id, edited, \
                 escalated, severity, manual_confidence, override_cap, payload_json) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )?
            .execute(params![
                stored.event_id,
                stored.ruleset_version,
                stored.memory_id.to_string(),
                stored.version,
                stored.event_type.as_str(),
                stored.occurred_at.to_string(),
                stored.recorded_at.to_string(),
                stored.writer,
                stored.justification,
                stored.context_id,
                stored.edited,
                stored.escalated,
                stored.severity.map(Severity::as_str),
                stored.manual_confidence.map(f64::from),
                stored.override_cap,
                stored.payload_json.to_string(),
            ])?;
            Ok(OutcomeEvent {
                event_seq: tx.last_insert_rowid(),
                ..stored
            })
        })
    }

    /// The events of one key, oldest first; with `limit`, only the newest `limit` of them.
    ///
    /// # Errors
    /// Schema, corrupt-row and SQLite errors.
    pub fn outcome_events(
        &self,
        memory_id: MemoryId,
        version: u32,
        limit: Option<u32>,
    ) -> Result<Vec<OutcomeEvent>> {
        self.with_current_conn(|conn| {
            let mut events = query_events(
                conn,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM outcome_events \
                     WHERE memory_id = ?1 AND version = ?2 ORDER BY event_seq DESC LIMIT ?3"
                ),
                params![memory_id.to_string(), version, limit.map_or(-1, i64::from)],
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
    /// corrupt-row and SQLite errors.
    pub fn replay_outcomes(
        &self,
        from: Option<i64>,
        deadline: Option<std::time::Instant>,
    ) -> Result<OutcomeReplay> {
        self.write_tx(deadline, |tx| {
            let rulesets = load_rulesets(tx)?;
            let events = query_events(
                tx,
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM outcome_events e WHERE ?1 IS NULL OR EXISTS \
                     (SELECT 1 FROM outcome_events f WHERE f.memory_id = e.memory_id \
                      AND f.version = e.version AND f.event_seq >= ?1) \
                     ORDER BY memory_id, version, event_seq"
                ),
                [from],
            )?;
            let mut report = OutcomeReplay {
                projected_keys: 0,
                processed_events: u64::try_from(events.len()).unwrap_or(u64::MAX),
                last_event_seq: 0,
            };
            for stream in
                events.chunk_by(|a, b| a.memory_id == b.memory_id && a.version == b.version)
            {
                if let Some(snapshot) = project(stream, &rulesets)? {
                    upsert_snapshot(tx, &snapshot)?;
                    report.projected_keys += 1;
                }
            }
            report.last_event_seq = tx.query_row(
                "SELECT COALESCE(MAX(event_seq), 0) FROM outcome_events",
                [],
                |row| row.get(0),
            )?;
            let consistent = consistent_seq(tx)?;
            tx.execute(
                "INSERT INTO outcome_projection_state \
                 (projector_name, ruleset_version, last_event_seq, updated_at) \
                 VALUES (?1, 1, ?2, ?3) ON CONFLICT (projector_name) DO UPDATE SET \
                 last_event_seq = excluded.last_event_seq, updated_at = excluded.updated_at",
                params![PROJECTOR_NAME, consistent, Timestamp::now().to_string()],
            )?;
            Ok(report)
        })
    }

    /// The stored snapshot of one key, if replay has built one.
    ///
    /// # Errors
    /// Schema, corrupt-row and SQLite errors.
    pub fn trust_snapshot(
        &self,
        memory_id: MemoryId,
        version: u32,
    ) -> Result<Option<TrustSnapshot>> {
        self.with_current_conn(|conn| snapshot(conn, memory_id, version))
    }

    /// The snapshot of one key as read at `as_of` (point in time and decay applied).
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and SQLite errors.
    pub fn trust_snapshot_at(
        &self,
        candidate: Candidate,
        as_of: Timestamp,
    ) -> Result<Option<TrustSnapshot>> {
        self.with_current_conn(|conn| {
            let rulesets = load_rulesets(conn)?;
            snapshot_at(conn, &rulesets, candidate, as_of)
        })
    }

    /// The projector's health.
    ///
    /// # Errors
    /// Schema and SQLite errors.
    pub fn projector_status(&self) -> Result<ProjectorStatus> {
        self.with_current_conn(|conn| status(conn))
    }

    /// Keys whose snapshot is missing or out of date, ordered by memory_id, version.
    ///
    /// # Errors
    /// Schema and SQLite errors.
    pub fn stale_trust_keys(&self, limit: Option<u32>) -> Result<Vec<StaleKey>> {
        self.with_current_conn(|conn| stale_keys(conn, limit))
    }

    /// Gate decisions for `candidates` (duplicates kept, order preserved) at `as_of`. The
    /// gate's thresholds come from ruleset 1 unless the candidate's snapshot names another.
    ///
    /// # Errors
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and SQLite errors.
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
    /// [`StoreError::Outcome`] for a missing or refused ruleset; schema and SQLite errors.
    pub fn gate_verdicts(
        &self,
        mode: GateMode,
        as_of: Timestamp,
        context_id: Option<&str>,
        candidates: &[Candidate],
    ) -> Result<Vec<(GateDecision, Option<u32>)>> {
        self.with_current_conn(|conn| {
            let rulesets = load_rulesets(conn)?;
            let default = rulesets.get(&1).copied().unwrap_or(RULESET_V1);
            candidates
                .iter()
                .map(|candidate| {
                    let s = snapshot_at(conn, &rulesets, *candidate, as_of)?;
                    let ruleset = s
                        .as_ref()
                        .and_then(|s| rulesets.get(&s.last_ruleset_version))
                        .copied()
                        .unwrap_or(default);
                    let decision = decide(*candidate, s.as_ref(), mode, context_id, &ruleset);
                    Ok((decision, s.map(|s| s.last_ruleset_version)))
                })
                .collect()
        })
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
pub(crate) fn all_rulesets(conn: &Connection) -> Result<Vec<StoredRuleset>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ruleset_version, ruleset_json, created_at FROM outcome_rulesets \
         ORDER BY ruleset_version",
    )?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(version, ruleset_json, created_at)| {
            Ok(StoredRuleset {
                ruleset_version: parse_u32("outcome_rulesets", version)?,
                ruleset_json,
                created_at,
            })
        })
        .collect()
}

/// The stored ruleset `version`, if any.
pub(crate) fn get_ruleset(conn: &Connection, version: u32) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT ruleset_json FROM outcome_rulesets WHERE ruleset_version = ?1")?
        .query_row([version], |row| row.get::<_, String>(0))
        .optional()?)
}

/// Stores a ruleset row as given.
pub(crate) fn insert_ruleset(conn: &Connection, ruleset: &StoredRuleset) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outcome_rulesets (ruleset_version, ruleset_json, created_at) \
         VALUES (?1, ?2, ?3)",
    )?
    .execute(params![
        ruleset.ruleset_version,
        ruleset.ruleset_json,
        ruleset.created_at
    ])?;
    Ok(())
}

/// Every event, by sequence number.
pub(crate) fn all_events(conn: &Connection) -> Result<Vec<OutcomeEvent>> {
    query_events(
        conn,
        &format!("SELECT {EVENT_COLUMNS} FROM outcome_events ORDER BY event_seq"),
        [],
    )
}

/// The event stored under `event_seq`, if any.
pub(crate) fn get_event(conn: &Connection, event_seq: i64) -> Result<Option<OutcomeEvent>> {
    Ok(query_events(
        conn,
        &format!("SELECT {EVENT_COLUMNS} FROM outcome_events WHERE event_seq = ?1"),
        [event_seq],
    )?
    .pop())
}

/// Stores an event under its own sequence number (a snapshot's event, as exported). Its
/// memory version and ruleset must be stored.
///
/// # Errors
/// [`StoreError::UnknownMemoryVersion`], [`StoreError::UnknownRuleset`]; SQLite errors (a
/// taken `event_id`).
pub(crate) fn insert_event(conn: &Connection, event: &OutcomeEvent) -> Result<()> {
    if get_ruleset(conn, event.ruleset_version)?.is_none() {
        return Err(StoreError::UnknownRuleset {
            version: event.ruleset_version,
        });
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM mk_memory_records WHERE memory_id = ?1 AND version = ?2")?
        .exists(params![event.memory_id.to_string(), event.version])?;
    if !exists {
        return Err(StoreError::UnknownMemoryVersion {
            memory_id: event.memory_id,
            version: event.version,
        });
    }
    conn.prepare_cached(&format!(
        "INSERT INTO outcome_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))?
    .execute(params![
        event.event_seq,
        event.event_id,
        event.ruleset_version,
        event.memory_id.to_string(),
        event.version,
        event.event_type.as_str(),
        event.occurred_at.to_string(),
        event.recorded_at.to_string(),
        event.writer,
        event.justification,
        event.context_id,
        event.edited,
        event.escalated,
        event.severity.map(Severity::as_str),
        event.manual_confidence.map(f64::from),
        event.override_cap,
        event.payload_json.to_string(),
    ])?;
    Ok(())
}
