//! The API's one error type. Every variant maps to exactly one contract [`ErrorCode`], so the
//! CLI and the service turn failures into codes by matching variants, never message text.

use memory_kernel_core::ValidationError;
use memory_kernel_store::StoreError;
use thiserror::Error;

use crate::error_code::ErrorCode;
use crate::report::SchemaStatus;
use crate::store_error::Operation;

/// Why an API operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A value broke a domain rule (bad timestamp, confidence, id, empty field, ...).
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The request is well-formed but refers to something that cannot be used (an unknown
    /// lineage target, a key file that is not 32 hex bytes, an unsigned snapshot, ...).
    #[error("{message}")]
    InvalidRequest {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No context package has this id.
    #[error("no context package with id {id}")]
    ContextPackageNotFound {
        /// The requested id.
        id: String,
    },
    /// A page cursor this build did not make, or made for another listing or order.
    #[error("invalid cursor: {reason}; start again without a cursor")]
    InvalidCursor {
        /// Why it was refused.
        reason: String,
    },
    /// No stored version has this id, or no version of this memory is stored.
    #[error("no memory record with id {id}")]
    MemoryNotFound {
        /// The requested id.
        id: String,
    },
    /// The write conflicts with stored state (version already taken, duplicate id).
    #[error("write conflict: {message}")]
    WriteConflict {
        /// What conflicted.
        message: String,
    },
    /// The database schema is not current, or the database cannot be read as one.
    #[error("schema unavailable: {message}")]
    SchemaUnavailable {
        /// What is wrong and the command that fixes it.
        message: String,
        /// The schema status, when it could be read.
        status: Option<SchemaStatus>,
    },
    /// The operation's deadline passed (waiting for a connection, for the write turn, or
    /// before commit); nothing was committed.
    #[error("operation did not finish within its deadline; nothing was committed")]
    DeadlineExceeded {
        /// The kind of operation that ran out of time.
        operation: Operation,
    },
    /// The storage under the database cannot take writes now (the disk is full); nothing was
    /// committed, and writes work again once space is freed.
    #[error("storage unavailable: {message}")]
    StorageUnavailable {
        /// What is wrong.
        message: String,
    },
    /// A store failure while writing.
    #[error("write failed: {0}")]
    WriteFailed(#[source] StoreError),
    /// A store failure while migrating.
    #[error("migration failed: {0}")]
    MigrationFailed(#[source] StoreError),
    /// A store failure while answering a query.
    #[error("query failed: {0}")]
    QueryFailed(#[source] StoreError),
    /// A store failure while reading a context package.
    #[error("context lookup failed: {0}")]
    ContextLookupFailed(#[source] StoreError),
    /// Anything else (I/O outside the store, a stored package that no longer parses, ...).
    #[error("internal error: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl ApiError {
    /// The contract code for this failure.
    #[must_use]
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) | Self::InvalidRequest { .. } | Self::InvalidCursor { .. } => {
                ErrorCode::ValidationError
            }
            Self::ContextPackageNotFound { .. } => ErrorCode::ContextPackageNotFound,
            Self::WriteConflict { .. } => ErrorCode::WriteConflict,
            Self::SchemaUnavailable { .. } => ErrorCode::SchemaUnavailable,
            Self::DeadlineExceeded { .. } => ErrorCode::OperationTimeout,
            Self::StorageUnavailable { .. } => ErrorCode::StorageUnavailable,
            Self::WriteFailed(_) => ErrorCode::WriteFailed,
            Self::MigrationFailed(_) => ErrorCode::MigrationFailed,
            Self::QueryFailed(_) => ErrorCode::QueryFailed,
            Self::ContextLookupFailed(_) => ErrorCode::ContextLookupFailed,
            Self::Internal { .. } => ErrorCode::InternalError,
            Self::MemoryNotFound { .. } => ErrorCode::MemoryNotFound,
        }
    }
}
