//! `provenance.intoto.json`: an in-toto Statement v1 about the governed artifacts.
//!
//! Small serde structs of our own (the in-toto, SLSA and sigstore crates are immature, SPEC
//! §11). The subjects are the artifacts of `evidence.json`, same order, same digests; the
//! predicate says who built the bundle, from which commit, with which toolchain. It is not
//! signed: a consumer that needs a signature signs the tarball's sha256.

use serde::{Deserialize, Serialize};

use super::document::ArtifactDigest;

/// `_type` of an in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Our `predicateType`.
pub const PREDICATE_TYPE: &str = "https://memorykernel.dev/release-evidence/v1";
/// `predicate.builder`.
pub const BUILDER: &str = "cargo xtask release-evidence";

/// The statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts, with their sha256.
    pub subject: Vec<Subject>,
    /// [`PREDICATE_TYPE`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// How the bundle was made.
    pub predicate: Predicate,
}

/// One subject: an artifact's repo-relative path and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Repo-relative path.
    pub name: String,
    /// Its digests.
    pub digest: SubjectDigest,
}

/// `digest`: only sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectDigest {
    /// Lowercase hex.
    pub sha256: String,
}

/// The predicate of [`PREDICATE_TYPE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Predicate {
    /// [`BUILDER`].
    pub builder: String,
    /// The commit the artifacts were read at (`git rev-parse HEAD`).
    pub source_commit: String,
    /// Whether the work tree differed from that commit.
    pub source_tree_dirty: bool,
    /// `rustc --version` of the toolchain that built xtask's checks.
    pub toolchain: String,
}

impl Statement {
    /// The statement about `artifacts`, built from `source_commit` with `toolchain`.
    #[must_use]
    pub fn new(
        artifacts: &[ArtifactDigest],
        source_commit: &str,
        source_tree_dirty: bool,
        toolchain: &str,
    ) -> Self {
        Self {
            statement_type: STATEMENT_TYPE.to_owned(),
            subject: subjects(artifacts),
            predicate_type: PREDICATE_TYPE.to_owned(),
            predicate: Predicate {
                builder: BUILDER.to_owned(),
                source_commit: source_commit.to_owned(),
                source_tree_dirty,
                toolchain: toolchain.to_owned(),
            },
        }
    }
}

/// The subjects `artifacts` give, in their order.
#[must_use]
pub fn subjects(artifacts: &[ArtifactDigest]) -> Vec<Subject> {
    artifacts
        .iter()
        .map(|artifact| Subject {
            name: artifact.path.clone(),
            digest: SubjectDigest {
                sha256: artifact.sha256.clone(),
            },
        })
        .collect()
}
