//! MemoryKernel's stable application API (`api.v1`): one [`MemoryKernel`] handle over the
//! store, with one typed error enum, [`ApiError`], whose every variant maps to exactly one
//! contract [`ErrorCode`].
//!
//! The CLI and the HTTP service are thin surfaces over this crate; they never touch the store.

pub mod browse;
pub mod error;
pub mod error_code;
mod flat_request;
pub mod interceptor;
pub mod kernel;
/// Backup, restore, integrity and snapshot operations.
pub mod maintenance;
/// Outcome events, trust replay, projector health and gate decisions.
pub mod outcome;
/// The reports operations return, owned by the API (converted from the store's).
pub mod report;
pub mod request;
mod store_error;

pub use browse::{
    ContextPackageEntry, ContextPage, ContextPageRequest, DEFAULT_PAGE_SIZE, HistoryRequest,
    HistoryVersion, LineageRef, ListOrder, MAX_PAGE_SIZE, MemoryHistory, MemoryPage,
    MemoryPageRequest,
};
pub use error::ApiError;
pub use error_code::ErrorCode;
pub use interceptor::OperationInterceptor;
pub use kernel::{Deadline, MemoryKernel, ShownPackage};
pub use request::{
    AddConstraintRequest, AddSummaryRequest, AskRequest, LinkRequest, ListRequest, RecallRequest,
    RecordMetadata,
};
pub use store_error::Operation;

/// The application API contract version, written once here; every surface reports it.
pub const API_CONTRACT_VERSION: &str = "api.v1";

pub use maintenance::{CopyProgress, CopyReport, ExportRequest, FileCopyReport, ImportRequest};
/// Types callers need from the lower layers, re-exported so surfaces depend on this crate.
pub use memory_kernel_core::{ContextPackage, Link, MemoryRecord, ValidationError};
pub use memory_kernel_outcome::{EventType, GateMode, OutcomeEvent, Severity, TrustSnapshot};
pub use outcome::{
    GatePreview, GatePreviewRequest, OutcomeEventRequest, ProjectorCheck, ProjectorIssue,
    ReplayRequest, TrustRequest, VersionKey,
};
pub use report::{
    ContentSummary, ExportReport, ForeignKeyViolation, ImportReport, IntegrityReport,
    LegacyInventory, LegacyPayloadRows, MigrationReport, OutcomeReplay, ProjectorStatus,
    PruneReport, SchemaStatus, StaleKey,
};
