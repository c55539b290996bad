//! The schema, as one forward-only list of migrations (MKR-025). Every table the store owns
//! carries the `mk_` prefix, so the store's namespace (its migration table included) is shared
//! with nothing else (docs/spec/requirements.md), and tables of an older, unversioned layout never collide with
//! it.
//!
//! Enum CHECK lists are generated from core's `ALL` constants, so the database accepts exactly
//! the variants the domain defines (MKR-023).

use memory_kernel_core::{Authority, Effect, RecordType, Relation, TruthStatus};

/// The migration table: one row per applied version.
pub const MIGRATIONS_TABLE: &str = "mk_schema_migrations";

/// Tables of the unversioned layout that predates the migration table; their presence
/// without [`MIGRATIONS_TABLE`] marks a legacy database (MKR-031).
pub(crate) const LEGACY_TABLES: &[&str] = &[
    "memory_records",
    "memory_links",
    "context_packages",
    "schema_migrations",
];

/// Columns that must exist in `mk_memory_records` for a database to count as versioned.
pub(crate) const VERSION_ID_COLUMNS: &[&str] = &["memory_version_id", "memory_id", "version"];

/// The payload table of each record type (one per type, keyed by memory_version_id).
#[must_use]
pub const fn payload_table(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Constraint => "mk_constraint_payloads",
        RecordType::Decision => "mk_decision_payloads",
        RecordType::Preference => "mk_preference_payloads",
        RecordType::Event => "mk_event_payloads",
        RecordType::Outcome => "mk_outcome_payloads",
    }
}

/// A step of a migration that needs code, not only SQL (e.g. re-deriving an index with core's
/// rules); it runs inside the migration transaction, after the migration's SQL.
pub type Backfill = fn(&rusqlite::Connection) -> crate::error::Result<()>;

/// One schema migration: applied once, in order, never edited after release.
#[derive(Debug, Clone)]
pub struct Migration {
    /// Version reached once this migration is applied (1-based, gap-free).
    pub version: u32,
    /// Short name recorded in the migration table.
    pub name: &'static str,
    /// The SQL, run as one batch inside the migration transaction.
    pub sql: String,
    /// Code run after the SQL, inside the same transaction.
    pub backfill: Option<Backfill>,
}

/// Every migration this build knows, ascending. The last one's version is the target.
#[must_use]
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration {
            version: 1,
            name: "versioned_records",
            sql: v1_sql(),
            backfill: None,
        },
        Migration {
            version: 2,
            name: "unicode_terms_and_compact_packages",
            sql: v2_sql(),
            backfill: Some(crate::records::backfill_recall_terms),
        },
        Migration {
            version: 3,
            name: "outcome_memory",
            sql: crate::outcome::schema_sql(),
            backfill: None,
        },
        Migration {
            version: 4,
            name: "recall_postings",
            sql: v4_sql(),
            backfill: Some(crate::records::backfill_recall_postings),
        },
    ]
}

/// The recall term index under core's Unicode term rules, and context packages as derived,
/// prunable data in a compact form (see `docs/spec/context-package.md`, "Storage").
fn v2_sql() -> String {
    let mut sql = String::from(
        "
DROP TABLE mk_record_terms;
CREATE TABLE mk_recall_terms (
    term              TEXT NOT NULL CHECK (length(term) >= 1),
    memory_version_id TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    PRIMARY KEY (term, memory_version_id)
) WITHOUT ROWID;

CREATE TABLE mk_stored_packages (
    context_package_id TEXT PRIMARY KEY NOT NULL CHECK (length(trim(context_package_id)) > 0),
    kind               TEXT NOT NULL CHECK (length(trim(kind)) > 0),
    encoding           TEXT NOT NULL CHECK (encoding IN ('json', 'compact-deflate.v1')),
    stored_at_nanos    INTEGER NOT NULL,
    body               BLOB NOT NULL
);
CREATE INDEX mk_idx_packages_stored ON mk_stored_packages (stored_at_nanos);
INSERT INTO mk_stored_packages (context_package_id, kind, encoding, stored_at_nanos, body)
    SELECT context_package_id, kind, 'json', 0, CAST(package_json AS BLOB)
    FROM mk_context_packages;
DROP TABLE mk_context_packages;
-- Packages are derived data: pruning may delete them, nothing may rewrite one.
CREATE TRIGGER mk_mk_stored_packages_no_update BEFORE UPDATE ON mk_stored_packages
BEGIN SELECT RAISE(ABORT, 'mk_stored_packages is append-only'); END;
",
    );
    sql.push_str(&append_only_triggers("mk_recall_terms"));
    sql
}

