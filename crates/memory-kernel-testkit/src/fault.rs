//! Fault injection for the surfaces' degraded-path tests, through the API's operation
//! interceptor.
//!
//! A test builds its kernel with a [`FaultInjector`] installed
//! (`MemoryKernel::open(path)?.with_interceptor(injector.interceptor())`) and keeps the
//! injector; [`FaultInjector::arm`] sets one [`Fault`] that the next operation of that kernel
//! (or of any clone of it) takes: a [`Fault::Delay`] sleeps before the operation runs normally
//! under its deadline, a [`Fault::Fail`] fails it without touching the store. So every degraded
//! path (a timeout, a store failure, a full disk, an internal error, a panic) is reachable
//! without sleeping on real I/O or corrupting a real file.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use memory_kernel_api::{ApiError, Operation, OperationInterceptor};

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
    /// ([`Operation::default_code`]).
    Store,
    /// The disk under the database is full, as SQLite reports it:
    /// [`ErrorCode::StorageUnavailable`](memory_kernel_api::ErrorCode::StorageUnavailable).
    StorageFull,
    /// An unexpected failure:
    /// [`ErrorCode::InternalError`](memory_kernel_api::ErrorCode::InternalError).
    Internal,
    /// The operation panics, as a bug would (surfaces must turn it into an internal error).
    Panic,
}

impl FaultKind {
    /// The failure of an `operation` that takes this fault.
    ///
    /// # Panics
    /// For [`FaultKind::Panic`], on purpose.
    fn error(self, operation: Operation) -> ApiError {
        match self {
            Self::Store => ApiError::io_failure(
                operation,
                "injected fault: reading",
                "<fault-injection>",
                std::io::Error::other("injected store failure"),
            ),
            Self::StorageFull => ApiError::io_failure(
                operation,
                "injected fault: writing",
                "<fault-injection>",
                std::io::Error::from(std::io::ErrorKind::StorageFull),
            ),
            Self::Internal => ApiError::Internal {
                message: "injected internal failure".to_owned(),
            },
            Self::Panic => panic!("injected panic in a {operation:?} operation"),
        }
    }
}

/// The armed fault of the kernels it is installed on; clones share it.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector(Arc<Mutex<Option<Fault>>>);

impl FaultInjector {
    /// An injector with nothing armed.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The interceptor to install with `MemoryKernel::with_interceptor`.
    #[must_use]
    pub fn interceptor(&self) -> Arc<dyn OperationInterceptor> {
        Arc::new(self.clone())
    }

    /// Arms `fault` for the next operation, replacing one not yet taken.
    pub fn arm(&self, fault: Fault) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(fault);
    }
}

impl OperationInterceptor for FaultInjector {
    /// Takes the armed fault, if any, and applies it to `operation`.
    fn before(&self, operation: Operation) -> Result<(), ApiError> {
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
