//! Browsing and history: `GET /v1/memory`, `/v1/memory/versions/{id}`,
//! `/v1/memory/{memory_id}/history` and `/v1/context`, their filters, cursors and refusals.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use memory_kernel_api::{AddSummaryRequest, MemoryKernel};
use serde_json::{Value, json};

use crate::support::{TestService, Variant, decision_body, get};

const PAGE: &str = "service-memory-page-envelope.schema.json";

fn add_decision(kernel: &MemoryKernel, body: Value) -> String {
    let request: AddSummaryRequest = serde_json::from_value(body).unwrap();
    kernel
        .add_summary(&request, None)
        .unwrap()
        .memory_version_id
        .to_string()
}

fn ids(data: &Value, list: &str, key: &str) -> Vec<String> {
    data[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `path` (which carries its own filters and `limit`), following `next_cursor`.
async fn walk(
    service: &TestService,
    path: &str,
    schema: &str,
    list: &str,
    key: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(cursor) => format!("{path}&cursor={cursor}"),
            None => path.to_owned(),
        };
        let response = service.send(get(&url)).await;
        let data = response.success(schema).clone();
        seen.extend(ids(&data, list, key));
        match data["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[tokio::test]
async fn pages_cover_every_stored_record_once_in_both_orders_while_a_writer_adds() {
    let service = TestService::start(Variant::Migrated);
    for i in 0..23 {
        let mut body = decision_body();
        body["summary"] = json!(format!("decision {i}"));
        add_decision(&service.kernel, body);
    }
    let before: BTreeSet<String> = service
        .kernel
        .memory_page(&memory_kernel_api::MemoryPageRequest {
            limit: Some(1000),
            ..Default::default()
        })
        .unwrap()
        .records
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect();
    assert_eq!(
        before.len(),
        25,
        "23 decisions and the seed's two constraints"
    );

    // The writer adds a bounded number of records (a walk in oldest-first order would never
    // end behind an endless writer), paced so that its writes interleave with the pages.
    let started = Arc::new(AtomicBool::new(false));
    let writer = {
        let kernel = service.kernel.clone();
        let started = Arc::clone(&started);
        std::thread::spawn(move || {
            while !started.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            for written in 0..40 {
                let mut body = decision_body();
                body["summary"] = json!(format!("concurrent {written}"));
                add_decision(&kernel, body);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    started.store(true, Ordering::Release);
    for order in ["oldest", "newest"] {
        let seen = walk(
            &service,
            &format!("/v1/memory?order={order}&limit=4"),
            PAGE,
            "records",
            "memory_version_id",
        )
        .await;
        let unique: BTreeSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order}: a record was repeated");
        for id in &before {
            assert!(unique.contains(id), "{order}: {id} was lost");
        }
    }
    writer.join().unwrap();
    let after = walk(
        &service,
        "/v1/memory?limit=1000",
        PAGE,
        "records",
        "memory_version_id",
    )
    .await;
    assert_eq!(after.len(), 65);
}

#[tokio::test]
async fn newest_first_is_the_reverse_of_oldest_first() {
    let service = TestService::start(Variant::Migrated);
    let oldest = walk(
        &service,
        "/v1/memory?limit=1",
        PAGE,
        "records",
        "memory_version_id",
    )
    .await;
    let mut newest = walk(
        &service,
        "/v1/memory?order=newest&limit=1",
        PAGE,
        "records",
        "memory_version_id",
    )
    .await;
    newest.reverse();
    assert_eq!(oldest, newest);
    assert_eq!(
        oldest,
        [
            service.seed.old_version.clone(),
            service.seed.new_version.clone()
        ]
    );
}

#[tokio::test]
async fn filters_narrow_the_listing() {
    let service = TestService::start(Variant::Migrated);
    let mut early = decision_body();
    early["writer"] = json!("ops");
    early["created_at"] = json!("2020-01-01T00:00:00Z");
    let early = add_decision(&service.kernel, early);
    let mut inferred = decision_body();
    inferred["writer"] = json!("agent");
    inferred["truth_status"] = json!("inferred");
    inferred["confidence"] = json!(0.5);
    let inferred = add_decision(&service.kernel, inferred);

    let cases = [
        ("record_type=decision", vec![&early, &inferred]),
        ("writer=agent", vec![&inferred]),
        ("truth_status=inferred", vec![&inferred]),
        ("created_before=2021-01-01T00:00:00Z", vec![&early]),
        (
            "created_from=2021-01-01T00:00:00Z&record_type=constraint",
            vec![&service.seed.old_version, &service.seed.new_version],
        ),
        ("effective_before=2020-01-01T00:00:00Z", vec![]),
        (
            "effective_from=2020-01-01T00:00:00Z&writer=ops",
            vec![&early],
        ),
        (
            &format!("memory_id={}", service.seed.memory_id),
            vec![&service.seed.old_version],
        ),
    ];
    for (query, expected) in cases {
        let response = service.send(get(&format!("/v1/memory?{query}"))).await;
        let data = response.success(PAGE);
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(
            ids(data, "records", "memory_version_id"),
            expected,
            "{query}"
        );
        assert_eq!(data["next_cursor"], Value::Null, "{query}");
    }
}

#[tokio::test]
async fn bad_cursors_limits_and_parameters_are_refused_with_400() {
    let service = TestService::start(Variant::Migrated);
    let first = service.send(get("/v1/memory?limit=1")).await;
    let cursor = first.success(PAGE)["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let context_cursor = "70312e6f6c646573742e302e78"; // a package cursor, not a record one
    let refused = [
        "/v1/memory?cursor=not-a-cursor".to_owned(),
        "/v1/memory?cursor=".to_owned(),
        format!("/v1/memory?cursor={cursor}&order=newest"),
        format!("/v1/memory?cursor={context_cursor}"),
        format!("/v1/memory?cursor={}", &cursor[..cursor.len() - 2]),
        "/v1/memory?limit=0".to_owned(),
        "/v1/memory?limit=1001".to_owned(),
        "/v1/memory?limit=many".to_owned(),
        "/v1/memory?order=sideways".to_owned(),
        "/v1/memory?record_type=rumour".to_owned(),
        "/v1/memory?created_from=yesterday".to_owned(),
        "/v1/memory?memory_id=01J".to_owned(),
        "/v1/memory?colour=blue".to_owned(),
        format!("/v1/context?cursor={cursor}"),
        "/v1/context?limit=0".to_owned(),
    ];
    for path in refused {
        let response = service.send(get(&path)).await;
        response.failure(400, "validation_error");
    }
    let second = service
        .send(get(&format!("/v1/memory?limit=1&cursor={cursor}")))
        .await;
    assert_eq!(
        ids(second.success(PAGE), "records", "memory_version_id"),
        std::slice::from_ref(&service.seed.new_version)
    );
}

#[tokio::test]
async fn a_version_is_read_by_its_id() {
    let service = TestService::start(Variant::Migrated);
    let id = &service.seed.new_version;
    let response = service
        .send(get(&format!("/v1/memory/versions/{id}")))
        .await;
    let data = response.success("service-memory-record-envelope.schema.json");
    assert_eq!(data["memory_version_id"], json!(id));
    assert_eq!(data["payload"]["scope"]["resource"], "usb_stick");

    let unknown = "01J00000000000000000000000";
    let response = service
        .send(get(&format!("/v1/memory/versions/{unknown}")))
        .await;
    response.failure(404, "memory_not_found");
    let response = service.send(get("/v1/memory/versions/nope")).await;
    response.failure(400, "validation_error");
}

#[tokio::test]
async fn history_of_a_superseded_memory_names_the_current_version_at_each_instant() {
    let service = TestService::start(Variant::Migrated);
    let mut first = decision_body();
    first["created_at"] = json!("2026-01-01T00:00:00Z");
    let first = add_decision(&service.kernel, first);
    let memory_id = service
        .kernel
        .memory_version(&first)
        .unwrap()
        .memory_id
        .to_string();
    let mut second = decision_body();
    second["memory_id"] = json!(memory_id);
    second["summary"] = json!("Ship the release on Thursdays");
    second["created_at"] = json!("2026-02-01T00:00:00Z");
    second["supersedes"] = json!([first]);
    let second = add_decision(&service.kernel, second);

    let path = format!("/v1/memory/{memory_id}/history");
    let schema = "service-memory-history-envelope.schema.json";
    let now = service.send(get(&path)).await;
    let data = now.success(schema);
    assert_eq!(data["memory_id"], json!(memory_id));
    assert_eq!(data["current_memory_version_id"], json!(second));
    let versions = data["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["record"]["memory_version_id"], json!(first));
    assert_eq!(versions[0]["lineage_out"], json!([]));
    assert_eq!(
        versions[0]["lineage_in"],
        json!([{"memory_version_id": second, "relation": "supersedes",
                "visible_from": "2026-02-01T00:00:00Z"}])
    );
    assert_eq!(
        versions[1]["lineage_out"][0]["memory_version_id"],
        json!(first)
    );
    assert_eq!(versions[1]["lineage_in"], json!([]));

    let january = service
        .send(get(&format!("{path}?as_of=2026-01-15T00:00:00Z")))
        .await;
    assert_eq!(
        january.success(schema)["current_memory_version_id"],
        json!(first)
    );
    let before = service
        .send(get(&format!("{path}?as_of=2025-12-31T00:00:00Z")))
        .await;
    assert_eq!(
        before.success(schema)["current_memory_version_id"],
        Value::Null
    );

    // The seed's old constraint is superseded by a version of another memory, through a link.
    let seeded = service
        .send(get(&format!(
            "/v1/memory/{}/history",
            service.seed.memory_id
        )))
        .await;
    let data = seeded.success(schema);
    assert_eq!(data["current_memory_version_id"], Value::Null);
    assert_eq!(
        data["versions"][0]["lineage_in"][0]["memory_version_id"],
        json!(service.seed.new_version)
    );

    let unknown = service
        .send(get("/v1/memory/01J00000000000000000000000/history"))
        .await;
    unknown.failure(404, "memory_not_found");
    let bad = service.send(get(&format!("{path}?as_of=soon"))).await;
    bad.failure(400, "validation_error");
}

#[tokio::test]
async fn context_list_pages_the_stored_packages() {
    let service = TestService::start(Variant::Migrated);
    let schema = "service-context-page-envelope.schema.json";
    for resource in ["usb_stick", "printer", "camera"] {
        let ask = memory_kernel_api::AskRequest {
            text: format!("may the user use a {resource}?"),
            actor: "user".to_owned(),
            action: "use".to_owned(),
            resource: resource.to_owned(),
            ..Default::default()
        };
        service.kernel.ask(&ask, None).unwrap();
    }
    let oldest = walk(
        &service,
        "/v1/context?limit=2",
        schema,
        "context_packages",
        "context_package_id",
    )
    .await;
    assert_eq!(oldest.len(), 4);
    assert_eq!(oldest[0], service.seed.context_package_id);
    let mut newest = walk(
        &service,
        "/v1/context?order=newest&limit=3",
        schema,
        "context_packages",
        "context_package_id",
    )
    .await;
    newest.reverse();
    assert_eq!(oldest, newest);
    let page = service.send(get("/v1/context?limit=1")).await;
    let data = page.success(schema);
    assert_eq!(data["context_packages"][0]["kind"], "ask");
    assert!(data["context_packages"][0]["stored_at"].is_string());
}
