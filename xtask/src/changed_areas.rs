//! `cargo xtask changed-areas`: which ownership areas a change touches, who owns them, and
//! the evidence (verify gates) the change needs.
//!
//! [`analyse`] is pure (governance + changed paths → [`Analysis`]); [`resolve_base`] and
//! [`changed_files`] ask git; [`run`] prints the table or the JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use xshell::{Shell, cmd};

use crate::boundaries::Governance;
use crate::boundaries::governance::matches;

/// List the areas a change touches, their owners and the gates the change needs
///
/// Compares the work tree (staged, unstaged and untracked-but-not-ignored files included)
/// with a base commit, maps every changed path (added, modified, deleted) to its ownership
/// area in contracts/governance/boundaries.json, and prints per area the files, the primary
/// and backup owner and the required evidence: the `cargo xtask verify` gates to run.
///
/// The change rules of docs/spec/governance.md add evidence and companions: a service contract change needs
/// the OpenAPI copy, contract tests and manifest/handoff updates; a contract pack change
/// needs parity; a governance check change (xtask/src/) needs its negative fixture
/// (xtask/tests/). A companion that did not change is listed as MISSING.
///
/// Base: --since REF when given; otherwise the merge-base of HEAD and origin/main when
/// that remote branch exists; otherwise HEAD~1; in a repository with one commit, the empty
/// tree (every file counts as changed).
///
/// The exit code is 0 unless --strict is given and a file is unowned or a companion is
/// MISSING. Fix an unowned file by adding it to an area (`cargo xtask boundaries --help`);
/// fix a MISSING companion by making that change too, then run the listed gates (or all of
/// them: `cargo xtask verify`).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct ChangedAreas {
    /// Compare with REF (a commit, tag or branch) instead of the default base.
    #[arg(long, value_name = "REF")]
    pub since: Option<String>,
    /// Print the analysis as JSON (for CI) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero when a changed file is unowned or a companion change is missing.
    #[arg(long)]
    pub strict: bool,
}

/// The commit a change is measured from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Base {
    /// What was asked for, or chosen (`origin/main` merge-base, `HEAD~1`, …).
    pub reference: String,
    /// The full commit id, or git's empty tree id when there is no parent commit.
    pub commit: String,
    /// How the base was chosen, in words.
    pub how: String,
}

/// Git's id of the empty tree: the base of a repository's first commit.
pub const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// What a change touches and needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// Every changed path, sorted.
    pub files: Vec<String>,
    /// The touched areas, in governance order.
    pub areas: Vec<AreaChange>,
    /// Changed paths no area owns.
    pub unowned: Vec<String>,
    /// Changed paths more than one area owns.
    pub ambiguous: Vec<String>,
    /// The change rules the change triggers.
    pub rules: Vec<RuleChange>,
    /// Every gate the change needs, in `verify` order.
    pub evidence: Vec<String>,
    /// No unowned or ambiguous file and no missing companion.
    pub complete: bool,
}

/// One touched area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AreaChange {
    /// Area id.
    pub area: String,
    /// Area name.
    pub title: String,
    /// Owning team.
    pub primary_owner: String,
    /// Standing-in team.
    pub backup_owner: String,
    /// The area's gates.
    pub required_evidence: Vec<String>,
    /// The changed files of the area.
    pub files: Vec<String>,
}

/// One triggered change rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleChange {
    /// Rule id.
    pub name: String,
    /// The rule in words.
    pub summary: String,
    /// The changed files that triggered it.
    pub files: Vec<String>,
    /// The rule's extra gates.
    pub required_evidence: Vec<String>,
    /// What must change with it, and whether it did.
    pub companions: Vec<CompanionStatus>,
}

/// Whether a companion change was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompanionStatus {
    /// What it is.
    pub what: String,
    /// The patterns that satisfy it.
    pub paths: Vec<String>,
    /// True when a changed file matches one of the patterns.
    pub met: bool,
    /// The changed files that satisfy it.
    pub changed: Vec<String>,
}

