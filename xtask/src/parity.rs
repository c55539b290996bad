//! `cargo xtask parity`: every consumer mirror of the integration pack is an exact copy of
//! the canonical `contracts/integration/v1/` (docs/spec/integration-contract.md, MKR-057).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::Digest;
use xshell::Shell;

use crate::drift::Drift;
use crate::findings::Findings;
use crate::pack::{self, MIRRORS_PATH, PACK_DIR};

/// Compare the canonical integration pack with every consumer mirror of it
///
/// contracts/integration/v1/ is canonical. A mirror is a consumer's copy of it, registered
/// in contracts/integration/mirrors.json
/// (`{"mirrors": [{"name", "path", "consumer", "validation_commands": [...]}]}`, `path`
/// relative to the repository root or absolute) or given with --mirror. For each mirror:
///
///   files      the same set of files (recursively): a file missing from the mirror, or
///              one the canonical pack does not have, is a problem.
///   bytes      every file byte-identical (LF line endings): a text difference is shown as
///              a unified diff, canonical as the expected side.
///   registry   mirror names are unique and each registered mirror lists at least one
///              validation command (the candidate handoff hands them to consumers).
///
/// A mirror folder that does not exist is a problem, or a note with --allow-missing.
///
/// --consumer PATH checks a consumer checkout the way a consumer pins us: its pin file
/// PATH/memorykernel.pin.json (`{"release", "commit_sha", "service_contract_version",
/// "api_contract_version", "integration_baseline", "manifest_sha256", "pack_dir"}`) must name
/// a release recorded in contracts/releases/ with the same commit and contract versions, the
/// sha256 of our producer manifest, and a pack copy (PATH/pack_dir) equal to the canonical
/// pack byte for byte.
///
/// With no mirror registered and no --mirror or --consumer given there is nothing to compare:
/// the check says SKIP, never PASS (an optional gate of `verify`).
///
/// How to fix a failure: copy the canonical files over the mirror's (add the missing ones,
/// delete the extra ones); never edit a mirror by hand. Change the pack in
/// contracts/integration/v1/ instead.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Parity {
    /// Also compare the mirror folder PATH (relative to the current folder); repeatable.
    #[arg(long = "mirror", value_name = "PATH")]
    pub mirrors: Vec<PathBuf>,
    /// A mirror folder that does not exist is a note, not a failure.
    #[arg(long)]
    pub allow_missing: bool,
    /// Also check the consumer checkout PATH (its pin file and pack copy); repeatable.
    #[arg(long = "consumer", value_name = "PATH")]
    pub consumers: Vec<PathBuf>,
}

/// The file a consumer checkout pins us with.
pub const PIN_FILE: &str = "memorykernel.pin.json";

/// A consumer's pin: the release it builds against and what it expects of it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerPin {
    /// The release version, X.Y.Z.
    pub release: String,
    /// The release commit.
    pub commit_sha: String,
    /// Expected `service.vN`.
    pub service_contract_version: String,
    /// Expected `api.vN`.
    pub api_contract_version: String,
    /// Expected `integration/vN`.
    pub integration_baseline: String,
    /// SHA-256 of the producer manifest the consumer copied.
    pub manifest_sha256: String,
    /// The consumer's copy of the integration pack, relative to its checkout.
    pub pack_dir: String,
}

/// Runs the parity check on the tree the shell is rooted at.
///
/// # Errors
/// When a mirror differs, or a folder cannot be read.
pub fn run(sh: &Shell, args: &Parity) -> Result<()> {
    findings(sh, args)?.report("cargo xtask parity")
}

/// The `parity` gate: as [`run`], but SKIP when there is nothing to compare.
///
/// # Errors
/// When a mirror or consumer differs, or there is nothing to compare (a skip).
pub fn gate(sh: &Shell) -> Result<()> {
    findings(sh, &Parity::default())?.gate("cargo xtask parity")
}

fn findings(sh: &Shell, args: &Parity) -> Result<Findings> {
    let absolute = |paths: &[PathBuf]| -> Vec<PathBuf> {
        paths
            .iter()
            .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone()))
            .collect()
    };
    let root = sh.current_dir();
    let consumers = absolute(&args.consumers);
    let mut found = check(&root, &absolute(&args.mirrors), args.allow_missing)?;
    if !consumers.is_empty() {
        found.skipped = None;
    }
    for consumer in &consumers {
        found.extend(check_consumer(&root, consumer)?);
    }
    Ok(found)
}

