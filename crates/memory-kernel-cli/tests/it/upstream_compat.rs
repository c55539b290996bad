//! Drop-in compatibility of the output shapes with the original `mk` (`cli.v1`): every
//! command, run over a fresh database, prints exactly the top-level keys, in the same order,
//! that the original printed for it (`tests/fixtures/upstream/outputs/*.json`, real outputs of
//! the original binaries), `contract_version` last, and validates against its schema.
//!
//! The records are the original handbook's own (same types, scopes, texts, instants), added
//! through our `memory add`, so each command runs on data of the same kind as the fixture it is
//! compared with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{AS_OF, Mk, ask_args, assert_valid, top_level_keys};
use serde_json::Value;

/// The original's output for one command.
fn upstream(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/outputs")
        .join(format!("{name}.json"));
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The original printed no `db import` output into the fixtures; its keys, as its source
/// wrote them, are these.
const UPSTREAM_IMPORT_KEYS: [&str; 4] = ["in_dir", "skip_existing", "summary", "contract_version"];
/// The counts the original's import summary held.
const UPSTREAM_IMPORT_SUMMARY_KEYS: [&str; 4] = [
    "imported_records",
    "skipped_existing_records",
    "imported_context_packages",
    "skipped_existing_context_packages",
];

/// Runs `args`, checks success, the schema and the top-level keys against the original's
/// output `fixture`; returns the parsed output.
fn same_shape(mk: &Mk, args: &[&str], schema: &str, fixture: &str) -> Value {
    let run = mk.run(args);
    assert_eq!(run.code, Some(0), "mk {args:?}: {}", run.stderr);
    let ours = top_level_keys(&run.stdout);
    let theirs = top_level_keys(&upstream(fixture));
    assert_eq!(
        ours, theirs,
        "mk {args:?}: top-level keys differ from the original's {fixture}.json"
    );
    assert_eq!(ours.last().map(String::as_str), Some("contract_version"));
    let value = run.json();
    assert_valid(schema, &value);
    value
}

/// `memory add <kind>` with the flags given and the handbook's usual provenance.
fn add_args<'a>(kind: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["memory", "add", kind];
    args.extend_from_slice(flags);
    args
}

