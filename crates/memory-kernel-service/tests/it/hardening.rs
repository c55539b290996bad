//! The refusals and answers that keep the service truthful under hostile or broken input: one
//! test per finding of the outside probe that reached the router.

use std::time::Duration;

use memory_kernel_testkit::{Fault, FaultKind};
use serde_json::json;

use crate::support::{TestService, Variant, decision_body, get, post};

#[tokio::test]
async fn item_01_non_canonical_ulids_are_refused_over_http() {
    let service = TestService::start(Variant::Migrated);
    for (field, alias) in [
        ("memory_id", json!("8ZZZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("memory_id", json!("GZZZZZZZZZZZZZZZZZZZZZZZZZ")),
        ("supersedes", json!(["81M8QFBV8A9AA9AY0JBHPM35F5"])),
    ] {
        let mut body = decision_body();
        body[field] = alias.clone();
        let response = service
            .send(post("/v1/memory/add/summary").json(&body))
            .await;
        response.failure(400, "validation_error");
    }
    let records = service.kernel.list(&Default::default()).unwrap();
    assert_eq!(records.len(), 2, "only the seed is stored");
}

#[tokio::test]
async fn item_02_nul_in_identifiers_is_a_validation_error_not_a_500() {
    let service = TestService::start(Variant::Migrated);
    for writer in ["\u{0}", "w\u{0}x"] {
        let mut body = decision_body();
        body["writer"] = json!(writer);
        let response = service
            .send(post("/v1/memory/add/summary").json(&body))
            .await;
        let error = response.failure(400, "validation_error");
        assert!(
            error["message"].as_str().unwrap().contains("control"),
            "{error:#}"
        );
    }
}

#[tokio::test]
async fn item_03_duplicate_json_keys_are_refused() {
    let service = TestService::start(Variant::Migrated);
    let body = r#"{"record_type":"decision","summary":"s","summary":"t","writer":"ops",
        "justification":"j","source_uri":"file:///r.md","truth_status":"asserted",
        "authority":"derived"}"#;
    let response = service
        .send(post("/v1/memory/add/summary").raw(Some("application/json"), body))
        .await;
    let error = response.failure(400, "invalid_json");
    assert!(
        error["message"].as_str().unwrap().contains("duplicate key"),
        "{error:#}"
    );
}

#[tokio::test]
async fn item_04_a_repeated_link_is_idempotent_and_a_cycle_is_refused() {
    let service = TestService::start(Variant::Migrated);
    let seed = &service.seed;
    let again = service
        .send(post("/v1/memory/link").json(&json!({
            "from": seed.new_version, "to": seed.old_version, "relation": "supersedes",
            "writer": "w", "justification": "renamed again"})))
        .await;
    let data = again.success("service-link-envelope.schema.json");
    assert_eq!(data["created_at"], json!(seed.link_created_at));
    assert_eq!(data["justification"], "renamed");
    let cycle = service
        .send(post("/v1/memory/link").json(&json!({
            "from": seed.old_version, "to": seed.new_version, "relation": "supersedes",
            "writer": "w", "justification": "cycle"})))
        .await;
    let error = cycle.failure(400, "validation_error");
    assert!(
        error["message"].as_str().unwrap().contains("cycle"),
        "{error:#}"
    );
}

#[tokio::test]
async fn item_05_context_ids_are_validated_and_never_echoed_unbounded() {
    let service = TestService::start(Variant::Migrated);
    let huge = "A".repeat(60 * 1024);
    let response = service.send(get(&format!("/v1/context/{huge}"))).await;
    let error = response.failure(400, "validation_error");
    assert!(
        error.to_string().len() < 1024,
        "{}",
        error.to_string().len()
    );
    let response = service.send(get("/v1/context/not%20an%20id")).await;
    response.failure(400, "validation_error");
}

#[tokio::test]
async fn item_08_readiness_reports_what_writes_will_do() {
    let service = TestService::start(Variant::Migrated);
    service
        .send(get("/v1/ready"))
        .await
        .success("service-ready-envelope.schema.json");

    // A read-only file: writes are refused, so readiness is too.
    let original = std::fs::metadata(&service.db).unwrap().permissions();
    let mut read_only = original.clone();
    read_only.set_readonly(true);
    std::fs::set_permissions(&service.db, read_only).unwrap();
    service
        .send(get("/v1/ready"))
        .await
        .failure(503, "schema_unavailable");
    std::fs::set_permissions(&service.db, original).unwrap();
    service
        .send(get("/v1/ready"))
        .await
        .success("service-ready-envelope.schema.json");

    // A full disk is a typed 503, not a 500.
    service.faults.arm(Fault::Fail(FaultKind::StorageFull));
    let response = service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await;
    response.failure(503, "storage_unavailable");
}

#[tokio::test]
async fn item_09_timeouts_answer_a_typed_503() {
    let service = TestService::start(Variant::ShortTimeout);
    service.faults.arm(Fault::Delay(Duration::from_millis(400)));
    let response = service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await;
    let error = response.failure(503, "operation_timeout");
    assert!(error["details"]["timeout_ms"].is_u64(), "{error:#}");
}

#[tokio::test]
async fn item_13_foreign_host_names_are_refused_without_a_token() {
    let service = TestService::start(Variant::Migrated);
    let refused = service
        .send(get("/v1/ready").host("attacker.example"))
        .await;
    refused.failure(421, "validation_error");
    for host in ["127.0.0.1:4010", "localhost:4010", "[::1]:4010"] {
        service
            .send(get("/v1/ready").host(host))
            .await
            .success("service-ready-envelope.schema.json");
    }
    // With a token the token is the guard; the Host header is not checked.
    let token = TestService::start(Variant::Token);
    token
        .send(
            get("/v1/ready")
                .host("mk.example")
                .bearer(crate::support::TOKEN),
        )
        .await
        .success("service-ready-envelope.schema.json");
}

#[tokio::test]
async fn item_15_remote_clients_get_no_paths_or_sqlite_text() {
    let service = TestService::start(Variant::Migrated);
    std::fs::remove_file(&service.db).unwrap();
    let local = service.send(get("/v1/ready").peer("127.0.0.1:50000")).await;
    let local_message = local.failure(503, "schema_unavailable")["message"].clone();
    assert!(
        local_message
            .as_str()
            .unwrap()
            .contains(service.db.to_str().unwrap()),
        "{local_message}"
    );
    let remote = service.send(get("/v1/ready").peer("192.0.2.7:50000")).await;
    let message = remote.failure(503, "schema_unavailable")["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!message.contains('/'), "{message}");
    assert!(!message.to_lowercase().contains("sqlite"), "{message}");
}
