//! Snapshot export and import on PostgreSQL (`crate::snapshot`): the same files, read in
//! one snapshot of the database and applied in one write transaction by the same rules.

use memory_kernel_core::{Link, MemoryRecord, MemoryVersionId};
use memory_kernel_outcome::OutcomeEvent;
use postgres::types::Type;

use super::packages::{all_packages, get_package};
use super::queries::{all_links, list_records, records_by_ids};
use super::records::{insert_link, record_exists, write_record};
use super::{Cached, Pg, Tx};
use crate::error::{Result, StoreError};
use crate::outcome::{StoredRuleset, TrustLayer, add_trust_layer, all_events, all_rulesets};
use crate::packages::StoredContextPackage;
use crate::queries::RecordFilter;
use crate::records::nanos;
use crate::snapshot::ImportReport;
use crate::snapshot::import::ImportTarget;

/// What a snapshot holds: records, links, packages, outcome rulesets and events.
type Contents = (
    Vec<MemoryRecord>,
    Vec<Link>,
    Vec<StoredContextPackage>,
    Vec<StoredRuleset>,
    Vec<OutcomeEvent>,
);

impl Pg<'_> {
    /// Every record, link, package, outcome ruleset and outcome event, read in one snapshot
    /// of the database.
    pub(crate) fn snapshot_contents(&self) -> Result<Contents> {
        self.read(|tx| {
            Ok((
                list_records(tx, &RecordFilter::default())?,
                all_links(tx)?,
                all_packages(tx)?,
                all_rulesets(tx)?,
                all_events(tx)?,
            ))
        })
    }

    /// Runs an import's writes in one write transaction.
    pub(crate) fn import_items(
        &self,
        write: impl FnOnce(&mut PgTarget<'_, '_, '_>) -> Result<ImportReport>,
    ) -> Result<ImportReport> {
        self.write(None, |tx| write(&mut PgTarget(tx)))
    }
}

/// The PostgreSQL engine's import target: an open write transaction.
pub(crate) struct PgTarget<'t, 's, 'c>(&'t mut Tx<'s, 'c>);

impl ImportTarget for PgTarget<'_, '_, '_> {
    fn record(&mut self, id: MemoryVersionId) -> Result<Option<MemoryRecord>> {
        Ok(records_by_ids(self.0, &[id.to_string()])?
            .into_iter()
            .next())
    }

    fn add_record(&mut self, record: &MemoryRecord, carried: bool) -> Result<()> {
        if !carried {
            record.validate()?;
        }
        write_record(self.0, record)
    }

    fn has_link(&mut self, link: &Link) -> Result<bool> {
        Ok(self
            .0
            .query_typed_opt(
                "SELECT 1 FROM mk_memory_links WHERE from_version_id = $1 AND to_version_id = $2
                   AND relation = $3 AND created_at_nanos = $4 AND writer = $5
                   AND justification = $6",
                &[
                    (&link.from.to_string(), Type::TEXT),
                    (&link.to.to_string(), Type::TEXT),
                    (&link.relation.as_str(), Type::TEXT),
                    (&nanos(link.created_at)?, Type::INT8),
                    (&link.writer, Type::TEXT),
                    (&link.justification, Type::TEXT),
                ],
            )?
            .is_some())
    }

    fn add_link(&mut self, link: &Link) -> Result<()> {
        link.validate()?;
        for end in [link.from, link.to] {
            if !record_exists(self.0, end)? {
                return Err(StoreError::UnknownLineageTarget { id: end });
            }
        }
        insert_link(self.0, link)
    }

    fn package(&mut self, id: &str) -> Result<Option<String>> {
        get_package(self.0, id)
    }

    fn add_package(&mut self, id: &str, kind: &str, json: &str) -> Result<()> {
        self.0.query_typed(
            "INSERT INTO mk_stored_packages
                 (context_package_id, kind, encoding, stored_at_nanos, body)
             VALUES ($1, $2, 'json', $3, $4) ON CONFLICT (context_package_id) DO NOTHING",
            &[
                (&id, Type::TEXT),
                (&kind, Type::TEXT),
                (&nanos(memory_kernel_core::Timestamp::now())?, Type::INT8),
                (&json.as_bytes(), Type::BYTEA),
            ],
        )?;
        Ok(())
    }

    fn add_trust(&mut self, layer: &TrustLayer) -> Result<()> {
        add_trust_layer(self.0, layer)
    }
}
