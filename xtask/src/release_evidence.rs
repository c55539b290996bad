//! `cargo xtask release-evidence`: the reproducible evidence tarball of a release (docs/spec/release-evidence.md),
//! its verifier, and the check of the published summary.
//!
//! [`artifacts`] decides what is governed, [`document`] is `evidence.json`, [`provenance`] the
//! in-toto statement, [`tarball`] the deterministic writer, [`bundle`] puts them together,
//! [`verify`] reads a bundle back and [`summary`] is the published summary and its gate. The
//! gates are the table of `crate::verify`; [`run`] takes the runner as a function so tests
//! can build evidence without running the gates.

pub mod artifacts;
pub mod bundle;
pub mod document;
pub mod provenance;
pub mod summary;
pub mod tarball;
pub mod verify;
mod verify_error;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use xshell::Shell;

use document::GateRun;

/// Build the reproducible release evidence tarball, or verify one (docs/spec/release-evidence.md)
///
/// `cargo xtask release-evidence [--out DIR] [--full]`:
///   1. runs the gates of `cargo xtask verify` except fmt, clippy and test (all of them with
///      --full) and stops, writing nothing, at the first failure (fix it as that gate says);
///   2. writes DIR/memorykernel-evidence-<release_tag>.tar.gz (DIR defaults to
///      target/release-evidence/; the tag is the producer manifest's release_tag) holding,
///      under the top folder memorykernel-evidence-<release_tag>/:
///        - every governed artifact at its repo path: contracts/integration/** (manifest,
///          source of truth, SLO policy, schemas, fixtures, mirrors), contracts/v1/**, the
///          OpenAPI copy, the published handoff payload, the normative docs the checks read
///          (docs/spec/integration-contract.md, service-contract.md, service-slo-policy.md,
///          versioning.md) and CHANGELOG.md, as bytes of the work tree;
///        - evidence.json (release-evidence-bundle.v2): runtime baseline, policy assertions,
///          every artifact with size and sha256, the gates run, git HEAD and the dirty flag;
///        - provenance.intoto.json: an in-toto Statement v1 over the artifacts;
///        - SHA256SUMS (`sha256sum -c` format) over every other file;
///   3. prints the generation time, the tarball's path and, last, its sha256.
///
/// Deterministic: the same commit gives the same bytes from any checkout path on any OS
/// (sorted entries, fixed headers, mtime SOURCE_DATE_EPOCH or HEAD's commit time, gzip
/// without name or time). A dirty tree is recorded as such and gives other bytes. The file
/// is written to a temporary file in DIR and renamed into place.
///
/// `cargo xtask release-evidence verify PATH.tar.gz [--against-repo]` checks a bundle in
/// memory (see its --help); `verify DIR --public-key FILE` checks a release directory of
/// `cargo xtask dist`, and `keygen --out DIR` writes the key pair that signs one. `cargo xtask release-evidence check-summary` is the
/// `evidence-summary` gate: every sha256 listed in
/// docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json matches the tree; a stale entry
/// is fixed by `cargo xtask codegen`. Rules: docs/spec/release-evidence.md.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct ReleaseEvidence {
    /// Verify a bundle, or check the published summary, instead of building.
    #[command(subcommand)]
    pub command: Option<ReleaseEvidenceCommand>,
    /// Write the tarball into DIR (default: target/release-evidence/ under the root; a
    /// relative DIR is relative to the folder the command runs from).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Also run fmt, clippy and test before building.
    #[arg(long)]
    pub full: bool,
}

/// The sub-commands of `cargo xtask release-evidence`.
// No variant docs: clap would show them instead of the Args structs' docs (the help texts).
#[allow(missing_docs)]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ReleaseEvidenceCommand {
    Verify(VerifyBundle),
    CheckSummary(CheckSummary),
    Keygen(Keygen),
}

