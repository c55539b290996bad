//! Writing a snapshot: read everything in one read transaction, serialise in a content-
//! determined order, write into a temporary folder beside the target, rename it into place.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use memory_kernel_core::{Link, MemoryRecord};
use serde::Serialize;

use super::crypto::{encrypt, sha256_hex, sign};
use super::manifest::{
    ENCRYPTION_ALGORITHM, EVENTS_FILE, LINKS_FILE, MANIFEST_FILE, Manifest, ManifestFile,
    PACKAGES_FILE, RECORDS_FILE, RULESETS_FILE, SECURITY_FILE, SIGNATURE_FILE, SNAPSHOT_FORMAT,
    SecuritySidecar,
};
use super::{ExportOptions, ExportReport, SnapshotError};
use crate::error::{Result, StoreError};
use crate::migrations;
use crate::outcome::{StoredRuleset, all_events, all_rulesets};
use crate::packages::{StoredContextPackage, all_packages};
use crate::queries::{RecordFilter, all_links, list_records};
use crate::sql::Lite;
use crate::store::Store;

/// Everything a snapshot holds, read from one consistent view of the database.
struct Contents {
    schema_version: u32,
    records: Vec<MemoryRecord>,
    links: Vec<Link>,
    packages: Vec<StoredContextPackage>,
    rulesets: Vec<StoredRuleset>,
    events: Vec<memory_kernel_outcome::OutcomeEvent>,
}

impl Store {
    /// Exports every record, link, context package, outcome ruleset and outcome event into the folder `dir`, which must not
    /// exist or be empty. The folder appears complete or not at all: it is written beside the
    /// target under a temporary name and renamed.
    ///
    /// # Errors
    /// [`SnapshotError::TargetNotEmpty`]; I/O errors; schema-gate and SQLite errors. On
    /// failure nothing is left behind.
    pub fn export(&self, dir: impl AsRef<Path>, options: &ExportOptions) -> Result<ExportReport> {
        let target = dir.as_ref();
        check_target(target)?;
        let contents = if let Some(pg) = self.postgres() {
            let (records, links, packages, rulesets, events) = pg.snapshot_contents()?;
            // The snapshot's schema version names the layout of its items: PostgreSQL
            // stores SQLite's current one (see `docs/spec/storage-engines.md`).
            Contents {
                schema_version: crate::schema::target_version(),
                records,
                links,
                packages,
                rulesets,
                events,
            }
        } else {
            self.with_current_conn(|conn| {
                // One read transaction: the three files describe the same instant.
                let tx = conn.transaction()?;
                let contents = Contents {
                    schema_version: migrations::read_status(&tx)?.current_version,
                    records: list_records(&tx, &RecordFilter::default())?,
                    links: all_links(&tx)?,
                    packages: all_packages(&tx)?,
                    rulesets: all_rulesets(&mut Lite(&tx))?,
                    events: all_events(&mut Lite(&tx))?,
                };
                tx.commit()?;
                Ok(contents)
            })?
        };

        let parent = parent_dir(target);
        let staging = tempfile::Builder::new()
            .prefix(".mk-export-")
            .tempdir_in(parent)
            .map_err(StoreError::io("creating a staging folder in", parent))?;
        let report = write_snapshot(staging.path(), &contents, options, target)?;
        let staged = staging.keep();
        if let Err(error) = move_into_place(&staged, target) {
            // Best effort: the staging folder is ours and incomplete without the rename.
            let _ = std::fs::remove_dir_all(&staged);
            return Err(error);
        }
        Ok(report)
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The target may be absent or an empty folder; anything else is refused.
fn check_target(target: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let empty_dir = target.is_dir()
        && std::fs::read_dir(target)
            .map_err(StoreError::io("reading", target))?
            .next()
            .is_none();
    if empty_dir {
        Ok(())
    } else {
        Err(SnapshotError::TargetNotEmpty {
            path: target.to_owned(),
        }
        .into())
    }
}

fn move_into_place(staged: &Path, target: &Path) -> Result<()> {
    if target.is_dir() {
        // Checked empty above; `remove_dir` refuses if something appeared since.
        std::fs::remove_dir(target)
            .map_err(StoreError::io("replacing the empty folder", target))?;
    }
    std::fs::rename(staged, target).map_err(StoreError::io("renaming the snapshot into", target))
}

/// One item per line, `\n`-terminated.
fn ndjson<T: Serialize>(items: &[T], file: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        serde_json::to_writer(&mut out, item).map_err(|source| SnapshotError::MalformedLine {
            file,
            line: index + 1,
            source,
        })?;
        out.push(b'\n');
    }
    Ok(out)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).map_err(StoreError::io("creating", &path))?;
    file.write_all(bytes)
        .map_err(StoreError::io("writing", &path))?;
    file.sync_all().map_err(StoreError::io("syncing", &path))
}

