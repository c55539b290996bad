//! `cargo xtask contracts diff --since REF`: every contract change since a git ref,
//! classified, and the versioning rules of `docs/spec/versioning.md` enforced.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;
use similar::{ChangeTag, TextDiff};
use xshell::Shell;

use super::classify::{self, Change, Severity};
use super::corrections::{CORRECTIONS_PATH, CorrectionList, Matcher};
use crate::drift::normalise_newlines;
use crate::findings::Findings;
use crate::git;
use crate::pack::{CHANGELOG_PATH, SOURCE_OF_TRUTH_PATH};

/// Classify every contract change since a release as breaking or additive, and enforce the rules
///
/// Compares each contract file of the newest recorded release (contracts/releases/X.Y.Z/,
/// or --release X.Y.Z, or a git ref with --since REF) with the work tree: every JSON
/// Schema in a `schemas/` folder under contracts/, the OpenAPI copy contracts/openapi/*.yaml
/// and contracts/integration/v1/service-contract-source-of-truth.json. Each change is
/// listed as breaking (property, definition, endpoint, status or error code removed; type or
/// const changed; new required field; enum value removed; object closed; constraint or $ref
/// changed; codes reordered) or additive (something added, loosened or re-documented).
///
/// The rules (docs/spec/versioning.md), each a failure:
///
///   version bump   a breaking change needs its contract's version bumped since REF:
///                  contracts/v1/ → the CLI `contract_version` const (cli.vN);
///                  contracts/openapi/ → the service version (service.vN);
///                  contracts/integration/ → the integration baseline, service or API
///                  version in the source of truth.
///   changelog      every changed contract file needs a CHANGELOG.md line added since REF
///                  that names the file (path or file name) or its contract (service.v3,
///                  api.v1, integration/v1, cli.v1).
///
///   corrections    against the release it names, contracts/governance/contract-corrections.json
///                  turns each listed breaking change (file, JSON pointer, keyword, value
///                  before and after) into a `correction` (the release's service already
///                  enforced the rule) or `breaking (accepted)`; a listed node the diff does
///                  not show, an entry no added CHANGELOG.md entry names in backticks (an
///                  accepted one must be called breaking there), and a list of another
///                  release are failures. Not applied with --since.
///
/// How to fix a failure: make the change additive, or bump the contract version (and say so
/// in CHANGELOG.md); add the missing CHANGELOG.md entry; list a reviewed correction, or
/// remove a stale one. `cargo xtask verify` runs this
/// against the newest release recorded in contracts/releases/ (`cargo xtask release cut`), and
/// reports SKIP when none is recorded; without --since or --release this command does too.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Diff {
    /// Compare with a git ref instead (a branch or a commit).
    #[arg(long, value_name = "REF", conflicts_with = "release")]
    pub since: Option<String>,
    /// Compare with this recorded release (X.Y.Z in contracts/releases/); the default is the
    /// newest recorded release.
    #[arg(long, value_name = "X.Y.Z")]
    pub release: Option<String>,
}

/// Runs the diff on the tree the shell is rooted at.
///
/// # Errors
/// When a rule is broken, the release is not recorded, or git cannot answer.
pub fn run(sh: &Shell, args: &Diff) -> Result<()> {
    let root = sh.current_dir();
    if let Some(since) = &args.since {
        return check(&root, since)?.report(&format!("cargo xtask contracts diff --since {since}"));
    }
    let release = match &args.release {
        Some(version) => crate::release::find(&root, version)?.with_context(|| {
            format!(
                "release {version} is not recorded in {}: `cargo xtask release cut {version}` \
                 records it",
                crate::release::RELEASES_DIR
            )
        })?,
        None => match crate::release::newest(&root)? {
            Some(release) => release,
            None => anyhow::bail!(
                "no release is recorded in {}: record one with `cargo xtask release cut X.Y.Z`, \
                 or compare with a git ref (--since REF)",
                crate::release::RELEASES_DIR
            ),
        },
    };
    check_release(&root, &release)?.report(&format!(
        "cargo xtask contracts diff --release {}",
        release.version
    ))
}

