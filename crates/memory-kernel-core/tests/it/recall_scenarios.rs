//! `recall` scenarios (docs/spec/resolver.md).

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use crate::support::{Rec, ids, ts, vid};
use memory_kernel_core::package::AnswerResult;
use memory_kernel_core::resolver::{
    DEFAULT_EXCLUSION_LIMIT, DEFAULT_LIMIT, MAX_EXCLUSION_LIMIT, MAX_LIMIT, MAX_TRACE_LINES,
    PackageBounds, REASON_BEYOND_LIMIT, REASON_NO_OVERLAP, REASON_RETRACTED, REASON_SUPERSEDED,
    WHY_NO_MATCH,
};
use memory_kernel_core::{
    ContextPackage, Effect, ExclusionMode, MemoryRecord, RecallQuery, RecordSet, RecordType,
    TruthStatus, recall,
};

fn decision(id: u128, text: &str) -> Rec {
    Rec::summary(id, RecordType::Decision, text)
}

fn run(records: Vec<MemoryRecord>, query: &RecallQuery) -> ContextPackage {
    recall(&RecordSet::from_records_and_links(records, &[]), query)
}

fn query(text: &str) -> RecallQuery {
    RecallQuery::new(text, ts(100)).unwrap()
}

fn reasons(package: &ContextPackage) -> Vec<(memory_kernel_core::MemoryVersionId, String)> {
    package
        .excluded_items
        .iter()
        .map(|item| (item.memory_version_id, item.why.reasons.join("|")))
        .collect()
}

#[test]
fn more_matching_terms_rank_first() {
    let package = run(
        vec![
            decision(1, "deploy on friday").build(),
            decision(2, "Deploy the release on Friday afternoon").build(),
            decision(3, "release notes are due").build(),
        ],
        &query("deploy release friday"),
    );
    assert_eq!(ids(&package.selected_items), [vid(2), vid(1), vid(3)]);
    assert_eq!(package.ordering_trace.len(), 2);
    assert!(
        package.ordering_trace[0].starts_with("rank 1 over rank 2: relevance "),
        "{:?}",
        package.ordering_trace
    );
    assert_eq!(
        package.selected_items[1].why.reasons[0],
        "lexical overlap: 2 of 3 query terms (deploy, friday)"
    );
    let scores = package.selected_items[0].why.rule_scores.unwrap();
    assert_eq!(scores.lexical_match_count, Some(3));
    assert!(scores.relevance.unwrap() > 0.0);
    assert_eq!(scores.scope_match, None);
    assert_eq!(package.answer.result, AnswerResult::Selected);
    assert_eq!(package.answer.why, "3 records matched the query terms");
    assert_eq!(package.determinism.ruleset_version, "recall-ordering.v2");
    assert_eq!(package.determinism.tie_breakers[0], "relevance desc");
}

#[test]
fn records_without_overlap_are_excluded() {
    let package = run(
        vec![
            decision(1, "deploy on friday").build(),
            decision(2, "lunch is at noon").build(),
        ],
        &query("deploy"),
    );
    assert_eq!(ids(&package.selected_items), [vid(1)]);
    // Not a near miss: counted, not listed, unless the full list is asked for.
    assert!(package.excluded_items.is_empty());
    let counted: BTreeMap<String, u64> = [(REASON_NO_OVERLAP.to_owned(), 1)].into();
    assert_eq!(package.answer.excluded_summary, counted);
    assert_eq!(package.answer.why, "1 record matched the query terms");
    let full = run(
        vec![
            decision(1, "deploy on friday").build(),
            decision(2, "lunch is at noon").build(),
        ],
        &query("deploy").with_exclusions(ExclusionMode::Full),
    );
    assert_eq!(reasons(&full), [(vid(2), REASON_NO_OVERLAP.to_owned())]);
    assert_eq!(full.answer.excluded_summary, counted);
}