fn write_snapshot(
    dir: &Path,
    contents: &Contents,
    options: &ExportOptions,
    target: &Path,
) -> Result<ExportReport> {
    let mut links = contents.links.clone();
    // Content order (not insertion order), so equal stores export equal bytes.
    links.sort_by(|a, b| {
        (
            a.created_at,
            a.from,
            a.to,
            a.relation,
            &a.writer,
            &a.justification,
        )
            .cmp(&(
                b.created_at,
                b.from,
                b.to,
                b.relation,
                &b.writer,
                &b.justification,
            ))
    });
    let data: [(&'static str, u64, Vec<u8>); 5] = [
        (
            RECORDS_FILE,
            contents.records.len() as u64,
            ndjson(&contents.records, RECORDS_FILE)?,
        ),
        (LINKS_FILE, links.len() as u64, ndjson(&links, LINKS_FILE)?),
        (
            PACKAGES_FILE,
            contents.packages.len() as u64,
            ndjson(&contents.packages, PACKAGES_FILE)?,
        ),
        (
            RULESETS_FILE,
            contents.rulesets.len() as u64,
            ndjson(&contents.rulesets, RULESETS_FILE)?,
        ),
        (
            EVENTS_FILE,
            contents.events.len() as u64,
            ndjson(&contents.events, EVENTS_FILE)?,
        ),
    ];
    let mut files = Vec::new();
    let mut nonces = BTreeMap::new();
    for (name, count, plaintext) in data {
        let bytes = match &options.encryption_key {
            Some(key) => {
                let (nonce, ciphertext) = encrypt(key, name, &plaintext)?;
                nonces.insert(name.to_owned(), hex::encode(nonce));
                ciphertext
            }
            None => plaintext,
        };
        write_file(dir, name, &bytes)?;
        files.push(ManifestFile {
            name: name.to_owned(),
            count,
            sha256: sha256_hex(&bytes),
        });
    }
    let encrypted = options.encryption_key.is_some();
    let manifest = Manifest {
        format: SNAPSHOT_FORMAT.to_owned(),
        schema_version: contents.schema_version,
        exported_at: options.exported_at.map(|t| t.to_string()),
        encryption: encrypted.then(|| ENCRYPTION_ALGORITHM.to_owned()),
        files,
    };
    let mut manifest_bytes = to_pretty(&manifest, MANIFEST_FILE)?;
    manifest_bytes.push(b'\n');
    write_file(dir, MANIFEST_FILE, &manifest_bytes)?;
    if let Some(key) = &options.signing_key {
        write_file(
            dir,
            SIGNATURE_FILE,
            format!("{}\n", sign(key, &manifest_bytes)).as_bytes(),
        )?;
    }
    if encrypted {
        let sidecar = SecuritySidecar {
            algorithm: ENCRYPTION_ALGORITHM.to_owned(),
            associated_data: "file_name".to_owned(),
            nonces,
        };
        let mut bytes = to_pretty(&sidecar, SECURITY_FILE)?;
        bytes.push(b'\n');
        write_file(dir, SECURITY_FILE, &bytes)?;
    }
    Ok(ExportReport {
        path: PathBuf::from(target),
        records: contents.records.len() as u64,
        links: contents.links.len() as u64,
        packages: contents.packages.len() as u64,
        signed: options.signing_key.is_some(),
        encrypted,
    })
}

fn to_pretty<T: Serialize>(value: &T, file: &'static str) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value)
        .map_err(|source| SnapshotError::MalformedManifest { file, source }.into())
}
