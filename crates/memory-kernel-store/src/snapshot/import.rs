//! Reading a snapshot: check the signature, the manifest and every digest, decrypt, parse and
//! validate every item, and only then write everything in one transaction. Nothing is written
//! to disk besides the database, so a refused import leaves no files behind.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;

use memory_kernel_core::{Link, MemoryId, MemoryRecord, MemoryVersionId};
use rusqlite::Connection;
use serde::de::DeserializeOwned;

use super::crypto::{NONCE_LEN, SecretKey, decrypt, sha256_hex, verify};
use super::manifest::{
    DATA_FILES, ENCRYPTION_ALGORITHM, EVENTS_FILE, LINKS_FILE, MANIFEST_FILE, Manifest,
    OUTCOME_FILES, PACKAGES_FILE, RECORDS_FILE, RULESETS_FILE, SECURITY_FILE, SIGNATURE_FILE,
    SNAPSHOT_FORMAT, SecuritySidecar,
};
use super::{ImportOptions, ImportReport, SnapshotError, original};
use crate::copy::{CopyProgress, CopyStage, Progress};
use crate::error::{Result, StoreError};
use crate::outcome::{TrustLayer, add_trust_layer};
use crate::packages::{StoredContextPackage, get_package, insert_package};
use crate::queries::get_record;
use crate::records::{insert_link, insert_record, link_exists, write_record};
use crate::schema;
use crate::sql::Lite;
use crate::store::Store;

/// What an import (of a snapshot, or of a whole store by `mk db copy`) writes, checked and
/// parsed.
pub(crate) struct Items {
    pub(crate) records: Vec<MemoryRecord>,
    pub(crate) links: Vec<Link>,
    pub(crate) packages: Vec<StoredContextPackage>,
    /// The trust layer: rulesets and events (none in snapshots without the trust layer's
    /// files); trust snapshots and the projector's position only in a copy.
    pub(crate) trust: TrustLayer,
    /// Records come from the original MemoryKernel and were checked with
    /// `validate_carried` (their source hash kept as the original stored it).
    pub(crate) carried: bool,
}

impl Store {
    /// Imports a snapshot folder written by [`Store::export`], or by the original
    /// MemoryKernel's `db export` (recognised by its manifest; see `docs/spec/snapshots.md`).
    /// Every check runs before the first write, and all writes share one transaction: a
    /// refused or failed import leaves the database exactly as it was.
    ///
    /// # Errors
    /// [`SnapshotError`] variants for signature, digest, decryption, format and content
    /// problems; [`StoreError::DuplicateRecord`], [`StoreError::DuplicateLink`] or
    /// [`StoreError::DuplicateContextPackage`] for stored items when `skip_existing` is off;
    /// any insert error (e.g. [`StoreError::UnknownLineageTarget`]); schema-gate and SQLite
    /// errors.
    pub fn import(&self, dir: impl AsRef<Path>, options: &ImportOptions) -> Result<ImportReport> {
        let dir = dir.as_ref();
        let manifest_bytes = read_file(dir, MANIFEST_FILE)?;
        check_signature(dir, &manifest_bytes, options)?;
        let items = if original::is_original_manifest(&manifest_bytes) {
            original::read_snapshot(dir, &manifest_bytes, options)?
        } else {
            read_snapshot(dir, &manifest_bytes, options)?
        };
        self.write_items(items, options.skip_existing, &mut |_| {})
    }

    /// Writes `items` in one write transaction of this store's engine, telling `progress`
    /// how far it got.
    pub(crate) fn write_items(
        &self,
        items: Items,
        skip_existing: bool,
        progress: &mut dyn FnMut(CopyProgress),
    ) -> Result<ImportReport> {
        if let Some(pg) = self.postgres() {
            return pg.import_items(|target| write_items(target, items, skip_existing, progress));
        }
        self.write_tx(None, |tx| {
            write_items(&mut SqliteTarget(tx), items, skip_existing, progress)
        })
    }
}

