//! Maintenance operations: backup, restore and integrity reports (docs/spec/snapshots.md, MKR-034),
//! and the snapshot export/import of the store, each mapped onto the API's one error type.

use std::path::{Path, PathBuf};

use std::str::FromStr;

use memory_kernel_core::Timestamp;
use memory_kernel_store::{
    self as store, ExportOptions, ImportOptions, SecretKey, Store, read_key_file,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::kernel::MemoryKernel;
use crate::report::{ContentSummary, ExportReport, ImportReport, IntegrityReport, PruneReport};
use crate::store_error::{Operation, classify};

/// What `copy_store` did: both ends (URL passwords hidden) and what the target holds, which
/// matched the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    /// The source's location.
    pub from: String,
    /// The target's location.
    pub to: String,
    /// Counts and content digest, equal on both sides.
    pub content: ContentSummary,
}

/// How far a copy got: `done` of the stage's `total` items (both 0 for a stage without items
/// to count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProgress {
    /// The stage: `migrating a temporary copy of the source` (for a source with an older
    /// layout only), `reading`, `records`, `links`, `context packages`, `outcome events` or
    /// `verifying`, in that order.
    pub stage: &'static str,
    /// Items of the stage done so far.
    pub done: u64,
    /// Items of the stage in all.
    pub total: u64,
}

impl From<store::CopyProgress> for CopyProgress {
    fn from(progress: store::CopyProgress) -> Self {
        let store::CopyProgress { stage, done, total } = progress;
        let stage = match stage {
            store::CopyStage::MigratingSource => "migrating a temporary copy of the source",
            store::CopyStage::Reading => "reading",
            store::CopyStage::Records => "records",
            store::CopyStage::Links => "links",
            store::CopyStage::Packages => "context packages",
            store::CopyStage::OutcomeEvents => "outcome events",
            store::CopyStage::Verifying => "verifying",
        };
        Self { stage, done, total }
    }
}

/// What a backup or restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCopyReport {
    /// The database file read from.
    pub source: PathBuf,
    /// The file written.
    pub destination: PathBuf,
    /// Size of the written file in bytes.
    pub bytes: u64,
}

/// Key files for a snapshot export: each holds 64 hex digits (32 bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRequest {
    /// Sign the manifest (HMAC-SHA256) with the key in this file.
    pub signing_key_file: Option<PathBuf>,
    /// Encrypt the data files (ChaCha20-Poly1305) with the key in this file.
    pub encrypt_key_file: Option<PathBuf>,
}

/// How a snapshot is checked and merged on import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// Verify a signed snapshot with the key in this file (required for signed snapshots).
    pub verify_key_file: Option<PathBuf>,
    /// Decrypt an encrypted snapshot with the key in this file.
    pub decrypt_key_file: Option<PathBuf>,
    /// Accept a snapshot that carries no signature.
    pub allow_unsigned: bool,
    /// Skip and count items already stored instead of refusing the import.
    pub skip_existing: bool,
}

impl Default for ImportRequest {
    fn default() -> Self {
        Self {
            verify_key_file: None,
            decrypt_key_file: None,
            allow_unsigned: false,
            skip_existing: true,
        }
    }
}

impl MemoryKernel {
    /// Exports every record, link and context package into the new folder `dir` (NDJSON plus a
    /// manifest with a digest per file), optionally signed and encrypted. The export is
    /// reproducible: the same content gives the same bytes (encryption nonces aside).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for an unreadable key file
    /// or a non-empty target folder;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable);
    /// [`ErrorCode::InternalError`](crate::ErrorCode::InternalError) for I/O.
    pub fn export(
        &self,
        dir: impl AsRef<Path>,
        request: &ExportRequest,
    ) -> Result<ExportReport, ApiError> {
        self.check_file(Operation::Maintenance)?;
        let options = ExportOptions {
            signing_key: load_key(request.signing_key_file.as_deref())?,
            encryption_key: load_key(request.encrypt_key_file.as_deref())?,
            exported_at: None,
        };
        self.store()
            .export(dir, &options)
            .map(ExportReport::from)
            .map_err(|e| classify(Operation::Maintenance, e))
    }

