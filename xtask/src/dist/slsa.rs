//! The release's provenance: an in-toto Statement v1 whose subjects are the release files
//! (binaries, SBOMs, contract pack) with a SLSA provenance v1 predicate saying how they were
//! built. Small serde structs of our own, field names as the two specifications spell them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `_type` of an in-toto Statement v1: one definition, shared with the evidence tarball.
pub use crate::release_evidence::provenance::STATEMENT_TYPE;
/// `predicateType` of SLSA provenance v1.
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";
/// `buildDefinition.buildType`: the build `cargo xtask dist` runs, described in
/// `docs/spec/release-evidence.md`.
pub const BUILD_TYPE: &str = "https://memorykernel.dev/dist/build/v1";
/// `runDetails.builder.id`.
pub const BUILDER_ID: &str = "https://memorykernel.dev/dist/builder/cargo-xtask-dist/v1";
/// The `resolvedDependencies` name of the lock file.
pub const LOCK_DEPENDENCY: &str = "Cargo.lock";
/// The `resolvedDependencies` name of the source tree.
pub const SOURCE_DEPENDENCY: &str = "source";

/// The statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The release files.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// How they were built.
    pub predicate: Provenance,
}

/// One subject: a release file's path under the release folder and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// `/`-separated path under the release folder.
    pub name: String,
    /// `{"sha256": "<hex>"}`.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    /// The subject `name` with sha256 `digest`.
    #[must_use]
    pub fn sha256(name: &str, digest: &str) -> Self {
        Self {
            name: name.to_owned(),
            digest: BTreeMap::from([("sha256".to_owned(), digest.to_owned())]),
        }
    }
}

/// The SLSA provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provenance {
    /// What was built, from what.
    pub build_definition: BuildDefinition,
    /// Who built it, when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildDefinition {
    /// [`BUILD_TYPE`].
    pub build_type: String,
    /// What the caller chose.
    pub external_parameters: ExternalParameters,
    /// What the build set itself.
    pub internal_parameters: InternalParameters,
    /// The source commit and the `Cargo.lock` digest.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// `externalParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalParameters {
    /// The commit built (`git rev-parse HEAD`).
    pub commit: String,
    /// Whether the work tree differed from it.
    pub tree_dirty: bool,
    /// The cargo profile: `release`.
    pub profile: String,
    /// The features asked for: `["default"]`.
    pub features: Vec<String>,
    /// The binaries built, each with its package.
    pub binaries: Vec<BinaryParameter>,
    /// `cargo build --locked`: always true.
    pub locked: bool,
}

/// One binary of [`ExternalParameters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryParameter {
    /// The package.
    pub package: String,
    /// The binary's name.
    pub bin: String,
}

/// `internalParameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternalParameters {
    /// `SOURCE_DATE_EPOCH` given to the build.
    pub source_date_epoch: u64,
    /// The rustflags, with the local folders as `<workspace>`, `<cargo-home>`, `<target-dir>`.
    pub rustflags: Vec<String>,
    /// The host target triple (the binaries' target).
    pub target: String,
    /// `rustc -vV`, verbatim.
    pub rustc_version_verbose: String,
    /// `cargo -V`.
    pub cargo_version: String,
}

/// An in-toto ResourceDescriptor (the fields we use).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDescriptor {
    /// A short name.
    pub name: String,
    /// Where it is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Its digests (`sha256`, or `gitCommit` for the source).
    pub digest: BTreeMap<String, String>,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunDetails {
    /// Who built it.
    pub builder: Builder,
    /// When.
    pub metadata: BuildMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Builder {
    /// [`BUILDER_ID`].
    pub id: String,
    /// `xtask` and `rustc` versions.
    pub version: BTreeMap<String, String>,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildMetadata {
    /// A random id of this run.
    pub invocation_id: String,
    /// RFC 3339 UTC.
    pub started_on: String,
    /// RFC 3339 UTC.
    pub finished_on: String,
}

impl Statement {
    /// The `sha256` digest the predicate records for resolved dependency `name`.
    #[must_use]
    pub fn resolved_digest(&self, name: &str, algorithm: &str) -> Option<&str> {
        self.predicate
            .build_definition
            .resolved_dependencies
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.digest.get(algorithm))
            .map(String::as_str)
    }

    /// The subject named `name`'s sha256.
    #[must_use]
    pub fn subject_sha256(&self, name: &str) -> Option<&str> {
        self.subject
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.digest.get("sha256"))
            .map(String::as_str)
    }
}

/// `seconds` since 1970 as RFC 3339 UTC (`2024-01-02T03:04:05Z`): the handoff payload's
/// formatter, so the two documents spell instants the same way.
#[must_use]
pub fn rfc3339(seconds: u64) -> String {
    crate::handoff::payload::rfc3339_utc(i64::try_from(seconds).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_164_645), "2024-01-02T03:04:05Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
