//! The `evidence-paths` rule: evidence named in `docs/implementation/*.md` must exist and be
//! repo-relative.
//!
//! What counts as an evidence path, precisely (documents: every `*.md` file directly in
//! `docs/implementation/`):
//!
//! - **Evidence columns.** In a Markdown table (a `|` header row followed by a `|---|`
//!   delimiter row), a column whose header — trimmed, without `*`, `_` and backticks,
//!   lowercased — is `evidence` or starts with `evidence ` (e.g. `Evidence paths`). Every code
//!   span in that column's body cells is a candidate.
//! - **Evidence lines.** A line whose label — after indentation, an optional list marker
//!   (`-`, `*`, `+`, `1.`) and `*`/`_` emphasis — is `Evidence:` or `Evidence paths:`
//!   (any case). Every code span after the colon is a candidate, and so is every code span on
//!   the lines that follow while they are indented deeper than the label line (a nested
//!   list); a blank or shallower line ends it.
//!
//! A candidate code span is a path unless it contains whitespace (a command such as
//! `cargo xtask verify`) or `://` (a URL). A `#fragment` is ignored. A path must not be
//! absolute (`/…`, `~…`, `C:\…`), use `\` or contain a `..` segment, and must name an existing
//! file or folder relative to the repository root.

use std::path::Path;

use super::{Rule, Violation};

/// Where evidence documents live.
const EVIDENCE_DIR: &str = "docs/implementation/";

/// Checks the file `path` (repo-relative, content `text`) when it is an evidence document.
pub(super) fn check(root: &Path, path: &str, text: &str, out: &mut Vec<Violation>) {
    if !is_evidence_document(path) {
        return;
    }
    for (line, candidate) in candidates(text) {
        if let Some(message) = problem(root, &candidate) {
            out.push(Violation {
                path: path.to_owned(),
                line: Some(line),
                rule: Rule::EvidencePaths,
                message,
            });
        }
    }
}

fn is_evidence_document(path: &str) -> bool {
    path.strip_prefix(EVIDENCE_DIR)
        .is_some_and(|name| !name.contains('/') && name.ends_with(".md"))
}

/// Every evidence candidate of a document as (1-based line, code span text).
fn candidates(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if is_table_row(line)
            && lines
                .get(index + 1)
                .is_some_and(|next| is_delimiter_row(next))
        {
            let columns: Vec<usize> = cells(line)
                .iter()
                .enumerate()
                .filter(|(_, header)| is_evidence_label(header))
                .map(|(column, _)| column)
                .collect();
            index += 2;
            while index < lines.len() && is_table_row(lines[index]) {
                let row = cells(lines[index]);
                for &column in &columns {
                    if let Some(cell) = row.get(column) {
                        out.extend(code_spans(cell).into_iter().map(|span| (index + 1, span)));
                    }
                }
                index += 1;
            }
            continue;
        }
        if let Some(rest) = evidence_line_rest(line) {
            out.extend(code_spans(rest).into_iter().map(|span| (index + 1, span)));
            let depth = indent(line);
            index += 1;
            while index < lines.len()
                && !lines[index].trim().is_empty()
                && indent(lines[index]) > depth
            {
                out.extend(
                    code_spans(lines[index])
                        .into_iter()
                        .map(|span| (index + 1, span)),
                );
                index += 1;
            }
            continue;
        }
        index += 1;
    }
    out
}

fn is_table_row(line: &str) -> bool {
    line.trim_start().starts_with('|')
}

fn is_delimiter_row(line: &str) -> bool {
    let cells = cells(line);
    is_table_row(line)
        && !cells.is_empty()
        && cells.iter().all(|cell| {
            let cell = cell.trim();
            !cell.is_empty() && cell.chars().all(|c| matches!(c, '-' | ':')) && cell.contains('-')
        })
}

