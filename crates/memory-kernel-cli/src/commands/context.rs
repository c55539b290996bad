//! `mk context show`: a stored context package, byte for byte as ask or recall printed it.
//! Read-only: the database is never created or changed.

use std::path::Path;

use crate::cli::ContextCommand;
use crate::failure::Failure;
use crate::output::Output;

/// Runs a `context` command.
///
/// # Errors
/// `context_package_not_found`, `schema_unavailable` or `context_lookup_failed`.
pub fn run(command: &ContextCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        ContextCommand::Show { context_package_id } => {
            let kernel = super::open_current(db)?;
            let package = kernel.context_show(context_package_id)?;
            Ok(Output::ContextPackage(Box::new(package)))
        }
    }
}
