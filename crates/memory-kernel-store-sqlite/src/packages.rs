//! Context packages (MKR-047): stored verbatim by id so a later `context show` returns the
//! exact bytes the query produced. Package ids are derived from the query and snapshot, so
//! storing the same id twice is the same package: the first copy is kept, never a conflict.

use memory_kernel_core::ValidationError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rows::collect;
use crate::store::Store;

/// A stored context package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredContextPackage {
    /// The package id.
    pub context_package_id: String,
    /// The query kind that produced it (e.g. `ask`, `recall`).
    pub kind: String,
    /// The package JSON, byte for byte as stored.
    pub package_json: String,
}

impl Store {
    /// Stores a package unless one with this id exists, and returns the stored JSON (the
    /// existing one when the id was already present).
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] for a blank id or kind; SQLite errors (including a
    /// CHECK failure when `json` is not valid JSON); schema-gate errors.
    pub fn put_context_package(&self, id: &str, kind: &str, json: &str) -> Result<String> {
        check_non_empty("context_package_id", id)?;
        check_non_empty("kind", kind)?;
        self.write_tx(None, |tx| {
            insert_package(tx, id, kind, json)?;
            Ok(get_package(tx, id)?.unwrap_or_else(|| json.to_owned()))
        })
    }

    /// The stored JSON of a package, or `None`.
    ///
    /// # Errors
    /// Schema-gate and SQLite errors.
    pub fn get_context_package(&self, id: &str) -> Result<Option<String>> {
        self.with_current_conn(|conn| get_package(conn, id))
    }

    /// Every stored package, ordered by id (for export).
    ///
    /// # Errors
    /// Schema-gate and SQLite errors.
    pub fn all_context_packages(&self) -> Result<Vec<StoredContextPackage>> {
        self.with_current_conn(|conn| all_packages(conn))
    }
}

fn check_non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(ValidationError::EmptyField { field }.into());
    }
    Ok(())
}

/// Inserts a package unless its id is stored; returns whether a row was added.
pub(crate) fn insert_package(conn: &Connection, id: &str, kind: &str, json: &str) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO mk_context_packages (context_package_id, kind, package_json)
             VALUES (?1, ?2, ?3) ON CONFLICT (context_package_id) DO NOTHING",
        )?
        .execute(params![id, kind, json])?;
    Ok(added == 1)
}

pub(crate) fn get_package(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT package_json FROM mk_context_packages WHERE context_package_id = ?1",
        )?
        .query_row([id], |row| row.get(0))
        .optional()?)
}

pub(crate) fn all_packages(conn: &Connection) -> Result<Vec<StoredContextPackage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT context_package_id, kind, package_json FROM mk_context_packages
         ORDER BY context_package_id",
    )?;
    collect(stmt.query([])?, |row| {
        Ok(StoredContextPackage {
            context_package_id: row.get(0)?,
            kind: row.get(1)?,
            package_json: row.get(2)?,
        })
    })
}
