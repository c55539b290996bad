//! The endpoint table (docs/spec/service-contract.md): the one list the router mounts, the OpenAPI
//! document describes and the runtime contract reports.

use axum::http::StatusCode;
use axum::routing::{MethodFilter, MethodRouter, on};
use memory_kernel_api::ErrorCode::{
    ContextLookupFailed, ContextPackageNotFound, InternalError, InvalidJson, MemoryNotFound,
    MigrationFailed, QueryFailed, SchemaUnavailable, ValidationError, WriteConflict, WriteFailed,
};
use memory_kernel_api::{ErrorCode, Operation};

use crate::handlers::{context, db, memory, outcome, probes, query};
use crate::state::AppState;

/// The liveness probe; the one path that never requires the bearer token.
pub const LIVENESS_PATH: &str = "/v1/health";
/// The readiness probe.
pub const READINESS_PATH: &str = "/v1/ready";
/// The Prometheus exposition of the request telemetry.
pub const METRICS_PATH: &str = "/metrics";
/// The status of every successful response.
pub const SUCCESS_STATUS: StatusCode = StatusCode::OK;

/// The HTTP methods the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl HttpMethod {
    /// The method's name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }

    const fn filter(self) -> MethodFilter {
        match self {
            Self::Get => MethodFilter::GET,
            Self::Post => MethodFilter::POST,
        }
    }
}

/// The JSON body an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestBody {
    /// `{dry_run}`.
    Migrate,
    /// The add-constraint request of the API.
    AddConstraint,
    /// The add-summary request of the API.
    AddSummary,
    /// The link request of the API.
    Link,
    /// `{text, actor, action, resource, as_of?}`.
    Ask,
    /// `{text, record_types?, as_of?, limit?, exclusions?}`.
    Recall,
    /// An outcome event: `{memory_id, version, event_type, writer, justification, …}`.
    OutcomeEvent,
    /// `{from_event_seq?}`.
    OutcomeReplay,
    /// `{memory_id, version, as_of?}`.
    Trust,
    /// `{mode, as_of?, context_id?, candidates}`.
    GatePreview,
}

/// What a successful response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseData {
    /// Enveloped `{status: ok, timeout_ms, telemetry}`.
    Health,
    /// Enveloped `{status: ready, checks}`.
    Ready,
    /// The OpenAPI document itself, as YAML (not enveloped).
    OpenApiYaml,
    /// The request telemetry in the Prometheus text format 0.0.4 (not enveloped).
    PrometheusText,
    /// Enveloped schema status.
    SchemaStatus,
    /// Enveloped migration report.
    Migration,
    /// Enveloped stored record.
    MemoryRecord,
    /// Enveloped stored link.
    Link,
    /// Enveloped context package.
    ContextPackage,
    /// Enveloped stored outcome event.
    OutcomeEvent,
    /// Enveloped replay report.
    OutcomeReplay,
    /// Enveloped trust snapshot.
    TrustSnapshot,
    /// Enveloped gate preview (`gate_preview.v1`).
    GatePreview,
    /// Enveloped projector status (`projector_status.v1`).
    ProjectorStatus,
    /// Enveloped page of records `{records, next_cursor}`.
    MemoryPage,
    /// Enveloped history of one memory.
    MemoryHistory,
    /// Enveloped page of stored context packages `{context_packages, next_cursor}`.
    ContextPage,
}

