//! Documented corrections: rules a contract document states after a release although the
//! service already enforced them in that release.
//!
//! `contracts diff` cannot tell a new request rule that restates an existing refusal from one
//! that refuses what the service used to accept, so it calls both breaking. A correction is
//! listed, reviewed like code, in `contracts/governance/contract-corrections.json`: the release
//! it corrects, and for each correction an id, the contract file, the keyword, its value before
//! (absent: not stated) and after, and the JSON pointers of the nodes it applies to. Against
//! that release, a breaking change that is exactly one listed (file, pointer, keyword, before,
//! after) is a `correction` when the release's service already enforced the rule, or
//! `breaking (accepted)` when it did not and the change ships under the same label by a
//! recorded decision; everything else keeps its class. The list is
//! checked both ways: an entry the diff does not show is stale, a correction whose id no
//! CHANGELOG entry added since the release names is unannounced (an accepted breaking change
//! must be called breaking there), and a list stated against
//! another release than the one compared with is stale as a whole (`release cut` empties it,
//! since the new baseline records the corrected document).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::classify::{Change, RuleChange, Severity};
use crate::findings::Findings;

/// The list, repo-relative.
pub const CORRECTIONS_PATH: &str = "contracts/governance/contract-corrections.json";

/// The format label of the list.
pub const CORRECTIONS_FORMAT: &str = "memorykernel-contract-corrections.v1";

/// `contracts/governance/contract-corrections.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrectionList {
    /// [`CORRECTIONS_FORMAT`].
    pub format: String,
    /// The recorded release (X.Y.Z) whose documents the corrections amend.
    pub release: String,
    /// The corrections, each a reviewed entry.
    pub corrections: Vec<Correction>,
}

/// What a listed entry says about the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The release's service already enforced the rule; only the document was silent. The
    /// change is reported as `correction`.
    Correction,
    /// The release's service did not enforce the rule: it is a behaviour change since the
    /// release, shipped under the same label by a recorded decision. It stays `breaking` in
    /// the report (marked accepted) and the CHANGELOG line naming it must say "breaking".
    AcceptedBreaking,
}

/// One rule stated after the release, at one or more nodes of one contract file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// A short name, which a CHANGELOG line added since the release must contain in backticks.
    pub id: String,
    /// A correction of the document, or an accepted breaking change.
    pub kind: Kind,
    /// The contract file, repo-relative.
    pub file: String,
    /// The keyword (`pattern`, `minLength`, `type`, …).
    pub keyword: String,
    /// Its value in the release; absent when the release stated none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<Value>,
    /// Its value now; absent when the rule is no longer stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<Value>,
    /// The JSON pointers of the nodes, as `contracts diff` prints them.
    pub pointers: Vec<String>,
    /// Why the service already enforced the rule in the release, and the test that proves
    /// the document and the service agree.
    pub evidence: String,
}

impl CorrectionList {
    /// The list of the tree at `root`; `None` when the file does not exist.
    ///
    /// # Errors
    /// When the file exists but cannot be read or is not a correction list.
    pub fn load(root: &Path) -> Result<Option<Self>> {
        let path = root.join(CORRECTIONS_PATH);
        if !path.is_file() {
            return Ok(None);
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {CORRECTIONS_PATH}"))?;
        let list: Self = serde_json::from_str(&text)
            .with_context(|| format!("{CORRECTIONS_PATH} is not a correction list"))?;
        anyhow::ensure!(
            list.format == CORRECTIONS_FORMAT,
            "{CORRECTIONS_PATH}: format {:?}, expected {CORRECTIONS_FORMAT:?}",
            list.format
        );
        Ok(Some(list))
    }

    /// An empty list for `release`.
    #[must_use]
    pub fn empty(release: &str) -> Self {
        Self {
            format: CORRECTIONS_FORMAT.to_owned(),
            release: release.to_owned(),
            corrections: Vec::new(),
        }
    }
}

/// Matches the listed corrections against the diff with `release`.
pub struct Matcher<'a> {
    list: &'a CorrectionList,
    /// (correction index, pointer) → whether the diff showed it.
    seen: BTreeMap<(usize, &'a str), bool>,
}

impl<'a> Matcher<'a> {
    /// A matcher for the list, or problems when the list is stated against another release
    /// or lists one node twice.
    pub fn new(list: &'a CorrectionList, release: &str, findings: &mut Findings) -> Option<Self> {
        if list.release != release {
            findings.problem(format!(
                "{CORRECTIONS_PATH} lists corrections of release {}, but the contracts are \
                 compared with release {release}: the list is stale; empty it (`corrections: \
                 []`, `release: \"{release}\"`), since release {release} records the corrected \
                 documents",
                list.release
            ));
            return None;
        }
        let mut seen = BTreeMap::new();
        let mut keys = BTreeMap::new();
        for (index, correction) in list.corrections.iter().enumerate() {
            if correction.pointers.is_empty() {
                findings.problem(format!(
                    "{CORRECTIONS_PATH}: correction `{}` names no pointer",
                    correction.id
                ));
            }
            for pointer in &correction.pointers {
                seen.insert((index, pointer.as_str()), false);
                let key = (
                    correction.file.as_str(),
                    pointer.as_str(),
                    correction.keyword.as_str(),
                );
                if let Some(other) = keys.insert(key, correction.id.as_str()) {
                    findings.problem(format!(
                        "{CORRECTIONS_PATH}: `{}` of {} at {pointer} is listed twice \
                         (corrections `{other}` and `{}`)",
                        correction.keyword, correction.file, correction.id
                    ));
                }
            }
        }
        Some(Self { list, seen })
    }

