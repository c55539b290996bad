//! Policy questions and recall; both store their context package.

use axum::extract::State;
use memory_kernel_api::{AskRequest, ContextPackage, Operation, RecallRequest};

use crate::body::JsonBody;
use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

/// `POST /v1/query/ask`.
pub async fn ask(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<AskRequest>,
) -> Result<Success<ContextPackage>, ServiceError> {
    state
        .run(Operation::Query, move |kernel, deadline| {
            kernel.ask(&request, deadline)
        })
        .await
        .map(Success)
}

/// `POST /v1/query/recall`.
pub async fn recall(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RecallRequest>,
) -> Result<Success<ContextPackage>, ServiceError> {
    state
        .run(Operation::Query, move |kernel, deadline| {
            kernel.recall(&request, deadline)
        })
        .await
        .map(Success)
}
