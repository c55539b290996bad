//! Which commands may create or change the database file. The reading commands
//! (`db schema-version`, `db migrate --dry-run`, `db integrity-check`, `memory list`,
//! `context show`) never create a file and leave an existing one byte-identical; the writing
//! commands (`memory add`, `memory link`, `query ask`, `query recall`) initialise a missing
//! file (create and migrate), as the original `mk` did, but refuse an existing file that
//! needs migrating without touching it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{AS_OF, Mk, assert_failure, assert_valid, db_state, seed_scenario};

/// The reading commands, with the package id `context show` asks for.
fn reading_commands(package_id: &str) -> Vec<Vec<String>> {
    [
        vec!["db", "schema-version"],
        vec!["db", "migrate", "--dry-run"],
        vec!["db", "integrity-check"],
        vec!["memory", "list"],
        vec!["context", "show", "--context-package-id", package_id],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(String::from).collect())
    .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

const NO_PACKAGE: &str = "cp_00000000000000000000000000000000";

#[test]
fn reading_commands_on_a_missing_path_create_nothing() {
    for args in reading_commands(NO_PACKAGE) {
        let mk = Mk::new();
        let message = assert_failure(&mk.run(&strs(&args)), 1, "schema_unavailable");
        assert!(message.contains("does not exist"), "{args:?}: {message}");
        assert!(!mk.db().exists(), "{args:?} created the database");
        assert_eq!(
            std::fs::read_dir(mk.dir()).unwrap().count(),
            0,
            "{args:?} left a file behind"
        );
    }
}

#[test]
fn data_commands_on_a_missing_path_name_the_migrate_command() {
    let mk = Mk::new();
    let message = assert_failure(&mk.run(&["memory", "list"]), 1, "schema_unavailable");
    assert!(message.contains("db migrate"), "{message}");
}

#[test]
fn reading_commands_leave_a_seeded_database_byte_identical() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    let before = db_state(mk.db());
    for args in reading_commands(&scenario.ask_package_id) {
        mk.ok(&strs(&args));
        assert!(db_state(mk.db()) == before, "{args:?} changed the database");
    }
    // A lookup that fails changes nothing either.
    assert_failure(
        &mk.run(&["context", "show", "--context-package-id", NO_PACKAGE]),
        1,
        "context_package_not_found",
    );
    assert!(db_state(mk.db()) == before);
}

#[test]
fn an_unmigrated_file_is_reported_and_left_byte_identical() {
    let mk = Mk::new();
    std::fs::write(mk.db(), b"").unwrap();
    let before = db_state(mk.db());
    let status = mk.ok(&["db", "schema-version"]);
    assert_valid("db-schema-version.schema.json", &status);
    assert_eq!(status["up_to_date"], false);
    let plan = mk.ok(&["db", "migrate", "--dry-run"]);
    assert_valid("db-migrate.schema.json", &plan);
    assert_eq!(plan["dry_run"], true);
    assert!(db_state(mk.db()) == before);

    // Commands that need a current schema refuse it before opening it for writing: reading
    // ones and writing ones alike (only a missing file is initialised).
    let refused: [&[&str]; 4] = [
        &["db", "integrity-check"],
        &["memory", "list"],
        &["context", "show", "--context-package-id", NO_PACKAGE],
        &["query", "recall", "--text", "usb", "--as-of", AS_OF],
    ];
    for args in refused {
        let message = assert_failure(&mk.run(args), 1, "schema_unavailable");
        assert!(message.contains("db migrate"), "{args:?}: {message}");
        assert!(db_state(mk.db()) == before, "{args:?} changed the file");
    }
}

#[test]
fn schema_version_leaves_a_migrated_file_byte_identical() {
    let mk = Mk::migrated();
    let before = db_state(mk.db());
    let status = mk.ok(&["db", "schema-version"]);
    assert_eq!(status["up_to_date"], true);
    mk.ok(&["db", "migrate", "--dry-run"]);
    assert!(db_state(mk.db()) == before);
}

/// The database of `mk` is current after a writing command created it.
fn assert_initialised(mk: &Mk) {
    let status = mk.ok(&["db", "schema-version"]);
    assert_eq!(status["up_to_date"], true, "{status}");
}

