//! Appending records and links. Each write checks the domain rules in core, then the store's
//! own rules (version sequence, lineage targets exist, no duplicates), then writes the row, its
//! payload row, its lineage edges and its recall terms together.

use std::time::Instant;

use memory_kernel_core::terms::record_postings;
use memory_kernel_core::{
    LineageEdge, Link, MemoryId, MemoryRecord, MemoryVersionId, Payload, RecordType, Relation,
    Timestamp, ValidationError,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{Result, StoreError, extended_code, is_uniqueness_violation};
use crate::rows::{LINK_COLUMNS, RECORD_COLUMNS, collect, link_from_row, record_from_row};
use crate::schema::payload_table;
use crate::store::Store;

impl Store {
    /// Appends one record (MKR-002) in its own transaction.
    ///
    /// # Errors
    /// [`StoreError::Validation`] when core refuses the record;
    /// [`StoreError::DuplicateRecord`] when its memory_version_id is stored;
    /// [`StoreError::VersionConflict`] unless `version` is one past the latest stored version
    /// of its memory; [`StoreError::UnknownLineageTarget`] when a `supersedes`/`contradicts`
    /// entry names no stored version; [`StoreError::DeadlineExceeded`] (nothing written);
    /// schema-gate and SQLite errors.
    pub fn insert_record(&self, record: &MemoryRecord, deadline: Option<Instant>) -> Result<()> {
        if let Some(pg) = self.postgres() {
            return pg.insert_records(std::slice::from_ref(record), deadline);
        }
        self.write_tx(deadline, |tx| insert_record(tx, record))
    }

    /// Appends records in order, all in one transaction: either every record is stored or
    /// none is. Each record is checked exactly as by [`Store::insert_record`], against the
    /// database plus the records before it in the slice.
    ///
    /// # Errors
    /// As [`Store::insert_record`], for the first record that fails.
    pub fn insert_records(
        &self,
        records: &[MemoryRecord],
        deadline: Option<Instant>,
    ) -> Result<()> {
        if let Some(pg) = self.postgres() {
            return pg.insert_records(records, deadline);
        }
        self.write_tx(deadline, |tx| {
            records
                .iter()
                .try_for_each(|record| insert_record(tx, record))
        })
    }

    /// Writes a new lineage link in its own transaction and returns the link as stored.
    ///
    /// Sending the same link again is idempotent: when a link with the same ends and relation
    /// is stored, nothing is written and that stored link is returned (its writer,
    /// justification and instant are the first ones). A `supersedes` link that would close a
    /// cycle (its target already supersedes its source, directly or through other versions)
    /// is refused: both ends would hide each other from recall. Both checks run inside the
    /// write transaction, so concurrent writers cannot race past them.
    ///
    /// # Errors
    /// [`StoreError::Validation`] (with [`ValidationError::SupersedesCycle`] for a cycle);
    /// [`StoreError::UnknownLineageTarget`] when either end is not stored;
    /// [`StoreError::DeadlineExceeded`]; schema-gate and SQLite errors.
    pub fn insert_link(&self, link: &Link, deadline: Option<Instant>) -> Result<Link> {
        if let Some(pg) = self.postgres() {
            return pg.insert_link(link, deadline);
        }
        self.write_tx(deadline, |tx| add_link(&mut SqliteVersions(tx), link))
    }

    /// The version the next record of `memory_id` must carry (1 for a new memory).
    ///
    /// # Errors
    /// Schema-gate and SQLite errors.
    pub fn next_version(&self, memory_id: MemoryId) -> Result<u32> {
        if let Some(pg) = self.postgres() {
            return pg.next_version(memory_id);
        }
        self.with_current_conn(|conn| next_version(conn, memory_id))
    }
}

/// Nanoseconds since the epoch as a SQLite integer.
pub(crate) fn nanos(ts: Timestamp) -> Result<i64> {
    i64::try_from(ts.unix_nanos()).map_err(|_| StoreError::TimestampOutOfRange {
        value: ts.to_string(),
    })
}

pub(crate) fn next_version(conn: &Connection, memory_id: MemoryId) -> Result<u32> {
    let latest: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(version), 0) FROM mk_memory_records WHERE memory_id = ?1",
        )?
        .query_row([memory_id.to_string()], |row| row.get(0))?;
    u32::try_from(latest)
        .ok()
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| StoreError::CorruptRow {
            key: memory_id.to_string(),
            detail: format!("version {latest} out of range"),
        })
}

