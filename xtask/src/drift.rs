//! Drift reports: what every freshness and alignment check prints when the tree disagrees
//! with what it should be: a unified diff of expected against actual, and the one command
//! that fixes it.

use std::fmt;

use similar::TextDiff;

/// One file (or document part) that differs from what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Repo-relative path of the drifted file, with an optional `#part` suffix.
    pub path: String,
    /// Unified diff from expected to actual.
    pub diff: String,
    /// The command that brings the file back in line.
    pub fix: String,
}

impl Drift {
    /// Compares `expected` with `actual` (line endings normalised to LF first, so a Windows
    /// checkout never reports false drift); `None` when they agree.
    #[must_use]
    pub fn check(path: &str, expected: &str, actual: &str, fix: &str) -> Option<Self> {
        let expected = normalise_newlines(expected);
        let actual = normalise_newlines(actual);
        (expected != actual).then(|| Self {
            path: path.to_owned(),
            diff: unified_diff(path, &expected, &actual),
            fix: fix.to_owned(),
        })
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} has drifted:", self.path)?;
        write!(f, "{}", self.diff)?;
        write!(f, "fix: run `{}`", self.fix)
    }
}

/// A unified diff with three lines of context, `expected` as the old side.
#[must_use]
pub fn unified_diff(path: &str, expected: &str, actual: &str) -> String {
    TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (expected)"), &format!("{path} (actual)"))
        .to_string()
}

/// CRLF and lone CR become LF.
#[must_use]
pub fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_after_newline_normalisation_is_no_drift() {
        assert_eq!(Drift::check("a.md", "x\ny\n", "x\r\ny\r\n", "fix"), None);
    }

    #[test]
    fn drift_names_the_file_shows_the_diff_and_the_fix() {
        let drift = Drift::check("a.md", "x\ny\n", "x\nz\n", "cargo xtask codegen").unwrap();
        let text = drift.to_string();
        assert!(text.contains("--- a.md (expected)"), "{text}");
        assert!(text.contains("-y\n+z\n"), "{text}");
        assert!(text.ends_with("fix: run `cargo xtask codegen`"), "{text}");
    }
}