/// A term index recall can rank from without reading records (see `docs/spec/resolver.md`,
/// "Indexed recall"): `mk_recall_docs` gives each record a document number and keeps every
/// field the recall order reads plus the record's length, in narrow rows numbered in write
/// order; each posting names its document by number and carries the term's frequency, so a
/// term's postings visit the documents in ascending number. Every record has a document, and
/// each document also carries how many documents of its type exist up to it and the latest
/// instant by which all of them are visible, so the number of records of a type visible at a
/// recent `as_of` is one index seek instead of a count.
fn v4_sql() -> String {
    let record_types = check_in("record_type", RecordType::ALL.iter().map(|v| v.as_str()));
    let truth = check_in("truth_status", TruthStatus::ALL.iter().map(|v| v.as_str()));
    let authority = check_in("authority", Authority::ALL.iter().map(|v| v.as_str()));
    let mut sql = format!(
        "
DROP TABLE mk_recall_terms;
CREATE TABLE mk_recall_docs (
    doc                INTEGER PRIMARY KEY,
    memory_version_id  TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    memory_id          TEXT NOT NULL,
    record_type        TEXT NOT NULL CHECK ({record_types}),
    created_at_nanos   INTEGER NOT NULL,
    effective_at_nanos INTEGER NOT NULL,
    truth_status       TEXT NOT NULL CHECK ({truth}),
    authority          TEXT NOT NULL CHECK ({authority}),
    confidence         REAL,
    length             INTEGER NOT NULL CHECK (length >= 0),
    type_ordinal       INTEGER NOT NULL CHECK (type_ordinal >= 1),
    visible_watermark_nanos INTEGER NOT NULL,
    UNIQUE (record_type, type_ordinal)
);
CREATE TABLE mk_recall_postings (
    term      TEXT NOT NULL CHECK (length(term) >= 1),
    doc       INTEGER NOT NULL REFERENCES mk_recall_docs (doc),
    frequency INTEGER NOT NULL CHECK (frequency >= 1),
    PRIMARY KEY (term, doc)
) WITHOUT ROWID;
",
    );
    sql.push_str(&append_only_triggers("mk_recall_docs"));
    sql.push_str(&append_only_triggers("mk_recall_postings"));
    sql.push_str(
        "
CREATE UNIQUE INDEX mk_idx_recall_docs_version ON mk_recall_docs (memory_version_id);
-- Packages may also be stored with items naming their records by document number.
CREATE TABLE mk_stored_packages_v4 (
    context_package_id TEXT PRIMARY KEY NOT NULL CHECK (length(trim(context_package_id)) > 0),
    kind               TEXT NOT NULL CHECK (length(trim(kind)) > 0),
    encoding           TEXT NOT NULL
        CHECK (encoding IN ('json', 'compact-deflate.v1', 'compact-deflate.v2')),
    stored_at_nanos    INTEGER NOT NULL,
    body               BLOB NOT NULL
);
INSERT INTO mk_stored_packages_v4 (context_package_id, kind, encoding, stored_at_nanos, body)
    SELECT context_package_id, kind, encoding, stored_at_nanos, body FROM mk_stored_packages;
DROP TABLE mk_stored_packages;
ALTER TABLE mk_stored_packages_v4 RENAME TO mk_stored_packages;
CREATE INDEX mk_idx_packages_stored ON mk_stored_packages (stored_at_nanos);
CREATE TRIGGER mk_mk_stored_packages_no_update BEFORE UPDATE ON mk_stored_packages
BEGIN SELECT RAISE(ABORT, 'mk_stored_packages is append-only'); END;
",
    );
    sql
}

