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
        telemetry: state.telemetry().snapshot().totals(),
    })
}

/// `GET /v1/ready`: 200 when the schema is current, else 503 `schema_unavailable` with the
/// checks in `details`.
pub async fn ready(State(state): State<AppState>) -> Result<Success<ReadyData>, ServiceError> {
    let status = state
        .run(Operation::Schema, |kernel, _| kernel.schema_status())
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
