//! Reads: listing, lookup, and the candidate sets the resolvers in core consume. Candidate
//! queries go through indexes (scope triple, recall terms, lineage ends), so their cost grows
//! with the number of matches rather than with the database.

use std::collections::BTreeMap;

use memory_kernel_core::resolver::{MissingRecord, RecallCandidates, RecallHit, RecallPlan};
use memory_kernel_core::terms::TermStats;
use memory_kernel_core::{
    ContextPackage, LineageEdge, Link, MemoryId, MemoryRecord, MemoryVersionId, RecallQuery,
    RecordSet, RecordType, Scope, Timestamp, ValidationError, record::WILDCARD,
};
use rusqlite::{Connection, params};

use crate::doc_cache::{Doc, DocCache, find};
use crate::error::{Result, StoreError};
use crate::records::{nanos, newest_of_type};
use crate::rows::{
    EDGE_COLUMNS, LINK_COLUMNS, RECORD_COLUMNS, collect, edge_from_row, link_from_row,
    record_from_row,
};
use crate::store::Store;

/// Which records [`Store::list_records`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only records of this type.
    pub record_type: Option<RecordType>,
    /// Only versions of this memory.
    pub memory_id: Option<MemoryId>,
    /// At most this many records (the earliest ones).
    pub limit: Option<u32>,
}

impl Store {
    /// Records matching `filter`, ordered by `created_at` instant (not text), then
    /// memory_version_id (docs/spec/requirements.md).
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn list_records(&self, filter: &RecordFilter) -> Result<Vec<MemoryRecord>> {
        if let Some(pg) = self.postgres() {
            return pg.list_records(filter);
        }
        self.with_current_conn(|conn| list_records(conn, filter))
    }

