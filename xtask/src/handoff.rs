//! `cargo xtask handoff generate|verify`: the producer release handoff payload (docs/spec/integration-contract.md).
//!
//! The payload is built from the producer manifest, the source of truth and the mirrors
//! list, so it agrees with the manifest to the byte. It is deterministic: no wall clock. A
//! generated payload is dated `SOURCE_DATE_EPOCH` when set, else the commit time of the
//! manifest's `commit_sha`. The published copy is always dated by that commit time, not by
//! HEAD's, so it changes only when the manifest does (a release), not on every commit; and
//! not by `SOURCE_DATE_EPOCH`, so `verify` gives the same answer in every environment.

pub mod payload;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use xshell::Shell;

use crate::drift::Drift;
use crate::findings::Findings;
use crate::pack::{self, PUBLISHED_HANDOFF_PATH};
use crate::schemas::ContractSchemas;
use payload::{CANDIDATE_ONLY_KEYS, Mode};

/// The payload's schema.
pub const HANDOFF_SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/handoff-payload.schema.json";

/// Generate or verify the producer release handoff payload (docs/spec/integration-contract.md)
///
/// The payload tells consumers what a release promises: versions, error codes, envelope
/// policy, the manifest to pin, and how to validate. It is built from
/// contracts/integration/v1/producer-contract-manifest.json, the source of truth and
/// contracts/integration/mirrors.json. The published copy is
/// docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json (stable mode); `cargo xtask
/// codegen` writes it.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Handoff {
    /// What to do.
    #[command(subcommand)]
    pub command: HandoffCommand,
}

/// The sub-commands of `cargo xtask handoff`.
// No variant docs: clap would show them instead of the Args structs' docs, which are the
// `--help` texts.
#[allow(missing_docs)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum HandoffCommand {
    Generate(Generate),
    Verify(Verify),
}

/// Build a handoff payload, check it, and print it (or write it with --out)
///
/// Deterministic: dated SOURCE_DATE_EPOCH when set, else the commit time of the manifest's
/// commit_sha (so a checkout that has that commit is needed). Paths in it are repo-relative.
/// Fails, writing nothing, when the payload would not pass `cargo xtask handoff verify`'s
/// rules (fix the manifest or the source of truth as the message says).
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Generate {
    /// `stable` (the release consumers run) or `candidate` (a service-v3-candidate
    /// rehearsal, with the candidate-only keys).
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Write the payload to PATH (atomically) instead of printing it.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
}

/// Check the handoff payload: both modes, and the published copy
///
/// Regenerates the stable and candidate payloads and checks each, then the published
/// docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json:
///
///   schema       valid against contracts/integration/v1/schemas/handoff-payload.schema.json.
///   mode rules   stable has none of rehearsal_candidate, compatibility_expectations,
///                required_consumer_validation_commands; candidate has all three, with
///                requires_runtime_cutover false and consumer_non_blocking_fallback_required
///                true.
///   agreement    release_tag, commit_sha, versions, error_code_enum (same order) and the
///                active runtime baseline equal the manifest's; both envelope policies equal
///                the source of truth's.
///   paths        every *_path value is repo-relative (no leading /, drive letter, \ or ..)
///                and names an existing file.
///   time         handoff_generated_at_utc is RFC 3339 UTC (`…Z`).
///   published    the published copy is byte-identical (LF line endings) to a fresh stable
///                payload dated by the manifest's commit (outside a git checkout, or when
///                the commit is missing, its own date is kept, with a note).
///
/// How to fix a failure: `cargo xtask codegen` rewrites the published copy; a rule broken
/// by a fresh payload is fixed in the manifest or the source of truth.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Verify {}