/// Checks one consumer checkout against the tree at `root` (see [`Parity`]).
///
/// # Errors
/// When the pin file cannot be read or is not a pin, or a folder cannot be listed.
pub fn check_consumer(root: &Path, consumer: &Path) -> Result<Findings> {
    let mut findings = Findings::new();
    let name = consumer.display().to_string();
    let pin_path = consumer.join(PIN_FILE);
    let text = fs::read_to_string(&pin_path)
        .with_context(|| format!("consumer {name}: cannot read {PIN_FILE}"))?;
    let pin: ConsumerPin = serde_json::from_str(&text)
        .with_context(|| format!("consumer {name}: {PIN_FILE} is not a pin file"))?;
    match crate::release::find(root, &pin.release)? {
        None => findings.problem(format!(
            "consumer {name}: pins release {} which is not recorded in {}/",
            pin.release,
            crate::release::RELEASES_DIR
        )),
        Some(release) => {
            let versions = &release.record.contracts;
            let expect = [
                (
                    "commit_sha",
                    &pin.commit_sha,
                    Some(&release.record.commit_sha),
                ),
                (
                    "service_contract_version",
                    &pin.service_contract_version,
                    versions.service.as_ref(),
                ),
                (
                    "api_contract_version",
                    &pin.api_contract_version,
                    versions.api.as_ref(),
                ),
                (
                    "integration_baseline",
                    &pin.integration_baseline,
                    versions.integration.as_ref(),
                ),
            ];
            for (field, pinned, released) in expect {
                if Some(pinned) != released {
                    findings.problem(format!(
                        "consumer {name}: {PIN_FILE} {field} is {pinned:?}, release {} has \
                         {released:?}: re-pin from the release",
                        pin.release
                    ));
                }
            }
        }
    }
    let manifest = fs::read(root.join(crate::pack::MANIFEST_PATH))
        .with_context(|| format!("cannot read {}", crate::pack::MANIFEST_PATH))?;
    let actual = hex::encode(sha2::Sha256::digest(&manifest));
    if pin.manifest_sha256 != actual {
        findings.problem(format!(
            "consumer {name}: {PIN_FILE} manifest_sha256 is {}, the producer manifest {} has \
             {actual}: copy the manifest again and re-pin",
            pin.manifest_sha256,
            crate::pack::MANIFEST_PATH
        ));
    }
    // The pack copy is compared like a mirror (its messages name the copy's folder).
    findings.extend(check(root, &[consumer.join(&pin.pack_dir)], false)?);
    Ok(findings)
}

/// Compares the pack under `root` with the mirrors registered there and `extra` ones.
///
/// # Errors
/// When mirrors.json is malformed or a folder cannot be read.
pub fn check(root: &Path, extra: &[PathBuf], allow_missing: bool) -> Result<Findings> {
    let mut findings = Findings::new();
    let registered = pack::mirrors(root)?.mirrors;
    let mut names = BTreeSet::new();
    let mut targets: Vec<(String, PathBuf)> = Vec::new();
    for mirror in &registered {
        if !names.insert(mirror.name.clone()) {
            findings.problem(format!(
                "{MIRRORS_PATH}: the mirror name {:?} is used twice",
                mirror.name
            ));
        }
        if mirror
            .validation_commands
            .iter()
            .all(|c| c.trim().is_empty())
        {
            findings.problem(format!(
                "{MIRRORS_PATH}: mirror {:?} lists no validation command for consumer {:?}",
                mirror.name, mirror.consumer
            ));
        }
        targets.push((mirror.name.clone(), root.join(&mirror.path)));
    }
    for path in extra {
        targets.push((path.display().to_string(), root.join(path)));
    }
    if targets.is_empty() {
        findings.skip(format!(
            "no consumer mirror is registered in {MIRRORS_PATH} and none was given with \
             --mirror or --consumer: there is nothing to compare"
        ));
        return Ok(findings);
    }
    let canonical_dir = root.join(PACK_DIR);
    let canonical = list(&canonical_dir)?;
    for (name, dir) in targets {
        if !dir.is_dir() {
            let message = format!("mirror {name}: folder {} does not exist", dir.display());
            if allow_missing {
                findings.note(format!("{message} (allowed by --allow-missing)"));
            } else {
                findings.problem(format!(
                    "{message}: create it as a copy of {PACK_DIR}/, or pass --allow-missing"
                ));
            }
            continue;
        }
        if same_folder(&dir, &canonical_dir) {
            findings.problem(format!("mirror {name} is the canonical pack itself"));
            continue;
        }
        let mirrored = list(&dir)?;
        for file in canonical.difference(&mirrored) {
            findings.problem(format!(
                "mirror {name} lacks {file}: copy {PACK_DIR}/{file} into it"
            ));
        }
        for file in mirrored.difference(&canonical) {
            findings.problem(format!(
                "mirror {name} has {file}, which the canonical pack {PACK_DIR}/ does not: \
                 delete it (or add it to the canonical pack)"
            ));
        }
        for file in canonical.intersection(&mirrored) {
            compare(&name, file, &canonical_dir, &dir, &mut findings)?;
        }
    }
    Ok(findings)
}

fn compare(
    name: &str,
    file: &str,
    canonical: &Path,
    mirror: &Path,
    findings: &mut Findings,
) -> Result<()> {
    let expected =
        fs::read(canonical.join(file)).with_context(|| format!("cannot read {PACK_DIR}/{file}"))?;
    let actual = fs::read(mirror.join(file))
        .with_context(|| format!("cannot read {file} in mirror {name}"))?;
    if expected == actual {
        return Ok(());
    }
    let label = format!("mirror {name}: {file}");
    match (String::from_utf8(expected), String::from_utf8(actual)) {
        (Ok(expected), Ok(actual)) => {
            if let Some(drift) = Drift::check(&label, &expected, &actual, "") {
                findings.problem(format!(
                    "mirror {name}: {file} differs from the canonical {PACK_DIR}/{file}:\n{}fix: \
                     copy the canonical file over the mirror's",
                    drift.diff
                ));
            }
        }
        _ => findings.problem(format!(
            "mirror {name}: {file} differs from the canonical {PACK_DIR}/{file} (binary): copy \
             the canonical file over the mirror's"
        )),
    }
    Ok(())
}

fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Every regular file under `dir`, relative, `/`-separated.
fn list(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot stat {}", entry.path().display()))?;
        if kind.is_dir() {
            walk(&entry.path(), &relative, out)?;
        } else if kind.is_file() {
            out.insert(relative);
        }
    }
    Ok(())
}
