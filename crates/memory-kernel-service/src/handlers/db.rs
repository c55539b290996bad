//! Database schema status and migration.

use axum::extract::State;
use memory_kernel_api::{MigrationReport, Operation, SchemaStatus};
use serde::Deserialize;

use crate::body::JsonBody;
use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

/// `POST /v1/db/migrate` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateRequest {
    /// Report the plan without touching the file.
    pub dry_run: bool,
}

/// `POST /v1/db/schema-version`: the schema status, read-only.
pub async fn schema_version(
    State(state): State<AppState>,
) -> Result<Success<SchemaStatus>, ServiceError> {
    state
        .run(Operation::Schema, |kernel, _| kernel.schema_status())
        .await
        .map(Success)
}

/// `POST /v1/db/migrate`: applies pending migrations, or reports the plan.
pub async fn migrate(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<MigrateRequest>,
) -> Result<Success<MigrationReport>, ServiceError> {
    state
        .run(Operation::Migrate, move |kernel, _| {
            kernel.migrate(request.dry_run)
        })
        .await
        .map(Success)
}
