//! `mk outcome …`: every subcommand's output validates against its schema in
//! `contracts/v1/schemas/`, failures use the error contract and the original's messages and
//! exit codes, and the reference values come out of the binary unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{Mk, assert_failure, assert_valid, db_state};

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
