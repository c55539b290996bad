//! `cargo xtask parity`: every consumer mirror of the integration pack is an exact copy of
//! the canonical `contracts/integration/v1/` (SPEC §8.5, MKR-057).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
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
/// A mirror folder that does not exist is a problem, or a note with --allow-missing. With
/// no mirror registered and none given there is nothing to compare, and the check passes
/// with a note.
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
}

/// Runs the parity check on the tree the shell is rooted at.
///
/// # Errors
/// When a mirror differs, or a folder cannot be read.
pub fn run(sh: &Shell, args: &Parity) -> Result<()> {
    let extra: Vec<PathBuf> = args
        .mirrors
        .iter()
        .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone()))
        .collect();
    check(&sh.current_dir(), &extra, args.allow_missing)?.report("cargo xtask parity")
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
        findings.note(format!(
            "no mirror registered in {MIRRORS_PATH} and none given with --mirror: nothing to \
             compare"
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