/// One endpoint of the service.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Stable operation id (OpenAPI `operationId`).
    pub operation_id: &'static str,
    /// The method.
    pub method: HttpMethod,
    /// The path, in axum and OpenAPI syntax (`{param}`).
    pub path: &'static str,
    /// One line saying what it does.
    pub summary: &'static str,
    /// The JSON body it takes, if any.
    pub request_body: Option<RequestBody>,
    /// What a success carries.
    pub response: ResponseData,
    /// The API operation it runs, whose default failure code a timeout reports.
    pub operation: Option<Operation>,
    /// The contract codes particular to the endpoint, in canonical order; [`Endpoint::codes`]
    /// adds the ones every database operation can meet (the transport-level refusals of
    /// [`Endpoint::transport_statuses`] come on top).
    pub error_codes: &'static [ErrorCode],
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Endpoint {
    /// The axum method router serving this endpoint.
    pub fn method_router(&self) -> MethodRouter<AppState> {
        (self.handler)(self.method.filter())
    }

    /// Whether the bearer token (when configured) is required.
    #[must_use]
    pub fn requires_auth(&self) -> bool {
        self.path != LIVENESS_PATH
    }

    /// The code a timeout of this endpoint reports: [`ErrorCode::OperationTimeout`] for every
    /// endpoint that runs an operation under the deadline.
    #[must_use]
    pub fn timeout_code(&self) -> Option<ErrorCode> {
        self.operation.map(|_| ErrorCode::OperationTimeout)
    }

    /// Every contract code the endpoint can answer with, in canonical order: its own
    /// [`Endpoint::error_codes`], [`ErrorCode::OperationTimeout`] when it runs an operation under
    /// the deadline, and [`ErrorCode::StorageUnavailable`] when that operation writes (or it is the
    /// readiness probe, which reports what writes will do).
    #[must_use]
    pub fn codes(&self) -> Vec<ErrorCode> {
        let mut codes = self.error_codes.to_vec();
        codes.extend(self.timeout_code());
        let writes = matches!(
            self.operation,
            Some(Operation::Write | Operation::Query | Operation::Migrate)
        );
        // Trust reads (`Operation::Read`) write nothing, so a full disk does not concern them.
        if writes || self.path == READINESS_PATH {
            codes.push(ErrorCode::StorageUnavailable);
        }
        codes.sort_by_key(|code| ErrorCode::ALL.iter().position(|c| c == code));
        codes.dedup();
        codes
    }

    /// Transport-level statuses this endpoint can answer with (all carry
    /// [`ErrorCode::ValidationError`]): 401 when a token is configured, 405 for another method, and
    /// for endpoints with a body 413 (too large) and 415 (not `application/json`).
    #[must_use]
    pub fn transport_statuses(&self) -> Vec<StatusCode> {
        let mut statuses = Vec::new();
        if self.requires_auth() {
            statuses.push(StatusCode::UNAUTHORIZED);
        }
        statuses.push(StatusCode::METHOD_NOT_ALLOWED);
        if self.request_body.is_some() {
            statuses.push(StatusCode::PAYLOAD_TOO_LARGE);
            statuses.push(StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        statuses
    }
}

const WRITE_CODES: &[ErrorCode] = &[
    InvalidJson,
    ValidationError,
    WriteConflict,
    WriteFailed,
    SchemaUnavailable,
    InternalError,
];
const QUERY_CODES: &[ErrorCode] = &[
    InvalidJson,
    ValidationError,
    SchemaUnavailable,
    QueryFailed,
    InternalError,
];
/// Outcome writes: an event never conflicts (its id is generated), so no
/// [`ErrorCode::WriteConflict`].
const OUTCOME_WRITE_CODES: &[ErrorCode] = &[
    InvalidJson,
    ValidationError,
    WriteFailed,
    SchemaUnavailable,
    InternalError,
];

const READ_CODES: &[ErrorCode] = &[
    ValidationError,
    SchemaUnavailable,
    QueryFailed,
    InternalError,
];
const LOOKUP_CODES: &[ErrorCode] = &[
    ValidationError,
    SchemaUnavailable,
    QueryFailed,
    InternalError,
    MemoryNotFound,
];

/// Every endpoint, in the order of docs/spec/service-contract.md.
pub const ENDPOINTS: [Endpoint; 21] = [
    Endpoint {
        operation_id: "health",
        method: HttpMethod::Get,
        path: LIVENESS_PATH,
        summary: "Liveness: the process answers; includes the request counters",
        request_body: None,
        response: ResponseData::Health,
        operation: None,
        error_codes: &[],
        handler: |m| on(m, probes::health),
    },
    Endpoint {
        operation_id: "ready",
        method: HttpMethod::Get,
        path: READINESS_PATH,
        summary: "Readiness: 200 when the database schema is current, else 503",
        request_body: None,
        response: ResponseData::Ready,
        operation: Some(Operation::Schema),
        error_codes: &[SchemaUnavailable, InternalError],
        handler: |m| on(m, probes::ready),
    },
    Endpoint {
        operation_id: "openapi",
        method: HttpMethod::Get,
        path: "/v1/openapi",
        summary: "This OpenAPI document, as YAML",
        request_body: None,
        response: ResponseData::OpenApiYaml,
        operation: None,
        error_codes: &[InternalError],
        handler: |m| on(m, probes::openapi),
    },
    Endpoint {
        operation_id: "db_schema_version",
        method: HttpMethod::Post,
        path: "/v1/db/schema-version",
        summary: "Schema status of the database (read-only)",
        request_body: None,
        response: ResponseData::SchemaStatus,
        operation: Some(Operation::Schema),
        error_codes: &[SchemaUnavailable, InternalError],
        handler: |m| on(m, db::schema_version),
    },
    Endpoint {
        operation_id: "db_migrate",
        method: HttpMethod::Post,
        path: "/v1/db/migrate",
        summary: "Apply pending migrations, or report the plan with dry_run",
        request_body: Some(RequestBody::Migrate),
        response: ResponseData::Migration,
        operation: Some(Operation::Migrate),
        error_codes: &[
            InvalidJson,
            ValidationError,
            SchemaUnavailable,
            MigrationFailed,
            InternalError,
        ],
        handler: |m| on(m, db::migrate),
    },
    Endpoint {
        operation_id: "memory_add_constraint",
        method: HttpMethod::Post,
        path: "/v1/memory/add/constraint",
        summary: "Add a constraint record (scoped allow or deny)",
        request_body: Some(RequestBody::AddConstraint),
        response: ResponseData::MemoryRecord,
        operation: Some(Operation::Write),
        error_codes: WRITE_CODES,
        handler: |m| on(m, memory::add_constraint),
    },
    Endpoint {
        operation_id: "memory_add_summary",
        method: HttpMethod::Post,
        path: "/v1/memory/add/summary",
        summary: "Add a decision, preference, event or outcome record",
        request_body: Some(RequestBody::AddSummary),
        response: ResponseData::MemoryRecord,
        operation: Some(Operation::Write),
        error_codes: WRITE_CODES,
        handler: |m| on(m, memory::add_summary),
    },
    Endpoint {
        operation_id: "memory_link",
        method: HttpMethod::Post,
        path: "/v1/memory/link",
        summary: "Link two stored versions (supersedes or contradicts)",
        request_body: Some(RequestBody::Link),
        response: ResponseData::Link,
        operation: Some(Operation::Write),
        error_codes: WRITE_CODES,
        handler: |m| on(m, memory::link),
    },
    Endpoint {
        operation_id: "memory_list",
        method: HttpMethod::Get,
        path: "/v1/memory",
        summary: "A page of stored records, filtered, oldest or newest first, behind a cursor",
        request_body: None,
        response: ResponseData::MemoryPage,
        operation: Some(Operation::Read),
        error_codes: READ_CODES,
        handler: |m| on(m, memory::list),
    },
    Endpoint {
        operation_id: "memory_version",
        method: HttpMethod::Get,
        path: "/v1/memory/versions/{memory_version_id}",
        summary: "One stored record by its version id",
        request_body: None,
        response: ResponseData::MemoryRecord,
        operation: Some(Operation::Read),
        error_codes: LOOKUP_CODES,
        handler: |m| on(m, memory::version),
    },
    Endpoint {
        operation_id: "memory_history",
        method: HttpMethod::Get,
        path: "/v1/memory/{memory_id}/history",
        summary: "Every version of a memory with its lineage, and the version current at as_of",
        request_body: None,
        response: ResponseData::MemoryHistory,
        operation: Some(Operation::Read),
        error_codes: LOOKUP_CODES,
        handler: |m| on(m, memory::history),
    },
    Endpoint {
        operation_id: "query_ask",
        method: HttpMethod::Post,
        path: "/v1/query/ask",
        summary: "Answer a policy question; the context package is stored",
        request_body: Some(RequestBody::Ask),
        response: ResponseData::ContextPackage,
        operation: Some(Operation::Query),
        error_codes: QUERY_CODES,
        handler: |m| on(m, query::ask),
    },
    Endpoint {
        operation_id: "query_recall",
        method: HttpMethod::Post,
        path: "/v1/query/recall",
        summary: "Recall records matching free text; the context package is stored",
        request_body: Some(RequestBody::Recall),
        response: ResponseData::ContextPackage,
        operation: Some(Operation::Query),
        error_codes: QUERY_CODES,
        handler: |m| on(m, query::recall),
    },
    Endpoint {
        operation_id: "context_list",
        method: HttpMethod::Get,
        path: "/v1/context",
        summary: "A page of stored context packages (id, kind, stored_at) behind a cursor",
        request_body: None,
        response: ResponseData::ContextPage,
        operation: Some(Operation::ContextLookup),
        error_codes: &[
            ValidationError,
            SchemaUnavailable,
            ContextLookupFailed,
            InternalError,
        ],
        handler: |m| on(m, context::list),
    },
    Endpoint {
        operation_id: "context_show",
        method: HttpMethod::Get,
        path: "/v1/context/{context_package_id}",
        summary: "A stored context package by id",
        request_body: None,
        response: ResponseData::ContextPackage,
        operation: Some(Operation::ContextLookup),
        error_codes: &[
            ValidationError,
            ContextPackageNotFound,
            SchemaUnavailable,
            ContextLookupFailed,
            InternalError,
        ],
        handler: |m| on(m, context::show),
    },
    Endpoint {
        operation_id: "outcome_record",
        method: HttpMethod::Post,
        path: "/v1/outcome/events",
        summary: "Record an outcome event about a memory version (append-only; replay projects it)",
        request_body: Some(RequestBody::OutcomeEvent),
        response: ResponseData::OutcomeEvent,
        operation: Some(Operation::Write),
        error_codes: OUTCOME_WRITE_CODES,
        handler: |m| on(m, outcome::record),
    },
    Endpoint {
        operation_id: "outcome_replay",
        method: HttpMethod::Post,
        path: "/v1/outcome/replay",
        summary: "Rebuild trust snapshots from the outcome events",
        request_body: Some(RequestBody::OutcomeReplay),
        response: ResponseData::OutcomeReplay,
        operation: Some(Operation::Write),
        error_codes: OUTCOME_WRITE_CODES,
        handler: |m| on(m, outcome::replay),
    },
    Endpoint {
        operation_id: "outcome_trust",
        method: HttpMethod::Post,
        path: "/v1/outcome/trust",
        summary: "A memory version's trust snapshot, optionally as of an instant (read-only)",
        request_body: Some(RequestBody::Trust),
        response: ResponseData::TrustSnapshot,
        operation: Some(Operation::Read),
        error_codes: QUERY_CODES,
        handler: |m| on(m, outcome::trust),
    },
    Endpoint {
        operation_id: "outcome_gate_preview",
        method: HttpMethod::Post,
        path: "/v1/outcome/gate/preview",
        summary: "Gate decisions (safe or exploration) for memory versions (read-only)",
        request_body: Some(RequestBody::GatePreview),
        response: ResponseData::GatePreview,
        operation: Some(Operation::Read),
        error_codes: QUERY_CODES,
        handler: |m| on(m, outcome::gate_preview),
    },
    Endpoint {
        operation_id: "outcome_projector_status",
        method: HttpMethod::Get,
        path: "/v1/outcome/projector/status",
        summary: "The trust projector's health: lag and stale snapshots (read-only)",
        request_body: None,
        response: ResponseData::ProjectorStatus,
        operation: Some(Operation::Read),
        error_codes: &[SchemaUnavailable, QueryFailed, InternalError],
        handler: |m| on(m, outcome::projector_status),
    },
    Endpoint {
        operation_id: "metrics",
        method: HttpMethod::Get,
        path: METRICS_PATH,
        summary: "Request counters and latency histograms per endpoint, as Prometheus text",
        request_body: None,
        response: ResponseData::PrometheusText,
        operation: None,
        error_codes: &[],
        handler: |m| on(m, probes::metrics),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_in_canonical_order_and_include_the_timeout_code() {
        for endpoint in &ENDPOINTS {
            let positions: Vec<usize> = endpoint
                .codes()
                .iter()
                .filter_map(|code| ErrorCode::ALL.iter().position(|c| c == code))
                .collect();
            assert!(positions.is_sorted(), "{}", endpoint.path);
            if let Some(code) = endpoint.timeout_code() {
                assert!(endpoint.codes().contains(&code), "{}", endpoint.path);
            }
        }
    }

    #[test]
    fn paths_are_unique() {
        let mut paths: Vec<&str> = ENDPOINTS.iter().map(|e| e.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ENDPOINTS.len());
    }
}
