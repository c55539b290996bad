//! Snapshot export and import (MKR-033, MKR-051, MKR-053): a folder of NDJSON files described
//! by a manifest, optionally signed (HMAC-SHA256) and encrypted (ChaCha20-Poly1305). The
//! format is documented in `docs/spec/snapshots.md`.

mod crypto;
mod export;
pub(crate) mod import;
pub mod manifest;
mod original;

use std::path::PathBuf;

use memory_kernel_core::{MemoryVersionId, Timestamp, ValidationError};
use serde::Serialize;
use thiserror::Error;

pub use crypto::{SecretKey, read_key_file};

/// What [`crate::Store::export`] writes besides the data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Sign the manifest with this HMAC key (writes `manifest.sig`).
    pub signing_key: Option<SecretKey>,
    /// Encrypt every data file with this key (writes `manifest.security.json`).
    pub encryption_key: Option<SecretKey>,
    /// Record this instant in the manifest. Left out by default, so exporting the same
    /// content twice gives identical bytes (encryption aside: nonces are random).
    pub exported_at: Option<Timestamp>,
}

/// How [`crate::Store::import`] checks and merges a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Key that must verify a signed snapshot's `manifest.sig`.
    pub verify_key: Option<SecretKey>,
    /// Key that decrypts an encrypted snapshot.
    pub decrypt_key: Option<SecretKey>,
    /// Accept a snapshot without `manifest.sig`.
    pub allow_unsigned: bool,
    /// Skip (and count) items already stored instead of failing on them.
    pub skip_existing: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            verify_key: None,
            decrypt_key: None,
            allow_unsigned: false,
            skip_existing: true,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The snapshot folder.
    pub path: PathBuf,
    /// Records written.
    pub records: u64,
    /// Links written.
    pub links: u64,
    /// Context packages written.
    pub packages: u64,
    /// Whether `manifest.sig` was written.
    pub signed: bool,
    /// Whether the data files are encrypted.
    pub encrypted: bool,
}

/// What an import stored and skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Records newly stored.
    pub records_imported: u64,
    /// Records already stored (identical), skipped.
    pub records_skipped: u64,
    /// Links newly stored.
    pub links_imported: u64,
    /// Links already stored, skipped.
    pub links_skipped: u64,
    /// Context packages newly stored.
    pub packages_imported: u64,
    /// Context packages already stored, skipped.
    pub packages_skipped: u64,
}

/// What is wrong with a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum KeyFileDefect {
    /// Not 64 characters after trimming.
    #[error("expected 64 hex digits (32 bytes), found {chars} characters")]
    WrongLength {
        /// Characters found after trimming.
        chars: usize,
    },
    /// 64 characters, but not all hex digits.
    #[error("expected hex digits only")]
    NotHex,
}

