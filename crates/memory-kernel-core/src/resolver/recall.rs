//! `recall` (docs/spec/resolver.md): which active records of the requested types share words with the
//! query, best match first.

use std::collections::BTreeMap;

use super::ordering::{PrecedenceKey, RECALL_TIE_BREAKERS};
use super::relevance::Corpus;
use super::view::{LineageView, record_visible_at, snapshot_id_of_visible};
use super::{
    ExclusionMode, Exclusions, PrimaryScore, REASON_BEYOND_LIMIT, REASON_NO_OVERLAP,
    REASON_RETRACTED, REASON_SUPERSEDED, Ranked, RecallQuery, RecordSet, ordering_trace,
    selected_items, take_top,
};
use crate::package::{
    Answer, AnswerResult, ContextPackage, Determinism, PackageQuery, QueryKind,
    RECALL_RULESET_VERSION, context_package_id,
};
use crate::record::{MemoryRecord, TruthStatus};
use crate::terms::{TermMatcher, TermStats};

/// Answers a recall question over the records visible at the query's `as_of`.
///
/// Candidates are visible records of the requested types. A record sharing no term with the
/// query is excluded (`no lexical overlap with query text`); of the others, retracted ones and
/// superseded ones are excluded; the rest are selected and ranked by BM25 relevance and the
/// shared tail of [`PrecedenceKey`]; those past the limit are excluded as
/// `beyond requested limit`. Every exclusion is counted in `answer.excluded_summary`; which ones are
/// listed depends on [`ExclusionMode`], one page of at most `exclusion_limit` at a time.
///
/// The set may hold only the records sharing a term (the store's indexed path), with the
/// others counted in [`RecordSet::unlisted_without_overlap`]: the package is the same as from
/// the whole set, except that `full` mode can list only records present in the set.
#[must_use]
pub fn recall(set: &RecordSet, query: &RecallQuery) -> ContextPackage {
    let as_of = query.as_of();
    let mode = query.exclusions();
    let bounds = query.bounds();
    let view = LineageView::at(set, as_of);
    let matcher = TermMatcher::new(query.terms());
    let mut visible = Vec::with_capacity(set.records.len());
    let mut matching: Vec<(&MemoryRecord, TermStats)> = Vec::new();
    let mut without_overlap: Vec<&MemoryRecord> = Vec::new();
    let mut searched: u64 = set.unlisted_without_overlap;
    for record in &set.records {
        if !record_visible_at(record, as_of) {
            continue;
        }
        visible.push(record.memory_version_id);
        if !query.record_types().contains(&record.record_type()) {
            continue;
        }
        searched += 1;
        let stats = matcher.stats(record);
        if stats.matched() == 0 {
            without_overlap.push(record);
        } else {
            matching.push((record, stats));
        }
    }
    let corpus = Corpus::from_matches(
        searched,
        query.terms().len(),
        matching.iter().map(|(_, stats)| stats),
    );

    let mut selected = Vec::new();
    let mut excluded = Exclusions::default();
    for (record, stats) in &matching {
        let ranked = Ranked {
            record,
            key: PrecedenceKey::new(corpus.score(stats), record),
        };
        if record.truth_status == TruthStatus::Retracted {
            excluded.add(ranked, REASON_RETRACTED);
        } else if view.is_superseded(record.memory_version_id) {
            excluded.add(ranked, REASON_SUPERSEDED);
        } else {
            selected.push(ranked);
        }
    }
    let matched = selected.len();
    for ranked in take_top(&mut selected, bounds.limit()) {
        excluded.add(ranked, REASON_BEYOND_LIMIT);
    }
    if mode == ExclusionMode::Full {
        // Listed after every near miss: their relevance is 0.
        for record in &without_overlap {
            let ranked = Ranked {
                record,
                key: PrecedenceKey::new(0, record),
            };
            excluded.add(ranked, REASON_NO_OVERLAP);
        }
        excluded.count(REASON_NO_OVERLAP, set.unlisted_without_overlap);
    } else {
        let unlisted = u64::try_from(without_overlap.len()).unwrap_or(u64::MAX);
        excluded.count(
            REASON_NO_OVERLAP,
            unlisted.saturating_add(set.unlisted_without_overlap),
        );
    }
    let (excluded_items, excluded_summary) =
        excluded.finish(bounds, mode != ExclusionMode::Summary);

    let term_count = query.terms().len();
    let selected_items = selected_items(&selected, &view, |ranked| {
        let found = matcher.matched(ranked.record);
        let matched = u32::try_from(found.len()).unwrap_or(u32::MAX);
        (
            format!(
                "lexical overlap: {matched} of {term_count} query terms ({})",
                found.join(", ")
            ),
            PrimaryScore::Recall { matched },
        )
    });

    let package_query = PackageQuery {
        text: query.text().to_owned(),
        actor: None,
        action: None,
        resource: None,
        record_types: Some(query.record_types().to_vec()),
        as_of,
        limit: Some(bounds.limit()),
        exclusions: Some(mode),
        exclusion_limit: Some(bounds.exclusion_limit()),
        exclusion_offset: Some(bounds.exclusion_offset()),
        trust_gate: None,
    };
    let snapshot_id = snapshot_id_of_visible(visible, set, as_of);
    ContextPackage {
        context_package_id: context_package_id(
            QueryKind::Recall,
            &package_query,
            query.terms(),
            &snapshot_id,
        ),
        generated_at: as_of,
        query: package_query,
        determinism: Determinism {
            ruleset_version: RECALL_RULESET_VERSION.to_owned(),
            snapshot_id,
            tie_breakers: RECALL_TIE_BREAKERS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        },
        answer: answer(matched, selected.len(), excluded_summary),
        ordering_trace: ordering_trace(
            &selected,
            super::RECALL_PRIMARY,
            super::recall_primary_text,
        ),
        selected_items,
        excluded_items,
    }
}

/// `answer.why` when nothing matched.
pub const WHY_NO_MATCH: &str = "No records matched the query terms";

/// The recall answer: `selected` with how many records matched (and how many the limit kept),
/// or `none`.
fn answer(matched: usize, selected: usize, excluded_summary: BTreeMap<String, u64>) -> Answer {
    let why = match (matched, selected) {
        (0, _) => WHY_NO_MATCH.to_owned(),
        (1, 1) => "1 record matched the query terms".to_owned(),
        (m, s) if m == s => format!("{m} records matched the query terms"),
        (m, s) => format!("{m} records matched the query terms; {s} selected within the limit"),
    };
    let result = if selected == 0 {
        AnswerResult::NoneSelected
    } else {
        AnswerResult::Selected
    };
    Answer {
        result,
        why,
        excluded_summary,
    }
}
