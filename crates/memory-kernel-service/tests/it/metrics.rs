//! `GET /metrics`: the Prometheus text format, read by the strict reader of
//! [`crate::prometheus_text`], agreeing with what was sent and with `/v1/health`.

use std::time::Duration;

use memory_kernel_service::endpoints::ENDPOINTS;
use memory_kernel_testkit::Fault;
use serde_json::json;

use crate::prometheus_text::{Family, parse};
use crate::support::{TOKEN, TestService, Variant, ask_usb_body, get, post};

fn family<'a>(families: &'a [Family], name: &str) -> &'a Family {
    families
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

#[tokio::test]
async fn metrics_parse_strictly_and_count_what_was_sent() {
    let service = TestService::start(Variant::ShortTimeout);
    let context = format!("/v1/context/{}", service.seed.context_package_id);
    for request in [
        get("/v1/health"),
        post("/v1/query/ask").json(&ask_usb_body()),
        post("/v1/query/ask").raw(Some("application/json"), "{bad"),
        get("/v1/nope"),
        get(&context),
        get("/v1/context/cp_00000000000000000000000000000000"),
    ] {
        service.send(request).await;
    }
    service.faults.arm(Fault::Delay(Duration::from_millis(400)));
    let timed_out = service
        .send(post("/v1/query/ask").json(&ask_usb_body()))
        .await;
    assert_eq!(timed_out.status, 503);

    let response = service.send(get("/metrics")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.content_type, "text/plain; version=0.0.4");
    let text = response.body.as_str().unwrap();
    let families = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let names: Vec<(&str, &str)> = families
        .iter()
        .map(|f| (f.name.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("mk_requests_total", "counter"),
            ("mk_request_duration_seconds", "histogram"),
            ("mk_timeouts_total", "counter"),
        ]
    );
    assert!(families.iter().all(|f| f.help.is_some()));

    let requests = family(&families, "mk_requests_total");
    let count = |endpoint: &str, code: &str| {
        requests
            .value(
                "mk_requests_total",
                &[("endpoint", endpoint), ("code", code)],
            )
            .unwrap_or_else(|| panic!("no series {endpoint} {code}"))
    };
    assert_eq!(count("/v1/health", "ok"), 1.0);
    assert_eq!(count("/v1/query/ask", "ok"), 1.0);
    assert_eq!(count("/v1/query/ask", "invalid_json"), 1.0);
    assert_eq!(count("/v1/query/ask", "operation_timeout"), 1.0);
    assert_eq!(count("unmatched", "validation_error"), 1.0);
    assert_eq!(count("/v1/context/{context_package_id}", "ok"), 1.0);
    assert_eq!(
        count(
            "/v1/context/{context_package_id}",
            "context_package_not_found"
        ),
        1.0
    );
    let total: f64 = requests.samples.iter().map(|s| s.value).sum();
    assert_eq!(
        total, 7.0,
        "the /metrics request itself is counted once finished"
    );

    let timeouts = family(&families, "mk_timeouts_total");
    assert_eq!(
        timeouts.value("mk_timeouts_total", &[("endpoint", "/v1/query/ask")]),
        Some(1.0)
    );
    let histogram = family(&families, "mk_request_duration_seconds");
    let ask = [("endpoint", "/v1/query/ask")];
    assert_eq!(
        histogram.value("mk_request_duration_seconds_count", &ask),
        Some(3.0)
    );
    let sum = histogram
        .value("mk_request_duration_seconds_sum", &ask)
        .unwrap();
    assert!(sum >= 0.15, "the timed-out ask waited the timeout: {sum}");

    // Every endpoint of the table, and `unmatched`, has its series from the start.
    for endpoint in ENDPOINTS.iter().map(|e| e.path).chain(["unmatched"]) {
        for family in &families {
            assert!(
                family
                    .samples
                    .iter()
                    .any(|s| s.labels["endpoint"] == endpoint),
                "{} has no series for {endpoint}",
                family.name
            );
        }
    }

    // /v1/health reports the same totals.
    let health = service.send(get("/v1/health")).await;
    let telemetry = &health.body["data"]["telemetry"];
    assert_eq!(telemetry["requests_total"], json!(8));
    assert_eq!(telemetry["timeout_total"], json!(1));
}

#[tokio::test]
async fn metrics_require_the_token_when_one_is_configured() {
    let service = TestService::start(Variant::Token);
    service
        .send(get("/metrics"))
        .await
        .failure(401, "validation_error");
    let response = service.send(get("/metrics").bearer(TOKEN)).await;
    assert_eq!(response.status, 200);
    assert!(parse(response.body.as_str().unwrap()).is_ok());
}