/// Runs `handoff generate` or `handoff verify` on the tree the shell is rooted at.
///
/// # Errors
/// When the payload breaks a rule, or cannot be written.
pub fn run(sh: &Shell, args: &Handoff) -> Result<()> {
    let root = sh.current_dir();
    match &args.command {
        HandoffCommand::Generate(generate) => {
            let epoch = std::env::var("SOURCE_DATE_EPOCH").ok();
            let at = payload::generation_time(&root, epoch.as_deref())?;
            let text = payload::render(&payload::build(&root, generate.mode, &at)?)?;
            let value: Value = serde_json::from_str(&text)?;
            let schemas = ContractSchemas::load(&root)?;
            let problems = payload_problems(&root, &schemas, &value, generate.mode)?;
            if !problems.is_empty() {
                bail!(
                    "the generated payload breaks the handoff rules, nothing written:\n  {}",
                    problems.join("\n  ")
                );
            }
            match &generate.out {
                Some(path) => crate::atomic_file::write(path, text.as_bytes()),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        HandoffCommand::Verify(_) => check(&root)?.report("cargo xtask handoff verify"),
    }
}

/// The published copy as it should be, and a note when its date could not be re-derived.
///
/// # Errors
/// When the payload cannot be built, or dated (no commit and no published copy to keep
/// the date of).
pub fn expected_published(root: &Path) -> Result<(String, Option<String>)> {
    let manifest = pack::manifest(root)?;
    let (at, note) = match payload::release_commit_time(root, &manifest.commit_sha)? {
        Some(at) => (at, None),
        None => {
            let published: Value = pack::read_json(root, PUBLISHED_HANDOFF_PATH).with_context(|| {
                format!(
                    "cannot date the handoff: {} is not in a git checkout here, and there is no \
                     published copy to keep the date of",
                    manifest.commit_sha
                )
            })?;
            let at = published["handoff_generated_at_utc"]
                .as_str()
                .filter(|at| payload::is_rfc3339_utc(at))
                .with_context(|| {
                    format!(
                        "{PUBLISHED_HANDOFF_PATH}: handoff_generated_at_utc is not RFC 3339 UTC"
                    )
                })?
                .to_owned();
            let note = format!(
                "commit {} is not available here (no git checkout, or a shallow clone), so the \
                 published handoff keeps its date {at}; everything else is checked",
                manifest.commit_sha
            );
            (at, Some(note))
        }
    };
    let text = payload::render(&payload::build(root, Mode::Stable, &at)?)?;
    Ok((text, note))
}

/// Every handoff rule on the tree at `root`.
///
/// # Errors
/// When the governed files cannot be read at all.
pub fn check(root: &Path) -> Result<Findings> {
    let mut findings = Findings::new();
    let schemas = ContractSchemas::load(root)?;
    let (expected, note) = match expected_published(root) {
        Ok(pair) => pair,
        Err(error) => {
            findings.problem(format!("{error:#}"));
            return Ok(findings);
        }
    };
    if let Some(note) = note {
        findings.note(note);
    }
    let at = serde_json::from_str::<Value>(&expected)?["handoff_generated_at_utc"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for mode in [Mode::Stable, Mode::Candidate] {
        let fresh = serde_json::to_value(payload::build(root, mode, &at)?)?;
        for problem in payload_problems(root, &schemas, &fresh, mode)? {
            findings.problem(format!("a fresh {} payload: {problem}", mode.name()));
        }
    }
    let published_text = match pack::read_text(root, PUBLISHED_HANDOFF_PATH) {
        Ok(text) => text,
        Err(_) => {
            findings.problem(format!(
                "{PUBLISHED_HANDOFF_PATH} is missing: run `cargo xtask codegen`"
            ));
            return Ok(findings);
        }
    };
    match serde_json::from_str::<Value>(&published_text) {
        Ok(published) => {
            for problem in payload_problems(root, &schemas, &published, Mode::Stable)? {
                findings.problem(format!("{PUBLISHED_HANDOFF_PATH}: {problem}"));
            }
        }
        Err(error) => findings.problem(format!("{PUBLISHED_HANDOFF_PATH} is not JSON: {error}")),
    }
    if let Some(drift) = Drift::check(
        PUBLISHED_HANDOFF_PATH,
        &expected,
        &published_text,
        "cargo xtask codegen",
    ) {
        findings.problem(format!(
            "the published handoff is not a fresh stable generation: {drift}"
        ));
    }
    Ok(findings)
}

/// The rules of `handoff verify` for one payload of `mode`.
///
/// # Errors
/// When the manifest or the source of truth cannot be read.
pub fn payload_problems(
    root: &Path,
    schemas: &ContractSchemas,
    value: &Value,
    mode: Mode,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    match schemas.violations(HANDOFF_SCHEMA_PATH, value) {
        Ok(violations) => problems.extend(
            violations
                .into_iter()
                .map(|violation| format!("not valid against {HANDOFF_SCHEMA_PATH}: {violation}")),
        ),
        Err(error) => problems.push(format!("{error:#}")),
    }
    if value["handoff_mode"] != json!(mode.name()) {
        problems.push(format!(
            "handoff_mode is {}, expected {:?}",
            value["handoff_mode"],
            mode.name()
        ));
    }
    for key in CANDIDATE_ONLY_KEYS {
        match (mode, value.get(key).is_some()) {
            (Mode::Stable, true) => problems.push(format!(
                "the stable payload carries the candidate-only key `{key}`"
            )),
            (Mode::Candidate, false) => problems.push(format!(
                "the candidate payload lacks the candidate-only key `{key}`"
            )),
            _ => {}
        }
    }
    if mode == Mode::Candidate {
        let rehearsal = &value["rehearsal_candidate"];
        if rehearsal["requires_runtime_cutover"] != json!(false) {
            problems.push("rehearsal_candidate.requires_runtime_cutover must be false".to_owned());
        }
        if rehearsal["consumer_non_blocking_fallback_required"] != json!(true) {
            problems.push(
                "rehearsal_candidate.consumer_non_blocking_fallback_required must be true"
                    .to_owned(),
            );
        }
    }
    let at = value["handoff_generated_at_utc"]
        .as_str()
        .unwrap_or_default();
    if !payload::is_rfc3339_utc(at) {
        problems.push(format!(
            "handoff_generated_at_utc {:?} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)",
            value["handoff_generated_at_utc"]
        ));
    }
    let mut paths = Vec::new();
    path_values(value, "", &mut paths);
    for (key, path) in paths {
        if !payload::is_repo_relative(&path) {
            problems.push(format!(
                "{key} is {path:?}: not a repo-relative path (no leading /, drive letter, \\ \
                 or ..)"
            ));
        } else if !root.join(&path).is_file() {
            problems.push(format!("{key} names {path}, which does not exist"));
        }
    }
    let manifest = serde_json::to_value(pack::manifest(root)?)?;
    for field in [
        "release_tag",
        "commit_sha",
        "expected_service_contract_version",
        "expected_api_contract_version",
        "integration_baseline",
        "error_code_enum",
        "manifest_contract_version",
    ] {
        if value[field] != manifest[field] {
            problems.push(format!(
                "{field} is {}, the manifest says {}",
                value[field], manifest[field]
            ));
        }
        if field != "error_code_enum"
            && field != "manifest_contract_version"
            && value["active_runtime_baseline"][field] != manifest[field]
        {
            problems.push(format!(
                "active_runtime_baseline.{field} is {}, the manifest says {}",
                value["active_runtime_baseline"][field], manifest[field]
            ));
        }
    }
    let policy = serde_json::to_value(pack::source_of_truth(root)?.non_2xx_envelope_policy)?;
    for key in ["service_v3_stable", "service_v3_candidate"] {
        if value["non_2xx_envelope_policy"][key] != policy {
            problems.push(format!(
                "non_2xx_envelope_policy.{key} differs from the source of truth's policy"
            ));
        }
    }
    Ok(problems)
}

/// `(key path, value)` of every string under a key ending in `_path`.
fn path_values(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match child {
                Value::String(text) if key.ends_with("_path") => out.push((here, text.clone())),
                _ => path_values(child, &here, out),
            }
        }
    }
}
