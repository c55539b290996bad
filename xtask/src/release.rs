//! `cargo xtask release cut X.Y.Z`: a release as data. The released contract pack is
//! recorded as a committed baseline, `contracts/releases/X.Y.Z/release.json` (every contract
//! file whole, the CHANGELOG as released, the release commit and the contract versions), the CHANGELOG's `Unreleased` section becomes the release's section, and the
//! producer manifest names the release. `contracts-diff` compares the tree with the newest
//! recorded baseline, so it always has something to check, with no tag needed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::atomic_file;
use crate::contracts::corrections::{CORRECTIONS_PATH, CorrectionList};
use crate::contracts::diff::contract_files;
use crate::git;
use crate::pack::{CHANGELOG_PATH, MANIFEST_PATH, SOURCE_OF_TRUTH_PATH};

/// Where release baselines live, one folder per version.
pub const RELEASES_DIR: &str = "contracts/releases";
/// The record of one release inside its folder.
pub const RELEASE_FILE: &str = "release.json";
/// The format label of [`ReleaseRecord`].
pub const RELEASE_FORMAT: &str = "memorykernel-release.v1";

/// Record a release of the contracts
///
/// `cargo xtask release cut X.Y.Z` records the contract pack as it stands as the baseline
/// contracts/releases/X.Y.Z/release.json: the version, the release commit (HEAD), the
/// contract versions, the CHANGELOG as released and every contract file (CLI schemas, the
/// OpenAPI copy, the integration pack's schemas and source of truth) whole, with its sha256. The CHANGELOG's `## Unreleased` section
/// becomes `## X.Y.Z` under a new, empty `## Unreleased`, and the producer manifest's
/// release_tag and commit_sha name the release; generated documents are refreshed
/// (`cargo xtask codegen`). The list of documented corrections
/// (contracts/governance/contract-corrections.json) is emptied and names the new release:
/// the new baseline records the corrected documents. Commit the result.
///
/// From then on `cargo xtask contracts diff` (the `contracts-diff` gate of verify) compares
/// the tree with the newest recorded release, and the `manifest` gate checks that the release
/// the manifest names is recorded and that its commit is in this branch's history.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Release {
    #[command(subcommand)]
    /// What to do.
    pub command: ReleaseCommand,
}

/// `cargo xtask release …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReleaseCommand {
    /// Record the contracts as released version X.Y.Z (see `cargo xtask release --help`).
    Cut {
        /// The version, three numbers: X.Y.Z.
        version: String,
    },
}

/// The contract versions a release carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedVersions {
    /// The CLI output contract (`cli.vN`).
    pub cli: Vec<String>,
    /// The service contract (`service.vN`).
    pub service: Option<String>,
    /// The API envelope contract (`api.vN`).
    pub api: Option<String>,
    /// The integration pack baseline (`integration/vN`).
    pub integration: Option<String>,
}

/// One recorded file, whole. Files are kept inside the record rather than as copies, so no
/// tool that walks `contracts/` mistakes a released schema for a current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasedFile {
    /// Repo-relative path of the file as it was released.
    pub path: String,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// Its text.
    pub text: String,
}

/// `contracts/releases/X.Y.Z/release.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRecord {
    /// Always [`RELEASE_FORMAT`].
    pub format: String,
    /// X.Y.Z.
    pub version: String,
    /// vX.Y.Z.
    pub release_tag: String,
    /// The commit whose contracts were recorded.
    pub commit_sha: String,
    /// The contract versions released.
    pub contracts: ReleasedVersions,
    /// The CHANGELOG as released.
    pub changelog: String,
    /// Every recorded contract file.
    pub files: Vec<ReleasedFile>,
}

/// A recorded release.
#[derive(Debug, Clone)]
pub struct RecordedRelease {
    /// X.Y.Z.
    pub version: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its record.
    pub record: ReleaseRecord,
}

impl RecordedRelease {
    /// The released text of the repo-relative contract file `path`, if it was released.
    ///
    /// # Errors
    /// When the recorded file cannot be read.
    pub fn file(&self, path: &str) -> Result<Option<String>> {
        let Some(file) = self.record.files.iter().find(|file| file.path == path) else {
            return Ok(None);
        };
        if hex::encode(Sha256::digest(file.text.as_bytes())) != file.sha256 {
            bail!(
                "{RELEASES_DIR}/{}/{RELEASE_FILE}: the recorded {path} does not match its sha256",
                self.version
            );
        }
        Ok(Some(file.text.clone()))
    }

    /// The CHANGELOG as released.
    ///
    /// # Errors
    /// Never today; kept fallible for records that store it elsewhere.
    pub fn changelog(&self) -> Result<String> {
        Ok(self.record.changelog.clone())
    }
}

