//! Runtime truth: what the service build actually serves, taken from the product binary.
//!
//! xtask depends on no product crate. It runs `memory-kernel-service contract` and
//! `memory-kernel-service openapi` (through `cargo run`, so the binary is built when it is
//! stale) once per xtask process, and hands the two documents to the pure checks as a
//! [`RuntimeTruth`]. Tests build a `RuntimeTruth` in memory and never run cargo from a check.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use serde::Deserialize;
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::cargo_program;

/// The two documents the service binary prints about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeTruth {
    /// `memory-kernel-service contract`: the runtime contract, JSON.
    pub contract_json: String,
    /// `memory-kernel-service openapi`: the OpenAPI 3.1 document, YAML.
    pub openapi_yaml: String,
}

/// The runtime contract, as far as governance reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
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
}

/// One endpoint of the runtime contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuntimeEndpoint {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, OpenAPI syntax.
    pub path: String,
    /// The status of a success.
    pub success_status: u16,
    /// The contract codes the endpoint can answer with.
    pub error_codes: Vec<String>,
    /// Transport-level statuses (401, 405, 413, 415) it can answer with.
    pub transport_statuses: Vec<u16>,
}

/// An error code and the status it is sent with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RuntimeErrorCode {
    /// The code, e.g. `invalid_json`.
    pub code: String,
    /// Its HTTP status.
    pub status: u16,
}

/// The non-2xx envelope policy (docs/spec/integration-contract.md), shared by the runtime contract, the source of
/// truth and the handoff payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopePolicy {
    /// Fields every non-2xx body carries.
    pub requires: Vec<String>,
    /// Fields it may carry.
    pub optional: Vec<String>,
    /// Fields it never carries.
    pub forbids: Vec<String>,
}

impl RuntimeTruth {
    /// Runs the service binary (`cargo run -q -p memory-kernel-service -- contract|openapi`)
    /// in the shell's directory.
    ///
    /// # Errors
    /// When cargo cannot build or run the service.
    pub fn fetch(sh: &Shell) -> Result<Self> {
        let run = |document: &str| -> Result<String> {
            let cargo = cargo_program();
            cmd!(sh, "{cargo} run -q -p memory-kernel-service -- {document}")
                .quiet()
                .read()
                .map(|mut text| {
                    // `read` trims the final newline; the documents end with one.
                    text.push('\n');
                    text
                })
                .with_context(|| {
                    format!(
                        "cannot get the runtime truth from `memory-kernel-service {document}`: \
                         fix the build error above, then re-run"
                    )
                })
        };
        Ok(Self {
            contract_json: run("contract")?,
            openapi_yaml: run("openapi")?,
        })
    }

    /// [`fetch`](Self::fetch), once per process: every governance gate of one `cargo xtask`
    /// run shares the same documents.
    ///
    /// # Errors
    /// When the first fetch failed (every later call reports the same failure).
    pub fn shared(sh: &Shell) -> Result<&'static Self> {
        static TRUTH: OnceLock<std::result::Result<RuntimeTruth, String>> = OnceLock::new();
        TRUTH
            .get_or_init(|| Self::fetch(sh).map_err(|error| format!("{error:#}")))
            .as_ref()
            .map_err(|message| anyhow!("{message}"))
    }

    /// The runtime contract, parsed.
    ///
    /// # Errors
    /// When the JSON does not have the runtime contract's shape.
    pub fn contract(&self) -> Result<RuntimeContract> {
        serde_json::from_str(&self.contract_json)
            .context("the runtime contract (`memory-kernel-service contract`) is not readable")
    }

    /// The OpenAPI document, parsed from YAML into a JSON value.
    ///
    /// # Errors
    /// When the YAML does not parse.
    pub fn openapi(&self) -> Result<Value> {
        serde_norway::from_str(&self.openapi_yaml)
            .context("the OpenAPI document (`memory-kernel-service openapi`) is not valid YAML")
    }
}

impl RuntimeContract {
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
