//! Hand-written rows, grouped by error code: the ways a caller reaches each code of each
//! endpoint (bad syntax, bad shape, domain rules, conflicts, pending migrations, transport
//! refusals), plus the transport rows every endpoint with a body shares.

use memory_kernel_api::ErrorCode;
use memory_kernel_service::endpoints::ENDPOINTS;
use serde_json::{Value, json};

use super::{Row, row};
use crate::support::{
    Seed, TINY_BODY_LIMIT, TOKEN, TestRequest, TestService, Variant, ask_usb_body, decision_body,
    deny_usb_body, get, post,
};

/// A valid body for each endpoint that takes one.
fn valid_body(path: &str) -> Value {
    match path {
        "/v1/db/migrate" => json!({"dry_run": true}),
        "/v1/memory/add/constraint" => deny_usb_body(),
        "/v1/memory/add/summary" => decision_body(),
        "/v1/memory/link" => json!({"from": "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "to": "01BX5ZZKBKACTAV9WEVGEMMVRZ", "relation": "supersedes", "writer": "w",
            "justification": "j"}),
        "/v1/query/ask" => ask_usb_body(),
        "/v1/outcome/events" => outcome_body(SOME_MEMORY),
        "/v1/outcome/replay" => json!({}),
        "/v1/outcome/trust" => json!({"memory_id": SOME_MEMORY, "version": 1}),
        "/v1/outcome/gate/preview" => {
            json!({"mode": "safe", "candidates": [{"memory_id": SOME_MEMORY, "version": 1}]})
        }
        _ => json!({"text": "release fridays"}),
    }
}

/// A memory id no service stores.
const SOME_MEMORY: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// A success event about version 1 of `memory_id`.
fn outcome_body(memory_id: &str) -> Value {
    json!({"memory_id": memory_id, "version": 1, "event_type": "success", "writer": "agent",
           "justification": "the answer held"})
}

fn outcome_with(key: &'static str, value: Value) -> impl Fn(&Seed) -> TestRequest {
    move |s| post("/v1/outcome/events").json(&with(outcome_body(&s.memory_id), key, value.clone()))
}

/// `base` with `key` set to `value`.
fn with(base: Value, key: &str, value: Value) -> Value {
    let mut body = base;
    body[key] = value;
    body
}

fn constraint_with(key: &'static str, value: Value) -> impl Fn(&Seed) -> TestRequest {
    move |_| post("/v1/memory/add/constraint").json(&with(deny_usb_body(), key, value.clone()))
}

