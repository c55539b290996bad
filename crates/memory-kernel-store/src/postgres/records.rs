//! Appending records and links on PostgreSQL: the same checks, in the same order, as the
//! SQLite engine's (`crate::records`), inside a write transaction holding the writer lock.

use std::time::Instant;

use memory_kernel_core::terms::record_postings;
use memory_kernel_core::{
    LineageEdge, Link, MemoryId, MemoryRecord, MemoryVersionId, Payload, RecordType,
};
use postgres::types::Type;

use super::{Cached, Pg, collect, is_uniqueness_violation};
use crate::error::{Result, StoreError};
use crate::records::{StoredVersions, add_link, check_new_record, nanos};
use crate::rows::{LINK_COLUMNS, link_from_cells};
use crate::schema::payload_table;

impl Pg<'_> {
    pub(crate) fn insert_records(
        &self,
        records: &[MemoryRecord],
        deadline: Option<Instant>,
    ) -> Result<()> {
        self.write(deadline, |tx| {
            records.iter().try_for_each(|record| {
                record.validate()?;
                write_record(tx, record)
            })
        })
    }

    pub(crate) fn insert_link(&self, link: &Link, deadline: Option<Instant>) -> Result<Link> {
        self.write(deadline, |tx| add_link(&mut PgVersions(tx), link))
    }

    pub(crate) fn next_version(&self, memory_id: MemoryId) -> Result<u32> {
        next_version(&mut self.current(self.deadline)?.session(), memory_id)
    }
}

fn next_version(client: &mut impl Cached, memory_id: MemoryId) -> Result<u32> {
    let latest: i64 = client
        .query_typed_one(
            "SELECT COALESCE(MAX(version), 0) FROM mk_memory_records WHERE memory_id = $1",
            &[(&memory_id.to_string(), Type::TEXT)],
        )?
        .try_get(0)?;
    u32::try_from(latest)
        .ok()
        .and_then(|v| v.checked_add(1))
        .ok_or_else(|| StoreError::CorruptRow {
            key: memory_id.to_string(),
            detail: format!("version {latest} out of range"),
        })
}

pub(crate) fn record_exists(client: &mut impl Cached, id: MemoryVersionId) -> Result<bool> {
    Ok(client
        .query_typed_opt(
            "SELECT 1 FROM mk_memory_records WHERE memory_version_id = $1",
            &[(&id.to_string(), Type::TEXT)],
        )?
        .is_some())
}

fn json_ids(ids: &[MemoryVersionId]) -> Result<String> {
    serde_json::to_string(ids).map_err(|e| StoreError::CorruptRow {
        key: "lineage".to_owned(),
        detail: e.to_string(),
    })
}

struct PgVersions<'c, C>(&'c mut C);

impl<C: Cached> StoredVersions for PgVersions<'_, C> {
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

/// The store's own rules (`crate::records::check_new_record`), then the row, its payload row, its lineage edges and its recall
/// document and postings.
pub(crate) fn write_record(tx: &mut impl Cached, record: &MemoryRecord) -> Result<()> {
    let id = record.memory_version_id;
    let expected = check_new_record(&mut PgVersions(&mut *tx), record)?;
    let evidence =
        serde_json::to_string(&record.provenance.evidence).map_err(|e| StoreError::CorruptRow {
            key: id.to_string(),
            detail: e.to_string(),
        })?;
    let inserted = tx.query_typed(
        "INSERT INTO mk_memory_records (memory_version_id, memory_id, version, record_type,
            created_at, created_at_nanos, effective_at, effective_at_nanos, truth_status,
            authority, confidence, writer, justification, source_uri, source_hash,
            evidence_json, supersedes_json, contradicts_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        &[
            (&id.to_string(), Type::TEXT),
            (&record.memory_id.to_string(), Type::TEXT),
            (&i64::from(record.version), Type::INT8),
            (&record.record_type().as_str(), Type::TEXT),
            (&record.created_at.to_string(), Type::TEXT),
            (&nanos(record.created_at)?, Type::INT8),
            (&record.effective_at.to_string(), Type::TEXT),
            (&nanos(record.effective_at)?, Type::INT8),
            (&record.truth_status.as_str(), Type::TEXT),
            (&record.authority.as_str(), Type::TEXT),
            (
                &record.confidence.map(|c| c.to_f64_exact_text()),
                Type::FLOAT8,
            ),
            (&record.writer, Type::TEXT),
            (&record.justification, Type::TEXT),
            (&record.provenance.source_uri, Type::TEXT),
            (&record.provenance.source_hash, Type::TEXT),
            (&evidence, Type::TEXT),
            (&json_ids(&record.supersedes)?, Type::TEXT),
            (&json_ids(&record.contradicts)?, Type::TEXT),
        ],
    );
    if let Err(error) = inserted {
        // The checks above run under the writer lock, so this only fires if they are bypassed.
        return Err(if is_uniqueness_violation(&error) {
            StoreError::VersionConflict {
                memory_id: record.memory_id,
                expected,
                got: record.version,
            }
        } else {
            error.into()
        });
    }
    insert_payload(tx, id, &record.payload)?;
    for edge in LineageEdge::from_record(record) {
        insert_edge(tx, &edge)?;
    }
    insert_terms(tx, record)
}

