//! `cargo xtask dist`: the release directory users download, with its evidence.
//!
//! [`build`] makes the binaries reproducibly, [`graph`] and [`lockfile`] give each binary's
//! crates and their registry checksums, [`sbom`] writes them as CycloneDX, [`slsa`] is the
//! in-toto statement with its SLSA provenance predicate, [`dsse`] signs it, and [`verify`]
//! checks a release directory (`cargo xtask release-evidence verify DIR`). The contract pack
//! in the directory is the release-evidence tarball of [`crate::release_evidence`].
//!
//! Layout of a release directory (every file but the envelope is a subject of the statement):
//!
//! ```text
//! bin/mk
//! bin/memory-kernel-service
//! sbom/mk.cdx.json
//! sbom/memory-kernel-service.cdx.json
//! memorykernel-evidence-<tag>.tar.gz
//! provenance.dsse.json
//! ```

pub mod build;
pub mod dsse;
pub mod graph;
pub mod lockfile;
pub mod sbom;
pub mod slsa;
pub mod verify;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use ed25519_dalek::SigningKey;
use xshell::Shell;

use crate::git;
use crate::release_evidence::GateRunner;
use crate::release_evidence::artifacts::sha256_hex;
use crate::release_evidence::bundle::{self, Inputs};
use crate::release_evidence::document::GateRun;
use build::{BinarySpec, BuildSettings};
use dsse::Envelope;
use graph::{BinaryGraph, Metadata};
use lockfile::Lock;
use slsa::{
    BinaryParameter, BuildDefinition, BuildMetadata, Builder, ExternalParameters,
    InternalParameters, Provenance, ResourceDescriptor, RunDetails, Statement, Subject,
};

/// The envelope file at the top of a release directory.
pub const ENVELOPE_FILE: &str = "provenance.dsse.json";
/// The folder of the binaries.
pub const BIN_DIR: &str = "bin";
/// The folder of the SBOMs.
pub const SBOM_DIR: &str = "sbom";

/// Build the release directory: reproducible binaries, their SBOMs, signed provenance
///
/// `cargo xtask dist --out DIR [--signing-key FILE] [--target-dir DIR]`:
///   1. runs the gates `cargo xtask release-evidence` runs (all of `verify` but fmt, clippy
///      and test) and stops at the first failure;
///   2. builds `mk` and `memory-kernel-service` with `cargo build --release --locked` in a
///      target folder of its own (default target/dist/ under the root; never the caller's
///      CARGO_TARGET_DIR), with --remap-path-prefix for the workspace root, cargo's home and
///      that folder given through CARGO_ENCODED_RUSTFLAGS to this build only, and
///      SOURCE_DATE_EPOCH set from HEAD's commit time (or taken from the environment): the
///      same commit and toolchain give the same bytes from any checkout path;
///   3. writes into DIR (which must be new or empty; the files are assembled in a temporary
///      folder beside it and renamed into place):
///      - bin/<binary>: the binaries;
///      - sbom/<binary>.cdx.json: the CycloneDX 1.5 SBOM of each binary's crates (purl,
///        license, the Cargo.lock checksum as SHA-256);
///      - memorykernel-evidence-<tag>.tar.gz: the contract pack (release-evidence tarball);
///      - provenance.dsse.json: the DSSE envelope of an in-toto Statement v1 over all of the
///        above, with a SLSA provenance v1 predicate (commit, profile, features, Cargo.lock
///        digest, `rustc -vV`), signed with --signing-key (Ed25519, PKCS#8 PEM); without a
///        key it is left unsigned and says so;
///   4. prints each file's sha256 and the build time.
///
/// A new key pair: `cargo xtask release-evidence keygen --out DIR`. Check a release:
/// `cargo xtask release-evidence verify DIR --public-key FILE [--rebuild]`.
/// Rules: docs/spec/release-evidence.md.
#[derive(Debug, Clone, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Dist {
    /// The release directory to write (new or empty; relative to the current folder).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The Ed25519 private key (PKCS#8 PEM) that signs the provenance.
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// The build's target folder (default: target/dist/ under the workspace root).
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
}

/// What to build and how.
pub struct Plan {
    /// The binaries.
    pub binaries: Vec<BinarySpec>,
    /// The build's own target folder.
    pub target_dir: PathBuf,
    /// The key that signs the provenance; none: unsigned.
    pub signing_key: Option<SigningKey>,
    /// The gates run before the build (recorded in the contract pack's evidence).
    pub gates: Vec<GateRun>,
    /// `SOURCE_DATE_EPOCH` from the environment; none: HEAD's commit time.
    pub source_date_epoch: Option<String>,
    /// Keep cargo quiet.
    pub quiet: bool,
}