/// The `contracts-diff` gate: the diff against the newest recorded release, or SKIP when
/// none is recorded.
///
/// # Errors
/// When a rule is broken.
pub fn gate(sh: &Shell) -> Result<()> {
    let root = sh.current_dir();
    let mut findings = Findings::new();
    match crate::release::newest(&root)? {
        Some(release) => {
            println!(
                "comparing the contracts with release {}, the newest baseline recorded in {}",
                release.version,
                crate::release::RELEASES_DIR
            );
            findings = check_release(&root, &release)?;
        }
        None => findings.skip(format!(
            "no release baseline is recorded in {}, so there is no released contract to \
             compare with: record one with `cargo xtask release cut X.Y.Z`",
            crate::release::RELEASES_DIR
        )),
    }
    findings.gate("cargo xtask contracts diff")
}

/// What contract a file belongs to, and which version bumps cover a breaking change in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contract {
    Cli,
    Service,
    Integration,
}

/// The contract versions of one tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Versions {
    cli: BTreeSet<String>,
    service: Option<String>,
    api: Option<String>,
    integration: Option<String>,
}

impl Contract {
    fn of(path: &str) -> Option<Self> {
        if path.starts_with("contracts/v1/") {
            Some(Contract::Cli)
        } else if path.starts_with("contracts/openapi/") {
            Some(Contract::Service)
        } else if path.starts_with("contracts/integration/") {
            Some(Contract::Integration)
        } else {
            None
        }
    }

    /// Whether the version change from `old` to `new` covers a breaking change here.
    fn bumped(self, old: &Versions, new: &Versions) -> bool {
        match self {
            Contract::Cli => old.cli != new.cli,
            Contract::Service => old.service != new.service,
            Contract::Integration => {
                old.integration != new.integration
                    || old.service != new.service
                    || old.api != new.api
            }
        }
    }

    /// Words that name this contract in a CHANGELOG entry.
    fn labels(self, versions: &Versions) -> Vec<String> {
        match self {
            Contract::Cli => versions.cli.iter().cloned().collect(),
            Contract::Service => versions.service.iter().cloned().collect(),
            Contract::Integration => versions
                .integration
                .iter()
                .chain(versions.service.iter())
                .chain(versions.api.iter())
                .cloned()
                .collect(),
        }
    }

    fn bump_hint(self) -> &'static str {
        match self {
            Contract::Cli => "bump the CLI contract_version (cli.vN) in contracts/v1/schemas",
            Contract::Service => {
                "bump the service version (service.vN) in the service and the source of truth"
            }
            Contract::Integration => {
                "bump integration_baseline (or the service/API version) in the source of truth"
            }
        }
    }
}

/// Whether a repo-relative path is a governed contract file (release baselines under
/// `contracts/releases/` are copies, not contract files).
fn is_contract_file(path: &str) -> bool {
    if path.starts_with(crate::release::RELEASES_DIR) {
        return false;
    }
    let schema = path.ends_with(".json")
        && path
            .rsplit('/')
            .nth(1)
            .is_some_and(|parent| parent == "schemas");
    let openapi = path.starts_with("contracts/openapi/")
        && (path.ends_with(".yaml") || path.ends_with(".yml"));
    path.starts_with("contracts/") && (schema || openapi || path == SOURCE_OF_TRUTH_PATH)
}

/// Every contract file of the work tree at `root`, repo-relative, sorted.
///
/// # Errors
/// When a folder cannot be listed.
pub fn contract_files(root: &Path) -> Result<Vec<String>> {
    let mut files = BTreeSet::new();
    walk(root, "contracts", &mut files)?;
    Ok(files.into_iter().collect())
}

