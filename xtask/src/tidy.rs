//! `cargo xtask tidy`: repository hygiene rules checked over every file of the checkout.
//!
//! [`check`] lists the files under a root and returns every [`Violation`], sorted; [`run`] is
//! the command (and the `tidy` gate of `cargo xtask verify`) that prints them and fails.
//! Files are the ones git knows about (tracked, plus untracked files that are not ignored);
//! when the root is not the top of a git checkout — a test's temporary copy, say — the tree
//! is walked instead, skipping `target/` and `.git/`.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

mod evidence;
mod references;

/// Check repository hygiene: scripts, layout, line endings, whitespace, docs, evidence paths
///
/// Checks every file git tracks, plus untracked files that are not ignored (outside a git
/// checkout: every file, skipping `target/` and `.git/`).
///
/// Each violation prints as `path:line: rule: message`, sorted, and the command fails with
/// the count. The rules, and how to fix a failure:
///
///   no-scripts           No *.sh, *.bash, *.py, *.pl or `#!` script files (only `.ci/run`
///                        is allowed): port the logic to a `cargo xtask` command.
///   top-level-layout     Only Cargo.toml, Cargo.lock, README.md, CHANGELOG.md, LICENSE,
///                        rustfmt.toml, crates/, xtask/, contracts/, docs/ and dotfiles
///                        at the root: move the entry under one of them or delete it.
///   line-endings         Text files use LF only and end with a newline: convert CRLF to
///                        LF and add the final newline (`.gitattributes` forces LF).
///   trailing-whitespace  No trailing spaces or tabs in *.rs, *.md, *.json, *.yaml,
///                        *.yml, *.toml: delete them.
///   crate-docs           Every crate under crates/ and xtask/ starts src/lib.rs (or
///                        src/main.rs) with a `//!` doc comment: say what the crate is for.
///   evidence-paths       Evidence named in docs/implementation/*.md (code spans in a table
///                        column headed `Evidence…`, or after an `Evidence:` label and in
///                        its nested list) exists and is repo-relative; spans with
///                        whitespace (commands) and URLs are not paths. Fix the path or
///                        drop the reference (docs/spec/governance.md has the exact rule).
///   spec-references      No citation of a specification outside the repository; every
///                        `docs/….md` path (and `#heading`) and relative `.md` link named in
///                        sources and documents exists; ARCHITECTURE.md names only existing
///                        paths. Cite or fix the page under docs/.
///   hand-written-status  docs/implementation/*.md never calls an item or a gate "pending",
///                        "not yet", "none yet" or "skipped until": a gate's status is what
///                        `cargo xtask verify` reports. Delete the claim; name real evidence.
///
/// Binary files (a NUL byte, or not UTF-8) are exempt from the text rules.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Tidy {}

/// A hygiene rule; its [`name`](Rule::name) is what a violation line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// No shell, Python or Perl scripts: every task is a `cargo xtask` command.
    NoScripts,
    /// Only the allowed entries at the repository root.
    TopLevelLayout,
    /// LF line endings only, and a final newline.
    LineEndings,
    /// No trailing spaces or tabs in source, docs and config files.
    TrailingWhitespace,
    /// A crate-level `//!` doc comment at the top of every crate root.
    CrateDocs,
    /// Evidence paths in `docs/implementation/*.md` exist and are repo-relative.
    EvidencePaths,
    /// References to the specification resolve inside the repository.
    SpecReferences,
    /// `docs/implementation/*.md` states no status by hand ("pending", "none yet"): what
    /// runs is reported by the gates themselves.
    HandWrittenStatus,
}