/// Verify a release evidence tarball, or a release directory from `cargo xtask dist`
///
/// PATH a directory: a release directory. Checks the DSSE envelope provenance.dsse.json
/// (payloadType, base64 payload, an Ed25519 signature over PAE(payloadType, payload) that
/// verifies with --public-key), the in-toto Statement v1 and SLSA provenance v1 rules, every
/// subject's sha256 (a swapped binary or SBOM is refused) and that every file is a subject,
/// the contract pack (as below) and its commit, and each SBOM against this checkout's
/// Cargo.lock, which must be the one recorded: every crate the lock file resolves into the
/// binary's build listed with its purl, license and checksum, and nothing else. An unsigned
/// release, or one checked without --public-key, is refused unless --allow-unsigned is given,
/// and the output then says the signature was not checked. --rebuild also builds the binaries
/// again from this checkout (which must be at the recorded commit) and compares their bytes.
///
/// PATH a file: a release evidence tarball. Reads PATH.tar.gz into memory (caps: 64 MiB compressed, 256 MiB uncompressed, 32 MiB per
/// entry, 10 000 entries) and refuses, each with its own message:
///   gzip      an empty or non-gzip file, a truncated or corrupt stream, trailing bytes;
///   entries   absolute paths, `..` components, empty or `.` components, symlinks, hard
///             links, devices, FIFOs, directories, PAX records, duplicates, entries over
///             the cap or outside the single top folder, modes other than 0644/0755,
///             owners other than 0;
///   SHA256SUMS  a malformed line, a listed file missing, a digest that differs, a file it
///             does not list;
///   evidence.json  not a release-bundle document, a top folder not named after its
///             release tag, an artifact missing or with another size or sha256, a file
///             that is not an artifact;
///   provenance.intoto.json  not an in-toto Statement v1 of ours, subjects other than the
///             artifacts, a source commit other than evidence.json's;
///   --against-repo  an artifact missing from or different to the work tree, a governed
///             work-tree file the bundle lacks, evidence.json invalid against the tree's
///             schema.
/// Exits non-zero listing every problem. A failing bundle is not evidence: rebuild it with
/// `cargo xtask release-evidence` from the release commit (and a clean tree).
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct VerifyBundle {
    /// The tarball, or the release directory, to verify.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Also check that every artifact equals the file in this repository's work tree
    /// (a tarball only).
    #[arg(long)]
    pub against_repo: bool,
    /// The release public key (SPKI PEM) the provenance must be signed with (a release
    /// directory only).
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Accept a release whose signature is missing or not checked (no --public-key); the
    /// output says so.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Rebuild the binaries from this checkout and compare them (a release directory only).
    #[arg(long)]
    pub rebuild: bool,
    /// The rebuild's target folder (default: target/dist/ under the root).
    #[arg(long, value_name = "DIR", requires = "rebuild")]
    pub target_dir: Option<PathBuf>,
}

/// Write a new Ed25519 key pair for signing release provenance
///
/// Writes DIR/release-signing-key.pem (the private key, PKCS#8 PEM, mode 0600: keep it in the
/// pipeline's secret store and pass it to `cargo xtask dist --signing-key`) and
/// DIR/release-signing-key.pub.pem (the public key, SPKI PEM: publish it; verifiers pass it to
/// `release-evidence verify --public-key`). Never replaces an existing key file. Prints the
/// keyid (sha256 of the public key's DER form), which signatures carry.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Keygen {
    /// The folder to write the two key files into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Check the published summary docs/implementation/RELEASE_EVIDENCE_BUNDLE_LATEST.json
///
/// The `evidence-summary` gate of `cargo xtask verify`. The summary must validate against
/// contracts/integration/v1/schemas/release-evidence-bundle.schema.json, be a published
/// summary (scope published-summary, no gates or source), and agree with the tree: every
/// listed artifact's sha256 and size, no governed file unlisted, the runtime baseline and
/// the policy assertions. Each stale artifact is named. Fix: `cargo xtask codegen`
/// regenerates the summary from the tree (commit it with the change that made it stale).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CheckSummary {}

/// Runs the gates before a build (`full`: fmt, clippy and test too) and returns how each
/// ended; an `Err` means a gate failed, and nothing is built.
pub type GateRunner<'a> = &'a dyn Fn(&Shell, bool) -> Result<Vec<GateRun>>;

