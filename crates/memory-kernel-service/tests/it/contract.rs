//! The generated documents against their checked-in copies: the runtime contract against
//! `service-contract-source-of-truth.json`, the OpenAPI document against
//! `contracts/openapi/service.v3.yaml`, and the integration-pack samples against their schemas.

use std::fs;
use std::path::PathBuf;

use memory_kernel_api::ErrorCode;
use memory_kernel_service::contract::runtime_contract;
use memory_kernel_service::endpoints::ENDPOINTS;
use memory_kernel_service::{openapi, status};
use serde_json::{Value, json};

use crate::support::validate;

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(repo_file(path)).unwrap()).unwrap()
}

#[test]
fn runtime_contract_agrees_with_the_source_of_truth() {
    let truth = read_json("contracts/integration/v1/service-contract-source-of-truth.json");
    let runtime = serde_json::to_value(runtime_contract()).unwrap();
    assert_eq!(
        truth["service_contract_source_version"],
        "service-contract-source.v1"
    );
    for (truth_key, runtime_key) in [
        (
            "expected_service_contract_version",
            "service_contract_version",
        ),
        ("expected_api_contract_version", "api_contract_version"),
        ("integration_baseline", "integration_baseline"),
        ("liveness_endpoint", "liveness_endpoint"),
        ("readiness_endpoint", "readiness_endpoint"),
        ("non_2xx_envelope_policy", "non_2xx_envelope_policy"),
    ] {
        assert_eq!(truth[truth_key], runtime[runtime_key], "{truth_key}");
    }
    let runtime_codes: Vec<Value> = runtime["error_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["code"].clone())
        .collect();
    assert_eq!(truth["error_code_enum"], Value::Array(runtime_codes));
    let paths: Vec<&str> = runtime["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&truth["liveness_endpoint"].as_str().unwrap()));
    assert!(paths.contains(&truth["readiness_endpoint"].as_str().unwrap()));
}

#[test]
fn runtime_contract_lists_every_code_with_its_status_in_canonical_order() {
    let expected: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| json!({"code": c.as_str(), "status": status(*c).as_u16()}))
        .collect();
    let runtime = serde_json::to_value(runtime_contract()).unwrap();
    assert_eq!(runtime["error_codes"], Value::Array(expected));
    assert_eq!(
        runtime["endpoints"].as_array().unwrap().len(),
        ENDPOINTS.len()
    );
}

#[test]
fn checked_in_openapi_copy_is_current() {
    let path = repo_file("contracts/openapi/service.v3.yaml");
    let checked_in = fs::read_to_string(&path)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    let generated = openapi::yaml().unwrap();
    if checked_in != generated {
        let diff: Vec<String> = checked_in
            .lines()
            .zip(generated.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n- {a}\n+ {b}", i + 1))
            .collect();
        panic!(
            "{} is stale ({} vs {} lines):\n{}\n\nfix with `cargo xtask codegen`",
            path.display(),
            checked_in.lines().count(),
            generated.lines().count(),
            diff.join("\n")
        );
    }
}

fn openapi_document() -> Value {
    serde_norway::from_str(&openapi::yaml().unwrap()).unwrap()
}

#[test]
fn openapi_error_envelope_declares_the_codes_and_no_forbidden_fields() {
    let document = openapi_document();
    let envelope = &document["components"]["schemas"]["ErrorEnvelope"];
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        envelope["properties"]["error"]["properties"]["code"]["enum"],
        json!(codes)
    );
    assert_eq!(envelope["additionalProperties"], false);
    let properties = envelope["properties"].as_object().unwrap();
    assert!(!properties.contains_key("api_contract_version"));
    assert!(!properties.contains_key("legacy_error"));
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["version"], "service.v3");
}

#[test]
fn openapi_declares_every_endpoint_and_its_failure_statuses() {
    let document = openapi_document();
    for endpoint in &ENDPOINTS {
        let method = endpoint.method.as_str().to_lowercase();
        let operation = &document["paths"][endpoint.path][&method];
        assert!(operation.is_object(), "{} {}", method, endpoint.path);
        let responses = operation["responses"].as_object().unwrap();
        let mut statuses: Vec<u16> = endpoint
            .error_codes
            .iter()
            .map(|c| status(*c).as_u16())
            .chain(endpoint.transport_statuses().iter().map(|s| s.as_u16()))
            .collect();
        statuses.push(200);
        for status in statuses {
            let response = &responses[&status.to_string()];
            assert!(response.is_object(), "{} {status}", endpoint.path);
            if status != 200 {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope"
                );
            }
        }
    }
}

/// The integration-pack schemas this crate owns, each with one valid sample.
const OWNED_SCHEMAS: [&str; 14] = [
    "error-envelope",
    "service-health-envelope",
    "service-ready-envelope",
    "service-schema-status-envelope",
    "service-migration-envelope",
    "service-memory-record-envelope",
    "service-link-envelope",
    "service-context-package-envelope",
    "service-memory-page-envelope",
    "service-memory-history-envelope",
    "service-context-page-envelope",
    "context-package-envelope",
    "trust-gate-attachment",
    "proposed-memory-write",
];

#[test]
fn every_owned_schema_has_a_valid_sample() {
    for stem in OWNED_SCHEMAS {
        let sample = read_json(&format!(
            "contracts/integration/v1/fixtures/{stem}.sample.json"
        ));
        validate(&format!("{stem}.schema.json"), &sample);
    }
}

#[test]
fn the_error_envelope_schema_forbids_the_legacy_fields() {
    let sample = read_json("contracts/integration/v1/fixtures/error-envelope.sample.json");
    let schemas = memory_kernel_testkit::ContractSchemas::load().unwrap();
    for key in ["api_contract_version", "legacy_error"] {
        let mut bad = sample.clone();
        bad[key] = json!("x");
        assert!(
            schemas
                .validate("error-envelope.schema.json", &bad)
                .is_err(),
            "{key}"
        );
    }
    let mut unknown_code = sample;
    unknown_code["error"]["code"] = json!("teapot");
    assert!(
        schemas
            .validate("error-envelope.schema.json", &unknown_code)
            .is_err()
    );
}
