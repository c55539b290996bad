//! The runtime contract (`memory-kernel-service contract`): what this build serves, derived
//! from the same constants the router uses. Governance checks compare it with
//! `contracts/integration/v1/service-contract-source-of-truth.json`.

use memory_kernel_api::{API_CONTRACT_VERSION, ErrorCode};
use memory_kernel_contract::{EnvelopePolicy, RuntimeContract, RuntimeEndpoint, RuntimeErrorCode};

use crate::endpoints::{ENDPOINTS, LIVENESS_PATH, READINESS_PATH, SUCCESS_STATUS};
use crate::envelope::{NON_2XX_FORBIDS, NON_2XX_OPTIONAL, NON_2XX_REQUIRES};
use crate::error::status;
use crate::telemetry::COUNTER_NAMES;
use crate::{INTEGRATION_BASELINE, SERVICE_CONTRACT_VERSION};

/// The runtime contract document (the type is `memory_kernel_contract`'s, the one reader
/// governance uses too).
#[must_use]
pub fn runtime_contract() -> RuntimeContract {
    let names = |items: &[&str]| items.iter().map(|&item| item.to_owned()).collect();
    let endpoints = ENDPOINTS
        .iter()
        .map(|endpoint| RuntimeEndpoint {
            method: endpoint.method.as_str().to_owned(),
            path: endpoint.path.to_owned(),
            success_status: SUCCESS_STATUS.as_u16(),
            error_codes: endpoint
                .codes()
                .iter()
                .map(|code| code.as_str().to_owned())
                .collect(),
            timeout_error_code: endpoint.timeout_code().map(|code| code.as_str().to_owned()),
            transport_statuses: endpoint
                .transport_statuses()
                .iter()
                .map(|s| s.as_u16())
                .collect(),
            requires_auth_when_configured: endpoint.requires_auth(),
        })
        .collect();
    let error_codes = ErrorCode::ALL
        .iter()
        .map(|code| RuntimeErrorCode {
            code: code.as_str().to_owned(),
            status: status(*code).as_u16(),
        })
        .collect();
    RuntimeContract {
        service_contract_version: SERVICE_CONTRACT_VERSION.to_owned(),
        api_contract_version: API_CONTRACT_VERSION.to_owned(),
        integration_baseline: INTEGRATION_BASELINE.to_owned(),
        liveness_endpoint: LIVENESS_PATH.to_owned(),
        readiness_endpoint: READINESS_PATH.to_owned(),
        endpoints,
        error_codes,
        non_2xx_envelope_policy: EnvelopePolicy {
            requires: names(&NON_2XX_REQUIRES),
            optional: names(&NON_2XX_OPTIONAL),
            forbids: names(&NON_2XX_FORBIDS),
        },
        telemetry_counters: names(&COUNTER_NAMES),
    }
}