pub fn rows() -> Vec<Row> {
    use ErrorCode::*;
    use Variant::*;
    let constraint = Some("/v1/memory/add/constraint");
    let summary = Some("/v1/memory/add/summary");
    let link = Some("/v1/memory/link");
    let ask = Some("/v1/query/ask");
    let recall = Some("/v1/query/recall");
    let context = Some("/v1/context/{context_package_id}");
    let events = Some("/v1/outcome/events");
    let trust = Some("/v1/outcome/trust");
    let gate = Some("/v1/outcome/gate/preview");
    let list = Some("/v1/memory");
    let version = Some("/v1/memory/versions/{memory_version_id}");
    let history = Some("/v1/memory/{memory_id}/history");
    let packages = Some("/v1/context");
    vec![
        // validation_error and memory_not_found of the browse endpoints.
        row(
            "list_cursor_not_a_cursor",
            Migrated,
            list,
            ValidationError,
            |_| get("/v1/memory?cursor=zz"),
        ),
        row(
            "list_cursor_of_the_other_order",
            Migrated,
            list,
            ValidationError,
            // `r1.newest.0.01ARZ3NDEKTSV4RRFFQ69G5FAV`, asked with the default order.
            |_| {
                get(
                    "/v1/memory?cursor=72312e6e65776573742e302e303141525a334e44454b54535634525246465136394735464156",
                )
            },
        ),
        row(
            "list_limit_over_the_maximum",
            Migrated,
            list,
            ValidationError,
            |_| get("/v1/memory?limit=1001"),
        ),
        row(
            "list_unknown_parameter",
            Migrated,
            list,
            ValidationError,
            |_| get("/v1/memory?colour=blue"),
        ),
        row(
            "version_malformed_id",
            Migrated,
            version,
            ValidationError,
            |_| get("/v1/memory/versions/not-a-ulid"),
        ),
        row(
            "version_unknown_id",
            Migrated,
            version,
            MemoryNotFound,
            |_| get("/v1/memory/versions/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ),
        row(
            "history_bad_as_of",
            Migrated,
            history,
            ValidationError,
            |s| get(&format!("/v1/memory/{}/history?as_of=soon", s.memory_id)),
        ),
        row(
            "history_unknown_memory",
            Migrated,
            history,
            MemoryNotFound,
            |_| get("/v1/memory/01ARZ3NDEKTSV4RRFFQ69G5FAV/history"),
        ),
        row(
            "context_list_bad_cursor",
            Migrated,
            packages,
            ValidationError,
            |_| get("/v1/context?cursor=00"),
        ),
        // invalid_json: syntax is checked before the content type.
        row(
            "ask_malformed_with_curl_form_content_type",
            Migrated,
            ask,
            InvalidJson,
            |_| post("/v1/query/ask").raw(Some("application/x-www-form-urlencoded"), "{bad"),
        ),
        row(
            "ask_empty_body_without_content_type",
            Migrated,
            ask,
            InvalidJson,
            |_| post("/v1/query/ask").raw(None, ""),
        ),
        // validation_error: shape, enums and domain rules.
        row(
            "constraint_unknown_field",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("colour", json!("red")),
        ),
        row(
            "constraint_bad_enum",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("effect", json!("maybe")),
        ),
        row(
            "constraint_confidence_above_one",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("confidence", json!(1.5)),
        ),
        row(
            "constraint_non_utc_created_at",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("created_at", json!("2024-05-01T10:00:00+02:00")),
        ),
        row(
            "constraint_version_zero",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("version", json!(0)),
        ),
        row(
            "constraint_wrong_type",
            Migrated,
            constraint,
            ValidationError,
            constraint_with("evidence", json!("not a list")),
        ),
        row(
            "summary_constraint_record_type",
            Migrated,
            summary,
            ValidationError,
            |_| {
                post("/v1/memory/add/summary").json(&with(
                    decision_body(),
                    "record_type",
                    json!("constraint"),
                ))
            },
        ),
        row(
            "summary_blank_summary",
            Migrated,
            summary,
            ValidationError,
            |_| post("/v1/memory/add/summary").json(&with(decision_body(), "summary", json!("  "))),
        ),
        row(
            "summary_bad_source_hash",
            Migrated,
            summary,
            ValidationError,
            |_| {
                post("/v1/memory/add/summary").json(&with(
                    decision_body(),
                    "source_hash",
                    json!("sha256:ABC"),
                ))
            },
        ),
        row(
            "link_unknown_target",
            Migrated,
            link,
            ValidationError,
            |s| {
                post("/v1/memory/link").json(&json!({"from": s.new_version,
                "to": "01BX5ZZKBKACTAV9WEVGEMMVRZ", "relation": "contradicts",
                "writer": "w", "justification": "j"}))
            },
        ),
        row("link_to_itself", Migrated, link, ValidationError, |s| {
            post("/v1/memory/link").json(&json!({"from": s.old_version, "to": s.old_version,
                "relation": "contradicts", "writer": "w", "justification": "j"}))
        }),
        row("ask_wildcard_actor", Migrated, ask, ValidationError, |_| {
            post("/v1/query/ask").json(&with(ask_usb_body(), "actor", json!("*")))
        }),
        row("ask_non_utc_as_of", Migrated, ask, ValidationError, |_| {
            post("/v1/query/ask").json(&with(
                ask_usb_body(),
                "as_of",
                json!("2024-05-01T10:00:00-05:00"),
            ))
        }),
        row("ask_array_body", Migrated, ask, ValidationError, |_| {
            post("/v1/query/ask").json(&json!([]))
        }),
        row(
            "recall_zero_limit",
            Migrated,
            recall,
            ValidationError,
            |_| post("/v1/query/recall").json(&json!({"text": "release", "limit": 0})),
        ),
        row(
            "recall_bad_exclusions",
            Migrated,
            recall,
            ValidationError,
            |_| post("/v1/query/recall").json(&json!({"text": "release", "exclusions": "some"})),
        ),
        row(
            "migrate_dry_run_not_a_bool",
            Migrated,
            Some("/v1/db/migrate"),
            ValidationError,
            |_| post("/v1/db/migrate").json(&json!({"dry_run": "yes"})),
        ),
        row(
            "context_id_not_utf8",
            Migrated,
            context,
            ValidationError,
            |_| get("/v1/context/%FF"),
        ),
        // Outcome events: the body's shape, then the event rules, then what is stored.
        row(
            "outcome_unknown_event_type",
            Migrated,
            events,
            ValidationError,
            outcome_with("event_type", json!("triumph")),
        ),
        row(
            "outcome_lowercase_memory_id",
            Migrated,
            events,
            ValidationError,
            |s| post("/v1/outcome/events").json(&outcome_body(&s.memory_id.to_ascii_lowercase())),
        ),
        row(
            "outcome_unknown_memory_version",
            Migrated,
            events,
            ValidationError,
            outcome_with("version", json!(7)),
        ),
        row(
            "outcome_unknown_memory",
            Migrated,
            events,
            ValidationError,
            |_| post("/v1/outcome/events").json(&outcome_body(SOME_MEMORY)),
        ),
        row(
            "outcome_escalated_without_severity",
            Migrated,
            events,
            ValidationError,
            outcome_with("escalated", json!(true)),
        ),
        row(
            "outcome_manual_confidence_above_one",
            Migrated,
            events,
            ValidationError,
            |s| {
                let body = with(
                    with(
                        outcome_body(&s.memory_id),
                        "event_type",
                        json!("manual_set_confidence"),
                    ),
                    "manual_confidence",
                    json!(1.5),
                );
                post("/v1/outcome/events").json(&body)
            },
        ),
        row(
            "outcome_unknown_ruleset",
            Migrated,
            events,
            ValidationError,
            outcome_with("ruleset_version", json!(9)),
        ),
        row(
            "outcome_non_utc_occurred_at",
            Migrated,
            events,
            ValidationError,
            outcome_with("occurred_at", json!("2026-02-07T12:00:00+01:00")),
        ),
        row(
            "replay_unknown_field",
            Migrated,
            Some("/v1/outcome/replay"),
            ValidationError,
            |_| post("/v1/outcome/replay").json(&json!({"from": 3})),
        ),
        row(
            "trust_without_snapshot",
            Migrated,
            trust,
            ValidationError,
            |_| post("/v1/outcome/trust").json(&json!({"memory_id": SOME_MEMORY, "version": 1})),
        ),
        row(
            "trust_lowercase_memory_id",
            Migrated,
            trust,
            ValidationError,
            |s| {
                post("/v1/outcome/trust")
                    .json(&json!({"memory_id": s.memory_id.to_ascii_lowercase(), "version": 1}))
            },
        ),
        row(
            "gate_without_candidates",
            Migrated,
            gate,
            ValidationError,
            |_| post("/v1/outcome/gate/preview").json(&json!({"mode": "safe", "candidates": []})),
        ),
        row("gate_unknown_mode", Migrated, gate, ValidationError, |s| {
            post("/v1/outcome/gate/preview").json(&json!({"mode": "reckless",
                "candidates": [{"memory_id": s.memory_id, "version": 1}]}))
        }),
        row("gate_version_zero", Migrated, gate, ValidationError, |s| {
            post("/v1/outcome/gate/preview").json(&json!({"mode": "safe",
                "candidates": [{"memory_id": s.memory_id, "version": 0}]}))
        }),
        row(
            "projector_status_with_post",
            Migrated,
            Some("/v1/outcome/projector/status"),
            ValidationError,
            |_| post("/v1/outcome/projector/status"),
        )
        .status(405),
        // context_package_not_found
        row(
            "context_unknown_id",
            Migrated,
            context,
            ContextPackageNotFound,
            |_| get("/v1/context/cp_00000000000000000000000000000000"),
        ),
        // write_conflict
        row(
            "constraint_version_ahead_of_next",
            Migrated,
            constraint,
            WriteConflict,
            constraint_with("version", json!(2)),
        ),
        row(
            "constraint_version_already_taken",
            Migrated,
            constraint,
            WriteConflict,
            |s| {
                let body = with(deny_usb_body(), "memory_id", json!(s.memory_id));
                post("/v1/memory/add/constraint").json(&body)
            },
        ),
        row(
            "summary_version_ahead_of_next",
            Migrated,
            summary,
            WriteConflict,
            |_| post("/v1/memory/add/summary").json(&with(decision_body(), "version", json!(3))),
        ),
        row("link_cycle", Migrated, link, ValidationError, |s| {
            post("/v1/memory/link").json(&json!({"from": s.old_version, "to": s.new_version,
                "relation": "supersedes", "writer": "w", "justification": "cycle"}))
        }),
        // schema_unavailable: an existing file with pending migrations, not migrated at start.
        row(
            "ready_with_pending_migrations",
            Unmigrated,
            Some("/v1/ready"),
            SchemaUnavailable,
            |_| get("/v1/ready"),
        )
        .detail("current_schema_version", json!(0))
        .detail("inferred_from_legacy", json!(false)),
        // Transport level: unknown route, wrong method, missing or wrong token.
        row("unknown_route", Migrated, None, ValidationError, |_| {
            get("/v1/nope")
        })
        .status(404),
        row(
            "unknown_version_prefix",
            Migrated,
            None,
            ValidationError,
            |_| post("/v2/query/ask").json(&ask_usb_body()),
        )
        .status(404),
        row("ask_with_get", Migrated, ask, ValidationError, |_| {
            get("/v1/query/ask")
        })
        .status(405),
        row(
            "health_with_post",
            Migrated,
            Some("/v1/health"),
            ValidationError,
            |_| post("/v1/health"),
        )
        .status(405),
        row(
            "context_with_delete",
            Migrated,
            context,
            ValidationError,
            |s| get(&format!("/v1/context/{}", s.context_package_id)).method("DELETE"),
        )
        .status(405),
        row("ask_without_token", Token, ask, ValidationError, |_| {
            post("/v1/query/ask").json(&ask_usb_body())
        })
        .status(401),
        row("ask_with_wrong_token", Token, ask, ValidationError, |_| {
            post("/v1/query/ask")
                .json(&ask_usb_body())
                .bearer("not-the-token")
        })
        .status(401),
        row(
            "openapi_without_token",
            Token,
            Some("/v1/openapi"),
            ValidationError,
            |_| get("/v1/openapi"),
        )
        .status(401),
        row(
            "ask_with_token_but_malformed",
            Token,
            ask,
            InvalidJson,
            |_| {
                post("/v1/query/ask")
                    .raw(Some("application/json"), "{bad")
                    .bearer(TOKEN)
            },
        ),
    ]
}

/// Rows every endpoint of a kind shares: 413 and 415 for those with a body; the zero-budget
/// timeout (the operation never starts) for those that run an operation.
pub fn per_endpoint_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for endpoint in &ENDPOINTS {
        let path = endpoint.path;
        let concrete = path.replace(
            "{context_package_id}",
            "cp_00000000000000000000000000000000",
        );
        let method = endpoint.method.as_str();
        if endpoint.request_body.is_some() {
            rows.push(
                row(
                    format!("{path} json sent as text/plain"),
                    Variant::Migrated,
                    Some(path),
                    ErrorCode::ValidationError,
                    move |_| post(path).raw(Some("text/plain"), &valid_body(path).to_string()),
                )
                .status(415)
                .detail("content_type", json!("text/plain")),
            );
            let padded = with(
                valid_body(path),
                "padding",
                json!("x".repeat(TINY_BODY_LIMIT)),
            );
            rows.push(
                row(
                    format!("{path} body over the limit"),
                    Variant::TinyBodyLimit,
                    Some(path),
                    ErrorCode::ValidationError,
                    move |_| post(path).json(&padded),
                )
                .status(413)
                .detail("max_body_bytes", json!(TINY_BODY_LIMIT)),
            );
        }
        if let Some(code) = endpoint.timeout_code() {
            let concrete = concrete.clone();
            rows.push(
                row(
                    format!("{path} zero timeout budget"),
                    Variant::ZeroTimeout,
                    Some(path),
                    code,
                    move |_| {
                        let request = if method == "GET" {
                            get(&concrete)
                        } else {
                            post(&concrete)
                        };
                        match endpoint.request_body {
                            Some(_) => request.json(&valid_body(path)),
                            None => request,
                        }
                    },
                )
                .timed_out()
                .detail("timeout_ms", json!(0)),
            );
        }
    }
    rows
}

#[tokio::test]
async fn a_timed_out_write_commits_nothing() {
    let service = TestService::start(Variant::ZeroTimeout);
    let before = memory_kernel_api::MemoryKernel::open(&service.db)
        .unwrap()
        .list(&memory_kernel_api::ListRequest::default())
        .unwrap()
        .len();
    service
        .send(post("/v1/memory/add/constraint").json(&deny_usb_body()))
        .await
        .failure(503, "operation_timeout");
    let after = memory_kernel_api::MemoryKernel::open(&service.db)
        .unwrap()
        .list(&memory_kernel_api::ListRequest::default())
        .unwrap()
        .len();
    assert_eq!(before, after);
}