/// `X.Y.Z` as numbers, or `None`.
#[must_use]
pub fn parse_version(version: &str) -> Option<(u64, u64, u64)> {
    let mut parts = version.split('.');
    let mut number = || -> Option<u64> {
        let part = parts.next()?;
        if part.is_empty()
            || !part.bytes().all(|b| b.is_ascii_digit())
            || (part.len() > 1 && part.starts_with('0'))
        {
            return None;
        }
        part.parse().ok()
    };
    let parsed = (number()?, number()?, number()?);
    parts.next().is_none().then_some(parsed)
}

/// Every recorded release under `root`, by version.
///
/// # Errors
/// When a release folder has no readable, valid `release.json` or its name is not X.Y.Z.
pub fn recorded(root: &Path) -> Result<BTreeMap<(u64, u64, u64), RecordedRelease>> {
    let mut out = BTreeMap::new();
    let dir = root.join(RELEASES_DIR);
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {RELEASES_DIR}"))? {
        let entry = entry.with_context(|| format!("cannot list {RELEASES_DIR}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = parse_version(&name) else {
            bail!("{RELEASES_DIR}/{name}: a release folder is named X.Y.Z");
        };
        let path = entry.path().join(RELEASE_FILE);
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read {RELEASES_DIR}/{name}/{RELEASE_FILE}"))?;
        let record: ReleaseRecord = serde_json::from_str(&text).with_context(|| {
            format!("{RELEASES_DIR}/{name}/{RELEASE_FILE} is not a release record")
        })?;
        if record.version != name || record.format != RELEASE_FORMAT {
            bail!(
                "{RELEASES_DIR}/{name}/{RELEASE_FILE}: format {:?} version {:?}, expected \
                 {RELEASE_FORMAT:?} and {name:?}",
                record.format,
                record.version
            );
        }
        out.insert(
            number,
            RecordedRelease {
                version: name,
                dir: entry.path(),
                record,
            },
        );
    }
    Ok(out)
}

/// The newest recorded release, if any.
///
/// # Errors
/// As [`recorded`].
pub fn newest(root: &Path) -> Result<Option<RecordedRelease>> {
    Ok(recorded(root)?.into_values().next_back())
}

/// The recorded release `version`, if any.
///
/// # Errors
/// As [`recorded`].
pub fn find(root: &Path, version: &str) -> Result<Option<RecordedRelease>> {
    Ok(recorded(root)?
        .into_values()
        .find(|release| release.version == version))
}

/// Runs `cargo xtask release`.
///
/// # Errors
/// A bad or already recorded version, a tree without a git HEAD, or a write failure.
pub fn run(sh: &Shell, args: &Release) -> Result<()> {
    match &args.command {
        ReleaseCommand::Cut { version } => {
            let root = sh.current_dir();
            cut(&root, version)?;
            crate::codegen::run(sh, &crate::codegen::Codegen { check: false })?;
            println!(
                "recorded release {version} in {RELEASES_DIR}/{version}/; commit the result \
                 (`git add -A && git commit`)"
            );
            Ok(())
        }
    }
}

/// Records release `version` of the tree at `root` (see [`Release`]); does not run codegen.
///
/// # Errors
/// A bad or already recorded version, a tree without a git HEAD, or a write failure.
pub fn cut(root: &Path, version: &str) -> Result<RecordedRelease> {
    if parse_version(version).is_none() {
        bail!("{version:?} is not a release version: give three numbers, X.Y.Z (e.g. 0.1.0)");
    }
    if find(root, version)?.is_some() {
        bail!("release {version} is already recorded in {RELEASES_DIR}/{version}/");
    }
    let commit_sha = git::resolve(root, "HEAD")
        .context("a release names its commit, so it is cut in a git checkout with a HEAD")?;
    let release_tag = format!("v{version}");
    let dir = root.join(RELEASES_DIR).join(version);

    // Everything is prepared first and the release folder written before the CHANGELOG and
    // the manifest change, so a failure leaves the tree as it was (the folder is removed).
    let changelog_path = root.join(CHANGELOG_PATH);
    let changelog = fs::read_to_string(&changelog_path)
        .with_context(|| format!("cannot read {CHANGELOG_PATH}"))?;
    let released_changelog = release_changelog(&changelog, version)?;
    let manifest_path = root.join(MANIFEST_PATH);
    let manifest = fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {MANIFEST_PATH}"))?;
    let manifest = set_json_string(&manifest, "release_tag", &release_tag)?;
    let manifest = set_json_string(&manifest, "commit_sha", &commit_sha)?;
    let corrections = CorrectionList::load(root)?;

    let record = write_baseline(
        root,
        &dir,
        version,
        &release_tag,
        &commit_sha,
        &released_changelog,
    )
    .inspect_err(|_| {
        // Best effort: the folder is new, so removing it restores the tree.
        let _ = fs::remove_dir_all(&dir);
    })?;
    atomic_file::write(&manifest_path, manifest.as_bytes())?;
    atomic_file::write(&changelog_path, released_changelog.as_bytes())?;
    // The new baseline records the corrected documents, so the corrections of the previous
    // release have nothing left to amend.
    if corrections.is_some() {
        atomic_file::write_json(
            &root.join(CORRECTIONS_PATH),
            &CorrectionList::empty(version),
        )?;
    }
    Ok(RecordedRelease {
        version: version.to_owned(),
        dir,
        record,
    })
}