pub(crate) fn record_exists(conn: &Connection, id: MemoryVersionId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM mk_memory_records WHERE memory_version_id = ?1")?
        .query_row([id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

fn json_ids(ids: &[MemoryVersionId]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::CorruptRow {
        key: "lineage".to_owned(),
        detail: e.to_string(),
    })
}

/// What the store's own rules read and write about stored versions and links, on either
/// engine.
pub(crate) trait StoredVersions {
    /// Whether a record with this version id is stored.
    fn has_version(&mut self, id: MemoryVersionId) -> Result<bool>;
    /// The version the next record of `memory_id` must carry.
    fn next_version_of(&mut self, memory_id: MemoryId) -> Result<u32>;
    /// The stored link identical to `link`, if any.
    fn same_link(&mut self, link: &Link) -> Result<Option<Link>>;
    /// Whether a chain of supersedes links leads from `start` to `goal`.
    fn supersedes_path(&mut self, start: MemoryVersionId, goal: MemoryVersionId) -> Result<bool>;
    /// Stores `link` as given.
    fn insert_link(&mut self, link: &Link) -> Result<()>;
}

struct SqliteVersions<'c>(&'c Connection);

impl StoredVersions for SqliteVersions<'_> {
    fn has_version(&mut self, id: MemoryVersionId) -> Result<bool> {
        record_exists(self.0, id)
    }
    fn next_version_of(&mut self, memory_id: MemoryId) -> Result<u32> {
        next_version(self.0, memory_id)
    }
    fn same_link(&mut self, link: &Link) -> Result<Option<Link>> {
        same_link(self.0, link)
    }
    fn supersedes_path(&mut self, start: MemoryVersionId, goal: MemoryVersionId) -> Result<bool> {
        supersedes_path(self.0, start, goal)
    }
    fn insert_link(&mut self, link: &Link) -> Result<()> {
        insert_link(self.0, link)
    }
}

/// The store's rules for a new link, in order, for either engine: core's validation, both
/// ends stored, an identical stored link returned as it is, no supersedes cycle. Returns the
/// link as stored.
pub(crate) fn add_link(stored: &mut impl StoredVersions, link: &Link) -> Result<Link> {
    link.validate()?;
    for end in [link.from, link.to] {
        if !stored.has_version(end)? {
            return Err(StoreError::UnknownLineageTarget { id: end });
        }
    }
    if let Some(existing) = stored.same_link(link)? {
        return Ok(existing);
    }
    if link.relation == Relation::Supersedes && stored.supersedes_path(link.to, link.from)? {
        return Err(ValidationError::SupersedesCycle {
            from: link.from.to_string(),
            to: link.to.to_string(),
        }
        .into());
    }
    stored.insert_link(link)?;
    Ok(link.clone())
}

/// The store's own rules for a record about to be written, in order, for either engine: no
/// stored record has its version id, its version is the next of its memory, and every version
/// it supersedes or contradicts is stored. Returns the version it had to carry.
pub(crate) fn check_new_record(
    stored: &mut impl StoredVersions,
    record: &MemoryRecord,
) -> Result<u32> {
    if stored.has_version(record.memory_version_id)? {
        return Err(StoreError::DuplicateRecord {
            memory_version_id: record.memory_version_id,
        });
    }
    let expected = stored.next_version_of(record.memory_id)?;
    if record.version != expected {
        return Err(StoreError::VersionConflict {
            memory_id: record.memory_id,
            expected,
            got: record.version,
        });
    }
    for target in record.supersedes.iter().chain(&record.contradicts) {
        if !stored.has_version(*target)? {
            return Err(StoreError::UnknownLineageTarget { id: *target });
        }
    }
    Ok(expected)
}

/// Checks and appends one record inside an open transaction.
pub(crate) fn insert_record(conn: &Connection, record: &MemoryRecord) -> Result<()> {
    record.validate()?;
    write_record(conn, record)
}

