//! The data of each command's output, in the original `mk`'s `cli.v1` shape: its top-level
//! keys in its order (`contract_version` is appended by [`crate::output`]). Each struct is
//! built from the API's report types here, field by field, so the printed key set is fixed
//! by these declarations and not by whatever the API's types carry.

use std::path::Path;

use memory_kernel_api::{
    ContextPage, ImportReport, IntegrityReport, LineageRef, Link, MemoryHistory, MemoryRecord,
    MigrationReport, SchemaStatus,
};
use memory_kernel_core::{
    Authority, Confidence, MemoryId, MemoryVersionId, Payload, Provenance, Relation, Timestamp,
    TruthStatus,
};
use serde::Serialize;
use serde_json::Value;

/// A path as the user gave it. A path that is not UTF-8 is printed lossily rather than
/// failing after the command has already done its work.
fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `db schema-version`, and `schema_status` inside `db integrity-check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaStatusOutput {
    /// The highest applied migration.
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions `db migrate` would apply, ascending.
    pub pending_versions: Vec<u32>,
    /// Nothing pending and the layout is current.
    pub up_to_date: bool,
    /// The version was inferred from the file's layout.
    pub inferred_from_legacy: bool,
}

impl From<&SchemaStatus> for SchemaStatusOutput {
    fn from(status: &SchemaStatus) -> Self {
        Self {
            current_version: status.current_version,
            target_version: status.target_version,
            pending_versions: status.pending_versions.clone(),
            up_to_date: status.up_to_date,
            inferred_from_legacy: status.inferred_from_legacy,
        }
    }
}

/// `db migrate --dry-run`: the plan; the file is not touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationPlanOutput {
    /// Always `true`.
    pub dry_run: bool,
    /// The version now.
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions a real run would apply, ascending.
    pub would_apply_versions: Vec<u32>,
    /// The version was inferred from the file's layout.
    pub inferred_from_legacy: bool,
}

impl From<&MigrationReport> for MigrationPlanOutput {
    fn from(plan: &MigrationReport) -> Self {
        Self {
            dry_run: true,
            current_version: plan.current_version,
            target_version: plan.target_version,
            would_apply_versions: plan.would_apply_versions.clone(),
            inferred_from_legacy: plan.inferred_from_legacy,
        }
    }
}

/// `db migrate`: what was applied, and the schema status read back afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationOutput {
    /// Always `false`.
    pub dry_run: bool,
    /// The version before migrating.
    pub before_version: u32,
    /// Versions applied, ascending (empty when already current).
    pub applied_versions: Vec<u32>,
    /// The version after migrating.
    pub after_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Whether the schema is current after migrating.
    pub up_to_date: bool,
}

impl MigrationOutput {
    /// Built from the migration's report and the status read after it.
    #[must_use]
    pub fn new(report: &MigrationReport, after: &SchemaStatus) -> Self {
        Self {
            dry_run: false,
            before_version: report.current_version,
            applied_versions: report.would_apply_versions.clone(),
            after_version: after.current_version,
            target_version: after.target_version,
            up_to_date: after.up_to_date,
        }
    }
}

/// `db export`: the folder and its manifest as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportOutput {
    /// The snapshot folder, as given with `--out`.
    pub out_dir: String,
    /// The folder's `manifest.json`.
    pub manifest: Value,
}

impl ExportOutput {
    /// The folder and the manifest read back from it.
    #[must_use]
    pub fn new(out_dir: &Path, manifest: Value) -> Self {
        Self {
            out_dir: path_text(out_dir),
            manifest,
        }
    }
}

/// `db import`: the folder, the skip mode and what was stored and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutput {
    /// The snapshot folder, as given with `--in`.
    pub in_dir: String,
    /// Whether items already stored were skipped (rather than refused).
    pub skip_existing: bool,
    /// The counts.
    pub summary: ImportSummary,
}

/// The counts of a `db import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Records newly stored.
    pub imported_records: u64,
    /// Records already stored, skipped.
    pub skipped_existing_records: u64,
    /// Context packages newly stored.
    pub imported_context_packages: u64,
    /// Context packages already stored, skipped.
    pub skipped_existing_context_packages: u64,
    /// Links newly stored.
    pub imported_links: u64,
    /// Links already stored, skipped.
    pub skipped_existing_links: u64,
}

impl ImportOutput {
    /// Built from the request's folder and skip mode and the API's report.
    #[must_use]
    pub fn new(in_dir: &Path, skip_existing: bool, report: &ImportReport) -> Self {
        Self {
            in_dir: path_text(in_dir),
            skip_existing,
            summary: ImportSummary {
                imported_records: report.records_imported,
                skipped_existing_records: report.records_skipped,
                imported_context_packages: report.packages_imported,
                skipped_existing_context_packages: report.packages_skipped,
                imported_links: report.links_imported,
                skipped_existing_links: report.links_skipped,
            },
        }
    }
}

