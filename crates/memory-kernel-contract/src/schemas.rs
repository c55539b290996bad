//! The contract JSON Schemas of a tree: every `*.json` file in a `schemas/` folder under
//! `contracts/`, parsed, with its `$id`. This module only finds and reads them; compiling
//! them (draft 2020-12, each registered under its `$id` so a `$ref` resolves offline) is the
//! business of whoever validates, so this crate carries no JSON Schema engine.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why the schemas could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaLoadError {
    /// A folder could not be listed or a file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The repo-relative path.
        path: String,
        /// The I/O failure.
        source: std::io::Error,
    },
}

/// One schema file.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaFile {
    /// Repo-relative path, `/`-separated (`contracts/v1/schemas/error.schema.json`).
    pub path: String,
    /// The parsed document, or why it does not parse.
    pub document: Result<Value, String>,
}

impl SchemaFile {
    /// The file name (`error-envelope.schema.json`).
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }

    /// The `$id`, when the document has a non-empty one.
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.document
            .as_ref()
            .ok()
            .and_then(|document| document.get("$id"))
            .and_then(Value::as_str)
            .filter(|id| !id.trim().is_empty())
    }
}

/// The repository root this crate was built in: where the surfaces' tests find
/// `contracts/`.
#[must_use]
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every contract schema under `root/contracts/`, sorted by path. A file that does not parse
/// is kept with its parse error, so checks can report it.
///
/// # Errors
/// When `contracts/` cannot be walked or a file cannot be read.
pub fn load(root: &Path) -> Result<Vec<SchemaFile>, SchemaLoadError> {
    let mut paths = Vec::new();
    collect(root, "contracts", &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text =
                fs::read_to_string(root.join(&path)).map_err(|source| SchemaLoadError::Io {
                    path: path.clone(),
                    source,
                })?;
            let document = serde_json::from_str(&text).map_err(|error| error.to_string());
            Ok(SchemaFile { path, document })
        })
        .collect()
}

/// The documents to register, `($id, document)`: the first file of each distinct `$id`,
/// skipping files that do not parse or have no `$id`.
#[must_use]
pub fn resources(files: &[SchemaFile]) -> Vec<(String, Value)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for file in files {
        if let (Some(id), Ok(document)) = (file.id(), &file.document)
            && seen.insert(id.to_owned())
        {
            out.push((id.to_owned(), document.clone()));
        }
    }
    out
}

/// Collects every `*.json` file whose parent folder is named `schemas`, under `dir`.
fn collect(root: &Path, dir: &str, out: &mut Vec<String>) -> Result<(), SchemaLoadError> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(());
    }
    let io = |source| SchemaLoadError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in fs::read_dir(&full).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{dir}/{name}");
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            collect(root, &path, out)?;
        } else if kind.is_file()
            && name.ends_with(".json")
            && dir.rsplit('/').next() == Some("schemas")
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_files_in_schemas_folders_are_loaded_sorted_and_kept_when_broken() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let schemas = root.join("contracts/v1/schemas");
        fs::create_dir_all(&schemas).unwrap();
        fs::create_dir_all(root.join("contracts/v1/fixtures")).unwrap();
        fs::write(schemas.join("b.schema.json"), r#"{"$id":"urn:b"}"#).unwrap();
        fs::write(schemas.join("a.schema.json"), r#"{"$id":"urn:b","x":1}"#).unwrap();
        fs::write(schemas.join("c.schema.json"), "not json").unwrap();
        fs::write(schemas.join("notes.md"), "#").unwrap();
        fs::write(root.join("contracts/v1/fixtures/f.json"), "{}").unwrap();
        let files = load(root).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "contracts/v1/schemas/a.schema.json",
                "contracts/v1/schemas/b.schema.json",
                "contracts/v1/schemas/c.schema.json"
            ]
        );
        assert_eq!(files[0].file_name(), "a.schema.json");
        assert!(files[2].document.is_err());
        assert_eq!(files[2].id(), None);
        // The first file of a repeated `$id` is the one registered.
        let registered = resources(&files);
        assert_eq!(registered.len(), 1);
        assert_eq!(registered[0].1["x"], 1);
    }

    #[test]
    fn a_tree_without_contracts_has_no_schemas() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn the_repository_schemas_all_parse_with_an_id() {
        let files = load(&source_root()).unwrap();
        assert!(!files.is_empty());
        assert!(files.iter().all(|f| f.id().is_some()), "{files:?}");
    }
}
