//! Contract schema validation for the surfaces' tests. Every JSON Schema under
//! `contracts/**/schemas/` is registered by its `$id`, so schemas reference one another (`$ref`
//! by id) without any network access, and each surface validates its output against the very
//! files consumers pin. The files are read from the source tree (found through
//! `memory_kernel_contract::schemas::source_root`), which is why this lives in a test crate.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jsonschema::{Draft, Registry, Validator};
use memory_kernel_contract::schemas;
use serde_json::Value;

/// Every contract schema of the repository, keyed by file name and by `$id`.
pub struct ContractSchemas {
    by_file: BTreeMap<String, Value>,
    registry: Registry<'static>,
}

/// The workspace's `contracts/` folder.
#[must_use]
pub fn contracts_dir() -> PathBuf {
    schemas::source_root().join("contracts")
}

impl ContractSchemas {
    /// Loads every `*.json` file in a `schemas` folder under `contracts/`
    /// (`memory_kernel_contract::schemas::load`).
    ///
    /// # Errors
    /// A message naming the file that could not be read or parsed, or lacks a `$id`.
    pub fn load() -> Result<Self, String> {
        let files = schemas::load(&schemas::source_root()).map_err(|e| e.to_string())?;
        let mut by_file = BTreeMap::new();
        for file in &files {
            let schema = file
                .document
                .as_ref()
                .map_err(|e| format!("{}: {e}", file.path))?;
            if file.id().is_none() {
                return Err(format!("{}: no $id", file.path));
            }
            by_file.insert(file.file_name().to_owned(), schema.clone());
        }
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(schemas::resources(&files))
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