impl Rule {
    /// The rule's kebab-case name, as printed in violation lines.
    pub fn name(self) -> &'static str {
        match self {
            Rule::NoScripts => "no-scripts",
            Rule::TopLevelLayout => "top-level-layout",
            Rule::LineEndings => "line-endings",
            Rule::TrailingWhitespace => "trailing-whitespace",
            Rule::CrateDocs => "crate-docs",
            Rule::EvidencePaths => "evidence-paths",
            Rule::HandWrittenStatus => "hand-written-status",
            Rule::SpecReferences => "spec-references",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule in one file. Ordering is by path, then line, then rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Path relative to the checked root, with `/` separators (a directory ends with `/`).
    pub path: String,
    /// 1-based line number, when the violation sits on a line.
    pub line: Option<usize>,
    /// The rule that is broken.
    pub rule: Rule,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.path, self.rule, self.message),
            None => write!(f, "{}: {}: {}", self.path, self.rule, self.message),
        }
    }
}

/// Runs the tidy checks on the repository the shell is rooted at, prints every violation and
/// fails with their count.
///
/// # Errors
/// Fails when any rule is broken, or when a file cannot be listed or read.
pub fn run(sh: &Shell, _args: &Tidy) -> Result<()> {
    let violations = check(&sh.current_dir())?;
    for violation in &violations {
        println!("{violation}");
    }
    match violations.len() {
        0 => Ok(()),
        count => bail!(
            "{count} tidy violation{} listed above: fix each as its message says, then re-run \
             `cargo xtask tidy` (`cargo xtask tidy --help` explains every rule)",
            if count == 1 { "" } else { "s" }
        ),
    }
}

/// Lists the files under `root` (git's view when `root` is the top of a checkout, otherwise a
/// walk of the tree) and checks them with [`check_files`].
///
/// # Errors
/// Fails when the tree cannot be walked or a file cannot be read.
pub fn check(root: &Path) -> Result<Vec<Violation>> {
    check_files(root, &repository_files(root)?)
}

/// The files tidy (and `cargo xtask boundaries`) check under `root`: git's view — tracked,
/// plus untracked files that are not ignored — when `root` is the top of a checkout,
/// otherwise every file of a walk that skips `target/` and `.git/`. Sorted, `/`-separated.
///
/// # Errors
/// When the tree cannot be walked.
pub fn repository_files(root: &Path) -> Result<Vec<String>> {
    match git_files(root) {
        Some(files) => Ok(files),
        None => walk(root),
    }
}

/// Checks the given files (paths relative to `root`, `/`-separated) against every rule and
/// returns the violations sorted. Listed paths that no longer exist, or are not regular
/// files, are skipped.
///
/// # Errors
/// Fails when a listed file exists but cannot be read.
pub fn check_files(root: &Path, files: &[String]) -> Result<Vec<Violation>> {
    let mut violations = Vec::new();
    top_level_layout(files, &mut violations);
    let mut targets = references::Targets::default();
    for path in files {
        let full = root.join(path);
        // A tracked file deleted in the work tree, a symlink or a submodule: nothing to read.
        let Ok(meta) = fs::symlink_metadata(&full) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let bytes = fs::read(&full).with_context(|| format!("cannot read {path}"))?;
        let text = as_text(&bytes);
        no_scripts(path, text, &mut violations);
        if let Some(text) = text {
            line_endings(path, text, &mut violations);
            trailing_whitespace(path, text, &mut violations);
            evidence::check(root, path, text, &mut violations);
            hand_written_status(path, text, &mut violations);
            references::check(root, path, text, &mut targets, &mut violations);
        }
    }
    crate_docs(root, files, &mut violations)?;
    violations.sort();
    violations.dedup();
    Ok(violations)
}

/// Files git knows about under `root`, or `None` when `root` is not the top of a git checkout
/// (or git is unavailable).
fn git_files(root: &Path) -> Option<Vec<String>> {
    let sh = Shell::new().ok()?;
    sh.change_dir(root);
    let toplevel = cmd!(sh, "git rev-parse --show-toplevel")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    if fs::canonicalize(toplevel).ok()? != fs::canonicalize(root).ok()? {
        return None;
    }
    let listing = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .read()
        .ok()?;
    let files: BTreeSet<String> = listing
        .split('\0')
        .filter(|path| !path.is_empty())
        .map(str::to_owned)
        .collect();
    Some(files.into_iter().collect())
}

