//! One module per command group; each exposes `run`, which turns parsed flags into an API
//! request, calls the API and returns the [`Output`] to print. No command opens the store
//! directly, and no command has a deadline (the CLI waits for the store).

mod context;
mod db;
pub(crate) mod memory;
pub(crate) mod outcome;
pub(crate) mod outcome_benchmark;
pub(crate) mod query;
mod service;

use std::path::Path;

use memory_kernel_api::{ErrorCode, MemoryKernel};

use crate::cli::Command;
use crate::failure::Failure;
use crate::output::Output;

/// Runs one command against the database at `db`.
///
/// # Errors
/// The API's failure, with its contract code.
pub fn run(command: &Command, db: &Path) -> Result<Output, Failure> {
    match command {
        Command::Db(command) => db::run(command, db),
        Command::Memory(command) => memory::run(command, db),
        Command::Query(command) => query::run(command, db),
        Command::Context(command) => context::run(command, db),
        Command::Service(command) => service::run(command),
        Command::Outcome(command) => outcome::run(command, db),
        Command::Completions { shell } => Ok(completions(*shell)),
        Command::Mcp => crate::mcp::serve(db),
    }
}

/// `mk completions SHELL`: the completion script of the whole command tree.
fn completions(shell: clap_complete::Shell) -> Output {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "mk", &mut script);
    Output::Text {
        text: String::from_utf8_lossy(&script).trim_end().to_owned(),
        exit_code: 0,
    }
}

/// Opens the kernel for a command that writes (`memory add`, `memory link`, `query ask`,
/// `query recall`, which stores its package). A new store is created and migrated first, as
/// the original `mk` did: a missing file, or a PostgreSQL database holding none of the store's
/// tables. An existing one must already be current ([`open_current`]): a database that other
/// processes serve is never migrated by a command that only meant to write to it.
fn open_for_writing(db: &Path) -> Result<MemoryKernel, Failure> {
    if matches!(db.try_exists(), Ok(false)) {
        // A missing file, or a location that is no file (a PostgreSQL URL).
        let (kernel, created) = MemoryKernel::open_or_create(db)?;
        if created.is_none() {
            let status = kernel.schema_status()?;
            if !status.up_to_date {
                return Err(outdated(db, &status));
            }
        }
        return Ok(kernel);
    }
    // An existing file is looked at read-only first, so one that is not current stays
    // byte-identical.
    open_current(db)
}

/// Opens the kernel on an existing database whose schema is current, looking first with the
/// API's read-only inspection: a missing file is reported (never created) and a file that
/// needs migrating is refused before anything opens it for writing, so it stays
/// byte-identical. A current file is already in its final journal mode, and reading it writes
/// nothing. This is how the reading commands (`memory list`, `context show`,
/// `db integrity-check`) stay read-only: the API has no read-only handle for them.
fn open_current(db: &Path) -> Result<MemoryKernel, Failure> {
    let status = MemoryKernel::inspect(db).map_err(|error| {
        // An unreachable server or a timeout says what it is; only a store that cannot be
        // read as one gets a hint about the file.
        let about_the_store = error.code() == ErrorCode::SchemaUnavailable;
        let mut failure = Failure::from(error);
        if about_the_store {
            if matches!(db.try_exists(), Ok(false)) {
                failure.add_hint(&format!(
                    "create it with `mk --db {} db migrate`",
                    db.display()
                ));
            } else {
                // SQLite's own message (a folder reads as a disk I/O error) does not say
                // which file.
                failure.add_context(&format!("cannot read database {}", db.display()));
            }
        }
        failure
    })?;
    if !status.up_to_date {
        return Err(outdated(db, &status));
    }
    Ok(MemoryKernel::open(db)?)
}

/// The refusal of a database whose schema is older than this build's.
fn outdated(db: &Path, status: &memory_kernel_api::SchemaStatus) -> Failure {
    Failure::new(
        ErrorCode::SchemaUnavailable,
        format!(
            "database {} is at schema version {}{} and this build needs version {}; it was \
             left unchanged: run `mk --db {} db migrate` first",
            db.display(),
            status.current_version,
            if status.inferred_from_legacy {
                " (inferred from an older layout)"
            } else {
                ""
            },
            status.target_version,
            db.display()
        ),
    )
}
