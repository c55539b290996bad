//! Building the bundle: the governed artifacts, `evidence.json`, `provenance.intoto.json` and
//! `SHA256SUMS` under one top folder, as a deterministic `.tar.gz` written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use super::artifacts::{self, sha256_hex};
use super::document::{Evidence, GateRun, SourceState};
use super::provenance::Statement;
use super::tarball::{self, Entry};
use crate::git;

/// The file inside the top folder that holds the evidence document.
pub const EVIDENCE_FILE: &str = "evidence.json";
/// The file inside the top folder that holds the checksums of every other file.
pub const SUMS_FILE: &str = "SHA256SUMS";
/// The file inside the top folder that holds the in-toto statement.
pub const PROVENANCE_FILE: &str = "provenance.intoto.json";
/// The top folder (and file name stem) is this prefix followed by the release tag.
pub const NAME_PREFIX: &str = "memorykernel-evidence-";

/// What a run adds to the tree's own content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The gates the run ran, in order, and how each ended.
    pub gates: Vec<GateRun>,
    /// `rustc --version`.
    pub toolchain: String,
    /// `SOURCE_DATE_EPOCH`, when set: the entries' mtime instead of HEAD's commit time.
    pub source_date_epoch: Option<String>,
}

/// A built bundle, not yet written.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `memorykernel-evidence-<tag>`.
    pub top: String,
    /// `memorykernel-evidence-<tag>.tar.gz`.
    pub file_name: String,
    /// Its `evidence.json`.
    pub evidence: Evidence,
    /// How many files it holds.
    pub files: usize,
    /// The `.tar.gz` bytes.
    pub bytes: Vec<u8>,
}

impl Bundle {
    /// Lowercase hex sha256 of the `.tar.gz`.
    #[must_use]
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
}

/// The top folder for `release_tag`.
#[must_use]
pub fn top_folder(release_tag: &str) -> String {
    format!("{NAME_PREFIX}{release_tag}")
}

/// Builds the bundle of the git checkout at `root`.
///
/// # Errors
/// When `root` is not a git checkout, the manifest's release tag is not `vX.Y.Z`,
/// `SOURCE_DATE_EPOCH` is not a number of seconds, or a governed file cannot be read.
pub fn build(root: &Path, inputs: &Inputs) -> Result<Bundle> {
    if !git::is_checkout(root) {
        bail!(
            "{} is not the top of a git checkout: release evidence records the commit it was \
             built from",
            root.display()
        );
    }
    let head = git::resolve(root, "HEAD")?;
    let tree_dirty = is_dirty(root)?;
    let mtime = match &inputs.source_date_epoch {
        Some(text) => text.trim().parse::<u64>().with_context(|| {
            format!("SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970")
        })?,
        None => u64::try_from(git::commit_time(root, "HEAD")?)
            .context("HEAD's commit time is before 1970")?,
    };
    let artifacts = artifacts::collect(root, &BTreeMap::new())?;
    let source = SourceState {
        git_head: head.clone(),
        tree_dirty,
    };
    let evidence = Evidence::summary(root, &artifacts)?.into_bundle(inputs.gates.clone(), source);
    let tag = &evidence.runtime_baseline.release_tag;
    if !git::is_release_tag(tag) {
        bail!(
            "the manifest's release_tag {tag:?} is not vX.Y.Z, so it cannot name the bundle: \
             fix it (`cargo xtask manifest`)"
        );
    }
    let top = top_folder(tag);
    let statement = Statement::new(&evidence.artifacts, &head, tree_dirty, &inputs.toolchain);
    let mut provenance =
        serde_json::to_string_pretty(&statement).context("cannot serialise the provenance")?;
    provenance.push('\n');

    let mut files: Vec<(String, Vec<u8>, bool)> = artifacts
        .into_iter()
        .map(|artifact| (artifact.path, artifact.bytes, artifact.executable))
        .collect();
    files.push((
        EVIDENCE_FILE.to_owned(),
        evidence.render()?.into_bytes(),
        false,
    ));
    files.push((PROVENANCE_FILE.to_owned(), provenance.into_bytes(), false));
    let sums = sha256sums(
        files
            .iter()
            .map(|(path, bytes, _)| (path.as_str(), &bytes[..])),
    );
    files.push((SUMS_FILE.to_owned(), sums.into_bytes(), false));

    let entries: Vec<Entry> = files
        .into_iter()
        .map(|(path, bytes, executable)| Entry {
            path: format!("{top}/{path}"),
            bytes,
            executable,
        })
        .collect();
    let count = entries.len();
    let bytes = tarball::tar_gz(&entries, mtime)?;
    Ok(Bundle {
        file_name: format!("{top}.tar.gz"),
        top,
        evidence,
        files: count,
        bytes,
    })
}

/// `SHA256SUMS` in `sha256sum -c` format: `<hex>  <path>` per file, sorted by path.
#[must_use]
pub fn sha256sums<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut lines: Vec<(&str, String)> = files
        .into_iter()
        .map(|(path, bytes)| (path, sha256_hex(bytes)))
        .collect();
    lines.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    lines
        .into_iter()
        .map(|(path, digest)| format!("{digest}  {path}\n"))
        .collect()
}

/// Whether `git status --porcelain` lists anything (ignored files do not count).
///
/// # Errors
/// When git cannot answer.
pub fn is_dirty(root: &Path) -> Result<bool> {
    let sh = Shell::new().context("cannot start a shell for git")?;
    let status = cmd!(sh, "git -C {root} status --porcelain")
        .quiet()
        .read()
        .context("git status failed")?;
    Ok(!status.trim().is_empty())
}

/// Writes `bundle` into `dir` (created when missing): a temporary file in `dir`, renamed to
/// `dir/<file_name>` once complete, so a reader never sees half a tarball.
///
/// # Errors
/// When `dir` cannot be created or written.
pub fn write(dir: &Path, bundle: &Bundle) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(&bundle.file_name);
    crate::atomic_file::write(&path, &bundle.bytes)?;
    Ok(path)
}

/// `rustc --version`, run in `root` (so a `rust-toolchain.toml` there applies).
///
/// # Errors
/// When rustc cannot be run.
pub fn toolchain(root: &Path) -> Result<String> {
    let sh = Shell::new().context("cannot start a shell")?;
    sh.change_dir(root);
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    cmd!(sh, "{rustc} --version")
        .quiet()
        .read()
        .map(|text| text.trim().to_owned())
        .context("cannot run `rustc --version`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_sorted_in_sha256sum_format() {
        let sums = sha256sums([("b", &b""[..]), ("a/x", &b""[..])]);
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sums, format!("{empty}  a/x\n{empty}  b\n"));
    }
}
