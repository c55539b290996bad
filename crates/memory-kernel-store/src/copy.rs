//! Copying a whole store into an empty one, across engines (`mk db copy`, see
//! `docs/spec/storage-engines.md`, "Moving between engines"): records, links, context
//! packages and the trust layer in one pass, then counts and a content digest compared on both
//! sides.

use std::collections::{BTreeMap, BTreeSet};

use memory_kernel_core::{MemoryId, MemoryRecord, MemoryVersionId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::store::Store;

/// What a store holds, summarised: counts and a digest of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentSummary {
    /// Records stored.
    pub records: u64,
    /// Links stored.
    pub links: u64,
    /// Context packages stored.
    pub context_packages: u64,
    /// Outcome events stored.
    pub outcome_events: u64,
    /// `sha256:` of every record, link and package in listing order, then the trust layer
    /// (each ruleset's version and parameters, every event, every trust snapshot, the
    /// projector's position), each as its canonical JSON: equal digests mean equal content,
    /// whatever the engine.
    pub digest: String,
}

impl Store {
    /// Counts and digests the store's records, links, context packages and trust layer
    /// (reads only).
    ///
    /// # Errors
    /// Schema-gate, corrupt-row and engine errors.
    pub fn content_summary(&self) -> Result<ContentSummary> {
        let records = self.all_records()?;
        let links = self.all_links()?;
        let packages = self.all_context_packages()?;
        let trust = self.trust_layer()?;
        let mut hasher = Sha256::new();
        let mut line = |value: &dyn erased::Json| -> Result<()> {
            hasher.update(value.json()?);
            hasher.update(b"\n");
            Ok(())
        };
        for record in &records {
            line(record)?;
        }
        for link in &links {
            line(link)?;
        }
        for package in &packages {
            line(package)?;
        }
        // A ruleset's `created_at` is when this store got it, not part of its content.
        for ruleset in &trust.rulesets {
            line(&(ruleset.ruleset_version, &ruleset.ruleset_json))?;
        }
        for event in &trust.events {
            line(event)?;
        }
        for snapshot in &trust.snapshots {
            line(snapshot)?;
        }
        line(&trust.projected())?;
        Ok(ContentSummary {
            records: records.len() as u64,
            links: links.len() as u64,
            context_packages: packages.len() as u64,
            outcome_events: trust.events.len() as u64,
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
        })
    }

    /// Copies every record, link, context package and the trust layer of this store into
    /// `target`, which is migrated first and must hold none of them. Records go in one
    /// transaction, in an order where each version follows the one before it and every
    /// lineage target; links, packages and the trust layer (rulesets, events, snapshots and
    /// the projector's position) follow as stored. The copy is then summarised on both sides
    /// and must match.
    ///
    /// # Errors
    /// [`StoreError::CopyTargetNotEmpty`]; [`StoreError::CopyMismatch`] when the target does
    /// not read back what was copied; the engines' errors.
    pub fn copy_to(&self, target: &Store) -> Result<ContentSummary> {
        target.migrate(false)?;
        let existing = target.content_summary()?;
        if existing.records + existing.links + existing.context_packages + existing.outcome_events
            > 0
        {
            return Err(StoreError::CopyTargetNotEmpty {
                location: target.location(),
            });
        }
        let source = self.content_summary()?;
        target.insert_records(&dependency_order(self.all_records()?)?, None)?;
        target.append_links(&self.all_links()?)?;
        target.append_packages(&self.all_context_packages()?)?;
        target.put_trust_layer(&self.trust_layer()?)?;
        let copied = target.content_summary()?;
        if copied != source {
            return Err(StoreError::CopyMismatch {
                expected: Box::new(source),
                found: Box::new(copied),
            });
        }
        Ok(copied)
    }
}

impl Store {
    /// Appends links exactly as given (an identical link is refused, not merged), in one
    /// transaction.
    fn append_links(&self, links: &[memory_kernel_core::Link]) -> Result<()> {
        if let Some(pg) = self.postgres() {
            return pg.append_links(links);
        }
        self.write_tx(None, |tx| {
            links
                .iter()
                .try_for_each(|link| crate::records::insert_link(tx, link))
        })
    }

    /// Stores packages' JSON verbatim, in one transaction.
    fn append_packages(&self, packages: &[crate::StoredContextPackage]) -> Result<()> {
        if let Some(pg) = self.postgres() {
            return pg.append_packages(packages);
        }
        self.write_tx(None, |tx| {
            for package in packages {
                crate::packages::insert_package(
                    tx,
                    &package.context_package_id,
                    &package.kind,
                    &package.package_json,
                )?;
            }
            Ok(())
        })
    }
}

/// Records reordered so each comes after the previous version of its memory and after every
/// version it supersedes or contradicts; otherwise listing order is kept.
fn dependency_order(records: Vec<MemoryRecord>) -> Result<Vec<MemoryRecord>> {
    let mut placed: BTreeSet<MemoryVersionId> = BTreeSet::new();
    let mut versions: BTreeMap<MemoryId, u32> = BTreeMap::new();
    let mut ordered = Vec::with_capacity(records.len());
    let mut pending = records;
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for record in pending {
            let ready = record.version == versions.get(&record.memory_id).copied().unwrap_or(0) + 1
                && record
                    .supersedes
                    .iter()
                    .chain(&record.contradicts)
                    .all(|target| placed.contains(target));
            if ready {
                placed.insert(record.memory_version_id);
                versions.insert(record.memory_id, record.version);
                ordered.push(record);
            } else {
                waiting.push(record);
            }
        }
        if waiting.len() == before {
            let stuck = &waiting[0];
            return Err(StoreError::CorruptRow {
                key: stuck.memory_version_id.to_string(),
                detail: "its earlier version or a lineage target is not in the store".to_owned(),
            });
        }
        pending = waiting;
    }
    Ok(ordered)
}

/// Serialisation behind a trait object, so one closure digests every kind of row.
mod erased {
    use crate::error::{Result, StoreError};

    pub(super) trait Json {
        fn json(&self) -> Result<Vec<u8>>;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> Result<Vec<u8>> {
            serde_json::to_vec(self).map_err(|e| StoreError::CorruptRow {
                key: "content digest".to_owned(),
                detail: e.to_string(),
            })
        }
    }
}