/// The recall document (numbered one past the newest, as SQLite's rowid is) with its running
/// figures, and one posting per distinct term.
fn insert_terms(tx: &mut impl Cached, record: &MemoryRecord) -> Result<()> {
    let postings = record_postings(record);
    let visible_from = nanos(record.created_at)?.max(nanos(record.effective_at)?);
    let previous = newest_of_type(tx, record.record_type())?;
    let (ordinal, watermark) = previous.map_or((1, visible_from), |(ordinal, watermark)| {
        (ordinal + 1, watermark.max(visible_from))
    });
    let doc: i64 = tx
        .query_typed_one(
            "INSERT INTO mk_recall_docs (doc, memory_version_id, memory_id, record_type,
                created_at_nanos, effective_at_nanos, truth_status, authority, confidence,
                length, type_ordinal, visible_watermark_nanos)
             SELECT COALESCE(MAX(doc), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
               FROM mk_recall_docs
             RETURNING doc",
            &[
                (&record.memory_version_id.to_string(), Type::TEXT),
                (&record.memory_id.to_string(), Type::TEXT),
                (&record.record_type().as_str(), Type::TEXT),
                (&nanos(record.created_at)?, Type::INT8),
                (&nanos(record.effective_at)?, Type::INT8),
                (&record.truth_status.as_str(), Type::TEXT),
                (&record.authority.as_str(), Type::TEXT),
                (
                    &record.confidence.map(|c| c.to_f64_exact_text()),
                    Type::FLOAT8,
                ),
                (&i64::from(postings.length), Type::INT8),
                (&ordinal, Type::INT8),
                (&watermark, Type::INT8),
            ],
        )?
        .try_get(0)?;
    let (terms, frequencies): (Vec<&str>, Vec<i64>) = postings
        .terms
        .iter()
        .map(|(term, frequency)| (term.as_str(), i64::from(*frequency)))
        .unzip();
    tx.query_typed(
        "INSERT INTO mk_recall_postings (term, doc, frequency)
         SELECT t.term, $2, t.frequency FROM UNNEST($1::text[], $3::bigint[]) AS t(term, frequency)",
        &[(&terms, Type::TEXT_ARRAY), (&doc, Type::INT8), (&frequencies, Type::INT8_ARRAY)],
    )?;
    Ok(())
}

/// The running figures of a type's newest recall document.
pub(crate) fn newest_of_type(
    client: &mut impl Cached,
    record_type: RecordType,
) -> Result<Option<(i64, i64)>> {
    client
        .query_typed_opt(
            "SELECT type_ordinal, visible_watermark_nanos FROM mk_recall_docs \
             WHERE record_type = $1 ORDER BY type_ordinal DESC LIMIT 1",
            &[(&record_type.as_str(), Type::TEXT)],
        )?
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .transpose()
}

