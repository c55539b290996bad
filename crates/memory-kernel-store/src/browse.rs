//! Browsing: pages of records and of stored context packages in keyset order, and the whole
//! history of one memory. A page resumes strictly after the last key of the previous page, so a
//! concurrent writer can add rows but never make a stored row appear twice or go missing, and
//! the cost of a page follows the page (an index seek, then the rows read), not the store.

use memory_kernel_core::{
    LineageEdge, MemoryId, MemoryRecord, MemoryVersionId, RecordType, Timestamp, TruthStatus,
};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::error::{Result, StoreError};
use crate::rows::{EDGE_COLUMNS, RECORD_COLUMNS, collect, edge_from_row, record_from_row};
use crate::store::Store;

/// Which way a page walks its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PageOrder {
    /// Ascending: the earliest first.
    #[default]
    Oldest,
    /// Descending: the latest first.
    Newest,
}

impl PageOrder {
    const fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::Oldest => ("ASC", ">"),
            Self::Newest => ("DESC", "<"),
        }
    }
}

/// Which records [`Store::record_page`] returns. Time bounds are `from <= t < before`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFilter {
    /// Only records of this type.
    pub record_type: Option<RecordType>,
    /// Only records by this writer (exact match).
    pub writer: Option<String>,
    /// Only versions of this memory.
    pub memory_id: Option<MemoryId>,
    /// Only records in this truth status.
    pub truth_status: Option<TruthStatus>,
    /// Created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Created strictly before this instant.
    pub created_before: Option<Timestamp>,
    /// In effect at or after this instant.
    pub effective_from: Option<Timestamp>,
    /// In effect strictly before this instant.
    pub effective_before: Option<Timestamp>,
}

/// The position of a record in listing order: its creation instant (nanoseconds since the
/// epoch), then its version id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordKey {
    /// `created_at` as nanoseconds since the epoch.
    pub created_at_nanos: i64,
    /// The version id, which breaks ties.
    pub memory_version_id: MemoryVersionId,
}

impl RecordKey {
    /// The key of `record`.
    ///
    /// # Errors
    /// [`StoreError::TimestampOutOfRange`] when its instant does not fit the store's integers.
    pub fn of(record: &MemoryRecord) -> Result<Self> {
        Ok(Self {
            created_at_nanos: crate::records::nanos(record.created_at)?,
            memory_version_id: record.memory_version_id,
        })
    }
}

/// A stored context package as listed: what it is, not its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageEntry {
    /// The package id.
    pub context_package_id: String,
    /// The query kind that produced it (`ask`, `recall`, or a carried kind).
    pub kind: String,
    /// When it was committed, as nanoseconds since the epoch (0 for packages carried over
    /// from a layout that did not record it).
    pub stored_at_nanos: i64,
}

/// The position of a package in listing order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PackageKey {
    /// When it was committed, as nanoseconds since the epoch.
    pub stored_at_nanos: i64,
    /// The package id, which breaks ties.
    pub context_package_id: String,
}

/// Every version of one memory and the lineage touching any of them.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryHistory {
    /// The versions, ascending.
    pub records: Vec<MemoryRecord>,
    /// Every lineage edge into or out of one of the versions, whenever it became visible,
    /// ordered by (from, to, relation, visible_from).
    pub edges: Vec<LineageEdge>,
}

impl Store {
    /// Up to `limit` records matching `filter`, in `order` of [`RecordKey`], strictly after
    /// `after` when given. The scan walks the creation index from `after`.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn record_page(
        &self,
        filter: &PageFilter,
        order: PageOrder,
        after: Option<&RecordKey>,
        limit: u32,
    ) -> Result<Vec<MemoryRecord>> {
        let (sql, values) = record_page_sql(filter, order, after, limit)?;
        if let Some(pg) = self.postgres() {
            return pg.record_page(&sql, &values);
        }
        self.with_current_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            collect(stmt.query(params_from_iter(values))?, record_from_row)
        })
    }

    /// Every version of `memory_id`, ascending, with every lineage edge touching one of them
    /// (visible now or later: the caller decides what an instant sees). Empty when the memory
    /// has no version.
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and SQLite errors.
    pub fn memory_history(&self, memory_id: MemoryId) -> Result<MemoryHistory> {
        if let Some(pg) = self.postgres() {
            return pg.memory_history(memory_id);
        }
        self.with_current_conn(|conn| memory_history(conn, memory_id))
    }

    /// Up to `limit` committed context packages in `order` of [`PackageKey`], strictly after
    /// `after` when given.
    ///
    /// # Errors
    /// Schema-gate and SQLite errors.
    pub fn package_page(
        &self,
        order: PageOrder,
        after: Option<&PackageKey>,
        limit: u32,
    ) -> Result<Vec<PackageEntry>> {
        let (sql, values) = package_page_sql(order, after, limit);
        if let Some(pg) = self.postgres() {
            return pg.package_page(&sql, &values);
        }
        self.with_current_conn(|conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            collect(stmt.query(params_from_iter(values))?, |row| {
                Ok(PackageEntry {
                    context_package_id: row.get(0)?,
                    kind: row.get(1)?,
                    stored_at_nanos: row.get(2)?,
                })
            })
        })
    }
}