    /// One record by its version id, or `None`.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn get_record(&self, id: MemoryVersionId) -> Result<Option<MemoryRecord>> {
        if let Some(pg) = self.postgres() {
            return pg.get_record(id);
        }
        self.with_current_conn(|conn| get_record(conn, id))
    }

    /// Every record, in listing order (for export).
    ///
    /// # Errors
    /// As [`Store::list_records`].
    pub fn all_records(&self) -> Result<Vec<MemoryRecord>> {
        self.list_records(&RecordFilter::default())
    }

    /// Every link, ordered by `created_at` instant then insertion.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn all_links(&self) -> Result<Vec<Link>> {
        if let Some(pg) = self.postgres() {
            return pg.all_links();
        }
        self.with_current_conn(|conn| all_links(conn))
    }

    /// Policy-ask candidates (docs/spec/resolver.md): constraints whose actor, action and resource each
    /// equal the query's or are `*`, visible at `as_of` (created and effective no later), in
    /// any truth status, plus the lineage edges touching them that are visible at `as_of`.
    ///
    /// # Errors
    /// [`ValidationError::WildcardInQuery`] when the query scope holds `*`; schema-gate,
    /// corrupt-row and SQLite errors.
    pub fn ask_candidates(&self, scope: &Scope, as_of: Timestamp) -> Result<RecordSet> {
        for (field, value) in scope.fields() {
            if value == WILDCARD {
                return Err(ValidationError::WildcardInQuery { field }.into());
            }
        }
        let as_of = nanos(as_of)?;
        if let Some(pg) = self.postgres() {
            return pg.ask_candidates(scope, as_of);
        }
        self.with_current_conn(|conn| {
            let mut stmt = conn.prepare_cached(&ask_sql())?;
            let records = collect(
                stmt.query(params![
                    scope.actor,
                    scope.action,
                    scope.resource,
                    WILDCARD,
                    as_of
                ])?,
                record_from_row,
            )?;
            let edges = edges_touching(conn, &records, as_of)?;
            Ok(RecordSet {
                records,
                edges,
                unlisted_without_overlap: 0,
            })
        })
    }

    /// Recall candidates of `record_types`, visible at `as_of`, plus the lineage edges
    /// touching them. Only records sharing at least one of `terms` are fetched (through the
    /// term index), and the other visible records of those types are counted into
    /// `unlisted_without_overlap` (the resolver reports them all as "no lexical overlap",
    /// retracted or superseded ones included). With `every_visible` (the `full` exclusion
    /// mode, which lists them), every visible record of those types is fetched.
    ///
    /// `terms` must already be normalised with `memory_kernel_core::terms::terms`.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn recall_candidates(
        &self,
        terms: &[String],
        record_types: &[RecordType],
        as_of: Timestamp,
        every_visible: bool,
    ) -> Result<RecordSet> {
        let summary_only = !every_visible;
        let as_of = nanos(as_of)?;
        if let Some(pg) = self.postgres() {
            return pg.recall_candidates(terms, record_types, as_of, every_visible);
        }
        let types: Vec<&str> = record_types.iter().map(|t| t.as_str()).collect();
        let types = to_json(&types)?;
        self.with_current_conn(|conn| {
            let records = if summary_only {
                let terms = to_json(terms)?;
                let mut stmt = conn.prepare_cached(&recall_summary_sql())?;
                collect(stmt.query(params![types, as_of, terms])?, record_from_row)?
            } else {
                let mut stmt = conn.prepare_cached(&recall_all_sql())?;
                collect(stmt.query(params![types, as_of])?, record_from_row)?
            };
            let unlisted_without_overlap = if summary_only {
                let visible: i64 = conn
                    .prepare_cached(RECALL_COUNT_SQL)?
                    .query_row(params![types, as_of], |row| row.get(0))?;
                u64::try_from(visible)
                    .unwrap_or(0)
                    .saturating_sub(records.len() as u64)
            } else {
                0
            };
            let edges = edges_touching(conn, &records, as_of)?;
            Ok(RecordSet {
                records,
                edges,
                unlisted_without_overlap,
            })
        })
    }
    /// Answers a recall from the term index (docs/spec/resolver.md, "Indexed recall"): the
    /// postings of the query's terms give every matching record's ranking fields and term
    /// statistics, the other visible records of the requested types are only counted, and
    /// just the records the package lists (selected items and one page of exclusions) are
    /// read. Returns the package and those records. Not for `full` exclusions, which list
    /// every visible record: use [`Store::recall_candidates`] with `every_visible`.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors; a posting whose record cannot be read is
    /// a corrupt row.
    pub fn recall_indexed(
        &self,
        query: &RecallQuery,
    ) -> Result<(ContextPackage, Vec<MemoryRecord>)> {
        let as_of = nanos(query.as_of())?;
        if let Some(pg) = self.postgres() {
            return pg.recall_indexed(query, as_of);
        }
        let types: Vec<&str> = query.record_types().iter().map(|t| t.as_str()).collect();
        let types = to_json(&types)?;
        let cache = self.doc_cache()?;
        self.with_current_conn(|conn| {
            // One read transaction, so the documents, postings, counts and edges are one
            // snapshot of the file.
            let tx = conn.transaction()?;
            let hits = recall_hits(&tx, cache, query.terms(), query.record_types(), as_of)?;
            let visible = visible_of_types(&tx, query.record_types(), &types, as_of)?;
            let unlisted_without_overlap = visible.saturating_sub(hits.len() as u64);
            let mut ids: Vec<MemoryVersionId> =
                hits.iter().map(|hit| hit.memory_version_id).collect();
            ids.sort_unstable();
            let edges = edges_touching_hits(&tx, &ids, query.terms(), as_of)?;
            let plan = RecallPlan::new(
                RecallCandidates {
                    hits,
                    edges,
                    unlisted_without_overlap,
                },
                query,
            );
            let listed: Vec<String> = plan.listed_ids().iter().map(ToString::to_string).collect();
            let records = records_by_ids(&tx, &listed)?;
            tx.finish()?;
            recall_package(&plan, records)
        })
    }
}

