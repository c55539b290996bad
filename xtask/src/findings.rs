//! What a governance check found: the problems that fail it and the notes that explain what
//! it could not check (a shallow clone, no release tag yet, …).
//!
//! Every check of the governance gates returns [`Findings`]; its command prints them and turns
//! a non-empty problem list into one error that ends with the command to re-run.

use std::fmt;

use anyhow::{Result, bail};

/// The problems and notes of one check run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Each one fails the check: what is wrong, where, and how to fix it.
    pub problems: Vec<String>,
    /// Each one is informational: something skipped, and why.
    pub notes: Vec<String>,
    /// Set when the check had nothing to check: it neither passed nor failed.
    pub skipped: Option<String>,
}

/// A gate that ran but had nothing to check, and why. `cargo xtask verify` reports such a
/// gate as SKIP with the reason (never PASS), and `verify --strict` fails on it when the gate
/// is required. Returned as the gate's error and recognised by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateSkipped {
    /// Why nothing was checked, and what would make the gate check something.
    pub reason: String,
}

impl fmt::Display for GateSkipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "skipped: {}", self.reason)
    }
}

impl std::error::Error for GateSkipped {}

impl Findings {
    /// No problems and no notes.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    /// Records a note.
    pub fn note(&mut self, message: impl Into<String>) {
        self.notes.push(message.into());
    }

    /// Records that the check had nothing to check (the first reason is kept).
    pub fn skip(&mut self, reason: impl Into<String>) {
        if self.skipped.is_none() {
            self.skipped = Some(reason.into());
        }
    }

    /// Appends another check's findings.
    pub fn extend(&mut self, other: Findings) {
        self.problems.extend(other.problems);
        self.notes.extend(other.notes);
        if let Some(reason) = other.skipped {
            self.skip(reason);
        }
    }

    /// As [`Findings::report`] for a `verify` gate: a check that found no problem but had
    /// nothing to check ends with [`GateSkipped`], so the gate is reported as SKIP.
    ///
    /// # Errors
    /// When at least one problem was found, or the check was skipped.
    pub fn gate(&self, rerun: &str) -> Result<()> {
        self.report(rerun)?;
        match &self.skipped {
            Some(reason) => Err(GateSkipped {
                reason: reason.clone(),
            }
            .into()),
            None => Ok(()),
        }
    }

    /// True when nothing failed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Prints the notes and problems, then fails with their count when there is any problem,
    /// naming `rerun` as the command to run once they are fixed.
    ///
    /// # Errors
    /// When at least one problem was found.
    pub fn report(&self, rerun: &str) -> Result<()> {
        print!("{self}");
        match self.problems.len() {
            0 => Ok(()),
            count => bail!(
                "{count} problem{} listed above: fix each as its message says, then re-run \
                 `{rerun}`",
                if count == 1 { "" } else { "s" }
            ),
        }
    }
}

impl fmt::Display for Findings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if let Some(reason) = &self.skipped {
            writeln!(f, "skip: {reason}")?;
        }
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_fail_and_notes_do_not() {
        let mut findings = Findings::new();
        findings.note("skipped x");
        assert!(findings.report("cargo xtask x").is_ok());
        findings.problem("broken");
        let error = findings.report("cargo xtask x").unwrap_err().to_string();
        assert!(error.starts_with("1 problem listed above"), "{error}");
        assert!(error.ends_with("`cargo xtask x`"), "{error}");
        assert_eq!(findings.to_string(), "note: skipped x\nproblem: broken\n");
    }
}
