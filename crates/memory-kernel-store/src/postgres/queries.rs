//! Reads on PostgreSQL: the same candidate sets and indexed recall as the SQLite engine's
//! (`crate::queries`), so the pure resolvers in core give the same answers and packages.

use memory_kernel_core::resolver::{RecallCandidates, RecallPlan};
use memory_kernel_core::{
    ContextPackage, LineageEdge, Link, MemoryRecord, MemoryVersionId, RecallQuery, RecordSet,
    RecordType, Scope, record::WILDCARD,
};
use postgres::types::Type;

use super::records::newest_of_type;
use super::{Cached, Pg, collect};
use crate::doc_cache::{DOC_COLUMNS, doc_from_cells};
use crate::error::Result;
use crate::queries::{HitMerger, RecordFilter, recall_package, visible_from_newest};
use crate::rows::{
    EDGE_COLUMNS, LINK_COLUMNS, RECORD_COLUMNS, edge_from_cells, link_from_cells, record_from_cells,
};

impl Pg<'_> {
    pub(crate) fn list_records(&self, filter: &RecordFilter) -> Result<Vec<MemoryRecord>> {
        list_records(&mut self.current(self.deadline)?.session(), filter)
    }

    pub(crate) fn get_record(&self, id: MemoryVersionId) -> Result<Option<MemoryRecord>> {
        let rows = records_by_ids(
            &mut self.current(self.deadline)?.session(),
            &[id.to_string()],
        )?;
        Ok(rows.into_iter().next())
    }

    pub(crate) fn all_links(&self) -> Result<Vec<Link>> {
        all_links(&mut self.current(self.deadline)?.session())
    }

    pub(crate) fn ask_candidates(&self, scope: &Scope, as_of: i64) -> Result<RecordSet> {
        self.read(|tx| {
            let rows = tx.query_typed(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM mk_constraint_payloads c
                       JOIN mk_record_rows v ON v.memory_version_id = c.memory_version_id
                     WHERE c.actor IN ($1, $4) AND c.action IN ($2, $4) AND c.resource IN ($3, $4)
                       AND v.created_at_nanos <= $5 AND v.effective_at_nanos <= $5
                     ORDER BY v.created_at_nanos, v.memory_version_id"
                ),
                &[
                    (&scope.actor, Type::TEXT),
                    (&scope.action, Type::TEXT),
                    (&scope.resource, Type::TEXT),
                    (&WILDCARD, Type::TEXT),
                    (&as_of, Type::INT8),
                ],
            )?;
            let records = collect(&rows, record_from_cells)?;
            let edges = edges_touching(tx, &ids_of(&records), as_of)?;
            Ok(RecordSet {
                records,
                edges,
                unlisted_without_overlap: 0,
            })
        })
    }

    pub(crate) fn recall_candidates(
        &self,
        terms: &[String],
        record_types: &[RecordType],
        as_of: i64,
        every_visible: bool,
    ) -> Result<RecordSet> {
        let types: Vec<&str> = record_types.iter().map(|t| t.as_str()).collect();
        self.read(|tx| {
            let records = if every_visible {
                let rows = tx.query_typed(
                    &format!(
                        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v
                         WHERE v.record_type = ANY($1)
                           AND v.created_at_nanos <= $2 AND v.effective_at_nanos <= $2
                         ORDER BY v.created_at_nanos, v.memory_version_id"
                    ),
                    &[(&types, Type::TEXT_ARRAY), (&as_of, Type::INT8)],
                )?;
                collect(&rows, record_from_cells)?
            } else {
                let rows = tx.query_typed(
                    &format!(
                        "WITH listed AS (
                           SELECT DISTINCT d.memory_version_id AS id FROM mk_recall_postings t
                             JOIN mk_recall_docs d ON d.doc = t.doc
                           WHERE t.term = ANY($3))
                         SELECT {RECORD_COLUMNS} FROM listed
                           JOIN mk_record_rows v ON v.memory_version_id = listed.id
                         WHERE v.record_type = ANY($1)
                           AND v.created_at_nanos <= $2 AND v.effective_at_nanos <= $2
                         ORDER BY v.created_at_nanos, v.memory_version_id"
                    ),
                    &[
                        (&types, Type::TEXT_ARRAY),
                        (&as_of, Type::INT8),
                        (&terms, Type::TEXT_ARRAY),
                    ],
                )?;
                collect(&rows, record_from_cells)?
            };
            let unlisted_without_overlap = if every_visible {
                0
            } else {
                count_visible(tx, &types, as_of)?.saturating_sub(records.len() as u64)
            };
            let edges = edges_touching(tx, &ids_of(&records), as_of)?;
            Ok(RecordSet {
                records,
                edges,
                unlisted_without_overlap,
            })
        })
    }

    /// The indexed recall (see `crate::queries`, `Store::recall_indexed`): postings joined
    /// to their documents rank every match, and only the listed records are read.
    pub(crate) fn recall_indexed(
        &self,
        query: &RecallQuery,
        as_of: i64,
    ) -> Result<(ContextPackage, Vec<MemoryRecord>)> {
        let types: Vec<&str> = query.record_types().iter().map(|t| t.as_str()).collect();
        let doc_columns: Vec<String> = DOC_COLUMNS.split(", ").map(|c| format!("d.{c}")).collect();
        let postings_sql = format!(
            "SELECT {}, p.frequency FROM mk_recall_postings p
               JOIN mk_recall_docs d ON d.doc = p.doc
             WHERE p.term = $1",
            doc_columns.join(", ")
        );
        let frequency_column = doc_columns.len();
        self.read(|tx| {
            let mut merger = HitMerger::new(query.terms().len(), query.record_types(), as_of);
            for (index, term) in query.terms().iter().enumerate() {
                for row in tx.query_typed(&postings_sql, &[(term, Type::TEXT)])? {
                    let doc = doc_from_cells(&row)?;
                    let frequency: i64 = row.try_get(frequency_column)?;
                    let frequency = u32::try_from(frequency).unwrap_or(u32::MAX);
                    merger.posting(index, doc.doc, frequency, || Some(&doc))?;
                }
            }
            let hits = merger.finish();
            let visible = visible_of_types(tx, query.record_types(), &types, as_of)?;
            let unlisted_without_overlap = visible.saturating_sub(hits.len() as u64);
            let ids: Vec<String> = hits
                .iter()
                .map(|hit| hit.memory_version_id.to_string())
                .collect();
            let edges = edges_touching(tx, &ids, as_of)?;
            let plan = RecallPlan::new(
                RecallCandidates {
                    hits,
                    edges,
                    unlisted_without_overlap,
                },
                query,
            );
            let listed: Vec<String> = plan.listed_ids().iter().map(ToString::to_string).collect();
            let records = records_by_ids(tx, &listed)?;
            recall_package(&plan, records)
        })
    }
}