#[test]
fn nothing_matching_answers_none() {
    let package = run(vec![decision(1, "lunch").build()], &query("deploy"));
    assert_eq!(package.answer.result, AnswerResult::NoneSelected);
    assert_eq!(package.answer.why, WHY_NO_MATCH);
    assert!(package.to_canonical_json().contains(r#""result":"none""#));
}

#[test]
fn overlap_is_checked_before_retraction_and_supersession() {
    let package = run(
        vec![
            decision(1, "deploy").truth(TruthStatus::Retracted).build(),
            decision(2, "lunch").truth(TruthStatus::Retracted).build(),
            decision(3, "deploy again").at(5).supersedes(4).build(),
            decision(4, "deploy first").build(),
        ],
        &query("deploy").with_exclusions(ExclusionMode::Full),
    );
    assert_eq!(ids(&package.selected_items), [vid(3)]);
    // The shorter text is the more relevant; records sharing no term come last.
    assert_eq!(
        reasons(&package),
        [
            (vid(1), REASON_RETRACTED.to_owned()),
            (vid(4), REASON_SUPERSEDED.to_owned()),
            (vid(2), REASON_NO_OVERLAP.to_owned()),
        ]
    );
}

#[test]
fn limit_excludes_the_rest() {
    let records = (1..=5)
        .map(|id| {
            decision(id, "deploy")
                .at(i64::try_from(id).unwrap())
                .build()
        })
        .collect();
    let package = run(records, &query("deploy").with_limit(2).unwrap());
    assert_eq!(ids(&package.selected_items), [vid(5), vid(4)]);
    assert_eq!(
        reasons(&package),
        [3, 2, 1].map(|id| (vid(id), REASON_BEYOND_LIMIT.to_owned()))
    );
    assert_eq!(
        package.answer.why,
        "5 records matched the query terms; 2 selected within the limit"
    );
    assert_eq!(package.query.limit, Some(2));
}

fn mixed_set() -> RecordSet {
    let mut set = RecordSet::from_records_and_links(
        vec![
            decision(1, "deploy friday").build(),
            decision(2, "deploy").build(),
            decision(3, "deploy").at(1).build(),
            decision(4, "deploy").truth(TruthStatus::Retracted).build(),
            decision(5, "deploy").at(2).supersedes(3).build(),
            decision(6, "lunch").build(),
        ],
        &[],
    );
    set.unlisted_without_overlap = 10;
    set
}

#[test]
fn every_exclusion_is_counted_and_the_near_misses_are_listed() {
    let set = mixed_set();
    let query = query("deploy friday").with_limit(2).unwrap();
    let package = recall(&set, &query);
    assert_eq!(ids(&package.selected_items), [vid(1), vid(5)]);
    assert_eq!(
        reasons(&package),
        [
            (vid(3), REASON_SUPERSEDED.to_owned()),
            (vid(2), REASON_BEYOND_LIMIT.to_owned()),
            (vid(4), REASON_RETRACTED.to_owned()),
        ]
    );
    let expected: BTreeMap<String, u64> = [
        (REASON_BEYOND_LIMIT.to_owned(), 1),
        (REASON_NO_OVERLAP.to_owned(), 11),
        (REASON_RETRACTED.to_owned(), 1),
        (REASON_SUPERSEDED.to_owned(), 1),
    ]
    .into();
    assert_eq!(package.answer.excluded_summary, expected);
    assert_eq!(package.query.exclusions, Some(ExclusionMode::Nearest));
    assert!(package.to_canonical_json().contains(
        r#""excluded_summary":{"beyond requested limit":1,"no lexical overlap with query text":11,"#
    ));
    // The store's count is part of the snapshot: a different count is a different snapshot.
    let mut other = set.clone();
    other.unlisted_without_overlap = 11;
    assert_ne!(
        recall(&other, &query).determinism.snapshot_id,
        package.determinism.snapshot_id
    );

    let summary = recall(&set, &query.clone().with_exclusions(ExclusionMode::Summary));
    assert!(summary.excluded_items.is_empty());
    assert_eq!(summary.answer.excluded_summary, expected);
}

#[test]
fn exclusions_are_paged_with_ranks_in_the_whole_list() {
    let set = mixed_set();
    let base = query("deploy friday").with_limit(2).unwrap();
    let page = |offset, limit| {
        let bounds = PackageBounds::new(Some(2), Some(limit), Some(offset)).unwrap();
        recall(&set, &base.clone().with_bounds(bounds))
    };
    let whole = page(0, 10);
    let first = page(0, 2);
    let second = page(2, 2);
    let past = page(9, 2);
    assert_eq!(first.excluded_items, whole.excluded_items[..2]);
    assert_eq!(second.excluded_items, whole.excluded_items[2..]);
    assert_eq!(second.excluded_items[0].rank, 3);
    assert!(past.excluded_items.is_empty());
    assert_eq!(first.answer.excluded_summary, whole.answer.excluded_summary);
    assert_ne!(first.context_package_id, second.context_package_id);
    assert_eq!(second.query.exclusion_offset, Some(2));
}

#[test]
fn bounds_are_checked() {
    assert!(PackageBounds::new(Some(MAX_LIMIT), Some(MAX_EXCLUSION_LIMIT), Some(u32::MAX)).is_ok());
    for (limit, exclusion_limit) in [(0, 1), (MAX_LIMIT + 1, 1), (1, MAX_EXCLUSION_LIMIT + 1)] {
        assert!(PackageBounds::new(Some(limit), Some(exclusion_limit), None).is_err());
    }
    let defaults = PackageBounds::new(None, None, None).unwrap();
    assert_eq!(defaults.limit(), DEFAULT_LIMIT);
    assert_eq!(defaults.exclusion_limit(), DEFAULT_EXCLUSION_LIMIT);
}

#[test]
fn the_trace_covers_only_the_first_items() {
    let records = (1..=40)
        .map(|id| {
            decision(id, "deploy")
                .at(i64::try_from(id).unwrap())
                .build()
        })
        .collect();
    let package = run(records, &query("deploy").with_limit(30).unwrap());
    assert_eq!(package.selected_items.len(), 30);
    assert_eq!(package.ordering_trace.len(), MAX_TRACE_LINES);
}

#[test]
fn record_types_filter_candidates() {
    let records = vec![
        decision(1, "deploy").build(),
        Rec::summary(2, RecordType::Event, "deploy happened").build(),
        Rec::summary(3, RecordType::Outcome, "deploy failed").build(),
        Rec::constraint(4, "ci", "deploy", "prod", Effect::Deny).build(),
    ];
    let default = run(records.clone(), &query("deploy"));
    assert_eq!(ids(&default.selected_items), [vid(1), vid(2), vid(3)]);

    let only = query("deploy")
        .with_record_types([
            RecordType::Outcome,
            RecordType::Constraint,
            RecordType::Outcome,
        ])
        .unwrap();
    assert_eq!(
        only.record_types(),
        [RecordType::Constraint, RecordType::Outcome]
    );
    let package = run(records, &only);
    assert_eq!(ids(&package.selected_items), [vid(3), vid(4)]);
    assert!(package.excluded_items.is_empty());
    assert_eq!(
        package.query.record_types.as_deref(),
        Some(&[RecordType::Constraint, RecordType::Outcome][..])
    );
}

#[test]
fn recall_query_deserializes_through_validation() {
    let ok: RecallQuery = serde_json::from_str(
        r#"{"text":"Deploy!","as_of":"2026-01-01T00:00:00Z","limit":3,"exclusions":"summary"}"#,
    )
    .unwrap();
    assert_eq!(ok.terms(), ["deploy"]);
    assert_eq!(ok.limit(), 3);
    assert_eq!(ok.exclusions(), ExclusionMode::Summary);
    assert_eq!(ok.record_types().len(), 4);
    let again: RecallQuery = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(again, ok);
    for bad in [
        r#"{"text":"!","as_of":"2026-01-01T00:00:00Z"}"#,
        r#"{"text":"deploy","as_of":"2026-01-01T00:00:00Z","limit":0}"#,
        r#"{"text":"deploy","as_of":"2026-01-01T00:00:00Z","record_types":[]}"#,
        r#"{"text":"deploy","as_of":"2026-01-01T00:00:00+01:00"}"#,
    ] {
        assert!(serde_json::from_str::<RecallQuery>(bad).is_err(), "{bad}");
    }
}

#[test]
fn recall_package_round_trips_byte_identically() {
    let package = run(
        vec![
            decision(1, "deploy").confidence(0.7).build(),
            decision(2, "deploy").truth(TruthStatus::Retracted).build(),
        ],
        &query("deploy").with_exclusions(ExclusionMode::Summary),
    );
    let json = package.to_canonical_json();
    let back: ContextPackage = serde_json::from_str(&json).unwrap();
    assert_eq!(back.to_canonical_json(), json);
}
