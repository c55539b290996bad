//! Writing records and links.

use axum::extract::State;
use memory_kernel_api::{
    AddConstraintRequest, AddSummaryRequest, Link, LinkRequest, MemoryRecord, Operation,
};

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
