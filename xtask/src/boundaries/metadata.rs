//! The dependency edges between workspace crates, read from the manifests (or from
//! `cargo metadata` when they use a form that reader does not handle).
//!
//! `cargo metadata --format-version 1 --no-deps` lists exactly the workspace members, each
//! with its declared dependencies. A dependency is an edge between two of our crates when its
//! package name is a workspace member's name and it has a `path` source. The `kind` field is
//! `null` for a normal dependency, `"dev"` or `"build"` otherwise; every kind is checked
//! against the same rules, because a dev-dependency on the store is still a service test that
//! reaches past the API.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;
use xshell::{Shell, cmd};

/// The part of `cargo metadata --format-version 1` the boundary check reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Every package listed (with `--no-deps`: the workspace members).
    pub packages: Vec<Package>,
    /// Package ids of the workspace members.
    pub workspace_members: Vec<String>,
    /// The workspace root folder.
    #[serde(default)]
    pub workspace_root: Option<String>,
    /// The build output folder cargo uses for this workspace.
    #[serde(default)]
    pub target_directory: Option<String>,
}

/// One package of the metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Package id, as listed in `workspace_members`.
    pub id: String,
    /// Absolute path of its `Cargo.toml`.
    pub manifest_path: String,
    /// Declared dependencies.
    pub dependencies: Vec<Dependency>,
}

/// One declared dependency.
#[derive(Debug, Clone, Deserialize)]
pub struct Dependency {
    /// The depended-on package name (not the rename).
    pub name: String,
    /// `None` for a normal dependency, `dev` or `build` otherwise.
    pub kind: Option<String>,
    /// The local folder, for path dependencies.
    #[serde(default)]
    pub path: Option<String>,
}

/// A dependency edge between two workspace crates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The depending crate.
    pub from: String,
    /// The crate depended on.
    pub to: String,
    /// `normal`, `dev` or `build`.
    pub kind: String,
    /// The depending crate's manifest, repo-relative when it lies under the workspace root.
    pub manifest: String,
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} ({} dependency", self.from, self.to, self.kind)?;
        write!(f, " in {})", self.manifest)
    }
}

impl Metadata {
    /// Runs `cargo metadata --format-version 1 --no-deps` in `root` and parses it.
    ///
    /// # Errors
    /// When cargo fails or prints something unreadable.
    pub fn load(root: &Path) -> Result<Self> {
        let sh = Shell::new().context("cannot start a shell for cargo metadata")?;
        sh.change_dir(root);
        let cargo = crate::cargo_program();
        let text = cmd!(sh, "{cargo} metadata --format-version 1 --no-deps")
            .quiet()
            .read()
            .context("`cargo metadata` failed")?;
        Self::parse(&text)
    }

    /// The workspace as its manifests declare it, read without starting cargo (which costs
    /// more than the whole check): see [`Metadata::from_manifests`]. When the manifests use a
    /// form that reader does not handle, `cargo metadata` answers instead.
    ///
    /// # Errors
    /// As [`Metadata::load`].
    pub fn workspace(root: &Path) -> Result<Self> {
        Self::from_manifests(root).or_else(|_| Self::load(root))
    }

