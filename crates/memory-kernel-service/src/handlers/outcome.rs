//! The trust layer over HTTP (docs/spec/outcome.md): record outcome events, replay them into
//! trust snapshots, read a snapshot, preview the gate, read the projector's health.

use axum::extract::State;
use memory_kernel_api::outcome::PROJECTOR_STATUS_CONTRACT;
use memory_kernel_api::{
    GatePreview, GatePreviewRequest, Operation, OutcomeEvent, OutcomeEventRequest, OutcomeReplay,
    ProjectorStatus, ReplayRequest, TrustRequest, TrustSnapshot,
};
use serde::Serialize;

use crate::body::JsonBody;
use crate::envelope::Success;
use crate::error::ServiceError;
use crate::state::AppState;

/// `GET /v1/outcome/projector/status` data (`projector_status.v1`): the version first, then
/// the status, as `mk outcome projector status --json` prints it.
#[derive(Debug, Serialize)]
pub struct ProjectorStatusData {
    contract_version: &'static str,
    #[serde(flatten)]
    status: ProjectorStatus,
}

/// `POST /v1/outcome/events`.
pub async fn record(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<OutcomeEventRequest>,
) -> Result<Success<OutcomeEvent>, ServiceError> {
    state
        .run(Operation::Write, move |kernel, deadline| {
            kernel.record_outcome(&request, deadline)
        })
        .await
        .map(Success)
}

/// `POST /v1/outcome/replay`.
pub async fn replay(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ReplayRequest>,
) -> Result<Success<OutcomeReplay>, ServiceError> {
    state
        .run(Operation::Write, move |kernel, deadline| {
            kernel.replay_outcomes(request.from_event_seq, deadline)
        })
        .await
        .map(Success)
}

/// `POST /v1/outcome/trust`.
pub async fn trust(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<TrustRequest>,
) -> Result<Success<TrustSnapshot>, ServiceError> {
    state
        .run(Operation::Read, move |kernel, _| kernel.trust(&request))
        .await
        .map(Success)
}

/// `POST /v1/outcome/gate/preview`.
pub async fn gate_preview(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<GatePreviewRequest>,
) -> Result<Success<GatePreview>, ServiceError> {
    state
        .run(Operation::Read, move |kernel, _| kernel.gate(&request))
        .await
        .map(Success)
}

/// `GET /v1/outcome/projector/status`.
pub async fn projector_status(
    State(state): State<AppState>,
) -> Result<Success<ProjectorStatusData>, ServiceError> {
    state
        .run(Operation::Read, |kernel, _| kernel.projector_status())
        .await
        .map(|status| {
            Success(ProjectorStatusData {
                contract_version: PROJECTOR_STATUS_CONTRACT,
                status,
            })
        })
}
