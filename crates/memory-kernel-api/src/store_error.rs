//! Turns typed store failures into API errors. The store's variant decides when it carries meaning
//! of its own (a conflict, a refused value, a stale schema); otherwise the operation decides, so a
//! failed write is [`ErrorCode::WriteFailed`] and a failed query is [`ErrorCode::QueryFailed`].

use memory_kernel_store::{FileUse, StoreError};

use crate::error::ApiError;
use crate::error_code::ErrorCode;

/// The kind of operation a store call was part of; it fixes the default failure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Opening a database or reading its schema status.
    Schema,
    /// Applying migrations.
    Migrate,
    /// Adding records or links, importing, restoring.
    Write,
    /// Answering ask, recall or list.
    Query,
    /// Reads that write nothing: browsing (a page of records, one version, the history of a
    /// memory) and trust (snapshots, gate decisions, projector health).
    Read,
    /// Reading a stored context package.
    ContextLookup,
    /// Exporting, backing up or checking integrity.
    Maintenance,
}

impl Operation {
    /// What the operation does with the database file: adds, links, imports, and ask and
    /// recall (which store their context package) write; everything else reads, and a
    /// migration is left to SQLite (a dry run only reads).
    #[must_use]
    pub const fn file_use(self) -> FileUse {
        match self {
            Self::Write | Self::Query => FileUse::Write,
            Self::Schema | Self::Migrate | Self::Read | Self::ContextLookup | Self::Maintenance => {
                FileUse::Read
            }
        }
    }

    /// The code of a failure that has no more specific meaning. (A missed deadline is
    /// [`ErrorCode::OperationTimeout`] whatever the operation.)
    #[must_use]
    pub const fn default_code(self) -> ErrorCode {
        match self {
            Self::Schema => ErrorCode::SchemaUnavailable,
            Self::Migrate => ErrorCode::MigrationFailed,
            Self::Write => ErrorCode::WriteFailed,
            Self::Query | Self::Read => ErrorCode::QueryFailed,
            Self::ContextLookup => ErrorCode::ContextLookupFailed,
            Self::Maintenance => ErrorCode::InternalError,
        }
    }
}

/// Classifies a store failure that happened during `operation`.
pub(crate) fn classify(operation: Operation, error: StoreError) -> ApiError {
    match error {
        StoreError::Validation(e) => ApiError::Validation(e),
        StoreError::UnknownLineageTarget { .. }
        | StoreError::Outcome(_)
        | StoreError::UnknownMemoryVersion { .. }
        | StoreError::UnknownRuleset { .. }
        | StoreError::Snapshot(_)
        | StoreError::RestoreSourceNotCurrent { .. }
        | StoreError::RestoreSourceCorrupt { .. }
        | StoreError::TimestampOutOfRange { .. }
        | StoreError::BackupTargetExists { .. }
        | StoreError::BackupOntoLiveDatabase { .. } => ApiError::InvalidRequest {
            message: error.to_string(),
        },
        StoreError::VersionConflict { .. }
        | StoreError::DuplicateRecord { .. }
        | StoreError::DuplicateLink { .. }
        | StoreError::DuplicateContextPackage { .. } => ApiError::WriteConflict {
            message: error.to_string(),
        },
        StoreError::NotFound { .. }
        | StoreError::DatabaseFile(_)
        | StoreError::NotADatabase { .. }
        | StoreError::LegacySchema
        | StoreError::SchemaOutdated { .. }
        | StoreError::UnknownSchemaVersion { .. }
        | StoreError::InconsistentMigrations { .. } => ApiError::SchemaUnavailable {
            message: error.to_string(),
            status: None,
        },
        StoreError::Unsupported { .. } | StoreError::CopyTargetNotEmpty { .. } => {
            ApiError::InvalidRequest {
                message: error.to_string(),
            }
        }
        StoreError::InvalidLocation { .. } => ApiError::SchemaUnavailable {
            message: error.to_string(),
            status: None,
        },
        StoreError::DeadlineExceeded => ApiError::DeadlineExceeded { operation },
        // A database server that cannot be reached takes no writes, as a full disk does.
        StoreError::StorageFull | StoreError::Unreachable { .. } => ApiError::StorageUnavailable {
            message: error.to_string(),
        },
        other => match operation {
            Operation::Schema => ApiError::SchemaUnavailable {
                message: other.to_string(),
                status: None,
            },
            Operation::Migrate => ApiError::MigrationFailed(other),
            Operation::Write => ApiError::WriteFailed(other),
            Operation::Query | Operation::Read => ApiError::QueryFailed(other),
            Operation::ContextLookup => ApiError::ContextLookupFailed(other),
            Operation::Maintenance => ApiError::Internal {
                message: other.to_string(),
            },
        },
    }
}
