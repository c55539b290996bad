//! Reading and verifying a bundle, entirely in memory and under size caps: nothing is ever
//! extracted, so no entry name can reach the file system.
//!
//! Layers, each refused with its own [`VerifyError`]: the gzip stream (truncated, corrupt,
//! trailing bytes), the tar (malformed), each entry (absolute or `..` or non-normal path, a
//! link, a device or FIFO, a directory, a duplicate, over the cap, outside the one top folder,
//! a header our writer never makes), then the content: `SHA256SUMS` covers exactly the other
//! files and each line matches, `evidence.json` lists every other file with its size and
//! sha256, the in-toto subjects equal those artifacts, and with a repository every artifact
//! equals its work-tree file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read};
use std::path::Path;

use tar::EntryType;

use super::artifacts::{self, sha256_hex};
use super::bundle::{EVIDENCE_FILE, PROVENANCE_FILE, SUMS_FILE, top_folder};
use super::document::{EVIDENCE_BUNDLE_VERSION, Evidence, SCHEMA_PATH, Scope};
use super::provenance::{self, BUILDER, PREDICATE_TYPE, STATEMENT_TYPE, Statement};
pub use super::verify_error::{VerifyError, VerifyFailure};
use crate::schemas::ContractSchemas;

/// The caps the reader enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The `.tar.gz` file.
    pub compressed: u64,
    /// The uncompressed tar.
    pub uncompressed: u64,
    /// One entry.
    pub entry: u64,
    /// The number of entries.
    pub entries: usize,
}

impl Default for Limits {
    /// 64 MiB compressed, 256 MiB uncompressed, 32 MiB per entry, 10 000 entries: far above
    /// any real bundle (a few hundred KiB), far below what would hurt.
    fn default() -> Self {
        Self {
            compressed: 64 << 20,
            uncompressed: 256 << 20,
            entry: 32 << 20,
            entries: 10_000,
        }
    }
}

/// What a bundle that passed holds.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The top folder.
    pub top: String,
    /// Its files (paths under the top folder) and their bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Its `evidence.json`.
    pub evidence: Evidence,
}

/// Verifies the `.tar.gz` at `path`; with `repo`, also against that work tree.
///
/// # Errors
/// Every problem found, each its own [`VerifyError`].
pub fn verify_file(path: &Path, repo: Option<&Path>) -> Result<Verified, VerifyFailure> {
    let limits = Limits::default();
    let size = std::fs::metadata(path)
        .map_err(|error| VerifyError::Unreadable(format!("{}: {error}", path.display())))?
        .len();
    if size > limits.compressed {
        return Err(VerifyError::TooLarge {
            what: "the .tar.gz file",
            limit: limits.compressed,
        }
        .into());
    }
    let bytes = std::fs::read(path)
        .map_err(|error| VerifyError::Unreadable(format!("{}: {error}", path.display())))?;
    verify_bytes(&bytes, repo, &limits)
}

/// Verifies `.tar.gz` bytes under `limits`; with `repo`, also against that work tree.
///
/// # Errors
/// Every problem found: the first structural one (gzip, tar, entry), or every content one.
pub fn verify_bytes(
    bytes: &[u8],
    repo: Option<&Path>,
    limits: &Limits,
) -> Result<Verified, VerifyFailure> {
    let tar = gunzip(bytes, limits)?;
    let (top, files) = read_entries(&tar, limits)?;
    let mut errors = Vec::new();
    for name in [EVIDENCE_FILE, SUMS_FILE, PROVENANCE_FILE] {
        if !files.contains_key(name) {
            errors.push(VerifyError::MissingBundleFile(name));
        }
    }
    if let Some(sums) = files.get(SUMS_FILE) {
        check_sums(&files, sums, &mut errors);
    }
    let evidence = files
        .get(EVIDENCE_FILE)
        .and_then(|bytes| parse_evidence(bytes, &mut errors));
    if let Some(evidence) = &evidence {
        check_evidence(&top, &files, evidence, &mut errors);
        if let Some(bytes) = files.get(PROVENANCE_FILE) {
            check_provenance(bytes, evidence, &mut errors);
        }
        if let Some(root) = repo {
            check_against_repo(root, &files, evidence, &mut errors);
        }
    }
    match (errors.is_empty(), evidence) {
        (true, Some(evidence)) => Ok(Verified {
            top,
            files,
            evidence,
        }),
        _ => Err(VerifyFailure(errors)),
    }
}

