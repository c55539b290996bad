//! The runtime contract (`memory-kernel-service contract`): what this build serves, derived
//! from the same constants the router uses. Governance checks compare it with
//! `contracts/integration/v1/service-contract-source-of-truth.json`.

use memory_kernel_api::{API_CONTRACT_VERSION, ErrorCode};
use serde_json::{Value, json};

use crate::endpoints::{ENDPOINTS, LIVENESS_PATH, READINESS_PATH, SUCCESS_STATUS};
use crate::envelope::{NON_2XX_FORBIDS, NON_2XX_OPTIONAL, NON_2XX_REQUIRES};
use crate::error::status;
use crate::telemetry::COUNTER_NAMES;
use crate::{INTEGRATION_BASELINE, SERVICE_CONTRACT_VERSION};

/// The runtime contract document.
#[must_use]
pub fn runtime_contract() -> Value {
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .map(|endpoint| {
            json!({
                "method": endpoint.method.as_str(),
                "path": endpoint.path,
                "success_status": SUCCESS_STATUS.as_u16(),
                "error_codes": endpoint.codes(),
                "timeout_error_code": endpoint.timeout_code(),
                "transport_statuses": endpoint
                    .transport_statuses()
                    .iter()
                    .map(|s| s.as_u16())
                    .collect::<Vec<_>>(),
                "requires_auth_when_configured": endpoint.requires_auth(),
            })
        })
        .collect();
    let error_codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|code| json!({ "code": code, "status": status(*code).as_u16() }))
        .collect();
    json!({
        "service_contract_version": SERVICE_CONTRACT_VERSION,
        "api_contract_version": API_CONTRACT_VERSION,
        "integration_baseline": INTEGRATION_BASELINE,
        "liveness_endpoint": LIVENESS_PATH,
        "readiness_endpoint": READINESS_PATH,
        "endpoints": endpoints,
        "error_codes": error_codes,
        "non_2xx_envelope_policy": {
            "requires": NON_2XX_REQUIRES,
            "optional": NON_2XX_OPTIONAL,
            "forbids": NON_2XX_FORBIDS,
        },
        "telemetry_counters": COUNTER_NAMES,
    })
}
