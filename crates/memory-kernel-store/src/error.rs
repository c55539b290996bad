//! The store's typed errors. Callers match on variants, never on message text; SQLite failures
//! are classified by their (extended) result codes, not by what SQLite printed.

use std::path::PathBuf;

use memory_kernel_core::{MemoryId, MemoryVersionId, Relation, ValidationError};
use rusqlite::ErrorCode;
use thiserror::Error;

use crate::database_file::DatabaseFileError;
use crate::snapshot::SnapshotError;

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The command that brings a database schema up to date; every "schema not current" error
/// names it so the message is also the fix (MKR-031).
pub const MIGRATE_COMMAND: &str = "mk db migrate";

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file does not exist and the operation never creates one.
    #[error("database file {} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// The file exists but is not a SQLite database.
    #[error("{} is not a SQLite database", path.display())]
    NotADatabase {
        /// The offending path.
        path: PathBuf,
    },
    /// A write was attempted through a store opened read-only.
    #[error("the store was opened read-only; this operation writes")]
    ReadOnly,
    /// The disk (or the file system's quota) is full: SQLite could not grow the database or
    /// its journal. Nothing of the failed write was committed; writes work again once space
    /// is freed.
    #[error("the storage holding the database is full")]
    StorageFull,
    /// Another writer held the database lock for longer than the busy timeout (5 s).
    #[error("the database is locked by another writer (waited for the busy timeout)")]
    Busy,
    /// A record, link or query broke a domain rule (the same check every surface uses).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The file holds MemoryKernel tables from before versioned records and the migration
    /// table (MKR-031).
    #[error(
        "database uses a legacy MemoryKernel schema without version-id columns; run `{MIGRATE_COMMAND}` to upgrade it"
    )]
    LegacySchema,
    /// The schema is older than this build needs (a fresh, unmigrated file is version 0).
    #[error(
        "database schema is at version {current}, this build needs version {target}; run `{MIGRATE_COMMAND}`"
    )]
    SchemaOutdated {
        /// The applied version.
        current: u32,
        /// The version this build needs.
        target: u32,
    },
    /// The file was migrated by a newer build; this build refuses to touch it.
    #[error(
        "database schema version {found} is newer than this build supports ({supported}); upgrade MemoryKernel"
    )]
    UnknownSchemaVersion {
        /// The version found in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The migration table is not a gap-free run of versions from 1.
    #[error("migration table is inconsistent: applied versions {applied:?} are not 1..=n")]
    InconsistentMigrations {
        /// The versions found, ascending.
        applied: Vec<u32>,
    },
    /// A new version must be exactly one past the latest stored version (MKR-030).
    #[error("memory {memory_id}: expected version {expected}, got {got}")]
    VersionConflict {
        /// The memory being versioned.
        memory_id: MemoryId,
        /// The only version that may be stored next.
        expected: u32,
        /// The version offered.
        got: u32,
    },
    /// A record with this memory_version_id is already stored (MKR-028).
    #[error("a record with memory_version_id {memory_version_id} is already stored")]
    DuplicateRecord {
        /// The duplicated id.
        memory_version_id: MemoryVersionId,
    },
    /// An identical link (same ends, relation, writer, justification and instant) is stored.
    #[error("an identical {relation} link from {from} to {to} is already stored")]
    DuplicateLink {
        /// The claiming version.
        from: MemoryVersionId,
        /// The version claimed about.
        to: MemoryVersionId,
        /// The relation.
        relation: Relation,
    },
    /// A context package with this id is stored (only raised when duplicates are refused).
    #[error("context package {id} is already stored")]
    DuplicateContextPackage {
        /// The package id.
        id: String,
    },
    /// A lineage target or link end names no stored version. A memory_id given where a
    /// memory_version_id belongs is reported the same way (MKR-029).
    #[error("no stored record has memory_version_id {id}")]
    UnknownLineageTarget {
        /// The unknown id.
        id: MemoryVersionId,
    },
    /// An outcome event, ruleset or replay stream broke a trust rule.
    #[error(transparent)]
    Outcome(#[from] memory_kernel_outcome::OutcomeError),
    /// An outcome event names a memory version that is not stored.
    #[error("no stored record has memory_id {memory_id} and version {version}")]
    UnknownMemoryVersion {
        /// The memory.
        memory_id: MemoryId,
        /// The version.
        version: u32,
    },
    /// An outcome event names a ruleset that is not stored.
    #[error("missing ruleset_version {version} in outcome_rulesets")]
    UnknownRuleset {
        /// The ruleset version.
        version: u32,
    },
    /// The caller's deadline passed before the transaction committed; nothing was written.
    #[error("deadline exceeded before commit; nothing was written")]
    DeadlineExceeded,
    /// A timestamp outside what the store can order by (years 1677..2262).
    #[error("timestamp {value} is outside the range the store can order")]
    TimestampOutOfRange {
        /// The refused instant, as RFC 3339 text.
        value: String,
    },
    /// A stored row no longer satisfies the domain rules (hand-edited or damaged file).
    #[error("stored row {key} is corrupt: {detail}")]
    CorruptRow {
        /// The row's key (memory_version_id or table name).
        key: String,
        /// What failed to parse.
        detail: String,
    },
    /// `restore` was given a source whose schema is not current.
    #[error("restore source {} is not a current MemoryKernel database (schema version {current}, needs {target}{legacy})", path.display(), legacy = if *inferred_from_legacy { ", legacy layout" } else { "" })]
    RestoreSourceNotCurrent {
        /// The source file.
        path: PathBuf,
        /// Its schema version.
        current: u32,
        /// The version this build needs.
        target: u32,
        /// Whether it carries a legacy layout.
        inferred_from_legacy: bool,
    },
    /// `restore` was given a source that fails SQLite's quick_check.
    #[error("restore source {} failed quick_check: {message}", path.display())]
    RestoreSourceCorrupt {
        /// The source file.
        path: PathBuf,
        /// SQLite's report.
        message: String,
    },
    /// The file holds tables named like the original MemoryKernel's, but not in a layout this
    /// build can carry (an unknown recorded version, a missing column, a shape that contradicts
    /// the recorded version). Nothing was changed.
    #[error("cannot migrate the original MemoryKernel layout: {reason}")]
    UnsupportedLegacyLayout {
        /// What does not match.
        reason: String,
    },
    /// One row of the original layout could not be carried into this schema (a value this
    /// build refuses, a payload or link naming no record, ...). The whole migration was rolled
    /// back, so the file is exactly as it was.
    #[error("cannot carry {table} row {key} from the original layout: {source}")]
    LegacyRow {
        /// The original's table.
        table: &'static str,
        /// The row's key in that table (its id as stored there).
        key: String,
        /// Why the row was refused.
        #[source]
        source: Box<StoreError>,
    },
    /// `backup` was given a destination that exists, without permission to replace it.
    #[error("backup destination {} exists; pass --force to replace it", path.display())]
    BackupTargetExists {
        /// The destination.
        path: PathBuf,
    },
    /// `backup` was given the live database file as its destination.
    #[error("backup destination {} is the live database; choose another file", path.display())]
    BackupOntoLiveDatabase {
        /// The destination.
        path: PathBuf,
    },
    /// A snapshot export or import failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The database file cannot serve the operation now (see [`crate::Store::check_file`]).
    #[error(transparent)]
    DatabaseFile(#[from] DatabaseFileError),
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Any other SQLite failure.
    #[error("sqlite: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The operation is not offered on this engine (see `docs/spec/storage-engines.md`).
    #[error(
        "this operation is not available on the {engine} engine (see docs/spec/storage-engines.md)"
    )]
    Unsupported {
        /// The engine's name.
        engine: &'static str,
    },
    /// A database location that names PostgreSQL but cannot be read as a connection URL.
    #[error("{location} is not a valid PostgreSQL URL: {detail}")]
    InvalidLocation {
        /// The location, without its password.
        location: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The PostgreSQL server could not be reached, or gave no connection in time.
    #[error("cannot reach the PostgreSQL database {location}: {detail}")]
    Unreachable {
        /// The URL, without its password.
        location: String,
        /// The driver's account.
        detail: String,
    },
    /// `copy_to` was given a target that already holds records, links, packages or outcome
    /// events.
    #[error("the copy target {location} is not empty; copy into a new, empty database")]
    CopyTargetNotEmpty {
        /// The target's location.
        location: String,
    },
    /// The target did not read back what was copied into it.
    #[error("the copy does not match its source: expected {expected:?}, found {found:?}")]
    CopyMismatch {
        /// The source's summary.
        expected: Box<crate::ContentSummary>,
        /// The target's summary after the copy.
        found: Box<crate::ContentSummary>,
    },
    /// Any other PostgreSQL failure.
    #[error("postgresql: {0}")]
    Postgres(#[source] postgres::Error),
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        use postgres::error::SqlState;
        match error.code() {
            Some(&SqlState::READ_ONLY_SQL_TRANSACTION) => Self::ReadOnly,
            Some(&SqlState::DISK_FULL) => Self::StorageFull,
            Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED) => {
                Self::Busy
            }
            _ => Self::Postgres(error),
        }
    }
}

impl StoreError {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => Self::ReadOnly,
            Some(ErrorCode::DiskFull) => Self::StorageFull,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy,
            _ => Self::Sqlite(error),
        }
    }
}

/// The extended result code of a SQLite failure, when the error is one.
pub(crate) fn extended_code(error: &rusqlite::Error) -> Option<i32> {
    error.sqlite_error().map(|e| e.extended_code)
}

/// Whether the error is a PRIMARY KEY or UNIQUE constraint failure.
pub(crate) fn is_uniqueness_violation(error: &rusqlite::Error) -> bool {
    matches!(
        extended_code(error),
        Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
    )
}

/// Maps "not a database" to the typed error naming the file; everything else as usual.
pub(crate) fn open_error(path: &std::path::Path, error: rusqlite::Error) -> StoreError {
    if error.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::NotADatabase {
            path: path.to_owned(),
        }
    } else {
        StoreError::from(error)
    }
}