/// `db backup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupOutput {
    /// The backup file, as given with `--out`.
    pub backup_path: String,
    /// Always `ok` (a failed backup is an error, not an output).
    pub status: &'static str,
}

impl BackupOutput {
    /// The backup written to `path`.
    #[must_use]
    pub fn new(path: &Path) -> Self {
        Self {
            backup_path: path_text(path),
            status: "ok",
        }
    }
}

/// `db copy`: both ends (passwords hidden) and what the target holds afterwards, which
/// matched the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyOutput {
    /// The source.
    pub from: String,
    /// The target.
    pub to: String,
    /// Records copied.
    pub records: u64,
    /// Links copied.
    pub links: u64,
    /// Context packages copied.
    pub context_packages: u64,
    /// Outcome events copied (with the rulesets, trust snapshots and projector position).
    pub outcome_events: u64,
    /// The content digest both sides share.
    pub digest: String,
}

impl CopyOutput {
    /// The output of a finished copy.
    #[must_use]
    pub fn new(report: &memory_kernel_api::CopyReport) -> Self {
        Self {
            from: report.from.clone(),
            to: report.to.clone(),
            records: report.content.records,
            links: report.content.links,
            context_packages: report.content.context_packages,
            outcome_events: report.content.outcome_events,
            digest: report.content.digest.clone(),
        }
    }
}

/// `db restore`: where from, and the schema status of the restored database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreOutput {
    /// The backup file, as given with `--in`.
    pub restored_from: String,
    /// The restored database's version.
    pub current_version: u32,
    /// The version this build needs.
    pub target_version: u32,
    /// Versions still to apply.
    pub pending_versions: Vec<u32>,
}

impl RestoreOutput {
    /// Built from the source path and the status read after restoring.
    #[must_use]
    pub fn new(source: &Path, status: &SchemaStatus) -> Self {
        Self {
            restored_from: path_text(source),
            current_version: status.current_version,
            target_version: status.target_version,
            pending_versions: status.pending_versions.clone(),
        }
    }
}

/// `db integrity-check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityOutput {
    /// Whether SQLite's `quick_check` answered `ok`.
    pub quick_check_ok: bool,
    /// Its answer, one finding per line.
    pub quick_check_message: String,
    /// Every dangling foreign key.
    pub foreign_key_violations: Vec<ForeignKeyViolationOutput>,
    /// The schema status.
    pub schema_status: SchemaStatusOutput,
}

/// One row of SQLite's `foreign_key_check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignKeyViolationOutput {
    /// The table holding the dangling reference.
    pub table: String,
    /// Its rowid (`null` for tables without one).
    pub rowid: Option<i64>,
    /// The table the reference should point into.
    pub parent: String,
    /// Which foreign key of `table` failed.
    pub fk_index: i64,
}

impl From<&IntegrityReport> for IntegrityOutput {
    fn from(report: &IntegrityReport) -> Self {
        Self {
            quick_check_ok: report.quick_check_ok,
            quick_check_message: report.quick_check_message.clone(),
            foreign_key_violations: report
                .foreign_key_violations
                .iter()
                .map(|violation| ForeignKeyViolationOutput {
                    table: violation.table.clone(),
                    rowid: violation.rowid,
                    parent: violation.parent.clone(),
                    fk_index: violation.foreign_key_index,
                })
                .collect(),
            schema_status: SchemaStatusOutput::from(&report.schema_status),
        }
    }
}

/// A memory record as `memory add` and `memory list` print it: the record's fields, then
/// `payload` as `{record_type, payload}` (the type and the type's own fields nested inside).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordOutput {
    /// Unique id of this version.
    pub memory_version_id: MemoryVersionId,
    /// Groups the versions of one memory.
    pub memory_id: MemoryId,
    /// 1-based version within `memory_id`.
    pub version: u32,
    /// When the record was written.
    pub created_at: Timestamp,
    /// When the record takes effect.
    pub effective_at: Timestamp,
    /// How the claim is known.
    pub truth_status: TruthStatus,
    /// Weight of the source.
    pub authority: Authority,
    /// Optional confidence in `[0, 1]`.
    pub confidence: Option<Confidence>,
    /// Accountable writer.
    pub writer: String,
    /// Why the record was written.
    pub justification: String,
    /// Where it comes from.
    pub provenance: Provenance,
    /// Version ids this record replaces.
    pub supersedes: Vec<MemoryVersionId>,
    /// Version ids this record disagrees with.
    pub contradicts: Vec<MemoryVersionId>,
    /// `{record_type, payload}`.
    pub payload: Payload,
}

impl From<MemoryRecord> for RecordOutput {
    fn from(record: MemoryRecord) -> Self {
        Self {
            memory_version_id: record.memory_version_id,
            memory_id: record.memory_id,
            version: record.version,
            created_at: record.created_at,
            effective_at: record.effective_at,
            truth_status: record.truth_status,
            authority: record.authority,
            confidence: record.confidence,
            writer: record.writer,
            justification: record.justification,
            provenance: record.provenance,
            supersedes: record.supersedes,
            contradicts: record.contradicts,
            payload: record.payload,
        }
    }
}

