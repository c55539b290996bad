//! The `spec-references` rule: the specification lives in this repository, so every reference
//! to it resolves here.
//!
//! - No citations of the founding specification by section number (a document outside the
//!   repository): cite the page under `docs/` that states the rule.
//! - Every `docs/….md` path named in a Rust comment or a document (optionally with a
//!   `#heading` anchor), and every relative Markdown link to a `.md` file, names a file that
//!   exists; an anchor names one of its headings (GitHub's slug: lowercase, punctuation
//!   dropped, spaces as hyphens).
//! - `ARCHITECTURE.md` names only paths that exist: every code span in it that looks like a
//!   repository path (has a `/` or a file extension, no spaces) must exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use super::{Rule, Violation};

/// The old, external citation form.
const EXTERNAL_CITATION: &str = concat!("SPEC ", "§");

/// Files the rule reads: sources, documents and the two root documents.
fn is_checked(path: &str) -> bool {
    let text_file = path.ends_with(".rs") || path.ends_with(".md");
    let place = path.starts_with("crates/")
        || path.starts_with("xtask/")
        || path.starts_with("docs/")
        || path == "README.md"
        || path == "ARCHITECTURE.md";
    text_file && place && !path.starts_with("xtask/tests/fixtures/")
}

/// The documents references point at, each read and its headings slugged once per run: the
/// heading slugs of every file read, or `None` for a file that does not exist.
#[derive(Debug, Default)]
pub(super) struct Targets {
    read: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Targets {
    fn headings(&mut self, root: &Path, file: &str) -> Option<&BTreeSet<String>> {
        self.read
            .entry(file.to_owned())
            .or_insert_with(|| {
                fs::read_to_string(root.join(file)).ok().map(|text| {
                    text.lines()
                        .filter_map(|line| line.strip_prefix('#'))
                        .map(|heading| slug(heading.trim_start_matches('#')))
                        .collect()
                })
            })
            .as_ref()
    }
}

/// Checks the file `path` (repo-relative, content `text`).
pub(super) fn check(
    root: &Path,
    path: &str,
    text: &str,
    targets: &mut Targets,
    out: &mut Vec<Violation>,
) {
    if !is_checked(path) {
        return;
    }
    let mut report = |line: usize, message: String| {
        out.push(Violation {
            path: path.to_owned(),
            line: Some(line),
            rule: Rule::SpecReferences,
            message,
        });
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.contains(EXTERNAL_CITATION) {
            report(
                number,
                format!(
                    "cites {EXTERNAL_CITATION}…, a document outside this repository: cite the \
                     page under docs/ that states the rule"
                ),
            );
        }
        // In Rust sources only comments cite pages; string literals are test data.
        // Implementation records' paths are the evidence-paths rule's business.
        let cites = (!path.ends_with(".rs") || line.trim_start().starts_with("//"))
            && !path.starts_with("docs/implementation/");
        for reference in docs_paths(line).into_iter().filter(|_| cites) {
            if let Some(problem) = resolve(root, &reference, targets) {
                report(number, problem);
            }
        }
        if path.ends_with(".md") {
            let dir = Path::new(path).parent().unwrap_or(Path::new(""));
            for link in markdown_links(line) {
                let joined = dir.join(&link);
                let target = normalise(&joined.to_string_lossy());
                if let Some(problem) = resolve(root, &target, targets) {
                    report(number, problem);
                }
            }
        }
        if path == "ARCHITECTURE.md" {
            for span in code_spans(line) {
                if looks_like_path(&span) && !root.join(span.trim_end_matches('/')).exists() {
                    report(
                        number,
                        format!("names `{span}`, which does not exist: fix or drop the path"),
                    );
                }
            }
        }
    }
}

/// `docs/….md` (with an optional anchor) mentioned anywhere in the line.
fn docs_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("docs/") {
        // Only at a word start: `…/docs/` inside a longer path is not a repo path.
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "/_.-#".contains(c)))
            .unwrap_or(tail.len());
        let candidate = tail[..end].trim_end_matches(['.', ')']);
        let (file, _) = candidate.split_once('#').unwrap_or((candidate, ""));
        if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '/' || c == '.'))
            && file.ends_with(".md")
        {
            out.push(candidate.to_owned());
        }
        rest = &tail[end.max(5)..];
    }
    out
}

/// Targets of relative Markdown links to `.md` files: `](target.md#anchor)`.
fn markdown_links(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let tail = &rest[at + 2..];
        let Some(end) = tail.find(')') else { break };
        let target = &tail[..end];
        let file = target.split_once('#').map_or(target, |(file, _)| file);
        if file.ends_with(".md") && !target.contains("://") && !target.starts_with('/') {
            out.push(target.to_owned());
        }
        rest = &tail[end..];
    }
    out
}

/// `a/b/../c` → `a/c`, `./x` → `x`.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// A problem with `reference` (`file.md` or `file.md#anchor`), or `None`.
fn resolve(root: &Path, reference: &str, targets: &mut Targets) -> Option<String> {
    let (file, anchor) = match reference.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (reference, None),
    };
    let Some(headings) = targets.headings(root, file) else {
        return Some(format!("refers to {file}, which does not exist"));
    };
    let anchor = anchor.filter(|anchor| !anchor.is_empty())?;
    let found = headings.contains(anchor);
    (!found).then(|| format!("refers to {file}#{anchor}, but {file} has no such heading"))
}

/// GitHub's heading anchor: lowercase, punctuation dropped, spaces as hyphens.
#[must_use]
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn code_spans(line: &str) -> Vec<String> {
    line.split('`')
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
        .map(|(_, span)| span.to_owned())
        .collect()
}

/// A code span that names a repository path: no whitespace, not a command or URL, with a `/`
/// or a known file extension, and starting at one of the repository's top-level entries.
fn looks_like_path(span: &str) -> bool {
    if span.is_empty() || span.contains(char::is_whitespace) || span.contains("://") {
        return false;
    }
    let tops = [
        "crates/",
        "xtask/",
        "contracts/",
        "docs/",
        ".ci/",
        "Cargo.toml",
        "README.md",
        "CHANGELOG.md",
    ];
    tops.iter().any(|top| span.starts_with(top)) && !span.contains(['*', '<', '{'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(
            slug(" Policy `ask` (MKR-011..017)"),
            "policy-ask-mkr-011017"
        );
        assert_eq!(
            slug("The original's database files"),
            "the-originals-database-files"
        );
        assert_eq!(slug("Size"), "size");
    }

    #[test]
    fn paths_and_links_are_found() {
        assert_eq!(
            docs_paths("see docs/spec/api.md#errors, and /x/docs/no.md or docs/spec/"),
            ["docs/spec/api.md#errors"]
        );
        assert_eq!(
            markdown_links("[a](resolver.md#terms) [b](https://x/y.md) [c](../x.md)"),
            ["resolver.md#terms", "../x.md"]
        );
        assert_eq!(normalise("docs/spec/../testing/x.md"), "docs/testing/x.md");
    }
}
