//! One success case per endpoint; each envelope validates against its contract schema.

use serde_json::{Value, json};

use crate::support::{
    TestService, Variant, ask_usb_body, decision_body, deny_usb_body, get, post, validate,
};

#[tokio::test]
async fn health_reports_ok_timeout_and_counters() {
    let service = TestService::start(Variant::Migrated);
    let response = service.send(get("/v1/health")).await;
    let data = response.success("service-health-envelope.schema.json");
    assert_eq!(data["status"], "ok");
    assert_eq!(data["timeout_ms"], 2500);
    assert_eq!(data["telemetry"]["requests_total"], 0);
}

#[tokio::test]
async fn ready_when_the_schema_is_current() {
    let service = TestService::start(Variant::Migrated);
    let response = service.send(get("/v1/ready")).await;
    let data = response.success("service-ready-envelope.schema.json");
    assert_eq!(data["status"], "ready");
    assert_eq!(data["checks"]["pending_migrations"], 0);
    assert_eq!(
        data["checks"]["current_schema_version"],
        data["checks"]["target_schema_version"]
    );
}

#[tokio::test]
async fn openapi_serves_the_generated_yaml() {
    let service = TestService::start(Variant::Migrated);
    let response = service.send(get("/v1/openapi")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "application/yaml");
    let yaml = response.body.as_str().unwrap();
    assert_eq!(yaml, memory_kernel_service::openapi::yaml().unwrap());
    let document: Value = serde_norway::from_str(yaml).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

#[tokio::test]
async fn schema_version_reports_the_status() {
    let service = TestService::start(Variant::Migrated);
    let response = service.send(post("/v1/db/schema-version")).await;
    let data = response.success("service-schema-status-envelope.schema.json");
    assert_eq!(data["up_to_date"], true);
    assert_eq!(data["pending_versions"], json!([]));
}

#[tokio::test]
async fn schema_version_of_an_unmigrated_file_lists_pending_migrations() {
    let service = TestService::start(Variant::Unmigrated);
    let before = std::fs::read(&service.db).unwrap();
    let response = service.send(post("/v1/db/schema-version")).await;
    let data = response.success("service-schema-status-envelope.schema.json");
    assert_eq!(data["up_to_date"], false);
    assert_eq!(data["current_version"], 0);
    assert_eq!(std::fs::read(&service.db).unwrap(), before, "read-only");
}

#[tokio::test]
async fn migrate_dry_run_then_apply_makes_the_service_ready() {
    let service = TestService::start(Variant::Unmigrated);
    assert_eq!(service.send(get("/v1/ready")).await.status, 503);
    let plan = service
        .send(post("/v1/db/migrate").json(&json!({"dry_run": true})))
        .await;
    let data = plan.success("service-migration-envelope.schema.json");
    assert_eq!(data["dry_run"], true);
    assert_ne!(data["would_apply_versions"], json!([]));
    assert_eq!(service.send(get("/v1/ready")).await.status, 503);
    let applied = service
        .send(post("/v1/db/migrate").json(&json!({"dry_run": false})))
        .await;
    let data = applied.success("service-migration-envelope.schema.json");
    assert_eq!(data["up_to_date"], true);
    service
        .send(get("/v1/ready"))
        .await
        .success("service-ready-envelope.schema.json");
}

#[tokio::test]
async fn add_constraint_accepts_the_service_v3_example_body() {
    let service = TestService::start(Variant::Migrated);
    let response = service
        .send(post("/v1/memory/add/constraint").json(&deny_usb_body()))
        .await;
    let data = response.success("service-memory-record-envelope.schema.json");
    assert_eq!(data["version"], 1);
    assert_eq!(data["confidence"], 0.9);
    assert_eq!(data["payload"]["effect"], "deny");
    assert_eq!(data["created_at"], data["effective_at"]);
}

#[tokio::test]
async fn add_summary_accepts_omitted_optional_fields() {
    let service = TestService::start(Variant::Migrated);
    let response = service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await;
    let data = response.success("service-memory-record-envelope.schema.json");
    assert_eq!(data["record_type"], "decision");
    assert_eq!(
        data["evidence"],
        Value::Null,
        "evidence lives in provenance"
    );
    assert_eq!(data["provenance"]["evidence"], json!([]));
}

#[tokio::test]
async fn link_returns_the_stored_link() {
    let service = TestService::start(Variant::Migrated);
    let record = service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await;
    let to = record.body["data"]["memory_version_id"].clone();
    let from = &service.seed.old_version;
    let body = json!({"from": from, "to": to, "relation": "contradicts", "writer": "w",
                      "justification": "disagrees"});
    let response = service.send(post("/v1/memory/link").json(&body)).await;
    let data = response.success("service-link-envelope.schema.json");
    assert_eq!(data["from"], json!(from));
    assert_eq!(data["to"], to);
    assert_eq!(data["relation"], "contradicts");
}

#[tokio::test]
async fn ask_answers_deny_and_the_package_is_retrievable() {
    let service = TestService::start(Variant::Migrated);
    service
        .send(post("/v1/memory/add/constraint").json(&deny_usb_body()))
        .await
        .success("service-memory-record-envelope.schema.json");
    let response = service
        .send(post("/v1/query/ask").json(&ask_usb_body()))
        .await;
    let package = response
        .success("service-context-package-envelope.schema.json")
        .clone();
    assert_eq!(package["answer"]["result"], "deny");
    let id = package["context_package_id"].as_str().unwrap();
    let shown = service.send(get(&format!("/v1/context/{id}"))).await;
    let data = shown.success("service-context-package-envelope.schema.json");
    assert_eq!(*data, package);
    let again = service
        .send(post("/v1/query/ask").json(&ask_usb_body()))
        .await;
    assert_eq!(again.status, 200, "asking again is idempotent");
}

#[tokio::test]
async fn recall_finds_summaries_and_honours_limit_and_exclusions() {
    let service = TestService::start(Variant::Migrated);
    service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await
        .success("service-memory-record-envelope.schema.json");
    let body = json!({"text": "release fridays", "record_types": null, "as_of": null,
                      "limit": 5, "exclusions": "summary"});
    let response = service.send(post("/v1/query/recall").json(&body)).await;
    let data = response.success("service-context-package-envelope.schema.json");
    assert_eq!(data["selected_items"].as_array().unwrap().len(), 1);
    assert_eq!(data["determinism"]["ruleset_version"], "recall-ordering.v2");
    assert_eq!(data["query"]["limit"], 5);
    assert!(data["excluded_items"].as_array().unwrap().is_empty());
    for (field, value) in [("limit", 1001), ("exclusion_limit", 1001), ("limit", 0)] {
        let mut bad = json!({"text": "release fridays"});
        bad[field] = json!(value);
        service
            .send(post("/v1/query/recall").json(&bad))
            .await
            .failure(400, "validation_error");
    }
}

#[tokio::test]
async fn context_show_returns_a_seeded_package() {
    let service = TestService::start(Variant::Migrated);
    let id = service.seed.context_package_id.clone();
    let response = service.send(get(&format!("/v1/context/{id}"))).await;
    let data = response.success("service-context-package-envelope.schema.json");
    assert_eq!(data["context_package_id"], json!(id));
    validate("context-package.schema.json", data);
}

#[tokio::test]
async fn health_needs_no_token_but_everything_else_does() {
    let service = TestService::start(Variant::Token);
    service
        .send(get("/v1/health"))
        .await
        .success("service-health-envelope.schema.json");
    service
        .send(get("/v1/ready").bearer(crate::support::TOKEN))
        .await
        .success("service-ready-envelope.schema.json");
    service
        .send(get("/v1/ready"))
        .await
        .failure(401, "validation_error");
}

#[tokio::test]
async fn recall_takes_a_trust_gate_mode_in_its_body() {
    let service = TestService::start(Variant::Migrated);
    service
        .send(post("/v1/memory/add/summary").json(&decision_body()))
        .await
        .success("service-memory-record-envelope.schema.json");
    let plain = json!({"text": "release fridays"});
    let ungated = service.send(post("/v1/query/recall").json(&plain)).await;
    let ungated = ungated.success("service-context-package-envelope.schema.json");
    assert!(ungated["selected_items"][0].get("trust_gate").is_none());

    let body = json!({"text": "release fridays", "trust_gate": "safe"});
    let response = service.send(post("/v1/query/recall").json(&body)).await;
    let data = response.success("service-context-package-envelope.schema.json");
    assert_eq!(data["query"]["trust_gate"], "safe");
    // Nothing has trust yet: the gate refuses the record for want of a snapshot.
    assert!(data["selected_items"].as_array().unwrap().is_empty());
    let refused = &data["excluded_items"][0];
    validate("trust-gate-attachment.schema.json", &refused["trust_gate"]);
    assert_eq!(refused["why"]["reasons"][0], "excluded.no_trust_snapshot");
    assert_eq!(
        data["answer"]["excluded_summary"]["excluded.no_trust_snapshot"],
        1
    );

    let bad = json!({"text": "release fridays", "trust_gate": "reckless"});
    let refused = service.send(post("/v1/query/recall").json(&bad)).await;
    assert_eq!(refused.status, 400);
}
