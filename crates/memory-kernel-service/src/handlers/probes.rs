//! Liveness, readiness, the OpenAPI document and the Prometheus metrics.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use memory_kernel_api::Operation;
use serde::Serialize;

use crate::envelope::Success;
use crate::error::{ReadinessChecks, ServiceError};
use crate::state::AppState;
use crate::telemetry::{self, TelemetryTotals};

/// `GET /v1/health` data.
#[derive(Debug, Serialize)]
pub struct HealthData {
    status: &'static str,
    timeout_ms: u64,
    telemetry: TelemetryTotals,
}

/// `GET /v1/ready` data.
#[derive(Debug, Serialize)]
pub struct ReadyData {
    status: &'static str,
    checks: ReadinessChecks,
}

/// `GET /v1/health`: always `ok` while the process serves; never touches the database.
pub async fn health(State(state): State<AppState>) -> Success<HealthData> {
    Success(HealthData {
        status: "ok",
        timeout_ms: state.timeout_ms(),
        telemetry: state.telemetry_ref().totals(),
    })
}

/// `GET /v1/ready`: 200 when a write would be taken now, else 503. It reports what writes will do:
/// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) (with the
/// checks in `details`) when the schema is not current or the file is missing or read-only,
/// [`ErrorCode::StorageUnavailable`](memory_kernel_api::ErrorCode::StorageUnavailable) when the
/// file system holding the database has less than `--min-free-bytes` available or SQLite opened the
/// file read-only.
pub async fn ready(State(state): State<AppState>) -> Result<Success<ReadyData>, ServiceError> {
    let min_free_bytes = state.min_free_bytes();
    let status = state
        .run(Operation::Schema, move |kernel, _| {
            // The file check writes would meet (missing, read-only permission bits).
            kernel.check_file(Operation::Write)?;
            let status = kernel.schema_status()?;
            if status.up_to_date {
                kernel.check_writable(min_free_bytes)?;
            }
            Ok(status)
        })
        .await?;
    if !status.up_to_date {
        return Err(ServiceError::not_ready(&status));
    }
    Ok(Success(ReadyData {
        status: "ready",
        checks: ReadinessChecks::from(&status),
    }))
}

/// `GET /v1/openapi`: the generated document, as YAML.
pub async fn openapi() -> Result<impl IntoResponse, ServiceError> {
    let yaml = crate::openapi::yaml()
        .map_err(|e| ServiceError::internal(format!("rendering the OpenAPI document: {e}")))?;
    Ok(([(CONTENT_TYPE, "application/yaml")], yaml))
}

/// `GET /metrics`: the request telemetry in the Prometheus text format; never touches the
/// database.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, telemetry::CONTENT_TYPE)],
        state.telemetry().snapshot().to_prometheus(),
    )
}
