//! The runtime contract: what a service build serves, as `memory-kernel-service contract`
//! prints it. The service builds it from its endpoint table; governance (`cargo xtask
//! contracts`, the handoff payload) reads it back and compares it with
//! `contracts/integration/v1/service-contract-source-of-truth.json`. Spec:
//! `docs/spec/service-contract.md`.

use serde::{Deserialize, Serialize};

/// The runtime contract document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeContract {
    /// `service.v3`.
    pub service_contract_version: String,
    /// `api.v1`.
    pub api_contract_version: String,
    /// `integration/v1`.
    pub integration_baseline: String,
    /// `/v1/health`.
    pub liveness_endpoint: String,
    /// `/v1/ready`.
    pub readiness_endpoint: String,
    /// Every endpoint the router mounts.
    pub endpoints: Vec<RuntimeEndpoint>,
    /// Every error code with its HTTP status, in canonical order.
    pub error_codes: Vec<RuntimeErrorCode>,
    /// What every non-2xx body must, may and must not carry.
    pub non_2xx_envelope_policy: EnvelopePolicy,
    /// The names of the service's telemetry counters.
    pub telemetry_counters: Vec<String>,
}

/// One endpoint of the runtime contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeEndpoint {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, OpenAPI syntax.
    pub path: String,
    /// The status of a success.
    pub success_status: u16,
    /// The contract codes the endpoint can answer with.
    pub error_codes: Vec<String>,
    /// The code sent when the endpoint's deadline passes; `null` for an endpoint without a
    /// deadline.
    pub timeout_error_code: Option<String>,
    /// Transport-level statuses (401, 405, 413, 415) it can answer with.
    pub transport_statuses: Vec<u16>,
    /// Whether the endpoint asks for the bearer token when one is configured.
    pub requires_auth_when_configured: bool,
}

/// An error code and the status it is sent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeErrorCode {
    /// The code, e.g. `invalid_json`.
    pub code: String,
    /// Its HTTP status.
    pub status: u16,
}

/// The non-2xx envelope policy (`docs/spec/integration-contract.md`), shared by the runtime
/// contract, the source of truth and the handoff payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopePolicy {
    /// Fields every non-2xx body carries.
    pub requires: Vec<String>,
    /// Fields it may carry.
    pub optional: Vec<String>,
    /// Fields it never carries.
    pub forbids: Vec<String>,
}

impl RuntimeContract {
    /// Parses the document `memory-kernel-service contract` prints.
    ///
    /// # Errors
    /// When the JSON does not have the runtime contract's shape.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The status a code is sent with.
    #[must_use]
    pub fn status_of(&self, code: &str) -> Option<u16> {
        self.error_codes
            .iter()
            .find(|entry| entry.code == code)
            .map(|entry| entry.status)
    }

    /// The codes, in canonical order.
    #[must_use]
    pub fn code_names(&self) -> Vec<String> {
        self.error_codes
            .iter()
            .map(|entry| entry.code.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RuntimeContract {
        RuntimeContract {
            service_contract_version: "service.v3".into(),
            api_contract_version: "api.v1".into(),
            integration_baseline: "integration/v1".into(),
            liveness_endpoint: "/v1/health".into(),
            readiness_endpoint: "/v1/ready".into(),
            endpoints: vec![RuntimeEndpoint {
                method: "GET".into(),
                path: "/v1/health".into(),
                success_status: 200,
                error_codes: vec!["internal_error".into()],
                timeout_error_code: None,
                transport_statuses: vec![405],
                requires_auth_when_configured: false,
            }],
            error_codes: vec![
                RuntimeErrorCode {
                    code: "invalid_json".into(),
                    status: 400,
                },
                RuntimeErrorCode {
                    code: "internal_error".into(),
                    status: 500,
                },
            ],
            non_2xx_envelope_policy: EnvelopePolicy {
                requires: vec!["error".into()],
                optional: vec![],
                forbids: vec!["data".into()],
            },
            telemetry_counters: vec!["requests_total".into()],
        }
    }

    #[test]
    fn the_document_round_trips_and_answers_lookups() {
        let contract = sample();
        let json = serde_json::to_string(&contract).unwrap();
        assert_eq!(RuntimeContract::parse(&json).unwrap(), contract);
        assert_eq!(contract.status_of("internal_error"), Some(500));
        assert_eq!(contract.status_of("nope"), None);
        assert_eq!(contract.code_names(), ["invalid_json", "internal_error"]);
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["surprise"] = serde_json::json!(true);
        assert!(RuntimeContract::parse(&value.to_string()).is_err());
    }
}