/// The indexed recall's package from its plan and the listed records (both engines).
pub(crate) fn recall_package(
    plan: &RecallPlan,
    records: Vec<MemoryRecord>,
) -> Result<(ContextPackage, Vec<MemoryRecord>)> {
    let package = plan
        .package(&records)
        .map_err(|MissingRecord(id)| StoreError::CorruptRow {
            key: id.to_string(),
            detail: "the recall term index names a record that cannot be read".to_owned(),
        })?;
    Ok((package, records))
}

/// Constraint candidates: `?4` is the wildcard; the IN lists probe the scope index.
pub(crate) fn ask_sql() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM mk_constraint_payloads c JOIN mk_record_rows v ON v.memory_version_id = c.memory_version_id \
    WHERE c.actor IN (?1, ?4) AND c.action IN (?2, ?4) AND c.resource IN (?3, ?4) \
    AND v.created_at_nanos <= ?5 AND v.effective_at_nanos <= ?5 \
    ORDER BY v.created_at_nanos, v.memory_version_id"
    )
}

/// Summary-mode recall: only records sharing a term with the query, found through the term
/// index; the matched ids drive the join (`CROSS JOIN` fixes the order).
fn recall_summary_sql() -> String {
    format!(
        "WITH listed(id) AS ( \
           SELECT DISTINCT d.memory_version_id FROM mk_recall_postings t \
             CROSS JOIN mk_recall_docs d ON d.doc = t.doc \
           WHERE t.term IN (SELECT value FROM json_each(?3))) \
         SELECT {RECORD_COLUMNS} FROM listed CROSS JOIN mk_record_rows v \
           ON v.memory_version_id = listed.id \
         WHERE v.record_type IN (SELECT value FROM json_each(?1)) \
           AND v.created_at_nanos <= ?2 AND v.effective_at_nanos <= ?2 \
         ORDER BY v.created_at_nanos, v.memory_version_id"
    )
}

/// Full recall: every visible record of the requested types.
fn recall_all_sql() -> String {
    format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v WHERE v.record_type IN (SELECT value FROM json_each(?1)) \
      AND v.created_at_nanos <= ?2 AND v.effective_at_nanos <= ?2 \
    ORDER BY v.created_at_nanos, v.memory_version_id"
    )
}

/// How many records of `record_types` (also given as the JSON array `types`) are visible at
/// `as_of`. For each type the newest recall document says how many documents of the type
/// exist and by when all of them are visible; when `as_of` is past that for every type (a
/// query about the present), that is the answer without counting. Otherwise the records are
/// counted on the covering type/visibility index.
fn visible_of_types(
    conn: &Connection,
    record_types: &[RecordType],
    types: &str,
    as_of: i64,
) -> Result<u64> {
    visible_from_newest(
        record_types,
        as_of,
        |record_type| newest_of_type(conn, record_type),
        || {
            let visible: i64 = conn
                .prepare_cached(RECALL_COUNT_SQL)?
                .query_row(params![types, as_of], |row| row.get(0))?;
            Ok(u64::try_from(visible).unwrap_or(0))
        },
    )
}

/// The rule of [`visible_of_types`] for either engine: `newest` reads a type's newest
/// document figures, `count` counts the visible records when the figures cannot answer.
pub(crate) fn visible_from_newest(
    record_types: &[RecordType],
    as_of: i64,
    mut newest: impl FnMut(RecordType) -> Result<Option<(i64, i64)>>,
    count: impl FnOnce() -> Result<u64>,
) -> Result<u64> {
    let mut total: u64 = 0;
    for record_type in record_types {
        match newest(*record_type)? {
            None => {}
            Some((ordinal, watermark)) if watermark <= as_of => {
                total = total.saturating_add(u64::try_from(ordinal).unwrap_or(0));
            }
            Some(_) => return count(),
        }
    }
    Ok(total)
}

/// Visible records of the requested types, counted on the covering type/visibility index.
const RECALL_COUNT_SQL: &str = "SELECT COUNT(*) FROM mk_memory_records \
    WHERE record_type IN (SELECT value FROM json_each(?1)) \
      AND created_at_nanos <= ?2 AND effective_at_nanos <= ?2";