fn append_only_triggers(table: &str) -> String {
    format!(
        "
CREATE TRIGGER mk_{table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
CREATE TRIGGER mk_{table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;
"
    )
}

/// The schema version this build needs.
#[must_use]
pub fn target_version() -> u32 {
    migrations().last().map_or(0, |m| m.version)
}

/// `column IN ('a', 'b', ...)` over a closed set of wire spellings.
pub(crate) fn check_in<'a>(column: &str, values: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<String> = values
        .into_iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect();
    format!("{column} IN ({})", list.join(", "))
}

fn v1_sql() -> String {
    let record_types = check_in("record_type", RecordType::ALL.iter().map(|v| v.as_str()));
    let truth = check_in("truth_status", TruthStatus::ALL.iter().map(|v| v.as_str()));
    let authority = check_in("authority", Authority::ALL.iter().map(|v| v.as_str()));
    let effect = check_in("effect", Effect::ALL.iter().map(|v| v.as_str()));
    let relation = check_in("relation", Relation::ALL.iter().map(|v| v.as_str()));
    let mut sql = format!(
        "
CREATE TABLE {MIGRATIONS_TABLE} (
    version    INTEGER PRIMARY KEY CHECK (version >= 1),
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
);

CREATE TABLE mk_memory_records (
    memory_version_id  TEXT PRIMARY KEY NOT NULL,
    memory_id          TEXT NOT NULL,
    version            INTEGER NOT NULL CHECK (version >= 1),
    record_type        TEXT NOT NULL CHECK ({record_types}),
    created_at         TEXT NOT NULL,
    created_at_nanos   INTEGER NOT NULL,
    effective_at       TEXT NOT NULL,
    effective_at_nanos INTEGER NOT NULL,
    truth_status       TEXT NOT NULL CHECK ({truth}),
    authority          TEXT NOT NULL CHECK ({authority}),
    confidence         REAL CHECK (confidence IS NULL OR (confidence >= 0.0 AND confidence <= 1.0)),
    writer             TEXT NOT NULL CHECK (length(trim(writer)) > 0),
    justification      TEXT NOT NULL CHECK (length(trim(justification)) > 0),
    source_uri         TEXT NOT NULL CHECK (length(trim(source_uri)) > 0),
    source_hash        TEXT,
    evidence_json      TEXT NOT NULL CHECK (json_valid(evidence_json)),
    supersedes_json    TEXT NOT NULL CHECK (json_valid(supersedes_json)),
    contradicts_json   TEXT NOT NULL CHECK (json_valid(contradicts_json)),
    UNIQUE (memory_id, version)
) WITHOUT ROWID;
CREATE INDEX mk_idx_records_created ON mk_memory_records (created_at_nanos, memory_version_id);
CREATE INDEX mk_idx_records_type_visible
    ON mk_memory_records (record_type, created_at_nanos, effective_at_nanos);

CREATE TABLE mk_constraint_payloads (
    memory_version_id TEXT PRIMARY KEY NOT NULL
        REFERENCES mk_memory_records (memory_version_id),
    actor    TEXT NOT NULL CHECK (length(actor) > 0 AND actor = lower(trim(actor))),
    action   TEXT NOT NULL CHECK (length(action) > 0 AND action = lower(trim(action))),
    resource TEXT NOT NULL CHECK (length(resource) > 0 AND resource = lower(trim(resource))),
    effect   TEXT NOT NULL CHECK ({effect}),
    note     TEXT
) WITHOUT ROWID;
CREATE INDEX mk_idx_constraint_scope ON mk_constraint_payloads (actor, action, resource);

CREATE TABLE mk_memory_links (
    link_id           INTEGER PRIMARY KEY,
    from_version_id   TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    to_version_id     TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    relation          TEXT NOT NULL CHECK ({relation}),
    writer            TEXT NOT NULL CHECK (length(trim(writer)) > 0),
    justification     TEXT NOT NULL CHECK (length(trim(justification)) > 0),
    created_at        TEXT NOT NULL,
    created_at_nanos  INTEGER NOT NULL,
    CHECK (from_version_id <> to_version_id),
    UNIQUE (from_version_id, to_version_id, relation, created_at_nanos, writer, justification)
);

CREATE TABLE mk_lineage_edges (
    edge_id            INTEGER PRIMARY KEY,
    from_version_id    TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    to_version_id      TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    relation           TEXT NOT NULL CHECK ({relation}),
    visible_from       TEXT NOT NULL,
    visible_from_nanos INTEGER NOT NULL
);
CREATE INDEX mk_idx_edges_to ON mk_lineage_edges (to_version_id);
CREATE INDEX mk_idx_edges_from ON mk_lineage_edges (from_version_id);

CREATE TABLE mk_record_terms (
    term              TEXT NOT NULL CHECK (length(term) >= 2),
    memory_version_id TEXT NOT NULL REFERENCES mk_memory_records (memory_version_id),
    PRIMARY KEY (term, memory_version_id)
) WITHOUT ROWID;

CREATE TABLE mk_context_packages (
    context_package_id TEXT PRIMARY KEY NOT NULL CHECK (length(trim(context_package_id)) > 0),
    kind               TEXT NOT NULL CHECK (length(trim(kind)) > 0),
    package_json       TEXT NOT NULL CHECK (json_valid(package_json))
);
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
    memory_version_id TEXT PRIMARY KEY NOT NULL
        REFERENCES mk_memory_records (memory_version_id),
    summary TEXT NOT NULL CHECK (length(trim(summary)) > 0)
) WITHOUT ROWID;
"
        ));
    }
    sql.push_str(&record_view_sql());
    for table in V1_APPEND_ONLY_TABLES {
        sql.push_str(&append_only_triggers(table));
    }
    sql
}

