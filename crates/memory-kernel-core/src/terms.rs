//! Lexical terms for recall (see `docs/spec/resolver.md`, "Terms"). One tokenizer serves the
//! query text, the record text and the store's term index, so what the index finds is what the
//! resolver counts.
//!
//! Text of every script is handled: compatibility decomposition (NFKD) with combining marks
//! dropped folds accents (`Café` → `cafe`; CJK characters are kept as written), Unicode lowercasing folds case, and words are runs
//! of letters, digits, `_` and `-`. Han, Hiragana and Katakana are written without spaces, so
//! a run of those characters is cut into overlapping two-character terms (bigrams), the usual
//! way to search such text without a dictionary; a lone character is a term of its own.

use std::collections::{BTreeMap, BTreeSet};

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::record::{MemoryRecord, Payload};

/// Whether `c` belongs to a script written without spaces between words, whose text is
/// indexed by character bigrams: CJK ideographs (with their extensions and compatibility
/// block), Hiragana and Katakana.
#[must_use]
pub fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0x20000..=0x3134F    // CJK extensions B to G
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-')
}

/// Which terms a text yields: queries ask with bigrams only, while records are indexed with
/// bigrams and every single CJK character, so a one-character query still finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Query,
    Index,
}

/// Calls `emit` for every term occurrence of `text`, in text order (repeats included).
fn for_each_term(text: &str, mode: Mode, mut emit: impl FnMut(&str)) {
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_word = |word: &mut String, emit: &mut dyn FnMut(&str)| {
        if word.chars().nth(1).is_some() {
            emit(word);
        }
        word.clear();
    };
    let flush_cjk = |run: &mut Vec<char>, emit: &mut dyn FnMut(&str)| {
        let mut buf = String::new();
        if run.len() == 1 || mode == Mode::Index {
            for c in run.iter() {
                buf.clear();
                buf.push(*c);
                emit(&buf);
            }
        }
        for pair in run.windows(2) {
            buf.clear();
            buf.extend(pair);
            emit(&buf);
        }
        run.clear();
    };
    // CJK characters are kept whole: decomposing them would strip kana voicing marks
    // (デ → テ), which change the word rather than accent it.
    let folded = text.chars().flat_map(|c| {
        let cjk = is_cjk(c);
        std::iter::once(c).filter(move |_| cjk).chain(
            std::iter::once(c)
                .filter(move |_| !cjk)
                .nfkd()
                .filter(|d| !is_combining_mark(*d)),
        )
    });
    for c in folded {
        if is_cjk(c) {
            flush_word(&mut word, &mut emit);
            cjk.push(c);
        } else if is_word_char(c) {
            flush_cjk(&mut cjk, &mut emit);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut emit);
            flush_cjk(&mut cjk, &mut emit);
        }
    }
    flush_word(&mut word, &mut emit);
    flush_cjk(&mut cjk, &mut emit);
}

/// Normalises query text into sorted, deduplicated terms.
#[must_use]
pub fn terms(text: &str) -> Vec<String> {
    let mut set = BTreeSet::new();
    for_each_term(text, Mode::Query, |term| {
        if !set.contains(term) {
            set.insert(term.to_owned());
        }
    });
    set.into_iter().collect()
}

/// The text recall matches a record against: the summary, or for a constraint its actor,
/// action, resource and note.
#[must_use]
pub fn record_text(record: &MemoryRecord) -> String {
    match &record.payload {
        Payload::Constraint(c) => {
            let note = c.note.as_deref().unwrap_or_default();
            format!(
                "{} {} {} {note}",
                c.scope.actor, c.scope.action, c.scope.resource
            )
        }
        other => other.summary_text().unwrap_or_default().to_owned(),
    }
}

/// The record's index terms, sorted and deduplicated: what the store's term index holds.
#[must_use]
pub fn record_terms(record: &MemoryRecord) -> Vec<String> {
    record_postings(record).terms.into_keys().collect()
}

/// A record's entry in a term index: each distinct index term with its number of
/// occurrences, and the record's length (all term occurrences). For any query, the
/// frequencies of its terms and this length are exactly what [`TermMatcher::stats`] computes
/// from the text, so an index holding them can rank without reading the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPostings {
    /// Distinct index terms, sorted, with their occurrence counts (each at least 1).
    pub terms: BTreeMap<String, u32>,
    /// Term occurrences in the whole text.
    pub length: u32,
}