/// Appends a record whose domain rules the caller has already checked: the store's own rules
/// (no duplicate, next version, lineage targets stored), then the row, its payload row, its
/// lineage edges and its recall terms. Every record enters the store through here.
pub(crate) fn write_record(conn: &Connection, record: &MemoryRecord) -> Result<()> {
    let id = record.memory_version_id;
    let expected = check_new_record(&mut SqliteVersions(conn), record)?;
    let evidence =
        serde_json::to_string(&record.provenance.evidence).map_err(|e| StoreError::CorruptRow {
            key: id.to_string(),
            detail: e.to_string(),
        })?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO mk_memory_records (memory_version_id, memory_id, version, record_type,
                created_at, created_at_nanos, effective_at, effective_at_nanos, truth_status,
                authority, confidence, writer, justification, source_uri, source_hash,
                evidence_json, supersedes_json, contradicts_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?
        .execute(params![
            id.to_string(),
            record.memory_id.to_string(),
            record.version,
            record.record_type().as_str(),
            record.created_at.to_string(),
            nanos(record.created_at)?,
            record.effective_at.to_string(),
            nanos(record.effective_at)?,
            record.truth_status.as_str(),
            record.authority.as_str(),
            record.confidence.map(|c| c.to_f64_exact_text()),
            record.writer,
            record.justification,
            record.provenance.source_uri,
            record.provenance.source_hash,
            evidence,
            json_ids(&record.supersedes)?,
            json_ids(&record.contradicts)?,
        ]);
    if let Err(error) = inserted {
        // The checks above run under the write lock, so this only fires if they are bypassed.
        return Err(
            if extended_code(&error) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) {
                StoreError::DuplicateRecord {
                    memory_version_id: id,
                }
            } else if is_uniqueness_violation(&error) {
                StoreError::VersionConflict {
                    memory_id: record.memory_id,
                    expected,
                    got: record.version,
                }
            } else {
                error.into()
            },
        );
    }
    insert_payload(conn, id, &record.payload)?;
    for edge in LineageEdge::from_record(record) {
        insert_edge(conn, &edge)?;
    }
    insert_terms(conn, record)
}

/// Indexes a record for recall: a document row with its ranking fields, length and running
/// count of its type, and a posting per distinct term with its frequency (core's rules, so the
/// index ranks exactly as recall over the record would). Runs inside the write transaction,
/// so the running figures follow the documents of the type written before it.
fn insert_terms(conn: &Connection, record: &MemoryRecord) -> Result<()> {
    let postings = record_postings(record);
    let record_type = record.record_type().as_str();
    let visible_from = nanos(record.created_at)?.max(nanos(record.effective_at)?);
    let previous = newest_of_type(conn, record.record_type())?;
    let (ordinal, watermark) = previous.map_or((1, visible_from), |(ordinal, watermark)| {
        (ordinal + 1, watermark.max(visible_from))
    });
    conn.prepare_cached(
        "INSERT INTO mk_recall_docs (memory_version_id, memory_id, record_type, \
         created_at_nanos, effective_at_nanos, truth_status, authority, confidence, length, \
         type_ordinal, visible_watermark_nanos) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        record.memory_version_id.to_string(),
        record.memory_id.to_string(),
        record_type,
        nanos(record.created_at)?,
        nanos(record.effective_at)?,
        record.truth_status.as_str(),
        record.authority.as_str(),
        record.confidence.map(|c| c.to_f64_exact_text()),
        postings.length,
        ordinal,
        watermark,
    ])?;
    let doc = conn.last_insert_rowid();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO mk_recall_postings (term, doc, frequency) VALUES (?1, ?2, ?3)",
    )?;
    for (term, frequency) in &postings.terms {
        stmt.execute(params![term, doc, frequency])?;
    }
    Ok(())
}

/// The running figures of a type's newest recall document: how many documents of the type
/// exist and the instant by which all of them are visible; `None` before the first.
pub(crate) fn newest_of_type(
    conn: &Connection,
    record_type: RecordType,
) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT type_ordinal, visible_watermark_nanos FROM mk_recall_docs \
             WHERE record_type = ?1 ORDER BY type_ordinal DESC LIMIT 1",
        )?
        .query_row([record_type.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// Migration 2's backfill: the term index of that version (terms only), under the current
/// term rules. Kept as it was, because a migration is never edited after release.
pub(crate) fn backfill_recall_terms(conn: &Connection) -> Result<()> {
    let mut insert = conn.prepare(
        "INSERT OR IGNORE INTO mk_recall_terms (term, memory_version_id) VALUES (?1, ?2)",
    )?;
    for_each_stored_record(conn, |record| {
        let id = record.memory_version_id.to_string();
        for term in record_postings(record).terms.keys() {
            insert.execute(params![term, id])?;
        }
        Ok(())
    })
}

/// Migration 4's backfill: postings of every stored record, exactly as a new write adds them.
pub(crate) fn backfill_recall_postings(conn: &Connection) -> Result<()> {
    for_each_stored_record(conn, |record| insert_terms(conn, record))
}

fn for_each_stored_record(
    conn: &Connection,
    mut f: impl FnMut(&MemoryRecord) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v ORDER BY v.memory_version_id"
    ))?;
    for record in collect(stmt.query([])?, record_from_row)? {
        f(&record)?;
    }
    Ok(())
}

