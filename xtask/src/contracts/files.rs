//! The contract schema and fixture rules of `cargo xtask contracts`.
//!
//! Schemas: every JSON file in a `schemas/` folder under `contracts/`. Fixtures:
//! `contracts/integration/v1/fixtures/<name>.sample.json` is checked against
//! `contracts/integration/v1/schemas/<name>.schema.json`. The CLI's golden files
//! (`contracts/v1/fixtures/*.golden.json`) are not schema-checked here: they hold placeholders
//! such as `<ULID-1>` where the real output has ids, so they cannot validate as they are; the
//! CLI's own tests validate its real output against those schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::findings::Findings;
use crate::pack::PACK_DIR;
use crate::schemas::ContractSchemas;

/// The meta-schema every contract schema declares.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
/// The `$id` prefix of the integration pack's schemas (docs/spec/integration-contract.md).
pub const PACK_ID_PREFIX: &str = "https://memorykernel.dev/contracts/integration/v1/";

/// Checks every schema and every integration-pack fixture under `root` (`schemas` being
/// the contract schemas loaded from it).
///
/// # Errors
/// When a fixture cannot be read.
pub fn check(root: &Path, schemas: &ContractSchemas) -> Result<Findings> {
    let mut findings = Findings::new();
    check_schemas(schemas, &mut findings);
    check_fixtures(root, schemas, &mut findings)?;
    Ok(findings)
}

fn check_schemas(schemas: &ContractSchemas, findings: &mut Findings) {
    let meta = jsonschema::draft202012::meta::validator();
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    for file in &schemas.files {
        let path = &file.path;
        let document = match &file.document {
            Ok(document) => document,
            Err(error) => {
                findings.problem(format!("{path} is not JSON: {error}"));
                continue;
            }
        };
        if document.get("$schema").and_then(Value::as_str) != Some(DRAFT_2020_12) {
            findings.problem(format!(
                "{path}: `$schema` must be \"{DRAFT_2020_12}\" (every contract schema is JSON \
                 Schema 2020-12)"
            ));
        }
        let meta_errors: Vec<String> = meta
            .iter_errors(document)
            .map(|error| {
                format!(
                    "at {}: {error}",
                    pointer_or_root(&error.instance_path().to_string())
                )
            })
            .collect();
        if !meta_errors.is_empty() {
            findings.problem(format!(
                "{path} is not a valid JSON Schema 2020-12:\n  {}",
                meta_errors.join("\n  ")
            ));
        }
        match document.get("$id") {
            None => findings.problem(format!(
                "{path} has no `$id`: add one (integration pack: \"{PACK_ID_PREFIX}<file>\")"
            )),
            Some(id) if file.id().is_none() => findings.problem(format!(
                "{path}: `$id` must be a non-empty string, found {id}"
            )),
            Some(_) => {}
        }
        if let Some(id) = file.id() {
            if let Some(first) = owners.get(id) {
                findings.problem(format!(
                    "{path}: `$id` {id} is already the `$id` of {first}; every schema needs its \
                     own"
                ));
            } else {
                owners.insert(id.to_owned(), path.clone());
            }
            if path.starts_with(&format!("{PACK_DIR}/schemas/")) {
                let wanted = format!("{PACK_ID_PREFIX}{}", file.file_name());
                if id != wanted {
                    findings.problem(format!(
                        "{path}: `$id` is {id}, docs/spec/integration-contract.md wants {wanted}"
                    ));
                }
            }
        }
        let mut empty = Vec::new();
        empty_keys(document, "", &mut empty);
        for at in empty {
            findings.problem(format!(
                "{path} has an empty key at {}",
                pointer_or_root(&at)
            ));
        }
        if meta_errors.is_empty()
            && file.id().is_some()
            && let Err(error) = schemas.validator(path)
        {
            findings.problem(format!("{error:#}"));
        }
    }
}

fn check_fixtures(root: &Path, schemas: &ContractSchemas, findings: &mut Findings) -> Result<()> {
    let fixtures_dir = format!("{PACK_DIR}/fixtures");
    let mut sampled = BTreeSet::new();
    let mut names: Vec<String> = Vec::new();
    if root.join(&fixtures_dir).is_dir() {
        for entry in fs::read_dir(root.join(&fixtures_dir))
            .with_context(|| format!("cannot list {fixtures_dir}"))?
        {
            let entry = entry.with_context(|| format!("cannot list {fixtures_dir}"))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    for name in names {
        let fixture = format!("{fixtures_dir}/{name}");
        let Some(stem) = name.strip_suffix(".sample.json") else {
            findings.problem(format!(
                "{fixture}: fixtures are named <schema>.sample.json after their schema"
            ));
            continue;
        };
        let schema = format!("{PACK_DIR}/schemas/{stem}.schema.json");
        if schemas.get(&schema).is_none() {
            findings.problem(format!("{fixture} has no schema: {schema} does not exist"));
            continue;
        }
        sampled.insert(schema.clone());
        let text = fs::read_to_string(root.join(&fixture))
            .with_context(|| format!("cannot read {fixture}"))?;
        let instance: Value = match serde_json::from_str(&text) {
            Ok(instance) => instance,
            Err(error) => {
                findings.problem(format!("{fixture} is not JSON: {error}"));
                continue;
            }
        };
        match schemas.violations(&schema, &instance) {
            Ok(violations) if violations.is_empty() => {}
            Ok(violations) => findings.problem(format!(
                "{fixture} does not validate against {schema}:\n  {}",
                violations.join("\n  ")
            )),
            // The schema's own problem is reported by the schema rules.
            Err(_) => {}
        }
    }
    // Every pack schema is exercised by a sample: its own, or one of a schema that `$ref`s it.
    let pack_schemas: Vec<_> = schemas
        .files
        .iter()
        .filter(|file| file.path.starts_with(&format!("{PACK_DIR}/schemas/")))
        .collect();
    let mut covered = sampled.clone();
    loop {
        let before = covered.len();
        for file in &pack_schemas {
            if covered.contains(&file.path) {
                for target in &pack_schemas {
                    if let (Ok(document), Some(id)) = (&file.document, target.id())
                        && references(document, id)
                    {
                        covered.insert(target.path.clone());
                    }
                }
            }
        }
        if covered.len() == before {
            break;
        }
    }
    for file in pack_schemas {
        if !covered.contains(&file.path) {
            findings.problem(format!(
                "{} has no sample: add {PACK_DIR}/fixtures/{}.sample.json (docs/spec/integration-contract.md)",
                file.path,
                file.file_name().trim_end_matches(".schema.json")
            ));
        }
    }
    Ok(())
}

/// Whether `document` has a `$ref` to the schema `id` (with or without a fragment).
fn references(document: &Value, id: &str) -> bool {
    match document {
        Value::Object(map) => map.iter().any(|(key, value)| {
            (key == "$ref"
                && value
                    .as_str()
                    .is_some_and(|target| target.split('#').next() == Some(id)))
                || references(value, id)
        }),
        Value::Array(items) => items.iter().any(|item| references(item, id)),
        _ => false,
    }
}

/// JSON pointers of every empty object key in `value`.
fn empty_keys(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                if key.trim().is_empty() {
                    out.push(here.clone());
                }
                empty_keys(child, &here, out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                empty_keys(child, &format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}
