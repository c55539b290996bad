//! Each binary's dependency graph, from `cargo metadata`.
//!
//! `cargo metadata --format-version 1 --locked --filter-platform <host>` gives every package
//! of the resolve (name, version, source, license) and, per package, its dependencies with
//! their kinds, already narrowed to the build host. A binary's graph is what its package
//! reaches through normal and build dependencies (dev-dependencies never reach a binary).
//! A crate is *runtime* when it is reached through normal dependencies only without passing
//! through a proc-macro: its code is in the binary. The rest (build scripts' dependencies,
//! proc-macros and theirs) runs while compiling and is listed too, marked as not linked.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use xshell::{Shell, cmd};

/// The part of `cargo metadata` output the graphs are built from.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Every package of the resolve.
    pub packages: Vec<Package>,
    /// The resolved graph.
    pub resolve: Option<Resolve>,
    /// Ids of the workspace members.
    pub workspace_members: Vec<String>,
}

/// One package.
#[derive(Debug, Clone, Deserialize)]
pub struct Package {
    /// Opaque id (what the resolve refers to).
    pub id: String,
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Where it comes from; none for a path crate.
    #[serde(default)]
    pub source: Option<String>,
    /// The SPDX license expression of its manifest.
    #[serde(default)]
    pub license: Option<String>,
    /// The license file its manifest names instead of an expression.
    #[serde(default)]
    pub license_file: Option<String>,
    /// Its repository URL, when its manifest gives one.
    #[serde(default)]
    pub repository: Option<String>,
    /// Its build targets.
    pub targets: Vec<Target>,
}

/// One build target of a package.
#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    /// Target name (a binary's file name).
    pub name: String,
    /// `bin`, `lib`, `proc-macro`, …
    pub kind: Vec<String>,
}

/// The resolved graph.
#[derive(Debug, Clone, Deserialize)]
pub struct Resolve {
    /// One node per package.
    pub nodes: Vec<Node>,
}

/// One package's resolved dependencies.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// The package id.
    pub id: String,
    /// Its dependencies.
    pub deps: Vec<NodeDep>,
}

/// One resolved dependency.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeDep {
    /// The package id depended on.
    pub pkg: String,
    /// How it is depended on.
    pub dep_kinds: Vec<DepKind>,
}

/// One way a dependency is declared.
#[derive(Debug, Clone, Deserialize)]
pub struct DepKind {
    /// None for a normal dependency, `build` or `dev`.
    pub kind: Option<String>,
}

/// One crate of a binary's graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// Where it comes from; none for a path crate.
    pub source: Option<String>,
    /// The license expression, `/` (an old spelling of OR) normalised.
    pub license: Option<String>,
    /// The license file's name, when the manifest names a file instead of an expression.
    pub license_file: Option<String>,
    /// A workspace member (one of ours).
    pub member: bool,
    /// Its code is linked into the binary (see the module docs).
    pub runtime: bool,
    /// `name@version` of the crates it depends on in this graph, sorted.
    pub depends_on: Vec<String>,
}

impl Crate {
    /// `name@version`: the key crates are listed and compared by.
    #[must_use]
    pub fn key(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// `pkg:cargo/name@version`.
    #[must_use]
    pub fn purl(&self) -> String {
        format!("pkg:cargo/{}", self.key())
    }
}

/// A binary and every crate its build uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryGraph {
    /// The binary's file name (without the platform suffix).
    pub bin: String,
    /// The package that holds it.
    pub root: Crate,
    /// Every other crate of its build, by `name@version`.
    pub crates: BTreeMap<String, Crate>,
    /// The package's repository URL, when its manifest gives one.
    pub repository: Option<String>,
}

