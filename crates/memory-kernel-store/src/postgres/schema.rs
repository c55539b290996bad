//! The PostgreSQL schema and its forward-only migrations. The layout is SQLite's storage
//! schema 4 in PostgreSQL types: the same tables, columns, CHECKs generated from core's
//! variant lists, indexes and record view, with append-only rules enforced by triggers. Text
//! keys use the "C" collation so every `ORDER BY` sorts exactly as SQLite's binary order.

use memory_kernel_core::{Authority, Effect, RecordType, Relation, Timestamp, TruthStatus};
use memory_kernel_outcome::{EventType, PROJECTOR_NAME, RULESET_V1, Severity, TrustStatus};
use postgres::GenericClient;

use crate::error::{Result, StoreError};
use crate::migrations::{MigrationReport, SchemaStatus};
use crate::schema::{
    APPEND_ONLY_TABLES, MIGRATIONS_TABLE, check_in, payload_table, record_view_sql,
};

/// One PostgreSQL migration: applied once, in order, never edited after release.
pub(crate) struct PgMigration {
    pub(crate) version: u32,
    pub(crate) name: &'static str,
    pub(crate) sql: String,
}

/// Every PostgreSQL migration this build knows, ascending. The engine's versions count on
/// their own: version 1 is the layout of SQLite's storage schema 4 without outcome memory,
/// version 2 adds the outcome memory's tables (SQLite's storage schema 3).
pub(crate) fn migrations() -> Vec<PgMigration> {
    vec![
        PgMigration {
            version: 1,
            name: "postgres_layout",
            sql: v1_sql(),
        },
        PgMigration {
            version: 2,
            name: "outcome_memory",
            sql: v2_sql(),
        },
    ]
}

fn target_version() -> u32 {
    migrations().last().map_or(0, |m| m.version)
}

fn append_only(table: &str, deletes: bool) -> String {
    let events = if deletes {
        "UPDATE"
    } else {
        "UPDATE OR DELETE"
    };
    format!(
        "CREATE TRIGGER {table}_append_only BEFORE {events} ON {table} \
         FOR EACH ROW EXECUTE FUNCTION mk_refuse_change();\n"
    )
}

