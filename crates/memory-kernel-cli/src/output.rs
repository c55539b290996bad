//! The success output: one flat JSON object per command, the command's own keys at top level
//! and `"contract_version": "cli.v1"` written last, with no wrapper key: the shape of the
//! original `mk`'s `cli.v1`, so scripts written for it read ours unchanged
//! (`docs/spec/cli-contract.md`).
//!
//! The shapes are the CLI's own structs ([`crate::shapes`]), mapped from the API's reports, so
//! a field the API adds never appears here by accident. Context packages are the one
//! exception: a package is printed with its own keys, exactly as it is stored.

use std::io::{self, Write};

use memory_kernel_api::{ContextPackage, PruneReport};
use serde::Serialize;

use crate::diagnostics::{self, ServiceMetrics, Verdict};
use crate::shapes::{
    BackupOutput, ContextListOutput, CopyOutput, ExportOutput, HistoryOutput, ImportOutput,
    IntegrityOutput, LinkOutput, ListOutput, MigrationOutput, MigrationPlanOutput, RecordOutput,
    RestoreOutput, SchemaStatusOutput,
};

/// The CLI contract version, written once here; every output carries it (MKR-035).
pub const CLI_CONTRACT_VERSION: &str = "cli.v1";

/// A command's successful result.
#[derive(Debug)]
pub enum Output {
    /// `db schema-version`.
    SchemaStatus(SchemaStatusOutput),
    /// `db migrate --dry-run`.
    MigrationPlan(MigrationPlanOutput),
    /// `db migrate`.
    Migration(MigrationOutput),
    /// `memory add …`.
    Record(Box<RecordOutput>),
    /// `memory link`.
    Link(LinkOutput),
    /// `memory list`.
    Records(ListOutput),
    /// `memory history`.
    History(Box<HistoryOutput>),
    /// `context list`.
    ContextList(ContextListOutput),
    /// `query ask`, `query recall`, `context show`.
    ContextPackage(Box<ContextPackage>),
    /// `context show` of a package carried from an older layout: printed as stored.
    CarriedPackage(Box<serde_json::value::RawValue>),
    /// `db export`.
    Export(ExportOutput),
    /// `db import`.
    Import(ImportOutput),
    /// `db backup`.
    Backup(BackupOutput),
    /// `db copy`.
    Copy(CopyOutput),
    /// `db restore`.
    Restore(RestoreOutput),
    /// `db integrity-check`.
    Integrity(IntegrityOutput),
    /// `db prune-packages`.
    Prune(PruneReport),
    /// `mk outcome …`: text already rendered in the original's shape (pretty JSON or a
    /// table), printed as it is, and the exit code (1 for an unhealthy projector check).
    Text {
        /// The rendered output.
        text: String,
        /// The exit code.
        exit_code: u8,
    },
    /// `mcp`: the whole conversation already took place on stdin and stdout; nothing more
    /// is printed.
    Served,
    /// `service diagnostics`: the metrics artifact, printed as JSON (`json`) or as a table.
    Diagnostics {
        /// The artifact.
        metrics: Box<ServiceMetrics>,
        /// Print the JSON object rather than the table.
        json: bool,
    },
}

/// A command's data with `contract_version` appended as its last key.
#[derive(Serialize)]
struct Flat<'a, T: Serialize> {
    #[serde(flatten)]
    data: &'a T,
    contract_version: &'static str,
}

/// `service diagnostics --json`: the metrics artifact stays whole under `service_metrics`,
/// because it is a contract of its own (`service-metrics.v1`, a closed schema with its own
/// version key) that consumers validate and store as it is.
#[derive(Serialize)]
struct DiagnosticsData<'a> {
    service_metrics: &'a ServiceMetrics,
}

impl Output {
    /// The process exit code of a successful command: 0, except for `service diagnostics`,
    /// whose verdict decides (0 OK, 3 WARNING, 4 CRITICAL).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Text { exit_code, .. } => *exit_code,
            Self::Diagnostics { metrics, .. } => match metrics.verdict {
                Verdict::Ok => 0,
                Verdict::Warning => 3,
                Verdict::Critical => 4,
            },
            _ => 0,
        }
    }

    /// Renders the output, compact or pretty, without a trailing newline.
    ///
    /// # Errors
    /// A serialization error (not expected for these types).
    pub fn render(&self, pretty: bool) -> serde_json::Result<String> {
        match self {
            Self::SchemaStatus(data) => flat(data, pretty),
            Self::MigrationPlan(data) => flat(data, pretty),
            Self::Migration(data) => flat(data, pretty),
            Self::Record(data) => flat(data.as_ref(), pretty),
            Self::Link(data) => flat(data, pretty),
            Self::Records(data) => flat(data, pretty),
            Self::History(data) => flat(data.as_ref(), pretty),
            Self::ContextList(data) => flat(data, pretty),
            Self::ContextPackage(data) => flat(data.as_ref(), pretty),
            Self::CarriedPackage(raw) => Ok(carried(raw.get())),
            Self::Export(data) => flat(data, pretty),
            Self::Import(data) => flat(data, pretty),
            Self::Backup(data) => flat(data, pretty),
            Self::Copy(data) => flat(data, pretty),
            Self::Restore(data) => flat(data, pretty),
            Self::Integrity(data) => flat(data, pretty),
            Self::Prune(data) => flat(data, pretty),
            Self::Text { text, .. } => Ok(text.clone()),
            Self::Served => Ok(String::new()),
            Self::Diagnostics {
                metrics,
                json: false,
            } => Ok(diagnostics::render_table(metrics)),
            Self::Diagnostics {
                metrics,
                json: true,
            } => flat(
                &DiagnosticsData {
                    service_metrics: metrics,
                },
                pretty,
            ),
        }
    }
}

fn flat<T: Serialize>(data: &T, pretty: bool) -> serde_json::Result<String> {
    let value = Flat {
        data,
        contract_version: CLI_CONTRACT_VERSION,
    };
    if pretty {
        serde_json::to_string_pretty(&value)
    } else {
        serde_json::to_string(&value)
    }
}

/// A stored object's JSON text with `contract_version` appended as its last key, keeping
/// its own bytes and key order (a map round trip would sort the keys).
fn carried(json: &str) -> String {
    let body = json.trim_end();
    match body.strip_suffix('}') {
        Some(open) if open.trim_end().ends_with('{') => {
            format!("{open}\"contract_version\":\"{CLI_CONTRACT_VERSION}\"}}")
        }
        Some(open) => format!("{open},\"contract_version\":\"{CLI_CONTRACT_VERSION}\"}}"),
        None => body.to_owned(),
    }
}

/// Writes `text` and a newline to `out` and flushes, so a closed pipe is an error the caller
/// reports rather than a panic.
///
/// # Errors
/// The I/O error.
pub fn write_line(mut out: impl Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}
