//! The degraded conditions a row can put its service in, how each is undone, and the good
//! request per endpoint that proves the service recovered.
//!
//! File conditions are real: the database directory is renamed away, the file is unlinked (a
//! second hard link keeps the inode so the very same file can be put back), the file's
//! permission bits are made read-only. Operation conditions use the testkit's fault injector
//! (an interceptor on the service's kernel): the next operation is delayed past the timeout,
//! or fails.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use memory_kernel_testkit::{Fault, FaultKind};
use serde_json::{Value, json};

use crate::support::{Seed, TOKEN, TestRequest, TestService, Variant, ask_usb_body, get, post};

/// How long a slow operation sleeps: well past [`crate::support::SHORT_TIMEOUT`] plus the
/// service's commit grace.
pub const SLOW_DELAY: Duration = Duration::from_millis(400);

/// A degraded condition, applied after the service started and before the row's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Nothing beyond the row's variant.
    None,
    /// The operation sleeps [`SLOW_DELAY`] (under [`Variant::ShortTimeout`]).
    SlowOperation,
    /// The operation fails as a store I/O failure would.
    StoreFailure,
    /// The operation fails unexpectedly.
    InternalFailure,
    /// The operation fails as SQLite does on a full disk.
    StorageFull,
    /// The operation panics.
    Panic,
    /// The database's directory is gone (renamed away).
    MissingDirectory,
    /// The database file was deleted while the service runs.
    DeletedFile,
    /// The database file's permission bits are read-only.
    ReadOnlyFile,
}

impl Condition {
    /// How the condition reads in a row name.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "as is",
            Self::SlowOperation => "operation timeout",
            Self::StoreFailure => "store failure",
            Self::InternalFailure => "internal failure",
            Self::StorageFull => "storage full",
            Self::Panic => "operation panics",
            Self::MissingDirectory => "missing db directory",
            Self::DeletedFile => "db file deleted while running",
            Self::ReadOnlyFile => "read-only db file",
        }
    }

    /// Puts `service` in this condition; the returned value undoes it.
    pub fn apply(self, service: &TestService) -> io::Result<Restore> {
        let fault = |fault| {
            service.faults.arm(fault);
            Ok(Restore::Nothing)
        };
        let data_dir = || service.db.parent().map(PathBuf::from).unwrap_or_default();
        match self {
            Self::None => Ok(Restore::Nothing),
            Self::SlowOperation => fault(Fault::Delay(SLOW_DELAY)),
            Self::StoreFailure => fault(Fault::Fail(FaultKind::Store)),
            Self::InternalFailure => fault(Fault::Fail(FaultKind::Internal)),
            Self::StorageFull => fault(Fault::Fail(FaultKind::StorageFull)),
            Self::Panic => fault(Fault::Fail(FaultKind::Panic)),
            Self::MissingDirectory => {
                let aside = service.dir.path().join("data.aside");
                fs::rename(data_dir(), &aside)?;
                Ok(Restore::Rename {
                    from: aside,
                    to: data_dir(),
                })
            }
            Self::DeletedFile => {
                let kept = service.dir.path().join("kept.sqlite3");
                fs::hard_link(&service.db, &kept)?;
                fs::remove_file(&service.db)?;
                Ok(Restore::Link {
                    kept,
                    db: service.db.clone(),
                })
            }
            Self::ReadOnlyFile => {
                let original = fs::metadata(&service.db)?.permissions();
                let mut read_only = original.clone();
                read_only.set_readonly(true);
                fs::set_permissions(&service.db, read_only)?;
                Ok(Restore::Permissions {
                    path: service.db.clone(),
                    original,
                })
            }
        }
    }
}

/// What undoes an applied condition.
#[derive(Debug)]
pub enum Restore {
    Nothing,
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Link {
        kept: PathBuf,
        db: PathBuf,
    },
    Permissions {
        path: PathBuf,
        original: fs::Permissions,
    },
}

impl Restore {
    pub fn run(self) -> io::Result<()> {
        match self {
            Self::Nothing => Ok(()),
            Self::Rename { from, to } => fs::rename(from, to),
            Self::Link { kept, db } => {
                fs::hard_link(&kept, db)?;
                fs::remove_file(kept)
            }
            Self::Permissions { path, original } => fs::set_permissions(path, original),
        }
    }
}

/// Well-formed ids that exist nowhere, for services without a seed.
const SOME_VERSION: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
const OTHER_VERSION: &str = "01BX5ZZKBKACTAV9WEVGEMMVRZ";
const SOME_PACKAGE: &str = "cp_00000000000000000000000000000000";

fn or<'a>(value: &'a str, fallback: &'a str) -> &'a str {
    if value.is_empty() { fallback } else { value }
}

/// A valid body for `path`, small enough for [`crate::support::TINY_BODY_LIMIT`]; links
/// point at the seed's versions when there is a seed.
pub fn good_body(path: &str, seed: &Seed) -> Value {
    match path {
        "/v1/db/migrate" => json!({"dry_run": true}),
        "/v1/memory/add/constraint" => json!({"actor": "user", "action": "use",
            "resource": "printer", "effect": "allow", "writer": "w", "justification": "j",
            "source_uri": "file:///p.md", "truth_status": "asserted",
            "authority": "authoritative"}),
        "/v1/memory/add/summary" => json!({"record_type": "decision", "summary": "ship it",
            "writer": "w", "justification": "j", "source_uri": "file:///p.md",
            "truth_status": "asserted", "authority": "derived"}),
        "/v1/memory/link" => json!({"from": or(&seed.new_version, SOME_VERSION),
            "to": or(&seed.old_version, OTHER_VERSION), "relation": "contradicts",
            "writer": "w", "justification": "j"}),
        "/v1/query/ask" => ask_usb_body(),
        "/v1/outcome/events" => json!({"memory_id": or(&seed.memory_id, SOME_VERSION),
            "version": 1, "event_type": "success", "writer": "w", "justification": "j"}),
        "/v1/outcome/replay" => json!({}),
        "/v1/outcome/trust" => json!({"memory_id": or(&seed.memory_id, SOME_VERSION),
            "version": 1}),
        "/v1/outcome/gate/preview" => json!({"mode": "safe",
            "candidates": [{"memory_id": or(&seed.memory_id, SOME_VERSION), "version": 1}]}),
        _ => json!({"text": "release fridays"}),
    }
}

/// The good request for endpoint `path` (`None`: an unknown route, recovered by health).
pub fn good_request(path: Option<&str>, seed: &Seed) -> TestRequest {
    let Some(path) = path else {
        return get("/v1/health");
    };
    let endpoint = memory_kernel_service::endpoints::ENDPOINTS
        .iter()
        .find(|e| e.path == path);
    let concrete = path
        .replace(
            "{context_package_id}",
            or(&seed.context_package_id, SOME_PACKAGE),
        )
        .replace("{memory_version_id}", or(&seed.new_version, SOME_VERSION))
        .replace("{memory_id}", or(&seed.memory_id, OTHER_VERSION));
    match endpoint {
        Some(e) if e.request_body.is_some() => post(&concrete).json(&good_body(path, seed)),
        Some(e) if e.method.as_str() == "POST" => post(&concrete),
        _ => get(&concrete),
    }
}

/// The recovery request of a row: its endpoint's good request, with the token when the
/// service requires one.
pub fn recovery_request(path: Option<&str>, service: &TestService) -> TestRequest {
    let request = good_request(path, &service.seed);
    if service.variant == Variant::Token {
        request.bearer(TOKEN)
    } else {
        request
    }
}
