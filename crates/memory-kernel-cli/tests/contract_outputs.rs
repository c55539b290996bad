//! Every command's output validates against its schema in `contracts/v1/schemas/`, and every
//! failure against `error.schema.json`; the envelope's first key is `contract_version`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use memory_kernel_api::ErrorCode;
use serde_json::Value;
use support::{
    Mk, ask_args, assert_failure, assert_valid, recall_args, run_raw, schemas, seed_scenario,
};

/// Asserts the compact envelope starts with `"contract_version":"cli.v1"` and then `key`.
fn assert_envelope(stdout: &str, key: &str) {
    let head = format!("{{\"contract_version\":\"cli.v1\",\"{key}\":");
    assert!(stdout.starts_with(&head), "{stdout}");
    assert!(
        stdout.ends_with("}\n") && stdout.lines().count() == 1,
        "{stdout}"
    );
}

fn check(mk: &Mk, args: &[&str], schema: &str, key: &str) -> Value {
    let run = mk.run(args);
    assert_eq!(run.code, Some(0), "mk {args:?}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_envelope(&run.stdout, key);
    let value = run.json();
    assert_valid(schema, &value);
    value
}

#[test]
fn every_command_output_matches_its_schema() {
    let mk = Mk::new();
    check(
        &mk,
        &["db", "migrate"],
        "db-migrate.schema.json",
        "migration",
    );
    check(
        &mk,
        &["db", "migrate", "--dry-run"],
        "db-migrate.schema.json",
        "migration",
    );
    check(
        &mk,
        &["db", "schema-version"],
        "db-schema-version.schema.json",
        "schema_status",
    );
    let scenario = seed_scenario(&mk);

    let add = check(
        &mk,
        &[
            "memory",
            "add",
            "constraint",
            "--actor",
            "agent",
            "--action",
            "delete",
            "--resource",
            "*",
            "--effect",
            "deny",
            "--note",
            "Never delete",
            "--writer",
            "w",
            "--justification",
            "j",
            "--source-uri",
            "file:///p.md",
            "--truth-status",
            "speculative",
            "--confidence",
            "0.25",
            "--authority",
            "note",
            "--memory-id",
            &scenario.deny_memory,
            "--version",
            "2",
            "--supersedes",
            &scenario.deny,
            "--contradicts",
            &scenario.decision_v2,
            "--evidence",
            "a",
            "--evidence",
            "b",
        ],
        "memory-add.schema.json",
        "record",
    );
    assert_eq!(add["record"]["version"], 2);
    assert_eq!(add["record"]["confidence"], 0.25);
    for kind in ["decision", "preference", "event", "outcome"] {
        check(
            &mk,
            &[
                "memory",
                "add",
                kind,
                "--summary",
                "Something",
                "--writer",
                "w",
                "--justification",
                "j",
                "--source-uri",
                "urn:x",
                "--truth-status",
                "asserted",
                "--authority",
                "derived",
            ],
            "memory-add.schema.json",
            "record",
        );
    }
    check(
        &mk,
        &[
            "memory",
            "link",
            "--from",
            &scenario.decision_v2,
            "--to",
            &scenario.deny,
            "--relation",
            "supersedes",
            "--writer",
            "w",
            "--justification",
            "j",
        ],
        "memory-link.schema.json",
        "link",
    );
    let all = check(
        &mk,
        &["memory", "list"],
        "memory-list.schema.json",
        "records",
    );
    assert_eq!(all["records"].as_array().unwrap().len(), 13);
    let some = check(
        &mk,
        &[
            "memory",
            "list",
            "--record-type",
            "constraint",
            "--limit",
            "2",
        ],
        "memory-list.schema.json",
        "records",
    );
    assert_eq!(some["records"].as_array().unwrap().len(), 2);
    check(
        &mk,
        &["memory", "list", "--memory-id", &scenario.deny_memory],
        "memory-list.schema.json",
        "records",
    );

    check(&mk, &ask_args(), "query-ask.schema.json", "context_package");
    check(
        &mk,
        &recall_args(),
        "query-recall.schema.json",
        "context_package",
    );
    let bounded = check(
        &mk,
        &[
            "query",
            "recall",
            "--text",
            "usb drives audit",
            "--record-type",
            "decision",
            "--record-type",
            "event",
            "--limit",
            "1",
            "--exclusions",
            "summary",
        ],
        "query-recall.schema.json",
        "context_package",
    );
    assert_eq!(bounded["context_package"]["query"]["limit"], 1);
    check(
        &mk,
        &[
            "context",
            "show",
            "--context-package-id",
            &scenario.ask_package_id,
        ],
        "context-show.schema.json",
        "context_package",
    );
}

#[test]
fn maintenance_outputs_match_their_schemas() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let integrity = check(
        &mk,
        &["db", "integrity-check"],
        "db-integrity-check.schema.json",
        "integrity",
    );
    assert_eq!(integrity["integrity"]["quick_check_ok"], true);

    let backup_file = mk.dir().join("backup.sqlite3");
    let backup_path = backup_file.to_str().unwrap();
    let backup = check(
        &mk,
        &["db", "backup", "--out", backup_path],
        "db-backup.schema.json",
        "backup",
    );
    assert!(backup["backup"]["bytes"].as_u64().unwrap() > 0);

    // Restoring into a path that holds no database yet brings the backup back to life.
    let copy = Mk::new();
    check(
        &copy,
        &["db", "restore", "--in", backup_path],
        "db-restore.schema.json",
        "restore",
    );
    let listed = |mk: &Mk| mk.ok(&["memory", "list"])["records"].clone();
    assert_eq!(listed(&copy), listed(&mk));
}