/// The cells of a table row; `\|` inside a cell is not a separator.
fn cells(line: &str) -> Vec<String> {
    let trimmed = line.trim();
    let inner = trimmed.strip_prefix('|').unwrap_or(trimmed);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            '|' if !escaped => cells.push(String::new()),
            _ => {
                if let Some(cell) = cells.last_mut() {
                    cell.push(c);
                }
            }
        }
        escaped = c == '\\';
    }
    cells
}

fn is_evidence_label(text: &str) -> bool {
    let label: String = text
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`'))
        .collect::<String>()
        .trim()
        .to_lowercase();
    label == "evidence" || label.starts_with("evidence ")
}

/// The text after the colon of an `Evidence:` label line.
fn evidence_line_rest(line: &str) -> Option<&str> {
    let mut text = line.trim_start();
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = text.strip_prefix(marker) {
            text = rest;
            break;
        }
    }
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    if digits > 0
        && let Some(rest) = text[digits..].strip_prefix(". ")
    {
        text = rest;
    }
    let (label, rest) = text.split_once(':')?;
    let label: String = label
        .chars()
        .filter(|c| !matches!(c, '*' | '_'))
        .collect::<String>()
        .trim()
        .to_lowercase();
    (label == "evidence" || label == "evidence paths").then(|| rest.trim_start_matches(['*', '_']))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The closed single-backtick code spans of `text`, non-empty.
fn code_spans(text: &str) -> Vec<String> {
    let parts: Vec<&str> = text.split('`').collect();
    parts
        .iter()
        .enumerate()
        // Odd parts sit between two backticks when another part follows them.
        .filter(|(index, span)| index % 2 == 1 && index + 1 < parts.len() && !span.is_empty())
        .map(|(_, span)| (*span).to_owned())
        .collect()
}

/// Why the candidate fails the rule, if it is a path and does.
fn problem(root: &Path, candidate: &str) -> Option<String> {
    if candidate.contains(char::is_whitespace) || candidate.contains("://") {
        return None;
    }
    let path = candidate.split('#').next().unwrap_or(candidate);
    if path.is_empty() {
        return None;
    }
    let drive = path.len() >= 2 && path.as_bytes()[1] == b':';
    if path.starts_with(['/', '~', '\\']) || drive {
        return Some(format!(
            "evidence path `{candidate}` is absolute: write it relative to the repository root"
        ));
    }
    if path.contains('\\') || path.split('/').any(|segment| segment == "..") {
        return Some(format!(
            "evidence path `{candidate}` is not repo-relative (`\\` or a `..` segment): write it \
             relative to the repository root with `/`"
        ));
    }
    if !root.join(path).exists() {
        return Some(format!(
            "evidence path `{candidate}` does not exist: fix the path, add the evidence, or \
             drop the reference"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_evidence_columns_and_lines_only() {
        let text = "\
| item | evidence | owner |
|---|:---|---|
| a | `x/one.md`, `cargo xtask verify` | `not/evidence.md` |
| b \\| c | `x/two.md` | - |

Evidence: `x/three.md`
- **Evidence paths:**
  - `x/four.md`
  - see `x/five.md`
- `x/not-nested.md`
The `x/prose.md` is not evidence.
";
        let found: Vec<(usize, String)> = candidates(text);
        let expected = [
            (3, "x/one.md"),
            (3, "cargo xtask verify"),
            (4, "x/two.md"),
            (6, "x/three.md"),
            (8, "x/four.md"),
            (9, "x/five.md"),
        ];
        assert_eq!(
            found,
            expected
                .map(|(line, span)| (line, span.to_owned()))
                .to_vec()
        );
    }

    #[test]
    fn only_direct_markdown_children_are_documents() {
        assert!(is_evidence_document("docs/implementation/QUEUE.md"));
        assert!(!is_evidence_document("docs/implementation/sub/QUEUE.md"));
        assert!(!is_evidence_document("docs/implementation/LATEST.json"));
        assert!(!is_evidence_document("docs/spec/x.md"));
    }
}
