//! The success envelope: one JSON document per command, `contract_version` first, then the
//! command's data under its named key (`record`, `context_package`, …). The data is
//! serialized straight from the API's types, so field order and numbers are exactly core's.

use std::io::{self, Write};

use memory_kernel_api::{
    ContextPackage, ExportReport, FileCopyReport, ImportReport, IntegrityReport, Link,
    MemoryRecord, MigrationReport, SchemaStatus,
};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::diagnostics::{self, ServiceMetrics, Verdict};

/// The CLI contract version, written once here; every output carries it (MKR-035).
pub const CLI_CONTRACT_VERSION: &str = "cli.v1";

/// A command's successful result. The variant fixes the key its data is printed under.
#[derive(Debug)]
pub enum Output {
    /// `db schema-version`.
    SchemaStatus(SchemaStatus),
    /// `db migrate`.
    Migration(MigrationReport),
    /// `memory add …`.
    Record(Box<MemoryRecord>),
    /// `memory link`.
    Link(Link),
    /// `memory list`.
    Records(Vec<MemoryRecord>),
    /// `query ask`, `query recall`, `context show`.
    ContextPackage(Box<ContextPackage>),
    /// `db export`.
    Export(ExportReport),
    /// `db import`.
    Import(ImportReport),
    /// `db backup`.
    Backup(FileCopyReport),
    /// `db restore`.
    Restore(FileCopyReport),
    /// `db integrity-check`.
    Integrity(IntegrityReport),
    /// `service diagnostics`: the metrics artifact, printed as JSON (`json`) or as a table.
    Diagnostics {
        /// The artifact.
        metrics: Box<ServiceMetrics>,
        /// Print the JSON envelope rather than the table.
        json: bool,
    },
}

impl Output {
    /// The key the data is printed under, next to `contract_version`.
    #[must_use]
    pub const fn key(&self) -> &'static str {
        match self {
            Self::SchemaStatus(_) => "schema_status",
            Self::Migration(_) => "migration",
            Self::Record(_) => "record",
            Self::Link(_) => "link",
            Self::Records(_) => "records",
            Self::ContextPackage(_) => "context_package",
            Self::Export(_) => "export",
            Self::Import(_) => "import",
            Self::Backup(_) => "backup",
            Self::Restore(_) => "restore",
            Self::Integrity(_) => "integrity",
            Self::Diagnostics { .. } => "service_metrics",
        }
    }

    /// The process exit code of a successful command: 0, except for `service diagnostics`,
    /// whose verdict decides (0 OK, 3 WARNING, 4 CRITICAL).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Diagnostics { metrics, .. } => match metrics.verdict {
                Verdict::Ok => 0,
                Verdict::Warning => 3,
                Verdict::Critical => 4,
            },
            _ => 0,
        }
    }

    /// Renders the envelope, compact or pretty, without a trailing newline.
    ///
    /// # Errors
    /// A serialization error (not expected for the API's types).
    pub fn render(&self, pretty: bool) -> serde_json::Result<String> {
        if let Self::Diagnostics {
            metrics,
            json: false,
        } = self
        {
            return Ok(diagnostics::render_table(metrics));
        }
        if pretty {
            serde_json::to_string_pretty(self)
        } else {
            serde_json::to_string(self)
        }
    }
}

impl Serialize for Output {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("contract_version", CLI_CONTRACT_VERSION)?;
        let key = self.key();
        match self {
            Self::SchemaStatus(data) => map.serialize_entry(key, data)?,
            Self::Migration(data) => map.serialize_entry(key, data)?,
            Self::Record(data) => map.serialize_entry(key, data)?,
            Self::Link(data) => map.serialize_entry(key, data)?,
            Self::Records(data) => map.serialize_entry(key, data)?,
            Self::ContextPackage(data) => map.serialize_entry(key, data)?,
            Self::Export(data) => map.serialize_entry(key, data)?,
            Self::Import(data) => map.serialize_entry(key, data)?,
            Self::Backup(data) | Self::Restore(data) => map.serialize_entry(key, data)?,
            Self::Integrity(data) => map.serialize_entry(key, data)?,
            Self::Diagnostics { metrics, .. } => map.serialize_entry(key, metrics)?,
        }
        map.end()
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
