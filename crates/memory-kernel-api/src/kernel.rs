//! The `MemoryKernel` handle: every operation of the application API (docs/spec/api.md), each one a
//! short sequence of "validate in core, read or write through the store, resolve in core".

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use memory_kernel_core::package::QueryKind;
use memory_kernel_core::record::Confidence;
use memory_kernel_core::{
    AskQuery, ConstraintPayload, ContextPackage, ExclusionMode, Link, MemoryId, MemoryRecord,
    MemoryVersionId, PackageBounds, Payload, Provenance, RecallQuery, Scope, Timestamp,
    ValidationError,
};
use memory_kernel_store::{RecordFilter, Store, StoreError};

use crate::error::ApiError;
use crate::interceptor::OperationInterceptor;
use crate::report::{MigrationReport, SchemaStatus};
use crate::request::{
    AddConstraintRequest, AddSummaryRequest, AskRequest, LinkRequest, ListRequest, RecallRequest,
    RecordMetadata,
};
use crate::store_error::{Operation, classify};

/// A deadline an operation carries into its transaction: when it has passed before commit,
/// the write rolls back and the operation fails with its default code (docs/spec/requirements.md).
pub type Deadline = Option<Instant>;

/// How often an add without a requested version retries after a concurrent writer of the same
/// memory took the version it computed.
const VERSION_RACE_RETRIES: usize = 16;

/// The application API over one database file.
#[derive(Clone)]
pub struct MemoryKernel {
    store: Store,
    path: PathBuf,
    /// Called before each operation, when one is installed ([`MemoryKernel::with_interceptor`]).
    interceptor: Option<Arc<dyn OperationInterceptor>>,
}

impl std::fmt::Debug for MemoryKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKernel")
            .field("path", &self.path)
            .finish()
    }
}

