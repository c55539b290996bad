//! Golden fixtures (`contracts/v1/fixtures/*.golden.json`): the real, pretty-printed output of
//! `mk` over the fixed scenario of `support::seed_scenario`, with generated values normalised.
//! `MK_UPDATE_GOLDEN=1 cargo test -p memory-kernel-cli --test it golden::` rewrites them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use crate::support::{
    self, Mk, SCENARIO_INSTANTS, ask_args, assert_valid, normalise, recall_args, seed_scenario,
};

const REGENERATE: &str = "MK_UPDATE_GOLDEN=1 cargo test -p memory-kernel-cli --test it golden::";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/v1/fixtures")
}

/// Runs every golden command over a freshly seeded scenario; returns (fixture name, normalised
/// pretty output), after checking each raw output against its schema.
fn golden_outputs() -> Vec<(&'static str, String)> {
    let mk = Mk::migrated();
    let scenario = seed_scenario(&mk);
    let show = vec![
        "context",
        "show",
        "--context-package-id",
        scenario.ask_package_id.as_str(),
    ];
    let get = vec![
        "memory",
        "get",
        "--memory-version-id",
        scenario.decision_v2.as_str(),
    ];
    let decision = mk.ok(&get);
    let decision_memory = decision["memory_id"].as_str().unwrap().to_owned();
    let history = vec![
        "memory",
        "history",
        "--memory-id",
        decision_memory.as_str(),
        "--as-of",
        support::AS_OF,
    ];
    let cases = [
        ("db-schema-version", vec!["db", "schema-version"]),
        ("db-integrity-check", vec!["db", "integrity-check"]),
        ("memory-list", vec!["memory", "list"]),
        ("query-ask", ask_args()),
        ("query-recall", recall_args()),
        ("context-show", show),
        ("memory-get", get),
        ("memory-history", history),
        ("context-list", vec!["context", "list"]),
    ];
    cases
        .into_iter()
        .map(|(name, mut args)| {
            args.push("--pretty");
            let run = mk.run(&args);
            assert_eq!(run.code, Some(0), "mk {args:?}: {}", run.stderr);
            assert_valid(&format!("{name}.schema.json"), &run.json());
            (name, normalise(&run.stdout, SCENARIO_INSTANTS))
        })
        .collect()
}

fn first_difference(expected: &str, actual: &str) -> String {
    let line = expected
        .lines()
        .zip(actual.lines())
        .position(|(e, a)| e != a)
        .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    format!(
        "first difference at line {}:\n  expected: {}\n  actual:   {}",
        line + 1,
        expected.lines().nth(line).unwrap_or("<end of file>"),
        actual.lines().nth(line).unwrap_or("<end of file>"),
    )
}

#[test]
fn golden_fixtures_match_the_binary() {
    let update = env::var_os("MK_UPDATE_GOLDEN").is_some_and(|value| value == "1");
    let mut stale = Vec::new();
    for (name, actual) in golden_outputs() {
        let path = fixtures_dir().join(format!("{name}.golden.json"));
        if update {
            fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            stale.push(format!(
                "{}: {}",
                path.display(),
                first_difference(&expected, &actual)
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "golden fixtures differ from the binary's output:\n{}\n\nIf the change is intended, \
         regenerate them with:\n  {REGENERATE}",
        stale.join("\n")
    );
}

#[test]
fn golden_outputs_are_stable_across_databases() {
    assert_eq!(golden_outputs(), golden_outputs());
}

#[test]
fn normalise_numbers_ids_by_first_appearance_and_keeps_fixed_instants() {
    let text = r#"{"a":"01JABCDEFGHJKMNPQRSTVWXYZ0","b":"cp_0123456789abcdef0123456789abcdef","c":"01JABCDEFGHJKMNPQRSTVWXYZ1 then 01JABCDEFGHJKMNPQRSTVWXYZ0","d":"2026-01-01T00:00:00Z","e":"2026-05-05T05:05:05.123456Z"}"#;
    assert_eq!(
        normalise(text, &["2026-01-01T00:00:00Z"]),
        r#"{"a":"<ULID-1>","b":"<CONTEXT_PACKAGE_ID-1>","c":"<ULID-2> then <ULID-1>","d":"2026-01-01T00:00:00Z","e":"<TIMESTAMP>"}"#
    );
}
