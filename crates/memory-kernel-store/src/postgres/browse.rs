//! Browsing on PostgreSQL: the SQLite engine's page queries (`crate::browse`), run as shared
//! statements (`crate::sql`), so both engines page by the same keys and filters.

use memory_kernel_core::MemoryId;
use postgres::types::Type;
use rusqlite::types::Value;

use super::queries::records_by_memory;
use super::{Cached, Pg, collect};
use crate::browse::{MemoryHistory, PackageEntry};
use crate::error::Result;
use crate::rows::{EDGE_COLUMNS, edge_from_cells, record_from_cells};
use crate::sql::pg_query;

impl Pg<'_> {
    fn page_rows(&self, sql: &str, values: &[Value]) -> Result<Vec<postgres::Row>> {
        pg_query(&mut self.current(self.deadline)?.session(), sql, values)
    }

    pub(crate) fn record_page(
        &self,
        sql: &str,
        values: &[Value],
    ) -> Result<Vec<memory_kernel_core::MemoryRecord>> {
        collect(&self.page_rows(sql, values)?, record_from_cells)
    }

    pub(crate) fn package_page(&self, sql: &str, values: &[Value]) -> Result<Vec<PackageEntry>> {
        collect(&self.page_rows(sql, values)?, |row| {
            Ok(PackageEntry {
                context_package_id: row.try_get(0)?,
                kind: row.try_get(1)?,
                stored_at_nanos: row.try_get(2)?,
            })
        })
    }

    /// Every version of `memory_id`, ascending, and every edge touching one, in one snapshot.
    pub(crate) fn memory_history(&self, memory_id: MemoryId) -> Result<MemoryHistory> {
        self.read(|tx| {
            let records = records_by_memory(tx, memory_id)?;
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
            let rows = tx.query_typed(
                &format!(
                    "SELECT {EDGE_COLUMNS} FROM mk_lineage_edges e
                     WHERE e.to_version_id = ANY($1) OR e.from_version_id = ANY($1)
                     ORDER BY e.from_version_id, e.to_version_id, e.relation,
                              e.visible_from_nanos, e.edge_id"
                ),
                &[(&ids, Type::TEXT_ARRAY)],
            )?;
            Ok(MemoryHistory {
                records,
                edges: collect(&rows, edge_from_cells)?,
            })
        })
    }
}
