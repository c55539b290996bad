//! The `restore-database` step: a database file the current build migrated, the older `mk`
//! refusing it, and the documented way back (restore the backup taken before the migration)
//! leaving a file the older `mk` opens.
//!
//! Migrations are forward-only and `mk db migrate` writes no backup of its own: the way back
//! is the `mk db backup --out FILE` taken before migrating, restored by REF's own
//! `mk db restore --in FILE` once REF's binaries are installed (the current build's restore
//! refuses a backup at an older schema version). The rehearsal does exactly that, with REF's
//! `mk` and the current tree's `mk` on a scratch file.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::report::StepStatus;
use super::runner::{RunResult, XtaskRunner};

/// What the database rehearsal found, for the JSON report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DatabaseRehearsal {
    /// The schema version REF's `mk` creates (its target).
    pub ref_schema_version: Option<u64>,
    /// The schema version the current `mk` migrated the file to.
    pub current_schema_version: Option<u64>,
    /// REF's `mk` refused the migrated file (`None`: not tried, the versions are equal).
    pub ref_refused_migrated_file: Option<bool>,
    /// REF's `mk` opened the file restored from the pre-migration backup.
    pub ref_opens_restored_file: Option<bool>,
}

/// One `mk` call of the rehearsal, for the step's detail.
struct Call<'a> {
    runner: &'a dyn XtaskRunner,
    db: String,
    log: Vec<String>,
}

impl Call<'_> {
    fn mk(&mut self, who: &str, binary: &Path, args: &[&str]) -> Result<RunResult, String> {
        let mut full = vec!["--db".to_owned(), self.db.clone()];
        full.extend(args.iter().map(|arg| (*arg).to_owned()));
        let shown = format!("{who} mk {}", args.join(" "));
        match self.runner.mk(binary, &full) {
            Ok(result) => {
                self.log.push(format!(
                    "{shown}: {}",
                    result
                        .code
                        .map_or_else(|| "killed".to_owned(), |code| format!("exit {code}"))
                ));
                Ok(result)
            }
            Err(error) => Err(format!("{shown}: {error:#}")),
        }
    }

    /// Runs `args` and requires success; returns the parsed JSON output.
    fn ok(&mut self, who: &str, binary: &Path, args: &[&str]) -> Result<Value, String> {
        let result = self.mk(who, binary, args)?;
        if !result.success() {
            return Err(format!(
                "{who} mk {} failed: {}",
                args.join(" "),
                last_line(&result.output)
            ));
        }
        serde_json::from_str(result.output.trim()).map_err(|error| {
            format!(
                "{who} mk {} printed no JSON ({error}): {}",
                args.join(" "),
                last_line(&result.output)
            )
        })
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
}

/// The schema version a status or migration report names under `key`.
fn version(value: &Value, key: &str) -> Option<u64> {
    value[key].as_u64()
}

/// Rehearses the database way back in `scratch` with REF's tree at `tree` and the current
/// tree at `root`.
pub fn rehearse(
    root: &Path,
    tree: &Path,
    scratch: &Path,
    runner: &dyn XtaskRunner,
    reference: &str,
) -> (StepStatus, String, Option<DatabaseRehearsal>) {
    println!("==> building mk at {reference} and in the current tree ...");
    let old = match runner.build_mk(tree) {
        Ok(Some(binary)) => binary,
        Ok(None) => {
            return (
                StepStatus::NotAvailable,
                format!("{reference} has no mk (crates/memory-kernel-cli)"),
                None,
            );
        }
        Err(error) => return (StepStatus::Failed, format!("{error:#}"), None),
    };
    let new = match runner.build_mk(root) {
        Ok(Some(binary)) => binary,
        Ok(None) => {
            return (
                StepStatus::NotAvailable,
                "the current tree has no mk (crates/memory-kernel-cli)".to_owned(),
                None,
            );
        }
        Err(error) => return (StepStatus::Failed, format!("{error:#}"), None),
    };
    let dir = scratch.join("database");
    if let Err(error) = std::fs::create_dir_all(&dir) {
        return (
            StepStatus::Failed,
            format!("cannot create {}: {error}", dir.display()),
            None,
        );
    }
    let backup = dir.join("pre-migration.sqlite3").display().to_string();
    let mut call = Call {
        runner,
        db: dir.join("rehearsal.sqlite3").display().to_string(),
        log: Vec::new(),
    };
    let mut found = DatabaseRehearsal::default();
    let result = steps(&mut call, &old, &new, &backup, reference, &mut found);
    let mut detail = match &result {
        Ok(summary) => summary.clone(),
        Err(problem) => problem.clone(),
    };
    for line in &call.log {
        detail.push_str("\n  ");
        detail.push_str(line);
    }
    let status = if result.is_ok() {
        StepStatus::Passed
    } else {
        StepStatus::Failed
    };
    (status, detail, Some(found))
}

fn steps(
    call: &mut Call<'_>,
    old: &Path,
    new: &Path,
    backup: &str,
    reference: &str,
    found: &mut DatabaseRehearsal,
) -> Result<String, String> {
    let at_ref = format!("{reference}'s");
    let created = call.ok(&at_ref, old, &["db", "migrate"])?;
    let ref_version = version(&created, "after_version")
        .ok_or_else(|| format!("{at_ref} mk db migrate names no after_version: {created}"))?;
    found.ref_schema_version = Some(ref_version);
    call.ok("current", new, &["db", "backup", "--out", backup])?;
    let migrated = call.ok("current", new, &["db", "migrate"])?;
    let current_version = version(&migrated, "after_version")
        .ok_or_else(|| format!("current mk db migrate names no after_version: {migrated}"))?;
    found.current_schema_version = Some(current_version);
    if current_version == ref_version {
        call.ok(&at_ref, old, &["db", "integrity-check"])?;
        found.ref_opens_restored_file = Some(true);
        return Ok(format!(
            "{reference} and the current build share schema version {ref_version}: REF's mk \
             opens the file as it is, nothing to restore"
        ));
    }
    let refused = call.mk(&at_ref, old, &["db", "integrity-check"])?;
    found.ref_refused_migrated_file = Some(!refused.success());
    if refused.success() {
        return Err(format!(
            "{at_ref} mk (schema version {ref_version}) opened a file migrated to version \
             {current_version}: it must refuse a newer schema"
        ));
    }
    call.ok(&at_ref, old, &["db", "restore", "--in", backup])?;
    let status = call.ok(&at_ref, old, &["db", "schema-version"])?;
    if version(&status, "current_version") != Some(ref_version) {
        return Err(format!(
            "the restored file is not at schema version {ref_version}: {status}"
        ));
    }
    let opened = call.mk(&at_ref, old, &["db", "integrity-check"])?;
    found.ref_opens_restored_file = Some(opened.success());
    if !opened.success() {
        return Err(format!(
            "{at_ref} mk does not open the restored file: {}",
            last_line(&opened.output)
        ));
    }
    Ok(format!(
        "schema {ref_version} → {current_version}: REF's mk refuses the migrated file ({}); \
         REF's `mk db restore --in` the pre-migration backup (`mk db backup` before \
         `mk db migrate`) gives a file REF's mk opens",
        last_line(&refused.output)
    ))
}
