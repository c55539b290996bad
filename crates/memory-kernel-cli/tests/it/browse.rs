//! `mk memory list` filters, order and cursors; `mk memory get`; `mk memory history`;
//! `mk context list`: over the fixed scenario, each output against its schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use crate::support::{AS_OF, Mk, assert_failure, assert_valid, seed_scenario};
use serde_json::{Value, json};

fn ids(output: &Value, list: &str, key: &str) -> Vec<String> {
    output[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

/// Every page of `args` (with `--limit` among them), following `next_cursor`.
fn walk(mk: &Mk, args: &[&str], list: &str, key: &str, schema: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut full = args.to_vec();
        if let Some(cursor) = &cursor {
            full.extend(["--cursor", cursor.as_str()]);
        }
        let output = mk.ok(&full);
        assert_valid(schema, &output);
        seen.extend(ids(&output, list, key));
        match output["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

#[test]
fn memory_list_pages_in_both_orders_without_loss_or_repeat() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let all = mk.ok(&["memory", "list"]);
    assert!(
        all.get("next_cursor").is_none(),
        "no --limit: everything, the original's keys"
    );
    let everything = ids(&all, "records", "memory_version_id");
    assert_eq!(everything.len(), 8);

    let schema = "memory-list.schema.json";
    let oldest = walk(
        &mk,
        &["memory", "list", "--limit", "3"],
        "records",
        "memory_version_id",
        schema,
    );
    assert_eq!(oldest, everything);
    let mut newest = walk(
        &mk,
        &["memory", "list", "--order", "newest", "--limit", "3"],
        "records",
        "memory_version_id",
        schema,
    );
    newest.reverse();
    assert_eq!(newest, everything);
    assert_eq!(oldest.iter().collect::<BTreeSet<_>>().len(), 8);

    // A page that ends exactly at the last record says nothing follows.
    let exact = mk.ok(&["memory", "list", "--limit", "8"]);
    assert!(exact.get("next_cursor").is_none());
    let zero = mk.ok(&["memory", "list", "--limit", "0"]);
    assert_eq!(zero["records"], json!([]));
}

#[test]
fn memory_list_filters() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let all = mk.ok(&["memory", "list"])["records"]
        .as_array()
        .unwrap()
        .clone();
    let listed = |args: &[&str]| {
        let mut full = vec!["memory", "list"];
        full.extend_from_slice(args);
        let output = mk.ok(&full);
        assert_valid("memory-list.schema.json", &output);
        ids(&output, "records", "memory_version_id")
    };
    let expected = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        all.iter()
            .filter(|record| keep(record))
            .map(|record| record["memory_version_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let text = |record: &Value, key: &str| record[key].as_str().unwrap().to_owned();
    type Keep<'a> = Box<dyn Fn(&Value) -> bool + 'a>;
    let cases: Vec<(Vec<&str>, Keep<'_>)> = vec![
        (
            vec!["--writer", "ops"],
            Box::new(|r| text(r, "writer") == "ops"),
        ),
        (vec!["--writer", "nobody"], Box::new(|_| false)),
        (
            vec!["--truth-status", "retracted"],
            Box::new(|r| text(r, "truth_status") == "retracted"),
        ),
        (
            vec!["--record-type", "decision", "--writer", "ops"],
            Box::new(|r| r["payload"]["record_type"] == "decision" && text(r, "writer") == "ops"),
        ),
        (
            vec!["--created-before", "2026-01-02T00:00:00Z"],
            Box::new(|r| text(r, "created_at").as_str() < "2026-01-02T00:00:00Z"),
        ),
        (
            vec!["--created-from", "2026-01-02T00:00:00Z"],
            Box::new(|r| text(r, "created_at").as_str() >= "2026-01-02T00:00:00Z"),
        ),
        (
            vec!["--effective-from", AS_OF],
            Box::new(|r| text(r, "effective_at").as_str() >= AS_OF),
        ),
        (
            vec![
                "--effective-before",
                AS_OF,
                "--created-from",
                "2026-01-05T00:00:00Z",
            ],
            Box::new(|r| {
                text(r, "effective_at").as_str() < AS_OF
                    && text(r, "created_at").as_str() >= "2026-01-05T00:00:00Z"
            }),
        ),
    ];
    for (args, keep) in cases {
        let want = expected(keep.as_ref());
        assert_eq!(listed(&args), want, "{args:?}");
    }
    // Every filter above left something out and kept something, except the writer nobody is.
    assert!(!expected(&|r| text(r, "effective_at").as_str() >= AS_OF).is_empty());
    assert_eq!(listed(&["--truth-status", "retracted"]).len(), 1);
}

#[test]
fn bad_cursors_are_refused() {
    let mk = Mk::migrated();
    seed_scenario(&mk);
    let page = mk.ok(&["memory", "list", "--limit", "2"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let run = mk.run(&["memory", "list", "--cursor", cursor, "--order", "newest"]);
    assert!(assert_failure(&run, 1, "validation_error").contains("order"));
    let run = mk.run(&["memory", "list", "--cursor", "not-a-cursor"]);
    assert_failure(&run, 1, "validation_error");
    let run = mk.run(&["context", "list", "--cursor", cursor]);
    assert_failure(&run, 1, "validation_error");
    let run = mk.run(&["context", "list", "--limit", "1001"]);
    assert_failure(&run, 1, "validation_error");
    let run = mk.run(&["memory", "list", "--order", "sideways"]);
    assert_failure(&run, 2, "validation_error");
}

#[test]
fn memory_get_prints_one_record_or_memory_not_found() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    let record = mk.ok(&["memory", "get", "--memory-version-id", &scenario.deny]);
    assert_valid("memory-get.schema.json", &record);
    assert_eq!(record["memory_version_id"], json!(scenario.deny));
    assert_eq!(record["memory_id"], json!(scenario.deny_memory));
    let run = mk.run(&[
        "memory",
        "get",
        "--memory-version-id",
        "01J00000000000000000000000",
    ]);
    assert_failure(&run, 1, "memory_not_found");
    let run = mk.run(&["memory", "get", "--memory-version-id", "nope"]);
    assert_failure(&run, 2, "validation_error");
}

#[test]
fn memory_history_of_a_superseded_decision() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    let v2 = mk.ok(&[
        "memory",
        "get",
        "--memory-version-id",
        &scenario.decision_v2,
    ]);
    let memory_id = v2["memory_id"].as_str().unwrap();
    let history = mk.ok(&[
        "memory",
        "history",
        "--memory-id",
        memory_id,
        "--as-of",
        AS_OF,
    ]);
    assert_valid("memory-history.schema.json", &history);
    assert_eq!(history["as_of"], AS_OF);
    assert_eq!(
        history["current_memory_version_id"],
        json!(scenario.decision_v2)
    );
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    let v1 = versions[0]["record"]["memory_version_id"].clone();
    assert_eq!(
        versions[0]["lineage_in"][0]["memory_version_id"],
        json!(scenario.decision_v2)
    );
    assert_eq!(versions[0]["lineage_in"][0]["relation"], "supersedes");
    assert_eq!(versions[1]["lineage_out"][0]["memory_version_id"], v1);
    // The preference contradicts the new decision through a link.
    assert!(
        versions[1]["lineage_in"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["relation"] == "contradicts")
    );
    // Before the second version existed, the first was current.
    let created_v2 = v2["created_at"].as_str().unwrap();
    let earlier = mk.ok(&[
        "memory",
        "history",
        "--memory-id",
        memory_id,
        "--as-of",
        "2026-01-04T12:00:00Z",
    ]);
    assert!(created_v2 > "2026-01-04T12:00:00Z");
    assert_eq!(earlier["current_memory_version_id"], v1);

    let run = mk.run(&[
        "memory",
        "history",
        "--memory-id",
        "01J00000000000000000000000",
    ]);
    assert_failure(&run, 1, "memory_not_found");
    let run = mk.run(&[
        "memory",
        "history",
        "--memory-id",
        memory_id,
        "--as-of",
        "soon",
    ]);
    assert_failure(&run, 1, "validation_error");
}

#[test]
fn context_list_pages_the_stored_packages() {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    mk.ok(&["query", "recall", "--text", "backups"]);
    let schema = "context-list.schema.json";
    let listed = walk(
        &mk,
        &["context", "list", "--limit", "1"],
        "context_packages",
        "context_package_id",
        schema,
    );
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], scenario.ask_package_id);
    let mut newest = walk(
        &mk,
        &["context", "list", "--order", "newest", "--limit", "1"],
        "context_packages",
        "context_package_id",
        schema,
    );
    newest.reverse();
    assert_eq!(newest, listed);
    let page = mk.ok(&["context", "list"]);
    assert_eq!(page["context_packages"][0]["kind"], "ask");
    assert_eq!(page["context_packages"][1]["kind"], "recall");
}
