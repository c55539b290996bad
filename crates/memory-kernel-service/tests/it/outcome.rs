//! The trust loop over HTTP: record outcomes, replay, read trust, preview the gate, and recall
//! through the gate; every body validates against its contract schema.

use serde_json::{Value, json};

use crate::support::{TestService, Variant, decision_body, get, post, validate};

const EVENT: &str = "service-outcome-event-envelope.schema.json";
const STATUS: &str = "service-projector-status-envelope.schema.json";

/// Stores a decision with `summary`; returns its memory id.
async fn decision(service: &TestService, summary: &str) -> String {
    let mut body = decision_body();
    body["summary"] = json!(summary);
    let stored = service
        .send(post("/v1/memory/add/summary").json(&body))
        .await;
    let data = stored.success("service-memory-record-envelope.schema.json");
    data["memory_id"].as_str().unwrap().to_owned()
}

/// Records `count` events of `event_type` about version 1 of `memory_id`; returns their seqs.
async fn record(
    service: &TestService,
    memory_id: &str,
    event_type: &str,
    count: usize,
) -> Vec<i64> {
    let mut seqs = Vec::new();
    for _ in 0..count {
        let body = json!({"memory_id": memory_id, "version": 1, "event_type": event_type,
                          "writer": "agent", "justification": "observed in a run",
                          "context_id": "run-1"});
        let response = service.send(post("/v1/outcome/events").json(&body)).await;
        let data = response.success(EVENT);
        assert_eq!(data["event_type"], event_type);
        assert_eq!(data["memory_id"], memory_id);
        assert_eq!(data["payload_json"], json!({}));
        seqs.push(data["event_seq"].as_i64().unwrap());
    }
    seqs
}

fn gate_body(mode: &str, candidates: &[&str]) -> Value {
    let candidates: Vec<Value> = candidates
        .iter()
        .map(|id| json!({"memory_id": id, "version": 1}))
        .collect();
    json!({"mode": mode, "candidates": candidates})
}

#[tokio::test]
async fn three_failures_keep_a_version_out_of_safe_recall_and_successes_let_one_in() {
    trust_loop(&TestService::start(Variant::Migrated)).await;
}

#[test]
fn the_trust_loop_runs_alike_on_postgresql() {
    TestService::on_postgres("the_trust_loop_runs_alike_on_postgresql", trust_loop);
}