/// Maps `files` to areas and rules; `gate_order` orders the evidence (unknown gates last).
#[must_use]
pub fn analyse(governance: &Governance, files: &[String], gate_order: &[&str]) -> Analysis {
    let mut files: Vec<String> = files.to_vec();
    files.sort();
    files.dedup();
    let mut unowned = Vec::new();
    let mut ambiguous = Vec::new();
    let mut areas: Vec<AreaChange> = Vec::new();
    for area in &governance.ownership {
        let mine: Vec<String> = files
            .iter()
            .filter(|path| governance.owners_of(path).len() == 1)
            .filter(|path| area.paths.iter().any(|pattern| matches(pattern, path)))
            .cloned()
            .collect();
        if !mine.is_empty() {
            areas.push(AreaChange {
                area: area.area.clone(),
                title: area.title.clone(),
                primary_owner: area.primary_owner.clone(),
                backup_owner: area.backup_owner.clone(),
                required_evidence: area.required_evidence.clone(),
                files: mine,
            });
        }
    }
    for path in &files {
        match governance.owners_of(path).len() {
            0 => unowned.push(path.clone()),
            1 => {}
            _ => ambiguous.push(path.clone()),
        }
    }
    let touching = |patterns: &[String]| -> Vec<String> {
        files
            .iter()
            .filter(|path| patterns.iter().any(|pattern| matches(pattern, path)))
            .cloned()
            .collect()
    };
    let rules: Vec<RuleChange> = governance
        .change_rules
        .iter()
        .filter_map(|rule| {
            let triggered = touching(&rule.triggers);
            (!triggered.is_empty()).then(|| RuleChange {
                name: rule.name.clone(),
                summary: rule.summary.clone(),
                files: triggered,
                required_evidence: rule.required_evidence.clone(),
                companions: rule
                    .companions
                    .iter()
                    .map(|companion| {
                        let changed = touching(&companion.paths);
                        CompanionStatus {
                            what: companion.what.clone(),
                            paths: companion.paths.clone(),
                            met: !changed.is_empty(),
                            changed,
                        }
                    })
                    .collect(),
            })
        })
        .collect();
    let mut evidence: Vec<String> = areas
        .iter()
        .flat_map(|area| area.required_evidence.iter())
        .chain(rules.iter().flat_map(|rule| rule.required_evidence.iter()))
        .cloned()
        .collect();
    let position = |gate: &String| {
        gate_order
            .iter()
            .position(|known| known == gate)
            .unwrap_or(usize::MAX)
    };
    evidence.sort_by(|a, b| position(a).cmp(&position(b)).then_with(|| a.cmp(b)));
    evidence.dedup();
    let complete = unowned.is_empty()
        && ambiguous.is_empty()
        && rules
            .iter()
            .all(|rule| rule.companions.iter().all(|companion| companion.met));
    Analysis {
        files,
        areas,
        unowned,
        ambiguous,
        rules,
        evidence,
        complete,
    }
}

/// Picks the base commit: `since` when given, else the merge-base with `origin/main` when it
/// exists, else `HEAD~1`, else the empty tree.
///
/// # Errors
/// When `since` names no commit, or git fails.
pub fn resolve_base(root: &Path, since: Option<&str>) -> Result<Base> {
    let sh = Shell::new().context("cannot start a shell for git")?;
    sh.change_dir(root);
    if let Some(reference) = since {
        let commit = crate::git::resolve(root, reference)?;
        return Ok(Base {
            reference: reference.to_owned(),
            commit,
            how: "--since".to_owned(),
        });
    }
    if crate::git::has_commit(root, "refs/remotes/origin/main") {
        let commit = cmd!(sh, "git merge-base HEAD refs/remotes/origin/main")
            .quiet()
            .read()
            .context("cannot compute the merge-base of HEAD and origin/main")?;
        return Ok(Base {
            reference: "merge-base(HEAD, origin/main)".to_owned(),
            commit,
            how: "default: the merge-base with origin/main".to_owned(),
        });
    }
    if crate::git::has_commit(root, "HEAD~1") {
        return Ok(Base {
            reference: "HEAD~1".to_owned(),
            commit: crate::git::resolve(root, "HEAD~1")?,
            how: "default: HEAD~1 (no origin/main)".to_owned(),
        });
    }
    Ok(Base {
        reference: "(empty tree)".to_owned(),
        commit: EMPTY_TREE.to_owned(),
        how: "default: the empty tree (HEAD has no parent)".to_owned(),
    })
}