/// Why a snapshot export or import was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The export target exists and is not an empty folder.
    #[error("export target {} exists and is not an empty folder", path.display())]
    TargetNotEmpty {
        /// The target.
        path: PathBuf,
    },
    /// A file the snapshot needs is absent.
    #[error("snapshot file {name} is missing")]
    MissingFile {
        /// The file name.
        name: String,
    },
    /// The manifest lists a file this format does not define, or lists one twice.
    #[error("manifest lists unexpected file {name}")]
    UnexpectedFile {
        /// The file name.
        name: String,
    },
    /// `manifest.json` or `manifest.security.json` is not the expected JSON.
    #[error("{file} is malformed: {source}")]
    MalformedManifest {
        /// The file name.
        file: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest's format tag is not one this build reads.
    #[error("unsupported snapshot format {found:?} (expected {expected})")]
    UnsupportedFormat {
        /// The tag found.
        found: String,
        /// The tag this build reads.
        expected: &'static str,
    },
    /// The snapshot comes from a newer schema than this build knows.
    #[error("snapshot schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The snapshot's schema version.
        found: u32,
        /// The newest this build knows.
        supported: u32,
    },
    /// A snapshot written by the original MemoryKernel at a schema version this build does
    /// not read (it reads version 2).
    #[error(
        "snapshot from the original MemoryKernel has schema_version {found}; this build reads version 2"
    )]
    OriginalSchemaVersion {
        /// The manifest's `schema_version`.
        found: u32,
    },
    /// The snapshot is signed and no verify key was given.
    #[error("snapshot is signed; a verify key is required to import it")]
    VerifyKeyRequired,
    /// The signature does not match: wrong key or a changed manifest.
    #[error("manifest signature does not verify (wrong key or tampered manifest)")]
    SignatureMismatch,
    /// A verify key was given and the snapshot carries no signature: a key makes a valid
    /// signature mandatory, whatever `allow_unsigned` says.
    #[error("snapshot has no manifest.sig; a verify key requires a valid signature")]
    SignatureMissing,
    /// The snapshot has no signature and unsigned imports were not allowed.
    #[error("snapshot is unsigned; allow unsigned snapshots (--allow-unsigned) to import it")]
    UnsignedRefused,
    /// A data file's SHA-256 differs from the manifest.
    #[error("{file}: sha256 does not match the manifest")]
    DigestMismatch {
        /// The file name.
        file: String,
    },
    /// The snapshot is encrypted and no decrypt key was given.
    #[error("snapshot is encrypted; a decrypt key is required to import it")]
    DecryptKeyRequired,
    /// Encryption metadata is missing or names an unknown algorithm.
    #[error("encryption metadata is invalid: {reason}")]
    InvalidSecurityMetadata {
        /// What is wrong.
        reason: String,
    },
    /// A file would not encrypt (beyond the cipher's size limit).
    #[error("{file}: encryption failed")]
    EncryptionFailed {
        /// The file name.
        file: String,
    },
    /// A file would not decrypt: wrong key, or changed bytes.
    #[error("{file}: decryption failed (wrong key or tampered file)")]
    DecryptionFailed {
        /// The file name.
        file: String,
    },
    /// A line is not the JSON the file should hold.
    #[error("{file} line {line}: {source}")]
    MalformedLine {
        /// The file name.
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A record or link breaks a domain rule.
    #[error("{file} line {line}: {source}")]
    InvalidItem {
        /// The file name.
        file: &'static str,
        /// 1-based line number.
        line: usize,
        /// The rule broken.
        #[source]
        source: ValidationError,
    },
    /// A file holds a different number of items than the manifest says.
    #[error("{file}: manifest says {expected} items, file has {found}")]
    CountMismatch {
        /// The file name.
        file: String,
        /// The manifest's count.
        expected: u64,
        /// The lines found.
        found: u64,
    },
    /// A record in the snapshot has the id of a stored record but different content.
    #[error("record {memory_version_id} is stored with different content")]
    ConflictingRecord {
        /// The id.
        memory_version_id: MemoryVersionId,
    },
    /// A package in the snapshot has the id of a stored package but different content.
    #[error("context package {id} is stored with different content")]
    ConflictingPackage {
        /// The id.
        id: String,
    },
    /// An outcome ruleset in the snapshot has the version of a stored one but different
    /// parameters.
    #[error("outcome ruleset {version} is stored with different parameters")]
    ConflictingRuleset {
        /// The ruleset version.
        version: u32,
    },
    /// An outcome event in the snapshot has the sequence number of a stored, different event
    /// (the two event logs diverge).
    #[error("outcome event {event_seq} is stored with different content")]
    ConflictingEvent {
        /// The event's sequence number.
        event_seq: i64,
    },
    /// A key file could not be read.
    #[error("key file {}: {source}", path.display())]
    KeyFileUnreadable {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file does not hold a 32-byte hex key.
    #[error("key file {}: {defect}", path.display())]
    KeyFileInvalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        defect: KeyFileDefect,
    },
}