    /// Imports a snapshot folder in one transaction: digests, signature and every record are
    /// checked first, and a failure leaves the database exactly as it was.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a refused snapshot
    /// (unsigned without `allow_unsigned`, wrong key, tampered file, invalid record);
    /// [`ErrorCode::WriteConflict`](crate::ErrorCode::WriteConflict) for a differing duplicate;
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable);
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn import(
        &self,
        dir: impl AsRef<Path>,
        request: &ImportRequest,
    ) -> Result<ImportReport, ApiError> {
        self.check_file(Operation::Write)?;
        let options = ImportOptions {
            verify_key: load_key(request.verify_key_file.as_deref())?,
            decrypt_key: load_key(request.decrypt_key_file.as_deref())?,
            allow_unsigned: request.allow_unsigned,
            skip_existing: request.skip_existing,
        };
        self.store()
            .import(dir, &options)
            .map(ImportReport::from)
            .map_err(|e| classify(Operation::Write, e))
    }

    /// Writes a consistent copy of the database at `db` to `dest` through SQLite's online
    /// backup API. Read-only on `db` (an unmigrated file stays byte-identical); `dest` is
    /// written to a temporary file and renamed, so it is never half-written. An existing
    /// `dest` is replaced only with `overwrite`, and never when it is `db` itself.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable) when `db` is missing
    /// or not a database; [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) when
    /// `dest` exists without `overwrite` or is the live database;
    /// [`ErrorCode::InternalError`](crate::ErrorCode::InternalError) for I/O.
    pub fn backup(
        db: impl AsRef<Path>,
        dest: impl AsRef<Path>,
        overwrite: bool,
    ) -> Result<FileCopyReport, ApiError> {
        let (db, dest) = (db.as_ref(), dest.as_ref());
        let store = Store::open_read_only(db).map_err(|e| classify(Operation::Schema, e))?;
        store
            .backup(dest, overwrite)
            .map_err(|e| classify(Operation::Maintenance, e))?;
        copy_report(db, dest)
    }

    /// Copies the whole store at `from` (records, links, context packages and the trust
    /// layer) into the empty database at `to`, either engine to either engine, in one
    /// transaction of the target, and checks that the target reads back the source's counts
    /// and content digest (see `docs/spec/storage-engines.md`).
    ///
    /// # Errors
    /// `schema_unavailable` when either end cannot be opened, `from` has a layout this build
    /// does not know, or `from` is a PostgreSQL database with pending migrations;
    /// `validation_error` when `to` is not empty; `write_failed` when the copy fails or does
    /// not match. A failed copy leaves the target empty. A SQLite `from` of an older layout
    /// (an earlier schema, or a file of the original MemoryKernel) is migrated in a
    /// temporary copy first; `from` itself is never changed.
    pub fn copy_store(
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
    ) -> Result<CopyReport, ApiError> {
        Self::copy_store_with_progress(from, to, |_| {})
    }

    /// [`MemoryKernel::copy_store`], telling `progress` how far it got: when each stage
    /// starts, every thousand items and when it ends.
    ///
    /// # Errors
    /// As [`MemoryKernel::copy_store`].
    pub fn copy_store_with_progress(
        from: impl AsRef<Path>,
        to: impl AsRef<Path>,
        mut progress: impl FnMut(CopyProgress),
    ) -> Result<CopyReport, ApiError> {
        let source =
            Store::open_existing(from.as_ref()).map_err(|e| classify(Operation::Schema, e))?;
        // A source of an older layout is copied through a migrated temporary copy of it; a
        // newer or broken one stops here.
        source
            .schema_status()
            .map_err(|e| classify(Operation::Schema, e))?;
        let target = Store::open(to.as_ref()).map_err(|e| classify(Operation::Schema, e))?;
        let content = source
            .copy_to_with(&target, &mut |step| progress(CopyProgress::from(step)))
            .map_err(|e| classify(Operation::Write, e))?;
        Ok(CopyReport {
            from: source.location(),
            to: target.location(),
            content: content.into(),
        })
    }

    /// Replaces this database's content with the backup at `source`, atomically: on any
    /// failure the live database is unchanged.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) when the source is not a
    /// current, healthy MemoryKernel database;
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed) otherwise.
    pub fn restore(&self, source: impl AsRef<Path>) -> Result<FileCopyReport, ApiError> {
        let source = source.as_ref();
        self.store()
            .restore(source)
            .map_err(|e| classify(Operation::Write, e))?;
        copy_report(source, self.path())
    }

    /// Deletes the context packages stored before `before` (RFC 3339 UTC). Packages are
    /// derived data: records, links and their indexes stay untouched, and re-running a query
    /// at the same `as_of` stores its package again.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad instant,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn prune_context_packages(&self, before: &str) -> Result<PruneReport, ApiError> {
        self.check_file(Operation::Write)?;
        let before = Timestamp::from_str(before)?;
        self.store()
            .prune_context_packages(before)
            .map(PruneReport::from)
            .map_err(|e| classify(Operation::Write, e))
    }

    /// SQLite's quick_check, foreign-key violations and the schema status.
    ///
    /// # Errors
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable) or
    /// [`ErrorCode::InternalError`](crate::ErrorCode::InternalError).
    pub fn integrity_check(&self) -> Result<IntegrityReport, ApiError> {
        self.check_file(Operation::Maintenance)?;
        self.store()
            .integrity_check()
            .map(IntegrityReport::from)
            .map_err(|e| classify(Operation::Maintenance, e))
    }
}

fn load_key(path: Option<&Path>) -> Result<Option<SecretKey>, ApiError> {
    path.map(|p| {
        read_key_file(p).map_err(|e| ApiError::InvalidRequest {
            message: e.to_string(),
        })
    })
    .transpose()
}

fn copy_report(source: &Path, destination: &Path) -> Result<FileCopyReport, ApiError> {
    let bytes = std::fs::metadata(destination)
        .map_err(|e| ApiError::Internal {
            message: format!("{}: {e}", destination.display()),
        })?
        .len();
    Ok(FileCopyReport {
        source: source.to_path_buf(),
        destination: destination.to_path_buf(),
        bytes,
    })
}