/// Every path that differs between `base` and the work tree: tracked changes (staged or
/// not, deletions included, renames as delete + add) and untracked files that are not
/// ignored. Sorted, `/`-separated.
///
/// # Errors
/// When git fails.
pub fn changed_files(root: &Path, base: &str) -> Result<Vec<String>> {
    let sh = Shell::new().context("cannot start a shell for git")?;
    sh.change_dir(root);
    let tracked = cmd!(sh, "git diff --name-only --no-renames -z {base}")
        .quiet()
        .read()
        .with_context(|| format!("cannot diff the work tree against {base}"))?;
    let untracked = cmd!(sh, "git ls-files --others --exclude-standard -z")
        .quiet()
        .read()
        .context("cannot list untracked files")?;
    let mut files: Vec<String> = tracked
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|path| !path.is_empty())
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// The command: resolve the base, list the changes, analyse and print. `gates` is the
/// `verify` gate table as (name, description), in order.
///
/// # Errors
/// When git fails, the governance file is broken, or under `--strict` the change is
/// incomplete.
pub fn run(sh: &Shell, args: &ChangedAreas, gates: &[(&str, &str)]) -> Result<()> {
    let root = sh.current_dir();
    if !crate::git::is_checkout(&root) {
        bail!("changed-areas needs a git checkout at {}", root.display());
    }
    let governance = Governance::load(&root)?;
    let base = resolve_base(&root, args.since.as_deref())?;
    let files = changed_files(&root, &base.commit)?;
    let order: Vec<&str> = gates.iter().map(|(name, _)| *name).collect();
    let analysis = analyse(&governance, &files, &order);
    if args.json {
        let report = serde_json::json!({ "base": base, "analysis": analysis });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render_text(&base, &analysis, gates));
    }
    if args.strict && !analysis.complete {
        bail!(
            "the change is incomplete (unowned files or MISSING companions listed above): fix \
             them, then re-run `cargo xtask changed-areas --strict`"
        );
    }
    Ok(())
}

/// The human report.
#[must_use]
pub fn render_text(base: &Base, analysis: &Analysis, gates: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let short = base.commit.get(..12).unwrap_or(&base.commit);
    let _ = writeln!(
        out,
        "{} changed file{} against {} ({short}; {}), work tree included",
        analysis.files.len(),
        if analysis.files.len() == 1 { "" } else { "s" },
        base.reference,
        base.how
    );
    if analysis.files.is_empty() {
        let _ = writeln!(out, "nothing changed: no evidence needed");
        return out;
    }
    let width = analysis
        .areas
        .iter()
        .map(|area| area.title.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<width$}  {:>5}  {:<20}  {:<20}  required gates",
        "area", "files", "primary owner", "backup owner"
    );
    for area in &analysis.areas {
        let _ = writeln!(
            out,
            "{:<width$}  {:>5}  {:<20}  {:<20}  {}",
            area.title,
            area.files.len(),
            area.primary_owner,
            area.backup_owner,
            area.required_evidence.join(", ")
        );
    }
    for area in &analysis.areas {
        let _ = writeln!(out, "\n{} ({}):", area.title, area.area);
        for file in &area.files {
            let _ = writeln!(out, "  {file}");
        }
    }
    for (label, list) in [
        (
            "UNOWNED (add to an area in contracts/governance/boundaries.json)",
            &analysis.unowned,
        ),
        (
            "OWNED TWICE (narrow the overlapping patterns)",
            &analysis.ambiguous,
        ),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n{label}:");
            for file in list {
                let _ = writeln!(out, "  {file}");
            }
        }
    }
    for rule in &analysis.rules {
        let _ = writeln!(
            out,
            "\nrule {} ({} file{}): {}",
            rule.name,
            rule.files.len(),
            if rule.files.len() == 1 { "" } else { "s" },
            rule.summary
        );
        if !rule.required_evidence.is_empty() {
            let _ = writeln!(out, "  gates: {}", rule.required_evidence.join(", "));
        }
        for companion in &rule.companions {
            let status = if companion.met { "ok     " } else { "MISSING" };
            let detail = if companion.met {
                companion.changed.join(", ")
            } else {
                format!("no change under {}", companion.paths.join(", "))
            };
            let _ = writeln!(out, "  {status} {}: {detail}", companion.what);
        }
    }
    let _ = writeln!(
        out,
        "\nevidence to run ({} gates):",
        analysis.evidence.len()
    );
    let width = analysis.evidence.iter().map(String::len).max().unwrap_or(0);
    for gate in &analysis.evidence {
        let description = gates
            .iter()
            .find(|(name, _)| name == gate)
            .map_or("(not a verify gate)", |(_, description)| description);
        let _ = writeln!(out, "  {gate:<width$}  {description}");
    }
    let _ = writeln!(
        out,
        "run exactly these: {}",
        verify_command(&analysis.evidence, gates)
    );
    out
}

/// `cargo xtask verify` with a `--skip` for every gate the change does not need.
#[must_use]
pub fn verify_command(evidence: &[String], gates: &[(&str, &str)]) -> String {
    let mut command = String::from("cargo xtask verify");
    for (name, _) in gates {
        if !evidence.iter().any(|gate| gate == name) {
            let _ = write!(command, " --skip {name}");
        }
    }
    command
}