/// Every rule, comparing the tree at `root` with git ref `since` of the repository there.
///
/// # Errors
/// When `since` is unknown or git cannot read the old files.
pub fn check(root: &Path, since: &str) -> Result<Findings> {
    let commit = git::resolve(root, since)?;
    let old_files: BTreeSet<String> = git::files_at(root, &commit, "contracts")?
        .into_iter()
        .filter(|path| is_contract_file(path))
        .collect();
    let read_old = |path: &str| -> Result<Option<String>> {
        if old_files.contains(path) {
            git::show(root, &commit, path).map(Some)
        } else {
            Ok(None)
        }
    };
    let old_changelog = git::file_at(root, &commit, CHANGELOG_PATH)?.unwrap_or_default();
    let mut findings = compare(root, since, &old_files, &read_old, old_changelog, None)?;
    if let Some(list) = CorrectionList::load(root)?
        && !list.corrections.is_empty()
    {
        findings.note(format!(
            "the corrections in {CORRECTIONS_PATH} amend release {} and apply only when \
             comparing with it (`--release {}`), not with a git ref",
            list.release, list.release
        ));
    }
    Ok(findings)
}

/// Every rule, comparing the tree at `root` with a recorded release baseline.
///
/// # Errors
/// When a recorded file cannot be read.
pub fn check_release(root: &Path, release: &crate::release::RecordedRelease) -> Result<Findings> {
    let old_files: BTreeSet<String> = release
        .record
        .files
        .iter()
        .map(|file| file.path.clone())
        .collect();
    let read_old = |path: &str| release.file(path);
    let label = format!("release {}", release.version);
    let list = CorrectionList::load(root)?;
    compare(
        root,
        &label,
        &old_files,
        &read_old,
        release.changelog()?,
        list.as_ref().map(|list| (list, release.version.as_str())),
    )
}

