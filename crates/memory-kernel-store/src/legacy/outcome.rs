//! The original's trust tables (`outcome_rulesets`, `outcome_events`, `memory_trust`,
//! `outcome_projection_state`), carried through the migration of its file. This schema keeps
//! the same four tables under the same names and columns, so every row is copied as SQLite
//! stored it (text, integers and the bits of every REAL), event sequence numbers included.
//! The original's tables are dropped before schema version 3 creates this build's, and the
//! rows are written back once the records they name are carried.

use std::collections::HashSet;
use std::str::FromStr;

use memory_kernel_core::MemoryId;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::read::refused;
use crate::error::{Result, StoreError};
use crate::outcome::{EVENT_COLUMNS, EVENTS, PROJECTION, RULESETS, TRUST, TRUST_COLUMNS};

const RULESET_COLUMNS: &str = "ruleset_version, ruleset_json, created_at";
const PROJECTION_COLUMNS: &str = "projector_name, ruleset_version, last_event_seq, updated_at";

/// The four tables, children first: the order they are dropped in, and (reversed) written.
/// Each with its columns, its key order, and whether a carried row replaces the one schema
/// version 3 wrote (the built-in ruleset and the projector's state row).
const TABLES: [(&str, &str, &str, bool); 4] = [
    (EVENTS, EVENT_COLUMNS, "event_seq", false),
    (TRUST, TRUST_COLUMNS, "memory_id, version", false),
    (PROJECTION, PROJECTION_COLUMNS, "projector_name", true),
    (RULESETS, RULESET_COLUMNS, "ruleset_version", true),
];

/// Every row of the original's trust tables found in a file, as stored.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutcomeRows {
    /// Per table of [`TABLES`] present in the file: its name and its rows, in key order.
    tables: Vec<(&'static str, Vec<Vec<Value>>)>,
    /// The `sqlite_sequence` value of `outcome_events`, so numbering continues as it would
    /// have in the original.
    sequence: Option<i64>,
}

impl OutcomeRows {
    /// Rows of `table` (none when the file has no such table).
    pub(crate) fn rows(&self, table: &str) -> &[Vec<Value>] {
        self.tables
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(&[], |(_, rows)| rows.as_slice())
    }
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool> {
    Ok(conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists([table])?)
}

fn column_names(columns: &str) -> impl Iterator<Item = &str> {
    columns.split(',').map(str::trim)
}

/// Reads every row of the original's trust tables. Every event must name a memory version
/// among `versions` (the records the migration carries), as the original's foreign key
/// required.
///
/// # Errors
/// [`StoreError::UnsupportedLegacyLayout`] when a table lacks a column this schema has;
/// [`StoreError::LegacyRow`] for an event naming no carried record; SQLite errors.
pub(crate) fn read(conn: &Connection, versions: &HashSet<(String, u32)>) -> Result<OutcomeRows> {
    let mut found = OutcomeRows::default();
    for (table, columns, order, _) in TABLES {
        if !table_exists(conn, table)? {
            continue;
        }
        let present: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info(?1)")?
            .query_map([table], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(missing) =
            column_names(columns).find(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c)))
        {
            return Err(StoreError::UnsupportedLegacyLayout {
                reason: format!("{table} has no {missing} column"),
            });
        }
        let width = column_names(columns).count();
        let mut stmt = conn.prepare(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))?;
        let rows = stmt
            .query_map([], |row| {
                (0..width)
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        if table == EVENTS {
            for row in &rows {
                check_event_key(row, versions)?;
            }
        }
        found.tables.push((table, rows));
    }
    if table_exists(conn, "sqlite_sequence")? {
        found.sequence = conn
            .prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1")?
            .query_map([EVENTS], |row| row.get::<_, i64>(0))?
            .next()
            .transpose()?;
    }
    Ok(found)
}

/// Refuses an event whose (memory_id, version) is not a carried record.
fn check_event_key(row: &[Value], versions: &HashSet<(String, u32)>) -> Result<()> {
    let seq = match row.first() {
        Some(Value::Integer(seq)) => seq.to_string(),
        other => format!("{other:?}"),
    };
    let corrupt = |detail: String| {
        refused(
            EVENTS,
            &seq,
            StoreError::CorruptRow {
                key: seq.clone(),
                detail,
            },
        )
    };
    // Columns 3 and 4 of EVENT_COLUMNS: memory_id, version.
    let (Some(Value::Text(memory_id)), Some(Value::Integer(version))) = (row.get(3), row.get(4))
    else {
        return Err(corrupt(
            "memory_id or version is not stored as text and integer".into(),
        ));
    };
    let version = u32::try_from(*version).map_err(|e| corrupt(format!("version: {e}")))?;
    if versions.contains(&(memory_id.clone(), version)) {
        return Ok(());
    }
    let memory_id =
        MemoryId::from_str(memory_id).map_err(|e| corrupt(format!("memory_id: {e}")))?;
    Err(refused(
        EVENTS,
        &seq,
        StoreError::UnknownMemoryVersion { memory_id, version },
    ))
}

/// Drops the original's trust tables (their indexes and triggers go with them), so schema
/// version 3 can create this build's. Inside the migration transaction.
///
/// # Errors
/// SQLite errors.
pub(crate) fn drop_tables(conn: &Connection, rows: &OutcomeRows) -> Result<()> {
    for (table, _) in &rows.tables {
        conn.execute_batch(&format!("DROP TABLE \"{table}\";"))?;
    }
    Ok(())
}

/// Writes the rows back into this build's tables, as stored: the file's rulesets and
/// projector state replace the ones schema version 3 wrote. Runs after the records are carried
/// (events name them), inside the migration transaction.
///
/// # Errors
/// [`StoreError::LegacyRow`] naming the first row a write refuses; SQLite errors.
pub(crate) fn carry(conn: &Connection, rows: &OutcomeRows) -> Result<()> {
    for (table, columns, _, replaces) in TABLES.iter().rev() {
        let width = column_names(columns).count();
        let placeholders: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
        let verb = if *replaces {
            "INSERT OR REPLACE"
        } else {
            "INSERT"
        };
        let mut insert = conn.prepare(&format!(
            "{verb} INTO {table} ({columns}) VALUES ({})",
            placeholders.join(", ")
        ))?;
        for row in rows.rows(table) {
            insert
                .execute(rusqlite::params_from_iter(row.iter()))
                .map_err(|e| refused(table, &key_of(row), StoreError::from(e)))?;
        }
    }
    if let Some(sequence) = rows.sequence {
        conn.execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2",
            rusqlite::params![sequence, EVENTS],
        )?;
    }
    Ok(())
}

fn key_of(row: &[Value]) -> String {
    match row.first() {
        Some(Value::Text(text)) => text.clone(),
        Some(Value::Integer(i)) => i.to_string(),
        other => format!("{other:?}"),
    }
}