/// One file of a release directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// `/`-separated path under the directory.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Mode 0755 (the binaries).
    pub executable: bool,
}

/// A built release, not yet written.
#[derive(Debug, Clone)]
pub struct Release {
    /// The subjects' files, sorted by path.
    pub files: Vec<ReleaseFile>,
    /// The statement the envelope carries.
    pub statement: Statement,
    /// The envelope.
    pub envelope: Envelope,
    /// How long the binary build took.
    pub build_time: std::time::Duration,
}

/// The graph of each binary in `binaries`, from `cargo metadata` for `host`.
///
/// # Errors
/// When `cargo metadata` fails or a binary is not in the workspace.
pub fn graphs(root: &Path, host: &str, binaries: &[BinarySpec]) -> Result<Vec<BinaryGraph>> {
    let metadata = Metadata::load(root, host)?;
    binaries
        .iter()
        .map(|b| metadata.binary_graph(&b.package, &b.bin))
        .collect()
}

/// `SOURCE_DATE_EPOCH` as given, else HEAD's commit time.
///
/// # Errors
/// When the given value is not a number of seconds or git cannot answer.
pub fn source_date_epoch(root: &Path, given: Option<&str>) -> Result<u64> {
    match given {
        Some(text) => text.trim().parse::<u64>().with_context(|| {
            format!("SOURCE_DATE_EPOCH={text:?} is not a number of seconds since 1970")
        }),
        None => u64::try_from(git::commit_time(root, "HEAD")?)
            .context("HEAD's commit time is before 1970"),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Builds the release of the checkout at `root`.
///
/// # Errors
/// When `root` is not a git checkout, `Cargo.lock` is stale or unusable, the build fails, or
/// the contract pack cannot be built.
pub fn build_release(root: &Path, plan: &Plan) -> Result<Release> {
    if !git::is_checkout(root) {
        bail!(
            "{} is not the top of a git checkout: a release records the commit it was built \
             from",
            root.display()
        );
    }
    let started_on = now();
    let commit = git::resolve(root, "HEAD")?;
    let tree_dirty = bundle::is_dirty(root)?;
    let epoch = source_date_epoch(root, plan.source_date_epoch.as_deref())?;
    let lock = Lock::read(root)?;
    let (rustc_vv, host) = build::rustc_version_verbose(root)?;
    let graphs = graphs(root, &host, &plan.binaries)?;
    let settings = BuildSettings {
        root: root.to_path_buf(),
        target_dir: plan.target_dir.clone(),
        cargo_home: build::cargo_home()?,
        source_date_epoch: epoch,
        quiet: plan.quiet,
    };
    let build_started = Instant::now();
    let paths = build::build(&settings, &plan.binaries)?;
    let build_time = build_started.elapsed();

    let mut files = Vec::new();
    for ((binary, path), graph) in plan.binaries.iter().zip(&paths).zip(&graphs) {
        files.push(ReleaseFile {
            path: format!("{BIN_DIR}/{}", binary.file_name()),
            bytes: std::fs::read(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
            executable: true,
        });
        files.push(ReleaseFile {
            path: format!("{SBOM_DIR}/{}", sbom::file_name(&binary.bin)),
            bytes: sbom::generate(graph, &lock)
                .render()
                .context("cannot serialise an SBOM")?,
            executable: false,
        });
    }
    let pack = bundle::build(
        root,
        &Inputs {
            gates: plan.gates.clone(),
            toolchain: bundle::toolchain(root)?,
            source_date_epoch: Some(epoch.to_string()),
        },
    )?;
    files.push(ReleaseFile {
        path: pack.file_name.clone(),
        bytes: pack.bytes,
        executable: false,
    });
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let repository = graphs.first().and_then(|g| g.repository.clone());
    let statement = Statement {
        statement_type: slsa::STATEMENT_TYPE.to_owned(),
        subject: files
            .iter()
            .map(|file| Subject::sha256(&file.path, &sha256_hex(&file.bytes)))
            .collect(),
        predicate_type: slsa::PREDICATE_TYPE.to_owned(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: slsa::BUILD_TYPE.to_owned(),
                external_parameters: ExternalParameters {
                    commit: commit.clone(),
                    tree_dirty,
                    profile: build::PROFILE.to_owned(),
                    features: vec!["default".to_owned()],
                    binaries: plan
                        .binaries
                        .iter()
                        .map(|b| BinaryParameter {
                            package: b.package.clone(),
                            bin: b.bin.clone(),
                        })
                        .collect(),
                    locked: true,
                },
                internal_parameters: InternalParameters {
                    source_date_epoch: epoch,
                    rustflags: settings.recorded_rustflags(),
                    target: host,
                    rustc_version_verbose: rustc_vv.clone(),
                    cargo_version: build::cargo_version(root)?,
                },
                resolved_dependencies: vec![
                    ResourceDescriptor {
                        name: slsa::SOURCE_DEPENDENCY.to_owned(),
                        uri: repository.map(|url| format!("git+{url}")),
                        digest: BTreeMap::from([("gitCommit".to_owned(), commit)]),
                    },
                    ResourceDescriptor {
                        name: slsa::LOCK_DEPENDENCY.to_owned(),
                        uri: None,
                        digest: BTreeMap::from([("sha256".to_owned(), lock.sha256.clone())]),
                    },
                ],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: slsa::BUILDER_ID.to_owned(),
                    version: BTreeMap::from([
                        ("xtask".to_owned(), env!("CARGO_PKG_VERSION").to_owned()),
                        (
                            "rustc".to_owned(),
                            rustc_vv
                                .lines()
                                .next()
                                .unwrap_or_default()
                                .trim()
                                .to_owned(),
                        ),
                    ]),
                },
                metadata: BuildMetadata {
                    invocation_id: invocation_id()?,
                    started_on: slsa::rfc3339(started_on),
                    finished_on: slsa::rfc3339(now()),
                },
            },
        },
    };
    let mut payload =
        serde_json::to_vec_pretty(&statement).context("cannot serialise the statement")?;
    payload.push(b'\n');
    let envelope = match &plan.signing_key {
        Some(key) => Envelope::signed(&payload, key),
        None => Envelope::unsigned(&payload),
    };
    Ok(Release {
        files,
        statement,
        envelope,
        build_time,
    })
}

/// 16 random bytes as hex.
fn invocation_id() -> Result<String> {
    let mut bytes = [0_u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("the OS random source failed: {error}"))?;
    Ok(hex::encode(bytes))
}

/// Writes `release` as the directory `out`, which must not exist or be empty: every file is
/// written into a temporary folder beside `out`, which is then renamed to `out`, so a reader
/// never sees half a release.
///
/// # Errors
/// When `out` holds anything, or a file cannot be written.
pub fn write_release(out: &Path, release: &Release) -> Result<()> {
    let out = std::path::absolute(out).with_context(|| format!("bad path {}", out.display()))?;
    if out.exists() {
        let mut entries =
            std::fs::read_dir(&out).with_context(|| format!("cannot list {}", out.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: a release directory is written whole, into a new or empty \
                 folder",
                out.display()
            );
        }
    }
    let parent = out
        .parent()
        .context("the release directory has no parent")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".dist-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a temporary folder in {}", parent.display()))?;
    let mut all: Vec<(String, Vec<u8>, bool)> = release
        .files
        .iter()
        .map(|f| (f.path.clone(), f.bytes.clone(), f.executable))
        .collect();
    all.push((
        ENVELOPE_FILE.to_owned(),
        release
            .envelope
            .render()
            .context("cannot serialise the envelope")?,
        false,
    ));
    for (path, bytes, executable) in all {
        let to = staging.path().join(&path);
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&to, bytes).with_context(|| format!("cannot write {path}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot set the mode of {path}"))?;
        }
        #[cfg(not(unix))]
        let _ = executable;
    }
    if out.exists() {
        std::fs::remove_dir(&out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    std::fs::rename(staging.path(), &out)
        .with_context(|| format!("cannot move the release into {}", out.display()))?;
    Ok(())
}

/// Runs `cargo xtask dist` in the tree the shell is rooted at.
///
/// # Errors
/// When a gate fails, the key cannot be read, or the release cannot be built or written.
pub fn run(sh: &Shell, args: &Dist, run_gates: GateRunner<'_>) -> Result<()> {
    let root = sh.current_dir();
    // Read the key before anything runs: a wrong path should not cost a build.
    let signing_key = args
        .signing_key
        .as_deref()
        .map(dsse::read_signing_key)
        .transpose()?;
    let target_dir = match &args.target_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => root.join("target").join("dist"),
    };
    let gates = run_gates(sh, false)?;
    let started = Instant::now();
    let plan = Plan {
        binaries: BinarySpec::product(),
        target_dir,
        signing_key,
        gates,
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH").ok(),
        quiet: false,
    };
    let release = build_release(&root, &plan)?;
    write_release(&args.out, &release)?;
    for file in &release.files {
        println!("{}  {}", sha256_hex(&file.bytes), file.path);
    }
    let signed = match release.envelope.signatures.first() {
        Some(signature) => format!("signed by key {}", signature.keyid),
        None => "UNSIGNED (no --signing-key): verification needs --allow-unsigned".to_owned(),
    };
    println!(
        "dist: {} files in {}, binaries built in {:.1} s, {:.1} s in all; provenance {signed}",
        release.files.len() + 1,
        args.out.display(),
        release.build_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
