//! `mk db …`: schema status, migrations, snapshots, backup, restore and integrity. The
//! reporting commands are strictly read-only: `schema-version`, `migrate --dry-run` and
//! `backup` go through the API's inspection functions, which never create or change the file,
//! and `integrity-check` opens only a current database (see [`super::open_current`]).

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::Path;

use memory_kernel_api::{
    CopyProgress, ErrorCode, ExportRequest, ImportRequest, LegacyInventory, MemoryKernel,
    MigrationReport,
};
use serde_json::Value;

use crate::cli::DbCommand;
use crate::failure::Failure;
use crate::output::Output;
use crate::shapes::{
    BackupOutput, CopyOutput, ExportOutput, ImportOutput, IntegrityOutput, MigrationOutput,
    MigrationPlanOutput, RestoreOutput, SchemaStatusOutput,
};

/// For a file of the original MemoryKernel, says on stderr what `db migrate` will carry and
/// how to keep a copy first. Stdout keeps the original's `cli.v1` keys, which have no room
/// for it.
fn announce_carry(db: &Path, plan: &MigrationReport) {
    if let Some(note) = plan.legacy_inventory.as_ref().map(|i| carry_note(db, i)) {
        eprintln!("{note}");
    }
}

/// The human note for [`announce_carry`].
fn carry_note(db: &Path, inventory: &LegacyInventory) -> String {
    let payloads = inventory.payload_rows;
    let mut note = format!(
        "note: {db} is a database of the original MemoryKernel (its schema version {layout}).\n\
         note: `mk db migrate` will carry, in one transaction, then drop the original's tables:\n\
         note:   {records} records (payloads: {c} constraint, {d} decision, {p} preference, \
         {e} event, {o} outcome)\n\
         note:   {links} links ({dups} exact duplicates carried once)\n\
         note:   {packages} stored context packages (served verbatim by `context show`)\n",
        db = db.display(),
        layout = inventory.layout_version,
        records = inventory.records,
        c = payloads.constraint,
        d = payloads.decision,
        p = payloads.preference,
        e = payloads.event,
        o = payloads.outcome,
        links = inventory.links,
        dups = inventory.duplicate_links,
        packages = inventory.context_packages,
    );
    if inventory.derived_version_ids > 0 {
        note.push_str(&format!(
            "note:   {} records get a memory_version_id derived from their memory_id\n",
            inventory.derived_version_ids
        ));
    }
    note.push_str(&format!(
        "note: keep a copy first: mk --db {db} db backup --out {db}.before-migrate",
        db = db.display()
    ));
    note
}

/// The manifest a snapshot export writes into its folder.
const MANIFEST_FILE: &str = "manifest.json";

/// Runs a `db` command.
///
/// # Errors
/// [`ErrorCode::SchemaUnavailable`] for a missing, unreadable or outdated database,
/// [`ErrorCode::MigrationFailed`], [`ErrorCode::ValidationError`] for an unusable backup file or
/// snapshot, [`ErrorCode::WriteFailed`] or [`ErrorCode::InternalError`].
pub fn run(command: &DbCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        DbCommand::SchemaVersion => {
            let status = MemoryKernel::inspect(db)?;
            if status.inferred_from_legacy {
                announce_carry(db, &MemoryKernel::migration_plan(db)?);
            }
            Ok(Output::SchemaStatus(SchemaStatusOutput::from(&status)))
        }
        DbCommand::Migrate { dry_run: true } => {
            let plan = MemoryKernel::migration_plan(db)?;
            announce_carry(db, &plan);
            Ok(Output::MigrationPlan(MigrationPlanOutput::from(&plan)))
        }
        DbCommand::Migrate { dry_run: false } => {
            let kernel = MemoryKernel::open(db)?;
            let report = kernel.migrate(false)?;
            let after = kernel.schema_status()?;
            Ok(Output::Migration(MigrationOutput::new(&report, &after)))
        }
        DbCommand::Export {
            out,
            signing_key_file,
            encrypt_key_file,
        } => {
            let request = ExportRequest {
                signing_key_file: signing_key_file.clone(),
                encrypt_key_file: encrypt_key_file.clone(),
            };
            super::open_current(db)?.export(out, &request)?;
            Ok(Output::Export(ExportOutput::new(out, read_manifest(out)?)))
        }
        DbCommand::Import {
            input,
            skip_existing,
            verify_key_file,
            decrypt_key_file,
            allow_unsigned,
        } => {
            let request = ImportRequest {
                verify_key_file: verify_key_file.clone(),
                decrypt_key_file: decrypt_key_file.clone(),
                allow_unsigned: *allow_unsigned,
                skip_existing: *skip_existing,
            };
            let report = super::open_current(db)?.import(input, &request)?;
            Ok(Output::Import(ImportOutput::new(
                input,
                *skip_existing,
                &report,
            )))
        }
        DbCommand::Copy { from, to } => {
            let mut line = ProgressLine::default();
            let copied = MemoryKernel::copy_store_with_progress(from, to, |step| line.show(step));
            line.close();
            Ok(Output::Copy(CopyOutput::new(&copied?)))
        }
        DbCommand::Backup { out, force } => {
            MemoryKernel::backup(db, out, *force)?;
            Ok(Output::Backup(BackupOutput::new(out)))
        }
        // Restoring may create the database: it is how a backup becomes a live file again.
        DbCommand::Restore { input } => {
            let kernel = MemoryKernel::open(db)?;
            kernel.restore(input)?;
            let status = kernel.schema_status()?;
            Ok(Output::Restore(RestoreOutput::new(input, &status)))
        }
        DbCommand::IntegrityCheck => Ok(Output::Integrity(IntegrityOutput::from(
            &super::open_current(db)?.integrity_check()?,
        ))),
        DbCommand::PrunePackages { before } => Ok(Output::Prune(
            super::open_current(db)?.prune_context_packages(before)?,
        )),
    }
}

/// The manifest the export just wrote, printed as it is in the folder (the API's export
/// report carries only counts).
fn read_manifest(out: &Path) -> Result<Value, Failure> {
    let path = out.join(MANIFEST_FILE);
    let unreadable = |reason: String| {
        Failure::new(
            ErrorCode::InternalError,
            format!(
                "the snapshot was written, but its manifest {} cannot be read back: {reason}",
                path.display()
            ),
        )
    };
    let text = fs::read_to_string(&path).map_err(|e| unreadable(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))
}

/// A copy's progress on one line of a terminal's stderr, rewritten as it moves; nothing when
/// stderr is not a terminal, where it holds at most the failure's JSON object.
#[derive(Default)]
struct ProgressLine {
    /// A line is shown and not yet ended.
    open: bool,
}

impl ProgressLine {
    fn show(&mut self, step: CopyProgress) {
        let mut stderr = std::io::stderr().lock();
        if !stderr.is_terminal() {
            return;
        }
        let text = if step.total == 0 {
            format!("{}…", step.stage)
        } else {
            format!("{} {}/{}", step.stage, step.done, step.total)
        };
        // Best effort: a terminal that cannot be written to loses only the progress.
        let _ = write!(stderr, "\r\x1b[Kmk db copy: {text}");
        self.open = step.total == 0 || step.done < step.total;
        if !self.open {
            let _ = writeln!(stderr);
        }
        let _ = stderr.flush();
    }

    /// Ends a line left open (by the last stage, or a failure in the middle of one).
    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}
