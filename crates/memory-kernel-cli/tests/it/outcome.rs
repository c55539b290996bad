//! `mk outcome …`: every subcommand's output validates against its schema in
//! `contracts/v1/schemas/`, failures use the error contract and the original's messages and
//! exit codes, and the reference values come out of the binary unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{self, Mk, assert_failure, assert_valid, db_state};
use serde_json::Value;

const AT: &str = "2026-02-07T12:00:00Z";

fn add_memory(mk: &Mk) -> String {
    let added = mk.ok(&[
        "memory",
        "add",
        "decision",
        "--summary",
        "use sqlite",
        "--writer",
        "w",
        "--justification",
        "j",
        "--source-uri",
        "file:///x",
        "--truth-status",
        "asserted",
        "--authority",
        "authoritative",
    ]);
    added["memory_id"].as_str().unwrap().to_owned()
}

fn write(mk: &Mk, command: &[&str], memory: &str, extra: &[&str]) -> Value {
    let mut args = vec!["outcome"];
    args.extend_from_slice(command);
    args.extend_from_slice(&[
        "--memory-id",
        memory,
        "--version",
        "1",
        "--writer",
        "w",
        "--justification",
        "j",
        "--occurred-at",
        AT,
    ]);
    args.extend_from_slice(extra);
    let value = mk.ok(&args);
    assert_valid("outcome-event.schema.json", &value);
    value
}

fn log(mk: &Mk, memory: &str, event: &str) -> Value {
    write(mk, &["log"], memory, &["--event", event])
}

#[test]
fn every_outcome_output_matches_its_schema() {
    let mk = Mk::migrated();
    let a = add_memory(&mk);
    let b = add_memory(&mk);
    let first = log(&mk, &a, "success");
    assert_eq!(first["event_type"], "success");
    assert_eq!(first["memory_id"], a.as_str());
    log(&mk, &a, "success");
    write(
        &mk,
        &["log"],
        &a,
        &["--event", "ignored", "--escalated", "--severity", "med"],
    );
    write(&mk, &["manual", "set-confidence"], &b, &["--value", "0.2"]);
    write(&mk, &["manual", "promote"], &b, &[]);
    write(&mk, &["manual", "retire"], &b, &[]);
    write(&mk, &["system", "contradiction"], &b, &[]);
    write(
        &mk,
        &["system", "inherit"],
        &b,
        &["--source-confidence", "0.95"],
    );

    let status = mk.ok(&["outcome", "projector", "status", "--json"]);
    assert_valid("outcome-projector-status.schema.json", &status);
    assert_eq!(status["lag_events"], 8);
    let stale = mk.ok(&["outcome", "projector", "stale-keys", "--json"]);
    assert_valid("outcome-projector-stale-keys.schema.json", &stale);
    assert_eq!(stale.as_array().unwrap().len(), 2);
    let check = mk.run(&["outcome", "projector", "check", "--json"]);
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    let check = check.json();
    assert_valid("outcome-projector-check.schema.json", &check);
    assert_eq!(check["healthy"], false);

    let replay = mk.ok(&["outcome", "replay"]);
    assert_valid("outcome-replay.schema.json", &replay);
    assert_eq!(replay["projected_keys"], 2);
    assert_eq!(replay["processed_events"], 8);
    let healthy = mk.ok(&["outcome", "projector", "check", "--json"]);
    assert_valid("outcome-projector-check.schema.json", &healthy);
    assert_eq!(healthy["healthy"], true);

    let trust = mk.ok(&[
        "outcome",
        "trust",
        "show",
        "--memory-id",
        &a,
        "--version",
        "1",
    ]);
    assert_valid("outcome-trust-show.schema.json", &trust);
    let decayed = mk.ok(&[
        "outcome",
        "trust",
        "show",
        "--memory-id",
        &a,
        "--version",
        "1",
        "--as-of",
        "2026-06-01T00:00:00Z",
    ]);
    assert_valid("outcome-trust-show.schema.json", &decayed);
    assert!(decayed["confidence_raw"].as_f64() < trust["confidence_raw"].as_f64());

    let events = mk.ok(&[
        "outcome",
        "events",
        "list",
        "--memory-id",
        &a,
        "--version",
        "1",
    ]);
    assert_valid("outcome-events-list.schema.json", &events);
    assert_eq!(events.as_array().unwrap().len(), 3);
    let newest = mk.ok(&[
        "outcome",
        "events",
        "list",
        "--memory-id",
        &a,
        "--version",
        "1",
        "--limit",
        "1",
    ]);
    assert_eq!(newest[0]["event_type"], "ignored");

    let candidate_a = format!("{a}:1");
    let candidate_b = format!("{b}:1");
    let gate = mk.ok(&[
        "outcome",
        "gate",
        "preview",
        "--mode",
        "exploration",
        "--as-of",
        AT,
        "--context-id",
        "run-1",
        "--candidate",
        &candidate_a,
        "--candidate",
        &candidate_b,
        "--candidate",
        &candidate_a,
        "--json",
    ]);
    assert_valid("outcome-gate-preview.schema.json", &gate);
    assert_eq!(gate["decisions"].as_array().unwrap().len(), 3);
    let table = mk.run(&[
        "outcome",
        "gate",
        "preview",
        "--mode",
        "safe",
        "--as-of",
        AT,
        "--candidate",
        &candidate_a,
    ]);
    assert_eq!(table.code, Some(0));
    assert!(
        table.stdout.starts_with("mode: Safe\nmemory_id"),
        "{}",
        table.stdout
    );
}