    /// The members and their declared dependencies, read from `root/Cargo.toml` and each
    /// member's `Cargo.toml`: `[workspace] members` (paths, or a folder followed by `/*`) minus
    /// `exclude`; per member its `[dependencies]`, `[dev-dependencies]` and
    /// `[build-dependencies]`, also under `[target.<cfg>]`, with `path`, `package` renames
    /// and `workspace = true` resolved through `[workspace.dependencies]`. The target folder
    /// is not known (`None`). A test holds the result equal to `cargo metadata`'s for this
    /// workspace.
    ///
    /// # Errors
    /// When a manifest cannot be read or parsed, or declares members with another glob.
    pub fn from_manifests(root: &Path) -> Result<Self> {
        let read = |path: &Path| -> Result<toml::Table> {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))
        };
        let manifest = read(&root.join("Cargo.toml"))?;
        let workspace = manifest
            .get("workspace")
            .and_then(toml::Value::as_table)
            .context("Cargo.toml has no [workspace]")?;
        let strings = |key: &str| -> Vec<String> {
            workspace
                .get(key)
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .map(str::to_owned)
                .collect()
        };
        let excluded = strings("exclude");
        let mut member_dirs = Vec::new();
        for member in strings("members") {
            if let Some(parent) = member.strip_suffix("/*") {
                let mut found = Vec::new();
                for entry in std::fs::read_dir(root.join(parent))
                    .with_context(|| format!("cannot list {parent}"))?
                {
                    let entry = entry.with_context(|| format!("cannot list {parent}"))?;
                    if entry.path().join("Cargo.toml").is_file() {
                        found.push(format!("{parent}/{}", entry.file_name().to_string_lossy()));
                    }
                }
                found.sort();
                member_dirs.extend(found);
            } else if member.contains(['*', '?', '[']) {
                anyhow::bail!("workspace member pattern `{member}` is not read without cargo");
            } else {
                member_dirs.push(member);
            }
        }
        member_dirs.retain(|dir| !excluded.contains(dir));
        let inherited = workspace
            .get("dependencies")
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default();
        let mut packages = Vec::new();
        for dir in member_dirs {
            let manifest_path = root.join(&dir).join("Cargo.toml");
            let manifest = read(&manifest_path)?;
            let name = manifest
                .get("package")
                .and_then(|package| package.get("name"))
                .and_then(toml::Value::as_str)
                .with_context(|| format!("{dir}/Cargo.toml has no package name"))?
                .to_owned();
            let mut holders = vec![&manifest];
            if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
                holders.extend(targets.values().filter_map(toml::Value::as_table));
            }
            let mut tables: Vec<(&toml::Value, Option<&str>)> = Vec::new();
            for holder in holders {
                for (key, kind) in [
                    ("dependencies", None),
                    ("dev-dependencies", Some("dev")),
                    ("build-dependencies", Some("build")),
                ] {
                    if let Some(table) = holder.get(key) {
                        tables.push((table, kind));
                    }
                }
            }
            let mut dependencies = Vec::new();
            for (table, kind) in tables {
                for (key, spec) in table.as_table().into_iter().flatten() {
                    let (spec, base) =
                        if spec.get("workspace").and_then(toml::Value::as_bool) == Some(true) {
                            (inherited.get(key).unwrap_or(spec), root.to_path_buf())
                        } else {
                            (spec, root.join(&dir))
                        };
                    let package = spec
                        .get("package")
                        .and_then(toml::Value::as_str)
                        .unwrap_or(key);
                    let path = spec
                        .get("path")
                        .and_then(toml::Value::as_str)
                        .map(|path| base.join(path).display().to_string());
                    dependencies.push(Dependency {
                        name: package.to_owned(),
                        kind: kind.map(str::to_owned),
                        path,
                    });
                }
            }
            let id = manifest_path.display().to_string();
            packages.push(Package {
                name,
                id,
                manifest_path: manifest_path.display().to_string(),
                dependencies,
            });
        }
        Ok(Self {
            workspace_members: packages.iter().map(|package| package.id.clone()).collect(),
            packages,
            workspace_root: Some(root.display().to_string()),
            target_directory: None,
        })
    }

    /// Parses the JSON `cargo metadata --format-version 1` prints.
    ///
    /// # Errors
    /// When the text is not that JSON.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).context("cannot read the output of `cargo metadata`")
    }

    /// The workspace members' package names, sorted.
    #[must_use]
    pub fn member_names(&self) -> BTreeSet<String> {
        self.members().map(|package| package.name.clone()).collect()
    }

    fn members(&self) -> impl Iterator<Item = &Package> {
        self.packages
            .iter()
            .filter(|package| self.workspace_members.contains(&package.id))
    }

    /// Every dependency edge from one workspace member to another, sorted; one edge per
    /// (from, to, kind) even when a target-specific table repeats it.
    #[must_use]
    pub fn workspace_edges(&self) -> Vec<Edge> {
        let names = self.member_names();
        let root = self
            .workspace_root
            .as_deref()
            .map(|root| format!("{root}/"));
        let mut edges = BTreeSet::new();
        for package in self.members() {
            let manifest = match &root {
                Some(root) => package
                    .manifest_path
                    .replace('\\', "/")
                    .strip_prefix(&root.replace('\\', "/"))
                    .map_or_else(|| package.manifest_path.clone(), str::to_owned),
                None => package.manifest_path.clone(),
            };
            for dependency in &package.dependencies {
                if dependency.path.is_none() || !names.contains(&dependency.name) {
                    continue;
                }
                edges.insert(Edge {
                    from: package.name.clone(),
                    to: dependency.name.clone(),
                    kind: dependency
                        .kind
                        .clone()
                        .unwrap_or_else(|| "normal".to_owned()),
                    manifest: manifest.clone(),
                });
            }
        }
        edges.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "packages": [
        {"name": "a", "id": "path+file:///w/a#0.1.0", "manifest_path": "/w/a/Cargo.toml",
         "dependencies": [
           {"name": "b", "kind": null, "path": "/w/b"},
           {"name": "b", "kind": "dev", "path": "/w/b"},
           {"name": "serde", "kind": null},
           {"name": "b", "kind": null, "path": "/w/b", "target": "cfg(unix)"}
         ]},
        {"name": "b", "id": "path+file:///w/b#0.1.0", "manifest_path": "/w/b/Cargo.toml",
         "dependencies": []}
      ],
      "workspace_members": ["path+file:///w/a#0.1.0", "path+file:///w/b#0.1.0"],
      "workspace_root": "/w"
    }"#;

    #[test]
    fn edges_are_workspace_only_deduplicated_and_keep_their_kind() {
        let metadata = Metadata::parse(SAMPLE).unwrap();
        let edges: Vec<String> = metadata
            .workspace_edges()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            edges,
            [
                "a -> b (dev dependency in a/Cargo.toml)",
                "a -> b (normal dependency in a/Cargo.toml)"
            ]
        );
    }
}