/// The rules, comparing the work tree with the old files `old_files` read through
/// `read_old`; `since` names the old side in messages. `corrections` is the list of
/// documented corrections with the release compared with, when that is a recorded release.
fn compare(
    root: &Path,
    since: &str,
    old_files: &BTreeSet<String>,
    read_old: &dyn Fn(&str) -> Result<Option<String>>,
    old_changelog: String,
    corrections: Option<(&CorrectionList, &str)>,
) -> Result<Findings> {
    let mut new_files = BTreeSet::new();
    walk(root, "contracts", &mut new_files)?;
    let all: BTreeSet<&String> = old_files.iter().chain(new_files.iter()).collect();
    let read_new = |path: &str| -> Result<Option<String>> {
        if new_files.contains(path) {
            fs::read_to_string(root.join(path))
                .map(Some)
                .with_context(|| format!("cannot read {path}"))
        } else {
            Ok(None)
        }
    };
    let old_versions = versions(old_files, read_old)?;
    let new_versions = versions(&new_files, &read_new)?;
    let changelog_added = changelog_additions(
        old_changelog,
        fs::read_to_string(root.join(CHANGELOG_PATH)).unwrap_or_default(),
    );

    let mut findings = Findings::new();
    let mut matcher =
        corrections.and_then(|(list, release)| Matcher::new(list, release, &mut findings));
    let mut changed = 0;
    for path in all {
        let Some(contract) = Contract::of(path) else {
            continue;
        };
        let old = read_old(path)?;
        let new = read_new(path)?;
        let mut changes = match classify_file(path, old.as_deref(), new.as_deref()) {
            Ok(changes) => changes,
            Err(problem) => {
                findings.problem(problem);
                continue;
            }
        };
        if changes.is_empty() {
            continue;
        }
        if let Some(matcher) = matcher.as_mut() {
            matcher.apply(path, &mut changes);
        }
        changed += 1;
        for change in &changes {
            findings.note(format!("{}: {path}: {}", change.severity, change.what));
        }
        let breaking: Vec<&Change> = changes
            .iter()
            .filter(|change| change.severity == Severity::Breaking)
            .collect();
        if !breaking.is_empty() && !contract.bumped(&old_versions, &new_versions) {
            findings.problem(format!(
                "breaking change without a contract-version bump since {since}: {path}: {}; \
                 {} or make the change additive (docs/spec/versioning.md)",
                breaking
                    .iter()
                    .map(|change| change.what.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                contract.bump_hint()
            ));
        }
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let mut names = vec![path.clone(), file_name.to_owned()];
        names.extend(contract.labels(&new_versions));
        if !names
            .iter()
            .any(|name| changelog_added.contains(name.as_str()))
        {
            findings.problem(format!(
                "{path} changed since {since} but no CHANGELOG.md entry added since then names \
                 it or its contract ({}): add one under `## Unreleased`",
                names.join(", ")
            ));
        }
    }
    if let Some(matcher) = matcher {
        matcher.finish(&changelog_added, &mut findings);
    }
    if changed == 0 {
        findings.note(format!("no contract file changed since {since}"));
    }
    Ok(findings)
}

/// The classified changes of one file; `Err` is a problem (a file that does not parse).
fn classify_file(
    path: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> std::result::Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    match (old, new) {
        (None, None) => {}
        (Some(_), None) => changes.push(Change {
            severity: Severity::Breaking,
            what: "file removed".to_owned(),
            rule: None,
        }),
        (None, Some(_)) => changes.push(Change {
            severity: Severity::Additive,
            what: "file added".to_owned(),
            rule: None,
        }),
        (Some(old), Some(new)) => {
            if normalise_newlines(old) == normalise_newlines(new) {
                return Ok(changes);
            }
            let old_value =
                parse(path, old).map_err(|error| format!("{path} at the ref: {error}"))?;
            let new_value = parse(path, new).map_err(|error| format!("{path}: {error}"))?;
            if path == SOURCE_OF_TRUTH_PATH {
                classify::source_of_truth(&old_value, &new_value, &mut changes);
            } else if path.starts_with("contracts/openapi/") {
                classify::openapi(&old_value, &new_value, &mut changes);
            } else {
                classify::schema(&old_value, &new_value, "", &mut changes);
            }
            if changes.is_empty() && old_value != new_value {
                changes.push(Change {
                    severity: Severity::Additive,
                    what: "other change".to_owned(),
                    rule: None,
                });
            }
        }
    }
    Ok(changes)
}

fn parse(path: &str, text: &str) -> std::result::Result<Value, String> {
    if path.ends_with(".json") {
        serde_json::from_str(text).map_err(|error| format!("not JSON: {error}"))
    } else {
        serde_norway::from_str(text).map_err(|error| format!("not YAML: {error}"))
    }
}

/// The contract versions of a tree, read through `read`.
fn versions(
    files: &BTreeSet<String>,
    read: &dyn Fn(&str) -> Result<Option<String>>,
) -> Result<Versions> {
    let mut out = Versions::default();
    if let Some(text) = read(SOURCE_OF_TRUTH_PATH)?
        && let Ok(source) = serde_json::from_str::<Value>(&text)
    {
        let field = |name: &str| source[name].as_str().map(str::to_owned);
        out.service = field("expected_service_contract_version");
        out.api = field("expected_api_contract_version");
        out.integration = field("integration_baseline");
    }
    for path in files
        .iter()
        .filter(|path| path.starts_with("contracts/v1/"))
    {
        if let Some(text) = read(path)?
            && let Ok(schema) = serde_json::from_str::<Value>(&text)
            && let Some(version) = schema["properties"]["contract_version"]["const"].as_str()
        {
            out.cli.insert(version.to_owned());
        }
    }
    Ok(out)
}

/// The lines added to the changelog between `old` and `new`, joined.
fn changelog_additions(old: String, new: String) -> String {
    let old = normalise_newlines(&old);
    let new = normalise_newlines(&new);
    TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .filter(|change| change.tag() == ChangeTag::Insert)
        .map(|change| change.value().to_owned())
        .collect()
}

/// Every contract file under `dir` in the work tree.
fn walk(root: &Path, dir: &str, out: &mut BTreeSet<String>) -> Result<()> {
    let full = root.join(dir);
    if !full.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(&full).with_context(|| format!("cannot list {dir}"))? {
        let entry = entry.with_context(|| format!("cannot list {dir}"))?;
        let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {path}"))?;
        if kind.is_dir() {
            walk(root, &path, out)?;
        } else if kind.is_file() && is_contract_file(&path) {
            out.insert(path);
        }
    }
    Ok(())
}
