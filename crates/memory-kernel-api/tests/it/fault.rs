//! Fault injection through the operation interceptor (the testkit's injector): an armed fault
//! hits exactly the next operation of the handle or any clone of it, with the operation's own
//! code, and then is gone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use memory_kernel_api::{ErrorCode, ListRequest, MemoryKernel, RecallRequest};
use memory_kernel_testkit::{Fault, FaultInjector, FaultKind};
use tempfile::TempDir;

fn migrated() -> (TempDir, MemoryKernel, FaultInjector) {
    let dir = TempDir::new().unwrap();
    let faults = FaultInjector::new();
    let kernel = MemoryKernel::open(dir.path().join("mk.sqlite3"))
        .unwrap()
        .with_interceptor(faults.interceptor());
    kernel.migrate(false).unwrap();
    (dir, kernel, faults)
}

/// A case: its name, the operation (returning its error code, if any) and the expected code.
type Case = (
    &'static str,
    fn(&MemoryKernel) -> Option<ErrorCode>,
    ErrorCode,
);

fn recall() -> RecallRequest {
    serde_json::from_value(serde_json::json!({"text": "release"})).unwrap()
}

#[test]
fn a_store_fault_fails_the_next_operation_with_its_default_code_once() {
    let (_dir, kernel, faults) = migrated();
    let cases: [Case; 4] = [
        (
            "schema",
            |k| k.schema_status().err().map(|e| e.code()),
            ErrorCode::SchemaUnavailable,
        ),
        (
            "migrate",
            |k| k.migrate(true).err().map(|e| e.code()),
            ErrorCode::MigrationFailed,
        ),
        (
            "recall",
            |k| k.recall(&recall(), None).err().map(|e| e.code()),
            ErrorCode::QueryFailed,
        ),
        (
            "context",
            |k| k.context_show("cp_x").err().map(|e| e.code()),
            ErrorCode::ContextLookupFailed,
        ),
    ];
    for (name, operation, code) in cases {
        faults.arm(Fault::Fail(FaultKind::Store));
        assert_eq!(operation(&kernel.clone()), Some(code), "{name}");
        // Taken: the same operation now runs normally.
        assert_ne!(operation(&kernel), Some(code), "{name} after the fault");
    }
}

#[test]
fn an_internal_fault_is_an_internal_error() {
    let (_dir, kernel, faults) = migrated();
    faults.arm(Fault::Fail(FaultKind::Internal));
    let error = kernel.list(&ListRequest::default()).unwrap_err();
    assert_eq!(error.code(), ErrorCode::InternalError);
    assert!(kernel.list(&ListRequest::default()).is_ok());
}

#[test]
fn a_panic_fault_panics() {
    let (_dir, kernel, faults) = migrated();
    faults.arm(Fault::Fail(FaultKind::Panic));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kernel.schema_status()));
    assert!(outcome.is_err());
    assert!(kernel.schema_status().is_ok());
}

#[test]
fn a_delay_past_the_deadline_rolls_the_query_back() {
    let (_dir, kernel, faults) = migrated();
    faults.arm(Fault::Delay(Duration::from_millis(30)));
    let deadline = Instant::now() + Duration::from_millis(5);
    let error = kernel.recall(&recall(), Some(deadline)).unwrap_err();
    assert_eq!(error.code(), ErrorCode::OperationTimeout);
    assert!(deadline <= Instant::now());
    assert!(kernel.recall(&recall(), None).is_ok());
}
