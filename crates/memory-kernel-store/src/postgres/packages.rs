//! Context packages on PostgreSQL, in the SQLite engine's compact encoding
//! (`crate::packages`): the same bytes are stored and the same JSON is rebuilt.

use std::collections::BTreeMap;

use memory_kernel_core::{ContextPackage, MemoryRecord, MemoryVersionId, Timestamp};
use postgres::types::Type;

use super::queries::records_by_ids;
use super::{Cached, Pg, collect};
use crate::error::Result;
use crate::packages::{
    ENCODING_COMPACT, ENCODING_COMPACT_V1, Named, PruneReport, StoredContextPackage, decode_plain,
    decode_with, encode,
};
use crate::records::nanos;
use crate::rows::{RECORD_COLUMN_COUNT, RECORD_COLUMNS, parse, record_from_cells};

impl Pg<'_> {
    /// Stores a package unless its id is stored. Packages are derived data written outside
    /// the writer lock: two replicas storing the same id store the same bytes, and the second
    /// insert does nothing. A package already stored writes nothing, so a read-only store
    /// accepts it, as on SQLite.
    pub(crate) fn put_context_package(
        &self,
        package: &ContextPackage,
        records: &[MemoryRecord],
        kind: &str,
    ) -> Result<()> {
        let mut conn = self.current(self.deadline)?;
        let mut client = conn.session();
        let id = &package.context_package_id;
        if has_package(&mut client, id)? {
            return Ok(());
        }
        if self.shared.read_only {
            return Err(crate::error::StoreError::ReadOnly);
        }
        let ids: Vec<String> = package
            .selected_items
            .iter()
            .chain(&package.excluded_items)
            .map(|item| item.memory_version_id.to_string())
            .collect();
        let docs = docs_of(&mut client, &ids)?;
        let body = encode(package, records, &docs)?;
        client.query_typed(
            "INSERT INTO mk_stored_packages
                 (context_package_id, kind, encoding, stored_at_nanos, body)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (context_package_id) DO NOTHING",
            &[
                (id, Type::TEXT),
                (&kind, Type::TEXT),
                (&ENCODING_COMPACT, Type::TEXT),
                (&nanos(Timestamp::now())?, Type::INT8),
                (&body, Type::BYTEA),
            ],
        )?;
        Ok(())
    }

    pub(crate) fn has_context_package(&self, id: &str) -> Result<bool> {
        has_package(&mut self.current(self.deadline)?.session(), id)
    }

    pub(crate) fn get_context_package(&self, id: &str) -> Result<Option<String>> {
        self.read(|tx| get_package(tx, id))
    }
}

/// A stored package's JSON.
pub(crate) fn get_package(tx: &mut impl Cached, id: &str) -> Result<Option<String>> {
    {
        {
            let row = tx.query_typed_opt(
                "SELECT encoding, body FROM mk_stored_packages WHERE context_package_id = $1",
                &[(&id, Type::TEXT)],
            )?;
            row.map(|row| decode_stored(tx, id, &row.try_get::<_, String>(0)?, row.try_get(1)?))
                .transpose()
        }
    }
}

impl Pg<'_> {
    pub(crate) fn all_context_packages(&self) -> Result<Vec<StoredContextPackage>> {
        self.read(|tx| all_packages(tx))
    }
}

/// Every stored package, by id, each as its full JSON.
pub(crate) fn all_packages(tx: &mut impl Cached) -> Result<Vec<StoredContextPackage>> {
    {
        {
            let rows = tx.query_typed(
                "SELECT context_package_id, kind, encoding, body FROM mk_stored_packages
                 ORDER BY context_package_id",
                &[],
            )?;
            rows.iter()
                .map(|row| {
                    let id: String = row.try_get(0)?;
                    let package_json =
                        decode_stored(tx, &id, &row.try_get::<_, String>(2)?, row.try_get(3)?)?;
                    Ok(StoredContextPackage {
                        context_package_id: id,
                        kind: row.try_get(1)?,
                        package_json,
                    })
                })
                .collect()
        }
    }
}

impl Pg<'_> {
    pub(crate) fn prune_context_packages(&self, before: i64) -> Result<PruneReport> {
        self.write(None, |tx| {
            let pruned: i64 = tx
                .query_typed_one(
                    "WITH pruned AS (
                       DELETE FROM mk_stored_packages WHERE stored_at_nanos < $1 RETURNING 1)
                     SELECT COUNT(*) FROM pruned",
                    &[(&before, Type::INT8)],
                )?
                .try_get(0)?;
            let remaining: i64 = tx
                .query_typed_one("SELECT COUNT(*) FROM mk_stored_packages", &[])?
                .try_get(0)?;
            Ok(PruneReport {
                pruned_packages: u64::try_from(pruned).unwrap_or(0),
                remaining_packages: u64::try_from(remaining).unwrap_or(0),
            })
        })
    }
}

fn has_package(client: &mut impl Cached, id: &str) -> Result<bool> {
    Ok(client
        .query_typed_opt(
            "SELECT 1 FROM mk_stored_packages WHERE context_package_id = $1",
            &[(&id, Type::TEXT)],
        )?
        .is_some())
}

fn decode_stored(
    client: &mut impl Cached,
    id: &str,
    encoding: &str,
    body: &[u8],
) -> Result<String> {
    match encoding {
        ENCODING_COMPACT | ENCODING_COMPACT_V1 => decode_with(id, body, |ids, docs| {
            Ok(Named {
                by_version: records_by_ids(client, ids)?
                    .into_iter()
                    .map(|record| (record.memory_version_id, record))
                    .collect(),
                by_doc: records_by_doc(client, docs)?,
            })
        }),
        _ => decode_plain(id, encoding, body),
    }
}

fn records_by_doc(client: &mut impl Cached, docs: &[i64]) -> Result<BTreeMap<i64, MemoryRecord>> {
    if docs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = client.query_typed(
        &format!(
            "SELECT {RECORD_COLUMNS}, d.doc FROM mk_recall_docs d
               JOIN mk_record_rows v ON v.memory_version_id = d.memory_version_id
             WHERE d.doc = ANY($1)"
        ),
        &[(&docs, Type::INT8_ARRAY)],
    )?;
    rows.iter()
        .map(|row| Ok((row.try_get(RECORD_COLUMN_COUNT)?, record_from_cells(row)?)))
        .collect()
}

fn docs_of(client: &mut impl Cached, ids: &[String]) -> Result<BTreeMap<MemoryVersionId, i64>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = client.query_typed(
        "SELECT memory_version_id, doc FROM mk_recall_docs WHERE memory_version_id = ANY($1)",
        &[(&ids, Type::TEXT_ARRAY)],
    )?;
    collect(&rows, |row| {
        let key: String = row.try_get(0)?;
        Ok((parse(&key, "memory_version_id", &key)?, row.try_get(1)?))
    })
    .map(|pairs| pairs.into_iter().collect())
}
