//! The one runner: request, envelope, telemetry, restore, recovery, records. Every check
//! returns a message instead of panicking, so one failing row does not hide the others.

use std::time::{Duration, Instant};

use memory_kernel_api::{ErrorCode, ListRequest};
use memory_kernel_service::telemetry::{CODE_LABELS, OutcomeClass, TelemetrySnapshot, UNMATCHED};
use memory_kernel_testkit::ContractSchemas;
use serde_json::Value;

use super::conditions::{Condition, SLOW_DELAY, recovery_request};
use super::{Expect, Row};
use crate::support::{TestResponse, TestService, Variant};

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

thread_local! {
    static SCHEMAS: ContractSchemas = ContractSchemas::load().unwrap();
}

/// Runs one row; `Err` says what went wrong.
pub async fn run(row: &Row) -> Result<(), String> {
    let mut service = TestService::start(row.variant);
    let committed = stored_ids(&service);
    let before = service.telemetry.snapshot();
    let restore = row
        .condition
        .apply(&service)
        .map_err(|e| format!("applying {}: {e}", row.condition.label()))?;
    let started = Instant::now();
    let response = service.send((row.request)(&service.seed)).await;
    check_response(row, &response)?;
    let after = service.telemetry.snapshot();
    check_telemetry(
        &before,
        &after,
        row.endpoint.unwrap_or(UNMATCHED),
        row.expect,
    )?;

    restore
        .run()
        .map_err(|e| format!("restoring {}: {e}", row.condition.label()))?;
    if row.condition == Condition::SlowOperation {
        // The delayed operation still runs on its blocking thread; let it finish (and roll
        // back) before counting records.
        let done = started + SLOW_DELAY + Duration::from_millis(150);
        tokio::time::sleep(done.saturating_duration_since(Instant::now())).await;
    }
    match service.variant {
        Variant::Unmigrated => service.migrate_and_seed(),
        Variant::ZeroTimeout => service.restart_with_defaults(),
        _ => {}
    }
    if row.variant != Variant::Unmigrated && row.expect != Expect::Success {
        let now = stored_ids(&service);
        ensure!(
            now == committed,
            "the failed request changed the records: {committed:?} -> {now:?}"
        );
    }
    let recovery = service.send(recovery_request(row.endpoint, &service)).await;
    ensure!(
        recovery.status == 200,
        "no recovery: the next good request got {} {}",
        recovery.status,
        show(&recovery.body)
    );
    let last = stored_ids(&service);
    let lost: Vec<&String> = committed.iter().filter(|id| !last.contains(id)).collect();
    ensure!(lost.is_empty(), "committed records lost: {lost:?}");
    Ok(())
}

/// A body for a failure message, cut short.
fn show(body: &Value) -> String {
    let text = body.to_string();
    match text.char_indices().nth(400) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// The ids of every stored record (none when the schema is not current yet).
fn stored_ids(service: &TestService) -> Vec<String> {
    let records = service.kernel.list(&ListRequest::default());
    let mut ids: Vec<String> = records
        .unwrap_or_default()
        .iter()
        .map(|r| r.memory_version_id.to_string())
        .collect();
    ids.sort();
    ids
}

fn check_response(row: &Row, response: &TestResponse) -> Result<(), String> {
    let body = &response.body;
    let Expect::Failure { status, code, .. } = row.expect else {
        ensure!(
            response.status == 200,
            "expected 200, got {} {body:#}",
            response.status
        );
        return Ok(());
    };
    ensure!(
        response.status == status,
        "expected {status}, got {} {body:#}",
        response.status
    );
    SCHEMAS.with(|schemas| schemas.validate("error-envelope.schema.json", body))?;
    let object = body.as_object().ok_or("the body is not an object")?;
    ensure!(
        !object.contains_key("api_contract_version") && !object.contains_key("legacy_error"),
        "forbidden field in {body:#}"
    );
    let error = &body["error"];
    ensure!(
        error["code"] == code.as_str(),
        "expected {code}, got {body:#}"
    );
    ensure!(
        !error["message"].as_str().unwrap_or_default().is_empty(),
        "empty message"
    );
    for (key, value) in &row.details {
        ensure!(&error["details"][key] == value, "details.{key}: {error:#}");
    }
    Ok(())
}

/// The health counter a response lands in, written here independently of the service.
fn totals_field(expect: Expect) -> &'static str {
    match expect {
        Expect::Success => "requests_success_total",
        Expect::Failure {
            timed_out: true, ..
        } => "timeout_total",
        Expect::Failure { code, .. } => match code {
            ErrorCode::InvalidJson => "invalid_json_total",
            ErrorCode::ValidationError => "validation_error_total",
            ErrorCode::ContextPackageNotFound => "context_not_found_total",
            ErrorCode::WriteConflict => "write_conflict_total",
            ErrorCode::SchemaUnavailable => "schema_unavailable_total",
            ErrorCode::InternalError => "internal_error_total",
            _ => "other_error_total",
        },
    }
}

fn class_of(field: &str) -> OutcomeClass {
    let names = [
        "requests_success_total",
        "timeout_total",
        "invalid_json_total",
        "validation_error_total",
        "context_not_found_total",
        "write_conflict_total",
        "schema_unavailable_total",
        "internal_error_total",
        "other_error_total",
    ];
    let index = names.iter().position(|n| *n == field).unwrap();
    OutcomeClass::ALL[index]
}

/// Exactly one request moved: in `endpoint`, in the expected class and code, in one
/// histogram bucket; every other endpoint unchanged; the health totals agree.
fn check_telemetry(
    before: &TelemetrySnapshot,
    after: &TelemetrySnapshot,
    endpoint: &str,
    expect: Expect,
) -> Result<(), String> {
    let field = totals_field(expect);
    let label = match expect {
        Expect::Success => "ok",
        Expect::Failure { code, .. } => code.as_str(),
    };
    for (b, a) in before.endpoints.iter().zip(&after.endpoints) {
        if a.endpoint != endpoint {
            ensure!(
                a == b,
                "telemetry of {} moved too: {b:?} -> {a:?}",
                a.endpoint
            );
            continue;
        }
        let mut expected = b.clone();
        expected.classes[class_of(field).index()] += 1;
        expected.codes[CODE_LABELS.iter().position(|l| *l == label).unwrap()] += 1;
        let observed: u64 = a.buckets.iter().sum::<u64>() - b.buckets.iter().sum::<u64>();
        ensure!(
            observed == 1,
            "{observed} latency observations for {endpoint}"
        );
        ensure!(
            a.duration_sum_nanos >= b.duration_sum_nanos,
            "latency sum went down"
        );
        expected.buckets = a.buckets;
        expected.duration_sum_nanos = a.duration_sum_nanos;
        ensure!(
            *a == expected,
            "telemetry of {endpoint}: expected {expected:?}, got {a:?}"
        );
    }
    let totals = |s: &TelemetrySnapshot| serde_json::to_value(s.totals()).unwrap_or(Value::Null);
    let (b, a) = (totals(before), totals(after));
    let failure = if expect == Expect::Success {
        None
    } else {
        Some("requests_failure_total")
    };
    for (key, value) in a.as_object().into_iter().flatten() {
        let moved = value.as_u64().unwrap_or(0) - b[key].as_u64().unwrap_or(0);
        let expected =
            u64::from(key == "requests_total" || key == field || Some(key.as_str()) == failure);
        ensure!(
            moved == expected,
            "health total {key} moved by {moved}, expected {expected}"
        );
    }
    Ok(())
}
