//! The snapshot's manifest and security sidecar, as written to disk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest's format tag.
pub const SNAPSHOT_FORMAT: &str = "memorykernel-snapshot.v1";

/// File name of the manifest.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the manifest's HMAC signature.
pub const SIGNATURE_FILE: &str = "manifest.sig";
/// File name of the encryption sidecar.
pub const SECURITY_FILE: &str = "manifest.security.json";
/// Records, one JSON object per line.
pub const RECORDS_FILE: &str = "memory_records.ndjson";
/// Links, one JSON object per line.
pub const LINKS_FILE: &str = "memory_links.ndjson";
/// Context packages, one JSON object per line.
pub const PACKAGES_FILE: &str = "context_packages.ndjson";

/// Outcome rulesets, one stored row per line.
pub const RULESETS_FILE: &str = "outcome_rulesets.ndjson";
/// Outcome events, one stored event per line.
pub const EVENTS_FILE: &str = "outcome_events.ndjson";

/// The data files every snapshot has, in manifest order.
pub const DATA_FILES: [&str; 3] = [RECORDS_FILE, LINKS_FILE, PACKAGES_FILE];
/// The trust layer's data files, after [`DATA_FILES`]: written by every export, optional on
/// import (snapshots of builds before the trust layer lack them).
pub const OUTCOME_FILES: [&str; 2] = [RULESETS_FILE, EVENTS_FILE];

/// The encryption algorithm name written to the manifest and sidecar.
pub const ENCRYPTION_ALGORITHM: &str = "chacha20poly1305";

/// `manifest.json`: what the snapshot holds and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// Schema version of the exporting database.
    pub schema_version: u32,
    /// When the snapshot was taken, only when the exporter asked for it (so exports are
    /// reproducible by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    /// The encryption algorithm when the data files are encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// One entry per data file, in [`DATA_FILES`] order.
    pub files: Vec<ManifestFile>,
}

/// One data file in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// File name inside the snapshot folder.
    pub name: String,
    /// Number of lines (items) in the plaintext.
    pub count: u64,
    /// Lowercase hex SHA-256 of the file as written (the ciphertext when encrypted).
    pub sha256: String,
}

/// `manifest.security.json`: what a reader needs, besides the key, to decrypt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySidecar {
    /// Always [`ENCRYPTION_ALGORITHM`].
    pub algorithm: String,
    /// What the AEAD binds as associated data (`file_name`).
    pub associated_data: String,
    /// Hex nonce per data file name.
    pub nonces: BTreeMap<String, String>,
}