fn v1_sql() -> String {
    let record_types = check_in("record_type", RecordType::ALL.iter().map(|v| v.as_str()));
    let truth = check_in("truth_status", TruthStatus::ALL.iter().map(|v| v.as_str()));
    let authority = check_in("authority", Authority::ALL.iter().map(|v| v.as_str()));
    let effect = check_in("effect", Effect::ALL.iter().map(|v| v.as_str()));
    let relation = check_in("relation", Relation::ALL.iter().map(|v| v.as_str()));
    let id = r#"TEXT COLLATE "C""#;
    let mut sql = format!(
        "
CREATE FUNCTION mk_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;

CREATE TABLE mk_memory_records (
    memory_version_id  {id} PRIMARY KEY,
    memory_id          {id} NOT NULL,
    version            BIGINT NOT NULL CHECK (version >= 1),
    record_type        TEXT NOT NULL CHECK ({record_types}),
    created_at         TEXT NOT NULL,
    created_at_nanos   BIGINT NOT NULL,
    effective_at       TEXT NOT NULL,
    effective_at_nanos BIGINT NOT NULL,
    truth_status       TEXT NOT NULL CHECK ({truth}),
    authority          TEXT NOT NULL CHECK ({authority}),
    confidence         DOUBLE PRECISION
        CHECK (confidence IS NULL OR (confidence >= 0.0 AND confidence <= 1.0)),
    writer             TEXT NOT NULL CHECK (length(trim(writer)) > 0),
    justification      TEXT NOT NULL CHECK (length(trim(justification)) > 0),
    source_uri         TEXT NOT NULL CHECK (length(trim(source_uri)) > 0),
    source_hash        TEXT,
    evidence_json      TEXT NOT NULL CHECK (evidence_json::jsonb IS NOT NULL),
    supersedes_json    TEXT NOT NULL CHECK (supersedes_json::jsonb IS NOT NULL),
    contradicts_json   TEXT NOT NULL CHECK (contradicts_json::jsonb IS NOT NULL),
    UNIQUE (memory_id, version)
);
CREATE INDEX mk_idx_records_created ON mk_memory_records (created_at_nanos, memory_version_id);
CREATE INDEX mk_idx_records_type_visible
    ON mk_memory_records (record_type, created_at_nanos, effective_at_nanos);

CREATE TABLE mk_constraint_payloads (
    memory_version_id {id} PRIMARY KEY REFERENCES mk_memory_records (memory_version_id),
    actor    TEXT NOT NULL CHECK (length(actor) > 0 AND actor = lower(trim(actor))),
    action   TEXT NOT NULL CHECK (length(action) > 0 AND action = lower(trim(action))),
    resource TEXT NOT NULL CHECK (length(resource) > 0 AND resource = lower(trim(resource))),
    effect   TEXT NOT NULL CHECK ({effect}),
    note     TEXT
);
CREATE INDEX mk_idx_constraint_scope ON mk_constraint_payloads (actor, action, resource);

CREATE TABLE mk_memory_links (
    link_id           BIGINT PRIMARY KEY,
    from_version_id   {id} NOT NULL REFERENCES mk_memory_records (memory_version_id),
    to_version_id     {id} NOT NULL REFERENCES mk_memory_records (memory_version_id),
    relation          TEXT COLLATE \"C\" NOT NULL CHECK ({relation}),
    writer            TEXT NOT NULL CHECK (length(trim(writer)) > 0),
    justification     TEXT NOT NULL CHECK (length(trim(justification)) > 0),
    created_at        TEXT NOT NULL,
    created_at_nanos  BIGINT NOT NULL,
    CHECK (from_version_id <> to_version_id),
    UNIQUE (from_version_id, to_version_id, relation, created_at_nanos, writer, justification)
);

CREATE TABLE mk_lineage_edges (
    edge_id            BIGINT PRIMARY KEY,
    from_version_id    {id} NOT NULL REFERENCES mk_memory_records (memory_version_id),
    to_version_id      {id} NOT NULL REFERENCES mk_memory_records (memory_version_id),
    relation           TEXT COLLATE \"C\" NOT NULL CHECK ({relation}),
    visible_from       TEXT NOT NULL,
    visible_from_nanos BIGINT NOT NULL
);
CREATE INDEX mk_idx_edges_to ON mk_lineage_edges (to_version_id);
CREATE INDEX mk_idx_edges_from ON mk_lineage_edges (from_version_id);

CREATE TABLE mk_recall_docs (
    doc                BIGINT PRIMARY KEY,
    memory_version_id  {id} NOT NULL UNIQUE REFERENCES mk_memory_records (memory_version_id),
    memory_id          {id} NOT NULL,
    record_type        TEXT NOT NULL CHECK ({record_types}),
    created_at_nanos   BIGINT NOT NULL,
    effective_at_nanos BIGINT NOT NULL,
    truth_status       TEXT NOT NULL CHECK ({truth}),
    authority          TEXT NOT NULL CHECK ({authority}),
    confidence         DOUBLE PRECISION,
    length             BIGINT NOT NULL CHECK (length >= 0),
    type_ordinal       BIGINT NOT NULL CHECK (type_ordinal >= 1),
    visible_watermark_nanos BIGINT NOT NULL,
    UNIQUE (record_type, type_ordinal)
);
CREATE TABLE mk_recall_postings (
    term      TEXT COLLATE \"C\" NOT NULL CHECK (length(term) >= 1),
    doc       BIGINT NOT NULL REFERENCES mk_recall_docs (doc),
    frequency BIGINT NOT NULL CHECK (frequency >= 1),
    PRIMARY KEY (term, doc)
);

CREATE TABLE mk_stored_packages (
    context_package_id {id} PRIMARY KEY CHECK (length(trim(context_package_id)) > 0),
    kind               TEXT NOT NULL CHECK (length(trim(kind)) > 0),
    encoding           TEXT NOT NULL
        CHECK (encoding IN ('json', 'compact-deflate.v1', 'compact-deflate.v2')),
    stored_at_nanos    BIGINT NOT NULL,
    body               BYTEA NOT NULL
);
CREATE INDEX mk_idx_packages_stored ON mk_stored_packages (stored_at_nanos);
"
    );
    for record_type in RecordType::ALL
        .iter()
        .filter(|t| **t != RecordType::Constraint)
    {
        let table = payload_table(*record_type);
        sql.push_str(&format!(
            "
CREATE TABLE {table} (
    memory_version_id {id} PRIMARY KEY REFERENCES mk_memory_records (memory_version_id),
    summary TEXT NOT NULL CHECK (length(trim(summary)) > 0)
);
"
        ));
    }
    sql.push_str(&record_view_sql());
    for table in APPEND_ONLY_TABLES {
        sql.push_str(&append_only(table, false));
    }
    // Packages are derived data: pruning may delete them, nothing may rewrite one.
    sql.push_str(&append_only("mk_stored_packages", true));
    sql
}