/// What an import writes into, inside its one write transaction: the engine's own reads and
/// checked writes, so both engines apply a snapshot by the same rules.
pub(crate) trait ImportTarget {
    /// The stored record with this id.
    fn record(&mut self, id: MemoryVersionId) -> Result<Option<MemoryRecord>>;
    /// Appends a record: checked by core's rules unless `carried` (the original's records,
    /// already checked with `validate_carried`), then by the store's.
    fn add_record(&mut self, record: &MemoryRecord, carried: bool) -> Result<()>;
    /// Whether this exact link is stored.
    fn has_link(&mut self, link: &Link) -> Result<bool>;
    /// Appends a link after the store's checks.
    fn add_link(&mut self, link: &Link) -> Result<()>;
    /// The stored package's JSON.
    fn package(&mut self, id: &str) -> Result<Option<String>>;
    /// Stores a package's JSON verbatim.
    fn add_package(&mut self, id: &str, kind: &str, json: &str) -> Result<()>;
    /// The trust layer (see [`add_trust_layer`]).
    fn add_trust(&mut self, layer: &TrustLayer) -> Result<()>;
}

/// The SQLite engine's import target: an open write transaction.
struct SqliteTarget<'c>(&'c Connection);

impl ImportTarget for SqliteTarget<'_> {
    fn record(&mut self, id: MemoryVersionId) -> Result<Option<MemoryRecord>> {
        get_record(self.0, id)
    }
    fn add_record(&mut self, record: &MemoryRecord, carried: bool) -> Result<()> {
        if carried {
            write_record(self.0, record)
        } else {
            insert_record(self.0, record)
        }
    }
    fn has_link(&mut self, link: &Link) -> Result<bool> {
        link_exists(self.0, link)
    }
    fn add_link(&mut self, link: &Link) -> Result<()> {
        insert_link(self.0, link)
    }
    fn package(&mut self, id: &str) -> Result<Option<String>> {
        get_package(self.0, id)
    }
    fn add_package(&mut self, id: &str, kind: &str, json: &str) -> Result<()> {
        insert_package(self.0, id, kind, json).map(|_| ())
    }
    fn add_trust(&mut self, layer: &TrustLayer) -> Result<()> {
        add_trust_layer(&mut Lite(self.0), layer)
    }
}

pub(super) fn read_file(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            SnapshotError::MissingFile {
                name: name.to_owned(),
            }
            .into()
        } else {
            StoreError::io("reading", path)(source)
        }
    })
}

pub(super) fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    match read_file(dir, name) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StoreError::Snapshot(SnapshotError::MissingFile { .. })) => Ok(None),
        Err(other) => Err(other),
    }
}

/// `manifest.sig`, the same for both formats: with a signature, a verify key is needed and
/// must match the manifest's exact bytes; without one, `allow_unsigned` is. A verify key makes
/// a valid signature mandatory: `allow_unsigned` never lets an unsigned snapshot past a key,
/// so deleting `manifest.sig` cannot downgrade a signed snapshot.
fn check_signature(dir: &Path, manifest_bytes: &[u8], options: &ImportOptions) -> Result<()> {
    match (read_optional(dir, SIGNATURE_FILE)?, &options.verify_key) {
        (Some(signature), Some(key)) => {
            let signature = String::from_utf8_lossy(&signature);
            verify(key, manifest_bytes, &signature)?;
        }
        (Some(_), None) => return Err(SnapshotError::VerifyKeyRequired.into()),
        (None, Some(_)) => return Err(SnapshotError::SignatureMissing.into()),
        (None, _) if !options.allow_unsigned => return Err(SnapshotError::UnsignedRefused.into()),
        (None, _) => {}
    }
    Ok(())
}

fn read_snapshot(dir: &Path, manifest_bytes: &[u8], options: &ImportOptions) -> Result<Items> {
    let manifest: Manifest = serde_json::from_slice(manifest_bytes).map_err(|source| {
        SnapshotError::MalformedManifest {
            file: MANIFEST_FILE,
            source,
        }
    })?;
    check_manifest(&manifest)?;
    let decryption = decryption(dir, &manifest, options.decrypt_key.as_ref())?;

    let mut plaintexts = HashMap::new();
    for entry in &manifest.files {
        let bytes = read_file(dir, &entry.name)?;
        if sha256_hex(&bytes) != entry.sha256 {
            return Err(SnapshotError::DigestMismatch {
                file: entry.name.clone(),
            }
            .into());
        }
        let plaintext = match &decryption {
            Some((key, sidecar)) => {
                let nonce = nonce_for(sidecar, &entry.name)?;
                decrypt(key, &entry.name, &nonce, &bytes)?
            }
            None => bytes,
        };
        plaintexts.insert(entry.name.as_str(), (entry.count, plaintext));
    }
    let records: Vec<MemoryRecord> = parse_lines(&plaintexts, RECORDS_FILE)?;
    for (index, record) in records.iter().enumerate() {
        record
            .validate()
            .map_err(|source| SnapshotError::InvalidItem {
                file: RECORDS_FILE,
                line: index + 1,
                source,
            })?;
    }
    let links: Vec<Link> = parse_lines(&plaintexts, LINKS_FILE)?;
    for (index, link) in links.iter().enumerate() {
        link.validate()
            .map_err(|source| SnapshotError::InvalidItem {
                file: LINKS_FILE,
                line: index + 1,
                source,
            })?;
    }
    let packages = parse_lines(&plaintexts, PACKAGES_FILE)?;
    let rulesets = parse_optional_lines(&plaintexts, RULESETS_FILE)?;
    let events = parse_optional_lines(&plaintexts, EVENTS_FILE)?;
    Ok(Items {
        records,
        links,
        packages,
        trust: TrustLayer::history(rulesets, events),
        carried: false,
    })
}

