//! Recognising the original's layout: which of its tables exist, which version they are at
//! (recorded in its `schema_migrations`, or read from the shape of `memory_records`), and
//! whether every column the carry reads is there. Reads `sqlite_master` and
//! `pragma_table_info` only.

use std::collections::HashMap;

use memory_kernel_core::RecordType;
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};

/// The original's migration table.
pub(super) const MIGRATIONS: &str = "schema_migrations";
/// The original's records table.
pub(super) const RECORDS: &str = "memory_records";
/// The original's links table.
pub(super) const LINKS: &str = "memory_links";
/// The original's context packages table.
pub(super) const PACKAGES: &str = "context_packages";

/// The highest layout version of the original this build carries.
pub(super) const NEWEST_LAYOUT: u32 = 2;

/// The original's payload table of a record type.
pub(super) const fn payload_table(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::Constraint => "constraint_payloads",
        RecordType::Decision => "decision_payloads",
        RecordType::Preference => "preference_payloads",
        RecordType::Event => "event_payloads",
        RecordType::Outcome => "outcome_payloads",
    }
}

/// Every table of the original, children before the tables their foreign keys name: the
/// order they are dropped in.
const DROP_ORDER: [&str; 9] = [
    "constraint_payloads",
    "decision_payloads",
    "preference_payloads",
    "event_payloads",
    "outcome_payloads",
    LINKS,
    RECORDS,
    PACKAGES,
    MIGRATIONS,
];

/// The original's layout as found in a file.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    /// 0, 1 or 2.
    pub(super) version: u32,
    /// Whether `schema_migrations` had no rows (version read from the shape).
    pub(super) inferred_from_shape: bool,
    /// The original's tables present, in drop order.
    pub(super) tables: Vec<&'static str>,
    columns: HashMap<&'static str, Vec<String>>,
}

impl Layout {
    /// Whether `table` exists.
    pub(super) fn has_table(&self, table: &str) -> bool {
        self.tables.contains(&table)
    }

    /// Whether `table` has `column`.
    pub(super) fn has_column(&self, table: &str, column: &str) -> bool {
        self.columns
            .get(table)
            .is_some_and(|columns| columns.iter().any(|c| c.eq_ignore_ascii_case(column)))
    }

    /// `column` when `table` has it, else `fallback AS column`: for columns an older file may
    /// lack, whose absence means "none".
    pub(super) fn column_or(&self, table: &str, column: &str, fallback: &str) -> String {
        if self.has_column(table, column) {
            format!("\"{column}\"")
        } else {
            format!("{fallback} AS \"{column}\"")
        }
    }

    /// Refuses the layout unless `table` has every one of `columns`.
    pub(super) fn require(&self, table: &str, columns: &[&str]) -> Result<()> {
        match columns.iter().find(|c| !self.has_column(table, c)) {
            None => Ok(()),
            Some(missing) => Err(unsupported(format!(
                "{table} has no {missing} column (layout version {})",
                self.version
            ))),
        }
    }

    /// The column that keys records, payloads and link ends at this version.
    pub(super) const fn key_column(&self) -> &'static str {
        if self.version >= 2 {
            "memory_version_id"
        } else {
            "memory_id"
        }
    }
}

pub(super) fn unsupported(reason: String) -> StoreError {
    StoreError::UnsupportedLegacyLayout { reason }
}

fn columns_of(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

fn table_exists(conn: &Connection, table: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// The version the original's `schema_migrations` records (its highest row), or `None` when
/// the table is absent or empty. Only the original's shape of that table is accepted, so a
/// same-named table of some other tool is never mistaken for it.
fn recorded_version(conn: &Connection, columns: Option<&Vec<String>>) -> Result<Option<u32>> {
    let Some(columns) = columns else {
        return Ok(None);
    };
    let mut names: Vec<String> = columns.iter().map(|c| c.to_ascii_lowercase()).collect();
    names.sort();
    if names != ["applied_at", "version"] {
        return Err(unsupported(format!(
            "{MIGRATIONS} has columns {columns:?}, not the original's (version, applied_at)"
        )));
    }
    let mut stmt = conn.prepare(&format!("SELECT version FROM {MIGRATIONS}"))?;
    let mut rows = stmt.query([])?;
    let mut highest: Option<u32> = None;
    while let Some(row) = rows.next()? {
        let version = row
            .get::<_, i64>(0)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| (1..=NEWEST_LAYOUT).contains(v))
            .ok_or_else(|| {
                let shown: String = row
                    .get::<_, rusqlite::types::Value>(0)
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default();
                unsupported(format!(
                    "{MIGRATIONS} records version {shown}; this build carries the original's versions 1 and {NEWEST_LAYOUT}"
                ))
            })?;
        highest = highest.max(Some(version));
    }
    Ok(highest)
}

/// Finds the original's layout in a file that has no migration table of ours.
///
/// # Errors
/// [`StoreError::UnsupportedLegacyLayout`] when the recorded version is unknown or
/// contradicts the shape, or a column the carry reads is missing; SQLite errors.
pub(super) fn detect(conn: &Connection) -> Result<Layout> {
    let mut tables = Vec::new();
    let mut columns = HashMap::new();
    for table in DROP_ORDER {
        if table_exists(conn, table)? {
            tables.push(table);
            columns.insert(table, columns_of(conn, table)?);
        }
    }
    let recorded = recorded_version(conn, columns.get(MIGRATIONS))?;
    let shape = match columns.get(RECORDS) {
        None => 0,
        Some(cols)
            if cols
                .iter()
                .any(|c| c.eq_ignore_ascii_case("memory_version_id")) =>
        {
            2
        }
        Some(_) => 1,
    };
    if let Some(recorded) = recorded
        && recorded != shape
    {
        return Err(unsupported(format!(
            "{MIGRATIONS} records version {recorded}, but {RECORDS} has the shape of version {shape}"
        )));
    }
    let layout = Layout {
        version: shape,
        inferred_from_shape: recorded.is_none(),
        tables,
        columns,
    };
    layout.check_columns()?;
    Ok(layout)
}

impl Layout {
    /// Every column the carry reads without a fallback.
    fn check_columns(&self) -> Result<()> {
        let key = self.key_column();
        if self.has_table(RECORDS) {
            let mut required = vec![
                key,
                "record_type",
                "created_at",
                "effective_at",
                "truth_status",
                "authority",
                "writer",
                "justification",
                "source_uri",
            ];
            if self.version >= 2 {
                required.extend(["memory_id", "version"]);
            }
            self.require(RECORDS, &required)?;
        }
        for record_type in RecordType::ALL {
            let table = payload_table(*record_type);
            if !self.has_table(table) {
                continue;
            }
            if *record_type == RecordType::Constraint {
                self.require(table, &[key, "actor", "action", "resource", "effect"])?;
            } else {
                self.require(table, &[key, "summary"])?;
            }
        }
        if self.has_table(LINKS) {
            let (from, to) = self.link_end_columns();
            self.require(
                LINKS,
                &[
                    from,
                    to,
                    "link_type",
                    "writer",
                    "justification",
                    "created_at",
                ],
            )?;
        }
        if self.has_table(PACKAGES) {
            self.require(PACKAGES, &["context_package_id", "package_json"])?;
        }
        Ok(())
    }

    /// The two columns naming a link's ends at this version.
    pub(super) const fn link_end_columns(&self) -> (&'static str, &'static str) {
        if self.version >= 2 {
            ("from_memory_version_id", "to_memory_version_id")
        } else {
            ("from_memory_id", "to_memory_id")
        }
    }
}
