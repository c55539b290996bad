//! `mk context show|list`: a stored context package, byte for byte as ask or recall printed
//! it, or a page of the stored packages. Read-only: the database is never created or changed.

use std::path::Path;

use memory_kernel_api::{ContextPageRequest, ShownPackage};

use crate::cli::ContextCommand;
use crate::failure::Failure;
use crate::output::Output;
use crate::shapes::ContextListOutput;

/// Runs a `context` command.
///
/// # Errors
/// [`ErrorCode::ContextPackageNotFound`](memory_kernel_api::ErrorCode::ContextPackageNotFound),
/// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) or
/// [`ErrorCode::ContextLookupFailed`](memory_kernel_api::ErrorCode::ContextLookupFailed).
pub fn run(command: &ContextCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        ContextCommand::Show { context_package_id } => {
            let kernel = super::open_current(db)?;
            Ok(match kernel.context_show(context_package_id)? {
                ShownPackage::Current(package) => Output::ContextPackage(package),
                ShownPackage::Carried(raw) => Output::CarriedPackage(raw),
            })
        }
        ContextCommand::List {
            order,
            cursor,
            limit,
        } => {
            let page = super::open_current(db)?.context_page(&ContextPageRequest {
                order: *order,
                cursor: cursor.clone(),
                limit: *limit,
            })?;
            Ok(Output::ContextList(ContextListOutput::from(page)))
        }
    }
}