#[test]
fn memory_add_initialises_a_missing_database() {
    let mk = Mk::new();
    let added = mk.ok(&[
        "memory",
        "add",
        "event",
        "--summary",
        "First record of a new file",
        "--writer",
        "ops",
        "--justification",
        "bootstrap",
        "--source-uri",
        "file:///log",
        "--truth-status",
        "observed",
        "--authority",
        "derived",
    ]);
    assert_valid("memory-add.schema.json", &added);
    assert_initialised(&mk);
    let listed = mk.ok(&["memory", "list"]);
    assert_eq!(listed["records"][0], {
        let mut record = added.clone();
        record.as_object_mut().unwrap().remove("contract_version");
        record
    });
}

#[test]
fn query_ask_and_recall_initialise_a_missing_database() {
    let ask = Mk::new();
    let asked = ask.ok(&[
        "query",
        "ask",
        "--text",
        "May I?",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
        "--as-of",
        AS_OF,
    ]);
    assert_valid("query-ask.schema.json", &asked);
    assert_eq!(asked["answer"]["result"], "inconclusive");
    assert_initialised(&ask);
    // The package was stored in the new file.
    let id = asked["context_package_id"].as_str().unwrap();
    assert_eq!(
        ask.ok(&["context", "show", "--context-package-id", id]),
        asked
    );

    let recall = Mk::new();
    let recalled = recall.ok(&["query", "recall", "--text", "usb drives", "--as-of", AS_OF]);
    assert_valid("query-recall.schema.json", &recalled);
    assert_eq!(recalled["selected_items"], serde_json::json!([]));
    assert_initialised(&recall);
}

#[test]
fn memory_link_initialises_a_missing_database_before_checking_its_ends() {
    let mk = Mk::new();
    let unknown = "01J00000000000000000000000";
    let message = assert_failure(
        &mk.run(&[
            "memory",
            "link",
            "--from",
            unknown,
            "--to",
            "01J00000000000000000000001",
            "--relation",
            "supersedes",
            "--writer",
            "w",
            "--justification",
            "j",
        ]),
        1,
        "validation_error",
    );
    assert!(message.contains(unknown), "{message}");
    assert_initialised(&mk);
    assert_eq!(mk.ok(&["memory", "list"])["records"], serde_json::json!([]));
}

/// On PostgreSQL a writing command sets up a database that holds none of the store's tables,
/// as it creates a missing file, and refuses one with an older schema instead of migrating a
/// database other processes serve.
#[test]
fn a_writing_command_sets_up_an_empty_postgresql_database_and_migrates_no_other() {
    let Some(db) = memory_kernel_testkit::postgres::TempDatabase::create(
        "a_writing_command_sets_up_an_empty_postgresql_database_and_migrates_no_other",
    ) else {
        return;
    };
    let add = |summary: &str| {
        crate::support::run_raw(&[
            "--db",
            &db.url,
            "memory",
            "add",
            "event",
            "--summary",
            summary,
            "--writer",
            "ops",
            "--justification",
            "bootstrap",
            "--source-uri",
            "file:///log",
            "--truth-status",
            "observed",
            "--authority",
            "derived",
        ])
    };
    let first = add("First record of a new database");
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    // An older build's layout: the newest migration's record is taken away.
    db.client()
        .batch_execute(
            "ALTER TABLE mk_schema_migrations DISABLE TRIGGER USER;
             DELETE FROM mk_schema_migrations
              WHERE version = (SELECT max(version) FROM mk_schema_migrations);
             ALTER TABLE mk_schema_migrations ENABLE TRIGGER USER;",
        )
        .unwrap();
    let applied = || -> i64 {
        db.client()
            .query_one("SELECT count(*) FROM mk_schema_migrations", &[])
            .unwrap()
            .get(0)
    };
    let before = applied();
    let refused = add("Second record");
    let message = assert_failure(&refused, 1, "schema_unavailable");
    assert!(message.contains("db migrate"), "{message}");
    assert_eq!(applied(), before, "the database was migrated");
}
