//! `mk memory add|link|list|get|history`: write records and links, browse what is stored.
//! The writing commands initialise a missing database (see [`super::open_for_writing`]); the
//! others only read and never create or change the file.

use std::path::Path;

use memory_kernel_api::{
    AddConstraintRequest, AddSummaryRequest, HistoryRequest, LinkRequest, MAX_PAGE_SIZE,
    MemoryKernel, MemoryPageRequest, MemoryRecord, RecordMetadata,
};
use memory_kernel_core::RecordType;

use crate::cli::{AddCommand, ConstraintArgs, LinkArgs, ListArgs, MemoryCommand, SummaryArgs};
use crate::failure::Failure;
use crate::output::Output;
use crate::shapes::{HistoryOutput, LinkOutput, ListOutput, RecordOutput};

/// Runs a `memory` command.
///
/// # Errors
/// [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError) for a refused
/// value, [`ErrorCode::WriteConflict`](memory_kernel_api::ErrorCode::WriteConflict),
/// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable),
/// [`ErrorCode::WriteFailed`](memory_kernel_api::ErrorCode::WriteFailed) or
/// [`ErrorCode::QueryFailed`](memory_kernel_api::ErrorCode::QueryFailed).
pub fn run(command: &MemoryCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        MemoryCommand::Add(add) => match add.as_ref() {
            AddCommand::Constraint(args) => add_constraint(db, &constraint_request(args)),
            AddCommand::Decision(args) => {
                add_summary(db, &summary_request(RecordType::Decision, args))
            }
            AddCommand::Preference(args) => {
                add_summary(db, &summary_request(RecordType::Preference, args))
            }
            AddCommand::Event(args) => add_summary(db, &summary_request(RecordType::Event, args)),
            AddCommand::Outcome(args) => {
                add_summary(db, &summary_request(RecordType::Outcome, args))
            }
        },
        MemoryCommand::Link(args) => link(db, &link_request(args)),
        MemoryCommand::List(args) => {
            let (records, next_cursor) = list(&super::open_current(db)?, args)?;
            Ok(Output::Records(ListOutput::new(records, next_cursor)))
        }
        MemoryCommand::Get { memory_version_id } => get(db, memory_version_id),
        MemoryCommand::History { memory_id, as_of } => history(
            db,
            &HistoryRequest {
                memory_id: memory_id.clone(),
                as_of: as_of.clone(),
            },
        ),
    }
}

/// `memory add constraint`, and the MCP tool `remember` for a constraint.
///
/// # Errors
/// As [`run`].
pub(crate) fn add_constraint(db: &Path, request: &AddConstraintRequest) -> Result<Output, Failure> {
    let record = super::open_for_writing(db)?.add_constraint(request, None)?;
    Ok(Output::Record(Box::new(RecordOutput::from(record))))
}

/// `memory add decision|preference|event|outcome`, and the MCP tool `remember` for them.
///
/// # Errors
/// As [`run`].
pub(crate) fn add_summary(db: &Path, request: &AddSummaryRequest) -> Result<Output, Failure> {
    let record = super::open_for_writing(db)?.add_summary(request, None)?;
    Ok(Output::Record(Box::new(RecordOutput::from(record))))
}

/// `memory link`, and the MCP tool `link`.
///
/// # Errors
/// As [`run`].
pub(crate) fn link(db: &Path, request: &LinkRequest) -> Result<Output, Failure> {
    let link = super::open_for_writing(db)?.add_link(request, None)?;
    Ok(Output::Link(LinkOutput::from(link)))
}

/// `memory get`, and the MCP tool `get`.
///
/// # Errors
/// As [`run`]; [`ErrorCode::MemoryNotFound`](memory_kernel_api::ErrorCode::MemoryNotFound) for an
/// unknown version id.
pub(crate) fn get(db: &Path, memory_version_id: &str) -> Result<Output, Failure> {
    let record = super::open_current(db)?.memory_version(memory_version_id)?;
    Ok(Output::Record(Box::new(RecordOutput::from(record))))
}

/// `memory history`, and the MCP tool `history`.
///
/// # Errors
/// As [`run`]; [`ErrorCode::MemoryNotFound`](memory_kernel_api::ErrorCode::MemoryNotFound) for a
/// memory with no stored version.
pub(crate) fn history(db: &Path, request: &HistoryRequest) -> Result<Output, Failure> {
    let history = super::open_current(db)?.memory_history(request)?;
    Ok(Output::History(Box::new(HistoryOutput::from(history))))
}

fn constraint_request(args: &ConstraintArgs) -> AddConstraintRequest {
    AddConstraintRequest {
        actor: args.actor.clone(),
        action: args.action.clone(),
        resource: args.resource.clone(),
        effect: args.effect,
        note: args.note.clone(),
        metadata: RecordMetadata::from(&args.record),
    }
}

fn summary_request(record_type: RecordType, args: &SummaryArgs) -> AddSummaryRequest {
    AddSummaryRequest {
        record_type,
        summary: args.summary.clone(),
        metadata: RecordMetadata::from(&args.record),
    }
}

fn link_request(args: &LinkArgs) -> LinkRequest {
    LinkRequest {
        from: args.from.clone(),
        to: args.to.clone(),
        relation: args.relation,
        writer: args.writer.clone(),
        justification: args.justification.clone(),
        created_at: args.created_at.clone(),
    }
}

/// The records `memory list` prints: pages of the API, walked until `--limit` records are
/// collected (every matching record without it), and the cursor after the last one.
fn list(
    kernel: &MemoryKernel,
    args: &ListArgs,
) -> Result<(Vec<MemoryRecord>, Option<String>), Failure> {
    let mut request = MemoryPageRequest {
        record_type: args.record_type,
        writer: args.writer.clone(),
        memory_id: args.memory_id.clone(),
        truth_status: args.truth_status,
        created_from: args.created_from.clone(),
        created_before: args.created_before.clone(),
        effective_from: args.effective_from.clone(),
        effective_before: args.effective_before.clone(),
        order: args.order,
        cursor: args.cursor.clone(),
        limit: None,
    };
    let mut records = Vec::new();
    loop {
        let wanted = args.limit.map(|limit| limit - records.len() as u32);
        if wanted == Some(0) {
            // `--limit 0`: nothing printed, and the cursor stays where it was given.
            return Ok((records, request.cursor));
        }
        request.limit = Some(wanted.map_or(MAX_PAGE_SIZE, |w| w.min(MAX_PAGE_SIZE)));
        let page = kernel.memory_page(&request)?;
        records.extend(page.records);
        let done = args
            .limit
            .is_some_and(|limit| records.len() as u32 >= limit);
        match page.next_cursor {
            Some(cursor) if !done => request.cursor = Some(cursor),
            next => return Ok((records, next)),
        }
    }
}
