//! Connections: one long-lived r2d2 pool per store, every connection configured the same way
//! (MKR-024): WAL journal, foreign keys on, 5 s busy timeout.
//!
//! Read-only access opens with `SQLITE_OPEN_READ_ONLY` and never sets the journal mode,
//! because switching a file to WAL is itself a write.

use std::path::Path;
use std::time::Duration;

use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError, open_error};

/// How long a connection waits for another writer before failing with `SQLITE_BUSY`.
pub const BUSY_TIMEOUT: Duration = Duration::from_millis(5_000);

/// Page cache per connection, in KiB (SQLite takes a negative `cache_size` as KiB).
const PAGE_CACHE_KIB: i64 = -16 * 1024;

/// Connections kept by one store.
const POOL_SIZE: u32 = 8;

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
    // 16 MiB of page cache per connection (SQLite's default is 2 MiB): candidate queries
    // probe records by random ULID keys, and a small cache turns each probe into reads.
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

/// Builds the store's pool after one direct open has proved the file usable.
pub(crate) fn build_pool(path: &Path, access: Access) -> Result<Pool<SqliteConnectionManager>> {
    drop(open_connection(path, access)?);
    let manager = SqliteConnectionManager::file(path)
        .with_flags(access.flags())
        .with_init(move |conn| configure(conn, access));
    let pool = Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .build(manager)?;
    Ok(pool)
}
