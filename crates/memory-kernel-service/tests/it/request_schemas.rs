//! The OpenAPI request schemas state what the API enforces: for each constrained request field,
//! a violating request is refused by both the served schema and the service (400), and a
//! conforming one is accepted by both (200).

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

use crate::support::{
    Seed, TestService, Variant, ask_usb_body, decision_body, deny_usb_body, get, post,
};

/// One constrained field: a request refused for it and a request accepted with it.
struct Case {
    field: &'static str,
    path: &'static str,
    schema: &'static str,
    bad: Value,
    good: Value,
}

fn with(mut base: Value, field: &str, value: Value) -> Value {
    base[field] = value;
    base
}

/// A pair of bodies that differ from `base` only in `field`.
fn case(
    field: &'static str,
    (path, schema): (&'static str, &'static str),
    base: &Value,
    bad: Value,
    good: Value,
) -> Case {
    Case {
        field,
        path,
        schema,
        bad: with(base.clone(), field, bad),
        good: with(base.clone(), field, good),
    }
}

const CONSTRAINT: (&str, &str) = ("/v1/memory/add/constraint", "AddConstraintRequest");
const SUMMARY: (&str, &str) = ("/v1/memory/add/summary", "AddSummaryRequest");
const LINK: (&str, &str) = ("/v1/memory/link", "LinkRequest");
const ASK: (&str, &str) = ("/v1/query/ask", "AskRequest");
const RECALL: (&str, &str) = ("/v1/query/recall", "RecallRequest");

const INSTANT: &str = "2026-01-02T03:04:05Z";

/// The table, over the ids `seed` wrote.
fn cases(seed: &Seed) -> Vec<Case> {
    let mut constraint = deny_usb_body();
    constraint["version"] = Value::Null;
    let summary = decision_body();
    let link = json!({"from": seed.new_version, "to": seed.old_version,
                      "relation": "contradicts", "writer": "w", "justification": "j"});
    let ask = ask_usb_body();
    let recall = json!({"text": "release"});
    let digest = format!("sha256:{}", "a".repeat(64));
    vec![
        case(
            "memory_id",
            CONSTRAINT,
            &constraint,
            json!("01m8qfbv8a9aa9ay0jbhpm35f5"),
            json!(seed.memory_id),
        ),
        case(
            "memory_id",
            CONSTRAINT,
            &constraint,
            json!("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"),
            json!(seed.memory_id),
        ),
        case("version", CONSTRAINT, &constraint, json!(0), json!(1)),
        case(
            "writer",
            CONSTRAINT,
            &constraint,
            json!(" \t "),
            json!("ops"),
        ),
        case(
            "writer",
            CONSTRAINT,
            &constraint,
            json!("o\u{7}ps"),
            json!("o ps"),
        ),
        case(
            "justification",
            CONSTRAINT,
            &constraint,
            json!("\n\r"),
            json!("line\none"),
        ),
        case(
            "justification",
            CONSTRAINT,
            &constraint,
            json!("a\u{0}b"),
            json!("a\tb"),
        ),
        case(
            "source_uri",
            CONSTRAINT,
            &constraint,
            json!("no scheme"),
            json!("https://example.test/x"),
        ),
        case(
            "source_uri",
            CONSTRAINT,
            &constraint,
            json!("file:"),
            json!("urn:x"),
        ),
        case(
            "source_hash",
            CONSTRAINT,
            &constraint,
            json!("sha256:ABC"),
            json!(digest),
        ),
        case(
            "evidence",
            CONSTRAINT,
            &constraint,
            json!(["ticket\u{1b}1"]),
            json!(["ticket 1", ""]),
        ),
        case(
            "confidence",
            CONSTRAINT,
            &constraint,
            json!(1.5),
            json!(0.5),
        ),
        case(
            "created_at",
            CONSTRAINT,
            &constraint,
            json!("2026-01-02T03:04:05+00:00"),
            json!(INSTANT),
        ),
        case(
            "effective_at",
            CONSTRAINT,
            &constraint,
            json!("2026-13-02T03:04:05Z"),
            json!(INSTANT),
        ),
        case(
            "effective_at",
            CONSTRAINT,
            &constraint,
            json!("2026-01-02"),
            json!("2026-01-02T03:04:05.25z"),
        ),
        case(
            "supersedes",
            CONSTRAINT,
            &constraint,
            json!(["01m8qfbv8a9aa9ay0jbhpm35f5"]),
            json!([seed.old_version]),
        ),
        case(
            "contradicts",
            CONSTRAINT,
            &constraint,
            json!(["not-an-id"]),
            json!([seed.old_version]),
        ),
        case("actor", CONSTRAINT, &constraint, json!(""), json!("Admin")),
        case(
            "action",
            CONSTRAINT,
            &constraint,
            json!("re\u{7f}ad"),
            json!("*"),
        ),
        case(
            "resource",
            CONSTRAINT,
            &constraint,
            json!("   "),
            json!("disk"),
        ),
        case(
            "effect",
            CONSTRAINT,
            &constraint,
            json!("maybe"),
            json!("allow"),
        ),
        case(
            "note",
            CONSTRAINT,
            &constraint,
            json!("beep\u{7}"),
            json!("two\nlines"),
        ),
        case(
            "truth_status",
            CONSTRAINT,
            &constraint,
            json!("rumoured"),
            json!("observed"),
        ),
        case(
            "authority",
            SUMMARY,
            &summary,
            json!("supreme"),
            json!("note"),
        ),
        case(
            "record_type",
            SUMMARY,
            &summary,
            json!("constraint"),
            json!("event"),
        ),
        case(
            "summary",
            SUMMARY,
            &summary,
            json!(" \n "),
            json!("Ship on Mondays"),
        ),
        case(
            "from",
            LINK,
            &link,
            json!("01M8QFBV8A9AA9AY0JBHPM35F"),
            json!(seed.new_version),
        ),
        case(
            "to",
            LINK,
            &link,
            json!(seed.old_version.to_lowercase()),
            json!(seed.old_version),
        ),
        case(
            "relation",
            LINK,
            &link,
            json!("replaces"),
            json!("supersedes"),
        ),
        case("writer", LINK, &link, json!(""), json!("w")),
        case(
            "justification",
            LINK,
            &link,
            json!("\u{85}"),
            json!("renamed"),
        ),
        case(
            "created_at",
            LINK,
            &link,
            json!("yesterday"),
            json!(INSTANT),
        ),
        case("actor", ASK, &ask, json!(" "), json!("User")),
        case(
            "resource",
            ASK,
            &ask,
            json!("usb\u{0}drive"),
            json!("usb drive"),
        ),
        case(
            "as_of",
            ASK,
            &ask,
            json!("2026-01-02T03:04:05+02:00"),
            json!(INSTANT),
        ),
        case("limit", ASK, &ask, json!(0), json!(1)),
        case("limit", ASK, &ask, json!(1001), json!(1000)),
        case("exclusion_limit", ASK, &ask, json!(1001), json!(0)),
        case("exclusion_offset", ASK, &ask, json!(-1), json!(7)),
        case("text", RECALL, &recall, json!(""), json!("release")),
        case(
            "record_types",
            RECALL,
            &recall,
            json!([]),
            json!(["decision"]),
        ),
        case(
            "record_types",
            RECALL,
            &recall,
            json!(["rumour"]),
            json!(null),
        ),
        case(
            "exclusions",
            RECALL,
            &recall,
            json!("some"),
            json!("summary"),
        ),
        case(
            "as_of",
            RECALL,
            &recall,
            json!("2026-01-02T24:04:05Z"),
            json!("2026-01-02 03:04:05Z"),
        ),
        case(
            "as_of",
            RECALL,
            &recall,
            json!("2026-01-32T03:04:05Z"),
            json!("2026-01-31t03:04:05.5Z"),
        ),
        case("exclusion_limit", RECALL, &recall, json!(-3), json!(1000)),
    ]
}

