//! The contract JSON Schemas of a tree, loaded once and registered by `$id`.
//!
//! Every `*.json` file in a `schemas/` folder under `contracts/` is a contract schema
//! (found and parsed by `memory_kernel_contract::schemas`). They are registered in one [`jsonschema::Registry`] under their `$id`, so a `$ref` from one
//! schema to another resolves offline, exactly as a consumer pinning the files would resolve
//! it. Draft 2020-12 throughout; `format` is not asserted (the schemas say what they mean
//! with `pattern`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use anyhow::{Context, Result, anyhow};
use jsonschema::{Draft, Registry, Validator};
pub use memory_kernel_contract::SchemaFile;
use memory_kernel_contract::schemas;
use serde_json::Value;

/// Every contract schema of a tree, and a registry of those that have a usable `$id`.
pub struct ContractSchemas {
    /// Every schema file, sorted by path.
    pub files: Vec<SchemaFile>,
    registry: std::result::Result<Registry<'static>, String>,
    /// Validators compiled so far, by path: a schema is compiled once however many checks
    /// of this run use it (nothing outlives the run).
    compiled: RefCell<BTreeMap<String, Rc<Validator>>>,
}

impl ContractSchemas {
    /// Loads every schema under `root/contracts/`. A file that does not parse is kept (with
    /// its parse error) so checks can report it; the registry holds the first file of each
    /// distinct `$id`.
    ///
    /// # Errors
    /// When `contracts/` cannot be walked or a file cannot be read.
    pub fn load(root: &Path) -> Result<Self> {
        let files = schemas::load(root).context("cannot load the contract schemas")?;
        let resources = schemas::resources(&files);
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(resources)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|error| error.to_string());
        Ok(Self {
            files,
            registry,
            compiled: RefCell::new(BTreeMap::new()),
        })
    }

    /// The schema file at repo-relative `path`.
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&SchemaFile> {
        self.files.iter().find(|file| file.path == path)
    }

    /// A validator for the schema at `path`, with every other contract schema resolvable by
    /// `$id`.
    ///
    /// # Errors
    /// When the file is unknown or unparsable, the registry could not be built, or the schema
    /// does not compile (an unresolvable `$ref`, say).
    pub fn validator(&self, path: &str) -> Result<Rc<Validator>> {
        if let Some(validator) = self.compiled.borrow().get(path) {
            return Ok(Rc::clone(validator));
        }
        let file = self
            .get(path)
            .ok_or_else(|| anyhow!("{path}: no such contract schema"))?;
        let document = file
            .document
            .as_ref()
            .map_err(|error| anyhow!("{path} is not JSON: {error}"))?;
        let registry = self
            .registry
            .as_ref()
            .map_err(|error| anyhow!("the contract schemas cannot be registered: {error}"))?;
        let validator = Rc::new(
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .with_registry(registry)
                .build(document)
                .map_err(|error| anyhow!("{path} does not compile: {error}"))?,
        );
        self.compiled
            .borrow_mut()
            .insert(path.to_owned(), Rc::clone(&validator));
        Ok(validator)
    }

    /// Validates `instance` against the schema at `path`; `Ok` lists every violation as
    /// `instance-path: message` (empty when valid).
    ///
    /// # Errors
    /// When no validator can be built (see [`validator`](Self::validator)).
    pub fn violations(&self, path: &str, instance: &Value) -> Result<Vec<String>> {
        let validator = self.validator(path)?;
        Ok(validator
            .iter_errors(instance)
            .map(|error| {
                let at = error.instance_path().to_string();
                format!("{}: {error}", if at.is_empty() { "/" } else { &at })
            })
            .collect())
    }
}