/// Every file under `root`, sorted, skipping `target/` and `.git/` directories.
fn walk(root: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    // Each entry is a directory relative to `root`, as a `/`-terminated prefix.
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        let entries =
            fs::read_dir(root.join(&dir)).with_context(|| format!("cannot list {dir:?}"))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {dir:?}"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry
                .file_type()
                .with_context(|| format!("cannot stat {dir}{name}"))?;
            if file_type.is_dir() {
                if name != "target" && name != ".git" {
                    pending.push(format!("{dir}{name}/"));
                }
            } else {
                files.push(format!("{dir}{name}"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The file's text, or `None` for binary content (a NUL byte, or not UTF-8).
fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Words that state a status by hand in an implementation record.
const STATUS_WORDS: &[&str] = &["pending", "none yet", "not yet", "skipped until"];

fn hand_written_status(path: &str, text: &str, out: &mut Vec<Violation>) {
    let Some(name) = path.strip_prefix("docs/implementation/") else {
        return;
    };
    if name.contains('/') || !name.ends_with(".md") {
        return;
    }
    for (index, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        if let Some(word) = STATUS_WORDS.iter().find(|word| lower.contains(*word)) {
            out.push(Violation {
                path: path.to_owned(),
                line: Some(index + 1),
                rule: Rule::HandWrittenStatus,
                message: format!(
                    "says {word:?}: a status written by hand goes stale; what runs is what \
                     `cargo xtask verify` reports, so delete the claim (or name real evidence)"
                ),
            });
        }
    }
}

/// The one script the rules allow: CI's entry point, which only calls `cargo xtask`.
const ALLOWED_SCRIPTS: &[&str] = &[".ci/run"];
const SCRIPT_EXTENSIONS: &[&str] = &["sh", "bash", "py", "pl"];

fn no_scripts(path: &str, text: Option<&str>, out: &mut Vec<Violation>) {
    if ALLOWED_SCRIPTS.contains(&path) {
        return;
    }
    let by_extension = extension(path).is_some_and(|ext| SCRIPT_EXTENSIONS.contains(&ext));
    // `#!` starts a script; `#![` is a Rust inner attribute.
    let by_shebang = text.is_some_and(|text| text.starts_with("#!") && !text.starts_with("#!["));
    if by_extension || by_shebang {
        out.push(Violation {
            path: path.to_owned(),
            line: None,
            rule: Rule::NoScripts,
            message: "scripts are not allowed: port it to a `cargo xtask` command (xtask/src/) \
                      and delete the script"
                .to_owned(),
        });
    }
}

const ALLOWED_TOP_LEVEL_FILES: &[&str] = &[
    "ARCHITECTURE.md",
    "Cargo.toml",
    "Cargo.lock",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "rustfmt.toml",
];
const ALLOWED_TOP_LEVEL_DIRS: &[&str] = &["crates", "xtask", "contracts", "docs"];

fn top_level_layout(files: &[String], out: &mut Vec<Violation>) {
    let mut unexpected = BTreeSet::new();
    for path in files {
        let entry = match path.split_once('/') {
            Some((dir, _)) if !ALLOWED_TOP_LEVEL_DIRS.contains(&dir) => format!("{dir}/"),
            Some(_) => continue,
            None if !ALLOWED_TOP_LEVEL_FILES.contains(&path.as_str()) => path.clone(),
            None => continue,
        };
        // Dotfiles and dot-directories (.cargo/, .ci/, .gitignore, ...) are tool configuration.
        if !entry.starts_with('.') {
            unexpected.insert(entry);
        }
    }
    out.extend(unexpected.into_iter().map(|path| Violation {
        path,
        line: None,
        rule: Rule::TopLevelLayout,
        message: format!(
            "unexpected top-level entry: move it under crates/, xtask/, contracts/ or docs/, \
             or delete it (allowed files: {}; allowed directories: {}/, and dotfiles)",
            ALLOWED_TOP_LEVEL_FILES.join(", "),
            ALLOWED_TOP_LEVEL_DIRS.join("/, "),
        ),
    }));
}

fn line_endings(path: &str, text: &str, out: &mut Vec<Violation>) {
    let crlf_lines: Vec<usize> = text
        .split_inclusive('\n')
        .enumerate()
        .filter(|(_, line)| line.ends_with("\r\n"))
        .map(|(index, _)| index + 1)
        .collect();
    if let Some(&first) = crlf_lines.first() {
        out.push(Violation {
            path: path.to_owned(),
            line: Some(first),
            rule: Rule::LineEndings,
            message: format!(
                "{} line{} end{} with CRLF: convert the file to LF line endings",
                crlf_lines.len(),
                if crlf_lines.len() == 1 { "" } else { "s" },
                if crlf_lines.len() == 1 { "s" } else { "" },
            ),
        });
    }
    if !text.is_empty() && !text.ends_with('\n') {
        out.push(Violation {
            path: path.to_owned(),
            line: Some(text.split('\n').count()),
            rule: Rule::LineEndings,
            message: "no newline at end of file: add one".to_owned(),
        });
    }
}

const WHITESPACE_CHECKED_EXTENSIONS: &[&str] = &["rs", "md", "json", "yaml", "yml", "toml"];

fn trailing_whitespace(path: &str, text: &str, out: &mut Vec<Violation>) {
    if !extension(path).is_some_and(|ext| WHITESPACE_CHECKED_EXTENSIONS.contains(&ext)) {
        return;
    }
    for (index, line) in text.split('\n').enumerate() {
        // A CRLF ending is the line-endings rule's business, not whitespace.
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.ends_with([' ', '\t']) {
            out.push(Violation {
                path: path.to_owned(),
                line: Some(index + 1),
                rule: Rule::TrailingWhitespace,
                message: "trailing whitespace: delete it (in Markdown, end a line with `\\` \
                          for a hard line break)"
                    .to_owned(),
            });
        }
    }
}

/// Directories whose `Cargo.toml` files with a `[package]` table are crates we own.
const CRATE_DIRS: &[&str] = &["crates/", "xtask/"];

fn crate_docs(root: &Path, files: &[String], out: &mut Vec<Violation>) -> Result<()> {
    let manifests = files.iter().filter(|path| {
        CRATE_DIRS.iter().any(|dir| path.starts_with(dir))
            && (path.as_str() == "Cargo.toml" || path.ends_with("/Cargo.toml"))
    });
    for manifest in manifests {
        let Ok(text) = fs::read_to_string(root.join(manifest)) else {
            continue;
        };
        if !text.lines().any(|line| line.trim() == "[package]") {
            continue;
        }
        let crate_dir = manifest.trim_end_matches("Cargo.toml");
        let lib = format!("{crate_dir}src/lib.rs");
        let main = format!("{crate_dir}src/main.rs");
        let Some(crate_root) = [lib, main].into_iter().find(|p| root.join(p).is_file()) else {
            out.push(Violation {
                path: manifest.clone(),
                line: None,
                rule: Rule::CrateDocs,
                message: "crate has neither src/lib.rs nor src/main.rs to carry its `//!` docs"
                    .to_owned(),
            });
            continue;
        };
        let source = fs::read_to_string(root.join(&crate_root))
            .with_context(|| format!("cannot read {crate_root}"))?;
        if !starts_with_crate_doc(&source) {
            out.push(Violation {
                path: crate_root,
                line: Some(1),
                rule: Rule::CrateDocs,
                message: "missing crate-level doc comment: start the file with `//!` lines \
                          saying what the crate is for (and what it is not for)"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// Whether the crate docs come first: blank lines, plain `//` comments and inner attributes
/// may precede them.
fn starts_with_crate_doc(source: &str) -> bool {
    for line in source.lines().map(str::trim) {
        if line.starts_with("//!") || line.starts_with("/*!") || line.starts_with("#![doc") {
            return true;
        }
        if !(line.is_empty() || line.starts_with("//") || line.starts_with("#![")) {
            return false;
        }
    }
    false
}

fn extension(path: &str) -> Option<&str> {
    Path::new(path).extension().and_then(|ext| ext.to_str())
}
