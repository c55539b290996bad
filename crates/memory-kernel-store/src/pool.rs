//! Connections: one long-lived pool per store, every connection configured the same way
//! (MKR-024): WAL journal, foreign keys on, 5 s busy timeout.
//!
//! The pool is ours rather than r2d2's because connections must open and close on the caller's
//! thread: a connection opened by a background thread can outlive the process's last use of
//! the store, and SQLite only checkpoints the WAL and removes `-wal`/`-shm` when the last
//! connection closes. Here, dropping the last handle closes every connection, so a short-lived
//! process (the CLI) always leaves the database checkpointed.
//!
//! Read-only access opens with `SQLITE_OPEN_READ_ONLY` and never sets the journal mode,
//! because switching a file to WAL is itself a write.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError, open_error};

/// How long a connection waits for another writer before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5_000);

/// Page cache per connection, in KiB (SQLite takes a negative `cache_size` as KiB).
const PAGE_CACHE_KIB: i64 = -4 * 1024;

/// Connections kept by one store.
pub(crate) const POOL_SIZE: usize = 8;

/// How the store may touch its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read and write; `create` allows making a missing file.
    ReadWrite {
        /// Whether a missing file is created.
        create: bool,
    },
    /// Never writes, never creates.
    ReadOnly,
}

impl Access {
    fn flags(self) -> OpenFlags {
        let base = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        match self {
            Self::ReadWrite { create: true } => {
                base | OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
            }
            Self::ReadWrite { create: false } => base | OpenFlags::SQLITE_OPEN_READ_WRITE,
            Self::ReadOnly => base | OpenFlags::SQLITE_OPEN_READ_ONLY,
        }
    }
}

/// Applies the per-connection settings.
fn configure(conn: &mut Connection, access: Access) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 4 MiB of page cache per connection (SQLite's default is 2 MiB), 32 MiB for the pool:
    // a recall reads a term's postings and their narrow document rows in order, so the pages
    // a query needs are few and adjacent; a larger cache only grows the resident set (with 16
    // MiB each, the eight caches filled to 128 MiB under recalls at 100k records).
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
    if matches!(access, Access::ReadWrite { .. }) {
        // A no-op once the file is in WAL mode; the first time, it is the one write `open`
        // makes before any migration.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    }
    Ok(())
}

/// Refuses a missing file unless the access may create it.
pub(crate) fn check_exists(path: &Path, access: Access) -> Result<()> {
    if access != (Access::ReadWrite { create: true }) && !path.exists() {
        return Err(StoreError::NotFound {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Opens one configured connection outside the pool, surfacing open errors directly (the
/// pool would hide them behind its own timeout).
pub(crate) fn open_connection(path: &Path, access: Access) -> Result<Connection> {
    check_exists(path, access)?;
    let mut conn =
        Connection::open_with_flags(path, access.flags()).map_err(|e| open_error(path, e))?;
    configure(&mut conn, access).map_err(|e| open_error(path, e))?;
    // Touch the header so a non-database file fails here, not on first use.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
        .map_err(|e| open_error(path, e))?;
    Ok(conn)
}

/// The store's connections: at most [`POOL_SIZE`] open at once; a caller beyond that waits for
/// one to be handed back.
pub(crate) struct ConnectionPool {
    path: PathBuf,
    access: Access,
    /// The file the connections were opened on, when the platform can say.
    identity: Option<FileIdentity>,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<Connection>,
    open: usize,
}

/// A shared pool handle.
pub(crate) type SqlitePool = Arc<ConnectionPool>;

/// Builds the store's pool, opening its first connection now so a missing or non-database
/// file fails here rather than on first use.
pub(crate) fn build_pool(path: &Path, access: Access) -> Result<SqlitePool> {
    let first = open_connection(path, access)?;
    Ok(Arc::new(ConnectionPool {
        path: path.to_owned(),
        access,
        identity: FileIdentity::of(path),
        state: Mutex::new(PoolState {
            idle: vec![first],
            open: 1,
        }),
        returned: Condvar::new(),
    }))
}

/// Which file a path names: device and inode number. Two paths (or one path at two times)
/// with the same identity are the same file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// The identity of the file at `path`, or `None` when it cannot be read (a missing file,
    /// or a platform without inode numbers).
    #[cfg(unix)]
    pub(crate) fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| Self {
            device: m.dev(),
            inode: m.ino(),
        })
    }

    /// Without inode numbers a swap cannot be told apart; the check is skipped.
    #[cfg(not(unix))]
    pub(crate) fn of(_path: &Path) -> Option<Self> {
        None
    }
}

/// Whether the pool's connections still see the file at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileCheck {
    /// Same file (or the platform cannot tell).
    Same,
    /// Another file now sits at the path (deleted and copied back, renamed over).
    Replaced,
    /// Nothing is at the path any more: writes would land in an unlinked file.
    Missing,
}

impl ConnectionPool {
    /// Compares the file at the pool's path with the one its connections were opened on.
    pub(crate) fn check_file(&self) -> FileCheck {
        let Some(opened) = self.identity else {
            return FileCheck::Same;
        };
        match FileIdentity::of(&self.path) {
            Some(now) if now == opened => FileCheck::Same,
            Some(_) => FileCheck::Replaced,
            None => FileCheck::Missing,
        }
    }

    /// An idle connection, a new one while fewer than [`POOL_SIZE`] are open, or the next one
    /// handed back — waiting no later than `deadline`.
    ///
    /// # Errors
    /// [`StoreError::DeadlineExceeded`] when `deadline` passes while waiting; open errors.
    pub(crate) fn get(&self, deadline: Option<Instant>) -> Result<PooledConnection<'_>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(PooledConnection {
                    conn: Some(conn),
                    pool: self,
                });
            }
            if state.open < POOL_SIZE {
                state.open += 1;
                drop(state);
                return match open_connection(&self.path, self.access) {
                    Ok(conn) => Ok(PooledConnection {
                        conn: Some(conn),
                        pool: self,
                    }),
                    Err(error) => {
                        self.release_slot();
                        Err(error)
                    }
                };
            }
            state = match deadline {
                None => self
                    .returned
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(StoreError::DeadlineExceeded);
                    }
                    self.returned
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    fn release_slot(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.open -= 1;
        self.returned.notify_one();
    }

    fn put_back(&self, conn: Connection) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.idle.push(conn);
        self.returned.notify_one();
    }
}

/// A connection on loan from the pool; handed back when dropped.
pub(crate) struct PooledConnection<'a> {
    conn: Option<Connection>,
    pool: &'a ConnectionPool,
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // `conn` is `Some` until drop.
        self.conn.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A connection left inside a transaction (a panic mid-write) is not reused.
            if conn.is_autocommit() {
                self.pool.put_back(conn);
            } else {
                drop(conn);
                self.pool.release_slot();
            }
        }
    }
}