/// The served document (`GET /v1/openapi`), parsed.
async fn served_document(service: &TestService) -> Value {
    let response = service.send(get("/v1/openapi")).await;
    assert_eq!(response.status, 200);
    let text = response.body.as_str().unwrap();
    serde_norway::from_str(text).unwrap()
}

fn validator(schema: &Value) -> Validator {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap()
}

#[tokio::test]
async fn every_request_constraint_is_stated_and_enforced_alike() {
    let probe = TestService::start(Variant::Migrated);
    let document = served_document(&probe).await;
    let table = cases(&probe.seed);
    assert!(table.len() >= 40);
    let mut disagreements = Vec::new();
    for (index, case) in table.into_iter().enumerate() {
        let schema = &document["components"]["schemas"][case.schema];
        assert!(
            schema["properties"][case.field].is_object(),
            "{}.{}",
            case.schema,
            case.field
        );
        let validator = validator(schema);
        let label = format!("{} {}", case.schema, case.field);
        if validator.is_valid(&case.bad) {
            disagreements.push(format!("schema accepts {label}: {}", case.bad));
        }
        if !validator.is_valid(&case.good) {
            disagreements.push(format!("schema refuses {label}: {}", case.good));
        }
        // A fresh service per request, so an accepted write never changes the next answer; its
        // own seed ids fill the bodies.
        let service = TestService::start(Variant::Migrated);
        let case = cases(&service.seed).swap_remove(index);
        let bad = service.send(post(case.path).json(&case.bad)).await;
        if bad.status != 400 {
            disagreements.push(format!(
                "API answers {} to {label}: {}",
                bad.status, case.bad
            ));
        }
        let service = TestService::start(Variant::Migrated);
        let case = cases(&service.seed).swap_remove(index);
        let good = service.send(post(case.path).json(&case.good)).await;
        if good.status != 200 {
            disagreements.push(format!(
                "API answers {} to {label}: {} {}",
                good.status, case.good, good.body
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[tokio::test]
async fn the_context_package_id_parameter_states_what_the_api_enforces() {
    let service = TestService::start(Variant::Migrated);
    let document = served_document(&service).await;
    let parameter = &document["paths"]["/v1/context/{context_package_id}"]["get"]["parameters"][0];
    assert_eq!(parameter["name"], "context_package_id");
    let validator = validator(&parameter["schema"]);
    let bad = "cp_bad$id";
    let good = service.seed.context_package_id.clone();
    assert!(!validator.is_valid(&json!(bad)));
    assert!(validator.is_valid(&json!(good)));
    let too_long = "a".repeat(129);
    assert!(!validator.is_valid(&json!(too_long)));
    assert_eq!(
        service
            .send(get(&format!("/v1/context/{bad}")))
            .await
            .status,
        400
    );
    assert_eq!(
        service
            .send(get(&format!("/v1/context/{too_long}")))
            .await
            .status,
        400
    );
    assert_eq!(
        service
            .send(get(&format!("/v1/context/{good}")))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_served_document_is_the_object_its_response_schema_declares() {
    let service = TestService::start(Variant::Migrated);
    let document = served_document(&service).await;
    let declared = &document["paths"]["/v1/openapi"]["get"]["responses"]["200"]["content"]["application/yaml"]
        ["schema"];
    assert!(validator(declared).is_valid(&document), "{declared}");
    assert!(!validator(declared).is_valid(&json!("openapi: 3.1.0")));
}
