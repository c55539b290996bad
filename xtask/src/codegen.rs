//! `cargo xtask codegen [--check]`: every generated artifact, regenerated from its one source.
//!
//! [`ARTIFACTS`] is the list: whole files (the OpenAPI copy, the published handoff payload)
//! and marker-delimited blocks inside hand-written docs (see [`crate::generated`]). Each is
//! rendered from the runtime truth or the governed JSON, never typed by hand.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;
use xshell::Shell;

use crate::drift::{Drift, normalise_newlines};
use crate::findings::Findings;
use crate::generated;
use crate::handoff;
use crate::pack::{self, MANIFEST_PATH, OPENAPI_PATH, PUBLISHED_HANDOFF_PATH};
use crate::runtime::RuntimeTruth;

/// Regenerate every generated artifact, or check that they are current
///
/// Generated artifacts, each rendered from its one source:
///
///   contracts/openapi/service.v3.yaml          `memory-kernel-service openapi`
///   docs/spec/service-contract.md              blocks `versions`, `error-codes`: the runtime
///                                              contract (`memory-kernel-service contract`)
///   docs/spec/service-slo-policy.md            block `slo-thresholds`: the SLO policy
///                                              contracts/integration/v1/service-slo-policy.json
///   docs/spec/versioning.md                    block `baselines`: the producer manifest
///                                              and the CLI schemas' contract_version
///   docs/implementation/ACTIVE_RUNTIME_STATUS.md  block `active-runtime-baseline`: the manifest
///   docs/implementation/PRODUCER_MODULE_BOUNDARY_MAP.md, PRODUCER_OWNERSHIP_MATRIX.md and
///   PRODUCER_CONSOLIDATION_ROLLBACK_CHECKLIST.md  domain, dependency, ownership, change-rule
///                                              and rollback-step blocks: the governance file
///                                              contracts/governance/boundaries.json
///   docs/implementation/PRODUCER_RELEASE_HANDOFF_LATEST.json  the stable handoff payload
///   docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json  the published release evidence
///                                              summary: size and sha256 of every governed
///                                              file (docs/spec/release-evidence.md)
///
/// A block is the text between a line `<!-- generated:NAME -->` and the next line
/// `<!-- /generated -->`; only its body is rewritten. Line endings are compared as LF.
///
/// With --check nothing is written: each stale file is listed with a unified diff
/// (expected = freshly generated), and the command fails. That is the `codegen` gate of
/// `cargo xtask verify`. Fix a failure by running `cargo xtask codegen` and committing the
/// result; never edit a generated part by hand (change its source instead). A missing or
/// unbalanced marker is reported with its line: restore the marker pair.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Codegen {
    /// Only report stale artifacts (with a diff); write nothing.
    #[arg(long)]
    pub check: bool,
}

/// Renders a generated part from the tree and the runtime truth; notes go to `findings`.
pub type Render = fn(&Path, &RuntimeTruth, &mut Findings) -> Result<String>;

/// Where a generated artifact's content goes.
pub enum Target {
    /// The whole file.
    File(Render),
    /// Named blocks inside a hand-written document.
    Blocks(&'static [(&'static str, Render)]),
}

/// One generated artifact.
pub struct Artifact {
    /// Repo-relative path.
    pub path: &'static str,
    /// What is generated in it.
    pub target: Target,
}

