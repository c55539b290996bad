//! Checking a release directory: the signature, the in-toto and SLSA rules, every subject's
//! digest, the SBOMs against `Cargo.lock`, the contract pack, and (on request) a rebuild.
//!
//! Every problem is collected, each its own [`ReleaseError`], so one run lists them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::build::{self, BinarySpec, BuildSettings};
use super::dsse::{self, DsseError, Envelope};
use super::graph::Metadata;
use super::lockfile::Lock;
use super::sbom::{self, Bom, SbomProblem};
use super::slsa::{self, Statement};
use super::{BIN_DIR, ENVELOPE_FILE, SBOM_DIR};
use crate::git;
use crate::release_evidence::artifacts::sha256_hex;
use crate::release_evidence::bundle::NAME_PREFIX;
use crate::release_evidence::verify::{Limits, VerifyFailure, verify_bytes};

/// How to verify.
#[derive(Debug, Clone)]
pub struct Options {
    /// The key the provenance must be signed with.
    pub public_key: Option<VerifyingKey>,
    /// Accept an unsigned release, or one whose signature is not checked (no key).
    pub allow_unsigned: bool,
    /// The checkout whose `Cargo.lock` and manifests the SBOMs are checked against.
    pub repo: PathBuf,
    /// Rebuild the binaries in this target folder and compare.
    pub rebuild: Option<PathBuf>,
    /// Keep the rebuild's cargo quiet.
    pub quiet: bool,
}

/// How the signature check ended for a release that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// A signature verified with this key.
    Verified(String),
    /// No signature, accepted because of `--allow-unsigned`.
    UnsignedAllowed,
    /// Signed, but no key was given; accepted because of `--allow-unsigned`.
    NotCheckedAllowed,
}

impl Signing {
    /// One line for the verifier's output; the two accepted-anyway cases say so loudly.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Verified(keyid) => format!("signature verified with key {keyid}"),
            Self::UnsignedAllowed => {
                "UNSIGNED: the release has no signature; accepted only because --allow-unsigned \
                 was given"
                    .to_owned()
            }
            Self::NotCheckedAllowed => "signature NOT checked (no --public-key); accepted only \
                                        because --allow-unsigned was given"
                .to_owned(),
        }
    }
}

/// What a release that passed holds.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The statement.
    pub statement: Statement,
    /// The signature check.
    pub signing: Signing,
    /// Whether the binaries were rebuilt and matched.
    pub rebuilt: bool,
}

/// One problem of a release directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseError {
    /// A file cannot be read.
    Unreadable(String),
    /// The envelope is refused (malformed, unsigned, no signature verifies).
    Envelope(DsseError),
    /// Signed, but no `--public-key` and no `--allow-unsigned`.
    NoPublicKey,
    /// The payload breaks an in-toto Statement v1 or SLSA provenance v1 rule, or is not ours.
    Statement(String),
    /// A subject name is not a plain relative path.
    UnsafeSubjectName(String),
    /// A subject's file is missing.
    SubjectMissing(String),
    /// A subject's file has another digest.
    SubjectDigest {
        /// Subject name.
        name: String,
        /// Digest in the statement.
        listed: String,
        /// Digest of the file.
        actual: String,
    },
    /// A file of the directory is not a subject.
    Unlisted(String),
    /// A symlink or other non-regular entry.
    NotRegular(String),
    /// A binary, SBOM or contract pack the layout requires is not a subject.
    Layout(String),
    /// An SBOM is not CycloneDX JSON of our shape.
    SbomMalformed {
        /// The SBOM file.
        file: String,
        /// Why.
        detail: String,
    },
    /// An SBOM disagrees with `Cargo.lock` and the crate graph.
    Sbom {
        /// The SBOM file.
        file: String,
        /// How.
        problem: SbomProblem,
    },
    /// The checkout's `Cargo.lock` is not the one the release was built from.
    LockMismatch {
        /// Digest in the provenance.
        recorded: String,
        /// Digest of the checkout's file.
        actual: String,
    },
    /// The checkout cannot answer (lock file, `cargo metadata`, git, the build).
    Repo(String),
    /// The contract pack fails its own verification.
    ContractPack(VerifyFailure),
    /// The contract pack was read at another commit than the binaries were built from.
    PackSource {
        /// The pack's `source.git_head`.
        pack: String,
        /// The provenance's commit.
        commit: String,
    },
    /// `--rebuild` from a checkout at another commit.
    RebuildSource {
        /// The checkout's HEAD.
        head: String,
        /// The provenance's commit.
        commit: String,
    },
    /// A rebuilt file differs from the release's.
    RebuildDiffers {
        /// Subject name.
        name: String,
        /// Digest in the statement.
        listed: String,
        /// Digest of the rebuild.
        rebuilt: String,
        /// `rustc -vV` here, when it differs from the recorded one.
        toolchain: Option<String>,
    },
}

