//! An extension point around every operation: an [`OperationInterceptor`] installed on a
//! [`MemoryKernel`](crate::MemoryKernel) with
//! [`with_interceptor`](crate::MemoryKernel::with_interceptor) is called before each
//! operation, with the operation's kind, after the database file check and before the store
//! is touched. It may let the operation run (return `Ok`), hold it back for a while (block,
//! then return `Ok`: the operation then runs under the deadline it was given), or fail it
//! without running it (return the [`ApiError`] the caller gets). A panic in the interceptor is
//! a panic of the operation, which the surfaces turn into `internal_error`.
//!
//! Uses: admission control (shedding load before the store is reached), auditing which
//! operations ran, and the degraded-path tests of the surfaces, which inject delays and
//! failures through it (the `memory-kernel-testkit` crate). A kernel without an interceptor
//! pays one branch per operation.

use std::fmt;
use std::path::PathBuf;

use memory_kernel_store::StoreError;

use crate::error::ApiError;
use crate::store_error::{Operation, classify};

/// Called before each operation of the kernel it is installed on (and of every clone).
pub trait OperationInterceptor: fmt::Debug + Send + Sync {
    /// Decides whether the operation of kind `operation` runs: `Ok` lets it run (after any
    /// time spent here), an error fails it with that error, without touching the store.
    ///
    /// # Errors
    /// The error the operation fails with.
    fn before(&self, operation: Operation) -> Result<(), ApiError>;
}

impl ApiError {
    /// An I/O failure of the environment during `operation` (`action` on `path`), classified
    /// as the same failure of the store would be: the operation's default code
    /// ([`Operation::default_code`]), and `storage_unavailable` for an error of kind
    /// [`std::io::ErrorKind::StorageFull`]. For interceptors that fail an operation the way
    /// the storage would.
    #[must_use]
    pub fn io_failure(
        operation: Operation,
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        let error = if source.kind() == std::io::ErrorKind::StorageFull {
            StoreError::StorageFull
        } else {
            StoreError::Io {
                action,
                path: path.into(),
                source,
            }
        };
        classify(operation, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_code::ErrorCode;

    #[test]
    fn an_io_failure_gets_the_operations_default_code_or_storage_unavailable_when_full() {
        for operation in [
            Operation::Schema,
            Operation::Migrate,
            Operation::Write,
            Operation::Query,
            Operation::Read,
            Operation::ContextLookup,
            Operation::Maintenance,
        ] {
            let failed = ApiError::io_failure(
                operation,
                "reading",
                "db.sqlite3",
                std::io::Error::other("gone"),
            );
            assert_eq!(failed.code(), operation.default_code(), "{operation:?}");
            let full = ApiError::io_failure(
                operation,
                "writing",
                "db.sqlite3",
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            );
            assert_eq!(full.code(), ErrorCode::StorageUnavailable, "{operation:?}");
        }
    }
}
