//! Writing what [`super::read`] found, inside the migration transaction, then dropping the
//! original's tables. Records go through the store's one record-write path, so the term index,
//! lineage edges and lists are filled exactly as for a record written through the API.

use rusqlite::Connection;

use super::UPSTREAM_PACKAGE_KIND;
use super::layout::{LINKS, PACKAGES, RECORDS};
use super::read::{LegacyContent, refused};
use crate::error::Result;
use crate::packages::insert_package;
use crate::records::{insert_link, write_record};

/// Carries every record, link, context package and trust row of `content` into the current schema
/// (which must already exist on `conn`), then drops the original's tables. Runs inside the
/// caller's transaction: any error leaves the transaction to be rolled back whole.
///
/// # Errors
/// [`crate::StoreError::LegacyRow`] naming the first row a write refuses; SQLite errors.
pub(crate) fn carry(conn: &Connection, content: &LegacyContent) -> Result<()> {
    for carried in &content.records {
        write_record(conn, &carried.record).map_err(|e| refused(RECORDS, &carried.key, e))?;
    }
    for (key, link) in &content.links {
        insert_link(conn, link).map_err(|e| refused(LINKS, key, e))?;
    }
    for (id, json) in &content.packages {
        insert_package(conn, id, UPSTREAM_PACKAGE_KIND, json)
            .map_err(|e| refused(PACKAGES, id, e))?;
    }
    super::outcome::carry(conn, &content.outcome)?;
    for table in content.tables() {
        conn.execute_batch(&format!("DROP TABLE \"{table}\";"))?;
    }
    Ok(())
}
