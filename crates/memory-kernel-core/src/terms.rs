//! Lexical terms for recall (SPEC §3.2). The same normalisation serves the query text, the
//! record text and the store's term index, so what the index finds is what the resolver counts.

use std::collections::BTreeSet;

use crate::record::{MemoryRecord, Payload};

/// Normalises free text into sorted, deduplicated terms: split on whitespace, keep ASCII
/// alphanumerics, `_` and `-`, lowercase, keep terms of two characters or more.
#[must_use]
pub fn terms(text: &str) -> Vec<String> {
    let set: BTreeSet<String> = text
        .split_whitespace()
        .map(|word| {
            word.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
        })
        .filter(|term| term.len() >= 2)
        .collect();
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

/// The record's normalised terms.
#[must_use]
pub fn record_terms(record: &MemoryRecord) -> Vec<String> {
    terms(&record_text(record))
}

/// Counts which query terms occur in records, without allocating per word. Equivalent to
/// intersecting [`terms`] of the query with [`record_terms`] of each record, but reuses its
/// buffers across records, which matters when a recall scans every visible record.
#[derive(Debug, Clone)]
pub struct TermMatcher<'q> {
    query_terms: &'q [String],
    seen: Vec<bool>,
    word: Vec<u8>,
}

impl<'q> TermMatcher<'q> {
    /// A matcher for sorted, deduplicated query terms (the output of [`terms`]).
    #[must_use]
    pub fn new(query_terms: &'q [String]) -> Self {
        Self {
            query_terms,
            seen: vec![false; query_terms.len()],
            word: Vec::with_capacity(32),
        }
    }

    /// The number of distinct query terms present in the record's text.
    pub fn count(&mut self, record: &MemoryRecord) -> usize {
        self.mark(record);
        self.seen.iter().filter(|seen| **seen).count()
    }

    /// The query terms present in the record's text, in query-term order.
    pub fn matched(&mut self, record: &MemoryRecord) -> Vec<&'q str> {
        self.mark(record);
        self.query_terms
            .iter()
            .zip(&self.seen)
            .filter(|(_, seen)| **seen)
            .map(|(term, _)| term.as_str())
            .collect()
    }

    fn mark(&mut self, record: &MemoryRecord) {
        self.seen.iter_mut().for_each(|seen| *seen = false);
        match &record.payload {
            Payload::Constraint(c) => {
                for text in [&c.scope.actor, &c.scope.action, &c.scope.resource] {
                    self.mark_text(text);
                }
                if let Some(note) = &c.note {
                    self.mark_text(note);
                }
            }
            other => self.mark_text(other.summary_text().unwrap_or_default()),
        }
    }

    fn mark_text(&mut self, text: &str) {
        for word in text.split_whitespace() {
            // Bytes >= 0x80 belong to multi-byte characters, which are never ASCII
            // alphanumerics, so filtering bytes is the same as filtering chars in `terms`.
            self.word.clear();
            self.word.extend(
                word.bytes()
                    .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
                    .map(|b| b.to_ascii_lowercase()),
            );
            if self.word.len() < 2 {
                continue;
            }
            let word = self.word.as_slice();
            if let Ok(index) = self
                .query_terms
                .binary_search_by(|term| term.as_bytes().cmp(word))
            {
                self.seen[index] = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::terms;

    #[test]
    fn normalises_splits_and_sorts() {
        assert_eq!(
            terms("Use the USB-drive, a usb_drive? I x"),
            ["the", "usb-drive", "usb_drive", "use"]
        );
    }
}