/// The postings of one term, in document order.
const POSTINGS_SQL: &str = "SELECT doc, frequency FROM mk_recall_postings WHERE term = ?1";

/// Every visible record of `record_types` holding at least one of `terms` (sorted,
/// deduplicated query terms), with its frequency of each term and its length: the postings
/// of each term, joined to the cached documents.
fn recall_hits(
    conn: &Connection,
    cache: &DocCache,
    terms: &[String],
    record_types: &[RecordType],
    as_of: i64,
) -> Result<Vec<RecallHit>> {
    cache.with_docs(conn, |docs| {
        let mut hits = HitMerger::new(terms.len(), record_types, as_of);
        let mut stmt = conn.prepare_cached(POSTINGS_SQL)?;
        for (index, term) in terms.iter().enumerate() {
            let mut rows = stmt.query([term])?;
            while let Some(row) = rows.next()? {
                let doc: i64 = row.get(0)?;
                let frequency = u32::try_from(row.get::<_, i64>(1)?).unwrap_or(u32::MAX);
                hits.posting(index, doc, frequency, || find(docs, doc))?;
            }
        }
        Ok(hits.finish())
    })
}

/// Gathers the postings of a query's terms into one hit per visible document of the
/// requested types, each with its frequency of every term (either engine feeds it).
pub(crate) struct HitMerger<'a> {
    term_count: usize,
    record_types: &'a [RecordType],
    as_of: i64,
    hits: Vec<RecallHit>,
    /// Where each document's hit is; a document appears once per term, so one term needs no
    /// merging.
    position: BTreeMap<i64, usize>,
}

impl<'a> HitMerger<'a> {
    pub(crate) fn new(term_count: usize, record_types: &'a [RecordType], as_of: i64) -> Self {
        Self {
            term_count,
            record_types,
            as_of,
            hits: Vec::new(),
            position: BTreeMap::new(),
        }
    }

    /// Counts one posting of the query's term `index`; `find` gives the posting's document
    /// (asked only the first time a document is met).
    pub(crate) fn posting<'d>(
        &mut self,
        index: usize,
        doc: i64,
        frequency: u32,
        find: impl FnOnce() -> Option<&'d Doc>,
    ) -> Result<()> {
        let slot = match self.position.get(&doc) {
            Some(&slot) => slot,
            None => {
                let found = find().ok_or_else(|| StoreError::CorruptRow {
                    key: format!("doc {doc}"),
                    detail: "a recall posting names a document that is not stored".to_owned(),
                })?;
                if !self.record_types.contains(&found.record_type)
                    || found.created_at_nanos > self.as_of
                    || found.effective_at_nanos > self.as_of
                {
                    return Ok(());
                }
                self.hits.push(hit_of(found, self.term_count));
                if self.term_count > 1 {
                    self.position.insert(doc, self.hits.len() - 1);
                }
                self.hits.len() - 1
            }
        };
        if let Some(f) = self.hits[slot].stats.frequencies.get_mut(index) {
            *f = frequency;
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Vec<RecallHit> {
        self.hits
    }
}

fn hit_of(doc: &Doc, term_count: usize) -> RecallHit {
    RecallHit {
        memory_version_id: doc.memory_version_id,
        memory_id: doc.memory_id,
        record_type: doc.record_type,
        created_at: doc.created_at,
        effective_at: doc.effective_at,
        truth_status: doc.truth_status,
        authority: doc.authority,
        confidence: doc.confidence,
        stats: TermStats {
            frequencies: vec![0; term_count],
            length: doc.length,
        },
    }
}

/// The lineage edges visible at `as_of` with either end among the hits (`ids`, sorted), read
/// the cheaper of two ways: when there are few edges, all visible ones; otherwise those
/// touching a posting of the query's terms, through the edge end indexes. Either way only
/// edges touching a hit are kept, so the result does not depend on the way.
fn edges_touching_hits(
    conn: &Connection,
    ids: &[MemoryVersionId],
    terms: &[String],
    as_of: i64,
) -> Result<Vec<LineageEdge>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Edge ids are assigned in order and edges are never deleted: the largest is the count.
    let edge_count: i64 = conn
        .prepare_cached("SELECT coalesce(max(edge_id), 0) FROM mk_lineage_edges")?
        .query_row([], |row| row.get(0))?;
    let touches = |edge: &LineageEdge| {
        ids.binary_search(&edge.from).is_ok() || ids.binary_search(&edge.to).is_ok()
    };
    let mut edges = Vec::new();
    if usize::try_from(edge_count).unwrap_or(usize::MAX) <= ids.len().saturating_mul(2) {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EDGE_COLUMNS} FROM mk_lineage_edges e WHERE e.visible_from_nanos <= ?1"
        ))?;
        edges.extend(
            collect(stmt.query([as_of])?, edge_from_row)?
                .into_iter()
                .filter(|edge| touches(edge)),
        );
    } else {
        let mut stmt = conn.prepare_cached(&edges_of_term_sql())?;
        for term in terms {
            edges.extend(
                collect(stmt.query(params![term, as_of])?, edge_from_row)?
                    .into_iter()
                    .filter(|edge| touches(edge)),
            );
        }
    }
    Ok(edges)
}