impl Metadata {
    /// Runs `cargo metadata` (locked, for `host`) in `root`.
    ///
    /// # Errors
    /// When cargo fails (a stale `Cargo.lock` with `--locked`, say) or prints something else.
    pub fn load(root: &Path, host: &str) -> Result<Self> {
        let sh = Shell::new().context("cannot start a shell for cargo")?;
        sh.change_dir(root);
        let cargo = crate::cargo_program();
        let text = cmd!(
            sh,
            "{cargo} metadata --format-version 1 --locked --filter-platform {host}"
        )
        .quiet()
        .read()
        .context("`cargo metadata --locked` failed: Cargo.lock must match the manifests")?;
        serde_json::from_str(&text).context("cannot parse `cargo metadata` output")
    }

    /// The graph of binary `bin` of package `package`.
    ///
    /// # Errors
    /// When the package is not a workspace member with that binary, or the metadata has no
    /// resolve.
    pub fn binary_graph(&self, package: &str, bin: &str) -> Result<BinaryGraph> {
        let packages: BTreeMap<&str, &Package> =
            self.packages.iter().map(|p| (p.id.as_str(), p)).collect();
        let Some(root) = self
            .packages
            .iter()
            .find(|p| p.name == package && self.workspace_members.contains(&p.id))
        else {
            bail!("{package} is not a member of this workspace");
        };
        if !root
            .targets
            .iter()
            .any(|t| t.name == bin && t.kind.iter().any(|k| k == "bin"))
        {
            bail!("package {package} has no binary named {bin}");
        }
        let resolve = self
            .resolve
            .as_ref()
            .context("`cargo metadata` gave no resolve")?;
        let nodes: BTreeMap<&str, &Node> =
            resolve.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
        let edges = |id: &str, normal_only: bool| -> Vec<String> {
            nodes.get(id).map_or_else(Vec::new, |node| {
                node.deps
                    .iter()
                    .filter(|dep| {
                        dep.dep_kinds.iter().any(|k| match k.kind.as_deref() {
                            None => true,
                            Some("build") => !normal_only,
                            Some(_) => false,
                        })
                    })
                    .map(|dep| dep.pkg.clone())
                    .collect()
            })
        };
        let is_proc_macro = |id: &str| {
            packages.get(id).is_some_and(|p| {
                p.targets
                    .iter()
                    .any(|t| t.kind.iter().any(|k| k == "proc-macro"))
            })
        };
        // Everything the build uses: normal and build edges.
        let all = reach(&root.id, |id| edges(id, false));
        // What is linked: normal edges, never into a proc-macro.
        let runtime = reach(&root.id, |id| {
            edges(id, true)
                .into_iter()
                .filter(|dep| !is_proc_macro(dep))
                .collect()
        });
        let mut crates = BTreeMap::new();
        let mut root_crate = None;
        for id in &all {
            let package = packages
                .get(id.as_str())
                .with_context(|| format!("`cargo metadata` lists no package {id}"))?;
            let mut depends_on: Vec<String> = edges(id, false)
                .iter()
                .filter_map(|dep| packages.get(dep.as_str()))
                .map(|p| format!("{}@{}", p.name, p.version))
                .collect();
            depends_on.sort();
            depends_on.dedup();
            let krate = Crate {
                name: package.name.clone(),
                version: package.version.clone(),
                source: package.source.clone(),
                license: package.license.as_deref().map(normalise_license),
                license_file: package.license_file.as_deref().map(file_name),
                member: self.workspace_members.contains(id),
                runtime: runtime.contains(id),
                depends_on,
            };
            if *id == root.id {
                root_crate = Some(krate);
            } else if let Some(previous) = crates.insert(krate.key(), krate) {
                bail!(
                    "two crates of {bin}'s build are both {}: the SBOM names crates by \
                     name@version",
                    previous.key()
                );
            }
        }
        Ok(BinaryGraph {
            bin: bin.to_owned(),
            root: root_crate.context("the root package is not in its own graph")?,
            crates,
            repository: root.repository.clone(),
        })
    }
}