/// The package page query and its values in parameter order.
pub(crate) fn package_page_sql(
    order: PageOrder,
    after: Option<&PackageKey>,
    limit: u32,
) -> (String, Vec<Value>) {
    let (direction, beyond) = order.sql();
    let mut values: Vec<Value> = Vec::new();
    let seek = match after {
        Some(key) => {
            values.push(Value::Integer(key.stored_at_nanos));
            values.push(Value::Text(key.context_package_id.clone()));
            format!("WHERE (p.stored_at_nanos, p.context_package_id) {beyond} (?1, ?2)")
        }
        None => String::new(),
    };
    values.push(Value::Integer(i64::from(limit)));
    let sql = format!(
        "SELECT p.context_package_id, p.kind, p.stored_at_nanos FROM mk_stored_packages p \
         {seek} ORDER BY p.stored_at_nanos {direction}, p.context_package_id {direction} \
         LIMIT ?{}",
        values.len()
    );
    (sql, values)
}

/// The page query for `filter`, with only the clauses it needs (so each shape is one cached
/// statement whose bounds the planner can seek on), and its values in parameter order.
pub(crate) fn record_page_sql(
    filter: &PageFilter,
    order: PageOrder,
    after: Option<&RecordKey>,
    limit: u32,
) -> Result<(String, Vec<Value>)> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut bind = |clause: &str, value: Value, clauses: &mut Vec<String>| {
        values.push(value);
        clauses.push(clause.replace('?', &format!("?{}", values.len())));
    };
    if let Some(record_type) = filter.record_type {
        bind(
            "v.record_type = ?",
            Value::Text(record_type.as_str().to_owned()),
            &mut clauses,
        );
    }
    if let Some(writer) = &filter.writer {
        bind("v.writer = ?", Value::Text(writer.clone()), &mut clauses);
    }
    if let Some(memory_id) = filter.memory_id {
        bind(
            "v.memory_id = ?",
            Value::Text(memory_id.to_string()),
            &mut clauses,
        );
    }
    if let Some(truth_status) = filter.truth_status {
        bind(
            "v.truth_status = ?",
            Value::Text(truth_status.as_str().to_owned()),
            &mut clauses,
        );
    }
    let bounds = [
        ("v.created_at_nanos >= ?", filter.created_from),
        ("v.created_at_nanos < ?", filter.created_before),
        ("v.effective_at_nanos >= ?", filter.effective_from),
        ("v.effective_at_nanos < ?", filter.effective_before),
    ];
    for (clause, bound) in bounds {
        if let Some(instant) = bound {
            bind(
                clause,
                Value::Integer(crate::records::nanos(instant)?),
                &mut clauses,
            );
        }
    }
    let (direction, beyond) = order.sql();
    if let Some(key) = after {
        values.push(Value::Integer(key.created_at_nanos));
        values.push(Value::Text(key.memory_version_id.to_string()));
        clauses.push(format!(
            "(v.created_at_nanos, v.memory_version_id) {beyond} (?{}, ?{})",
            values.len() - 1,
            values.len()
        ));
    }
    values.push(Value::Integer(i64::from(limit)));
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v {filter_sql} \
         ORDER BY v.created_at_nanos {direction}, v.memory_version_id {direction} LIMIT ?{}",
        values.len()
    );
    Ok((sql, values))
}

fn memory_history(conn: &Connection, memory_id: MemoryId) -> Result<MemoryHistory> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v WHERE v.memory_id = ?1 ORDER BY v.version"
    ))?;
    let records = collect(stmt.query([memory_id.to_string()])?, record_from_row)?;
    if records.is_empty() {
        return Ok(MemoryHistory {
            records,
            edges: Vec::new(),
        });
    }
    let ids: Vec<String> = records
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect();
    let ids = serde_json::to_string(&ids).map_err(|e| StoreError::CorruptRow {
        key: memory_id.to_string(),
        detail: e.to_string(),
    })?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EDGE_COLUMNS} FROM mk_lineage_edges e
         WHERE e.to_version_id IN (SELECT value FROM json_each(?1))
            OR e.from_version_id IN (SELECT value FROM json_each(?1))
         ORDER BY e.from_version_id, e.to_version_id, e.relation, e.visible_from_nanos, e.edge_id"
    ))?;
    let edges = collect(stmt.query([ids])?, edge_from_row)?;
    Ok(MemoryHistory { records, edges })
}

#[cfg(test)]
mod plan_tests {
    //! A page must seek the creation index and stop after the page: no sort, no full scan.
    use super::*;
    use crate::schema::query_plan as plan;

    fn key() -> RecordKey {
        RecordKey {
            created_at_nanos: 5,
            memory_version_id: MemoryVersionId::generate(),
        }
    }

    #[test]
    fn a_page_after_a_key_seeks_the_creation_index_in_both_orders() {
        for order in [PageOrder::Oldest, PageOrder::Newest] {
            let filter = PageFilter {
                writer: Some("w".to_owned()),
                truth_status: Some(TruthStatus::Asserted),
                ..PageFilter::default()
            };
            let (sql, _) = record_page_sql(&filter, order, Some(&key()), 10).unwrap();
            let plan = plan(&sql);
            assert!(
                plan[0].starts_with("SEARCH r USING INDEX mk_idx_records_created"),
                "{plan:#?}"
            );
            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{plan:#?}");
        }
    }

    #[test]
    fn a_first_page_walks_the_creation_index_without_sorting() {
        let (sql, _) =
            record_page_sql(&PageFilter::default(), PageOrder::Newest, None, 10).unwrap();
        let plan = plan(&sql);
        assert!(
            plan[0].contains("INDEX mk_idx_records_created"),
            "{plan:#?}"
        );
        assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{plan:#?}");
    }
}
