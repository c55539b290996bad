//! Stored context packages.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use memory_kernel_api::{ContextPage, ContextPageRequest, Operation, ShownPackage};

use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

/// `GET /v1/context?order=&cursor=&limit=`.
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ContextPageRequest>, QueryRejection>,
) -> Result<Success<ContextPage>, ServiceError> {
    let Query(request) = query?;
    state
        .run(Operation::ContextLookup, move |kernel, _| {
            kernel.context_page(&request)
        })
        .await
        .map(Success)
}

/// `GET /v1/context/{context_package_id}`.
pub async fn show(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Success<ShownPackage>, ServiceError> {
    let Path(id) = path?;
    state
        .run(Operation::ContextLookup, move |kernel, _| {
            kernel.context_show(&id)
        })
        .await
        .map(Success)
}