fn insert_payload(conn: &Connection, id: MemoryVersionId, payload: &Payload) -> Result<()> {
    let table = payload_table(payload.record_type());
    match payload {
        Payload::Constraint(c) => {
            conn.prepare_cached(&format!(
                "INSERT INTO {table} (memory_version_id, actor, action, resource, effect, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))?
            .execute(params![
                id.to_string(),
                c.scope.actor,
                c.scope.action,
                c.scope.resource,
                c.effect.as_str(),
                c.note,
            ])?;
        }
        Payload::Decision(s) | Payload::Preference(s) | Payload::Event(s) | Payload::Outcome(s) => {
            conn.prepare_cached(&format!(
                "INSERT INTO {table} (memory_version_id, summary) VALUES (?1, ?2)"
            ))?
            .execute(params![id.to_string(), s.summary])?;
        }
    }
    Ok(())
}

fn insert_edge(conn: &Connection, edge: &LineageEdge) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO mk_lineage_edges (from_version_id, to_version_id, relation, visible_from,
            visible_from_nanos) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        edge.from.to_string(),
        edge.to.to_string(),
        edge.relation.as_str(),
        edge.visible_from.to_string(),
        nanos(edge.visible_from)?,
    ])?;
    Ok(())
}

/// The stored link with `link`'s ends and relation, if any.
fn same_link(conn: &Connection, link: &Link) -> Result<Option<Link>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LINK_COLUMNS} FROM mk_memory_links l
          WHERE l.from_version_id = ?1 AND l.to_version_id = ?2 AND l.relation = ?3
          ORDER BY l.created_at_nanos, l.link_id LIMIT 1"
    ))?;
    let rows = stmt.query(params![
        link.from.to_string(),
        link.to.to_string(),
        link.relation.as_str(),
    ])?;
    Ok(collect(rows, link_from_row)?.into_iter().next())
}

/// Whether `start` supersedes `goal`, directly or through a chain of `supersedes` edges (from
/// records and links alike).
fn supersedes_path(
    conn: &Connection,
    start: MemoryVersionId,
    goal: MemoryVersionId,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE reach(id) AS (
                 SELECT ?1
                 UNION
                 SELECT e.to_version_id FROM mk_lineage_edges e JOIN reach r
                   ON e.from_version_id = r.id
                  WHERE e.relation = 'supersedes'
             )
             SELECT 1 FROM reach WHERE id = ?2 LIMIT 1",
        )?
        .query_row(params![start.to_string(), goal.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(crate) fn link_exists(conn: &Connection, link: &Link) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM mk_memory_links WHERE from_version_id = ?1 AND to_version_id = ?2
               AND relation = ?3 AND created_at_nanos = ?4 AND writer = ?5 AND justification = ?6",
        )?
        .query_row(
            params![
                link.from.to_string(),
                link.to.to_string(),
                link.relation.as_str(),
                nanos(link.created_at)?,
                link.writer,
                link.justification,
            ],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Checks and appends one link inside an open transaction.
pub(crate) fn insert_link(conn: &Connection, link: &Link) -> Result<()> {
    link.validate()?;
    for end in [link.from, link.to] {
        if !record_exists(conn, end)? {
            return Err(StoreError::UnknownLineageTarget { id: end });
        }
    }
    let duplicate = || StoreError::DuplicateLink {
        from: link.from,
        to: link.to,
        relation: link.relation,
    };
    if link_exists(conn, link)? {
        return Err(duplicate());
    }
    conn.prepare_cached(
        "INSERT INTO mk_memory_links (from_version_id, to_version_id, relation, writer,
            justification, created_at, created_at_nanos) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        link.from.to_string(),
        link.to.to_string(),
        link.relation.as_str(),
        link.writer,
        link.justification,
        link.created_at.to_string(),
        nanos(link.created_at)?,
    ])
    .map_err(|e| {
        if is_uniqueness_violation(&e) {
            duplicate()
        } else {
            e.into()
        }
    })?;
    insert_edge(conn, &LineageEdge::from_link(link))
}
