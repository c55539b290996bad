//! The governed artifacts: which files of a tree a release's evidence covers, and their bytes.
//!
//! The set is fixed by rule, not by hand: every file under the integration pack
//! (`contracts/integration/`, which holds the manifest, the source of truth and the SLO policy)
//! and the CLI pack (`contracts/v1/`), the OpenAPI copy, the published handoff payload, the
//! normative docs the checks read ([`NORMATIVE_DOCS`]) and `CHANGELOG.md`. Files are the ones
//! git knows about (tracked, plus untracked files that are not ignored), read from the work
//! tree as they are: `.gitattributes` forces LF, so a clean checkout holds the committed bytes
//! on every OS.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use xshell::{Shell, cmd};

use crate::pack::{
    CHANGELOG_PATH, MANIFEST_PATH, OPENAPI_PATH, PUBLISHED_HANDOFF_PATH, SOURCE_OF_TRUTH_PATH,
};

/// Folders whose every file is a governed artifact (`/`-terminated, repo-relative).
pub const GOVERNED_DIRS: [&str; 2] = ["contracts/integration/", "contracts/v1/"];

/// The normative docs the governance checks read (generated blocks, rules they cite).
pub const NORMATIVE_DOCS: [&str; 4] = [
    "docs/spec/integration-contract.md",
    "docs/spec/service-contract.md",
    "docs/spec/service-slo-policy.md",
    "docs/spec/versioning.md",
];

/// Single governed files outside [`GOVERNED_DIRS`] besides the [`NORMATIVE_DOCS`].
pub const GOVERNED_FILES: [&str; 3] = [OPENAPI_PATH, PUBLISHED_HANDOFF_PATH, CHANGELOG_PATH];

/// Files a release cannot do without: a tree lacking one has no evidence to give.
const REQUIRED: [&str; 3] = [MANIFEST_PATH, SOURCE_OF_TRUTH_PATH, crate::slo::POLICY_PATH];

/// One governed file and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Repo-relative path, `/`-separated.
    pub path: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Whether git records the file as executable (mode 100755).
    pub executable: bool,
}

impl Artifact {
    /// The lowercase hex sha256 of the content.
    #[must_use]
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

/// The lowercase hex sha256 of `bytes`.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether repo-relative `path` is a governed artifact.
#[must_use]
pub fn is_governed(path: &str) -> bool {
    GOVERNED_DIRS.iter().any(|dir| path.starts_with(dir))
        || NORMATIVE_DOCS.contains(&path)
        || GOVERNED_FILES.contains(&path)
}

/// Every governed file of the tree at `root`, sorted by path. `overlay` stands in for files
/// as they are about to be written (`cargo xtask codegen` digests the generated artifacts it
/// renders in the same run); a path in it need not exist yet.
///
/// # Errors
/// When the tree cannot be listed, a governed file is a symlink or cannot be read, or a
/// required file (a normative doc, the OpenAPI copy, the handoff, the changelog, the
/// manifest, the source of truth, the SLO policy) is missing.
pub fn collect(root: &Path, overlay: &BTreeMap<String, Vec<u8>>) -> Result<Vec<Artifact>> {
    let mut paths: BTreeSet<String> = crate::tidy::repository_files(root)?
        .into_iter()
        .filter(|path| is_governed(path))
        .collect();
    paths.extend(overlay.keys().filter(|path| is_governed(path)).cloned());
    let executable = executable_paths(root);
    let mut artifacts = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = match overlay.get(&path) {
            Some(bytes) => bytes.clone(),
            None => {
                let full = root.join(&path);
                // A tracked file deleted from the work tree is not part of the tree's evidence.
                let Ok(meta) = fs::symlink_metadata(&full) else {
                    continue;
                };
                if !meta.is_file() {
                    bail!(
                        "governed artifact {path} is not a regular file (a symlink?): replace it \
                         with the file itself"
                    );
                }
                fs::read(&full).with_context(|| format!("cannot read {path}"))?
            }
        };
        artifacts.push(Artifact {
            executable: executable.contains(&path),
            path,
            bytes,
        });
    }
    for required in NORMATIVE_DOCS
        .iter()
        .chain(GOVERNED_FILES.iter())
        .chain(REQUIRED.iter())
    {
        if !artifacts.iter().any(|artifact| artifact.path == *required) {
            bail!(
                "governed artifact {required} is missing: restore it (release evidence covers \
                 it; `cargo xtask codegen` writes the generated ones)"
            );
        }
    }
    Ok(artifacts)
}

/// The governed paths git records as executable (mode 100755); empty outside a checkout, where
/// every file counts as 0644. Asking git, not the file system, keeps the answer the same on
/// every OS.
fn executable_paths(root: &Path) -> BTreeSet<String> {
    let Ok(sh) = Shell::new() else {
        return BTreeSet::new();
    };
    if !crate::git::is_checkout(root) {
        return BTreeSet::new();
    }
    let Ok(listing) = cmd!(sh, "git -C {root} ls-files -s -z")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return BTreeSet::new();
    };
    listing
        .split('\0')
        .filter_map(|line| {
            let (meta, path) = line.split_once('\t')?;
            (meta.starts_with("100755 ") && is_governed(path)).then(|| path.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn governed_paths_follow_the_rule() {
        for path in [
            "contracts/integration/v1/producer-contract-manifest.json",
            "contracts/integration/mirrors.json",
            "contracts/v1/schemas/error.schema.json",
            "contracts/openapi/service.v3.yaml",
            "docs/spec/versioning.md",
            "docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json",
            "CHANGELOG.md",
        ] {
            assert!(is_governed(path), "{path}");
        }
        for path in [
            "contracts/governance/boundaries.json",
            "docs/spec/domain.md",
            "docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json",
            "README.md",
            "contracts/integration",
        ] {
            assert!(!is_governed(path), "{path}");
        }
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