/// Every id reachable from `start` (itself included) through `next`.
fn reach(start: &str, next: impl Fn(&str) -> Vec<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::from([start.to_owned()]);
    let mut queue = VecDeque::from([start.to_owned()]);
    while let Some(id) = queue.pop_front() {
        for dep in next(&id) {
            if seen.insert(dep.clone()) {
                queue.push_back(dep);
            }
        }
    }
    seen
}

/// `MIT/Apache-2.0` (the old cargo spelling) as `MIT OR Apache-2.0`; anything else as given.
#[must_use]
pub fn normalise_license(expression: &str) -> String {
    expression
        .split('/')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// The last path component: a license file's name without the absolute folder it lives in.
fn file_name(path: &str) -> String {
    path.rsplit(['/', '\\']).next().unwrap_or(path).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Metadata {
        let registry = "registry+https://github.com/rust-lang/crates.io-index";
        serde_json::from_value(serde_json::json!({
            "packages": [
                {"id": "app", "name": "app", "version": "0.1.0", "source": null,
                 "license": "Apache-2.0", "targets": [{"name": "app", "kind": ["bin"]}]},
                {"id": "lib", "name": "lib", "version": "1.0.0", "source": registry,
                 "license": "MIT/Apache-2.0", "targets": [{"name": "lib", "kind": ["lib"]}]},
                {"id": "derive", "name": "derive", "version": "1.0.0", "source": registry,
                 "license": "MIT", "targets": [{"name": "derive", "kind": ["proc-macro"]}]},
                {"id": "syn", "name": "syn", "version": "2.0.0", "source": registry,
                 "license_file": "/home/u/.cargo/registry/src/x/syn/LICENSE",
                 "targets": [{"name": "syn", "kind": ["lib"]}]},
                {"id": "cc", "name": "cc", "version": "1.0.0", "source": registry,
                 "license": "MIT", "targets": [{"name": "cc", "kind": ["lib"]}]},
                {"id": "proptest", "name": "proptest", "version": "1.0.0", "source": registry,
                 "license": "MIT", "targets": [{"name": "proptest", "kind": ["lib"]}]}
            ],
            "workspace_members": ["app"],
            "resolve": {"nodes": [
                {"id": "app", "deps": [
                    {"pkg": "lib", "dep_kinds": [{"kind": null}]},
                    {"pkg": "derive", "dep_kinds": [{"kind": null}]},
                    {"pkg": "cc", "dep_kinds": [{"kind": "build"}]},
                    {"pkg": "proptest", "dep_kinds": [{"kind": "dev"}]}
                ]},
                {"id": "lib", "deps": []},
                {"id": "derive", "deps": [{"pkg": "syn", "dep_kinds": [{"kind": null}]}]},
                {"id": "syn", "deps": []},
                {"id": "cc", "deps": []},
                {"id": "proptest", "deps": []}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn graph_follows_normal_and_build_edges_and_marks_what_is_linked() {
        let graph = metadata().binary_graph("app", "app").unwrap();
        let keys: Vec<&str> = graph.crates.keys().map(String::as_str).collect();
        assert_eq!(keys, ["cc@1.0.0", "derive@1.0.0", "lib@1.0.0", "syn@2.0.0"]);
        let runtime: Vec<&str> = graph
            .crates
            .values()
            .filter(|c| c.runtime)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(runtime, ["lib"]);
        assert!(graph.root.member && graph.root.runtime);
        assert_eq!(
            graph.root.depends_on,
            ["cc@1.0.0", "derive@1.0.0", "lib@1.0.0"]
        );
        assert_eq!(
            graph.crates["lib@1.0.0"].license.as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            graph.crates["syn@2.0.0"].license_file.as_deref(),
            Some("LICENSE")
        );
        assert_eq!(graph.crates["lib@1.0.0"].purl(), "pkg:cargo/lib@1.0.0");
    }

    #[test]
    fn unknown_packages_and_binaries_are_refused() {
        let metadata = metadata();
        assert!(metadata.binary_graph("lib", "lib").is_err());
        assert!(metadata.binary_graph("app", "other").is_err());
    }
}
