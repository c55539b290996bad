//! The database file check a long-running process makes before each operation.
//!
//! A store keeps its connections open for its whole life, and SQLite keeps working on an open
//! file after it was deleted, moved or made read-only underneath: writes would then be
//! acknowledged into a file nobody can reach any more, or go through a descriptor opened
//! before the permissions changed. So [`Store::check_file`] looks at the path the store was
//! opened on (one `stat`) and refuses
//! - a file that is gone (deleted or moved, or its directory is gone), for every use;
//! - a file that is read-only (its permission bits, whoever the process runs as), for a use
//!   that writes.
//!
//! Once the file is back (writable again) the next check passes; nothing committed before is
//! lost, because the connections never left the file.

use std::io::ErrorKind;
use std::path::PathBuf;

use thiserror::Error;

use crate::error::Result;
use crate::store::Store;

/// What an operation does with the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileUse {
    /// It only reads.
    Read,
    /// It writes (or may write).
    Write,
}

/// Why the database file cannot serve an operation now.
#[derive(Debug, Error)]
pub enum DatabaseFileError {
    /// Nothing is at the path any more.
    #[error(
        "database file {} is missing ({}); put it back, or restart the service on a restored copy",
        path.display(),
        if *directory_gone { "its directory is gone" } else { "it was deleted or moved" }
    )]
    Missing {
        /// The database path.
        path: PathBuf,
        /// Whether the directory that held it is gone too.
        directory_gone: bool,
    },
    /// The file's permission bits refuse writes, and the operation writes.
    #[error(
        "database file {} is read-only; writes and queries are refused until it is writable \
         again (reads still work)",
        path.display()
    )]
    ReadOnly {
        /// The database path.
        path: PathBuf,
    },
    /// The file could not be examined at all.
    #[error("database file {} cannot be examined: {source}", path.display())]
    Unexaminable {
        /// The database path.
        path: PathBuf,
        /// Why `stat` failed.
        #[source]
        source: std::io::Error,
    },
}

impl Store {
    /// Whether the database file at this store's path can serve an operation that makes
    /// `file_use` of it: present, and for a write not read-only. One `stat`; reads nothing
    /// from the database. An engine without a file (PostgreSQL) has nothing to check.
    ///
    /// # Errors
    /// [`StoreError::DatabaseFile`](crate::StoreError::DatabaseFile) naming the file and what
    /// is wrong with it.
    pub fn check_file(&self, file_use: FileUse) -> Result<()> {
        let Some(path) = self.path() else {
            return Ok(());
        };
        let error = match std::fs::metadata(path) {
            Ok(metadata) if file_use == FileUse::Write && metadata.permissions().readonly() => {
                DatabaseFileError::ReadOnly {
                    path: path.to_owned(),
                }
            }
            Ok(_) => return Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => DatabaseFileError::Missing {
                path: path.to_owned(),
                directory_gone: path
                    .parent()
                    .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.exists()),
            },
            Err(source) => DatabaseFileError::Unexaminable {
                path: path.to_owned(),
                source,
            },
        };
        Err(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<()>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_missing_file_or_directory_is_refused_for_every_use() {
        let dir = tempfile::tempdir().ok();
        let root = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        let inner = root.join("inner");
        assert!(std::fs::create_dir(&inner).is_ok());
        let store = Store::open(root.join("db.sqlite3")).ok();
        let nested = Store::open(inner.join("db.sqlite3")).ok();
        let (Some(store), Some(nested)) = (store, nested) else {
            panic!("stores did not open");
        };
        assert!(store.check_file(FileUse::Write).is_ok());
        assert!(std::fs::remove_file(store.path().unwrap()).is_ok());
        let missing = message(store.check_file(FileUse::Read));
        assert!(missing.contains("deleted or moved"), "{missing}");
        assert!(std::fs::remove_dir_all(&inner).is_ok());
        let gone = message(nested.check_file(FileUse::Write));
        assert!(gone.contains("its directory is gone"), "{gone}");
    }

    #[test]
    fn a_read_only_file_refuses_only_writing_uses() {
        let dir = tempfile::tempdir().ok();
        let path = dir
            .as_ref()
            .map(|d| d.path().join("db.sqlite3"))
            .unwrap_or_default();
        let Ok(store) = Store::open(&path) else {
            panic!("store did not open");
        };
        let mut permissions = std::fs::metadata(&path).map(|m| m.permissions()).ok();
        if let Some(permissions) = permissions.as_mut() {
            permissions.set_readonly(true);
            assert!(std::fs::set_permissions(&path, permissions.clone()).is_ok());
        }
        assert!(store.check_file(FileUse::Read).is_ok());
        let text = message(store.check_file(FileUse::Write));
        assert!(text.contains("read-only"), "{text}");
        if let Some(permissions) = permissions.as_mut() {
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            assert!(std::fs::set_permissions(&path, permissions.clone()).is_ok());
        }
        assert!(store.check_file(FileUse::Write).is_ok());
    }
}