#[test]
fn every_command_prints_the_original_top_level_keys() {
    let mk = Mk::new();
    // A fresh file: the original created it; ours reads an existing empty file the same way.
    fs::write(mk.db(), b"").unwrap();
    same_shape(
        &mk,
        &["db", "schema-version"],
        "db-schema-version.schema.json",
        "db-schema-version.fresh",
    );
    let plan = same_shape(
        &mk,
        &["db", "migrate", "--dry-run"],
        "db-migrate.schema.json",
        "db-migrate.dry-run",
    );
    assert_eq!(plan["dry_run"], true);
    let migrated = same_shape(
        &mk,
        &["db", "migrate"],
        "db-migrate.schema.json",
        "db-migrate",
    );
    assert_eq!(migrated["dry_run"], false);
    assert_eq!(migrated["applied_versions"], plan["would_apply_versions"]);
    same_shape(
        &mk,
        &["db", "schema-version"],
        "db-schema-version.schema.json",
        "db-schema-version",
    );

    let constraint = same_shape(
        &mk,
        &add_args(
            "constraint",
            &[
                "--actor",
                "user",
                "--action",
                "use",
                "--resource",
                "usb_drive",
                "--effect",
                "deny",
                "--writer",
                "security-team",
                "--justification",
                "policy handbook 4.2",
                "--source-uri",
                "file:///policy/handbook.md",
                "--truth-status",
                "asserted",
                "--authority",
                "authoritative",
                "--confidence",
                "0.9",
                "--created-at",
                "2026-01-05T09:00:00Z",
            ],
        ),
        "memory-add.schema.json",
        "memory-add.constraint",
    );
    // The payload nests like the original's: {record_type, payload: {scope, effect, note}}.
    let original: Value = serde_json::from_str(&upstream("memory-add.constraint")).unwrap();
    assert_eq!(constraint["payload"], original["payload"]);
    same_shape(
        &mk,
        &add_args(
            "decision",
            &[
                "--summary",
                "Use Postgres for the billing service",
                "--writer",
                "security-team",
                "--justification",
                "policy handbook 4.2",
                "--source-uri",
                "file:///policy/handbook.md",
                "--evidence",
                "file:///adr/0007.md",
                "--truth-status",
                "asserted",
                "--authority",
                "authoritative",
                "--confidence",
                "0.8",
                "--created-at",
                "2026-01-10T12:00:00Z",
            ],
        ),
        "memory-add.schema.json",
        "memory-add.decision",
    );
    let event = same_shape(
        &mk,
        &add_args(
            "event",
            &[
                "--summary",
                "Billing outage on 2026-01-14",
                "--writer",
                "oncall",
                "--justification",
                "pager",
                "--source-uri",
                "file:///incidents/42",
                "--truth-status",
                "observed",
                "--authority",
                "authoritative",
                "--created-at",
                "2026-01-14T03:00:00Z",
            ],
        ),
        "memory-add.schema.json",
        "memory-add.event",
    );
    for (summary, created_at) in [
        (
            "The team prefers small pull requests",
            "2026-01-13T15:00:00Z",
        ),
        (
            "The team prefers large pull requests",
            "2026-01-16T09:00:00Z",
        ),
    ] {
        mk.ok(&add_args(
            "preference",
            &[
                "--summary",
                summary,
                "--writer",
                "eng-lead",
                "--justification",
                "retro",
                "--source-uri",
                "file:///retro/2026-01.md",
                "--truth-status",
                "inferred",
                "--confidence",
                "0.6",
                "--authority",
                "note",
                "--created-at",
                created_at,
            ],
        ));
    }
    let link = same_shape(
        &mk,
        &[
            "memory",
            "link",
            "--from",
            event["memory_version_id"].as_str().unwrap(),
            "--to",
            constraint["memory_version_id"].as_str().unwrap(),
            "--relation",
            "contradicts",
            "--writer",
            "auditor",
            "--justification",
            "incident used a usb drive",
        ],
        "memory-link.schema.json",
        "memory-link",
    );
    assert_eq!(link["from_memory_version_id"], event["memory_version_id"]);
    assert_eq!(link["relation"], "contradicts");

    let list = same_shape(
        &mk,
        &["memory", "list"],
        "memory-list.schema.json",
        "memory-list",
    );
    let original: Value = serde_json::from_str(&upstream("memory-list")).unwrap();
    let record_keys =
        |record: &Value| -> Vec<String> { top_level_keys(&serde_json::to_string(record).unwrap()) };
    let original_record_keys = record_keys(&original["records"][0]);
    for record in list["records"].as_array().unwrap() {
        assert_eq!(record_keys(record), original_record_keys, "{record}");
    }

    // The scenario's policy question is the handbook's USB question.
    let ask_usb = ask_args();
    let asked = same_shape(&mk, &ask_usb, "query-ask.schema.json", "query-ask");
    assert_eq!(asked["answer"]["result"], "deny");
    same_shape(
        &mk,
        &[
            "query",
            "ask",
            "--text",
            "Can contractors read payroll?",
            "--actor",
            "contractor",
            "--action",
            "read",
            "--resource",
            "payroll",
            "--as-of",
            AS_OF,
        ],
        "query-ask.schema.json",
        "query-ask.contractor",
    );
    same_shape(
        &mk,
        &[
            "query",
            "recall",
            "--text",
            "billing service database",
            "--as-of",
            AS_OF,
        ],
        "query-recall.schema.json",
        "query-recall",
    );
    same_shape(
        &mk,
        &[
            "query",
            "recall",
            "--text",
            "pull requests",
            "--record-type",
            "preference",
            "--as-of",
            AS_OF,
        ],
        "query-recall.schema.json",
        "query-recall.typed",
    );
    let shown = same_shape(
        &mk,
        &[
            "context",
            "show",
            "--context-package-id",
            asked["context_package_id"].as_str().unwrap(),
        ],
        "context-show.schema.json",
        "context-show",
    );
    assert_eq!(shown, asked);

    same_shape(
        &mk,
        &["db", "integrity-check"],
        "db-integrity-check.schema.json",
        "db-integrity-check",
    );

    let out: PathBuf = mk.dir().join("export");
    let out = out.to_str().unwrap();
    let export = same_shape(
        &mk,
        &["db", "export", "--out", out],
        "db-export.schema.json",
        "db-export",
    );
    assert_eq!(export["out_dir"], out);

    let copy = Mk::migrated();
    let run = copy.run(&["db", "import", "--in", out, "--allow-unsigned"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(top_level_keys(&run.stdout), UPSTREAM_IMPORT_KEYS);
    let import = run.json();
    assert_valid("db-import.schema.json", &import);
    let summary_keys = top_level_keys(&serde_json::to_string(&import["summary"]).unwrap());
    for key in UPSTREAM_IMPORT_SUMMARY_KEYS {
        assert!(summary_keys.iter().any(|k| k == key), "{key}: {import}");
    }
    assert_eq!(import["summary"]["imported_records"], 5);

    let backup: PathBuf = mk.dir().join("backup.sqlite3");
    let backup = backup.to_str().unwrap();
    same_shape(
        &mk,
        &["db", "backup", "--out", backup],
        "db-backup.schema.json",
        "db-backup",
    );
    let restored = Mk::new();
    same_shape(
        &restored,
        &["db", "restore", "--in", backup],
        "db-restore.schema.json",
        "db-restore",
    );
    assert_eq!(restored.ok(&["memory", "list"])["records"], list["records"]);
}

/// A copy of the original's handbook database in a fresh folder.
fn handbook() -> Mk {
    let mk = Mk::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/upstream/upstream-handbook.sqlite3");
    fs::copy(&fixture, mk.db()).unwrap();
    mk
}

fn expected() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream/expected.json");
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn selected_ids(package: &Value) -> Vec<String> {
    package["selected_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["memory_version_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_original_database_is_carried_whole_and_answers_as_it_did() {
    let mk = handbook();
    let before = fs::read(mk.db()).unwrap();
    let status = same_shape(
        &mk,
        &["db", "schema-version"],
        "db-schema-version.schema.json",
        "db-schema-version",
    );
    assert_eq!(status["inferred_from_legacy"], true);
    let plan = mk.run(&["db", "migrate", "--dry-run"]);
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    assert!(plan.stderr.contains("10 records"), "{}", plan.stderr);
    assert!(plan.stderr.contains("db backup --out"), "{}", plan.stderr);
    assert_eq!(
        fs::read(mk.db()).unwrap(),
        before,
        "reading the status and the plan leaves the file byte-identical"
    );

    same_shape(
        &mk,
        &["db", "migrate"],
        "db-migrate.schema.json",
        "db-migrate",
    );
    let expected = expected();
    let listed = same_shape(
        &mk,
        &["memory", "list"],
        "memory-list.schema.json",
        "memory-list",
    );
    assert_eq!(
        listed["records"].as_array().unwrap().len() as u64,
        expected["memory_records"].as_u64().unwrap()
    );

    let answers = expected["answers_as_computed_by_upstream"]
        .as_object()
        .unwrap();
    for (fixture, answer) in answers {
        let query = &answer["query"];
        let text = query["text"].as_str().unwrap();
        let as_of = query["as_of"].as_str().unwrap();
        let name = fixture.trim_end_matches(".json");
        let package = if name.starts_with("query-ask") {
            let package = same_shape(
                &mk,
                &[
                    "query",
                    "ask",
                    "--text",
                    text,
                    "--actor",
                    query["actor"].as_str().unwrap(),
                    "--action",
                    query["action"].as_str().unwrap(),
                    "--resource",
                    query["resource"].as_str().unwrap(),
                    "--as-of",
                    as_of,
                ],
                "query-ask.schema.json",
                name,
            );
            assert_eq!(package["answer"]["result"], answer["result"], "{fixture}");
            package
        } else {
            same_shape(
                &mk,
                &["query", "recall", "--text", text, "--as-of", as_of],
                "query-recall.schema.json",
                name,
            )
        };
        let expected_ids: Vec<String> = answer["selected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(selected_ids(&package), expected_ids, "{fixture}");
    }

    // A package the original stored is shown as it stored it.
    let original = upstream("context-show");
    let id = serde_json::from_str::<Value>(&original).unwrap()["context_package_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = same_shape(
        &mk,
        &["context", "show", "--context-package-id", &id],
        "context-show.schema.json",
        "context-show",
    );
    assert_eq!(shown["context_package_id"], id.as_str());
}
