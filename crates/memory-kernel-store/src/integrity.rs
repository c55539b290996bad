//! The integrity report (MKR-034): SQLite's quick_check, foreign-key violations and the
//! schema status, all read-only.

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;
use crate::migrations::{self, SchemaStatus};
use crate::rows::collect;
use crate::store::Store;

/// One row SQLite's `foreign_key_check` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyViolation {
    /// The table holding the dangling reference.
    pub table: String,
    /// Its rowid (`None` for tables without one).
    pub rowid: Option<i64>,
    /// The table the reference should point into.
    pub parent: String,
    /// Which foreign key of `table` failed (SQLite's index).
    pub foreign_key_index: i64,
}

/// The state of the database file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// Whether `PRAGMA quick_check` answered `ok`.
    pub quick_check_ok: bool,
    /// Its answer, one finding per line (`ok` when clean).
    pub quick_check_message: String,
    /// Every foreign-key violation found.
    pub foreign_key_violations: Vec<ForeignKeyViolation>,
    /// The schema status.
    pub schema_status: SchemaStatus,
}

impl IntegrityReport {
    /// True when quick_check is clean, no foreign key dangles and the schema is current.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.quick_check_ok
            && self.foreign_key_violations.is_empty()
            && self.schema_status.up_to_date
    }
}

impl Store {
    /// Checks the file (read-only; works on any schema version this build understands).
    ///
    /// # Errors
    /// [`crate::StoreError::UnknownSchemaVersion`] and SQLite errors.
    pub fn integrity_check(&self) -> Result<IntegrityReport> {
        if let Some(pg) = self.postgres() {
            return pg.integrity_check();
        }
        self.with_conn(|conn| {
            let (quick_check_ok, quick_check_message) = quick_check(conn)?;
            let mut stmt = conn
                .prepare("SELECT \"table\", rowid, parent, fkid FROM pragma_foreign_key_check")?;
            let foreign_key_violations = collect(stmt.query([])?, |row| {
                Ok(ForeignKeyViolation {
                    table: row.get(0)?,
                    rowid: row.get(1)?,
                    parent: row.get(2)?,
                    foreign_key_index: row.get(3)?,
                })
            })?;
            Ok(IntegrityReport {
                quick_check_ok,
                quick_check_message,
                foreign_key_violations,
                schema_status: migrations::read_status(conn)?,
            })
        })
    }
}

/// Runs `PRAGMA quick_check`: whether it is clean, and its findings joined by newlines.
pub(crate) fn quick_check(conn: &Connection) -> Result<(bool, String)> {
    let mut stmt = conn.prepare("PRAGMA quick_check")?;
    let lines = collect(stmt.query([])?, |row| Ok(row.get::<_, String>(0)?))?;
    let ok = lines.len() == 1 && lines.first().is_some_and(|line| line == "ok");
    Ok((ok, lines.join("\n")))
}
