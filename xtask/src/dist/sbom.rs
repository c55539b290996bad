//! The CycloneDX 1.5 JSON SBOM of one binary: its crate graph ([`BinaryGraph`]) joined with
//! the registry checksums of `Cargo.lock`.
//!
//! Written with small serde structs of our own rather than a CycloneDX crate (which would add
//! a dozen crates and double xtask's cold build for the one shape we emit); the tests validate
//! the output against the published CycloneDX 1.5 JSON schema. The document has no serial
//! number and no timestamp, so the same lock file and manifests give the same bytes.
//!
//! - `metadata.component`: the binary's own crate (type `application`), the root;
//! - `components`: every other crate of the build (type `library`), sorted by `name@version`,
//!   each with its purl `pkg:cargo/name@version`, its license expression, the `Cargo.lock`
//!   checksum as a `SHA-256` hash (registry crates), scope `required` when its code is linked
//!   and `excluded` when it only runs at build time (build-script dependencies, proc-macros);
//! - `dependencies`: one entry per crate, root included, with what it depends on.

use serde::{Deserialize, Serialize};

use super::graph::{BinaryGraph, Crate};
use super::lockfile::Lock;

/// `bomFormat`.
pub const BOM_FORMAT: &str = "CycloneDX";
/// `specVersion`.
pub const SPEC_VERSION: &str = "1.5";
/// The property naming the binary an SBOM describes.
pub const BINARY_PROPERTY: &str = "memorykernel:binary";
/// The property holding the sha256 of the `Cargo.lock` the SBOM was made from.
pub const LOCK_PROPERTY: &str = "memorykernel:cargo-lock-sha256";
/// The property holding a crate's cargo source (`registry+…`, `git+…`).
pub const SOURCE_PROPERTY: &str = "memorykernel:cargo-source";
/// The property marking a crate of this workspace.
pub const MEMBER_PROPERTY: &str = "memorykernel:workspace-member";

/// A CycloneDX BOM (the subset we write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bom {
    /// [`BOM_FORMAT`].
    pub bom_format: String,
    /// [`SPEC_VERSION`].
    pub spec_version: String,
    /// The BOM's own version: 1.
    pub version: u32,
    /// What the BOM is about and what made it.
    pub metadata: BomMetadata,
    /// Every crate of the build but the root.
    pub components: Vec<Component>,
    /// The dependency edges.
    pub dependencies: Vec<Dependency>,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BomMetadata {
    /// The tool that wrote it.
    pub tools: Tools,
    /// The binary's crate.
    pub component: Component,
    /// [`BINARY_PROPERTY`] and [`LOCK_PROPERTY`].
    pub properties: Vec<Property>,
}

/// `metadata.tools` (the 1.5 object form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    /// One entry: xtask.
    pub components: Vec<Tool>,
}

/// A tool, as a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// `application`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `cargo xtask dist`.
    pub name: String,
    /// xtask's version.
    pub version: String,
}

/// One crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// `application` for the root, `library` otherwise.
    #[serde(rename = "type")]
    pub kind: String,
    /// The purl, which is unique within the build.
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    /// Crate name.
    pub name: String,
    /// Exact version.
    pub version: String,
    /// `required` (linked) or `excluded` (build time only); none on the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `pkg:cargo/name@version`.
    pub purl: String,
    /// The `Cargo.lock` checksum, for registry crates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// The license expression, or the license file's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    /// [`SOURCE_PROPERTY`] and [`MEMBER_PROPERTY`], when they apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// A hash of a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hash {
    /// `SHA-256`.
    pub alg: String,
    /// Lowercase hex.
    pub content: String,
}

/// One entry of `licenses`: an SPDX expression, or a named license (a license file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum License {
    /// `{"expression": "MIT OR Apache-2.0"}`.
    Expression {
        /// The SPDX expression.
        expression: String,
    },
    /// `{"license": {"name": "…"}}`.
    Named {
        /// The license.
        license: NamedLicense,
    },
}

