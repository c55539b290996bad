//! The reports the API returns: its own types, so the store can change without changing the
//! API contract. Each has the serde shape the surfaces print (docs/spec/api.md) and converts
//! from the store's report with an exhaustive destructuring, so a field the store adds is a
//! compile error here, never a silent change of the contract.

use std::path::PathBuf;

use memory_kernel_store as store;
use serde::Serialize;

/// The schema status of a database file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaStatus {
    /// The highest applied migration (0 for a fresh or legacy file).
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions `migrate` would apply, ascending.
    pub pending_versions: Vec<u32>,
    /// True when nothing is pending and the layout is not legacy.
    pub up_to_date: bool,
    /// True when the file holds MemoryKernel tables of the unversioned layout that predates
    /// the migration table; its version is inferred as 0.
    pub inferred_from_legacy: bool,
}

impl From<store::SchemaStatus> for SchemaStatus {
    fn from(status: store::SchemaStatus) -> Self {
        let store::SchemaStatus {
            current_version,
            target_version,
            pending_versions,
            up_to_date,
            inferred_from_legacy,
        } = status;
        Self {
            current_version,
            target_version,
            pending_versions,
            up_to_date,
            inferred_from_legacy,
        }
    }
}

/// What a migration applied, or with a dry run would apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Whether this was a plan only (the file was not touched).
    pub dry_run: bool,
    /// The version before migrating.
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions applied (or that would be applied), ascending.
    pub would_apply_versions: Vec<u32>,
    /// Whether the starting layout was legacy.
    pub inferred_from_legacy: bool,
    /// The version after migrating; `None` on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_version: Option<u32>,
    /// Whether the schema is current after migrating; `None` on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_date: Option<bool>,
    /// Tables of the legacy layout found in the file before migrating; a migration carries
    /// their rows into the current schema and then drops them (docs/spec/migrations.md).
    pub legacy_tables: Vec<String>,
    /// For a file in the original MemoryKernel's layout: what the migration carries (or,
    /// after a real run, carried). `None` for any other file. Not serialized: the report's
    /// shape is fixed by the surfaces' contracts; a surface reads it here.
    #[serde(skip_serializing)]
    pub legacy_inventory: Option<LegacyInventory>,
}

impl From<store::MigrationReport> for MigrationReport {
    fn from(report: store::MigrationReport) -> Self {
        let store::MigrationReport {
            dry_run,
            current_version,
            target_version,
            would_apply_versions,
            inferred_from_legacy,
            after_version,
            up_to_date,
            legacy_tables,
            legacy_inventory,
        } = report;
        Self {
            dry_run,
            current_version,
            target_version,
            would_apply_versions,
            inferred_from_legacy,
            after_version,
            up_to_date,
            legacy_tables,
            legacy_inventory: legacy_inventory.map(LegacyInventory::from),
        }
    }
}

/// What a migration carries from a file in the original MemoryKernel's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyInventory {
    /// The original's schema version of the file: 2 (version-id layout), 1 (one version per
    /// memory, keyed by memory_id) or 0 (no `memory_records` table).
    pub layout_version: u32,
    /// True when the file's `schema_migrations` table had no rows, so the version was read
    /// from the shape of `memory_records`.
    pub inferred_from_shape: bool,
    /// Rows of `memory_records`; each becomes one record.
    pub records: u64,
    /// Rows of each payload table.
    pub payload_rows: LegacyPayloadRows,
    /// Rows of `memory_links`, duplicates included.
    pub links: u64,
    /// Rows of `memory_links` that repeat an earlier row in every field but their id; they
    /// are carried once, and this many rows are dropped.
    pub duplicate_links: u64,
    /// Rows of `context_packages`; each is stored verbatim with kind `upstream`.
    pub context_packages: u64,
    /// Records that get a new memory_version_id (version-1 files: every record).
    pub derived_version_ids: u64,
    /// The original's tables found in the file, which the migration drops once their rows
    /// are carried (in drop order).
    pub tables: Vec<String>,
}

impl From<store::LegacyInventory> for LegacyInventory {
    fn from(inventory: store::LegacyInventory) -> Self {
        let store::LegacyInventory {
            layout_version,
            inferred_from_shape,
            records,
            payload_rows,
            links,
            duplicate_links,
            context_packages,
            derived_version_ids,
            tables,
        } = inventory;
        Self {
            layout_version,
            inferred_from_shape,
            records,
            payload_rows: payload_rows.into(),
            links,
            duplicate_links,
            context_packages,
            derived_version_ids,
            tables,
        }
    }
}

