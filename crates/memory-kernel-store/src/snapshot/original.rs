//! Snapshot folders written by the original MemoryKernel's `db export`: a manifest
//! `{schema_version: 2, exported_at, files: [{path, sha256, records}]}`, the records as the
//! original's record JSON and the context packages, one per line, optionally signed
//! (`manifest.sig`, checked by the caller before this runs) and encrypted (`MKENC1` files,
//! described by `manifest.security.json`). The format is in `docs/spec/snapshots.md`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use memory_kernel_core::{
    Authority, Confidence, Link, MemoryId, MemoryRecord, MemoryVersionId, Payload, Provenance,
    Relation, TruthStatus, ValidationError,
};
use serde::Deserialize;
use serde::de::Error as _;
use serde_json::Value;

use super::crypto::{ORIGINAL_MAGIC, decrypt_original, sha256_hex};
use super::import::{Items, read_file, read_optional};
use super::manifest::{MANIFEST_FILE, PACKAGES_FILE, RECORDS_FILE, SECURITY_FILE, SIGNATURE_FILE};
use super::{ImportOptions, SnapshotError};
use crate::error::Result;
use crate::legacy::{UPSTREAM_PACKAGE_KIND, carry_order, utc_timestamp, validate_carried};
use crate::packages::StoredContextPackage;

/// The only manifest `schema_version` the original's exports carry that this build reads.
const ORIGINAL_SCHEMA_VERSION: u32 = 2;
/// The original's encryption algorithm name.
const ORIGINAL_ENCRYPTION: &str = "xchacha20poly1305";
/// The original's signature algorithm name.
const ORIGINAL_SIGNATURE: &str = "hmac-sha256";

#[derive(Deserialize)]
struct OriginalManifest {
    schema_version: u32,
    files: Vec<OriginalFile>,
}

#[derive(Deserialize)]
struct OriginalFile {
    path: String,
    sha256: String,
    records: u64,
}

/// `manifest.security.json` as the original wrote it.
#[derive(Deserialize)]
struct OriginalSecurity {
    #[serde(default)]
    encrypted_files: Vec<String>,
    #[serde(default)]
    encryption_algorithm: Option<String>,
    #[serde(default)]
    signature_file: Option<String>,
    #[serde(default)]
    signature_algorithm: Option<String>,
}

/// One line of the original's `memory_records.ndjson`: its record JSON, the typed payload
/// nested under `payload` as `{record_type, payload}`.
#[derive(Deserialize)]
struct OriginalRecord {
    memory_version_id: MemoryVersionId,
    memory_id: MemoryId,
    version: u32,
    created_at: String,
    effective_at: String,
    truth_status: TruthStatus,
    authority: Authority,
    #[serde(default)]
    confidence: Option<f64>,
    writer: String,
    justification: String,
    provenance: Provenance,
    #[serde(default)]
    supersedes: Vec<MemoryVersionId>,
    #[serde(default)]
    contradicts: Vec<MemoryVersionId>,
    payload: Payload,
}

impl OriginalRecord {
    /// This store's record: instants in UTC, the confidence as this store keeps it.
    fn into_record(self) -> Result<MemoryRecord, ValidationError> {
        Ok(MemoryRecord {
            memory_version_id: self.memory_version_id,
            memory_id: self.memory_id,
            version: self.version,
            created_at: utc_timestamp(&self.created_at)?,
            effective_at: utc_timestamp(&self.effective_at)?,
            truth_status: self.truth_status,
            authority: self.authority,
            confidence: self.confidence.map(Confidence::new).transpose()?,
            writer: self.writer,
            justification: self.justification,
            provenance: self.provenance,
            supersedes: self.supersedes,
            contradicts: self.contradicts,
            payload: self.payload,
        })
    }
}

/// Whether a manifest is the original's: a JSON object with `files` entries named by `path`
/// and no `format` tag (this store's manifests always carry one).
pub(super) fn is_original_manifest(bytes: &[u8]) -> bool {
    let Ok(Value::Object(manifest)) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    !manifest.contains_key("format")
        && manifest
            .get("files")
            .and_then(Value::as_array)
            .is_some_and(|files| files.iter().all(|f| f.get("path").is_some()))
}

fn invalid_security(reason: String) -> SnapshotError {
    SnapshotError::InvalidSecurityMetadata { reason }
}