/// Every generated artifact, in the order they are written.
pub const ARTIFACTS: &[Artifact] = &[
    Artifact {
        path: OPENAPI_PATH,
        target: Target::File(|_, truth, _| Ok(truth.openapi_yaml.clone())),
    },
    Artifact {
        path: "docs/spec/service-contract.md",
        target: Target::Blocks(&[("versions", versions), ("error-codes", error_codes)]),
    },
    Artifact {
        path: "docs/spec/versioning.md",
        target: Target::Blocks(&[("baselines", baselines)]),
    },
    Artifact {
        path: "docs/implementation/ACTIVE_RUNTIME_STATUS.md",
        target: Target::Blocks(&[("active-runtime-baseline", active_runtime_baseline)]),
    },
    // Consolidation docs: tables rendered from contracts/governance/boundaries.json.
    Artifact {
        path: crate::boundaries::render::BOUNDARY_MAP_PATH,
        target: Target::Blocks(&[
            ("boundary-domains", |root, _, _| {
                crate::boundaries::render::render_block(root, "boundary-domains")
            }),
            ("dependency-rules", |root, _, _| {
                crate::boundaries::render::render_block(root, "dependency-rules")
            }),
        ]),
    },
    Artifact {
        path: crate::boundaries::render::OWNERSHIP_MATRIX_PATH,
        target: Target::Blocks(&[
            ("ownership-matrix", |root, _, _| {
                crate::boundaries::render::render_block(root, "ownership-matrix")
            }),
            ("change-rules", |root, _, _| {
                crate::boundaries::render::render_block(root, "change-rules")
            }),
        ]),
    },
    Artifact {
        path: crate::boundaries::render::ROLLBACK_CHECKLIST_PATH,
        target: Target::Blocks(&[("rollback-steps", |root, _, _| {
            crate::boundaries::render::render_block(root, "rollback-steps")
        })]),
    },
    Artifact {
        path: crate::slo::DOC_PATH,
        target: Target::Blocks(&[(crate::slo::DOC_BLOCK, |root, _, _| {
            crate::slo::render_doc_block(root)
        })]),
    },
    Artifact {
        path: PUBLISHED_HANDOFF_PATH,
        target: Target::File(|root, _, findings| {
            let (text, note) = handoff::expected_published(root)?;
            if let Some(note) = note {
                findings.note(note);
            }
            Ok(text)
        }),
    },
    // Last: it digests every governed file, the generated ones above as they are rendered.
    Artifact {
        path: crate::release_evidence::summary::SUMMARY_PATH,
        target: Target::File(|root, truth, _| {
            crate::release_evidence::summary::render_generated(root, truth)
        }),
    },
];

/// Regenerates (or with `--check` checks) every artifact of the tree the shell is rooted at.
///
/// # Errors
/// When an artifact is stale under `--check`, or cannot be rendered or written.
pub fn run(sh: &Shell, args: &Codegen) -> Result<()> {
    let truth = RuntimeTruth::shared(sh)?;
    let root = sh.current_dir();
    if args.check {
        return check(&root, truth)?.report("cargo xtask codegen --check");
    }
    let (written, findings) = write(&root, truth)?;
    for path in &written {
        println!("wrote {path}");
    }
    if written.is_empty() {
        println!("every generated artifact is up to date");
    }
    findings.report("cargo xtask codegen")
}

/// Every artifact as it should be: `(path, content)`; a part that cannot be rendered (a
/// missing marker, say) is a problem in the returned findings.
///
/// # Errors
/// Never for a broken artifact (that is a problem); only for unexpected failures.
pub fn expected(root: &Path, truth: &RuntimeTruth) -> Result<(Vec<(String, String)>, Findings)> {
    expected_except(root, truth, "")
}

/// [`expected`] without the artifact at `skip`: how an artifact that digests the others (the
/// published release evidence summary) sees them as they are about to be written.
///
/// # Errors
/// As [`expected`].
pub fn expected_except(
    root: &Path,
    truth: &RuntimeTruth,
    skip: &str,
) -> Result<(Vec<(String, String)>, Findings)> {
    let mut findings = Findings::new();
    let mut out = Vec::new();
    for artifact in ARTIFACTS.iter().filter(|artifact| artifact.path != skip) {
        // The summary digests the others as rendered here (it is last), rather than
        // rendering them all a second time.
        let rendered = if artifact.path == crate::release_evidence::summary::SUMMARY_PATH {
            crate::release_evidence::summary::render_over(root, &out)
                .map(|text| normalise_newlines(&text))
        } else {
            render(root, truth, artifact, &mut findings)
        };
        match rendered {
            Ok(content) => out.push((artifact.path.to_owned(), content)),
            Err(error) => findings.problem(format!("{}: {error:#}", artifact.path)),
        }
    }
    Ok((out, findings))
}

