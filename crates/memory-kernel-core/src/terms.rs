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
