//! `mk query ask|recall`: resolve a question into a stored context package. Both store the
//! package, so both initialise a missing database (see [`super::open_for_writing`]).

use std::path::Path;

use memory_kernel_api::{AskRequest, RecallRequest};

use crate::cli::{AskArgs, QueryCommand, RecallArgs};
use crate::failure::Failure;
use crate::output::Output;

/// Runs a `query` command.
///
/// # Errors
/// [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError) for a refused
/// question, [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) or
/// [`ErrorCode::QueryFailed`](memory_kernel_api::ErrorCode::QueryFailed).
pub fn run(command: &QueryCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        QueryCommand::Ask(args) => ask(db, &ask_request(args)),
        QueryCommand::Recall(args) => recall(db, &recall_request(args)),
    }
}

/// `query ask`, and the MCP tool `ask`.
///
/// # Errors
/// As [`run`].
pub(crate) fn ask(db: &Path, request: &AskRequest) -> Result<Output, Failure> {
    let package = super::open_for_writing(db)?.ask(request, None)?;
    Ok(Output::ContextPackage(Box::new(package)))
}

/// `query recall`, and the MCP tool `recall`.
///
/// # Errors
/// As [`run`].
pub(crate) fn recall(db: &Path, request: &RecallRequest) -> Result<Output, Failure> {
    let package = super::open_for_writing(db)?.recall(request, None)?;
    Ok(Output::ContextPackage(Box::new(package)))
}

fn ask_request(args: &AskArgs) -> AskRequest {
    AskRequest {
        text: args.text.clone(),
        actor: args.actor.clone(),
        action: args.action.clone(),
        resource: args.resource.clone(),
        as_of: args.as_of.clone(),
        limit: args.bounds.limit,
        exclusion_limit: args.bounds.exclusion_limit,
        exclusion_offset: args.bounds.exclusion_offset,
        trust_gate: args.trust_gate,
    }
}

fn recall_request(args: &RecallArgs) -> RecallRequest {
    RecallRequest {
        text: args.text.clone(),
        // No --record-type means the default set, not an empty one (which core refuses).
        record_types: (!args.record_type.is_empty()).then(|| args.record_type.clone()),
        as_of: args.as_of.clone(),
        limit: args.bounds.limit,
        exclusions: args.exclusions,
        exclusion_limit: args.bounds.exclusion_limit,
        exclusion_offset: args.bounds.exclusion_offset,
        trust_gate: args.trust_gate,
    }
}
