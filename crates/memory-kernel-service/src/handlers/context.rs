//! Stored context packages.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use memory_kernel_api::{Operation, ShownPackage};

use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

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