/// Failures keep a version out of safe recall, successes let another in: appending, the
/// projector's lag, replay, trust, the gate preview and recall through the gate.
async fn trust_loop(service: &TestService) {
    let misleading = decision(service, "Ship the release on Fridays").await;
    let reliable = decision(service, "Freeze the release on Fridays").await;

    let failures = record(service, &misleading, "failure", 3).await;
    record(service, &reliable, "success", 3).await;
    assert!(
        failures.is_sorted() && failures[0] < failures[2],
        "{failures:?}"
    );

    // Appending projects nothing: the projector reports the lag until a replay.
    let status = service.send(get("/v1/outcome/projector/status")).await;
    let status = status.success(STATUS).clone();
    assert_eq!(status["contract_version"], "projector_status.v1");
    assert_eq!(status["lag_events"], 6);
    assert_eq!(status["stale_trust_rows"], 2);

    let replay = service
        .send(post("/v1/outcome/replay").json(&json!({})))
        .await;
    let replay = replay.success("service-outcome-replay-envelope.schema.json");
    assert_eq!(
        replay["projected_keys"], 3,
        "the seed's key and the two new ones"
    );
    let status = service.send(get("/v1/outcome/projector/status")).await;
    let status = status.success(STATUS);
    assert_eq!(status["lag_events"], 0);
    assert_eq!(status["stale_trust_rows"], 0);

    let trust = service
        .send(post("/v1/outcome/trust").json(&json!({"memory_id": misleading, "version": 1})))
        .await;
    let trust = trust.success("service-trust-snapshot-envelope.schema.json");
    assert_eq!(trust["failures_last5"], 3);
    assert_eq!(trust["trust_status"], "active");
    assert_eq!(trust["last_event_seq"], failures[2]);
    assert!(trust["confidence_effective"].as_f64().unwrap() < 0.3);
    let trust = service
        .send(post("/v1/outcome/trust").json(&json!({"memory_id": reliable, "version": 1})))
        .await;
    let trust = trust.success("service-trust-snapshot-envelope.schema.json");
    assert_eq!(trust["trust_status"], "validated");
    assert_eq!(trust["confidence_effective"], json!(0.730_527_34));

    let preview = service
        .send(post("/v1/outcome/gate/preview").json(&gate_body("safe", &[&misleading, &reliable])))
        .await;
    let preview = preview.success("service-gate-preview-envelope.schema.json");
    assert_eq!(preview["contract_version"], "gate_preview.v1");
    let decisions = preview["decisions"].as_array().unwrap();
    assert_eq!(decisions[0]["memory_id"], json!(misleading));
    assert_eq!(decisions[0]["include"], false);
    assert_eq!(
        decisions[0]["reason_codes"],
        json!(["excluded.safe.threshold_or_status"])
    );
    assert_eq!(decisions[1]["include"], true);
    assert_eq!(
        decisions[1]["reason_codes"],
        json!(["included.safe.validated_threshold"])
    );

    // Recall through the gate: the failed version moves to the exclusions with its reason.
    let body = json!({"text": "release fridays", "trust_gate": "safe"});
    let response = service.send(post("/v1/query/recall").json(&body)).await;
    let package = response.success("service-context-package-envelope.schema.json");
    let selected: Vec<&Value> = package["selected_items"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(selected.len(), 1, "{package:#}");
    assert_eq!(selected[0]["memory_id"], json!(reliable));
    validate(
        "trust-gate-attachment.schema.json",
        &selected[0]["trust_gate"],
    );
    let refused = package["excluded_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["memory_id"] == json!(misleading))
        .unwrap();
    assert_eq!(
        refused["why"]["reasons"],
        json!(["excluded.safe.threshold_or_status"])
    );
    validate("trust-gate-attachment.schema.json", &refused["trust_gate"]);
    assert_eq!(refused["trust_gate"]["include"], false);
    // Without the gate the same recall selects both.
    let plain = json!({"text": "release fridays"});
    let response = service.send(post("/v1/query/recall").json(&plain)).await;
    let package = response.success("service-context-package-envelope.schema.json");
    assert_eq!(package["selected_items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn manual_and_system_events_go_through_the_same_endpoint() {
    manual_and_system_events(&TestService::start(Variant::Migrated)).await;
}

#[test]
fn manual_and_system_events_go_through_the_same_endpoint_on_postgresql() {
    TestService::on_postgres(
        "manual_and_system_events_go_through_the_same_endpoint_on_postgresql",
        manual_and_system_events,
    );
}

async fn manual_and_system_events(service: &TestService) {
    let memory = decision(service, "Rotate the keys monthly").await;
    for body in [
        json!({"event_type": "manual_set_confidence", "manual_confidence": 0.9,
               "override_cap": true}),
        json!({"event_type": "authoritative_contradiction", "escalated": true,
               "severity": "high"}),
        json!({"event_type": "inherited", "manual_confidence": 0.95}),
        json!({"event_type": "manual_retire", "payload_json": {"ticket": 42}}),
    ] {
        let mut body = body;
        body["memory_id"] = json!(memory);
        body["version"] = json!(1);
        body["writer"] = json!("ops");
        body["justification"] = json!("review");
        let response = service.send(post("/v1/outcome/events").json(&body)).await;
        let data = response.success(EVENT);
        assert_eq!(data["event_type"], body["event_type"]);
    }
    service
        .send(post("/v1/outcome/replay").json(&json!({"from_event_seq": 1})))
        .await
        .success("service-outcome-replay-envelope.schema.json");
    let trust = service
        .send(
            post("/v1/outcome/trust").json(&json!({"memory_id": memory, "version": 1,
                                                      "as_of": "2030-01-01T00:00:00Z"})),
        )
        .await;
    let trust = trust.success("service-trust-snapshot-envelope.schema.json");
    assert_eq!(trust["trust_status"], "retired");
    assert_eq!(trust["baseline_confidence"], json!(0.664_999_96));
    let preview = service
        .send(post("/v1/outcome/gate/preview").json(&gate_body("exploration", &[&memory])))
        .await;
    let preview = preview.success("service-gate-preview-envelope.schema.json");
    assert_eq!(
        preview["decisions"][0]["reason_codes"],
        json!(["excluded.retired"])
    );
}

#[tokio::test]
async fn bad_outcome_input_is_refused_with_the_documented_code_and_nothing_is_stored() {
    let service = TestService::start(Variant::Migrated);
    let memory = service.seed.memory_id.clone();
    let before = service.send(get("/v1/outcome/projector/status")).await;
    let before = before.success(STATUS)["latest_event_seq"].clone();
    let good = json!({"memory_id": memory, "version": 1, "event_type": "failure",
                      "writer": "agent", "justification": "j"});
    let cases = [
        ("version", json!(2), "no stored record"),
        ("event_type", json!("triumph"), "unknown variant"),
        ("memory_id", json!(memory.to_ascii_lowercase()), "memory_id"),
        ("writer", json!("  "), "writer"),
    ];
    for (field, value, hint) in cases {
        let mut body = good.clone();
        body[field] = value;
        let response = service.send(post("/v1/outcome/events").json(&body)).await;
        let error = response.failure(400, "validation_error");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(hint), "{field}: {message}");
    }
    let after = service.send(get("/v1/outcome/projector/status")).await;
    assert_eq!(after.success(STATUS)["latest_event_seq"], before);
    let missing = service
        .send(post("/v1/outcome/trust").json(&json!({"memory_id": memory, "version": 2})))
        .await;
    let error = missing.failure(400, "validation_error");
    assert_eq!(
        error["message"],
        json!(format!("trust snapshot not found for {memory}:2"))
    );
}