impl std::fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable(detail) => write!(f, "cannot read {detail}"),
            Self::Envelope(error) => write!(f, "{ENVELOPE_FILE}: {error}"),
            Self::NoPublicKey => write!(
                f,
                "{ENVELOPE_FILE} is signed but no --public-key was given to check it (pass the \
                 release public key, or --allow-unsigned to skip the check knowingly)"
            ),
            Self::Statement(detail) => write!(f, "the provenance statement: {detail}"),
            Self::UnsafeSubjectName(name) => {
                write!(f, "subject {name:?} is not a plain relative path: refused")
            }
            Self::SubjectMissing(name) => {
                write!(f, "subject {name} is missing from the release directory")
            }
            Self::SubjectDigest {
                name,
                listed,
                actual,
            } => write!(
                f,
                "{name} has sha256 {actual}, the signed provenance says {listed}: the file was \
                 replaced or changed after the release was built"
            ),
            Self::Unlisted(name) => write!(
                f,
                "{name} is in the release directory but is not a subject of the provenance"
            ),
            Self::NotRegular(name) => write!(f, "{name} is not a regular file (a symlink?)"),
            Self::Layout(detail) => write!(f, "the release is incomplete: {detail}"),
            Self::SbomMalformed { file, detail } => {
                write!(f, "{file} is not a CycloneDX SBOM of ours: {detail}")
            }
            Self::Sbom { file, problem } => write!(f, "{file} {problem}"),
            Self::LockMismatch { recorded, actual } => write!(
                f,
                "the release was built from a Cargo.lock with sha256 {recorded}, this \
                 checkout's has {actual}: verify from the release commit"
            ),
            Self::Repo(detail) => write!(f, "the checkout: {detail}"),
            Self::ContractPack(failure) => write!(f, "the contract pack: {failure}"),
            Self::PackSource { pack, commit } => write!(
                f,
                "the contract pack was read at commit {pack}, the binaries were built from \
                 {commit}"
            ),
            Self::RebuildSource { head, commit } => write!(
                f,
                "--rebuild: this checkout is at {head}, the release was built from {commit}: \
                 check out {commit} (clean) and run again"
            ),
            Self::RebuildDiffers {
                name,
                listed,
                rebuilt,
                toolchain,
            } => {
                write!(
                    f,
                    "--rebuild: {name} rebuilt to sha256 {rebuilt}, the release has {listed}: \
                     the build is not reproducible here"
                )?;
                if let Some(here) = toolchain {
                    write!(
                        f,
                        " (the toolchain differs from the recorded one; here: {})",
                        here.lines().next().unwrap_or_default()
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReleaseError {}

/// Every problem of one verification; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFailure(pub Vec<ReleaseError>);

impl std::fmt::Display for ReleaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.len();
        write!(
            f,
            "the release failed verification ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReleaseFailure {}

/// Verifies the release directory `dir`.
///
/// # Errors
/// Every problem found.
pub fn verify_release(dir: &Path, options: &Options) -> Result<Verified, ReleaseFailure> {
    let mut errors = Vec::new();
    let envelope_bytes = std::fs::read(dir.join(ENVELOPE_FILE)).map_err(|error| {
        ReleaseFailure(vec![ReleaseError::Unreadable(format!(
            "{}: {error}",
            dir.join(ENVELOPE_FILE).display()
        ))])
    })?;
    let envelope = Envelope::parse(&envelope_bytes)
        .map_err(|error| ReleaseFailure(vec![ReleaseError::Envelope(error)]))?;
    let signing = check_signature(&envelope, options, &mut errors);
    let payload = envelope
        .payload_bytes()
        .map_err(|error| ReleaseFailure(vec![ReleaseError::Envelope(error)]))?;
    let statement = match parse_statement(&payload) {
        Ok(statement) => statement,
        Err(detail) => {
            errors.push(ReleaseError::Statement(detail));
            return Err(ReleaseFailure(errors));
        }
    };
    let files = check_subjects(dir, &statement, &mut errors);
    check_layout(&statement, &files, &mut errors);
    check_sboms(&statement, &files, &options.repo, &mut errors);
    if let Some(target_dir) = &options.rebuild {
        rebuild(&statement, options, target_dir, &mut errors);
    }
    match (errors.is_empty(), signing) {
        (true, Some(signing)) => Ok(Verified {
            statement,
            signing,
            rebuilt: options.rebuild.is_some(),
        }),
        _ => Err(ReleaseFailure(errors)),
    }
}

fn check_signature(
    envelope: &Envelope,
    options: &Options,
    errors: &mut Vec<ReleaseError>,
) -> Option<Signing> {
    match (&options.public_key, envelope.signatures.is_empty()) {
        (_, true) if options.allow_unsigned => Some(Signing::UnsignedAllowed),
        (_, true) => {
            errors.push(ReleaseError::Envelope(DsseError::Unsigned));
            None
        }
        (Some(key), false) => match envelope.verify(key) {
            Ok(()) => Some(Signing::Verified(dsse::keyid(key))),
            Err(error) => {
                errors.push(ReleaseError::Envelope(error));
                None
            }
        },
        (None, false) if options.allow_unsigned => Some(Signing::NotCheckedAllowed),
        (None, false) => {
            errors.push(ReleaseError::NoPublicKey);
            None
        }
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The in-toto Statement v1 rules on the JSON itself, then our typed shape and predicate.
///
/// # Errors
/// The first rule broken.
pub fn parse_statement(payload: &[u8]) -> Result<Statement, String> {
    let value: Value =
        serde_json::from_slice(payload).map_err(|error| format!("not JSON: {error}"))?;
    if value["_type"] != slsa::STATEMENT_TYPE {
        return Err(format!(
            "_type is {}, expected {:?}",
            value["_type"],
            slsa::STATEMENT_TYPE
        ));
    }
    let subjects = value["subject"]
        .as_array()
        .filter(|s| !s.is_empty())
        .ok_or("subject must be a non-empty array")?;
    let mut names = BTreeSet::new();
    for subject in subjects {
        let name = subject["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or("every subject needs a non-empty name")?;
        if !names.insert(name) {
            return Err(format!("subject {name} is listed twice"));
        }
        let digest = subject["digest"]
            .as_object()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| format!("subject {name} needs a non-empty digest set"))?;
        match digest.get("sha256").and_then(Value::as_str) {
            Some(hex) if is_lower_hex(hex, 64) => {}
            _ => return Err(format!("subject {name} has no lowercase-hex sha256 digest")),
        }
    }
    if value["predicateType"] != slsa::PREDICATE_TYPE {
        return Err(format!(
            "predicateType is {}, expected {:?}",
            value["predicateType"],
            slsa::PREDICATE_TYPE
        ));
    }
    if !value["predicate"].is_object() {
        return Err("predicate must be an object".to_owned());
    }
    let statement: Statement = serde_json::from_value(value)
        .map_err(|error| format!("not a SLSA provenance v1 of `cargo xtask dist`: {error}"))?;
    let definition = &statement.predicate.build_definition;
    if definition.build_type != slsa::BUILD_TYPE {
        return Err(format!(
            "buildType is {:?}, expected {:?}",
            definition.build_type,
            slsa::BUILD_TYPE
        ));
    }
    if statement.predicate.run_details.builder.id.is_empty() {
        return Err("runDetails.builder.id is empty".to_owned());
    }
    for dependency in &definition.resolved_dependencies {
        if dependency.digest.is_empty() && dependency.uri.is_none() {
            return Err(format!(
                "resolved dependency {} has neither uri nor digest",
                dependency.name
            ));
        }
    }
    if statement
        .resolved_digest(slsa::LOCK_DEPENDENCY, "sha256")
        .is_none_or(|hex| !is_lower_hex(hex, 64))
    {
        return Err("resolvedDependencies has no Cargo.lock sha256".to_owned());
    }
    Ok(statement)
}

fn safe_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && !name.contains(':')
}

/// Every subject's file exists with its digest, and every file is a subject. Returns the
/// subjects' bytes.
fn check_subjects(
    dir: &Path,
    statement: &Statement,
    errors: &mut Vec<ReleaseError>,
) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for subject in &statement.subject {
        if !safe_name(&subject.name) {
            errors.push(ReleaseError::UnsafeSubjectName(subject.name.clone()));
            continue;
        }
        let path = dir.join(&subject.name);
        match std::fs::symlink_metadata(&path) {
            Err(_) => {
                errors.push(ReleaseError::SubjectMissing(subject.name.clone()));
                continue;
            }
            Ok(meta) if !meta.is_file() => {
                errors.push(ReleaseError::NotRegular(subject.name.clone()));
                continue;
            }
            Ok(_) => {}
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                errors.push(ReleaseError::Unreadable(format!(
                    "{}: {error}",
                    subject.name
                )));
                continue;
            }
        };
        let actual = sha256_hex(&bytes);
        let listed = subject.digest.get("sha256").cloned().unwrap_or_default();
        if actual != listed {
            errors.push(ReleaseError::SubjectDigest {
                name: subject.name.clone(),
                listed,
                actual,
            });
        }
        files.insert(subject.name.clone(), bytes);
    }
    let subjects: BTreeSet<&str> = statement.subject.iter().map(|s| s.name.as_str()).collect();
    let mut present = Vec::new();
    list_files(dir, "", &mut present, errors);
    for name in present {
        if name != ENVELOPE_FILE && !subjects.contains(name.as_str()) {
            errors.push(ReleaseError::Unlisted(name));
        }
    }
    files
}

fn list_files(dir: &Path, prefix: &str, out: &mut Vec<String>, errors: &mut Vec<ReleaseError>) {
    let entries = match std::fs::read_dir(dir.join(prefix)) {
        Ok(entries) => entries,
        Err(error) => {
            errors.push(ReleaseError::Unreadable(format!(
                "{}: {error}",
                dir.display()
            )));
            return;
        }
    };
    for entry in entries.flatten() {
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => list_files(dir, &format!("{name}/"), out, errors),
            Ok(kind) if kind.is_file() => out.push(name),
            _ => errors.push(ReleaseError::NotRegular(name)),
        }
    }
}

/// Each binary of the parameters and its SBOM are subjects, there is one contract pack, and
/// it verifies and was read at the same commit.
fn check_layout(
    statement: &Statement,
    files: &BTreeMap<String, Vec<u8>>,
    errors: &mut Vec<ReleaseError>,
) {
    let parameters = &statement.predicate.build_definition.external_parameters;
    if parameters.binaries.is_empty() {
        errors.push(ReleaseError::Layout(
            "the provenance names no binary".to_owned(),
        ));
    }
    let subjects: BTreeSet<&str> = statement.subject.iter().map(|s| s.name.as_str()).collect();
    for binary in &parameters.binaries {
        let spec = BinarySpec {
            package: binary.package.clone(),
            bin: binary.bin.clone(),
        };
        for name in [
            format!("{BIN_DIR}/{}", spec.file_name()),
            format!("{SBOM_DIR}/{}", sbom::file_name(&binary.bin)),
        ] {
            if !subjects.contains(name.as_str()) {
                errors.push(ReleaseError::Layout(format!("{name} is not a subject")));
            }
        }
    }
    let packs: Vec<&String> = statement
        .subject
        .iter()
        .map(|s| &s.name)
        .filter(|name| name.starts_with(NAME_PREFIX) && name.ends_with(".tar.gz"))
        .collect();
    let [pack] = packs.as_slice() else {
        errors.push(ReleaseError::Layout(format!(
            "{} contract packs ({NAME_PREFIX}<tag>.tar.gz) among the subjects, expected one",
            packs.len()
        )));
        return;
    };
    let Some(bytes) = files.get(pack.as_str()) else {
        return;
    };
    match verify_bytes(bytes, None, &Limits::default()) {
        Ok(verified) => {
            let head = verified
                .evidence
                .source
                .map(|s| s.git_head)
                .unwrap_or_default();
            if head != parameters.commit {
                errors.push(ReleaseError::PackSource {
                    pack: head,
                    commit: parameters.commit.clone(),
                });
            }
        }
        Err(failure) => errors.push(ReleaseError::ContractPack(failure)),
    }
}

/// Each SBOM against the checkout's `Cargo.lock` (which must be the recorded one) and the
/// crate graph `cargo metadata` gives for the recorded target.
fn check_sboms(
    statement: &Statement,
    files: &BTreeMap<String, Vec<u8>>,
    repo: &Path,
    errors: &mut Vec<ReleaseError>,
) {
    let lock = match Lock::read(repo) {
        Ok(lock) => lock,
        Err(error) => {
            errors.push(ReleaseError::Repo(error.to_string()));
            return;
        }
    };
    let recorded = statement
        .resolved_digest(slsa::LOCK_DEPENDENCY, "sha256")
        .unwrap_or_default();
    if recorded != lock.sha256 {
        errors.push(ReleaseError::LockMismatch {
            recorded: recorded.to_owned(),
            actual: lock.sha256,
        });
        return;
    }
    let definition = &statement.predicate.build_definition;
    let metadata = match Metadata::load(repo, &definition.internal_parameters.target) {
        Ok(metadata) => metadata,
        Err(error) => {
            errors.push(ReleaseError::Repo(format!("{error:#}")));
            return;
        }
    };
    for binary in &definition.external_parameters.binaries {
        let file = format!("{SBOM_DIR}/{}", sbom::file_name(&binary.bin));
        let Some(bytes) = files.get(&file) else {
            continue;
        };
        let bom: Bom = match serde_json::from_slice(bytes) {
            Ok(bom) => bom,
            Err(error) => {
                errors.push(ReleaseError::SbomMalformed {
                    file,
                    detail: error.to_string(),
                });
                continue;
            }
        };
        match metadata.binary_graph(&binary.package, &binary.bin) {
            Ok(graph) => {
                errors.extend(sbom::check(&bom, &graph, &lock).into_iter().map(|problem| {
                    ReleaseError::Sbom {
                        file: file.clone(),
                        problem,
                    }
                }))
            }
            Err(error) => errors.push(ReleaseError::Repo(format!("{error:#}"))),
        }
    }
}

/// Rebuilds the binaries from the checkout and compares them with the subjects (the SBOMs
/// were already checked against the checkout's lock file and crate graph).
fn rebuild(
    statement: &Statement,
    options: &Options,
    target_dir: &Path,
    errors: &mut Vec<ReleaseError>,
) {
    let definition = &statement.predicate.build_definition;
    let parameters = &definition.external_parameters;
    let repo = &options.repo;
    match git::resolve(repo, "HEAD") {
        Ok(head) if head == parameters.commit => {}
        Ok(head) => {
            errors.push(ReleaseError::RebuildSource {
                head,
                commit: parameters.commit.clone(),
            });
            return;
        }
        Err(error) => {
            errors.push(ReleaseError::Repo(format!("{error:#}")));
            return;
        }
    }
    let binaries: Vec<BinarySpec> = parameters
        .binaries
        .iter()
        .map(|b| BinarySpec {
            package: b.package.clone(),
            bin: b.bin.clone(),
        })
        .collect();
    let settings = match build::cargo_home() {
        Ok(cargo_home) => BuildSettings {
            root: repo.clone(),
            target_dir: target_dir.to_path_buf(),
            cargo_home,
            source_date_epoch: definition.internal_parameters.source_date_epoch,
            quiet: options.quiet,
        },
        Err(error) => {
            errors.push(ReleaseError::Repo(format!("{error:#}")));
            return;
        }
    };
    let here = build::rustc_version_verbose(repo)
        .ok()
        .map(|(text, _)| text)
        .filter(|text| *text != definition.internal_parameters.rustc_version_verbose);
    let paths = match build::build(&settings, &binaries) {
        Ok(paths) => paths,
        Err(error) => {
            errors.push(ReleaseError::Repo(format!("{error:#}")));
            return;
        }
    };
    for (binary, path) in binaries.iter().zip(paths) {
        let name = format!("{BIN_DIR}/{}", binary.file_name());
        let rebuilt = match std::fs::read(&path) {
            Ok(bytes) => sha256_hex(&bytes),
            Err(error) => {
                errors.push(ReleaseError::Unreadable(format!(
                    "{}: {error}",
                    path.display()
                )));
                continue;
            }
        };
        let listed = statement
            .subject_sha256(&name)
            .unwrap_or_default()
            .to_owned();
        if rebuilt != listed {
            errors.push(ReleaseError::RebuildDiffers {
                name,
                listed,
                rebuilt,
                toolchain: here.clone(),
            });
        }
    }
}
