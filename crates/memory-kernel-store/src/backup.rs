//! Online backup and atomic restore through SQLite's backup API (docs/spec/snapshots.md).
//!
//! Backup copies the live database into a temporary file beside the destination and renames
//! it into place, so the destination is never a half-written file. It only reads the source,
//! so through a store opened read-only it leaves an unmigrated file byte-identical. An
//! existing destination is replaced only when the caller says so, and never when it is the
//! live database itself. The temporary file is visible (`<dest>.mk-partial-<random>`), so a
//! backup killed midway leaves nothing hidden behind.
//!
//! Restore never renames over the live file: a WAL database is three files (`db`, `db-wal`,
//! `db-shm`) tied to its path, and any connection still open on the old file would pair the
//! new file with stale WAL state. Instead the source is checked, staged into a temporary copy
//! beside the live file and checked again, and the stage is then written into the live
//! database with the backup API as a single write transaction: readers see either the old or
//! the new database, and any failure rolls back and leaves the live file as it was.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};
use tempfile::NamedTempFile;

use crate::error::{Result, StoreError};
use crate::integrity::quick_check;
use crate::migrations;
use crate::pool::{self, Access, BUSY_TIMEOUT, FileIdentity};
use crate::store::Store;

impl Store {
    /// Writes a consistent copy of the database to `dest`. Works on any schema version, and
    /// writes nothing to the live file. An existing `dest` is replaced (atomically) only with
    /// `overwrite`; the live database itself is never a destination.
    ///
    /// # Errors
    /// [`StoreError::BackupTargetExists`] when `dest` exists and `overwrite` is false;
    /// [`StoreError::BackupOntoLiveDatabase`] when `dest` is the live database file;
    /// [`StoreError::Io`] for temporary-file or rename failures; SQLite errors. On failure
    /// `dest` is untouched and no temporary file is left behind.
    pub fn backup(&self, dest: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        let dest = dest.as_ref();
        let live_path = self.file_path()?;
        if dest.exists() {
            let live = FileIdentity::of(live_path);
            if live.is_some() && FileIdentity::of(dest) == live {
                return Err(StoreError::BackupOntoLiveDatabase {
                    path: dest.to_owned(),
                });
            }
            if !overwrite {
                return Err(StoreError::BackupTargetExists {
                    path: dest.to_owned(),
                });
            }
        }
        let name = dest
            .file_name()
            .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
        let staged = temp_beside(dest, &format!("{name}.mk-partial-"))?;
        self.with_conn(|conn| copy_database(conn, staged.path()))?;
        persist(staged, dest)
    }

    /// Replaces the database's content with the backup at `src`. The source must be a
    /// SQLite file with a current schema that passes quick_check; it is staged beside the
    /// live file, checked, and written into the live database as one transaction (see the
    /// module docs). Operations of this store wait while it runs.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::NotADatabase`],
    /// [`StoreError::RestoreSourceNotCurrent`], [`StoreError::RestoreSourceCorrupt`],
    /// [`StoreError::ReadOnly`], [`StoreError::Busy`], I/O and SQLite errors. On any failure
    /// the live database is unchanged.
    pub fn restore(&self, src: impl AsRef<Path>) -> Result<()> {
        if self.is_read_only() {
            return Err(StoreError::ReadOnly);
        }
        let src = src.as_ref();
        let staged = temp_beside(self.file_path()?, ".mk-restore-")?;
        {
            let source = pool::open_connection(src, Access::ReadOnly)?;
            check_restore_source(&source, src)?;
            copy_database(&source, staged.path())?;
        }
        // Check the stage too: it is what will be written.
        let stage = pool::open_connection(staged.path(), Access::ReadOnly)?;
        check_restore_source(&stage, src)?;

        let mut slot = self.lock_exclusive()?;
        let live_pool = match slot.as_ref() {
            Some(pool) => pool.clone(),
            None => {
                let pool = self.build_pool()?;
                *slot = Some(pool.clone());
                pool
            }
        };
        let mut live = live_pool.get(None)?;
        let result = write_into(&stage, &mut live);
        self.reset_schema_cache();
        drop(live);
        drop(slot);
        drop(stage);
        result
    }
}

/// Refuses a restore source that is not a current, clean MemoryKernel database.
fn check_restore_source(conn: &Connection, path: &Path) -> Result<()> {
    let status = migrations::read_status(conn)?;
    if !status.up_to_date {
        return Err(StoreError::RestoreSourceNotCurrent {
            path: path.to_owned(),
            current: status.current_version,
            target: status.target_version,
            inferred_from_legacy: status.inferred_from_legacy,
        });
    }
    let (ok, message) = quick_check(conn)?;
    if !ok {
        return Err(StoreError::RestoreSourceCorrupt {
            path: path.to_owned(),
            message,
        });
    }
    Ok(())
}

/// A temporary file in `target`'s directory (so a rename onto `target` is atomic).
fn temp_beside(target: &Path, prefix: &str) -> Result<NamedTempFile> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(if prefix.starts_with('.') {
            ".sqlite"
        } else {
            ""
        })
        .tempfile_in(dir)
        .map_err(StoreError::io("creating a temporary file in", dir))
}

/// Flushes a staged file and renames it onto `dest`.
fn persist(staged: NamedTempFile, dest: &Path) -> Result<()> {
    staged
        .as_file()
        .sync_all()
        .map_err(StoreError::io("syncing", staged.path()))?;
    staged
        .persist(dest)
        .map_err(|e| StoreError::io("renaming a staged copy onto", dest)(e.error))?;
    Ok(())
}

/// Copies `src` into the (empty) database file at `dest_path` with the backup API.
fn copy_database(src: &Connection, dest_path: &Path) -> Result<()> {
    let mut dest = Connection::open(dest_path)?;
    dest.busy_timeout(BUSY_TIMEOUT)?;
    run_backup(src, &mut dest)?;
    // A copy of a WAL database says "WAL" in its header; make it a self-contained rollback
    // journal file, so opening it (even read-only) never leaves -wal/-shm files beside it.
    dest.pragma_update_and_check(None, "journal_mode", "DELETE", |row| {
        row.get::<_, String>(0)
    })?;
    dest.close().map_err(|(_, e)| StoreError::from(e))
}

/// Writes `stage` into the live database in one backup step, i.e. one write transaction.
fn write_into(stage: &Connection, live: &mut Connection) -> Result<()> {
    run_backup(stage, live)
}

/// Runs a backup to completion in a single step, retrying while the destination is busy
/// for at most the busy timeout.
fn run_backup(src: &Connection, dest: &mut Connection) -> Result<()> {
    let backup = Backup::new(src, dest)?;
    let started = Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            // Busy or locked (or a state added later): wait and retry, within the timeout.
            _ => {
                if started.elapsed() >= BUSY_TIMEOUT {
                    return Err(StoreError::Busy);
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}
