//! The [`Store`] handle: one pool per database file, shared by every clone, plus the two
//! disciplines every operation goes through — the schema gate and the deadline-checked write
//! transaction.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::time::Instant;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{Result, StoreError};
use crate::migrations::{self, MigrationReport, SchemaStatus};
use crate::packages::PackageQueue;
use crate::pool::{self, Access, FileCheck, SqlitePool};

/// A MemoryKernel database. Cheap to clone; clones share one connection pool.
///
/// Operations hold a shared lock on the pool slot while they run, so [`Store::restore`] can
/// take it exclusively, close every connection and swap the file underneath.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// How long an operation through this handle may wait for a pooled connection or the
    /// write turn (see [`Store::until`]); `None` waits as long as it takes.
    deadline: Option<Instant>,
}

/// The engine behind a [`Store`]: an embedded SQLite file, or a PostgreSQL database reached
/// by URL (see `docs/spec/storage-engines.md`).
#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Shared>),
    Postgres(Arc<crate::postgres::PgShared>),
}

/// The SQLite engine's state, shared by every clone of a store.
struct Shared {
    path: PathBuf,
    access: Access,
    /// `None` only after a failed pool rebuild; the next operation rebuilds it.
    pool: RwLock<Option<SqlitePool>>,
    /// Set once the schema has been seen current; data operations skip the check after.
    schema_current: AtomicBool,
    /// Context packages handed over by queries and not yet committed.
    packages: PackageQueue,
    /// Taken around every write transaction: writers of this process queue here instead of
    /// polling SQLite's busy handler against each other (which can starve one writer past the
    /// busy timeout under load), each no longer than its deadline. Other processes still meet
    /// the busy timeout.
    writer: WriterSlot,
    /// The recall documents, in memory (see [`crate::doc_cache`]).
    docs: crate::doc_cache::DocCache,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::Sqlite(shared) => f
                .debug_struct("Store")
                .field("path", &shared.path)
                .field("read_only", &(shared.access == Access::ReadOnly))
                .finish_non_exhaustive(),
            Backend::Postgres(shared) => f
                .debug_struct("Store")
                .field("postgres", &shared.display_url())
                .finish_non_exhaustive(),
        }
    }
}

impl Store {
    /// The SQLite engine's state; an operation this build offers on SQLite only fails with
    /// [`StoreError::Unsupported`] on another engine.
    fn shared(&self) -> Result<&Shared> {
        match &self.backend {
            Backend::Sqlite(shared) => Ok(shared),
            Backend::Postgres(_) => Err(StoreError::Unsupported {
                engine: crate::postgres::ENGINE,
            }),
        }
    }