/// Reads, checks and converts an original snapshot whose signature the caller has checked.
///
/// # Errors
/// [`SnapshotError`] variants: malformed manifest or sidecar, an unknown schema version or
/// file, a digest mismatch, a missing key, a failed decryption, a malformed or invalid line,
/// a count mismatch.
pub(super) fn read_snapshot(
    dir: &Path,
    manifest_bytes: &[u8],
    options: &ImportOptions,
) -> Result<Items> {
    let manifest: OriginalManifest = serde_json::from_slice(manifest_bytes).map_err(|source| {
        SnapshotError::MalformedManifest {
            file: MANIFEST_FILE,
            source,
        }
    })?;
    if manifest.schema_version != ORIGINAL_SCHEMA_VERSION {
        return Err(SnapshotError::OriginalSchemaVersion {
            found: manifest.schema_version,
        }
        .into());
    }
    check_files(&manifest)?;
    let security = read_security(dir, &manifest)?;

    let mut plaintexts: HashMap<&str, (u64, Vec<u8>)> = HashMap::new();
    for entry in &manifest.files {
        let bytes = read_file(dir, &entry.path)?;
        if sha256_hex(&bytes) != entry.sha256.to_ascii_lowercase() {
            return Err(SnapshotError::DigestMismatch {
                file: entry.path.clone(),
            }
            .into());
        }
        let encrypted = bytes.starts_with(ORIGINAL_MAGIC);
        if let Some(security) = &security {
            let listed = security.encrypted_files.contains(&entry.path);
            if listed != encrypted {
                return Err(invalid_security(format!(
                    "{} is {}encrypted, but {SECURITY_FILE} says otherwise",
                    entry.path,
                    if encrypted { "" } else { "not " }
                ))
                .into());
            }
        }
        let plaintext = if encrypted {
            let key = options
                .decrypt_key
                .as_ref()
                .ok_or(SnapshotError::DecryptKeyRequired)?;
            decrypt_original(key, &entry.path, &bytes)?
        } else {
            bytes
        };
        plaintexts.insert(entry.path.as_str(), (entry.records, plaintext));
    }
    let records = match plaintexts.get(RECORDS_FILE) {
        Some((count, bytes)) => read_records(bytes, *count)?,
        None => Vec::new(),
    };
    let packages = match plaintexts.get(PACKAGES_FILE) {
        Some((count, bytes)) => read_packages(bytes, *count)?,
        None => Vec::new(),
    };
    let (records, links) = lineage_in_carry_order(records);
    // The original's export wrote no outcome data.
    Ok(Items {
        records,
        links,
        packages,
        trust: crate::outcome::TrustLayer::default(),
        carried: true,
    })
}

/// The original wrote exactly its two data files; `memory_records.ndjson` is required.
fn check_files(manifest: &OriginalManifest) -> Result<()> {
    let mut seen = HashSet::new();
    for entry in &manifest.files {
        let known = [RECORDS_FILE, PACKAGES_FILE].contains(&entry.path.as_str());
        if !known || !seen.insert(entry.path.as_str()) {
            return Err(SnapshotError::UnexpectedFile {
                name: entry.path.clone(),
            }
            .into());
        }
    }
    if !seen.contains(RECORDS_FILE) {
        return Err(SnapshotError::MissingFile {
            name: RECORDS_FILE.to_owned(),
        }
        .into());
    }
    Ok(())
}

/// The optional sidecar, checked against the folder: known algorithms, encrypted files that
/// the manifest lists, and a signature file that exists when it names one (so deleting
/// `manifest.sig` does not turn a signed snapshot into an unsigned one unnoticed).
fn read_security(dir: &Path, manifest: &OriginalManifest) -> Result<Option<OriginalSecurity>> {
    let Some(bytes) = read_optional(dir, SECURITY_FILE)? else {
        return Ok(None);
    };
    let security: OriginalSecurity =
        serde_json::from_slice(&bytes).map_err(|source| SnapshotError::MalformedManifest {
            file: SECURITY_FILE,
            source,
        })?;
    match security.encryption_algorithm.as_deref() {
        Some(ORIGINAL_ENCRYPTION) => {}
        None if security.encrypted_files.is_empty() => {}
        other => {
            return Err(invalid_security(format!("encryption_algorithm {other:?}")).into());
        }
    }
    if let Some(unlisted) = security
        .encrypted_files
        .iter()
        .find(|f| !manifest.files.iter().any(|e| &e.path == *f))
    {
        return Err(
            invalid_security(format!("encrypted file {unlisted} is not in the manifest")).into(),
        );
    }
    match (
        security.signature_file.as_deref(),
        security.signature_algorithm.as_deref(),
    ) {
        (None, None) => {}
        (Some(SIGNATURE_FILE), Some(ORIGINAL_SIGNATURE) | None) => {
            if read_optional(dir, SIGNATURE_FILE)?.is_none() {
                return Err(SnapshotError::MissingFile {
                    name: SIGNATURE_FILE.to_owned(),
                }
                .into());
            }
        }
        (file, algorithm) => {
            return Err(invalid_security(format!(
                "signature_file {file:?} with signature_algorithm {algorithm:?}"
            ))
            .into());
        }
    }
    Ok(Some(security))
}