/// The format tag, the schema version and the file list must be exactly what this build
/// writes.
fn check_manifest(manifest: &Manifest) -> Result<()> {
    if manifest.format != SNAPSHOT_FORMAT {
        return Err(SnapshotError::UnsupportedFormat {
            found: manifest.format.clone(),
            expected: SNAPSHOT_FORMAT,
        }
        .into());
    }
    let supported = schema::target_version();
    if manifest.schema_version > supported {
        return Err(SnapshotError::SchemaTooNew {
            found: manifest.schema_version,
            supported,
        }
        .into());
    }
    let mut seen = HashSet::new();
    for entry in &manifest.files {
        let known = DATA_FILES.contains(&entry.name.as_str())
            || OUTCOME_FILES.contains(&entry.name.as_str());
        if !known || !seen.insert(entry.name.as_str()) {
            return Err(SnapshotError::UnexpectedFile {
                name: entry.name.clone(),
            }
            .into());
        }
    }
    if let Some(missing) = DATA_FILES.iter().find(|name| !seen.contains(*name)) {
        return Err(SnapshotError::MissingFile {
            name: (*missing).to_owned(),
        }
        .into());
    }
    Ok(())
}

/// The key and sidecar needed to decrypt, or `None` for a plaintext snapshot.
fn decryption<'k>(
    dir: &Path,
    manifest: &Manifest,
    key: Option<&'k SecretKey>,
) -> Result<Option<(&'k SecretKey, SecuritySidecar)>> {
    let Some(algorithm) = &manifest.encryption else {
        return Ok(None);
    };
    if algorithm != ENCRYPTION_ALGORITHM {
        return Err(invalid_security(format!("unknown algorithm {algorithm:?}")));
    }
    let key = key.ok_or(SnapshotError::DecryptKeyRequired)?;
    let bytes = read_file(dir, SECURITY_FILE)?;
    let sidecar: SecuritySidecar =
        serde_json::from_slice(&bytes).map_err(|source| SnapshotError::MalformedManifest {
            file: SECURITY_FILE,
            source,
        })?;
    if sidecar.algorithm != ENCRYPTION_ALGORITHM {
        return Err(invalid_security(format!(
            "sidecar algorithm {:?} differs from the manifest",
            sidecar.algorithm
        )));
    }
    Ok(Some((key, sidecar)))
}

fn invalid_security(reason: String) -> StoreError {
    SnapshotError::InvalidSecurityMetadata { reason }.into()
}

fn nonce_for(sidecar: &SecuritySidecar, file: &str) -> Result<[u8; NONCE_LEN]> {
    let text = sidecar
        .nonces
        .get(file)
        .ok_or_else(|| invalid_security(format!("no nonce for {file}")))?;
    let mut nonce = [0u8; NONCE_LEN];
    hex::decode_to_slice(text, &mut nonce)
        .map_err(|_| invalid_security(format!("nonce for {file} is not {NONCE_LEN} hex bytes")))?;
    Ok(nonce)
}

fn parse_lines<T: DeserializeOwned>(
    plaintexts: &HashMap<&str, (u64, Vec<u8>)>,
    file: &'static str,
) -> Result<Vec<T>> {
    let (expected, bytes) = plaintexts
        .get(file)
        .ok_or_else(|| SnapshotError::MissingFile {
            name: file.to_owned(),
        })?;
    let mut items = Vec::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let item = serde_json::from_slice(line).map_err(|source| SnapshotError::MalformedLine {
            file,
            line: index + 1,
            source,
        })?;
        items.push(item);
    }
    let found = items.len() as u64;
    if found != *expected {
        return Err(SnapshotError::CountMismatch {
            file: file.to_owned(),
            expected: *expected,
            found,
        }
        .into());
    }
    Ok(items)
}

