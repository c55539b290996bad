//! One module per command group; each exposes `run`, which turns parsed flags into an API
//! request, calls the API and returns the [`Output`] to print. No command opens the store
//! directly, and no command has a deadline (the CLI waits for the store).

mod context;
mod db;
mod memory;
mod query;
mod service;

use std::path::Path;

use memory_kernel_api::MemoryKernel;

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
    }
}

/// Opens the kernel on a database that must already exist. Only `db migrate` (and `db
/// restore`) create a database, so a mistyped `--db` fails here with the read-only
/// inspection's own "does not exist" error instead of leaving an empty file behind.
fn open_existing(db: &Path) -> Result<MemoryKernel, Failure> {
    if !db.exists() {
        if let Err(error) = MemoryKernel::inspect(db) {
            let mut failure = Failure::from(error);
            failure.add_hint(&format!(
                "create it with `mk --db {} db migrate`",
                db.display()
            ));
            return Err(failure);
        }
    }
    Ok(MemoryKernel::open(db)?)
}