/// The whole gzip stream, decompressed under the cap.
fn gunzip(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, VerifyError> {
    if bytes.is_empty() {
        return Err(VerifyError::NotGzip("the file is empty".to_owned()));
    }
    if bytes == [0x1f] {
        return Err(VerifyError::TruncatedGzip);
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(VerifyError::NotGzip(
            "it does not start with the gzip magic bytes".to_owned(),
        ));
    }
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut tar = Vec::new();
    match Read::take(&mut decoder, limits.uncompressed.saturating_add(1)).read_to_end(&mut tar) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::UnexpectedEof => {
            return Err(VerifyError::TruncatedGzip);
        }
        Err(error) => return Err(VerifyError::CorruptGzip(error.to_string())),
    }
    if tar.len() as u64 > limits.uncompressed {
        return Err(VerifyError::TooLarge {
            what: "the uncompressed tar",
            limit: limits.uncompressed,
        });
    }
    let rest = decoder.into_inner();
    if !rest.is_empty() {
        return Err(VerifyError::TrailingData(rest.len()));
    }
    Ok(tar)
}

/// Every entry, checked, as (top folder, path under it → bytes).
fn read_entries(
    tar: &[u8],
    limits: &Limits,
) -> Result<(String, BTreeMap<String, Vec<u8>>), VerifyError> {
    let malformed = |error: std::io::Error| VerifyError::MalformedTar(error.to_string());
    let mut archive = tar::Archive::new(tar);
    let mut top: Option<String> = None;
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    for (index, item) in archive.entries().map_err(malformed)?.enumerate() {
        if index >= limits.entries {
            return Err(VerifyError::TooLarge {
                what: "the number of entries",
                limit: limits.entries as u64,
            });
        }
        let mut entry = item.map_err(malformed)?;
        let raw = entry.path_bytes().into_owned();
        let path = String::from_utf8(raw)
            .map_err(|error| VerifyError::NonUtf8Path(format!("{:?}", error.as_bytes())))?;
        check_kind(&path, entry.header().entry_type())?;
        check_path(&path)?;
        let size = entry.size();
        if size > limits.entry {
            return Err(VerifyError::EntryTooLarge {
                path,
                size,
                limit: limits.entry,
            });
        }
        total = total.saturating_add(size);
        if total > limits.uncompressed {
            return Err(VerifyError::TooLarge {
                what: "the sum of the entries",
                limit: limits.uncompressed,
            });
        }
        check_header(&path, entry.header())?;
        if entry.pax_extensions().map_err(malformed)?.is_some() {
            return Err(VerifyError::NonCanonicalHeader {
                path,
                detail: "it carries PAX records".to_owned(),
            });
        }
        let (first, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
        let top = top.get_or_insert_with(|| first.to_owned());
        if first != top.as_str() || rest.is_empty() {
            return Err(VerifyError::OutsideTopFolder {
                path,
                top: top.clone(),
            });
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(malformed)?;
        if files.insert(rest.to_owned(), bytes).is_some() {
            return Err(VerifyError::DuplicateEntry(path));
        }
    }
    match top {
        Some(top) => Ok((top, files)),
        None => Err(VerifyError::Empty),
    }
}

fn check_kind(path: &str, kind: EntryType) -> Result<(), VerifyError> {
    let path = path.to_owned();
    match kind {
        EntryType::Regular => Ok(()),
        EntryType::Symlink => Err(VerifyError::Link {
            path,
            kind: "symlink",
        }),
        EntryType::Link => Err(VerifyError::Link {
            path,
            kind: "hard link",
        }),
        EntryType::Char => Err(VerifyError::SpecialFile {
            path,
            kind: "character device",
        }),
        EntryType::Block => Err(VerifyError::SpecialFile {
            path,
            kind: "block device",
        }),
        EntryType::Fifo => Err(VerifyError::SpecialFile { path, kind: "fifo" }),
        EntryType::Directory => Err(VerifyError::NotAFile {
            path,
            kind: "directory".to_owned(),
        }),
        other => Err(VerifyError::NotAFile {
            path,
            kind: format!(
                "{other:?} entry (type byte {:?})",
                char::from(other.as_byte())
            ),
        }),
    }
}

fn check_path(path: &str) -> Result<(), VerifyError> {
    let drive = path.len() >= 2 && path.as_bytes()[1] == b':';
    if path.starts_with('/') || path.starts_with('\\') || drive {
        return Err(VerifyError::AbsolutePath(path.to_owned()));
    }
    if path.split(['/', '\\']).any(|part| part == "..") {
        return Err(VerifyError::PathTraversal(path.to_owned()));
    }
    if path.contains('\\') || path.split('/').any(|part| part.is_empty() || part == ".") {
        return Err(VerifyError::NonNormalPath(path.to_owned()));
    }
    Ok(())
}

fn check_header(path: &str, header: &tar::Header) -> Result<(), VerifyError> {
    let problem = |detail: String| VerifyError::NonCanonicalHeader {
        path: path.to_owned(),
        detail,
    };
    match header.mode() {
        Ok(0o644 | 0o755) => {}
        Ok(mode) => return Err(problem(format!("mode {mode:o} (only 644 or 755)"))),
        Err(error) => return Err(problem(format!("unreadable mode: {error}"))),
    }
    if header.uid().ok() != Some(0) || header.gid().ok() != Some(0) {
        return Err(problem("owner is not uid/gid 0".to_owned()));
    }
    Ok(())
}

/// Every line of `SHA256SUMS` matches its file, and it lists every other file exactly once.
fn check_sums(files: &BTreeMap<String, Vec<u8>>, sums: &[u8], errors: &mut Vec<VerifyError>) {
    let Ok(text) = std::str::from_utf8(sums) else {
        errors.push(VerifyError::MalformedSums {
            line: 1,
            text: "(not UTF-8)".to_owned(),
        });
        return;
    };
    let mut listed = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let parsed = line.split_once("  ").filter(|(digest, path)| {
            digest.len() == 64
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && !path.is_empty()
                && *path != SUMS_FILE
        });
        let Some((digest, path)) = parsed else {
            errors.push(VerifyError::MalformedSums {
                line: index + 1,
                text: line.to_owned(),
            });
            continue;
        };
        if !listed.insert(path) {
            errors.push(VerifyError::SumsDuplicate(path.to_owned()));
            continue;
        }
        match files.get(path) {
            None => errors.push(VerifyError::SumsMissingFile(path.to_owned())),
            Some(bytes) => {
                let actual = sha256_hex(bytes);
                if actual != digest {
                    errors.push(VerifyError::SumsMismatch {
                        path: path.to_owned(),
                        listed: digest.to_owned(),
                        actual,
                    });
                }
            }
        }
    }
    for path in files.keys() {
        if path != SUMS_FILE && !listed.contains(path.as_str()) {
            errors.push(VerifyError::SumsUnlisted(path.clone()));
        }
    }
}

fn parse_evidence(bytes: &[u8], errors: &mut Vec<VerifyError>) -> Option<Evidence> {
    let evidence: Evidence = match serde_json::from_slice(bytes) {
        Ok(evidence) => evidence,
        Err(error) => {
            errors.push(VerifyError::MalformedEvidence(error.to_string()));
            return None;
        }
    };
    let mut problems = Vec::new();
    if evidence.evidence_bundle_version != EVIDENCE_BUNDLE_VERSION {
        problems.push(format!(
            "evidence_bundle_version is {:?}, expected {EVIDENCE_BUNDLE_VERSION:?}",
            evidence.evidence_bundle_version
        ));
    }
    if evidence.scope != Scope::ReleaseBundle || evidence.gates.is_none() {
        problems.push("it is not a release-bundle document (scope, gates, source)".to_owned());
    }
    if evidence.source.is_none() {
        problems.push("it has no source (git_head, tree_dirty)".to_owned());
    }
    let paths: Vec<&str> = evidence.artifacts.iter().map(|a| a.path.as_str()).collect();
    if !paths
        .windows(2)
        .all(|pair| pair[0].as_bytes() < pair[1].as_bytes())
    {
        problems.push("artifacts are not sorted by path, or one is listed twice".to_owned());
    }
    errors.extend(problems.into_iter().map(VerifyError::MalformedEvidence));
    Some(evidence)
}

/// Every other file is an artifact of `evidence.json`, with the listed size and digest.
fn check_evidence(
    top: &str,
    files: &BTreeMap<String, Vec<u8>>,
    evidence: &Evidence,
    errors: &mut Vec<VerifyError>,
) {
    let expected = top_folder(&evidence.runtime_baseline.release_tag);
    if top != expected {
        errors.push(VerifyError::TopFolderMismatch {
            top: top.to_owned(),
            expected,
        });
    }
    let mut listed = BTreeSet::new();
    for artifact in &evidence.artifacts {
        listed.insert(artifact.path.as_str());
        let Some(bytes) = files.get(&artifact.path) else {
            errors.push(VerifyError::ArtifactMissing(artifact.path.clone()));
            continue;
        };
        if bytes.len() as u64 != artifact.size {
            errors.push(VerifyError::ArtifactSizeMismatch {
                path: artifact.path.clone(),
                listed: artifact.size,
                actual: bytes.len() as u64,
            });
        }
        let actual = sha256_hex(bytes);
        if actual != artifact.sha256 {
            errors.push(VerifyError::ArtifactDigestMismatch {
                path: artifact.path.clone(),
                listed: artifact.sha256.clone(),
                actual,
            });
        }
    }
    for path in files.keys() {
        let bundle_file = [EVIDENCE_FILE, SUMS_FILE, PROVENANCE_FILE].contains(&path.as_str());
        if !bundle_file && !listed.contains(path.as_str()) {
            errors.push(VerifyError::NotAnArtifact(path.clone()));
        }
    }
}

/// The statement is ours, its subjects are the artifacts and its source is the evidence's.
fn check_provenance(bytes: &[u8], evidence: &Evidence, errors: &mut Vec<VerifyError>) {
    let statement: Statement = match serde_json::from_slice(bytes) {
        Ok(statement) => statement,
        Err(error) => {
            errors.push(VerifyError::MalformedProvenance(error.to_string()));
            return;
        }
    };
    for (field, actual, expected) in [
        ("_type", &statement.statement_type, STATEMENT_TYPE),
        ("predicateType", &statement.predicate_type, PREDICATE_TYPE),
        ("predicate.builder", &statement.predicate.builder, BUILDER),
    ] {
        if actual != expected {
            errors.push(VerifyError::MalformedProvenance(format!(
                "{field} is {actual:?}, expected {expected:?}"
            )));
        }
    }
    let expected = provenance::subjects(&evidence.artifacts);
    if statement.subject != expected {
        let detail = match statement
            .subject
            .iter()
            .zip(&expected)
            .find(|(actual, expected)| actual != expected)
        {
            Some((actual, expected)) => format!(
                "subject {} (sha256 {}) where the artifact is {} (sha256 {})",
                actual.name, actual.digest.sha256, expected.name, expected.digest.sha256
            ),
            None => format!(
                "{} subjects for {} artifacts",
                statement.subject.len(),
                expected.len()
            ),
        };
        errors.push(VerifyError::ProvenanceSubjects(detail));
    }
    if let Some(source) = &evidence.source {
        let predicate = &statement.predicate;
        if predicate.source_commit != source.git_head
            || predicate.source_tree_dirty != source.tree_dirty
        {
            errors.push(VerifyError::ProvenanceSource(format!(
                "source_commit {} (dirty {}) but git_head {} (dirty {})",
                predicate.source_commit,
                predicate.source_tree_dirty,
                source.git_head,
                source.tree_dirty
            )));
        }
    }
}

/// Every artifact equals its work-tree file, the work tree has no governed file the bundle
/// lacks, and `evidence.json` validates against the work tree's schema.
fn check_against_repo(
    root: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    evidence: &Evidence,
    errors: &mut Vec<VerifyError>,
) {
    let tree = match artifacts::collect(root, &BTreeMap::new()) {
        Ok(tree) => tree,
        Err(error) => {
            errors.push(VerifyError::RepoUnreadable(format!("{error:#}")));
            return;
        }
    };
    let tree: BTreeMap<&str, &[u8]> = tree
        .iter()
        .map(|artifact| (artifact.path.as_str(), artifact.bytes.as_slice()))
        .collect();
    for artifact in &evidence.artifacts {
        match (tree.get(artifact.path.as_str()), files.get(&artifact.path)) {
            (None, _) => errors.push(VerifyError::RepoMissing(artifact.path.clone())),
            (Some(ours), Some(theirs)) if ours != theirs => {
                errors.push(VerifyError::RepoDiffers(artifact.path.clone()));
            }
            (Some(ours), None) if sha256_hex(ours) != artifact.sha256 => {
                errors.push(VerifyError::RepoDiffers(artifact.path.clone()));
            }
            _ => {}
        }
    }
    let listed: BTreeSet<&str> = evidence.artifacts.iter().map(|a| a.path.as_str()).collect();
    for path in tree.keys() {
        if !listed.contains(path) {
            errors.push(VerifyError::RepoExtra((*path).to_owned()));
        }
    }
    if let Some(bytes) = files.get(EVIDENCE_FILE) {
        let violations = serde_json::from_slice(bytes)
            .map_err(|error| error.to_string())
            .and_then(|value| {
                ContractSchemas::load(root)
                    .and_then(|schemas| schemas.violations(SCHEMA_PATH, &value))
                    .map_err(|error| format!("{error:#}"))
            });
        match violations {
            Ok(violations) if violations.is_empty() => {}
            Ok(violations) => errors.push(VerifyError::MalformedEvidence(format!(
                "not valid against the work tree's {SCHEMA_PATH}: {}",
                violations.join("; ")
            ))),
            Err(error) => errors.push(VerifyError::RepoUnreadable(error)),
        }
    }
}
