//! The recall documents (`mk_recall_docs`) held in memory, so a recall joins a term's postings
//! to their documents without a B-tree search per match (see `docs/spec/resolver.md`,
//! "Indexed recall").
//!
//! Documents are append-only and numbered in write order, so the cache never goes stale: each
//! recall first checks, in its own read transaction, that the newest cached document is still
//! the database's document of that number, then loads the documents written since. A file
//! that no longer agrees (a restore, another database at the same path) is loaded afresh.

use std::sync::{PoisonError, RwLock};

use memory_kernel_core::{
    Authority, Confidence, MemoryId, MemoryVersionId, RecordType, Timestamp, TruthStatus,
};
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::rows::{confidence_at, parse};

/// One recall document: every field the recall order reads, and the record's length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Doc {
    pub(crate) doc: i64,
    pub(crate) memory_version_id: MemoryVersionId,
    pub(crate) memory_id: MemoryId,
    pub(crate) record_type: RecordType,
    pub(crate) created_at: Timestamp,
    pub(crate) effective_at: Timestamp,
    pub(crate) created_at_nanos: i64,
    pub(crate) effective_at_nanos: i64,
    pub(crate) truth_status: TruthStatus,
    pub(crate) authority: Authority,
    pub(crate) confidence: Option<Confidence>,
    pub(crate) length: u32,
}

/// The cached documents, ascending by number.
#[derive(Debug, Default)]
pub(crate) struct DocCache {
    docs: RwLock<Vec<Doc>>,
}

pub(crate) const DOC_COLUMNS: &str = "doc, memory_version_id, memory_id, record_type, created_at_nanos, \
    effective_at_nanos, truth_status, authority, confidence, length";

impl DocCache {
    /// Brings the cache up to the database `conn` reads (call inside the read transaction the
    /// recall uses), then runs `f` over the documents.
    pub(crate) fn with_docs<T>(
        &self,
        conn: &Connection,
        f: impl FnOnce(&[Doc]) -> Result<T>,
    ) -> Result<T> {
        let newest: Option<(i64, String)> = conn
            .prepare_cached(
                "SELECT doc, memory_version_id FROM mk_recall_docs ORDER BY doc DESC LIMIT 1",
            )?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        {
            let docs = self.docs.read().unwrap_or_else(PoisonError::into_inner);
            if agrees(&docs, newest.as_ref()) {
                return f(&docs);
            }
        }
        let mut docs = self.docs.write().unwrap_or_else(PoisonError::into_inner);
        if !agrees(&docs, newest.as_ref()) {
            refresh(conn, &mut docs)?;
        }
        // Readers wait for the load; the documents themselves never change once read.
        f(&docs)
    }
}

/// Whether the cache ends with the database's newest document.
fn agrees(docs: &[Doc], newest: Option<&(i64, String)>) -> bool {
    match (docs.last(), newest) {
        (None, None) => true,
        (Some(last), Some((doc, id))) => {
            last.doc == *doc && last.memory_version_id.to_string() == *id
        }
        _ => false,
    }
}

/// Loads the documents written since the cache's newest one, or all of them when the cache's
/// newest one is not the database's document of that number.
fn refresh(conn: &Connection, docs: &mut Vec<Doc>) -> Result<()> {
    let still_there = match docs.last() {
        None => true,
        Some(last) => conn
            .prepare_cached("SELECT memory_version_id FROM mk_recall_docs WHERE doc = ?1")?
            .query_row([last.doc], |row| row.get::<_, String>(0))
            .optional()?
            .is_some_and(|id| id == last.memory_version_id.to_string()),
    };
    if !still_there {
        docs.clear();
    }
    let after = docs.last().map_or(0, |last| last.doc);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DOC_COLUMNS} FROM mk_recall_docs WHERE doc > ?1 ORDER BY doc"
    ))?;
    let mut rows = stmt.query([after])?;
    while let Some(row) = rows.next()? {
        docs.push(doc_from_row(row)?);
    }
    Ok(())
}

fn doc_from_row(row: &rusqlite::Row<'_>) -> Result<Doc> {
    doc_from_cells(row)
}

/// Reads the [`DOC_COLUMNS`] of a row of either engine.
pub(crate) fn doc_from_cells(row: &(impl crate::rows::Cells + ?Sized)) -> Result<Doc> {
    let key: String = row.text(1)?;
    let key = key.as_str();
    let instant = |nanos: i64, name: &str| -> Result<Timestamp> {
        Timestamp::from_unix_nanos(i128::from(nanos)).map_err(|e| StoreError::CorruptRow {
            key: key.to_owned(),
            detail: format!("{name}: {e}"),
        })
    };
    let created_at_nanos: i64 = row.int(4)?;
    let effective_at_nanos: i64 = row.int(5)?;
    let confidence = confidence_at(row, 8, key)?;
    Ok(Doc {
        doc: row.int(0)?,
        memory_version_id: parse(key, "memory_version_id", key)?,
        memory_id: parse(key, "memory_id", &row.text(2)?)?,
        record_type: parse(key, "record_type", &row.text(3)?)?,
        created_at: instant(created_at_nanos, "created_at_nanos")?,
        effective_at: instant(effective_at_nanos, "effective_at_nanos")?,
        created_at_nanos,
        effective_at_nanos,
        truth_status: parse(key, "truth_status", &row.text(6)?)?,
        authority: parse(key, "authority", &row.text(7)?)?,
        confidence,
        length: u32::try_from(row.int(9)?).unwrap_or(u32::MAX),
    })
}

/// The cached document numbered `doc`.
pub(crate) fn find(docs: &[Doc], doc: i64) -> Option<&Doc> {
    // Numbers are assigned in order and never deleted, so document `n` is usually at `n - 1`.
    let guess = usize::try_from(doc - 1).ok();
    match guess.and_then(|index| docs.get(index)) {
        Some(found) if found.doc == doc => Some(found),
        _ => docs
            .binary_search_by_key(&doc, |d| d.doc)
            .ok()
            .and_then(|index| docs.get(index)),
    }
}
