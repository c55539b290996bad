//! Schema status and the forward-only migration runner (MKR-025, MKR-031, MKR-032).
//!
//! Reading the status only reads `sqlite_master`, `pragma_table_info` and the migration table,
//! so it is safe on a read-only connection and leaves the file byte-identical.

use memory_kernel_core::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::error::{Result, StoreError};
use crate::legacy::{self, LegacyContent, LegacyInventory};
use crate::schema::{self, LEGACY_TABLES, MIGRATIONS_TABLE, VERSION_ID_COLUMNS};

/// Where a database's schema stands relative to this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaStatus {
    /// The highest applied migration (0 for a fresh or legacy file).
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions `migrate` would apply, ascending.
    pub pending_versions: Vec<u32>,
    /// True when nothing is pending and the layout is not legacy.
    pub up_to_date: bool,
    /// True when the file holds MemoryKernel tables of the unversioned layout that predates
    /// the migration table; its version is inferred as 0.
    pub inferred_from_legacy: bool,
}

impl SchemaStatus {
    /// Succeeds when data operations may run.
    ///
    /// # Errors
    /// [`StoreError::LegacySchema`] or [`StoreError::SchemaOutdated`], both naming
    /// `mk db migrate`.
    pub fn require_current(&self) -> Result<()> {
        if self.inferred_from_legacy {
            Err(StoreError::LegacySchema)
        } else if self.up_to_date {
            Ok(())
        } else {
            Err(StoreError::SchemaOutdated {
                current: self.current_version,
                target: self.target_version,
            })
        }
    }
}

/// What `migrate` did, or would do under `dry_run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Whether this was a plan only (the file was not touched).
    pub dry_run: bool,
    /// The version before migrating.
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions applied (or that would be applied), ascending.
    pub would_apply_versions: Vec<u32>,
    /// Whether the starting layout was legacy.
    pub inferred_from_legacy: bool,
    /// The version after migrating; `None` on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_version: Option<u32>,
    /// Whether the schema is current after migrating; `None` on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_date: Option<bool>,
    /// Tables of the legacy layout found in the file before migrating. A migration carries
    /// their rows into the current schema and then drops them, in the same transaction; see
    /// `docs/spec/migrations.md`.
    pub legacy_tables: Vec<String>,
    /// For a file in the original MemoryKernel's layout: what the migration carries (or, after
    /// a real run, carried), counted without writing. `None` for any other file. Not part of
    /// the serialized report, whose shape the surfaces' contracts fix; a surface reads it here.
    #[serde(skip_serializing)]
    pub legacy_inventory: Option<LegacyInventory>,
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn table_columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// The legacy-layout tables present in the file.
pub(crate) fn legacy_tables(conn: &Connection) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for table in LEGACY_TABLES {
        if table_exists(conn, table)? {
            found.push((*table).to_owned());
        }
    }
    Ok(found)
}

/// Reads the schema status without writing anything.
///
/// # Errors
/// [`StoreError::UnknownSchemaVersion`] for a file migrated by a newer build,
/// [`StoreError::InconsistentMigrations`] for a damaged migration table, SQLite errors.
pub(crate) fn read_status(conn: &Connection) -> Result<SchemaStatus> {
    let target = schema::target_version();
    let (current, legacy) = if table_exists(conn, MIGRATIONS_TABLE)? {
        let applied = applied_versions(conn)?;
        let current = u32::try_from(applied.len()).unwrap_or(u32::MAX);
        let gap_free = applied
            .iter()
            .zip(1u32..)
            .all(|(version, expected)| *version == expected);
        if !gap_free {
            return Err(StoreError::InconsistentMigrations { applied });
        }
        if current > target {
            return Err(StoreError::UnknownSchemaVersion {
                found: current,
                supported: target,
            });
        }
        if current >= 1 {
            let columns = table_columns(conn, "mk_memory_records")?;
            let versioned = VERSION_ID_COLUMNS
                .iter()
                .all(|c| columns.iter().any(|have| have == c));
            if !versioned {
                // The migration table claims a layout the records table does not have.
                return Err(StoreError::InconsistentMigrations { applied });
            }
        }
        (current, false)
    } else {
        (0, !legacy_tables(conn)?.is_empty())
    };
    let pending_versions: Vec<u32> = schema::migrations()
        .iter()
        .map(|m| m.version)
        .filter(|v| *v > current)
        .collect();
    Ok(SchemaStatus {
        current_version: current,
        target_version: target,
        up_to_date: pending_versions.is_empty() && !legacy,
        pending_versions,
        inferred_from_legacy: legacy,
    })
}

fn applied_versions(conn: &Connection) -> Result<Vec<u32>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version"
    ))?;
    let versions = stmt
        .query_map([], |row| row.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(versions
        .into_iter()
        .map(|v| u32::try_from(v).unwrap_or(0))
        .collect())
}

/// The plan for `migrate`, read without writing. For a legacy file this reads and converts
/// every row of the original's layout, so a row the migration would refuse is reported here.
pub(crate) fn plan(conn: &Connection) -> Result<MigrationReport> {
    plan_with_content(conn).map(|(report, _)| report)
}

fn plan_with_content(conn: &Connection) -> Result<(MigrationReport, Option<LegacyContent>)> {
    let status = read_status(conn)?;
    let content = if status.inferred_from_legacy {
        Some(legacy::read(conn)?)
    } else {
        None
    };
    let report = MigrationReport {
        dry_run: true,
        current_version: status.current_version,
        target_version: status.target_version,
        would_apply_versions: status.pending_versions,
        inferred_from_legacy: status.inferred_from_legacy,
        after_version: None,
        up_to_date: None,
        legacy_tables: legacy_tables(conn)?,
        legacy_inventory: content.as_ref().map(LegacyContent::inventory),
    };
    Ok((report, content))
}

/// Applies every pending migration in one `BEGIN IMMEDIATE` transaction: either the file
/// reaches the target version or it is left exactly as it was. A file in the original's
/// layout has its rows carried into the new schema and its tables dropped in that same
/// transaction.
pub(crate) fn apply(conn: &mut Connection) -> Result<MigrationReport> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read inside the write lock, so two migrators cannot both apply version 1.
    let (mut report, content) = plan_with_content(&tx)?;
    let applied_at = Timestamp::now().to_string();
    // The original's trust tables carry the names this schema uses: their rows are held in
    // `content` and written back after the records, so the tables go first.
    if let Some(content) = &content {
        legacy::drop_outcome_tables(&tx, &content.outcome)?;
    }
    for migration in schema::migrations()
        .into_iter()
        .filter(|m| report.would_apply_versions.contains(&m.version))
    {
        tx.execute_batch(&migration.sql)?;
        if let Some(backfill) = migration.backfill {
            backfill(&tx)?;
        }
        tx.execute(
            &format!(
                "INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?1, ?2, ?3)"
            ),
            rusqlite::params![migration.version, migration.name, applied_at],
        )?;
    }
    if let Some(content) = &content {
        legacy::carry(&tx, content)?;
    }
    let after = read_status(&tx)?;
    tx.commit()?;
    report.dry_run = false;
    report.after_version = Some(after.current_version);
    report.up_to_date = Some(after.up_to_date);
    Ok(report)
}
