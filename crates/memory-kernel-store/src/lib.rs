//! MemoryKernel's store, on an embedded SQLite file (the default) or a PostgreSQL database
//! (see `docs/spec/storage-engines.md`): schema, forward-only migrations, append-only
//! persistence of records, links, context packages and outcome events, snapshot
//! export/import, online backup/restore (SQLite) and integrity reports.
//!
//! It owns storage only: record validation and resolution live in `memory-kernel-core`, and
//! callers reach the store through `memory-kernel-api`, never directly.
//!
//! Everything goes through one [`Store`] handle (cheap to clone, one connection pool). Data
//! operations refuse to run on a schema that is not current, with an error naming
//! `mk db migrate`; read-only inspection ([`Store::inspect`], [`Store::plan_migration`],
//! [`Store::open_read_only`]) never creates or changes the file.

mod backup;
mod browse;
mod copy;
mod database_file;
mod doc_cache;
mod error;
mod integrity;
mod legacy;
mod migrations;
mod outcome;
mod packages;
mod pool;
mod postgres;
mod queries;
mod records;
mod rows;
pub mod schema;
mod snapshot;
mod sql;
mod store;

pub use browse::{MemoryHistory, PackageEntry, PackageKey, PageFilter, PageOrder, RecordKey};
pub use copy::{ContentSummary, CopyProgress, CopyStage, PROGRESS_STEP};
pub use database_file::{DatabaseFileError, FileUse};
pub use error::{MIGRATE_COMMAND, Result, StoreError};
pub use integrity::{ForeignKeyViolation, IntegrityReport};
pub use legacy::{LegacyInventory, LegacyPayloadRows, UPSTREAM_PACKAGE_KIND};
pub use migrations::{MigrationReport, SchemaStatus};
pub use outcome::{OutcomeReplay, ProjectorStatus, StaleKey, StoredRuleset};
pub use packages::{PruneReport, StoredContextPackage};
pub use pool::BUSY_TIMEOUT;
pub use queries::RecordFilter;
pub use snapshot::{
    ExportOptions, ExportReport, ImportOptions, ImportReport, KeyFileDefect, SecretKey,
    SnapshotError, manifest, read_key_file,
};
pub use store::Store;