#[test]
fn three_successes_give_the_reference_value_through_the_binary() {
    let mk = Mk::migrated();
    let a = add_memory(&mk);
    for _ in 0..3 {
        log(&mk, &a, "success");
    }
    mk.ok(&["outcome", "replay"]);
    let candidate = format!("{a}:1");
    let gate = mk.run(&[
        "outcome",
        "gate",
        "preview",
        "--mode",
        "safe",
        "--as-of",
        AT,
        "--candidate",
        &candidate,
        "--json",
    ]);
    assert!(
        gate.stdout.contains("\"confidence_effective\": 0.73052734"),
        "{}",
        gate.stdout
    );
    assert!(gate.stdout.contains("included.safe.validated_threshold"));
}

#[test]
fn failures_use_the_error_contract_and_the_original_messages() {
    let mk = Mk::migrated();
    let a = add_memory(&mk);
    // An outcome on a memory version that does not exist is refused.
    let run = mk.run(&[
        "outcome",
        "log",
        "--memory-id",
        &a,
        "--version",
        "2",
        "--writer",
        "w",
        "--justification",
        "j",
        "--event",
        "success",
    ]);
    assert_failure(&run, 1, "validation_error");
    let run = mk.run(&[
        "outcome",
        "trust",
        "show",
        "--memory-id",
        &a,
        "--version",
        "1",
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(
        message.contains("trust snapshot not found for"),
        "{message}"
    );
    let run = mk.run(&[
        "outcome",
        "log",
        "--memory-id",
        &a,
        "--version",
        "1",
        "--writer",
        " ",
        "--justification",
        "j",
        "--event",
        "success",
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(
        message.contains("writer MUST be provided for every write"),
        "{message}"
    );
    let run = mk.run(&[
        "outcome",
        "log",
        "--memory-id",
        &a,
        "--version",
        "1",
        "--writer",
        "w",
        "--justification",
        "j",
        "--event",
        "success",
        "--occurred-at",
        "2026-02-07T12:00:00+01:00",
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(message.starts_with("invalid timestamp: "), "{message}");
    let run = mk.run(&[
        "outcome",
        "log",
        "--memory-id",
        "nope",
        "--version",
        "1",
        "--writer",
        "w",
        "--justification",
        "j",
        "--event",
        "success",
    ]);
    assert_eq!(
        assert_failure(&run, 1, "validation_error"),
        "invalid ULID: nope"
    );
    let run = mk.run(&[
        "outcome", "gate", "preview", "--mode", "safe", "--as-of", AT,
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert_eq!(
        message,
        "at least one --candidate <memory_id:version> is required"
    );
    let run = mk.run(&[
        "outcome",
        "gate",
        "preview",
        "--mode",
        "safe",
        "--as-of",
        AT,
        "--candidate",
        &a,
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert_eq!(message, "candidate must be in <memory_id>:<version> format");
    let run = mk.run(&["outcome", "log", "--event", "success"]);
    assert_failure(&run, 2, "validation_error");
    let run = mk.run(&[
        "outcome",
        "manual",
        "set-confidence",
        "--memory-id",
        &a,
        "--version",
        "1",
        "--writer",
        "w",
        "--justification",
        "j",
        "--value=1.5",
    ]);
    let message = assert_failure(&run, 1, "validation_error");
    assert!(
        message.contains("manual_confidence MUST be in [0.0, 1.0]"),
        "{message}"
    );
}

#[test]
fn reading_commands_leave_the_file_unchanged_and_never_migrate() {
    let mk = Mk::migrated();
    let a = add_memory(&mk);
    log(&mk, &a, "failure");
    let before = db_state(mk.db());
    mk.ok(&["outcome", "projector", "status", "--json"]);
    mk.ok(&[
        "outcome",
        "events",
        "list",
        "--memory-id",
        &a,
        "--version",
        "1",
    ]);
    let _ = mk.run(&["outcome", "projector", "check"]);
    assert_eq!(db_state(mk.db()), before);
    let fresh = Mk::new();
    let run = fresh.run(&["outcome", "projector", "status"]);
    assert_failure(&run, 1, "schema_unavailable");
    assert!(!fresh.db().exists());
}

fn add_dated_memory(mk: &Mk, summary: &str) -> String {
    let added = mk.ok(&[
        "memory",
        "add",
        "decision",
        "--summary",
        summary,
        "--writer",
        "w",
        "--justification",
        "j",
        "--source-uri",
        "file:///x",
        "--truth-status",
        "asserted",
        "--authority",
        "authoritative",
        "--created-at",
        "2026-01-01T00:00:00Z",
    ]);
    added["memory_id"].as_str().unwrap().to_owned()
}

fn recall(mk: &Mk, gate: Option<&str>) -> (String, Value) {
    let mut args = vec!["query", "recall", "--text", "sqlite", "--as-of", AT];
    if let Some(mode) = gate {
        args.extend_from_slice(&["--trust-gate", mode]);
    }
    let run = mk.run(&args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid("query-recall.schema.json", &value);
    (run.stdout, value)
}

#[test]
fn a_trust_gate_moves_a_failing_item_to_the_exclusions_with_its_reason() {
    let mk = Mk::migrated();
    let trusted = add_dated_memory(&mk, "use sqlite for the cache");
    let failing = add_dated_memory(&mk, "use sqlite for the queue");
    for _ in 0..3 {
        log(&mk, &trusted, "success");
        log(&mk, &failing, "failure");
    }
    mk.ok(&["outcome", "replay"]);

    let (plain_text, plain) = recall(&mk, None);
    assert!(!plain_text.contains("trust_gate"), "{plain_text}");
    assert_eq!(plain["selected_items"].as_array().unwrap().len(), 2);
    let (again, _) = recall(&mk, None);
    assert_eq!(again, plain_text, "an ungated package must not change");

    let (_, safe) = recall(&mk, Some("safe"));
    assert_eq!(safe["query"]["trust_gate"], "safe");
    assert_ne!(safe["context_package_id"], plain["context_package_id"]);
    let selected = safe["selected_items"].as_array().unwrap();
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0]["memory_id"], trusted.as_str());
    assert_eq!(selected[0]["rank"], 1);
    let kept = &selected[0]["trust_gate"];
    assert_valid("trust-gate-attachment.schema.json", kept);
    assert_eq!(kept["include"], true);
    assert_eq!(kept["reason_codes"][0], "included.safe.validated_threshold");
    assert_eq!(kept["ruleset_version"], 1);

    let refused: Vec<&Value> = safe["excluded_items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["memory_id"] == failing.as_str())
        .collect();
    assert_eq!(refused.len(), 1);
    let attachment = &refused[0]["trust_gate"];
    assert_valid("trust-gate-attachment.schema.json", attachment);
    assert_eq!(attachment["include"], false);
    assert_eq!(
        refused[0]["why"]["reasons"][0],
        "excluded.safe.threshold_or_status"
    );
    assert_eq!(refused[0]["why"]["included"], false);
    assert_eq!(
        safe["answer"]["excluded_summary"]["excluded.safe.threshold_or_status"],
        1
    );

    // The stored gated package is shown exactly as the query returned it.
    let id = safe["context_package_id"].as_str().unwrap();
    let shown = mk.ok(&["context", "show", "--context-package-id", id]);
    assert_eq!(shown, safe);

    // Another mode is another question: another id.
    let (_, exploration) = recall(&mk, Some("exploration"));
    assert_eq!(exploration["query"]["trust_gate"], "exploration");
    assert_ne!(
        exploration["context_package_id"],
        safe["context_package_id"]
    );

    // Ask takes the gate too: a constraint without trust has no snapshot to pass.
    let ask = mk.ok(&[
        "memory",
        "add",
        "constraint",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
        "--effect",
        "deny",
        "--writer",
        "w",
        "--justification",
        "j",
        "--source-uri",
        "file:///p",
        "--truth-status",
        "asserted",
        "--authority",
        "authoritative",
        "--created-at",
        "2026-01-01T00:00:00Z",
    ]);
    assert!(ask["memory_id"].is_string());
    let gated = mk.ok(&[
        "query",
        "ask",
        "--text",
        "usb?",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
        "--as-of",
        AT,
        "--trust-gate",
        "safe",
    ]);
    assert_valid("query-ask.schema.json", &gated);
    assert_eq!(gated["selected_items"].as_array().unwrap().len(), 0);
    assert_eq!(
        gated["excluded_items"][0]["trust_gate"]["reason_codes"][0],
        "excluded.no_trust_snapshot"
    );
    assert_eq!(
        gated["excluded_items"][0]["trust_gate"]["ruleset_version"],
        Value::Null
    );
}

#[test]
fn the_benchmark_reports_and_fails_on_a_broken_budget() {
    let dir = tempfile::TempDir::new().unwrap();
    let db = dir.path().join("never-created.sqlite3");
    let report = dir.path().join("report.json");
    let db_arg = db.to_str().unwrap();
    let report_arg = report.to_str().unwrap();
    let ok = support::run_with_db(
        &db,
        &[
            "outcome",
            "benchmark",
            "run",
            "--volume",
            "5",
            "--repetitions",
            "1",
            "--json",
        ],
    );
    // Timings depend on the machine's load: the exit code must agree with the verdict.
    let value: Value = serde_json::from_str(&ok.stdout).unwrap();
    let within = value["within_thresholds"].as_bool().unwrap();
    assert_eq!(ok.code, Some(i32::from(!within)), "{}", ok.stderr);
    assert_eq!(value["contract_version"], "benchmark_report.v1");
    assert_eq!(value["thresholds"]["append_p95_ms_max"], 8.0);
    assert_eq!(value["thresholds"]["replay_p95_ms_max"], 250.0);
    assert_eq!(value["volumes"][0]["event_count"], 5);
    assert!(!db.exists(), "the benchmark must not touch --db {db_arg}");

    let broken = support::run_with_db(
        &db,
        &[
            "outcome",
            "benchmark",
            "run",
            "--volume",
            "3",
            "--repetitions",
            "1",
            "--append-p95-max-ms",
            "0",
            "--replay-p95-max-ms",
            "0",
            "--gate-p95-max-ms",
            "0",
            "--output",
            report_arg,
        ],
    );
    assert_eq!(broken.code, Some(1));
    assert!(
        broken.stdout.contains("within_thresholds=no"),
        "{}",
        broken.stdout
    );
    assert!(
        broken
            .stdout
            .contains("benchmark thresholds violated: volume=3 append_p95_ms=")
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["within_thresholds"], false);
    assert_eq!(written["violations"].as_array().unwrap().len(), 3);

    let partial = support::run_with_db(
        &db,
        &["outcome", "benchmark", "run", "--append-p95-max-ms", "1"],
    );
    assert_failure(&partial, 1, "validation_error");
}
