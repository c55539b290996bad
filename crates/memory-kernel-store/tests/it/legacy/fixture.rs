//! The original's handbook fixture: where it lives, private copies of its database, and the
//! four queries of its `expected.json` run through core's resolvers.

use std::path::{Path, PathBuf};

use memory_kernel_core::resolver::{ask, recall};
use memory_kernel_core::{AskQuery, RecallQuery, RecordType};
use memory_kernel_store::Store;
use serde_json::Value;

use crate::support::{temp_db, ts};

pub const FIXTURE_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../memory-kernel-cli/tests/fixtures/upstream/upstream-handbook.sqlite3"
);
pub const FIXTURE_EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../memory-kernel-cli/tests/fixtures/upstream/expected.json"
);
pub const FIXTURE_LIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../memory-kernel-cli/tests/fixtures/upstream/outputs/memory-list.json"
);

pub fn read_json(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A private copy of the fixture database (never the fixture itself).
pub fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let (dir, path) = temp_db();
    std::fs::copy(FIXTURE_DB, &path).unwrap();
    (dir, path)
}

/// The bytes of the database once every connection to it is closed.
pub fn bytes_of(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

pub fn ids(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|item| item["memory_version_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs one query of `expected.json` through core's resolvers on the store's candidates;
/// returns (answer.result, selected ids).
pub fn answer(store: &Store, name: &str, query: &Value) -> (String, Vec<String>) {
    let as_of = ts(query["as_of"].as_str().unwrap());
    let text = query["text"].as_str().unwrap();
    let package = if name.starts_with("query-ask") {
        let query = AskQuery::from_triple(
            text,
            query["actor"].as_str().unwrap(),
            query["action"].as_str().unwrap(),
            query["resource"].as_str().unwrap(),
            as_of,
        )
        .unwrap();
        let set = store.ask_candidates(query.scope(), as_of).unwrap();
        ask(&set, &query)
    } else {
        let mut query = RecallQuery::new(text, as_of).unwrap();
        // The original's "typed" recall asked for preferences only (its ordering trace says
        // `record_type in [preference]`); expected.json records the text and instant.
        if name == "query-recall.typed.json" {
            query = query.with_record_types([RecordType::Preference]).unwrap();
        }
        let set = store
            .recall_candidates(query.terms(), query.record_types(), as_of, false)
            .unwrap();
        recall(&set, &query)
    };
    let package = serde_json::to_value(&package).unwrap();
    (
        package["answer"]["result"].as_str().unwrap().to_owned(),
        ids(package["selected_items"].as_array().unwrap()),
    )
}