    /// Turns every breaking change of `path` that a listed correction names exactly into a
    /// correction.
    pub fn apply(&mut self, path: &str, changes: &mut [Change]) {
        for change in changes
            .iter_mut()
            .filter(|change| change.severity == Severity::Breaking)
        {
            let Some(rule) = &change.rule else {
                continue;
            };
            if let Some((index, pointer)) = self.find(path, rule) {
                self.seen.insert((index, pointer), true);
                let correction = &self.list.corrections[index];
                change.severity = match correction.kind {
                    Kind::Correction => Severity::Correction,
                    Kind::AcceptedBreaking => Severity::AcceptedBreaking,
                };
                change.what = format!("{} (listed as `{}`)", change.what, correction.id);
            }
        }
    }

    fn find(&self, path: &str, rule: &RuleChange) -> Option<(usize, &'a str)> {
        self.list
            .corrections
            .iter()
            .enumerate()
            .filter(|(_, correction)| {
                correction.file == path
                    && correction.keyword == rule.keyword
                    && correction.was == rule.was
                    && correction.now == rule.now
            })
            .find_map(|(index, correction)| {
                correction
                    .pointers
                    .iter()
                    .find(|pointer| **pointer == rule.pointer)
                    .map(|pointer| (index, pointer.as_str()))
            })
    }

    /// The problems left once every file was compared: listed nodes the diff did not show,
    /// and corrections no added CHANGELOG line names.
    pub fn finish(self, changelog_added: &str, findings: &mut Findings) {
        for ((index, pointer), seen) in &self.seen {
            if !seen {
                let correction = &self.list.corrections[*index];
                findings.problem(format!(
                    "{CORRECTIONS_PATH}: correction `{}` lists `{}` {} → {} at {pointer} of {}, \
                     but the diff with release {} shows no such change: the entry is stale; \
                     remove it, or correct its pointer or values to what `cargo xtask \
                     contracts diff` prints",
                    correction.id,
                    correction.keyword,
                    shown(correction.was.as_ref()),
                    shown(correction.now.as_ref()),
                    correction.file,
                    self.list.release
                ));
            }
        }
        for correction in &self.list.corrections {
            let name = format!("`{}`", correction.id);
            let entries = entries(changelog_added);
            let mut naming = entries.iter().filter(|entry| entry.contains(&name));
            let announced = match correction.kind {
                Kind::Correction => naming.next().is_some(),
                Kind::AcceptedBreaking => {
                    naming.any(|entry| entry.to_lowercase().contains("breaking"))
                }
            };
            if !announced {
                let what = match correction.kind {
                    Kind::Correction => "any CHANGELOG.md line",
                    Kind::AcceptedBreaking => "a CHANGELOG.md line that calls it breaking",
                };
                findings.problem(format!(
                    "{CORRECTIONS_PATH}: `{}` is not named by {what} added since release {}: \
                     name it, in backticks, under `## Unreleased`",
                    correction.id, self.list.release
                ));
            }
        }
    }
}

/// The CHANGELOG text as entries: a list item with its continuation lines, or a heading.
fn entries(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let continues = !trimmed.is_empty()
            && !trimmed.starts_with("- ")
            && !trimmed.starts_with('#')
            && line.starts_with(' ');
        match out.last_mut() {
            Some(entry) if continues => {
                entry.push(' ');
                entry.push_str(trimmed);
            }
            _ => out.push(line.to_owned()),
        }
    }
    out
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), Value::to_string)
}