/// Visible edges with an end among the documents of term `?1` (both end indexes).
fn edges_of_term_sql() -> String {
    format!(
        "SELECT {EDGE_COLUMNS} FROM mk_recall_postings p \
           CROSS JOIN mk_recall_docs d ON d.doc = p.doc \
           CROSS JOIN mk_lineage_edges e ON e.to_version_id = d.memory_version_id \
         WHERE p.term = ?1 AND e.visible_from_nanos <= ?2 \
         UNION ALL \
         SELECT {EDGE_COLUMNS} FROM mk_recall_postings p \
           CROSS JOIN mk_recall_docs d ON d.doc = p.doc \
           CROSS JOIN mk_lineage_edges e ON e.from_version_id = d.memory_version_id \
         WHERE p.term = ?1 AND e.visible_from_nanos <= ?2"
    )
}

/// Full records by version id (any order).
fn records_by_ids(conn: &Connection, ids: &[String]) -> Result<Vec<MemoryRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v \
         WHERE v.memory_version_id IN (SELECT value FROM json_each(?1))"
    ))?;
    collect(stmt.query([to_json(ids)?])?, record_from_row)
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::CorruptRow {
        key: "query".to_owned(),
        detail: e.to_string(),
    })
}

/// Lineage edges visible at `?2` with either end in the JSON id array `?1`.
fn edges_sql() -> String {
    format!(
        "SELECT {EDGE_COLUMNS} FROM mk_lineage_edges e
         WHERE e.visible_from_nanos <= ?2
           AND (e.to_version_id IN (SELECT value FROM json_each(?1))
                OR e.from_version_id IN (SELECT value FROM json_each(?1)))
         ORDER BY e.from_version_id, e.to_version_id, e.relation, e.visible_from_nanos, e.edge_id"
    )
}

/// Edges visible at `as_of` with either end among `records`.
fn edges_touching(
    conn: &Connection,
    records: &[MemoryRecord],
    as_of: i64,
) -> Result<Vec<LineageEdge>> {
    let ids: Vec<String> = records
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect();
    edges_touching_ids(conn, &ids, as_of)
}

/// Edges visible at `as_of` with either end among the version ids `ids`.
fn edges_touching_ids(conn: &Connection, ids: &[String], as_of: i64) -> Result<Vec<LineageEdge>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = to_json(ids)?;
    let mut stmt = conn.prepare_cached(&edges_sql())?;
    collect(stmt.query(params![ids, as_of])?, edge_from_row)
}

