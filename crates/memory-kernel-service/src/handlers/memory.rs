//! Writing records and links; browsing records and the history of a memory.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use memory_kernel_api::{
    AddConstraintRequest, AddSummaryRequest, HistoryRequest, Link, LinkRequest, MemoryHistory,
    MemoryPage, MemoryPageRequest, MemoryRecord, Operation,
};
use serde::Deserialize;

use crate::body::JsonBody;
use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

/// `POST /v1/memory/add/constraint`.
pub async fn add_constraint(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<AddConstraintRequest>,
) -> Result<Success<MemoryRecord>, ServiceError> {
    state
        .run(Operation::Write, move |kernel, deadline| {
            kernel.add_constraint(&request, deadline)
        })
        .await
        .map(Success)
}

/// `POST /v1/memory/add/summary`.
pub async fn add_summary(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<AddSummaryRequest>,
) -> Result<Success<MemoryRecord>, ServiceError> {
    state
        .run(Operation::Write, move |kernel, deadline| {
            kernel.add_summary(&request, deadline)
        })
        .await
        .map(Success)
}

/// `POST /v1/memory/link`.
pub async fn link(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LinkRequest>,
) -> Result<Success<Link>, ServiceError> {
    state
        .run(Operation::Write, move |kernel, deadline| {
            kernel.add_link(&request, deadline)
        })
        .await
        .map(Success)
}

/// `GET /v1/memory?record_type=&writer=&memory_id=&truth_status=&created_from=&created_before=
/// &effective_from=&effective_before=&order=&cursor=&limit=`.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<MemoryPageRequest>, QueryRejection>,
) -> Result<Success<MemoryPage>, ServiceError> {
    let Query(request) = query?;
    state
        .run(Operation::Read, move |kernel, _| {
            kernel.memory_page(&request)
        })
        .await
        .map(Success)
}

/// `GET /v1/memory/versions/{memory_version_id}`.
pub async fn version(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Success<MemoryRecord>, ServiceError> {
    let Path(id) = path?;
    state
        .run(Operation::Read, move |kernel, _| kernel.memory_version(&id))
        .await
        .map(Success)
}

/// The query string of the history endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// RFC 3339 UTC instant at which the current version is judged; defaults to now.
    #[serde(default)]
    as_of: Option<String>,
}

/// `GET /v1/memory/{memory_id}/history?as_of=`.
pub async fn history(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Success<MemoryHistory>, ServiceError> {
    let Path(memory_id) = path?;
    let Query(HistoryQuery { as_of }) = query?;
    let request = HistoryRequest { memory_id, as_of };
    state
        .run(Operation::Read, move |kernel, _| {
            kernel.memory_history(&request)
        })
        .await
        .map(Success)
}