/// Rows of each payload table of the original layout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LegacyPayloadRows {
    /// `constraint_payloads`.
    pub constraint: u64,
    /// `decision_payloads`.
    pub decision: u64,
    /// `preference_payloads`.
    pub preference: u64,
    /// `event_payloads`.
    pub event: u64,
    /// `outcome_payloads`.
    pub outcome: u64,
}

impl From<store::LegacyPayloadRows> for LegacyPayloadRows {
    fn from(rows: store::LegacyPayloadRows) -> Self {
        let store::LegacyPayloadRows {
            constraint,
            decision,
            preference,
            event,
            outcome,
        } = rows;
        Self {
            constraint,
            decision,
            preference,
            event,
            outcome,
        }
    }
}

/// SQLite's quick_check, foreign-key violations and the schema status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// Whether `PRAGMA quick_check` answered `ok`.
    pub quick_check_ok: bool,
    /// Its answer, one finding per line (`ok` when clean).
    pub quick_check_message: String,
    /// Every foreign-key violation found.
    pub foreign_key_violations: Vec<ForeignKeyViolation>,
    /// The schema status.
    pub schema_status: SchemaStatus,
}

impl IntegrityReport {
    /// True when quick_check is clean, no foreign key dangles and the schema is current.
    #[must_use]
    pub fn is_healthy(&self) -> bool {
        self.quick_check_ok
            && self.foreign_key_violations.is_empty()
            && self.schema_status.up_to_date
    }
}

impl From<store::IntegrityReport> for IntegrityReport {
    fn from(report: store::IntegrityReport) -> Self {
        let store::IntegrityReport {
            quick_check_ok,
            quick_check_message,
            foreign_key_violations,
            schema_status,
        } = report;
        Self {
            quick_check_ok,
            quick_check_message,
            foreign_key_violations: foreign_key_violations
                .into_iter()
                .map(ForeignKeyViolation::from)
                .collect(),
            schema_status: schema_status.into(),
        }
    }
}

/// One foreign-key violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyViolation {
    /// The table holding the dangling reference.
    pub table: String,
    /// Its rowid (`None` for tables without one).
    pub rowid: Option<i64>,
    /// The table the reference should point into.
    pub parent: String,
    /// Which foreign key of `table` failed (SQLite's index).
    pub foreign_key_index: i64,
}

impl From<store::ForeignKeyViolation> for ForeignKeyViolation {
    fn from(violation: store::ForeignKeyViolation) -> Self {
        let store::ForeignKeyViolation {
            table,
            rowid,
            parent,
            foreign_key_index,
        } = violation;
        Self {
            table,
            rowid,
            parent,
            foreign_key_index,
        }
    }
}

/// What a snapshot export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The snapshot folder.
    pub path: PathBuf,
    /// Records written.
    pub records: u64,
    /// Links written.
    pub links: u64,
    /// Context packages written.
    pub packages: u64,
    /// Whether `manifest.sig` was written.
    pub signed: bool,
    /// Whether the data files are encrypted.
    pub encrypted: bool,
}

impl From<store::ExportReport> for ExportReport {
    fn from(report: store::ExportReport) -> Self {
        let store::ExportReport {
            path,
            records,
            links,
            packages,
            signed,
            encrypted,
        } = report;
        Self {
            path,
            records,
            links,
            packages,
            signed,
            encrypted,
        }
    }
}

/// What a snapshot import stored and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Records newly stored.
    pub records_imported: u64,
    /// Records already stored (identical), skipped.
    pub records_skipped: u64,
    /// Links newly stored.
    pub links_imported: u64,
    /// Links already stored, skipped.
    pub links_skipped: u64,
    /// Context packages newly stored.
    pub packages_imported: u64,
    /// Context packages already stored, skipped.
    pub packages_skipped: u64,
}

impl From<store::ImportReport> for ImportReport {
    fn from(report: store::ImportReport) -> Self {
        let store::ImportReport {
            records_imported,
            records_skipped,
            links_imported,
            links_skipped,
            packages_imported,
            packages_skipped,
        } = report;
        Self {
            records_imported,
            records_skipped,
            links_imported,
            links_skipped,
            packages_imported,
            packages_skipped,
        }
    }
}