impl MemoryKernel {
    /// Opens (creating when absent) the database at `path`. Does not migrate: operations on a
    /// database whose schema is not current fail with
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable).
    ///
    /// # Errors
    /// [`ApiError::SchemaUnavailable`] when the file cannot be opened as a database.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ApiError> {
        let path = path.as_ref().to_path_buf();
        let store = Store::open(&path).map_err(|e| classify(Operation::Schema, e))?;
        Ok(Self {
            store,
            path,
            interceptor: None,
        })
    }

    /// Opens the store at `path`, setting up a new one: a file that does not exist, or a
    /// PostgreSQL database holding none of the store's tables, is created and migrated, and
    /// the migration's report returned. An existing store is opened as it is and never
    /// migrated, so a surface never upgrades a database that other processes may serve.
    ///
    /// # Errors
    /// As [`MemoryKernel::open`] and [`MemoryKernel::migrate`].
    pub fn open_or_create(
        path: impl AsRef<Path>,
    ) -> Result<(Self, Option<MigrationReport>), ApiError> {
        let path = path.as_ref();
        // A PostgreSQL URL is never a path that exists; its database is new when it holds no
        // schema at all.
        let file_existed = path.exists();
        let kernel = Self::open(path)?;
        if file_existed || kernel.schema_status()?.current_version > 0 {
            return Ok((kernel, None));
        }
        let report = kernel.migrate(false)?;
        Ok((kernel, Some(report)))
    }

    /// This handle with `interceptor` called before each of its operations (and those of its
    /// clones), replacing any installed before; see [`crate::interceptor`].
    #[must_use]
    pub fn with_interceptor(mut self, interceptor: Arc<dyn OperationInterceptor>) -> Self {
        self.interceptor = Some(interceptor);
        self
    }

    /// The schema status of the database at `path`, strictly read-only: a missing file is
    /// reported, never created, and an existing file is left byte-identical.
    ///
    /// # Errors
    /// [`ApiError::SchemaUnavailable`] when the file is missing or not a database.
    pub fn inspect(path: impl AsRef<Path>) -> Result<SchemaStatus, ApiError> {
        Store::inspect(path.as_ref())
            .map(SchemaStatus::from)
            .map_err(|e| classify(Operation::Schema, e))
    }

    /// The migration plan for the database at `path`, without touching the file.
    ///
    /// # Errors
    /// [`ApiError::SchemaUnavailable`] when the file is not a database.
    pub fn migration_plan(path: impl AsRef<Path>) -> Result<MigrationReport, ApiError> {
        Store::plan_migration(path.as_ref())
            .map(MigrationReport::from)
            .map_err(|e| classify(Operation::Migrate, e))
    }

    /// Whether the database file can serve `operation` now: it must still be at the path this
    /// handle was opened on, and not be read-only when the operation writes
    /// ([`Operation::file_use`]). Every operation makes this check first, so a long-running
    /// surface never acknowledges a write into a file that was deleted, moved or made
    /// read-only underneath it.
    ///
    /// # Errors
    /// [`ApiError::SchemaUnavailable`] naming the file and what is wrong with it.
    pub fn check_file(&self, operation: Operation) -> Result<(), ApiError> {
        self.store
            .check_file(operation.file_use())
            .map_err(|e| classify(operation, e))
    }

    /// Asks the installed interceptor, if any, whether `operation` runs.
    pub(crate) fn intercept(&self, operation: Operation) -> Result<(), ApiError> {
        match &self.interceptor {
            Some(interceptor) => interceptor.before(operation),
            None => Ok(()),
        }
    }

    /// The store behind this handle (crate-internal: surfaces never reach the store).
    pub(crate) const fn store(&self) -> &Store {
        &self.store
    }

    /// The database location this handle works on, as given: a file's path or a
    /// PostgreSQL URL.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema status of the open database.
    ///
    /// # Errors
    /// [`ApiError::SchemaUnavailable`] when it cannot be read.
    pub fn schema_status(&self) -> Result<SchemaStatus, ApiError> {
        self.check_file(Operation::Schema)?;
        self.intercept(Operation::Schema)?;
        self.store
            .schema_status()
            .map(SchemaStatus::from)
            .map_err(|e| classify(Operation::Schema, e))
    }

    /// Applies pending migrations, or with `dry_run` reports what would be applied.
    ///
    /// # Errors
    /// [`ApiError::MigrationFailed`] (or
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable) for an unknown
    /// schema).
    pub fn migrate(&self, dry_run: bool) -> Result<MigrationReport, ApiError> {
        self.check_file(Operation::Migrate)?;
        self.intercept(Operation::Migrate)?;
        self.store
            .migrate(dry_run)
            .map(MigrationReport::from)
            .map_err(|e| classify(Operation::Migrate, e))
    }

    /// Adds a constraint record.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a refused value,
    /// [`ErrorCode::WriteConflict`](crate::ErrorCode::WriteConflict) for a taken version,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn add_constraint(
        &self,
        request: &AddConstraintRequest,
        deadline: Deadline,
    ) -> Result<MemoryRecord, ApiError> {
        self.check_file(Operation::Write)?;
        self.intercept(Operation::Write)?;
        let payload = Payload::Constraint(ConstraintPayload {
            scope: Scope::new(&request.actor, &request.action, &request.resource)?,
            effect: request.effect,
            note: request.note.clone(),
        });
        self.add_record(payload, &request.metadata, deadline)
    }

    /// Adds a decision, preference, event or outcome record.
    ///
    /// # Errors
    /// As [`MemoryKernel::add_constraint`].
    pub fn add_summary(
        &self,
        request: &AddSummaryRequest,
        deadline: Deadline,
    ) -> Result<MemoryRecord, ApiError> {
        self.check_file(Operation::Write)?;
        self.intercept(Operation::Write)?;
        let payload = Payload::summary(request.record_type, &request.summary)?;
        self.add_record(payload, &request.metadata, deadline)
    }

    fn add_record(
        &self,
        payload: Payload,
        metadata: &RecordMetadata,
        deadline: Deadline,
    ) -> Result<MemoryRecord, ApiError> {
        let memory_id = metadata
            .memory_id
            .as_deref()
            .map(MemoryId::from_str)
            .transpose()?
            .unwrap_or_else(MemoryId::generate);
        let next = self
            .store
            .next_version(memory_id)
            .map_err(|e| classify(Operation::Write, e))?;
        let version = match metadata.version {
            Some(0) => return Err(ValidationError::VersionZero.into()),
            Some(given) if given != next => {
                return Err(ApiError::WriteConflict {
                    message: format!(
                        "version {given} requested for memory {memory_id}, but the next \
                         version is {next}"
                    ),
                });
            }
            _ => next,
        };
        let created_at = parse_time(metadata.created_at.as_deref())?.unwrap_or_else(Timestamp::now);
        let effective_at = parse_time(metadata.effective_at.as_deref())?.unwrap_or(created_at);
        let record = MemoryRecord {
            memory_version_id: MemoryVersionId::generate(),
            memory_id,
            version,
            created_at,
            effective_at,
            truth_status: metadata.truth_status,
            authority: metadata.authority,
            confidence: metadata.confidence.map(Confidence::new).transpose()?,
            writer: metadata.writer.trim().to_owned(),
            justification: metadata.justification.trim().to_owned(),
            provenance: Provenance {
                source_uri: metadata.source_uri.trim().to_owned(),
                source_hash: metadata.source_hash.clone(),
                evidence: metadata.evidence.clone(),
            },
            supersedes: parse_version_ids(&metadata.supersedes)?,
            contradicts: parse_version_ids(&metadata.contradicts)?,
            payload,
        };
        record.validate()?;
        let mut record = record;
        // Without a requested version, losing the race for `next` to a concurrent writer of
        // the same memory is not the caller's conflict: take the following version and retry.
        for _ in 0..VERSION_RACE_RETRIES {
            match self.store.insert_record(&record, deadline) {
                Err(StoreError::VersionConflict { expected, .. }) if metadata.version.is_none() => {
                    record.version = expected;
                }
                other => {
                    return other
                        .map(|()| record)
                        .map_err(|e| classify(Operation::Write, e));
                }
            }
        }
        self.store
            .insert_record(&record, deadline)
            .map_err(|e| classify(Operation::Write, e))?;
        Ok(record)
    }

    /// Whether a write would be taken now (for readiness probes): the database is writable
    /// and its file system has at least `min_free_bytes` available. Reads only.
    ///
    /// # Errors
    /// [`ErrorCode::StorageUnavailable`](crate::ErrorCode::StorageUnavailable) when the storage is
    /// full or read-only; [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable)
    /// when the database cannot be opened.
    pub fn check_writable(&self, min_free_bytes: u64) -> Result<(), ApiError> {
        self.store
            .check_writable(min_free_bytes)
            .map_err(|error| match error {
                StoreError::ReadOnly | StoreError::StorageFull => ApiError::StorageUnavailable {
                    message: error.to_string(),
                },
                other => classify(Operation::Schema, other),
            })
    }

    /// Links two stored versions (supersedes or contradicts) and returns the link as stored.
    /// Sending a link whose ends and relation are already linked stores nothing and returns
    /// the stored link (idempotent).
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for an unknown version id
    /// (a memory id is not a version id) or a `supersedes` link that would close a cycle,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::WriteFailed`](crate::ErrorCode::WriteFailed).
    pub fn add_link(&self, request: &LinkRequest, deadline: Deadline) -> Result<Link, ApiError> {
        self.check_file(Operation::Write)?;
        self.intercept(Operation::Write)?;
        let link = Link {
            from: MemoryVersionId::from_str(&request.from)?,
            to: MemoryVersionId::from_str(&request.to)?,
            relation: request.relation,
            writer: request.writer.trim().to_owned(),
            justification: request.justification.trim().to_owned(),
            created_at: parse_time(request.created_at.as_deref())?.unwrap_or_else(Timestamp::now),
        };
        link.validate()?;
        self.store
            .insert_link(&link, deadline)
            .map_err(|e| classify(Operation::Write, e))
    }

    /// Lists stored records, ordered by creation instant.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad memory id,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn list(&self, request: &ListRequest) -> Result<Vec<MemoryRecord>, ApiError> {
        self.check_file(Operation::Read)?;
        self.intercept(Operation::Query)?;
        let filter = RecordFilter {
            record_type: request.record_type,
            memory_id: request
                .memory_id
                .as_deref()
                .map(MemoryId::from_str)
                .transpose()?,
            limit: request.limit,
        };
        self.store
            .list_records(&filter)
            .map_err(|e| classify(Operation::Query, e))
    }

    /// Answers a policy question and stores the context package so it can be shown later.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) (blank or `*` triple, bad
    /// as_of), [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn ask(
        &self,
        request: &AskRequest,
        deadline: Deadline,
    ) -> Result<ContextPackage, ApiError> {
        self.check_file(Operation::Query)?;
        self.intercept(Operation::Query)?;
        let as_of = parse_time(request.as_of.as_deref())?.unwrap_or_else(Timestamp::now);
        let bounds = PackageBounds::new(
            request.limit,
            request.exclusion_limit,
            request.exclusion_offset,
        )?;
        let query = AskQuery::from_triple(
            request.text.clone(),
            &request.actor,
            &request.action,
            &request.resource,
            as_of,
        )?
        .with_bounds(bounds);
        let set = self
            .store
            .until(deadline)
            .ask_candidates(query.scope(), as_of)
            .map_err(|e| classify(Operation::Query, e))?;
        let mut package = memory_kernel_core::ask(&set, &query);
        if let Some(mode) = request.trust_gate {
            package = self.gate_package(package, QueryKind::Ask, mode)?;
        }
        self.remember(QueryKind::Ask, package, &set.records, deadline)
    }

    /// Recalls records whose text overlaps the query and stores the context package.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) (no terms, empty types,
    /// zero limit, bad as_of),
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn recall(
        &self,
        request: &RecallRequest,
        deadline: Deadline,
    ) -> Result<ContextPackage, ApiError> {
        self.check_file(Operation::Query)?;
        self.intercept(Operation::Query)?;
        let as_of = parse_time(request.as_of.as_deref())?.unwrap_or_else(Timestamp::now);
        let exclusions = request.exclusions.unwrap_or_default();
        let bounds = PackageBounds::new(
            request.limit,
            request.exclusion_limit,
            request.exclusion_offset,
        )?;
        let mut query = RecallQuery::new(request.text.clone(), as_of)?
            .with_exclusions(exclusions)
            .with_bounds(bounds);
        if let Some(types) = &request.record_types {
            query = query.with_record_types(types.iter().copied())?;
        }
        let store = self.store.until(deadline);
        // `full` lists every visible record, so it reads them all; the other modes rank from
        // the term index and read only the records the package lists.
        let (mut package, records) = if exclusions == ExclusionMode::Full {
            let set = store
                .recall_candidates(query.terms(), query.record_types(), as_of, true)
                .map_err(|e| classify(Operation::Query, e))?;
            (memory_kernel_core::recall(&set, &query), set.records)
        } else {
            store
                .recall_indexed(&query)
                .map_err(|e| classify(Operation::Query, e))?
        };
        if let Some(mode) = request.trust_gate {
            package = self.gate_package(package, QueryKind::Recall, mode)?;
        }
        self.remember(QueryKind::Recall, package, &records, deadline)
    }

    /// Stores a package so `context show` returns it later. Idempotent: the id is derived
    /// from the query and snapshot, so a stored copy with this id is this package.
    /// A query whose deadline has passed stores nothing and reports the deadline instead.
    fn remember(
        &self,
        kind: QueryKind,
        package: ContextPackage,
        records: &[MemoryRecord],
        deadline: Deadline,
    ) -> Result<ContextPackage, ApiError> {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ApiError::DeadlineExceeded {
                operation: Operation::Query,
            });
        }
        self.store
            .until(deadline)
            .put_context_package(&package, records, kind.as_str())
            .map_err(|e| classify(Operation::Query, e))?;
        Ok(package)
    }

    /// Shows a stored context package by id: ours byte-identical to what the query returned,
    /// and one carried from an older layout (the original MemoryKernel's files, or a build
    /// before schema version 2) verbatim as it was written.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for an id that cannot be a
    /// package id (checked before any lookup),
    /// [`ErrorCode::ContextPackageNotFound`](crate::ErrorCode::ContextPackageNotFound),
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::ContextLookupFailed`](crate::ErrorCode::ContextLookupFailed).
    pub fn context_show(&self, id: &str) -> Result<ShownPackage, ApiError> {
        self.check_file(Operation::ContextLookup)?;
        memory_kernel_core::package::validate_context_package_id(id)?;
        self.intercept(Operation::ContextLookup)?;
        let json = self
            .store
            .get_context_package(id)
            .map_err(|e| classify(Operation::ContextLookup, e))?
            .ok_or_else(|| ApiError::ContextPackageNotFound { id: id.to_owned() })?;
        if let Ok(package) = serde_json::from_str::<ContextPackage>(&json) {
            return Ok(ShownPackage::Current(Box::new(package)));
        }
        serde_json::value::RawValue::from_string(json)
            .map(ShownPackage::Carried)
            .map_err(|e| ApiError::Internal {
                message: format!("stored context package {id} is not JSON: {e}"),
            })
    }
}

/// A stored context package as `context show` returns it.
#[derive(Debug, Clone)]
pub enum ShownPackage {
    /// A package of this build's shape.
    Current(Box<ContextPackage>),
    /// A package carried from an older layout, served verbatim.
    Carried(Box<serde_json::value::RawValue>),
}

impl ShownPackage {
    /// The package's id.
    #[must_use]
    pub fn context_package_id(&self) -> Option<String> {
        match self {
            Self::Current(package) => Some(package.context_package_id.clone()),
            Self::Carried(raw) => serde_json::from_str::<serde_json::Value>(raw.get())
                .ok()
                .and_then(|v| v.get("context_package_id")?.as_str().map(str::to_owned)),
        }
    }

    /// The package JSON, compact: for a current package its canonical bytes.
    #[must_use]
    pub fn to_json(&self) -> String {
        match self {
            Self::Current(package) => package.to_canonical_json(),
            Self::Carried(raw) => raw.get().to_owned(),
        }
    }
}

impl serde::Serialize for ShownPackage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Current(package) => package.serialize(serializer),
            Self::Carried(raw) => raw.serialize(serializer),
        }
    }
}

fn parse_time(value: Option<&str>) -> Result<Option<Timestamp>, ValidationError> {
    value.map(Timestamp::from_str).transpose()
}

fn parse_version_ids(values: &[String]) -> Result<Vec<MemoryVersionId>, ValidationError> {
    values
        .iter()
        .map(|v| MemoryVersionId::from_str(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use memory_kernel_core::{Authority, Effect, TruthStatus};

    use super::*;
    use crate::error_code::ErrorCode;

    fn deny() -> AddConstraintRequest {
        AddConstraintRequest {
            actor: "user".to_owned(),
            action: "use".to_owned(),
            resource: "usb_drive".to_owned(),
            effect: Effect::Deny,
            note: None,
            metadata: RecordMetadata::new(
                "w",
                "j",
                "file:///policy.md",
                TruthStatus::Asserted,
                Authority::Authoritative,
            ),
        }
    }

    fn code<T>(result: Result<T, ApiError>) -> Option<ErrorCode> {
        result.err().map(|e| e.code())
    }

    #[test]
    fn every_surface_gets_the_file_check_before_its_operation() {
        let dir = tempfile::tempdir().ok();
        let path = dir
            .as_ref()
            .map(|d| d.path().join("db.sqlite3"))
            .unwrap_or_default();
        let Ok(kernel) = MemoryKernel::open(&path) else {
            panic!("kernel did not open");
        };
        assert!(kernel.migrate(false).is_ok());
        assert!(kernel.add_constraint(&deny(), None).is_ok());

        let mut permissions = std::fs::metadata(&path).map(|m| m.permissions()).ok();
        if let Some(permissions) = permissions.as_mut() {
            permissions.set_readonly(true);
            assert!(std::fs::set_permissions(&path, permissions.clone()).is_ok());
        }
        // A write is refused before anything reaches SQLite; a read still works.
        assert_eq!(
            code(kernel.add_constraint(&deny(), None)),
            Some(ErrorCode::SchemaUnavailable)
        );
        assert_eq!(
            kernel.list(&ListRequest::default()).ok().map(|r| r.len()),
            Some(1)
        );

        let moved = path.with_extension("moved");
        assert!(std::fs::rename(&path, &moved).is_ok());
        // Checked before the request is validated: an invalid id still meets the missing file.
        assert_eq!(
            code(kernel.context_show("not-a-package-id")),
            Some(ErrorCode::SchemaUnavailable)
        );
        assert_eq!(
            code(kernel.schema_status()),
            Some(ErrorCode::SchemaUnavailable)
        );
        let message = kernel
            .list(&ListRequest::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("deleted or moved"), "{message}");
        assert!(std::fs::rename(&moved, &path).is_ok());
        assert!(kernel.schema_status().is_ok());
    }
}