fn insert_payload(tx: &mut impl Cached, id: MemoryVersionId, payload: &Payload) -> Result<()> {
    let table = payload_table(payload.record_type());
    match payload {
        Payload::Constraint(c) => {
            tx.query_typed(
                &format!(
                    "INSERT INTO {table} (memory_version_id, actor, action, resource, effect, note)
                     VALUES ($1, $2, $3, $4, $5, $6)"
                ),
                &[
                    (&id.to_string(), Type::TEXT),
                    (&c.scope.actor, Type::TEXT),
                    (&c.scope.action, Type::TEXT),
                    (&c.scope.resource, Type::TEXT),
                    (&c.effect.as_str(), Type::TEXT),
                    (&c.note, Type::TEXT),
                ],
            )?;
        }
        Payload::Decision(s) | Payload::Preference(s) | Payload::Event(s) | Payload::Outcome(s) => {
            tx.query_typed(
                &format!("INSERT INTO {table} (memory_version_id, summary) VALUES ($1, $2)"),
                &[(&id.to_string(), Type::TEXT), (&s.summary, Type::TEXT)],
            )?;
        }
    }
    Ok(())
}

fn insert_edge(tx: &mut impl Cached, edge: &LineageEdge) -> Result<()> {
    tx.query_typed(
        "INSERT INTO mk_lineage_edges (edge_id, from_version_id, to_version_id, relation,
            visible_from, visible_from_nanos)
         SELECT COALESCE(MAX(edge_id), 0) + 1, $1, $2, $3, $4, $5 FROM mk_lineage_edges",
        &[
            (&edge.from.to_string(), Type::TEXT),
            (&edge.to.to_string(), Type::TEXT),
            (&edge.relation.as_str(), Type::TEXT),
            (&edge.visible_from.to_string(), Type::TEXT),
            (&nanos(edge.visible_from)?, Type::INT8),
        ],
    )?;
    Ok(())
}

fn same_link(tx: &mut impl Cached, link: &Link) -> Result<Option<Link>> {
    let rows = tx.query_typed(
        &format!(
            "SELECT {LINK_COLUMNS} FROM mk_memory_links l
              WHERE l.from_version_id = $1 AND l.to_version_id = $2 AND l.relation = $3
              ORDER BY l.created_at_nanos, l.link_id LIMIT 1"
        ),
        &[
            (&link.from.to_string(), Type::TEXT),
            (&link.to.to_string(), Type::TEXT),
            (&link.relation.as_str(), Type::TEXT),
        ],
    )?;
    Ok(collect(&rows, link_from_cells)?.into_iter().next())
}

fn supersedes_path(
    tx: &mut impl Cached,
    start: MemoryVersionId,
    goal: MemoryVersionId,
) -> Result<bool> {
    Ok(tx
        .query_typed_opt(
            "WITH RECURSIVE reach(id) AS (
                 SELECT $1::text COLLATE \"C\"
                 UNION
                 SELECT e.to_version_id FROM mk_lineage_edges e JOIN reach r
                   ON e.from_version_id = r.id
                  WHERE e.relation = 'supersedes'
             )
             SELECT 1 FROM reach WHERE id = $2 LIMIT 1",
            &[
                (&start.to_string(), Type::TEXT),
                (&goal.to_string(), Type::TEXT),
            ],
        )?
        .is_some())
}

pub(crate) fn insert_link(tx: &mut impl Cached, link: &Link) -> Result<()> {
    let inserted = tx.query_typed(
        "INSERT INTO mk_memory_links (link_id, from_version_id, to_version_id, relation, writer,
            justification, created_at, created_at_nanos)
         SELECT COALESCE(MAX(link_id), 0) + 1, $1, $2, $3, $4, $5, $6, $7 FROM mk_memory_links",
        &[
            (&link.from.to_string(), Type::TEXT),
            (&link.to.to_string(), Type::TEXT),
            (&link.relation.as_str(), Type::TEXT),
            (&link.writer, Type::TEXT),
            (&link.justification, Type::TEXT),
            (&link.created_at.to_string(), Type::TEXT),
            (&nanos(link.created_at)?, Type::INT8),
        ],
    );
    if let Err(error) = inserted {
        return Err(if is_uniqueness_violation(&error) {
            StoreError::DuplicateLink {
                from: link.from,
                to: link.to,
                relation: link.relation,
            }
        } else {
            error.into()
        });
    }
    insert_edge(tx, &LineageEdge::from_link(link))
}