/// The record's [`RecordPostings`].
#[must_use]
pub fn record_postings(record: &MemoryRecord) -> RecordPostings {
    let mut terms: BTreeMap<String, u32> = BTreeMap::new();
    let mut length: u32 = 0;
    for_each_term(&record_text(record), Mode::Index, |term| {
        length = length.saturating_add(1);
        if let Some(count) = terms.get_mut(term) {
            *count = count.saturating_add(1);
        } else {
            terms.insert(term.to_owned(), 1);
        }
    });
    RecordPostings { terms, length }
}

/// How a record's text matches a query: the frequency of each query term (in query-term
/// order) and the number of index term occurrences in the text (its length for ranking).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermStats {
    /// Occurrences of each query term, aligned with the query's terms.
    pub frequencies: Vec<u32>,
    /// Term occurrences in the whole text.
    pub length: u32,
}

impl TermStats {
    /// The number of distinct query terms present.
    #[must_use]
    pub fn matched(&self) -> u32 {
        let count = self.frequencies.iter().filter(|f| **f > 0).count();
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

/// Matches records against sorted, deduplicated query terms (the output of [`terms`]).
#[derive(Debug, Clone)]
pub struct TermMatcher<'q> {
    query_terms: &'q [String],
}

impl<'q> TermMatcher<'q> {
    /// A matcher for sorted, deduplicated query terms.
    #[must_use]
    pub const fn new(query_terms: &'q [String]) -> Self {
        Self { query_terms }
    }

    /// The term statistics of the record's text.
    #[must_use]
    pub fn stats(&self, record: &MemoryRecord) -> TermStats {
        let mut frequencies = vec![0u32; self.query_terms.len()];
        let mut length: u32 = 0;
        for_each_term(&record_text(record), Mode::Index, |term| {
            length = length.saturating_add(1);
            if let Ok(index) = self
                .query_terms
                .binary_search_by(|candidate| candidate.as_str().cmp(term))
            {
                frequencies[index] = frequencies[index].saturating_add(1);
            }
        });
        TermStats {
            frequencies,
            length,
        }
    }

    /// The number of distinct query terms present in the record's text.
    #[must_use]
    pub fn count(&self, record: &MemoryRecord) -> usize {
        self.stats(record).matched() as usize
    }

    /// The query terms present in the record's text, in query-term order.
    #[must_use]
    pub fn matched(&self, record: &MemoryRecord) -> Vec<&'q str> {
        let stats = self.stats(record);
        self.query_terms
            .iter()
            .zip(&stats.frequencies)
            .filter(|(_, f)| **f > 0)
            .map(|(term, _)| term.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Mode, for_each_term, terms};

    fn index_terms(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_term(text, Mode::Index, |t| out.push(t.to_owned()));
        out
    }

    #[test]
    fn normalises_splits_and_sorts() {
        assert_eq!(
            terms("Use the USB-drive, a usb_drive? I x"),
            ["the", "usb-drive", "usb_drive", "use"]
        );
    }

    #[test]
    fn folds_accents_and_case_in_every_script() {
        assert_eq!(terms("Café CAFE"), ["cafe"]);
        assert_eq!(terms("Ärger ÉCOLE naïve"), ["arger", "ecole", "naive"]);
        assert_eq!(terms("Встреча ВСТРЕЧА"), ["встреча"]);
        assert_eq!(terms("ΣΥΝΑΝΤΗΣΗ"), ["συναντηση"]);
    }

    #[test]
    fn cjk_runs_become_bigrams() {
        assert_eq!(terms("会议"), ["会议"]);
        assert_eq!(terms("明天的会议"), ["会议", "天的", "明天", "的会"]);
        assert_eq!(terms("会"), ["会"]);
        assert_eq!(
            index_terms("下午会议 ok"),
            ["下", "午", "会", "议", "下午", "午会", "会议", "ok"]
        );
        assert_eq!(terms("データ"), ["デー", "ータ"]);
    }

    #[test]
    fn mixed_scripts_split_at_the_boundary() {
        assert_eq!(terms("SQLite数据库"), ["sqlite", "据库", "数据"]);
    }
}