    /// The PostgreSQL engine behind this store, with this handle's deadline; `None` for SQLite.
    pub(crate) fn postgres(&self) -> Option<crate::postgres::Pg<'_>> {
        match &self.backend {
            Backend::Postgres(shared) => Some(crate::postgres::Pg::new(shared, self.deadline)),
            Backend::Sqlite(_) => None,
        }
    }

    /// The in-memory recall documents shared by every clone of this store.
    pub(crate) fn doc_cache(&self) -> Result<&crate::doc_cache::DocCache> {
        Ok(&self.shared()?.docs)
    }

    fn with_access(path: &Path, access: Access) -> Result<Self> {
        if let Some(url) = crate::postgres::url_of(path) {
            let shared = crate::postgres::PgShared::connect(url, access == Access::ReadOnly)?;
            return Ok(Self {
                backend: Backend::Postgres(Arc::new(shared)),
                deadline: None,
            });
        }
        let pool = pool::build_pool(path, access)?;
        Ok(Self {
            backend: Backend::Sqlite(Arc::new(Shared {
                path: path.to_owned(),
                access,
                pool: RwLock::new(Some(pool)),
                schema_current: AtomicBool::new(false),
                packages: PackageQueue::default(),
                writer: WriterSlot::default(),
                docs: crate::doc_cache::DocCache::default(),
            })),
            deadline: None,
        })
    }

    /// Opens the database read-write, creating the file when missing. Does not migrate: data
    /// operations on an unmigrated file fail until [`Store::migrate`] runs.
    ///
    /// A location starting with `postgres://` or `postgresql://` is a PostgreSQL database
    /// (see `docs/spec/storage-engines.md`), which must exist; anything else is a SQLite file.
    ///
    /// # Errors
    /// [`StoreError::NotADatabase`] for a non-SQLite file; SQLite or pool errors.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::with_access(path.as_ref(), Access::ReadWrite { create: true })
    }

    /// Opens an existing database read-write; never creates one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the file does not exist; otherwise as [`Store::open`].
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self> {
        Self::with_access(path.as_ref(), Access::ReadWrite { create: false })
    }

    /// Opens an existing database strictly read-only (`SQLITE_OPEN_READ_ONLY`, journal mode
    /// left alone). Every read works; every write fails with [`StoreError::ReadOnly`]. The
    /// file stays byte-identical.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the file does not exist; otherwise as [`Store::open`].
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Self::with_access(path.as_ref(), Access::ReadOnly)
    }

    /// Reads the schema status of a file without creating or changing it. A missing file is
    /// reported as [`StoreError::NotFound`], never created.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NotADatabase`],
    /// [`StoreError::UnknownSchemaVersion`], SQLite errors.
    pub fn inspect(path: impl AsRef<Path>) -> Result<SchemaStatus> {
        if crate::postgres::url_of(path.as_ref()).is_some() {
            return Self::open_read_only(path)?.schema_status();
        }
        let conn = pool::open_connection(path.as_ref(), Access::ReadOnly)?;
        migrations::read_status(&conn)
    }

    /// The plan `migrate` would apply to a file, read without creating or changing it.
    ///
    /// # Errors
    /// As [`Store::inspect`].
    pub fn plan_migration(path: impl AsRef<Path>) -> Result<MigrationReport> {
        if crate::postgres::url_of(path.as_ref()).is_some() {
            return Self::open_read_only(path)?.migrate(true);
        }
        let conn = pool::open_connection(path.as_ref(), Access::ReadOnly)?;
        migrations::plan(&conn)
    }

    /// A handle on the same database whose operations wait for a pooled connection (and the
    /// write turn) no later than `deadline`, failing with [`StoreError::DeadlineExceeded`]
    /// instead of queueing past it.
    #[must_use]
    pub fn until(&self, deadline: Option<Instant>) -> Self {
        Self {
            backend: self.backend.clone(),
            deadline,
        }
    }

    /// The database file's path; `None` for an engine that is not a file.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(shared) => Some(&shared.path),
            Backend::Postgres(_) => None,
        }
    }

    /// The database file's path, for operations on the file itself (backup, restore); on
    /// another engine [`StoreError::Unsupported`] (PostgreSQL has its own tools, see
    /// `docs/operations/scaling.md`).
    pub(crate) fn file_path(&self) -> Result<&Path> {
        Ok(&self.shared()?.path)
    }

    /// Where the database is, for messages: the file's path, or the PostgreSQL URL without
    /// its password.
    #[must_use]
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(shared) => shared.path.display().to_string(),
            Backend::Postgres(shared) => shared.display_url(),
        }
    }

    /// The engine's name: `sqlite` or `postgresql`.
    #[must_use]
    pub fn engine(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => crate::postgres::ENGINE,
        }
    }

    /// Whether the store was opened with [`Store::open_read_only`].
    #[must_use]
    pub fn is_read_only(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(shared) => shared.access == Access::ReadOnly,
            Backend::Postgres(shared) => shared.read_only(),
        }
    }

    /// The schema status (read-only).
    ///
    /// # Errors
    /// [`StoreError::UnknownSchemaVersion`], [`StoreError::InconsistentMigrations`], SQLite
    /// errors.
    pub fn schema_status(&self) -> Result<SchemaStatus> {
        if let Some(pg) = self.postgres() {
            return pg.schema_status();
        }
        self.with_conn(|conn| migrations::read_status(conn))
    }

    /// Whether a write would be taken now: the store and its file are writable, and the file
    /// system holding the database has at least `min_free_bytes` available. Reads only; used
    /// by readiness probes so they report what writes will do.
    ///
    /// # Errors
    /// [`StoreError::ReadOnly`] for a read-only store or a file SQLite opened read-only;
    /// [`StoreError::StorageFull`] below `min_free_bytes`; open and SQLite errors.
    pub fn check_writable(&self, min_free_bytes: u64) -> Result<()> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        if let Some(pg) = self.postgres() {
            return pg.check_writable();
        }
        let read_only = self.with_conn(|conn| Ok(conn.is_readonly(rusqlite::MAIN_DB)?))?;
        if read_only {
            return Err(StoreError::ReadOnly);
        }
        match available_bytes(&self.shared()?.path) {
            Some(available) if available < min_free_bytes => Err(StoreError::StorageFull),
            _ => Ok(()),
        }
    }

    /// Applies pending migrations in one transaction, or with `dry_run` only reports the plan
    /// (reads only). A file in the original MemoryKernel's layout has every record, link and
    /// context package carried into the current schema and its old tables dropped, in that
    /// same transaction (see `docs/spec/migrations.md`); the report's `legacy_inventory` says
    /// what moves.
    ///
    /// # Errors
    /// [`StoreError::ReadOnly`] when applying through a read-only store;
    /// [`StoreError::UnknownSchemaVersion`]; [`StoreError::UnsupportedLegacyLayout`];
    /// [`StoreError::LegacyRow`] naming a row of the original that cannot be carried; SQLite
    /// errors. On any error the file is unchanged.
    pub fn migrate(&self, dry_run: bool) -> Result<MigrationReport> {
        if let Some(pg) = self.postgres() {
            return pg.migrate(dry_run);
        }
        if dry_run {
            return self.with_conn(|conn| migrations::plan(conn));
        }
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        let report = self.with_conn(migrations::apply)?;
        self.shared()?
            .schema_current
            .store(false, Ordering::Release);
        Ok(report)
    }

    /// Runs `f` on a pooled connection, holding the pool slot shared.
    ///
    /// First checks that the file at the store's path is still the one the pool opened
    /// (device and inode): when it was replaced underneath (deleted and copied back, renamed
    /// over), the pool is rebuilt on the new file, so no acknowledged write lands in an
    /// unlinked file; when nothing is at the path any more, the operation is refused with
    /// [`StoreError::NotFound`].
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        self.with_conn_until(self.deadline, f)
    }

    /// [`Store::with_conn`], waiting for a pooled connection no later than `deadline`.
    pub(crate) fn with_conn_until<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let shared = self.shared()?;
        {
            let guard = shared.pool.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(pool) = guard.as_ref() {
                match pool.check_file() {
                    FileCheck::Same => {
                        let mut conn = pool.get(deadline)?;
                        return f(&mut conn);
                    }
                    FileCheck::Missing => {
                        return Err(StoreError::NotFound {
                            path: shared.path.clone(),
                        });
                    }
                    FileCheck::Replaced => {}
                }
            }
        }
        // No pool (a previous restore could not rebuild it) or a replaced file: rebuild it,
        // exclusively.
        let mut guard = shared.pool.write().unwrap_or_else(PoisonError::into_inner);
        let pool = match guard.as_ref().map(|pool| (pool, pool.check_file())) {
            Some((pool, FileCheck::Same)) => pool.clone(),
            Some((_, FileCheck::Missing)) => {
                return Err(StoreError::NotFound {
                    path: shared.path.clone(),
                });
            }
            _ => {
                // Close the old connections before opening the new file.
                *guard = None;
                let pool = pool::build_pool(&shared.path, shared.access)?;
                self.reset_schema_cache();
                *guard = Some(pool.clone());
                pool
            }
        };
        let mut conn = pool.get(deadline)?;
        f(&mut conn)
    }

    /// Like [`Store::with_conn`], but first requires a current schema (MKR-031).
    pub(crate) fn with_current_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        self.with_current_conn_until(self.deadline, f)
    }

    /// [`Store::with_current_conn`], waiting for a pooled connection no later than `deadline`.
    pub(crate) fn with_current_conn_until<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let shared = self.shared()?;
        self.with_conn_until(deadline, |conn| {
            if !shared.schema_current.load(Ordering::Acquire) {
                migrations::read_status(conn)?.require_current()?;
                shared.schema_current.store(true, Ordering::Release);
            }
            f(conn)
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on a current schema. When `deadline` has
    /// passed just before commit the transaction is rolled back and
    /// [`StoreError::DeadlineExceeded`] returned, so a timed-out write never lands (docs/spec/requirements.md).
    pub(crate) fn write_tx<T>(
        &self,
        deadline: Option<Instant>,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        let deadline = deadline.or(self.deadline);
        if deadline_passed(deadline) {
            return Err(StoreError::DeadlineExceeded);
        }
        // The turn first, then a connection: a writer waiting for its turn holds no pooled
        // connection, so queued writers never starve readers (or the turn's holder) of one.
        let _writer = self.shared()?.writer.acquire(deadline)?;
        self.with_current_conn_until(deadline, |conn| {
            if deadline_passed(deadline) {
                return Err(StoreError::DeadlineExceeded);
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            if deadline_passed(deadline) {
                tx.rollback()?;
                return Err(StoreError::DeadlineExceeded);
            }
            tx.commit()?;
            Ok(value)
        })
    }

    /// Takes the pool slot exclusively: no operation runs until the guard is dropped.
    pub(crate) fn lock_exclusive(
        &self,
    ) -> Result<std::sync::RwLockWriteGuard<'_, Option<SqlitePool>>> {
        Ok(self
            .shared()?
            .pool
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// Builds a fresh pool for the store's file (after a restore swapped it).
    pub(crate) fn build_pool(&self) -> Result<SqlitePool> {
        let shared = self.shared()?;
        pool::build_pool(&shared.path, shared.access)
    }

    /// Forgets that the schema was seen current (the file changed underneath).
    /// The queue of context packages not yet committed, shared by every clone.
    pub(crate) fn package_queue(&self) -> Result<&PackageQueue> {
        Ok(&self.shared()?.packages)
    }

    pub(crate) fn reset_schema_cache(&self) {
        if let Backend::Sqlite(shared) = &self.backend {
            shared.schema_current.store(false, Ordering::Release);
        }
    }
}

/// Bytes available to this process on the file system holding `path`, when it can be read.
#[cfg(unix)]
fn available_bytes(path: &Path) -> Option<u64> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Without statvfs the free space is unknown; only failed writes tell.
#[cfg(not(unix))]
fn available_bytes(_path: &Path) -> Option<u64> {
    None
}

/// The one write turn of a process, handed out in arrival order (tickets), so under load every
/// writer waits for the writers that came before it and no longer: a plain mutex or a condition
/// variable wakes an arbitrary waiter, which leaves a few writers waiting many turns (the tail
/// of the latency). A waiter gives up at its deadline and its ticket is skipped.
#[derive(Default)]
struct WriterSlot {
    state: Mutex<TurnState>,
    turn_passed: Condvar,
}

#[derive(Default)]
struct TurnState {
    /// The next ticket to hand out.
    next: u64,
    /// The ticket whose turn it is.
    serving: u64,
    /// Whether the serving ticket's holder is writing.
    held: bool,
    /// Tickets whose holders gave up before their turn.
    abandoned: BTreeSet<u64>,
}

impl TurnState {
    /// Moves the turn to the next ticket still waiting.
    fn pass(&mut self) {
        self.held = false;
        self.serving += 1;
        while self.abandoned.remove(&self.serving) {
            self.serving += 1;
        }
    }
}

/// The write turn, held until dropped.
struct WriterTurn<'a>(&'a WriterSlot);

impl WriterSlot {
    /// Waits for the write turn, in arrival order, no later than `deadline`.
    fn acquire(&self, deadline: Option<Instant>) -> Result<WriterTurn<'_>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = state.next;
        state.next += 1;
        loop {
            if state.serving == ticket && !state.held {
                state.held = true;
                return Ok(WriterTurn(self));
            }
            state = match deadline {
                None => self
                    .turn_passed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        if state.serving == ticket {
                            // Our turn came as the deadline passed: hand it on.
                            state.pass();
                            self.turn_passed.notify_all();
                        } else {
                            state.abandoned.insert(ticket);
                        }
                        return Err(StoreError::DeadlineExceeded);
                    }
                    self.turn_passed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl Drop for WriterTurn<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.pass();
        self.0.turn_passed.notify_all();
    }
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}

    #[test]
    fn store_is_cloneable_and_shareable_across_threads() {
        assert_shareable::<Store>();
    }

    #[test]
    fn item_09_waits_for_a_connection_or_the_write_turn_end_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("db.sqlite3")).unwrap();
        let pool = store
            .shared()
            .unwrap()
            .pool
            .read()
            .unwrap()
            .clone()
            .unwrap();
        // Every connection on loan: the next caller would wait for one to come back.
        let held: Vec<_> = (0..crate::pool::POOL_SIZE)
            .map(|_| pool.get(None).unwrap())
            .collect();
        let started = Instant::now();
        let waited = pool.get(Some(started + std::time::Duration::from_millis(50)));
        assert!(matches!(waited, Err(StoreError::DeadlineExceeded)));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        drop(held);

        let turn = store.shared().unwrap().writer.acquire(None).unwrap();
        let started = Instant::now();
        let queued = store
            .shared()
            .unwrap()
            .writer
            .acquire(Some(started + std::time::Duration::from_millis(50)));
        assert!(matches!(queued, Err(StoreError::DeadlineExceeded)));
        drop(turn);
        assert!(store.shared().unwrap().writer.acquire(None).is_ok());
    }

    #[test]
    fn item_11_the_write_turn_goes_in_arrival_order_and_skips_those_who_gave_up() {
        let slot = Arc::new(WriterSlot::default());
        let first = slot.acquire(None).unwrap();
        // A second writer gives up; a third waits.
        let gave_up = slot.acquire(Some(Instant::now() + std::time::Duration::from_millis(20)));
        assert!(matches!(gave_up, Err(StoreError::DeadlineExceeded)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..4)
            .map(|n| {
                let (mine, order) = (Arc::clone(&slot), Arc::clone(&order));
                let handle = std::thread::spawn(move || {
                    let _turn = mine.acquire(None).unwrap();
                    order.lock().unwrap().push(n);
                });
                // Each waiter takes its ticket before the next one arrives.
                while slot.state.lock().unwrap().next < 3 + n {
                    std::thread::yield_now();
                }
                handle
            })
            .collect();
        drop(first);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn pooled_connections_carry_the_pragmas() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("db.sqlite3")).unwrap();
        let (mode, foreign_keys, busy): (String, i64, i64) = store
            .with_conn(|conn| {
                Ok((
                    conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                    conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0))?,
                ))
            })
            .unwrap();
        assert_eq!((mode.as_str(), foreign_keys, busy), ("wal", 1, 5_000));
    }
}