fn render(
    root: &Path,
    truth: &RuntimeTruth,
    artifact: &Artifact,
    findings: &mut Findings,
) -> Result<String> {
    match &artifact.target {
        Target::File(render) => Ok(normalise_newlines(&render(root, truth, findings)?)),
        Target::Blocks(blocks) => {
            let mut text = normalise_newlines(&pack::read_text(root, artifact.path)?);
            let known: BTreeSet<&str> = blocks.iter().map(|(name, _)| *name).collect();
            for name in generated::block_names(&text)? {
                if !known.contains(name.as_str()) {
                    findings.problem(format!(
                        "{}: unknown generated block `{name}` (known: {}): rename it or remove \
                         its markers",
                        artifact.path,
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            for (name, render) in *blocks {
                let body = render(root, truth, findings)
                    .with_context(|| format!("cannot render block `{name}`"))?;
                text = generated::replace_block(&text, name, &body)?;
            }
            Ok(text)
        }
    }
}

/// `--check`: one problem per stale artifact, with its drift.
///
/// # Errors
/// Only for unexpected failures.
pub fn check(root: &Path, truth: &RuntimeTruth) -> Result<Findings> {
    let (artifacts, mut findings) = expected(root, truth)?;
    for (path, content) in artifacts {
        let actual = fs::read_to_string(root.join(&path)).unwrap_or_default();
        if let Some(drift) = Drift::check(&path, &content, &actual, "cargo xtask codegen") {
            findings.problem(drift.to_string());
        }
    }
    Ok(findings)
}

/// Writes every stale artifact (LF line endings); returns the paths written.
///
/// # Errors
/// When an artifact cannot be rendered or written.
pub fn write(root: &Path, truth: &RuntimeTruth) -> Result<(Vec<String>, Findings)> {
    let (artifacts, findings) = expected(root, truth)?;
    if !findings.passed() {
        return Ok((Vec::new(), findings));
    }
    let mut written = Vec::new();
    for (path, content) in artifacts {
        let full = root.join(&path);
        if fs::read(&full).ok().as_deref() == Some(content.as_bytes()) {
            continue;
        }
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        crate::atomic_file::write(&full, content.as_bytes())?;
        written.push(path);
    }
    Ok((written, findings))
}

fn versions(_: &Path, truth: &RuntimeTruth, _: &mut Findings) -> Result<String> {
    let contract = truth.contract()?;
    Ok(format!(
        "| contract | version |\n|---|---|\n| service (`service_contract_version`) | `{}` |\n\
         | API envelope (`api_contract_version`) | `{}` |\n| integration pack \
         (`integration_baseline`) | `{}` |\n",
        contract.service_contract_version,
        contract.api_contract_version,
        contract.integration_baseline
    ))
}

fn error_codes(_: &Path, truth: &RuntimeTruth, _: &mut Findings) -> Result<String> {
    let mut out = String::from("| code | status |\n|---|---|\n");
    for entry in truth.contract()?.error_codes {
        let _ = writeln!(out, "| `{}` | {} |", entry.code, entry.status);
    }
    Ok(out)
}

fn baselines(root: &Path, _: &RuntimeTruth, _: &mut Findings) -> Result<String> {
    let manifest = pack::manifest(root)?;
    let cli = cli_contract_versions(root)?;
    let cli = if cli.is_empty() {
        "–".to_owned()
    } else {
        cli.iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(format!(
        "| contract | baseline | declared in |\n|---|---|---|\n\
         | service HTTP | `{}` | manifest `expected_service_contract_version` |\n\
         | API envelope | `{}` | manifest `expected_api_contract_version` |\n\
         | integration pack | `{}` | manifest `integration_baseline` |\n\
         | CLI output | {cli} | `contract_version` of `contracts/v1/schemas/*.schema.json` |\n\
         | producer release | `{}` at `{}` | manifest `release_tag`, `commit_sha` |\n",
        manifest.expected_service_contract_version,
        manifest.expected_api_contract_version,
        manifest.integration_baseline,
        manifest.release_tag,
        manifest.commit_sha
    ))
}

fn active_runtime_baseline(root: &Path, _: &RuntimeTruth, _: &mut Findings) -> Result<String> {
    let manifest = pack::manifest(root)?;
    Ok(format!(
        "| field | value |\n|---|---|\n| `release_tag` | `{}` |\n| `commit_sha` | `{}` |\n\
         | `expected_service_contract_version` | `{}` |\n| `expected_api_contract_version` | \
         `{}` |\n| `integration_baseline` | `{}` |\n| manifest | `{MANIFEST_PATH}` |\n",
        manifest.release_tag,
        manifest.commit_sha,
        manifest.expected_service_contract_version,
        manifest.expected_api_contract_version,
        manifest.integration_baseline
    ))
}

/// The `contract_version` constants declared by the CLI schemas (`cli.v1`).
///
/// # Errors
/// When `contracts/v1/schemas/` cannot be read.
pub fn cli_contract_versions(root: &Path) -> Result<BTreeSet<String>> {
    let dir = root.join("contracts/v1/schemas");
    let mut out = BTreeSet::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in fs::read_dir(&dir).context("cannot list contracts/v1/schemas")? {
        let path = entry.context("cannot list contracts/v1/schemas")?.path();
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        if let Ok(schema) = serde_json::from_str::<Value>(&text)
            && let Some(version) = schema["properties"]["contract_version"]["const"].as_str()
        {
            out.insert(version.to_owned());
        }
    }
    Ok(out)
}