fn ids_of(records: &[MemoryRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect()
}

/// Visible records of the requested types, counted on the type/visibility index.
fn count_visible(client: &mut impl Cached, types: &[&str], as_of: i64) -> Result<u64> {
    let count: i64 = client
        .query_typed_one(
            "SELECT COUNT(*) FROM mk_memory_records WHERE record_type = ANY($1)
               AND created_at_nanos <= $2 AND effective_at_nanos <= $2",
            &[(&types, Type::TEXT_ARRAY), (&as_of, Type::INT8)],
        )?
        .try_get(0)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// As SQLite's (`crate::queries::visible_from_newest`): the running figures of each type's
/// newest document answer a query about the present without counting.
fn visible_of_types(
    client: &mut impl Cached,
    record_types: &[RecordType],
    types: &[&str],
    as_of: i64,
) -> Result<u64> {
    // Both readers use the one connection, one after the other.
    let client = std::cell::RefCell::new(client);
    visible_from_newest(
        record_types,
        as_of,
        |record_type| newest_of_type(&mut **client.borrow_mut(), record_type),
        || count_visible(&mut **client.borrow_mut(), types, as_of),
    )
}

/// Edges visible at `as_of` with either end among `ids`, in the SQLite engine's order.
fn edges_touching(
    client: &mut impl Cached,
    ids: &[String],
    as_of: i64,
) -> Result<Vec<LineageEdge>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client.query_typed(
        &format!(
            "SELECT {EDGE_COLUMNS} FROM mk_lineage_edges e
             WHERE e.visible_from_nanos <= $2
               AND (e.to_version_id = ANY($1) OR e.from_version_id = ANY($1))
             ORDER BY e.from_version_id, e.to_version_id, e.relation, e.visible_from_nanos,
                      e.edge_id"
        ),
        &[(&ids, Type::TEXT_ARRAY), (&as_of, Type::INT8)],
    )?;
    collect(&rows, edge_from_cells)
}

/// Full records by version id (any order).
pub(crate) fn records_by_ids(
    client: &mut impl Cached,
    ids: &[String],
) -> Result<Vec<MemoryRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client.query_typed(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM mk_record_rows v WHERE v.memory_version_id = ANY($1)"
        ),
        &[(&ids, Type::TEXT_ARRAY)],
    )?;
    collect(&rows, record_from_cells)
}

/// Records matching `filter`, in listing order.
pub(crate) fn list_records(
    client: &mut impl Cached,
    filter: &RecordFilter,
) -> Result<Vec<MemoryRecord>> {
    let record_type = filter.record_type.map(RecordType::as_str);
    let memory_id = filter.memory_id.map(|m| m.to_string());
    let limit = filter.limit.map(i64::from);
    let rows = client.query_typed(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM mk_record_rows v
             WHERE ($1::text IS NULL OR v.record_type = $1)
               AND ($2::text IS NULL OR v.memory_id = $2)
             ORDER BY v.created_at_nanos, v.memory_version_id LIMIT $3"
        ),
        &[
            (&record_type, Type::TEXT),
            (&memory_id, Type::TEXT),
            (&limit, Type::INT8),
        ],
    )?;
    collect(&rows, record_from_cells)
}

/// Every link, in listing order.
pub(crate) fn all_links(client: &mut impl Cached) -> Result<Vec<Link>> {
    let rows = client.query_typed(
        &format!(
            "SELECT {LINK_COLUMNS} FROM mk_memory_links l ORDER BY l.created_at_nanos, l.link_id"
        ),
        &[],
    )?;
    collect(&rows, link_from_cells)
}

/// Every version of one memory, ascending.
pub(crate) fn records_by_memory(
    client: &mut impl Cached,
    memory_id: memory_kernel_core::MemoryId,
) -> Result<Vec<MemoryRecord>> {
    let rows = client.query_typed(
        &format!(
            "SELECT {RECORD_COLUMNS} FROM mk_record_rows v WHERE v.memory_id = $1 ORDER BY v.version"
        ),
        &[(&memory_id.to_string(), Type::TEXT)],
    )?;
    collect(&rows, record_from_cells)
}
