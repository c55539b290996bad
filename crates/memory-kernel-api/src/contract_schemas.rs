//! Contract schema validation for the surfaces' tests (feature `contract-schemas`). Every JSON
//! Schema under `contracts/**/schemas/` is registered by its `$id`, so schemas reference one
//! another (`$ref` by id) without any network access, and each surface validates its output
//! against the very files consumers pin.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// Every contract schema of the repository, keyed by file name and by `$id`.
pub struct ContractSchemas {
    by_file: BTreeMap<String, Value>,
    registry: Registry<'static>,
}

/// The workspace's `contracts/` folder.
#[must_use]
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

impl ContractSchemas {
    /// Loads every `*.json` file in a `schemas` folder under `contracts/`.
    ///
    /// # Errors
    /// A message naming the file that could not be read or parsed, or lacks a `$id`.
    pub fn load() -> Result<Self, String> {
        let mut files = Vec::new();
        collect_schema_files(&contracts_dir(), &mut files)?;
        files.sort();
        let mut by_file = BTreeMap::new();
        let mut resources = Vec::new();
        for path in files {
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let id = schema
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{}: no $id", path.display()))?
                .to_owned();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            resources.push((id, schema.clone()));
            by_file.insert(name, schema);
        }
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(resources)
            .and_then(|builder| builder.prepare())
            .map_err(|e| format!("contract schema registry: {e}"))?;
        Ok(Self { by_file, registry })
    }

    /// A validator for the schema file `name` (e.g. `query-ask.schema.json`), with every
    /// other contract schema resolvable by `$id`.
    ///
    /// # Errors
    /// A message when the file is unknown or the schema does not compile.
    pub fn validator(&self, name: &str) -> Result<Validator, String> {
        let schema = self
            .by_file
            .get(name)
            .ok_or_else(|| format!("no contract schema named {name}"))?;
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .build(schema)
            .map_err(|e| format!("{name}: {e}"))
    }

    /// Validates `instance` against schema file `name`, listing every violation.
    ///
    /// # Errors
    /// One line per violation (instance path and message).
    pub fn validate(&self, name: &str, instance: &Value) -> Result<(), String> {
        let validator = self.validator(name)?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{name}:\n{}", errors.join("\n")))
        }
    }
}

fn collect_schema_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect_schema_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "json")
            && path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|parent| parent == "schemas")
        {
            out.push(path);
        }
    }
    Ok(())
}
