//! Copying a whole store into an empty one, across engines (`mk db copy`, see
//! `docs/spec/storage-engines.md`, "Moving between engines"): records, links, context
//! packages and the trust layer in one pass, then counts and a content digest compared on both
//! sides.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::snapshot::import::Items;
use crate::store::Store;

/// How far a copy (or an import) got: `done` of the stage's `total` items (both 0 for a stage
/// without items to count). Reported when a stage starts, every [`PROGRESS_STEP`] items and
/// when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProgress {
    /// What is being done.
    pub stage: CopyStage,
    /// Items of the stage done so far.
    pub done: u64,
    /// Items of the stage in all.
    pub total: u64,
}

/// The stages of a copy, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStage {
    /// Migrating a temporary copy of a source with an older layout.
    MigratingSource,
    /// Reading the source.
    Reading,
    /// Writing records.
    Records,
    /// Writing links.
    Links,
    /// Writing context packages.
    Packages,
    /// Writing the trust layer (counted in outcome events).
    OutcomeEvents,
    /// Reading the target back and comparing it with the source.
    Verifying,
}

/// Items between two reports of a stage.
pub const PROGRESS_STEP: u64 = 1000;

/// One stage's reporter.
pub(crate) struct Progress<'p> {
    report: &'p mut dyn FnMut(CopyProgress),
    stage: CopyStage,
    done: u64,
    total: u64,
}

impl<'p> Progress<'p> {
    /// Starts `stage` of `total` items (reported as 0 done).
    pub(crate) fn new(
        report: &'p mut dyn FnMut(CopyProgress),
        stage: CopyStage,
        total: usize,
    ) -> Self {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        report(CopyProgress {
            stage,
            done: 0,
            total,
        });
        Self {
            report,
            stage,
            done: 0,
            total,
        }
    }

    /// Counts one item done.
    pub(crate) fn one(&mut self) {
        self.done += 1;
        if self.done.is_multiple_of(PROGRESS_STEP) && self.done < self.total {
            (self.report)(CopyProgress {
                stage: self.stage,
                done: self.done,
                total: self.total,
            });
        }
    }

    /// Ends the stage with every item done.
    pub(crate) fn finish(self) {
        (self.report)(CopyProgress {
            stage: self.stage,
            done: self.total,
            total: self.total,
        });
    }
}

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
    /// `target`, which is migrated first and must hold none of them. Everything is written in
    /// one transaction of the target, by the rules of a snapshot import (records ordered so
    /// each follows its earlier version and every lineage target; links, packages and the
    /// trust layer as stored, trust snapshots and the projector's position included), so a
    /// copy that fails leaves the target empty. The copy is then summarised on both sides and
    /// must match.
    ///
    /// # Errors
    /// [`StoreError::CopyTargetNotEmpty`]; [`StoreError::CopyMismatch`] when the target does
    /// not read back what was copied; the engines' errors.
    pub fn copy_to(&self, target: &Store) -> Result<ContentSummary> {
        self.copy_to_with(target, &mut |_| {})
    }

    /// [`Store::copy_to`], telling `progress` how far it got.
    ///
    /// # Errors
    /// As [`Store::copy_to`].
    pub fn copy_to_with(
        &self,
        target: &Store,
        progress: &mut dyn FnMut(CopyProgress),
    ) -> Result<ContentSummary> {
        let status = self.schema_status()?;
        if status.up_to_date {
            return self.copy_current(target, progress);
        }
        if self.path().is_none() {
            status.require_current()?;
        }
        // An older layout (an earlier schema of this store, or a file of the original
        // MemoryKernel) is migrated in a temporary copy: the source itself never changes.
        progress(CopyProgress {
            stage: CopyStage::MigratingSource,
            done: 0,
            total: 0,
        });
        let temp = std::env::temp_dir();
        let staging = tempfile::Builder::new()
            .prefix(".mk-copy-")
            .tempdir_in(&temp)
            .map_err(StoreError::io("creating a staging folder in", &temp))?;
        let staged_path = staging.path().join("source.sqlite3");
        self.backup(&staged_path, false)?;
        let staged = Store::open_existing(&staged_path)?;
        staged.migrate(false)?;
        staged.copy_current(target, progress)
    }

    /// The copy of a store whose schema is current.
    fn copy_current(
        &self,
        target: &Store,
        progress: &mut dyn FnMut(CopyProgress),
    ) -> Result<ContentSummary> {
        progress(CopyProgress {
            stage: CopyStage::Reading,
            done: 0,
            total: 0,
        });
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
        target.write_items(
            Items {
                records: self.all_records()?,
                links: self.all_links()?,
                packages: self.all_context_packages()?,
                trust: self.trust_layer()?,
                // Written as stored: a record carried from the original MemoryKernel keeps
                // what current validation would refuse (its source hash, as the original
                // stored it).
                carried: true,
            },
            false,
            progress,
        )?;
        progress(CopyProgress {
            stage: CopyStage::Verifying,
            done: 0,
            total: 0,
        });
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