/// The tables of the current layout whose rows are never updated or deleted (MKR-002),
/// besides the migration table. SQLite's migrations added their triggers version by version
/// (a test checks the result against this list); PostgreSQL's layout is created from it.
pub(crate) const APPEND_ONLY_TABLES: &[&str] = &[
    "mk_memory_records",
    "mk_constraint_payloads",
    "mk_decision_payloads",
    "mk_preference_payloads",
    "mk_event_payloads",
    "mk_outcome_payloads",
    "mk_memory_links",
    "mk_lineage_edges",
    "mk_recall_docs",
    "mk_recall_postings",
];

/// Tables of version 1 whose rows are never updated or deleted (MKR-002), enforced by
/// triggers. Version 2 replaced the term index and the package table (see [`v2_sql`]).
const V1_APPEND_ONLY_TABLES: &[&str] = &[
    MIGRATIONS_TABLE,
    "mk_memory_records",
    "mk_constraint_payloads",
    "mk_decision_payloads",
    "mk_preference_payloads",
    "mk_event_payloads",
    "mk_outcome_payloads",
    "mk_memory_links",
    "mk_lineage_edges",
    "mk_record_terms",
    "mk_context_packages",
];

/// One view that reassembles a record from its row and its payload row, so every read
/// query names the columns once. The summary comes from a `CASE` on the record type, which
/// SQLite evaluates lazily: one payload lookup per row instead of one per payload table.
pub(crate) fn record_view_sql() -> String {
    let summaries: String = RecordType::ALL
        .iter()
        .filter(|t| **t != RecordType::Constraint)
        .map(|t| {
            format!(
                "WHEN '{kind}' THEN (SELECT p.summary FROM {table} p \
                 WHERE p.memory_version_id = r.memory_version_id)\n",
                kind = t.as_str(),
                table = payload_table(*t),
            )
        })
        .collect();
    format!(
        "
CREATE VIEW mk_record_rows AS
SELECT r.memory_version_id, r.memory_id, r.version, r.record_type,
       r.created_at, r.created_at_nanos, r.effective_at, r.effective_at_nanos,
       r.truth_status, r.authority, r.confidence, r.writer, r.justification,
       r.source_uri, r.source_hash, r.evidence_json, r.supersedes_json, r.contradicts_json,
       c.actor, c.action, c.resource, c.effect, c.note,
       CASE r.record_type {summaries} END AS summary
FROM mk_memory_records r
LEFT JOIN {constraints} c ON c.memory_version_id = r.memory_version_id;
",
        constraints = payload_table(RecordType::Constraint),
    )
}

/// SQLite's plan for `sql` on a fresh database of the current schema, one line per step, for
/// the tests that pin a query to its indexes.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn query_plan(sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for m in migrations() {
        conn.execute_batch(&m.sql).unwrap();
    }
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        out.push(row.get::<_, String>(3).unwrap());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_gap_free_from_one() {
        for (index, migration) in migrations().iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1);
        }
        assert_eq!(target_version(), 4);
    }

    #[test]
    fn the_append_only_list_names_exactly_the_tables_the_migrations_guard() {
        // The store's own tables (the outcome memory's have their own triggers).
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in migrations() {
            conn.execute_batch(&migration.sql).unwrap();
        }
        let guarded = |suffix: &str| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?1 \
                     AND tbl_name LIKE 'mk\\_%' ESCAPE '\\' ORDER BY tbl_name",
                )
                .unwrap();
            stmt.query_map([format!("%{suffix}")], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        let mut expected: Vec<String> = APPEND_ONLY_TABLES
            .iter()
            .chain(&[MIGRATIONS_TABLE])
            .map(|t| (*t).to_owned())
            .collect();
        expected.sort();
        assert_eq!(guarded("_no_delete"), expected);
        expected.push("mk_stored_packages".to_owned());
        expected.sort();
        assert_eq!(guarded("_no_update"), expected);
    }

    #[test]
    fn schema_builds_on_an_empty_database() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in migrations() {
            conn.execute_batch(&migration.sql).unwrap();
            if let Some(backfill) = migration.backfill {
                backfill(&conn).unwrap();
            }
        }
    }
}