/// [`parse_lines`] for a file a snapshot may lack: none when the manifest does not list it.
fn parse_optional_lines<T: DeserializeOwned>(
    plaintexts: &HashMap<&str, (u64, Vec<u8>)>,
    file: &'static str,
) -> Result<Vec<T>> {
    if plaintexts.contains_key(file) {
        parse_lines(plaintexts, file)
    } else {
        Ok(Vec::new())
    }
}

/// Orders records so each comes after the records it names (lineage targets and its
/// previous version) when those are in the snapshot too; otherwise file order is kept.
/// Records caught in a cycle go last, where their insert fails with a typed error.
fn dependency_order(records: Vec<MemoryRecord>) -> Vec<MemoryRecord> {
    let position: HashMap<MemoryVersionId, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.memory_version_id, i))
        .collect();
    let by_version: HashMap<(MemoryId, u32), usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.memory_id, r.version), i))
        .collect();
    let mut waiting_on = vec![0usize; records.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); records.len()];
    for (i, record) in records.iter().enumerate() {
        let previous = record
            .version
            .checked_sub(1)
            .and_then(|v| by_version.get(&(record.memory_id, v)));
        let targets = record
            .supersedes
            .iter()
            .chain(&record.contradicts)
            .filter_map(|id| position.get(id));
        for &j in targets.chain(previous) {
            if j != i {
                waiting_on[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..records.len())
        .filter(|i| waiting_on[*i] == 0)
        .map(Reverse)
        .collect();
    let mut order = Vec::with_capacity(records.len());
    let mut placed = vec![false; records.len()];
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        placed[i] = true;
        for &d in &dependents[i] {
            waiting_on[d] -= 1;
            if waiting_on[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    order.extend((0..records.len()).filter(|i| !placed[*i]));
    let mut slots: Vec<Option<MemoryRecord>> = records.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

pub(crate) fn write_items(
    target: &mut impl ImportTarget,
    items: Items,
    skip_existing: bool,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut tell = Progress::new(progress, CopyStage::Records, items.records.len());
    for record in dependency_order(items.records) {
        match target.record(record.memory_version_id)? {
            None => {
                target.add_record(&record, items.carried)?;
                report.records_imported += 1;
            }
            Some(_) if !skip_existing => {
                return Err(StoreError::DuplicateRecord {
                    memory_version_id: record.memory_version_id,
                });
            }
            Some(stored) if stored == record => report.records_skipped += 1,
            Some(_) => {
                return Err(SnapshotError::ConflictingRecord {
                    memory_version_id: record.memory_version_id,
                }
                .into());
            }
        }
        tell.one();
    }
    tell.finish();
    let mut tell = Progress::new(progress, CopyStage::Links, items.links.len());
    for link in &items.links {
        if target.has_link(link)? {
            if !skip_existing {
                return Err(StoreError::DuplicateLink {
                    from: link.from,
                    to: link.to,
                    relation: link.relation,
                });
            }
            report.links_skipped += 1;
        } else {
            target.add_link(link)?;
            report.links_imported += 1;
        }
        tell.one();
    }
    tell.finish();
    let mut tell = Progress::new(progress, CopyStage::Packages, items.packages.len());
    for package in &items.packages {
        match target.package(&package.context_package_id)? {
            None => {
                target.add_package(
                    &package.context_package_id,
                    &package.kind,
                    &package.package_json,
                )?;
                report.packages_imported += 1;
            }
            Some(_) if !skip_existing => {
                return Err(StoreError::DuplicateContextPackage {
                    id: package.context_package_id.clone(),
                });
            }
            Some(stored) if stored == package.package_json => report.packages_skipped += 1,
            Some(_) => {
                return Err(SnapshotError::ConflictingPackage {
                    id: package.context_package_id.clone(),
                }
                .into());
            }
        }
        tell.one();
    }
    tell.finish();
    let tell = Progress::new(progress, CopyStage::OutcomeEvents, items.trust.events.len());
    target.add_trust(&items.trust)?;
    tell.finish();
    Ok(report)
}