/// Non-empty lines with their 1-based numbers.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, line)| (index + 1, line.strip_suffix(b"\r").unwrap_or(line)))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

fn check_count(file: &str, expected: u64, found: usize) -> Result<()> {
    if found as u64 == expected {
        Ok(())
    } else {
        Err(SnapshotError::CountMismatch {
            file: file.to_owned(),
            expected,
            found: found as u64,
        }
        .into())
    }
}

fn read_records(bytes: &[u8], expected: u64) -> Result<Vec<MemoryRecord>> {
    let mut records = Vec::new();
    for (line, text) in lines(bytes) {
        let original: OriginalRecord =
            serde_json::from_slice(text).map_err(|source| SnapshotError::MalformedLine {
                file: RECORDS_FILE,
                line,
                source,
            })?;
        let invalid = |source| SnapshotError::InvalidItem {
            file: RECORDS_FILE,
            line,
            source,
        };
        let record = original.into_record().map_err(invalid)?;
        validate_carried(&record).map_err(invalid)?;
        records.push(record);
    }
    check_count(RECORDS_FILE, expected, records.len())?;
    Ok(records)
}

/// Each line is accepted in any of three shapes: the package object itself (what the
/// original wrote; the line is stored verbatim), the original's table row
/// `{context_package_id, generated_at, package_json: "<package JSON text>"}`, or this
/// store's `{context_package_id, kind, package_json}` (the text stored verbatim either way).
fn package_from_line(text: &[u8]) -> Result<StoredContextPackage, serde_json::Error> {
    let value: Value = serde_json::from_slice(text)?;
    let object = value
        .as_object()
        .ok_or_else(|| serde_json::Error::custom("a context package line must be an object"))?;
    let id = object
        .get("context_package_id")
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            serde_json::Error::custom("context_package_id must be a non-empty string")
        })?;
    let (kind, package_json) = match object.get("package_json") {
        None => {
            let line = std::str::from_utf8(text).map_err(serde_json::Error::custom)?;
            (UPSTREAM_PACKAGE_KIND, line.trim().to_owned())
        }
        Some(Value::String(json)) => {
            serde_json::from_str::<serde::de::IgnoredAny>(json)?;
            let kind = object
                .get("kind")
                .and_then(Value::as_str)
                .filter(|kind| !kind.trim().is_empty())
                .unwrap_or(UPSTREAM_PACKAGE_KIND);
            (kind, json.clone())
        }
        Some(_) => {
            return Err(serde_json::Error::custom(
                "package_json must be a string holding the package JSON",
            ));
        }
    };
    Ok(StoredContextPackage {
        context_package_id: id.to_owned(),
        kind: kind.to_owned(),
        package_json,
    })
}

fn read_packages(bytes: &[u8], expected: u64) -> Result<Vec<StoredContextPackage>> {
    let mut packages = Vec::new();
    for (line, text) in lines(bytes) {
        packages.push(
            package_from_line(text).map_err(|source| SnapshotError::MalformedLine {
                file: PACKAGES_FILE,
                line,
                source,
            })?,
        );
    }
    check_count(PACKAGES_FILE, expected, packages.len())?;
    Ok(packages)
}

/// The original's record lists held every outgoing link, to older and newer records alike
/// (its own import failed on that). Records are put in carry order; a list entry stays when
/// its target comes earlier or is not in the snapshot (then it must be stored already), and
/// an entry naming a later record of the snapshot becomes a link written by the claiming
/// record's writer, with its justification, at its `created_at`.
fn lineage_in_carry_order(records: Vec<MemoryRecord>) -> (Vec<MemoryRecord>, Vec<Link>) {
    let mut records = carry_order(records, |r| r);
    let position: HashMap<MemoryVersionId, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.memory_version_id, i))
        .collect();
    let mut links = Vec::new();
    for (index, record) in records.iter_mut().enumerate() {
        let later = |id: &MemoryVersionId| position.get(id).is_some_and(|p| *p > index);
        for relation in [Relation::Supersedes, Relation::Contradicts] {
            let list = match relation {
                Relation::Supersedes => &mut record.supersedes,
                Relation::Contradicts => &mut record.contradicts,
            };
            let (moved, kept): (Vec<_>, Vec<_>) = list.drain(..).partition(|id| later(id));
            *list = kept;
            links.extend(moved.into_iter().map(|to| Link {
                from: record.memory_version_id,
                to,
                relation,
                writer: record.writer.clone(),
                justification: record.justification.clone(),
                created_at: record.created_at,
            }));
        }
    }
    (records, links)
}
