//! `mk db …`: schema status, migrations, backup, restore and integrity. Reporting commands
//! are strictly read-only: they go through the API's inspection functions, which never
//! create or change the file.

use std::path::Path;

use memory_kernel_api::{ExportRequest, ImportRequest, MemoryKernel};

use crate::cli::DbCommand;
use crate::failure::Failure;
use crate::output::Output;

/// Runs a `db` command.
///
/// # Errors
/// `schema_unavailable` for a missing or unreadable database, `migration_failed`,
/// `validation_error` for an unusable backup file, `write_failed` or `internal_error`.
pub fn run(command: &DbCommand, db: &Path) -> Result<Output, Failure> {
    match command {
        DbCommand::SchemaVersion => Ok(Output::SchemaStatus(MemoryKernel::inspect(db)?)),
        DbCommand::Migrate { dry_run: true } => {
            Ok(Output::Migration(MemoryKernel::migration_plan(db)?))
        }
        DbCommand::Migrate { dry_run: false } => {
            Ok(Output::Migration(MemoryKernel::open(db)?.migrate(false)?))
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
            Ok(Output::Export(
                super::open_existing(db)?.export(out, &request)?,
            ))
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
            Ok(Output::Import(
                super::open_existing(db)?.import(input, &request)?,
            ))
        }
        DbCommand::Backup { out } => Ok(Output::Backup(MemoryKernel::backup(db, out)?)),
        // Restoring may create the database: it is how a backup becomes a live file again.
        DbCommand::Restore { input } => {
            Ok(Output::Restore(MemoryKernel::open(db)?.restore(input)?))
        }
        DbCommand::IntegrityCheck => Ok(Output::Integrity(
            super::open_existing(db)?.integrity_check()?,
        )),
    }
}
