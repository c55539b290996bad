//! `recall` (SPEC §3.2): which active records of the requested types share words with the
//! query, best match first.

use std::collections::BTreeMap;

use super::ordering::{PrecedenceKey, RECALL_TIE_BREAKERS};
use super::view::{LineageView, record_visible_at, snapshot_id_of_visible};
use super::{
    ExclusionMode, REASON_BEYOND_LIMIT, REASON_NO_OVERLAP, REASON_RETRACTED, REASON_SUPERSEDED,
    Ranked, RecallQuery, RecordSet, excluded_items, ordering_trace, selected_items, sort_ranked,
};
use crate::package::{
    Answer, AnswerResult, ContextPackage, Determinism, PackageQuery, QueryKind,
    RECALL_RULESET_VERSION, context_package_id,
};
use crate::record::TruthStatus;
use crate::terms::TermMatcher;

/// Answers a recall question over the records visible at the query's `as_of`.
///
/// Candidates are visible records of the requested types. Each is checked in order: no query
/// term in its text → excluded (`no lexical overlap with query text`); retracted → excluded;
/// superseded → excluded; otherwise selected. Selected records are ranked by match count and
/// the shared tail of [`PrecedenceKey`]; those past `limit` are excluded as
/// `beyond requested limit`. In summary mode only retracted and superseded exclusions are
/// listed and the rest are counted in `excluded_summary`.
#[must_use]
pub fn recall(set: &RecordSet, query: &RecallQuery) -> ContextPackage {
    let as_of = query.as_of();
    let summary_mode = query.exclusions() == ExclusionMode::Summary;
    let view = LineageView::at(set, as_of);
    let mut matcher = TermMatcher::new(query.terms());
    let mut selected = Vec::new();
    let mut excluded = Vec::new();
    let mut visible = Vec::with_capacity(set.records.len());
    let mut no_overlap: u64 = 0;
    for record in &set.records {
        if !record_visible_at(record, as_of) {
            continue;
        }
        visible.push(record.memory_version_id);
        if !query.record_types().contains(&record.record_type()) {
            continue;
        }
        let count = matcher.count(record);
        if count == 0 && summary_mode {
            // Counted, never listed: skip building its ordering key.
            no_overlap += 1;
            continue;
        }
        let ranked = Ranked {
            record,
            key: PrecedenceKey::new(u32::try_from(count).unwrap_or(u32::MAX), record),
        };
        if count == 0 {
            excluded.push((ranked, REASON_NO_OVERLAP));
        } else if record.truth_status == TruthStatus::Retracted {
            excluded.push((ranked, REASON_RETRACTED));
        } else if view.is_superseded(record.memory_version_id) {
            excluded.push((ranked, REASON_SUPERSEDED));
        } else {
            selected.push(ranked);
        }
    }
    sort_ranked(&mut selected);

    let matched = selected.len();
    let limit = query.limit().map_or(usize::MAX, |limit| {
        usize::try_from(limit).unwrap_or(usize::MAX)
    });
    let beyond = if selected.len() > limit {
        selected.split_off(limit)
    } else {
        Vec::new()
    };
    let excluded_summary = if summary_mode {
        let mut counts = BTreeMap::new();
        let no_overlap = no_overlap.saturating_add(set.unlisted_without_overlap);
        let beyond = u64::try_from(beyond.len()).unwrap_or(u64::MAX);
        for (reason, count) in [
            (REASON_NO_OVERLAP, no_overlap),
            (REASON_BEYOND_LIMIT, beyond),
        ] {
            if count > 0 {
                counts.insert(reason.to_owned(), count);
            }
        }
        Some(counts)
    } else {
        excluded.extend(
            beyond
                .into_iter()
                .map(|ranked| (ranked, REASON_BEYOND_LIMIT)),
        );
        None
    };

    let term_count = query.terms().len();
    let selected_items = selected_items(&selected, &view, false, |ranked| {
        let found = matcher.matched(ranked.record).join(", ");
        format!(
            "lexical overlap: {} of {term_count} query terms ({found})",
            ranked.key.primary
        )
    });

    let package_query = PackageQuery {
        text: query.text().to_owned(),
        actor: None,
        action: None,
        resource: None,
        record_types: Some(query.record_types().to_vec()),
        as_of,
        limit: query.limit(),
        exclusions: summary_mode.then_some(ExclusionMode::Summary),
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
        answer: answer(matched, selected.len()),
        ordering_trace: ordering_trace(&selected, "lexical_match_count"),
        selected_items,
        excluded_items: excluded_items(excluded),
        excluded_summary,
    }
}

/// `answer.why` when nothing matched.
pub const WHY_NO_MATCH: &str = "No records matched the query terms";

/// The recall answer: `selected` with how many records matched (and how many the limit kept),
/// or `none`.
fn answer(matched: usize, selected: usize) -> Answer {
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
    Answer { result, why }
}
