//! Every command's output validates against its schema in `contracts/v1/schemas/`, and every
//! failure against `error.schema.json`; each output is one flat JSON object on one line whose
//! last key is `contract_version`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{
    Mk, ask_args, assert_failure, assert_valid, recall_args, run_raw, schemas, seed_scenario,
};
use memory_kernel_api::ErrorCode;
use serde_json::Value;

/// Asserts the compact output is one line ending with `"contract_version":"cli.v1"}`, and
/// that `contract_version` appears once (no wrapper object repeats it).
fn assert_flat(stdout: &str) {
    assert!(stdout.starts_with('{'), "{stdout}");
    assert!(
        stdout.ends_with(",\"contract_version\":\"cli.v1\"}\n") && stdout.lines().count() == 1,
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("\"contract_version\"").count(),
        1,
        "{stdout}"
    );
}

fn check(mk: &Mk, args: &[&str], schema: &str) -> Value {
    let run = mk.run(args);
    assert_eq!(run.code, Some(0), "mk {args:?}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_flat(&run.stdout);
    let value = run.json();
    assert_valid(schema, &value);
    // Strict like the original's schemas: an unknown top-level key is refused.
    let mut extended = value.clone();
    extended
        .as_object_mut()
        .unwrap()
        .insert("unknown_key".to_owned(), Value::Bool(true));
    assert!(
        schemas().validate(schema, &extended).is_err(),
        "{schema} accepts an unknown top-level key"
    );
    value
}

#[test]
fn every_command_output_matches_its_schema() {
    let mk = Mk::new();
    check(&mk, &["db", "migrate"], "db-migrate.schema.json");
    check(
        &mk,
        &["db", "migrate", "--dry-run"],
        "db-migrate.schema.json",
    );
    check(
        &mk,
        &["db", "schema-version"],
        "db-schema-version.schema.json",
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
    );
    assert_eq!(add["version"], 2);
    assert_eq!(add["confidence"], 0.25);
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
    );
    let all = check(&mk, &["memory", "list"], "memory-list.schema.json");
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
    );
    assert_eq!(some["records"].as_array().unwrap().len(), 2);
    check(
        &mk,
        &["memory", "list", "--memory-id", &scenario.deny_memory],
        "memory-list.schema.json",
    );

    check(&mk, &ask_args(), "query-ask.schema.json");
    check(&mk, &recall_args(), "query-recall.schema.json");
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
    );
    assert_eq!(bounded["query"]["limit"], 1);
    check(
        &mk,
        &[
            "context",
            "show",
            "--context-package-id",
            &scenario.ask_package_id,
        ],
        "context-show.schema.json",
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
    );
    assert_eq!(integrity["quick_check_ok"], true);

    let backup_file = mk.dir().join("backup.sqlite3");
    let backup_path = backup_file.to_str().unwrap();
    let backup = check(
        &mk,
        &["db", "backup", "--out", backup_path],
        "db-backup.schema.json",
    );
    assert_eq!(backup["backup_path"], backup_path);
    assert_eq!(backup["status"], "ok");
    assert!(std::fs::metadata(&backup_file).unwrap().len() > 0);

    // Restoring into a path that holds no database yet brings the backup back to life.
    let copy = Mk::new();
    let restore = check(
        &copy,
        &["db", "restore", "--in", backup_path],
        "db-restore.schema.json",
    );
    assert_eq!(restore["restored_from"], backup_path);
    assert_eq!(restore["pending_versions"], serde_json::json!([]));
    assert_eq!(restore["current_version"], restore["target_version"]);
    let listed = |mk: &Mk| mk.ok(&["memory", "list"])["records"].clone();
    assert_eq!(listed(&copy), listed(&mk));
}

#[test]
fn pruning_packages_keeps_the_records() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    let records = mk.ok(&["memory", "list"]);
    let show = [
        "context",
        "show",
        "--context-package-id",
        &scenario.ask_package_id,
    ];
    mk.ok(&show);
    let pruned = check(
        &mk,
        &["db", "prune-packages", "--before", "2200-01-01T00:00:00Z"],
        "db-prune-packages.schema.json",
    );
    assert!(pruned["pruned_packages"].as_u64().unwrap() >= 1);
    assert_eq!(pruned["remaining_packages"], 0);
    let gone = mk.run(&show);
    assert_eq!(gone.code, Some(1), "{}", gone.stderr);
    assert!(
        gone.stderr.contains("context_package_not_found"),
        "{}",
        gone.stderr
    );
    assert_eq!(mk.ok(&["memory", "list"]), records);
    let bad = mk.run(&["db", "prune-packages", "--before", "yesterday"]);
    assert_eq!(bad.code, Some(1), "{}", bad.stderr);
    assert!(bad.stderr.contains("validation_error"), "{}", bad.stderr);
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
    );
    assert_eq!(export["out_dir"], snapshot);
    // The manifest printed is the one written into the folder (and signed there).
    let written = std::fs::read_to_string(mk.dir().join("snapshot/manifest.json")).unwrap();
    assert_eq!(
        export["manifest"],
        serde_json::from_str::<Value>(&written).unwrap()
    );
    assert!(mk.dir().join("snapshot/manifest.sig").is_file());

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
    let first = check(&copy, &import, "db-import.schema.json");
    assert_eq!(first["in_dir"], snapshot);
    assert_eq!(first["skip_existing"], true);
    assert_eq!(first["summary"]["imported_records"], 8);
    assert_eq!(first["summary"]["imported_context_packages"], 1);
    assert_eq!(first["summary"]["imported_links"], 1);
    let again = check(&copy, &import, "db-import.schema.json");
    assert_eq!(again["summary"]["imported_records"], 0);
    assert_eq!(again["summary"]["skipped_existing_records"], 8);
    assert_eq!(again["summary"]["skipped_existing_context_packages"], 1);
    let listed = |mk: &Mk| mk.ok(&["memory", "list"])["records"].clone();
    assert_eq!(listed(&copy), listed(&mk));

    // A signed snapshot is refused without its verify key: a refused command exits 1.
    let unverified = copy.run(&["db", "import", "--in", snapshot, "--allow-unsigned"]);
    assert_failure(&unverified, 1, "validation_error");
}

#[test]
fn pretty_output_is_the_same_document() {
    let mk = Mk::migrated();
    let compact = mk.run(&["db", "schema-version"]);
    let pretty = mk.run(&["db", "schema-version", "--pretty"]);
    assert!(pretty.stdout.starts_with("{\n  \"current_version\": "));
    assert!(
        pretty
            .stdout
            .ends_with(",\n  \"contract_version\": \"cli.v1\"\n}\n"),
        "{}",
        pretty.stdout
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
        // Parsed fine, refused by the kernel: a failed command, not a usage error.
        1,
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
    let path = memory_kernel_testkit::contracts_dir().join("v1/schemas/error.schema.json");
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
    // Each command's help names the keys it prints.
    for (args, keys) in [
        (vec!["db", "backup", "--help"], "backup_path"),
        (vec!["db", "migrate", "--help"], "would_apply_versions"),
        (vec!["memory", "link", "--help"], "from_memory_version_id"),
        (vec!["query", "ask", "--help"], "selected_items"),
    ] {
        let help = run_raw(&args);
        assert!(
            help.stdout.contains("Prints") && help.stdout.contains(keys),
            "{args:?}:\n{}",
            help.stdout
        );
    }
    let version = run_raw(&["--version"]);
    assert_eq!(version.code, Some(0));
    assert!(version.stdout.starts_with("mk "));
}
