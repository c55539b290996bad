//! Every way a bundle can fail `cargo xtask release-evidence verify`, one variant each, with a
//! message that says what is wrong and what to do.

use std::fmt;

/// One failure of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The tarball cannot be read.
    Unreadable(String),
    /// The compressed file, the uncompressed tar or the entry count exceeds its cap.
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// The cap.
        limit: u64,
    },
    /// Not a gzip stream at all.
    NotGzip(String),
    /// The gzip stream ends before its end.
    TruncatedGzip,
    /// The gzip stream is damaged (bad deflate data or checksum).
    CorruptGzip(String),
    /// Bytes follow the gzip stream.
    TrailingData(usize),
    /// The tar inside is malformed.
    MalformedTar(String),
    /// An entry name is not UTF-8.
    NonUtf8Path(String),
    /// An entry name is absolute.
    AbsolutePath(String),
    /// An entry name has a `..` component.
    PathTraversal(String),
    /// An entry name has an empty or `.` component, or a backslash.
    NonNormalPath(String),
    /// A symlink or hard link entry.
    Link {
        /// Entry name.
        path: String,
        /// `symlink` or `hard link`.
        kind: &'static str,
    },
    /// A device or FIFO entry.
    SpecialFile {
        /// Entry name.
        path: String,
        /// `character device`, `block device` or `fifo`.
        kind: &'static str,
    },
    /// Any other entry that is not a regular file (a directory, a PAX global header, …).
    NotAFile {
        /// Entry name.
        path: String,
        /// What it is.
        kind: String,
    },
    /// An entry larger than the per-entry cap.
    EntryTooLarge {
        /// Entry name.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// Two entries with one name.
    DuplicateEntry(String),
    /// An entry not under the single top folder.
    OutsideTopFolder {
        /// Entry name.
        path: String,
        /// The top folder of the first entry.
        top: String,
    },
    /// A header that the deterministic writer never produces.
    NonCanonicalHeader {
        /// Entry name.
        path: String,
        /// What differs.
        detail: String,
    },
    /// No entries at all.
    Empty,
    /// `evidence.json`, `SHA256SUMS` or `provenance.intoto.json` is absent.
    MissingBundleFile(&'static str),
    /// A `SHA256SUMS` line is not `<64 hex>  <path>`.
    MalformedSums {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// `SHA256SUMS` lists a path twice.
    SumsDuplicate(String),
    /// `SHA256SUMS` lists a file the tarball lacks.
    SumsMissingFile(String),
    /// A file's sha256 differs from its `SHA256SUMS` line.
    SumsMismatch {
        /// Path under the top folder.
        path: String,
        /// Listed digest.
        listed: String,
        /// Digest of the file in the tarball.
        actual: String,
    },
    /// A file of the tarball that `SHA256SUMS` does not list.
    SumsUnlisted(String),
    /// `evidence.json` is not a release-bundle evidence document.
    MalformedEvidence(String),
    /// The top folder is not `memorykernel-evidence-<release_tag>`.
    TopFolderMismatch {
        /// The top folder found.
        top: String,
        /// The one `evidence.json` implies.
        expected: String,
    },
    /// `evidence.json` lists an artifact the tarball lacks.
    ArtifactMissing(String),
    /// An artifact's size differs from `evidence.json`.
    ArtifactSizeMismatch {
        /// Repo-relative path.
        path: String,
        /// Listed size.
        listed: u64,
        /// Size in the tarball.
        actual: u64,
    },
    /// An artifact's sha256 differs from `evidence.json`.
    ArtifactDigestMismatch {
        /// Repo-relative path.
        path: String,
        /// Listed digest.
        listed: String,
        /// Digest of the file in the tarball.
        actual: String,
    },
    /// A file that is neither an artifact of `evidence.json` nor one of the three bundle files.
    NotAnArtifact(String),
    /// `provenance.intoto.json` is not our in-toto Statement v1.
    MalformedProvenance(String),
    /// The in-toto subjects differ from the artifacts.
    ProvenanceSubjects(String),
    /// The in-toto predicate disagrees with `evidence.json` about the source.
    ProvenanceSource(String),
    /// `--against-repo`: the work tree's governed files cannot be read.
    RepoUnreadable(String),
    /// `--against-repo`: an artifact is not in the work tree.
    RepoMissing(String),
    /// `--against-repo`: an artifact differs from the work tree file.
    RepoDiffers(String),
    /// `--against-repo`: a governed file of the work tree is not in the bundle.
    RepoExtra(String),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VerifyError as E;
        match self {
            E::Unreadable(message) => write!(f, "cannot read the tarball: {message}"),
            E::TooLarge { what, limit } => {
                write!(
                    f,
                    "{what} exceeds the verifier's cap of {limit}: not a release bundle"
                )
            }
            E::NotGzip(message) => write!(f, "not a gzip file ({message}): pass the .tar.gz"),
            E::TruncatedGzip => f.write_str(
                "the gzip stream is truncated (it ends before its end): the file is incomplete; \
                 download or generate it again",
            ),
            E::CorruptGzip(message) => write!(
                f,
                "the gzip stream is corrupt ({message}): download or generate it again"
            ),
            E::TrailingData(count) => write!(
                f,
                "{count} unexpected bytes follow the gzip stream: the file was altered"
            ),
            E::MalformedTar(message) => {
                write!(f, "the tar inside the gzip is malformed: {message}")
            }
            E::NonUtf8Path(path) => write!(f, "entry name {path:?} is not UTF-8"),
            E::AbsolutePath(path) => {
                write!(
                    f,
                    "entry {path:?} has an absolute path: refused (entries are relative)"
                )
            }
            E::PathTraversal(path) => write!(
                f,
                "entry {path:?} has a `..` component (path traversal): refused"
            ),
            E::NonNormalPath(path) => write!(
                f,
                "entry {path:?} is not a normal relative path (empty or `.` component, or `\\`)"
            ),
            E::Link { path, kind } => write!(f, "entry {path:?} is a {kind}: links are refused"),
            E::SpecialFile { path, kind } => {
                write!(f, "entry {path:?} is a {kind}: special files are refused")
            }
            E::NotAFile { path, kind } => write!(
                f,
                "entry {path:?} is a {kind}, not a regular file: a bundle holds regular files only"
            ),
            E::EntryTooLarge { path, size, limit } => write!(
                f,
                "entry {path:?} is {size} bytes, over the per-entry cap of {limit}"
            ),
            E::DuplicateEntry(path) => write!(f, "entry {path:?} appears twice"),
            E::OutsideTopFolder { path, top } => {
                write!(f, "entry {path:?} is outside the single top folder {top:?}")
            }
            E::NonCanonicalHeader { path, detail } => write!(
                f,
                "entry {path:?} has a header the deterministic writer never produces: {detail}"
            ),
            E::Empty => f.write_str("the tarball has no entries"),
            E::MissingBundleFile(name) => {
                write!(f, "the bundle has no {name} in its top folder")
            }
            E::MalformedSums { line, text } => write!(
                f,
                "SHA256SUMS line {line} is not `<64 lowercase hex>  <path>`: {text:?}"
            ),
            E::SumsDuplicate(path) => write!(f, "SHA256SUMS lists {path} twice"),
            E::SumsMissingFile(path) => write!(
                f,
                "missing file: SHA256SUMS lists {path}, which the tarball does not contain"
            ),
            E::SumsMismatch {
                path,
                listed,
                actual,
            } => write!(
                f,
                "{path} does not match SHA256SUMS (listed {listed}, file {actual}): the file was \
                 changed after the bundle was built"
            ),
            E::SumsUnlisted(path) => write!(
                f,
                "extra file: {path} is in the tarball but not in SHA256SUMS"
            ),
            E::MalformedEvidence(message) => write!(f, "evidence.json is not valid: {message}"),
            E::TopFolderMismatch { top, expected } => write!(
                f,
                "the top folder is {top:?}, but evidence.json's release tag makes it {expected:?}"
            ),
            E::ArtifactMissing(path) => write!(
                f,
                "evidence.json lists artifact {path}, which the tarball does not contain"
            ),
            E::ArtifactSizeMismatch {
                path,
                listed,
                actual,
            } => write!(
                f,
                "evidence.json gives {path} {listed} bytes, the file in the tarball has {actual}"
            ),
            E::ArtifactDigestMismatch {
                path,
                listed,
                actual,
            } => write!(
                f,
                "evidence.json gives {path} sha256 {listed}, the file in the tarball has {actual}"
            ),
            E::NotAnArtifact(path) => write!(
                f,
                "{path} is in the tarball but evidence.json does not list it as an artifact"
            ),
            E::MalformedProvenance(message) => {
                write!(f, "provenance.intoto.json is not valid: {message}")
            }
            E::ProvenanceSubjects(detail) => write!(
                f,
                "the in-toto subjects differ from evidence.json's artifacts: {detail}"
            ),
            E::ProvenanceSource(detail) => write!(
                f,
                "the in-toto predicate disagrees with evidence.json: {detail}"
            ),
            E::RepoUnreadable(message) => {
                write!(f, "--against-repo: cannot read the work tree: {message}")
            }
            E::RepoMissing(path) => write!(
                f,
                "--against-repo: artifact {path} does not exist in the work tree"
            ),
            E::RepoDiffers(path) => write!(
                f,
                "--against-repo: artifact {path} differs from the work tree file (the bundle \
                 is of another commit, or the file changed since)"
            ),
            E::RepoExtra(path) => write!(
                f,
                "--against-repo: governed file {path} of the work tree is not in the bundle"
            ),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Every failure of one verification; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure(pub Vec<VerifyError>);

impl fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        write!(
            f,
            "the bundle failed verification ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyFailure {}

impl From<VerifyError> for VerifyFailure {
    fn from(error: VerifyError) -> Self {
        Self(vec![error])
    }
}