/// What pruning context packages deleted and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Packages deleted.
    pub pruned_packages: u64,
    /// Packages kept.
    pub remaining_packages: u64,
}

impl From<store::PruneReport> for PruneReport {
    fn from(report: store::PruneReport) -> Self {
        let store::PruneReport {
            pruned_packages,
            remaining_packages,
        } = report;
        Self {
            pruned_packages,
            remaining_packages,
        }
    }
}

/// What a replay of outcome events rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutcomeReplay {
    /// Keys whose snapshot was rebuilt.
    pub projected_keys: u64,
    /// Events read (whole streams of the keys, older events included).
    pub processed_events: u64,
    /// The newest event sequence number (0 without events).
    pub last_event_seq: i64,
}

impl From<store::OutcomeReplay> for OutcomeReplay {
    fn from(replay: store::OutcomeReplay) -> Self {
        let store::OutcomeReplay {
            projected_keys,
            processed_events,
            last_event_seq,
        } = replay;
        Self {
            projected_keys,
            processed_events,
            last_event_seq,
        }
    }
}

/// The trust projector's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectorStatus {
    /// The projector's name (`trust_v0`).
    pub projector_name: String,
    /// The ruleset recorded in the projector's state.
    pub ruleset_version: u32,
    /// Every event up to this sequence number is reflected in its key's snapshot.
    pub projected_event_seq: i64,
    /// The newest event sequence number (0 without events).
    pub latest_event_seq: i64,
    /// `latest_event_seq - projected_event_seq`, never negative.
    pub lag_events: i64,
    /// The same as `lag_events` (kept for readers of the original's output).
    pub lag_delta_events: i64,
    /// Distinct (memory_id, version) keys with events.
    pub tracked_keys: u64,
    /// Rows of `memory_trust`.
    pub trust_rows: u64,
    /// Keys whose snapshot is missing or older than their newest event.
    pub stale_trust_rows: u64,
    /// Keys with events and no snapshot.
    pub keys_with_events_no_trust_row: u64,
    /// Snapshots of keys without events.
    pub trust_rows_without_events: u64,
    /// The largest gap, over stale keys, between newest event and snapshot.
    pub max_stale_seq_gap: i64,
    /// When the projector's state was last written.
    pub updated_at: Option<String>,
}

impl From<store::ProjectorStatus> for ProjectorStatus {
    fn from(status: store::ProjectorStatus) -> Self {
        let store::ProjectorStatus {
            projector_name,
            ruleset_version,
            projected_event_seq,
            latest_event_seq,
            lag_events,
            lag_delta_events,
            tracked_keys,
            trust_rows,
            stale_trust_rows,
            keys_with_events_no_trust_row,
            trust_rows_without_events,
            max_stale_seq_gap,
            updated_at,
        } = status;
        Self {
            projector_name,
            ruleset_version,
            projected_event_seq,
            latest_event_seq,
            lag_events,
            lag_delta_events,
            tracked_keys,
            trust_rows,
            stale_trust_rows,
            keys_with_events_no_trust_row,
            trust_rows_without_events,
            max_stale_seq_gap,
            updated_at,
        }
    }
}

/// A key whose trust snapshot is missing or out of date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleKey {
    /// The memory.
    pub memory_id: String,
    /// The version.
    pub version: u32,
    /// The key's newest event.
    pub max_event_seq: i64,
    /// The event its snapshot reflects, if it has one.
    pub projected_event_seq: Option<i64>,
}

impl From<store::StaleKey> for StaleKey {
    fn from(key: store::StaleKey) -> Self {
        let store::StaleKey {
            memory_id,
            version,
            max_event_seq,
            projected_event_seq,
        } = key;
        Self {
            memory_id,
            version,
            max_event_seq,
            projected_event_seq,
        }
    }
}

/// What a store holds, summarised: counts and a digest of its content (`copy_store`).
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
    /// `sha256:` of every record, link and package in listing order, then the trust layer,
    /// each as canonical JSON (see `docs/spec/storage-engines.md`).
    pub digest: String,
}

impl From<store::ContentSummary> for ContentSummary {
    fn from(summary: store::ContentSummary) -> Self {
        let store::ContentSummary {
            records,
            links,
            context_packages,
            outcome_events,
            digest,
        } = summary;
        Self {
            records,
            links,
            context_packages,
            outcome_events,
            digest,
        }
    }
}