/// Writes the release folder: `release.json` with every contract file and the CHANGELOG.
fn write_baseline(
    root: &Path,
    dir: &Path,
    version: &str,
    release_tag: &str,
    commit_sha: &str,
    changelog: &str,
) -> Result<ReleaseRecord> {
    let mut files = Vec::new();
    for path in contract_files(root)? {
        let text =
            fs::read_to_string(root.join(&path)).with_context(|| format!("cannot read {path}"))?;
        files.push(ReleasedFile {
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            path,
            text,
        });
    }
    let record = ReleaseRecord {
        format: RELEASE_FORMAT.to_owned(),
        version: version.to_owned(),
        release_tag: release_tag.to_owned(),
        commit_sha: commit_sha.to_owned(),
        contracts: versions_of(root, &files)?,
        changelog: changelog.to_owned(),
        files,
    };
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    atomic_file::write_json(&dir.join(RELEASE_FILE), &record)?;
    Ok(record)
}

/// The contract versions of the released files.
fn versions_of(root: &Path, files: &[ReleasedFile]) -> Result<ReleasedVersions> {
    let mut out = ReleasedVersions::default();
    let read = |path: &str| -> Result<serde_json::Value> {
        let text =
            fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))?;
        serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))
    };
    if files.iter().any(|file| file.path == SOURCE_OF_TRUTH_PATH) {
        let source = read(SOURCE_OF_TRUTH_PATH)?;
        let field = |name: &str| source[name].as_str().map(str::to_owned);
        out.service = field("expected_service_contract_version");
        out.api = field("expected_api_contract_version");
        out.integration = field("integration_baseline");
    }
    for file in files
        .iter()
        .filter(|file| file.path.starts_with("contracts/v1/"))
    {
        if let Some(version) = read(&file.path)?["properties"]["contract_version"]["const"].as_str()
            && !out.cli.iter().any(|have| have == version)
        {
            out.cli.push(version.to_owned());
        }
    }
    Ok(out)
}

/// The CHANGELOG with its `## Unreleased` section renamed `## X.Y.Z`, under a new empty
/// `## Unreleased`.
///
/// # Errors
/// When there is no `## Unreleased` heading.
pub fn release_changelog(changelog: &str, version: &str) -> Result<String> {
    let heading = "\n## Unreleased\n";
    let Some(at) = changelog.find(heading) else {
        bail!("{CHANGELOG_PATH} has no `## Unreleased` section to release");
    };
    let mut out = String::with_capacity(changelog.len() + 32);
    out.push_str(&changelog[..at]);
    out.push_str(&format!("\n## Unreleased\n\n## {version}\n"));
    out.push_str(&changelog[at + heading.len()..]);
    Ok(out)
}

/// `text` (a JSON document) with the string value of the first `"key": "…"` replaced, keeping
/// every other byte (a parse and re-serialisation would reorder the keys).
fn set_json_string(text: &str, key: &str, value: &str) -> Result<String> {
    let needle = format!("\"{key}\":");
    let Some(at) = text.find(&needle) else {
        bail!("{MANIFEST_PATH} has no {key:?} field");
    };
    let after = at + needle.len();
    let rest = &text[after..];
    let open = rest
        .find('"')
        .with_context(|| format!("{MANIFEST_PATH}: {key} is not a string"))?;
    let close = rest[open + 1..]
        .find('"')
        .with_context(|| format!("{MANIFEST_PATH}: {key} is not a string"))?;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..after + open + 1]);
    out.push_str(value);
    out.push_str(&rest[open + 1 + close..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_three_plain_numbers() {
        assert_eq!(parse_version("0.1.0"), Some((0, 1, 0)));
        assert_eq!(parse_version("10.20.30"), Some((10, 20, 30)));
        for bad in [
            "", "1", "1.2", "1.2.3.4", "v1.2.3", "01.2.3", "1.2.x", "1..3",
        ] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_unreleased_section_becomes_the_release() {
        let released = release_changelog("# Changelog\n\n## Unreleased\n\n- a\n", "0.1.0").unwrap();
        assert_eq!(
            released,
            "# Changelog\n\n## Unreleased\n\n## 0.1.0\n\n- a\n"
        );
        assert!(release_changelog("# Changelog\n", "0.1.0").is_err());
    }

    #[test]
    fn a_json_string_is_replaced_in_place() {
        let text = "{\n  \"release_tag\": \"v0.0.0\",\n  \"z\": 1\n}\n";
        assert_eq!(
            set_json_string(text, "release_tag", "v0.1.0").unwrap(),
            "{\n  \"release_tag\": \"v0.1.0\",\n  \"z\": 1\n}\n"
        );
        assert!(set_json_string(text, "commit_sha", "x").is_err());
    }
}