/// `memory list`: the original's `records`, then `next_cursor` (added with browsing).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListOutput {
    /// The records, in the API's order.
    pub records: Vec<RecordOutput>,
    /// Resumes after the last record printed; left out when nothing follows, so a full
    /// listing keeps the original's keys exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl ListOutput {
    /// The records printed and the cursor after them.
    #[must_use]
    pub fn new(records: Vec<MemoryRecord>, next_cursor: Option<String>) -> Self {
        Self {
            records: records.into_iter().map(RecordOutput::from).collect(),
            next_cursor,
        }
    }
}

/// One lineage claim as seen from one version of a history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageOutput {
    /// The version at the other end.
    pub memory_version_id: MemoryVersionId,
    /// Supersedes or contradicts.
    pub relation: Relation,
    /// From when the claim is visible.
    pub visible_from: Timestamp,
}

impl From<LineageRef> for LineageOutput {
    fn from(lineage: LineageRef) -> Self {
        Self {
            memory_version_id: lineage.memory_version_id,
            relation: lineage.relation,
            visible_from: lineage.visible_from,
        }
    }
}

/// One version of `memory history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryVersionOutput {
    /// The record, as `memory add` prints it.
    pub record: RecordOutput,
    /// Claims this version makes about others.
    pub lineage_out: Vec<LineageOutput>,
    /// Claims others make about this version.
    pub lineage_in: Vec<LineageOutput>,
}

/// `memory history`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryOutput {
    /// The memory.
    pub memory_id: MemoryId,
    /// The instant the current version is judged at.
    pub as_of: Timestamp,
    /// The current version at `as_of`, or `null`.
    pub current_memory_version_id: Option<MemoryVersionId>,
    /// Every version, ascending.
    pub versions: Vec<HistoryVersionOutput>,
}

impl From<MemoryHistory> for HistoryOutput {
    fn from(history: MemoryHistory) -> Self {
        Self {
            memory_id: history.memory_id,
            as_of: history.as_of,
            current_memory_version_id: history.current_memory_version_id,
            versions: history
                .versions
                .into_iter()
                .map(|version| HistoryVersionOutput {
                    record: RecordOutput::from(version.record),
                    lineage_out: version.lineage_out.into_iter().map(Into::into).collect(),
                    lineage_in: version.lineage_in.into_iter().map(Into::into).collect(),
                })
                .collect(),
        }
    }
}

/// One package of `context list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextEntryOutput {
    /// The package id.
    pub context_package_id: String,
    /// The query kind that produced it.
    pub kind: String,
    /// When it was stored, or `null` when not recorded.
    pub stored_at: Option<Timestamp>,
}

/// `context list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextListOutput {
    /// The packages of this page.
    pub context_packages: Vec<ContextEntryOutput>,
    /// The cursor of the next page, or `null`.
    pub next_cursor: Option<String>,
}

impl From<ContextPage> for ContextListOutput {
    fn from(page: ContextPage) -> Self {
        Self {
            context_packages: page
                .context_packages
                .into_iter()
                .map(|entry| ContextEntryOutput {
                    context_package_id: entry.context_package_id,
                    kind: entry.kind,
                    stored_at: entry.stored_at,
                })
                .collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// `memory link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkOutput {
    /// The version that supersedes or contradicts.
    pub from_memory_version_id: MemoryVersionId,
    /// The version superseded or contradicted.
    pub to_memory_version_id: MemoryVersionId,
    /// The relation.
    pub relation: Relation,
    /// Accountable writer.
    pub writer: String,
    /// Why the link was written.
    pub justification: String,
}

impl From<Link> for LinkOutput {
    fn from(link: Link) -> Self {
        Self {
            from_memory_version_id: link.from,
            to_memory_version_id: link.to,
            relation: link.relation,
            writer: link.writer,
            justification: link.justification,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn keys(value: &impl Serialize) -> Vec<String> {
        match serde_json::to_value(value).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn import_summary_maps_each_count_to_its_own_key() {
        let report = ImportReport {
            records_imported: 1,
            records_skipped: 2,
            links_imported: 3,
            links_skipped: 4,
            packages_imported: 5,
            packages_skipped: 6,
        };
        let output = ImportOutput::new(Path::new("snap"), true, &report);
        assert_eq!(
            serde_json::to_value(output.summary).unwrap(),
            json!({"imported_records": 1, "skipped_existing_records": 2,
                   "imported_context_packages": 5, "skipped_existing_context_packages": 6,
                   "imported_links": 3, "skipped_existing_links": 4})
        );
        assert_eq!(keys(&output), ["in_dir", "skip_existing", "summary"]);
    }

    #[test]
    fn backup_says_ok_and_keeps_the_path_as_given() {
        let output = BackupOutput::new(Path::new("./b.sqlite3"));
        assert_eq!(
            serde_json::to_value(output).unwrap(),
            json!({"backup_path": "./b.sqlite3", "status": "ok"})
        );
    }
}
