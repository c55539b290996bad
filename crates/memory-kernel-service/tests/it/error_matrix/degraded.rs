//! Every endpoint × every degraded condition: an operation that times out, fails in the store,
//! fails unexpectedly; a malformed payload (endpoints with a body); the database unavailable
//! (directory gone, file deleted while running, file read-only, every migration pending).
//!
//! What each endpoint answers is written out in [`DEGRADED`], one entry per endpoint; an
//! endpoint of the endpoint table without an entry fails
//! [`every_endpoint_has_a_degraded_entry`].

use memory_kernel_api::ErrorCode::{
    self, ContextLookupFailed, InternalError, InvalidJson, MigrationFailed, OperationTimeout,
    QueryFailed, SchemaUnavailable, StorageUnavailable, WriteFailed,
};
use memory_kernel_service::endpoints::{ENDPOINTS, Endpoint};
use memory_kernel_service::status;
use serde_json::json;

use super::conditions::{Condition, good_request};
use super::{Expect, Row, row};
use crate::support::{SHORT_TIMEOUT, Variant, post};

/// How an endpoint fares while the database is unavailable in some way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// It does not need the database for this (or only reads it): 200.
    Ok,
    /// 503 `schema_unavailable`.
    Unavailable,
}

/// One endpoint's expectations.
struct Degraded {
    path: &'static str,
    /// The code of a failed operation (a timeout is `operation_timeout` whatever the
    /// endpoint); `None` for endpoints without one.
    failure: Option<ErrorCode>,
    /// Directory gone, or file deleted while running.
    missing: Answer,
    /// File read-only: refused for the operations that write (ask and recall store their
    /// package) and by readiness, which reports what writes will do; reads and a dry-run
    /// migration still work.
    read_only: Answer,
    /// Every migration pending: data endpoints refuse; schema-version and a dry-run
    /// migration report the plan.
    unmigrated: Answer,
}

const fn entry(
    path: &'static str,
    failure: Option<ErrorCode>,
    missing: Answer,
    read_only: Answer,
    unmigrated: Answer,
) -> Degraded {
    Degraded {
        path,
        failure,
        missing,
        read_only,
        unmigrated,
    }
}

use Answer::{Ok as Fine, Unavailable as Down};

const DEGRADED: [Degraded; 21] = [
    entry("/v1/health", None, Fine, Fine, Fine),
    entry("/v1/ready", Some(SchemaUnavailable), Down, Down, Down),
    entry("/v1/openapi", None, Fine, Fine, Fine),
    entry(
        "/v1/db/schema-version",
        Some(SchemaUnavailable),
        Down,
        Fine,
        Fine,
    ),
    entry("/v1/db/migrate", Some(MigrationFailed), Down, Fine, Fine),
    entry(
        "/v1/memory/add/constraint",
        Some(WriteFailed),
        Down,
        Down,
        Down,
    ),
    entry(
        "/v1/memory/add/summary",
        Some(WriteFailed),
        Down,
        Down,
        Down,
    ),
    entry("/v1/memory/link", Some(WriteFailed), Down, Down, Down),
    entry("/v1/memory", Some(QueryFailed), Down, Fine, Down),
    entry(
        "/v1/memory/versions/{memory_version_id}",
        Some(QueryFailed),
        Down,
        Fine,
        Down,
    ),
    entry(
        "/v1/memory/{memory_id}/history",
        Some(QueryFailed),
        Down,
        Fine,
        Down,
    ),
    entry("/v1/query/ask", Some(QueryFailed), Down, Down, Down),
    entry("/v1/query/recall", Some(QueryFailed), Down, Down, Down),
    entry(
        "/v1/context/{context_package_id}",
        Some(ContextLookupFailed),
        Down,
        Fine,
        Down,
    ),
    entry("/v1/outcome/events", Some(WriteFailed), Down, Down, Down),
    entry("/v1/outcome/replay", Some(WriteFailed), Down, Down, Down),
    // Trust reads write nothing: a read-only file still answers them.
    entry("/v1/outcome/trust", Some(QueryFailed), Down, Fine, Down),
    entry(
        "/v1/outcome/gate/preview",
        Some(QueryFailed),
        Down,
        Fine,
        Down,
    ),
    entry(
        "/v1/outcome/projector/status",
        Some(QueryFailed),
        Down,
        Fine,
        Down,
    ),
    entry("/v1/context", Some(ContextLookupFailed), Down, Fine, Down),
    entry("/metrics", None, Fine, Fine, Fine),
];

fn answer(answer: Answer) -> Expect {
    match answer {
        Answer::Ok => Expect::Success,
        Answer::Unavailable => Expect::Failure {
            status: 503,
            code: SchemaUnavailable,
            timed_out: false,
        },
    }
}

