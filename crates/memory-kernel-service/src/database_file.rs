//! The database file check every operation passes first.
//!
//! The service keeps its connections open for its whole life, and SQLite keeps working on an
//! open file after it was deleted, moved or made read-only underneath: writes would then be
//! acknowledged into a file nobody can reach any more, or go through a descriptor opened
//! before the permissions changed. So before each operation the service looks at the path it
//! was started with (one `stat`, on the operation's blocking thread) and answers
//! `schema_unavailable` instead when
//! - the file is gone (deleted or moved, or its directory is gone), for every operation;
//! - the file is read-only (its permission bits, whoever the process runs as), for the
//!   operations that write: adds and links, and ask and recall, which store their context
//!   package. Reads (readiness, schema status, context lookup) keep working, and a migration
//!   is left to SQLite (a dry run only reads).
//!
//! Once the file is back (writable again) the next operation succeeds; nothing committed
//! before is lost, because the connections never left the file.

use std::io::ErrorKind;
use std::path::Path;

use memory_kernel_api::{ApiError, Operation};

/// Whether `path` can serve `operation`.
///
/// # Errors
/// [`ApiError::SchemaUnavailable`] naming the file and what is wrong with it.
pub fn check(path: &Path, operation: Operation) -> Result<(), ApiError> {
    match std::fs::metadata(path) {
        Ok(metadata) if writes(operation) && metadata.permissions().readonly() => {
            Err(unavailable(format!(
                "database file {} is read-only; writes and queries are refused until it is \
                 writable again (reads still work)",
                path.display()
            )))
        }
        Ok(_) => Ok(()),
        Err(error) if error.kind() == ErrorKind::NotFound => {
            let directory_gone = path
                .parent()
                .is_some_and(|dir| !dir.as_os_str().is_empty() && !dir.exists());
            let what = if directory_gone {
                "its directory is gone"
            } else {
                "it was deleted or moved"
            };
            Err(unavailable(format!(
                "database file {} is missing ({what}); put it back, or restart the service on a \
                 restored copy",
                path.display()
            )))
        }
        Err(error) => Err(unavailable(format!(
            "database file {} cannot be examined: {error}",
            path.display()
        ))),
    }
}

/// The operations that write to the file.
const fn writes(operation: Operation) -> bool {
    matches!(operation, Operation::Write | Operation::Query)
}

fn unavailable(message: String) -> ApiError {
    ApiError::SchemaUnavailable {
        message,
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<(), ApiError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn a_missing_file_or_directory_is_unavailable_for_every_operation() {
        let dir = tempfile::tempdir().ok();
        let root = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        let missing = message(check(&root.join("db.sqlite3"), Operation::Schema));
        assert!(missing.contains("deleted or moved"), "{missing}");
        let gone = message(check(&root.join("gone/db.sqlite3"), Operation::Query));
        assert!(gone.contains("its directory is gone"), "{gone}");
    }

    #[test]
    fn a_read_only_file_refuses_only_writing_operations() {
        let dir = tempfile::tempdir().ok();
        let path = dir
            .as_ref()
            .map(|d| d.path().join("db.sqlite3"))
            .unwrap_or_default();
        assert!(std::fs::write(&path, b"").is_ok());
        let mut permissions = std::fs::metadata(&path).map(|m| m.permissions()).ok();
        if let Some(permissions) = permissions.as_mut() {
            permissions.set_readonly(true);
            assert!(std::fs::set_permissions(&path, permissions.clone()).is_ok());
        }
        for operation in [
            Operation::Schema,
            Operation::ContextLookup,
            Operation::Migrate,
        ] {
            assert!(check(&path, operation).is_ok(), "{operation:?}");
        }
        for operation in [Operation::Write, Operation::Query] {
            let text = message(check(&path, operation));
            assert!(text.contains("read-only"), "{operation:?}: {text}");
        }
    }
}
