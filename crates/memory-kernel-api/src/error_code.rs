//! The contract error codes (docs/spec/service-contract.md). This list, in this order, is the single source of
//! truth: the CLI, the service, the OpenAPI document and the integration pack all take it from
//! here or are checked against it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A contract error code, as it appears on every surface (`error.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body is not JSON.
    InvalidJson,
    /// A value broke a rule of the contract.
    ValidationError,
    /// No context package has the given id.
    ContextPackageNotFound,
    /// The write conflicts with what is stored (version taken, duplicate id).
    WriteConflict,
    /// A write could not be completed.
    WriteFailed,
    /// The database schema is not current (or the database is not readable as one).
    SchemaUnavailable,
    /// A migration could not be applied.
    MigrationFailed,
    /// A query could not be answered.
    QueryFailed,
    /// A context package could not be read.
    ContextLookupFailed,
    /// Anything else.
    InternalError,
    /// The operation ran out of its deadline; nothing was committed, a retry is safe.
    OperationTimeout,
    /// The storage under the database cannot take writes (the disk is full).
    StorageUnavailable,
    /// No memory record has the given version id, or no version of the given memory is stored.
    MemoryNotFound,
}

impl ErrorCode {
    /// Every code, in canonical order.
    pub const ALL: [Self; 13] = [
        Self::InvalidJson,
        Self::ValidationError,
        Self::ContextPackageNotFound,
        Self::WriteConflict,
        Self::WriteFailed,
        Self::SchemaUnavailable,
        Self::MigrationFailed,
        Self::QueryFailed,
        Self::ContextLookupFailed,
        Self::InternalError,
        Self::OperationTimeout,
        Self::StorageUnavailable,
        Self::MemoryNotFound,
    ];

    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "invalid_json",
            Self::ValidationError => "validation_error",
            Self::ContextPackageNotFound => "context_package_not_found",
            Self::WriteConflict => "write_conflict",
            Self::WriteFailed => "write_failed",
            Self::SchemaUnavailable => "schema_unavailable",
            Self::MigrationFailed => "migration_failed",
            Self::QueryFailed => "query_failed",
            Self::ContextLookupFailed => "context_lookup_failed",
            Self::InternalError => "internal_error",
            Self::OperationTimeout => "operation_timeout",
            Self::StorageUnavailable => "storage_unavailable",
            Self::MemoryNotFound => "memory_not_found",
        }
    }

    /// Whether the caller can fix the failure by changing the request (CLI exit code 2).
    #[must_use]
    pub const fn is_caller_error(self) -> bool {
        matches!(self, Self::InvalidJson | Self::ValidationError)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn wire_spelling_matches_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