/// Runs `release-evidence` in the tree the shell is rooted at; `run_gates(sh, full)` runs
/// the gates and fails when one fails.
///
/// # Errors
/// When a gate fails, the bundle cannot be built or written, or a verified bundle fails.
pub fn run(sh: &Shell, args: &ReleaseEvidence, run_gates: GateRunner<'_>) -> Result<()> {
    let root = sh.current_dir();
    match &args.command {
        Some(ReleaseEvidenceCommand::Verify(verify_args)) if verify_args.path.is_dir() => {
            run_verify_release(&root, verify_args)
        }
        Some(ReleaseEvidenceCommand::Verify(verify_args)) => run_verify(&root, verify_args),
        Some(ReleaseEvidenceCommand::CheckSummary(_)) => summary::gate(sh),
        Some(ReleaseEvidenceCommand::Keygen(keygen)) => {
            let (private, public, keyid) = crate::dist::dsse::keygen(&keygen.out)?;
            println!("private key (keep secret): {}", private.display());
            println!("public key (publish): {}", public.display());
            println!("keyid {keyid}");
            Ok(())
        }
        None => {
            let gates = run_gates(sh, args.full)?;
            let started = Instant::now();
            let inputs = bundle::Inputs {
                gates,
                toolchain: bundle::toolchain(&root)?,
                source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
            };
            let built = bundle::build(&root, &inputs)?;
            let dir = args
                .out
                .clone()
                .unwrap_or_else(|| root.join("target").join("release-evidence"));
            let path = bundle::write(&dir, &built)?;
            let elapsed = started.elapsed();
            let dirty = built.evidence.source.as_ref().is_some_and(|s| s.tree_dirty);
            println!(
                "release-evidence: {} files, {} bytes, generated in {} ms after the gates{}",
                built.files,
                built.bytes.len(),
                elapsed.as_millis(),
                if dirty {
                    " (tree dirty: recorded in evidence.json; a clean checkout of the same \
                     commit gives other bytes)"
                } else {
                    ""
                }
            );
            println!("{}", display_path(&root, &path));
            println!("sha256 {}", built.sha256());
            Ok(())
        }
    }
}

fn run_verify(root: &Path, args: &VerifyBundle) -> Result<()> {
    if args.public_key.is_some() || args.allow_unsigned || args.rebuild {
        bail!(
            "{}: --public-key, --allow-unsigned and --rebuild apply to a release directory \
             (from `cargo xtask dist`), not to a tarball",
            args.path.display()
        );
    }
    let repo = args.against_repo.then_some(root);
    match verify::verify_file(&args.path, repo) {
        Ok(verified) => {
            let source = verified.evidence.source.as_ref();
            println!(
                "{}: OK: {} files under {}/, {} artifacts match SHA256SUMS, evidence.json and \
                 the in-toto subjects{}; built from {}{}",
                args.path.display(),
                verified.files.len(),
                verified.top,
                verified.evidence.artifacts.len(),
                if args.against_repo {
                    " and the work tree"
                } else {
                    ""
                },
                source.map_or("?", |s| s.git_head.as_str()),
                if source.is_some_and(|s| s.tree_dirty) {
                    " (dirty tree)"
                } else {
                    ""
                },
            );
            Ok(())
        }
        Err(failure) => bail!("{}: {failure}", args.path.display()),
    }
}

fn run_verify_release(root: &Path, args: &VerifyBundle) -> Result<()> {
    use crate::dist::verify::{Options, verify_release};
    if args.against_repo {
        bail!(
            "--against-repo applies to a tarball; a release directory is always checked against this checkout's Cargo.lock"
        );
    }
    let public_key = args
        .public_key
        .as_deref()
        .map(crate::dist::dsse::read_public_key)
        .transpose()?;
    let rebuild = match (&args.target_dir, args.rebuild) {
        (Some(dir), true) => Some(std::path::absolute(dir)?),
        (None, true) => Some(root.join("target").join("dist")),
        (_, false) => None,
    };
    let options = Options {
        public_key,
        allow_unsigned: args.allow_unsigned,
        repo: root.to_path_buf(),
        rebuild,
        quiet: false,
    };
    let verified = verify_release(&args.path, &options)
        .map_err(|failure| anyhow::anyhow!("{}: {failure}", args.path.display()))?;
    let parameters = &verified
        .statement
        .predicate
        .build_definition
        .external_parameters;
    println!(
        "{}: OK: {} subjects match the provenance, SBOMs match Cargo.lock, contract pack \
         verified{}; built from {}{}",
        args.path.display(),
        verified.statement.subject.len(),
        if verified.rebuilt {
            ", binaries rebuilt byte for byte"
        } else {
            ""
        },
        parameters.commit,
        if parameters.tree_dirty {
            " (dirty tree)"
        } else {
            ""
        },
    );
    println!("{}", verified.signing.describe());
    Ok(())
}

/// `path` relative to `root` when it is under it (the usual case), else as given.
fn display_path(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