fn failing(code: ErrorCode) -> Expect {
    Expect::Failure {
        status: status(code).as_u16(),
        code,
        timed_out: false,
    }
}

/// The rows of one endpoint.
fn endpoint_rows(endpoint: &'static Endpoint, expected: &Degraded) -> Vec<Row> {
    let path = endpoint.path;
    let named = |condition: Condition, variant: Variant, expect: Expect| {
        let name = match (condition, variant) {
            (Condition::None, Variant::Unmigrated) => format!("{path} × unmigrated db"),
            _ => format!("{path} × {}", condition.label()),
        };
        row(name, variant, Some(path), InternalError, move |seed| {
            good_request(Some(path), seed)
        })
        .expect(expect)
        .under(condition)
    };
    let mut rows = Vec::new();
    if endpoint.request_body.is_some() {
        rows.push(row(
            format!("{path} × malformed payload"),
            Variant::Migrated,
            Some(path),
            InvalidJson,
            move |_| post(path).raw(Some("application/json"), "{\"text\": "),
        ));
    }
    if let Some(code) = expected.failure {
        rows.push(
            named(
                Condition::SlowOperation,
                Variant::ShortTimeout,
                failing(OperationTimeout),
            )
            .timed_out()
            .detail(
                "timeout_ms",
                json!(u64::try_from(SHORT_TIMEOUT.as_millis()).unwrap()),
            ),
        );
        rows.push(named(
            Condition::StoreFailure,
            Variant::Migrated,
            failing(code),
        ));
        rows.push(named(
            Condition::InternalFailure,
            Variant::Migrated,
            failing(InternalError),
        ));
    }
    for (condition, expect) in [
        (Condition::MissingDirectory, expected.missing),
        (Condition::DeletedFile, expected.missing),
        (Condition::ReadOnlyFile, expected.read_only),
    ] {
        rows.push(named(condition, Variant::Migrated, answer(expect)));
    }
    rows.push(named(
        Condition::None,
        Variant::Unmigrated,
        answer(expected.unmigrated),
    ));
    rows
}

/// Every endpoint's rows, plus one panicking operation.
pub fn rows() -> Vec<Row> {
    let mut rows: Vec<Row> = ENDPOINTS
        .iter()
        .filter_map(|endpoint| {
            let expected = DEGRADED.iter().find(|d| d.path == endpoint.path)?;
            Some(endpoint_rows(endpoint, expected))
        })
        .flatten()
        .collect();
    rows.push(
        row(
            "/v1/query/recall × operation panics",
            Variant::Migrated,
            Some("/v1/query/recall"),
            InternalError,
            |seed| good_request(Some("/v1/query/recall"), seed),
        )
        .under(Condition::Panic),
    );
    // A full disk, as SQLite reports it: a typed 503, and readiness says so too.
    for path in ["/v1/memory/add/constraint", "/v1/ready"] {
        rows.push(
            row(
                format!("{path} × storage full"),
                Variant::Migrated,
                Some(path),
                StorageUnavailable,
                move |seed| good_request(Some(path), seed),
            )
            .under(Condition::StorageFull),
        );
    }
    rows
}

/// Adding an endpoint without saying how it fares under each condition fails here; so does
/// an entry for an endpoint that no longer exists, or one that disagrees with the table about
/// whether the endpoint runs an operation.
#[test]
fn every_endpoint_has_a_degraded_entry() {
    let mut problems = Vec::new();
    for endpoint in &ENDPOINTS {
        match DEGRADED.iter().find(|d| d.path == endpoint.path) {
            None => problems.push(format!("{}: no entry in DEGRADED", endpoint.path)),
            Some(d) if d.failure.is_some() != endpoint.operation.is_some() => {
                problems.push(format!("{}: operation disagrees", endpoint.path));
            }
            Some(_) => {}
        }
    }
    for d in &DEGRADED {
        if !ENDPOINTS.iter().any(|e| e.path == d.path) {
            problems.push(format!("{}: not an endpoint", d.path));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Each endpoint gets a row for every condition that applies to it.
#[test]
fn every_endpoint_has_a_row_per_condition() {
    let rows = rows();
    for endpoint in &ENDPOINTS {
        let count = rows
            .iter()
            .filter(|r| r.endpoint == Some(endpoint.path) && r.name.contains(" × "))
            .count();
        let mut expected = 4; // missing directory, deleted file, read-only, unmigrated
        if endpoint.request_body.is_some() {
            expected += 1;
        }
        if endpoint.operation.is_some() {
            expected += 3;
        }
        if matches!(
            endpoint.path,
            "/v1/query/recall" | "/v1/memory/add/constraint" | "/v1/ready"
        ) {
            expected += 1;
        }
        assert_eq!(count, expected, "{}", endpoint.path);
    }
}