/// The outcome memory's four tables, as SQLite's storage schema 3 lays them out (see
/// `crate::outcome`): the built-in ruleset and the projector's state row, events append-only.
fn v2_sql() -> String {
    let event_types = check_in("event_type", EventType::ALL.iter().map(|v| v.as_str()));
    let severities = check_in("severity", Severity::ALL.iter().map(|v| v.as_str()));
    let statuses = check_in("trust_status", TrustStatus::ALL.iter().map(|v| v.as_str()));
    let ruleset_json = RULESET_V1.to_json().replace('\'', "''");
    let id = r#"TEXT COLLATE "C""#;
    let flag = "BIGINT NOT NULL DEFAULT 0 CHECK";
    let unit = "DOUBLE PRECISION NOT NULL CHECK";
    let now = r#"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#;
    let mut sql = format!(
        "
CREATE TABLE outcome_rulesets (
    ruleset_version BIGINT PRIMARY KEY,
    ruleset_json    TEXT NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE outcome_events (
    event_seq         BIGINT PRIMARY KEY CHECK (event_seq >= 1),
    event_id          {id} NOT NULL UNIQUE,
    ruleset_version   BIGINT NOT NULL REFERENCES outcome_rulesets (ruleset_version),
    memory_id         {id} NOT NULL,
    version           BIGINT NOT NULL CHECK (version >= 1),
    event_type        TEXT NOT NULL CHECK ({event_types}),
    occurred_at       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL,
    writer            TEXT NOT NULL,
    justification     TEXT NOT NULL,
    context_id        {id},
    edited            {flag} (edited IN (0, 1)),
    escalated         {flag} (escalated IN (0, 1)),
    severity          TEXT CHECK ({severities} OR severity IS NULL),
    manual_confidence DOUBLE PRECISION CHECK ((manual_confidence >= 0.0 AND manual_confidence <= 1.0)
                                  OR manual_confidence IS NULL),
    override_cap      {flag} (override_cap IN (0, 1)),
    payload_json      TEXT NOT NULL DEFAULT '{{}}' CHECK (payload_json::jsonb IS NOT NULL),
    FOREIGN KEY (memory_id, version) REFERENCES mk_memory_records (memory_id, version)
);
CREATE INDEX idx_outcome_events_memory_version_seq
    ON outcome_events (memory_id, version, event_seq);
CREATE INDEX idx_outcome_events_type_seq ON outcome_events (event_type, event_seq);
CREATE INDEX idx_outcome_events_context_seq ON outcome_events (context_id, event_seq);

CREATE TABLE memory_trust (
    memory_id                {id} NOT NULL,
    version                  BIGINT NOT NULL,
    confidence_raw           {unit} (confidence_raw BETWEEN 0.0 AND 1.0),
    confidence_effective     {unit} (confidence_effective BETWEEN 0.0 AND 1.0),
    baseline_confidence      {unit} (baseline_confidence BETWEEN 0.0 AND 1.0),
    trust_status             TEXT NOT NULL CHECK ({statuses}),
    contradiction_cap_active BIGINT NOT NULL CHECK (contradiction_cap_active IN (0, 1)),
    cap_value                {unit} (cap_value BETWEEN 0.0 AND 1.0),
    manual_override_active   BIGINT NOT NULL CHECK (manual_override_active IN (0, 1)),
    wins_last5               BIGINT NOT NULL CHECK (wins_last5 >= 0),
    failures_last5           BIGINT NOT NULL CHECK (failures_last5 >= 0),
    last_event_seq           BIGINT NOT NULL,
    last_ruleset_version     BIGINT NOT NULL,
    last_scored_at           TEXT,
    updated_at               TEXT NOT NULL,
    PRIMARY KEY (memory_id, version)
);
CREATE INDEX idx_memory_trust_gate
    ON memory_trust (trust_status, confidence_effective DESC, contradiction_cap_active);

CREATE TABLE outcome_projection_state (
    projector_name  {id} PRIMARY KEY,
    ruleset_version BIGINT NOT NULL,
    last_event_seq  BIGINT NOT NULL,
    updated_at      TEXT NOT NULL
);

INSERT INTO outcome_rulesets (ruleset_version, ruleset_json, created_at)
    VALUES (1, '{ruleset_json}', {now});
INSERT INTO outcome_projection_state (projector_name, ruleset_version, last_event_seq, updated_at)
    VALUES ('{PROJECTOR_NAME}', 1, 0, {now});
"
    );
    sql.push_str(&append_only("outcome_events", false));
    sql
}

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS mk_schema_migrations (
    version    BIGINT PRIMARY KEY CHECK (version >= 1),
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)";

/// The applied versions, ascending (empty before the first migration).
fn applied(client: &mut impl GenericClient) -> Result<Vec<u32>> {
    let exists: bool = client
        .query_one(
            &format!("SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL"),
            &[],
        )?
        .try_get(0)?;
    if !exists {
        return Ok(Vec::new());
    }
    client
        .query(
            &format!("SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version"),
            &[],
        )?
        .iter()
        .map(|row| {
            let version: i64 = row.try_get(0)?;
            u32::try_from(version).map_err(|_| StoreError::InconsistentMigrations {
                applied: Vec::new(),
            })
        })
        .collect()
}

fn status_of(applied: Vec<u32>) -> Result<SchemaStatus> {
    let target = target_version();
    if applied
        .iter()
        .zip(1..)
        .any(|(version, expected)| *version != expected)
    {
        return Err(StoreError::InconsistentMigrations { applied });
    }
    let current = applied.last().copied().unwrap_or(0);
    if current > target {
        return Err(StoreError::UnknownSchemaVersion {
            found: current,
            supported: target,
        });
    }
    Ok(SchemaStatus {
        current_version: current,
        target_version: target,
        pending_versions: (current + 1..=target).collect(),
        up_to_date: current == target,
        inferred_from_legacy: false,
    })
}

/// The schema status; reads only.
pub(crate) fn read_status(client: &mut impl GenericClient) -> Result<SchemaStatus> {
    status_of(applied(client)?)
}

/// Applies pending migrations in one transaction (or reports the plan). Concurrent
/// migrations from several replicas queue on the writer lock; the later ones find nothing
/// pending.
pub(crate) fn migrate(client: &mut postgres::Client, dry_run: bool) -> Result<MigrationReport> {
    let report = |status: &SchemaStatus, after: Option<u32>| MigrationReport {
        dry_run,
        current_version: status.current_version,
        target_version: status.target_version,
        would_apply_versions: status.pending_versions.clone(),
        inferred_from_legacy: false,
        after_version: after,
        up_to_date: after.map(|a| a == status.target_version),
        legacy_tables: Vec::new(),
        legacy_inventory: None,
    };
    if dry_run {
        return Ok(report(&read_status(client)?, None));
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::WRITER_LOCK])?;
    let status = read_status(&mut tx)?;
    tx.batch_execute(CREATE_MIGRATIONS_TABLE)?;
    let applied_at = Timestamp::now().to_string();
    for migration in migrations()
        .into_iter()
        .filter(|m| m.version > status.current_version)
    {
        tx.batch_execute(&migration.sql)?;
        tx.execute(
            &format!(
                "INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES ($1, $2, $3)"
            ),
            &[&i64::from(migration.version), &migration.name, &applied_at],
        )?;
    }
    if status.current_version == 0 {
        tx.batch_execute(&append_only(MIGRATIONS_TABLE, false))?;
    }
    tx.commit()?;
    Ok(report(&status, Some(status.target_version)))
}