pub(crate) fn list_records(conn: &Connection, filter: &RecordFilter) -> Result<Vec<MemoryRecord>> {
    let record_type = filter.record_type.map(RecordType::as_str);
    let memory_id = filter.memory_id.map(|m| m.to_string());
    let limit = filter.limit.map_or(-1, i64::from);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v
         WHERE (?1 IS NULL OR v.record_type = ?1) AND (?2 IS NULL OR v.memory_id = ?2)
         ORDER BY v.created_at_nanos, v.memory_version_id LIMIT ?3"
    ))?;
    collect(
        stmt.query(params![record_type, memory_id, limit])?,
        record_from_row,
    )
}

pub(crate) fn get_record(conn: &Connection, id: MemoryVersionId) -> Result<Option<MemoryRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v WHERE v.memory_version_id = ?1"
    ))?;
    Ok(collect(stmt.query([id.to_string()])?, record_from_row)?
        .into_iter()
        .next())
}

pub(crate) fn all_links(conn: &Connection) -> Result<Vec<Link>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LINK_COLUMNS} FROM mk_memory_links l ORDER BY l.created_at_nanos, l.link_id"
    ))?;
    collect(stmt.query([])?, link_from_row)
}

#[cfg(test)]
mod plan_tests {
    //! Candidate queries must be driven by indexes, so their cost follows the matches.
    use super::*;
    use crate::schema::query_plan as plan;

    /// Full scans other than over the bound JSON arrays and the CTE of matched ids.
    fn table_scans(plan: &[String]) -> Vec<&String> {
        plan.iter()
            .filter(|l| {
                l.starts_with("SCAN") && !l.contains("json_each") && l.as_str() != "SCAN listed"
            })
            .collect()
    }

    #[test]
    fn ask_probes_the_scope_index() {
        let plan = plan(&ask_sql());
        assert!(
            plan[0].contains("INDEX mk_idx_constraint_scope"),
            "{plan:#?}"
        );
        assert!(table_scans(&plan).is_empty(), "{plan:#?}");
    }

    #[test]
    fn summary_recall_is_driven_by_the_matched_ids() {
        let plan = plan(&recall_summary_sql());
        assert!(
            plan.iter()
                .any(|l| l.starts_with("SEARCH t USING PRIMARY KEY")),
            "{plan:#?}"
        );
        assert!(plan.iter().any(|l| l == "SCAN listed"), "{plan:#?}");
        assert!(table_scans(&plan).is_empty(), "{plan:#?}");
    }

    #[test]
    fn edges_are_found_through_both_end_indexes() {
        let plan = plan(&edges_sql());
        assert!(
            plan.iter().any(|l| l.contains("mk_idx_edges_to")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|l| l.contains("mk_idx_edges_from")),
            "{plan:#?}"
        );
        assert!(table_scans(&plan).is_empty(), "{plan:#?}");
    }

    #[test]
    fn the_unlisted_count_reads_only_the_covering_index() {
        let plan = plan(RECALL_COUNT_SQL);
        assert!(
            plan.iter()
                .any(|l| l.contains("COVERING INDEX mk_idx_records_type_visible")),
            "{plan:#?}"
        );
    }

    #[test]
    fn postings_are_one_range_of_the_term_key() {
        let plan = plan(POSTINGS_SQL);
        assert!(
            plan.iter()
                .any(|l| l.starts_with("SEARCH mk_recall_postings USING PRIMARY KEY (term=?)")),
            "{plan:#?}"
        );
        assert!(table_scans(&plan).is_empty(), "{plan:#?}");
    }

    #[test]
    fn edges_of_a_term_probe_both_end_indexes() {
        let plan = plan(&edges_of_term_sql());
        assert!(
            plan.iter().any(|l| l.contains("mk_idx_edges_to")),
            "{plan:#?}"
        );
        assert!(
            plan.iter().any(|l| l.contains("mk_idx_edges_from")),
            "{plan:#?}"
        );
        assert!(table_scans(&plan).is_empty(), "{plan:#?}");
    }
}
