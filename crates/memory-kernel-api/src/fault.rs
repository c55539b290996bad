//! Fault injection for the surfaces' degraded-path tests (cargo feature `fault-injection`).
//!
//! A test arms one [`Fault`] on a [`MemoryKernel`](crate::MemoryKernel) with
//! [`inject_fault`](crate::MemoryKernel::inject_fault); the next operation of that handle (or of
//! any clone of it) takes it: a [`Fault::Delay`] sleeps before the operation runs normally under
//! its deadline, a [`Fault::Fail`] fails it without touching the store. So every degraded path
//! (a timeout, a store failure, an internal error, a panic) is reachable without sleeping on
//! real I/O or corrupting a real file.
//!
//! Release builds never enable the feature: without it the hook is an empty inline function and
//! the fault types do not exist.

#[cfg(feature = "fault-injection")]
pub(crate) use enabled::FaultSlot;
#[cfg(feature = "fault-injection")]
pub use enabled::{Fault, FaultKind};

#[cfg(not(feature = "fault-injection"))]
pub(crate) use disabled::FaultSlot;

#[cfg(feature = "fault-injection")]
mod enabled {
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use memory_kernel_store_sqlite::StoreError;

    use crate::error::ApiError;
    use crate::store_error::{Operation, classify};

    /// What happens to the next operation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// Sleep this long, then run the operation normally (it carries the deadline it was
        /// given, so a write that overruns it rolls back).
        Delay(Duration),
        /// Fail the operation without running it.
        Fail(FaultKind),
    }

    /// How an injected failure looks to the caller.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum FaultKind {
        /// A store I/O failure, classified like a real one: the operation's default code
        /// ([`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed),
        /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed),
        /// [`ErrorCode::ContextLookupFailed`](crate::ErrorCode::ContextLookupFailed),
        /// [`ErrorCode::MigrationFailed`](crate::ErrorCode::MigrationFailed), and
        /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable) for schema reads).
        Store,
        /// The disk under the database is full, as SQLite reports it:
        /// [`ErrorCode::StorageUnavailable`](crate::ErrorCode::StorageUnavailable).
        StorageFull,
        /// An unexpected failure: [`ErrorCode::InternalError`](crate::ErrorCode::InternalError).
        Internal,
        /// The operation panics, as a bug would (surfaces must turn it into
        /// [`ErrorCode::InternalError`](crate::ErrorCode::InternalError)).
        Panic,
    }

    impl FaultKind {
        fn error(self, operation: Operation) -> ApiError {
            match self {
                Self::Store => classify(
                    operation,
                    StoreError::Io {
                        action: "injected fault: reading",
                        path: PathBuf::from("<fault-injection>"),
                        source: std::io::Error::other("injected store failure"),
                    },
                ),
                Self::StorageFull => classify(operation, StoreError::StorageFull),
                Self::Internal => ApiError::Internal {
                    message: "injected internal failure".to_owned(),
                },
                Self::Panic => panic!("injected panic in a {operation:?} operation"),
            }
        }
    }

    /// The armed fault of one kernel, shared by its clones.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct FaultSlot(Arc<Mutex<Option<Fault>>>);

    impl FaultSlot {
        /// An empty slot.
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// Arms `fault` for the next operation, replacing one not yet taken.
        pub(crate) fn arm(&self, fault: Fault) {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
        }

        /// Takes the armed fault, if any, and applies it to `operation`.
        pub(crate) fn trigger(&self, operation: Operation) -> Result<(), ApiError> {
            let fault = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
            match fault {
                None => Ok(()),
                Some(Fault::Delay(duration)) => {
                    std::thread::sleep(duration);
                    Ok(())
                }
                Some(Fault::Fail(kind)) => Err(kind.error(operation)),
            }
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
mod disabled {
    use crate::error::ApiError;
    use crate::store_error::Operation;

    /// Without the feature there is nothing to arm and the hook does nothing.
    #[derive(Debug, Clone, Copy, Default)]
    pub(crate) struct FaultSlot;

    impl FaultSlot {
        /// The empty slot.
        pub(crate) const fn new() -> Self {
            Self
        }

        /// Does nothing.
        #[inline]
        pub(crate) fn trigger(self, _operation: Operation) -> Result<(), ApiError> {
            Ok(())
        }
    }
}
