//! Telemetry: every request counted exactly once, in exactly one outcome class.

use serde_json::{Value, json};

use crate::support::{
    TOKEN, TestRequest, TestService, Variant, ask_usb_body, deny_usb_body, get, post,
};

/// The counters `/v1/health` reports, checked for internal consistency.
async fn counters(service: &TestService) -> Value {
    let response = service.send(get("/v1/health").bearer(TOKEN)).await;
    let telemetry = response.success("service-health-envelope.schema.json")["telemetry"].clone();
    let n = |key: &str| telemetry[key].as_u64().unwrap();
    assert_eq!(
        n("requests_total"),
        n("requests_success_total") + n("requests_failure_total"),
        "{telemetry:#}"
    );
    let classes = [
        "timeout_total",
        "invalid_json_total",
        "validation_error_total",
        "context_not_found_total",
        "write_conflict_total",
        "schema_unavailable_total",
        "internal_error_total",
        "other_error_total",
    ];
    let sum: u64 = classes.iter().map(|key| n(key)).sum();
    assert_eq!(n("requests_failure_total"), sum, "{telemetry:#}");
    telemetry
}

async fn send_all(service: &TestService, requests: Vec<TestRequest>) {
    for request in requests {
        service.send(request).await;
    }
}

#[tokio::test]
async fn each_outcome_lands_in_its_own_class() {
    let service = TestService::start(Variant::Migrated);
    let mut conflicting = deny_usb_body();
    conflicting["version"] = json!(2);
    send_all(
        &service,
        vec![
            get("/v1/ready"),
            post("/v1/query/ask").json(&ask_usb_body()),
            post("/v1/query/ask").raw(Some("application/json"), "{bad"),
            post("/v1/query/ask").json(&json!({"text": "x"})),
            get("/v1/nope"),
            get("/v1/query/ask"),
            get("/v1/context/cp_00000000000000000000000000000000"),
            post("/v1/memory/add/constraint").json(&conflicting),
        ],
    )
    .await;
    let telemetry = counters(&service).await;
    assert_eq!(
        telemetry,
        json!({
            "requests_total": 8, "requests_success_total": 2, "requests_failure_total": 6,
            "timeout_total": 0, "invalid_json_total": 1, "validation_error_total": 3,
            "context_not_found_total": 1, "write_conflict_total": 1,
            "schema_unavailable_total": 0, "internal_error_total": 0, "other_error_total": 0
        })
    );
    // The health request that reported them is counted once it has finished.
    let telemetry = counters(&service).await;
    assert_eq!(telemetry["requests_total"], 9);
    assert_eq!(telemetry["requests_success_total"], 3);
}

#[tokio::test]
async fn a_timeout_counts_as_a_timeout_whatever_its_code() {
    let service = TestService::start(Variant::ZeroTimeout);
    send_all(
        &service,
        vec![
            get("/v1/ready"),
            post("/v1/query/ask").json(&ask_usb_body()),
            post("/v1/memory/add/constraint").json(&deny_usb_body()),
        ],
    )
    .await;
    let telemetry = counters(&service).await;
    assert_eq!(telemetry["timeout_total"], 3);
    assert_eq!(telemetry["schema_unavailable_total"], 0);
    assert_eq!(telemetry["other_error_total"], 0);
}

#[tokio::test]
async fn refusals_before_the_handler_are_counted_too() {
    let service = TestService::start(Variant::Token);
    send_all(
        &service,
        vec![
            post("/v1/query/ask").json(&ask_usb_body()),
            get("/v1/nope"),
            get("/v1/ready").bearer(TOKEN),
        ],
    )
    .await;
    let telemetry = counters(&service).await;
    assert_eq!(telemetry["requests_total"], 3);
    assert_eq!(telemetry["validation_error_total"], 2);
    assert_eq!(telemetry["requests_success_total"], 1);

    let unmigrated = TestService::start(Variant::Unmigrated);
    send_all(&unmigrated, vec![get("/v1/ready")]).await;
    assert_eq!(counters(&unmigrated).await["schema_unavailable_total"], 1);
}