/// A license known by name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedLicense {
    /// `license file <name>`.
    pub name: String,
}

/// A name/value property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// Namespaced name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// One `dependencies` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependency {
    /// The depending component's `bom-ref`.
    #[serde(rename = "ref")]
    pub reference: String,
    /// The `bom-ref`s it depends on.
    #[serde(rename = "dependsOn")]
    pub depends_on: Vec<String>,
}

/// The SBOM file name of binary `bin`, under the release's `sbom/` folder.
#[must_use]
pub fn file_name(bin: &str) -> String {
    format!("{bin}.cdx.json")
}

fn property(name: &str, value: &str) -> Property {
    Property {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

fn component(krate: &Crate, lock: &Lock, root: bool) -> Component {
    let checksum = lock
        .find(&krate.name, &krate.version, krate.source.as_deref())
        .and_then(|locked| locked.checksum.clone());
    let licenses = match (&krate.license, &krate.license_file) {
        (Some(expression), _) => vec![License::Expression {
            expression: expression.clone(),
        }],
        (None, Some(file)) => vec![License::Named {
            license: NamedLicense {
                name: format!("license file {file}"),
            },
        }],
        (None, None) => Vec::new(),
    };
    let mut properties = Vec::new();
    if let Some(source) = &krate.source {
        properties.push(property(SOURCE_PROPERTY, source));
    }
    if krate.member {
        properties.push(property(MEMBER_PROPERTY, "true"));
    }
    Component {
        kind: if root { "application" } else { "library" }.to_owned(),
        bom_ref: krate.purl(),
        name: krate.name.clone(),
        version: krate.version.clone(),
        scope: (!root).then(|| {
            if krate.runtime {
                "required"
            } else {
                "excluded"
            }
            .to_owned()
        }),
        purl: krate.purl(),
        hashes: checksum
            .map(|content| Hash {
                alg: "SHA-256".to_owned(),
                content,
            })
            .into_iter()
            .collect(),
        licenses,
        properties,
    }
}

/// The SBOM of `graph`, with the checksums of `lock`.
#[must_use]
pub fn generate(graph: &BinaryGraph, lock: &Lock) -> Bom {
    let purl = |key: &String| format!("pkg:cargo/{key}");
    let mut dependencies = vec![Dependency {
        reference: graph.root.purl(),
        depends_on: graph.root.depends_on.iter().map(purl).collect(),
    }];
    dependencies.extend(graph.crates.values().map(|krate| Dependency {
        reference: krate.purl(),
        depends_on: krate.depends_on.iter().map(purl).collect(),
    }));
    Bom {
        bom_format: BOM_FORMAT.to_owned(),
        spec_version: SPEC_VERSION.to_owned(),
        version: 1,
        metadata: BomMetadata {
            tools: Tools {
                components: vec![Tool {
                    kind: "application".to_owned(),
                    name: "cargo xtask dist".to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                }],
            },
            component: component(&graph.root, lock, true),
            properties: vec![
                property(BINARY_PROPERTY, &graph.bin),
                property(LOCK_PROPERTY, &lock.sha256),
            ],
        },
        components: graph
            .crates
            .values()
            .map(|krate| component(krate, lock, false))
            .collect(),
        dependencies,
    }
}

impl Bom {
    /// Pretty JSON with a final newline: the bytes that are written.
    ///
    /// # Errors
    /// Never in practice (every field serialises).
    pub fn render(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    fn property(&self, name: &str) -> Option<&str> {
        self.metadata
            .properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// One way an SBOM disagrees with `Cargo.lock` and the binary's crate graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SbomProblem {
    /// Not CycloneDX 1.5 of our shape.
    Format(String),
    /// Describes another binary or crate.
    Root(String),
    /// Made from another `Cargo.lock`.
    LockDigest {
        /// What the SBOM records.
        listed: String,
        /// The sha256 of the lock file checked against.
        actual: String,
    },
    /// A crate the lock file resolves into the binary's build is not listed.
    MissingCrate(String),
    /// A listed crate is not part of the binary's build under the lock file.
    ExtraCrate(String),
    /// A crate is listed twice.
    DuplicateCrate(String),
    /// A crate's purl, hash, scope, license or properties differ from the lock file and the
    /// manifests.
    CrateDiffers {
        /// `name@version`.
        key: String,
        /// Which part differs.
        detail: String,
    },
    /// The dependency edges differ.
    Dependencies(String),
}

impl std::fmt::Display for SbomProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Format(detail) => {
                write!(f, "not a CycloneDX {SPEC_VERSION} SBOM of ours: {detail}")
            }
            Self::Root(detail) => write!(f, "describes something else: {detail}"),
            Self::LockDigest { listed, actual } => write!(
                f,
                "was made from a Cargo.lock with sha256 {listed}, the lock file has {actual}"
            ),
            Self::MissingCrate(key) => write!(
                f,
                "lacks crate {key}, which Cargo.lock resolves into the binary's build"
            ),
            Self::ExtraCrate(key) => write!(
                f,
                "lists crate {key}, which is not part of the binary's build under Cargo.lock"
            ),
            Self::DuplicateCrate(key) => write!(f, "lists crate {key} twice"),
            Self::CrateDiffers { key, detail } => write!(f, "crate {key}: {detail}"),
            Self::Dependencies(detail) => write!(f, "dependency edges differ: {detail}"),
        }
    }
}

/// Every way `bom` disagrees with what `graph` and `lock` give.
#[must_use]
pub fn check(bom: &Bom, graph: &BinaryGraph, lock: &Lock) -> Vec<SbomProblem> {
    let expected = generate(graph, lock);
    let mut problems = Vec::new();
    if bom.bom_format != BOM_FORMAT || bom.spec_version != SPEC_VERSION {
        problems.push(SbomProblem::Format(format!(
            "bomFormat {:?}, specVersion {:?}",
            bom.bom_format, bom.spec_version
        )));
    }
    if bom.property(BINARY_PROPERTY) != Some(graph.bin.as_str())
        || bom.metadata.component != expected.metadata.component
    {
        problems.push(SbomProblem::Root(format!(
            "binary {:?}, root component {}, expected binary {} of {}",
            bom.property(BINARY_PROPERTY).unwrap_or("?"),
            bom.metadata.component.purl,
            graph.bin,
            graph.root.purl()
        )));
    }
    match bom.property(LOCK_PROPERTY) {
        Some(listed) if listed == lock.sha256 => {}
        listed => problems.push(SbomProblem::LockDigest {
            listed: listed.unwrap_or("nothing").to_owned(),
            actual: lock.sha256.clone(),
        }),
    }
    let mut listed = std::collections::BTreeMap::new();
    for component in &bom.components {
        let key = format!("{}@{}", component.name, component.version);
        if listed.insert(key.clone(), component).is_some() {
            problems.push(SbomProblem::DuplicateCrate(key));
        }
    }
    for want in &expected.components {
        let key = format!("{}@{}", want.name, want.version);
        match listed.get(&key) {
            None => problems.push(SbomProblem::MissingCrate(key)),
            Some(have) if *have != want => problems.push(SbomProblem::CrateDiffers {
                detail: component_difference(have, want),
                key,
            }),
            Some(_) => {}
        }
    }
    for key in listed.keys() {
        if !graph.crates.contains_key(key) {
            problems.push(SbomProblem::ExtraCrate(key.clone()));
        }
    }
    if bom.dependencies != expected.dependencies {
        let detail = bom
            .dependencies
            .iter()
            .zip(&expected.dependencies)
            .find(|(have, want)| have != want)
            .map_or_else(
                || {
                    format!(
                        "{} entries, expected {}",
                        bom.dependencies.len(),
                        expected.dependencies.len()
                    )
                },
                |(have, want)| format!("entry {} differs from {}", have.reference, want.reference),
            );
        problems.push(SbomProblem::Dependencies(detail));
    }
    problems
}

fn component_difference(have: &Component, want: &Component) -> String {
    if have.hashes != want.hashes {
        let show = |c: &Component| {
            c.hashes
                .first()
                .map_or_else(|| "none".to_owned(), |h| format!("{} {}", h.alg, h.content))
        };
        return format!(
            "hash {} where Cargo.lock's checksum gives {}",
            show(have),
            show(want)
        );
    }
    for (field, differs) in [
        (
            "purl",
            have.purl != want.purl || have.bom_ref != want.bom_ref,
        ),
        ("scope", have.scope != want.scope),
        ("licenses", have.licenses != want.licenses),
        ("type", have.kind != want.kind),
        ("properties", have.properties != want.properties),
    ] {
        if differs {
            return format!("its {field} differs from the manifests and Cargo.lock");
        }
    }
    "it differs".to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const REGISTRY: &str = "registry+https://github.com/rust-lang/crates.io-index";

    fn krate(name: &str, source: Option<&str>, runtime: bool, deps: &[&str]) -> Crate {
        Crate {
            name: name.to_owned(),
            version: "1.0.0".to_owned(),
            source: source.map(str::to_owned),
            license: Some("MIT".to_owned()),
            license_file: None,
            member: source.is_none(),
            runtime,
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn fixture() -> (BinaryGraph, Lock) {
        let lock = Lock::parse(
            format!(
                "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"1.0.0\"\n\n\
                 [[package]]\nname = \"cc\"\nversion = \"1.0.0\"\nsource = \"{REGISTRY}\"\n\
                 checksum = \"{}\"\n\n[[package]]\nname = \"lib\"\nversion = \"1.0.0\"\n\
                 source = \"{REGISTRY}\"\nchecksum = \"{}\"\n",
                "c".repeat(64),
                "a".repeat(64)
            )
            .as_bytes(),
        )
        .unwrap();
        let crates = BTreeMap::from([
            (
                "cc@1.0.0".to_owned(),
                krate("cc", Some(REGISTRY), false, &[]),
            ),
            (
                "lib@1.0.0".to_owned(),
                krate("lib", Some(REGISTRY), true, &[]),
            ),
        ]);
        let graph = BinaryGraph {
            bin: "app".to_owned(),
            root: krate("app", None, true, &["cc@1.0.0", "lib@1.0.0"]),
            crates,
            repository: None,
        };
        (graph, lock)
    }

    #[test]
    fn components_carry_purl_checksum_scope_and_license() {
        let (graph, lock) = fixture();
        let bom = generate(&graph, &lock);
        assert_eq!(bom.metadata.component.kind, "application");
        assert_eq!(bom.metadata.component.purl, "pkg:cargo/app@1.0.0");
        let lib = &bom.components[1];
        assert_eq!(lib.purl, "pkg:cargo/lib@1.0.0");
        assert_eq!(lib.scope.as_deref(), Some("required"));
        assert_eq!(lib.hashes[0].content, "a".repeat(64));
        assert_eq!(bom.components[0].scope.as_deref(), Some("excluded"));
        assert_eq!(bom.dependencies.len(), 3);
        assert!(check(&bom, &graph, &lock).is_empty());
        // Round trip through the written bytes.
        let parsed: Bom = serde_json::from_slice(&bom.render().unwrap()).unwrap();
        assert_eq!(parsed, bom);
    }

    #[test]
    fn a_missing_crate_a_wrong_hash_and_another_lock_are_found() {
        let (graph, lock) = fixture();
        let mut bom = generate(&graph, &lock);
        bom.components.remove(1);
        bom.components[0].hashes[0].content = "d".repeat(64);
        bom.metadata.properties[1].value = "e".repeat(64);
        let problems = check(&bom, &graph, &lock);
        assert!(problems.contains(&SbomProblem::MissingCrate("lib@1.0.0".to_owned())));
        assert!(problems.iter().any(|p| matches!(
            p,
            SbomProblem::CrateDiffers { key, .. } if key == "cc@1.0.0"
        )));
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, SbomProblem::LockDigest { .. }))
        );
    }
}
