//! `mk service diagnostics` against a stand-in service that serves a fixed `/metrics` text:
//! the JSON output validates against its schema (and so the metrics artifact against
//! `service-metrics.schema.json`), the verdict sets the exit code, a breach names its
//! endpoint, and an unreachable service or a bad flag fails with the error object.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::thread;

use crate::support::{self, assert_failure, assert_valid, run_raw};
use serde_json::Value;

/// Serves `body` on `/metrics` (with `status`) for every connection, on a free loopback port.
fn stand_in(status: u16, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: text/plain; version=0.0.4\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{address}")
}

/// An exposition: `(endpoint, ok, query_failed, schema_unavailable, timeouts)` per endpoint,
/// every request taking between 1 and 2.5 ms.
fn exposition(rows: &[(&str, u64, u64, u64, u64)]) -> String {
    let mut text = String::from("# HELP mk_requests_total R.\n# TYPE mk_requests_total counter\n");
    for (endpoint, ok, failed, unavailable, _) in rows {
        for (code, n) in [
            ("ok", ok),
            ("query_failed", failed),
            ("schema_unavailable", unavailable),
        ] {
            text += &format!("mk_requests_total{{endpoint=\"{endpoint}\",code=\"{code}\"}} {n}\n");
        }
    }
    text += "# TYPE mk_request_duration_seconds histogram\n";
    for (endpoint, ok, failed, unavailable, _) in rows {
        let n = ok + failed + unavailable;
        for (le, count) in [("0.001", 0), ("0.0025", n), ("+Inf", n)] {
            text += &format!(
                "mk_request_duration_seconds_bucket{{endpoint=\"{endpoint}\",le=\"{le}\"}} {count}\n"
            );
        }
        text += &format!("mk_request_duration_seconds_sum{{endpoint=\"{endpoint}\"}} 0.1\n");
        text += &format!("mk_request_duration_seconds_count{{endpoint=\"{endpoint}\"}} {n}\n");
    }
    text += "# TYPE mk_timeouts_total counter\n";
    for (endpoint, .., timeouts) in rows {
        text += &format!("mk_timeouts_total{{endpoint=\"{endpoint}\"}} {timeouts}\n");
    }
    text
}

fn diagnostics(url: &str, extra: &[&str]) -> support::Run {
    let mut args = vec!["service", "diagnostics", "--url", url];
    args.extend_from_slice(extra);
    run_raw(&args)
}

#[test]
fn a_healthy_service_is_ok_and_the_artifact_matches_its_schema() {
    let url = stand_in(
        200,
        exposition(&[("/v1/query/ask", 100, 0, 0, 0), ("unmatched", 3, 0, 0, 0)]),
    );
    let run = diagnostics(&url, &["--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.ends_with(",\"contract_version\":\"cli.v1\"}\n"),
        "{}",
        run.stdout
    );
    let output = run.json();
    assert_valid("service-diagnostics.schema.json", &output);
    let metrics = &output["service_metrics"];
    assert_valid("service-metrics.schema.json", metrics);
    assert_eq!(metrics["verdict"], "OK");
    assert_eq!(metrics["endpoints"][0]["latency_ms"]["p50"], 1.75);
    assert_eq!(metrics["source"], format!("{url}/metrics"));

    let table = diagnostics(&url, &[]);
    assert_eq!(table.code, Some(0));
    assert!(table.stdout.starts_with("endpoint "), "{}", table.stdout);
    assert!(table.stdout.contains("/v1/query/ask"), "{}", table.stdout);
    assert!(table.stdout.ends_with("verdict: OK\n"), "{}", table.stdout);
}

#[test]
fn a_zero_ms_budget_warns_and_names_the_endpoint() {
    let url = stand_in(200, exposition(&[("/v1/query/recall", 50, 0, 0, 0)]));
    let dir = tempfile::tempdir().unwrap();
    let mut policy: Value = serde_json::from_str(include_str!(
        "../../../../contracts/integration/v1/service-slo-policy.json"
    ))
    .unwrap();
    for budget in policy["latency_budgets"].as_array_mut().unwrap() {
        if budget["endpoint"] == "/v1/query/recall" {
            budget["p95_ms"] = 0.into();
        }
    }
    let path = dir.path().join("policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    let path = path.to_str().unwrap();

    let run = diagnostics(&url, &["--policy", path]);
    assert_eq!(run.code, Some(3), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("breach: /v1/query/recall: p95 2.425 ms is over its budget of 0 ms"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("verdict: WARNING\n"));
    let json = diagnostics(&url, &["--policy", path, "--json"]);
    assert_eq!(json.code, Some(3));
    let breaches = &json.json()["service_metrics"]["breaches"];
    assert_eq!(breaches[0]["endpoint"], "/v1/query/recall");
    assert_eq!(breaches[0]["rule"], "latency_p95");
}

#[test]
fn failures_with_a_schema_unavailable_spike_are_critical() {
    let url = stand_in(200, exposition(&[("/v1/query/ask", 80, 10, 10, 0)]));
    let run = diagnostics(&url, &["--json"]);
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    let metrics = &run.json()["service_metrics"];
    assert_eq!(metrics["verdict"], "CRITICAL");
    assert_eq!(
        metrics["totals"]["schema_unavailable_per_1000_requests"],
        100.0
    );
    assert_eq!(metrics["endpoints"][0]["failure_rate_percent"], 20.0);
}

#[test]
fn timeouts_over_the_threshold_warn() {
    let url = stand_in(200, exposition(&[("/v1/memory/link", 95, 5, 0, 5)]));
    let run = diagnostics(&url, &["--json"]);
    assert_eq!(run.code, Some(3));
    let rules: Vec<Value> = run.json()["service_metrics"]["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rule"].clone())
        .collect();
    assert_eq!(rules, ["timeout_rate"]);
}

#[test]
fn an_unreachable_or_strange_service_fails_with_the_error_object() {
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = diagnostics(&format!("http://{closed}"), &[]);
    let message = assert_failure(&run, 1, "internal_error");
    assert!(message.contains("/metrics"), "{message}");

    let not_found = stand_in(404, "nope".to_owned());
    let message = assert_failure(&diagnostics(&not_found, &[]), 1, "internal_error");
    assert!(message.contains("404"), "{message}");

    let not_metrics = stand_in(200, "hello world\n".to_owned());
    assert_failure(&diagnostics(&not_metrics, &[]), 1, "internal_error");

    // Refused after parsing: exit 1 like every failed command; 2 is for usage errors only.
    assert_failure(
        &diagnostics("https://127.0.0.1:1", &[]),
        1,
        "validation_error",
    );
    let missing = diagnostics(
        "http://127.0.0.1:1",
        &["--policy", "/nonexistent/policy.json"],
    );
    assert_failure(&missing, 1, "validation_error");
    assert_failure(&run_raw(&["service", "diagnostics"]), 2, "validation_error");
}