#[test]
fn snapshot_outputs_match_their_schemas() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let key_file = mk.dir().join("sign.key");
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let key = key_file.to_str().unwrap();
    let snapshot = mk.dir().join("snapshot");
    let snapshot = snapshot.to_str().unwrap();
    let export = check(
        &mk,
        &[
            "db",
            "export",
            "--out",
            snapshot,
            "--signing-key-file",
            key,
            "--encrypt-key-file",
            key,
        ],
        "db-export.schema.json",
        "export",
    );
    assert_eq!(export["export"]["records"], 8);
    assert_eq!(export["export"]["signed"], true);

    let copy = Mk::migrated();
    let import = [
        "db",
        "import",
        "--in",
        snapshot,
        "--verify-key-file",
        key,
        "--decrypt-key-file",
        key,
    ];
    let first = check(&copy, &import, "db-import.schema.json", "import");
    assert_eq!(first["import"]["records_imported"], 8);
    let again = check(&copy, &import, "db-import.schema.json", "import");
    assert_eq!(again["import"]["records_skipped"], 8);
    let listed = |mk: &Mk| mk.ok(&["memory", "list"])["records"].clone();
    assert_eq!(listed(&copy), listed(&mk));

    // A signed snapshot is refused without its verify key: the caller can fix that.
    let unverified = copy.run(&["db", "import", "--in", snapshot, "--allow-unsigned"]);
    assert_failure(&unverified, 2, "validation_error");
}

#[test]
fn pretty_output_is_the_same_document() {
    let mk = Mk::migrated();
    let compact = mk.run(&["db", "schema-version"]);
    let pretty = mk.run(&["db", "schema-version", "--pretty"]);
    assert!(
        pretty
            .stdout
            .starts_with("{\n  \"contract_version\": \"cli.v1\",\n")
    );
    assert_eq!(compact.json(), pretty.json());
}

#[test]
fn failures_match_the_error_schema() {
    let mk = Mk::migrated();
    let unknown = "cp_00000000000000000000000000000000";
    assert_failure(
        &mk.run(&["context", "show", "--context-package-id", unknown]),
        1,
        "context_package_not_found",
    );
    assert_failure(&run_raw(&[]), 2, "validation_error");
    assert_failure(&run_raw(&["db", "vacuum"]), 2, "validation_error");
    assert_failure(
        &mk.run(&["memory", "list", "--limit", "many"]),
        2,
        "validation_error",
    );
    assert_failure(
        &mk.run(&[
            "query",
            "ask",
            "--text",
            "t",
            "--actor",
            "*",
            "--action",
            "a",
            "--resource",
            "r",
        ]),
        2,
        "validation_error",
    );
    assert_failure(
        &mk.run(&["query", "recall", "--text", "usb", "--exclusions", "some"]),
        2,
        "validation_error",
    );
}

#[test]
fn error_schema_lists_the_contract_codes_in_canonical_order() {
    let schema = schemas();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
    for code in &codes {
        let error = serde_json::json!({"contract_version": "cli.v1", "code": code, "message": "m"});
        assert!(
            schema.validate("error.schema.json", &error).is_ok(),
            "{code}"
        );
    }
    let path =
        memory_kernel_api::contract_schemas::contracts_dir().join("v1/schemas/error.schema.json");
    let text = std::fs::read_to_string(path).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<&str> = file["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, codes);
}

#[test]
fn help_and_version_print_normally() {
    let help = run_raw(&["memory", "add", "constraint", "--help"]);
    assert_eq!(help.code, Some(0));
    assert!(help.stdout.contains("Example:") && help.stdout.contains("--truth-status"));
    assert!(
        help.stdout.contains("[possible values: asserted, observed"),
        "{}",
        help.stdout
    );
    assert!(help.stderr.is_empty());
    let version = run_raw(&["--version"]);
    assert_eq!(version.code, Some(0));
    assert!(version.stdout.starts_with("mk "));
}
