//! Determinism properties: input order never shows in a package, and the precedence
//! comparator is a total order.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;

use crate::support::{Rec, link, mid, ts, vid};
use memory_kernel_core::resolver::ordering::PrecedenceKey;
use memory_kernel_core::{
    AskQuery, Authority, Effect, ExclusionMode, LineageEdge, MemoryRecord, PackageBounds,
    RecallQuery, RecordSet, RecordType, Relation, TruthStatus, ask, recall,
};
use proptest::prelude::*;

const ACTORS: [&str; 3] = ["user", "admin", "*"];
const ACTIONS: [&str; 2] = ["use", "*"];
const WORDS: [&str; 6] = ["deploy", "friday", "release", "usb", "lunch", "backup"];
const CONFIDENCES: [Option<f64>; 4] = [None, Some(0.5), Some(0.9), Some(0.0)];

fn truth() -> impl Strategy<Value = TruthStatus> {
    prop::sample::select(TruthStatus::ALL.to_vec())
}

fn authority() -> impl Strategy<Value = Authority> {
    prop::sample::select(Authority::ALL.to_vec())
}

/// The fields of a record other than its ids, from small domains.
type Template = (
    usize,
    TruthStatus,
    Authority,
    usize,
    i64,
    i64,
    u128,
    Vec<&'static str>,
    (usize, usize, bool),
);

fn template() -> impl Strategy<Value = Template> {
    (
        0..5_usize,
        truth(),
        authority(),
        0..CONFIDENCES.len(),
        0..4_i64,
        0..4_i64,
        0..3_u128,
        prop::sample::subsequence(WORDS.to_vec(), 1..=3),
        (0..ACTORS.len(), 0..ACTIONS.len(), any::<bool>()),
    )
}

fn record(id: u128, template: &Template) -> MemoryRecord {
    let (kind, truth, authority, conf, created, effective, memory, words, scope) = template;
    let rec = if *kind == 0 {
        let effect = if scope.2 { Effect::Allow } else { Effect::Deny };
        Rec::constraint(id, ACTORS[scope.0], ACTIONS[scope.1], "usb", effect).note(&words.join(" "))
    } else {
        Rec::summary(id, RecordType::ALL[*kind], &words.join(" "))
    };
    let mut rec = rec
        .truth(*truth)
        .authority(*authority)
        .created(*created)
        .effective(*effective)
        .memory(*memory);
    match (CONFIDENCES[*conf], truth.requires_confidence()) {
        (Some(value), _) => rec = rec.confidence(value),
        (None, true) => rec = rec.confidence(0.3),
        (None, false) => {}
    }
    rec.build()
}

/// Up to 12 records with distinct version ids, each a copy of one of up to 4 templates (so
/// records that differ only in their ids are common), and links among them.
fn record_set() -> impl Strategy<Value = (Vec<MemoryRecord>, Vec<LineageEdge>)> {
    (1..12_u128).prop_flat_map(|n| {
        let templates = prop::collection::vec(template(), 1..4);
        let choices = prop::collection::vec(any::<prop::sample::Index>(), n as usize);
        let links = prop::collection::vec((1..=n, 1..=n, any::<bool>(), 0..5_i64), 0..8);
        (templates, choices, links).prop_map(|(templates, choices, links)| {
            let records: Vec<_> = choices
                .iter()
                .zip(1..)
                .map(|(choice, id)| record(id, choice.get(&templates)))
                .collect();
            let links: Vec<_> = links
                .into_iter()
                .filter(|(from, to, _, _)| from != to)
                .map(|(from, to, supersedes, at)| {
                    let relation = if supersedes {
                        Relation::Supersedes
                    } else {
                        Relation::Contradicts
                    };
                    link(from, to, relation, at)
                })
                .collect();
            let set = RecordSet::from_records_and_links(records, &links);
            (set.records, set.edges)
        })
    })
}

fn shuffled() -> impl Strategy<Value = ((Vec<MemoryRecord>, Vec<LineageEdge>), RecordSet, i64)> {
    record_set().prop_flat_map(|(records, edges)| {
        let permuted = (
            Just(records.clone()).prop_shuffle(),
            Just(edges.clone()).prop_shuffle(),
        )
            .prop_map(|(records, edges)| RecordSet {
                records,
                edges,
                unlisted_without_overlap: 0,
            });
        (Just((records, edges)), permuted, 0..6_i64)
    })
}

fn key() -> impl Strategy<Value = PrecedenceKey> {
    (
        0..3_u32,
        0..3_u8,
        0..5_u8,
        prop::sample::select(vec![0.0_f32, 0.3, 0.5, 1.0]),
        0..3_i64,
        0..3_i64,
        0..3_u128,
        0..3_u128,
    )
        .prop_map(|(primary, a, t, confidence, e, c, m, v)| PrecedenceKey {
            primary,
            authority_rank: a,
            truth_status_rank: t,
            confidence,
            effective_at: ts(e),
            created_at: ts(c),
            memory_id: mid(m),
            memory_version_id: vid(v),
        })
}

/// `base` with its fields from position `shared` on taken from `fresh`: keys that tie on a
/// prefix of the order, so every tie-break level gets exercised.
fn sharing_prefix(base: &PrecedenceKey, fresh: &PrecedenceKey, shared: usize) -> PrecedenceKey {
    let mut key = *fresh;
    let copy = |level: usize| shared > level;
    if copy(0) {
        key.primary = base.primary;
    }
    if copy(1) {
        key.authority_rank = base.authority_rank;
    }
    if copy(2) {
        key.truth_status_rank = base.truth_status_rank;
    }
    if copy(3) {
        key.confidence = base.confidence;
    }
    if copy(4) {
        key.effective_at = base.effective_at;
    }
    if copy(5) {
        key.created_at = base.created_at;
    }
    if copy(6) {
        key.memory_id = base.memory_id;
    }
    if copy(7) {
        key.memory_version_id = base.memory_version_id;
    }
    key
}

/// Three keys, each sharing a random-length prefix with the first.
fn related_keys() -> impl Strategy<Value = [PrecedenceKey; 3]> {
    (key(), key(), key(), 0..=8_usize, 0..=8_usize)
        .prop_map(|(a, b, c, kb, kc)| [a, sharing_prefix(&a, &b, kb), sharing_prefix(&a, &c, kc)])
}

fn identical(a: &PrecedenceKey, b: &PrecedenceKey) -> bool {
    a.primary == b.primary
        && a.authority_rank == b.authority_rank
        && a.truth_status_rank == b.truth_status_rank
        && a.confidence.to_bits() == b.confidence.to_bits()
        && a.effective_at == b.effective_at
        && a.created_at == b.created_at
        && a.memory_id == b.memory_id
        && a.memory_version_id == b.memory_version_id
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ask_ignores_input_order(((records, edges), permuted, as_of) in shuffled()) {
        let original = RecordSet { records, edges, unlisted_without_overlap: 0 };
        let query = AskQuery::from_triple("may i?", "user", "use", "usb", ts(as_of)).unwrap();
        prop_assert_eq!(
            ask(&original, &query).to_canonical_json(),
            ask(&permuted, &query).to_canonical_json()
        );
    }

    #[test]
    fn recall_ignores_input_order(
        ((records, edges), permuted, as_of) in shuffled(),
        mode in prop::sample::select(ExclusionMode::ALL.to_vec()),
        limit in prop::option::of(1..4_u32),
    ) {
        let original = RecordSet { records, edges, unlisted_without_overlap: 0 };
        let mut query = RecallQuery::new("deploy friday usb", ts(as_of))
            .unwrap()
            .with_record_types(RecordType::ALL.iter().copied())
            .unwrap();
        query = query.with_exclusions(mode);
        if let Some(limit) = limit {
            query = query.with_limit(limit).unwrap();
        }
        prop_assert_eq!(
            recall(&original, &query).to_canonical_json(),
            recall(&permuted, &query).to_canonical_json()
        );
    }

    #[test]
    fn comparator_is_antisymmetric_and_equal_only_when_identical([a, b, _] in related_keys()) {
        prop_assert_eq!(a.precedence(&b), b.precedence(&a).reverse());
        prop_assert_eq!(a.precedence(&b) == Ordering::Equal, identical(&a, &b));
    }

    #[test]
    fn comparator_is_transitive([a, b, c] in related_keys()) {
        let le = |x: &PrecedenceKey, y: &PrecedenceKey| x.precedence(y) != Ordering::Greater;
        if le(&a, &b) && le(&b, &c) {
            prop_assert!(le(&a, &c));
        }
        if a.precedence(&b) == Ordering::Less && b.precedence(&c) == Ordering::Less {
            prop_assert_eq!(a.precedence(&c), Ordering::Less);
        }
    }
}

proptest! {
    #[test]
    fn term_matcher_agrees_with_term_intersection(
        query_text in "[a-zA-Z_ .!é会议-]{0,30}",
        record_text in "[a-zA-Z_ .!é会议-]{1,40}",
    ) {
        let query_terms = memory_kernel_core::terms::terms(&query_text);
        prop_assume!(!record_text.trim().is_empty());
        let record = Rec::summary(1, RecordType::Event, &record_text).build();
        let expected: Vec<String> = memory_kernel_core::terms::record_terms(&record)
            .into_iter()
            .filter(|term| query_terms.contains(term))
            .collect();
        let matcher = memory_kernel_core::terms::TermMatcher::new(&query_terms);
        prop_assert_eq!(matcher.count(&record), expected.len());
        prop_assert_eq!(matcher.matched(&record), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Recall keeps only the entries a page can show; any page must equal the same slice of
    /// the whole exclusion list (a page as large as every record keeps everything), and the
    /// selection and counts must not depend on the page asked for.
    #[test]
    fn a_recall_page_is_the_slice_of_the_whole_list(
        (records, edges) in record_set(),
        as_of in 0..5_i64,
        mode in prop::sample::select(vec![ExclusionMode::Nearest, ExclusionMode::Full]),
        limit in 1..4_u32,
        offset in 0..8_u32,
        size in 0..5_u32,
    ) {
        let set = RecordSet { records, edges, unlisted_without_overlap: 0 };
        let query = |offset: u32, size: u32| {
            RecallQuery::new("deploy friday usb", ts(as_of))
                .unwrap()
                .with_record_types(RecordType::ALL.iter().copied())
                .unwrap()
                .with_exclusions(mode)
                .with_bounds(PackageBounds::new(Some(limit), Some(size), Some(offset)).unwrap())
        };
        let whole = recall(&set, &query(0, 1000));
        let page = recall(&set, &query(offset, size));
        prop_assert_eq!(&page.selected_items, &whole.selected_items);
        prop_assert_eq!(&page.answer, &whole.answer);
        let start = (offset as usize).min(whole.excluded_items.len());
        let end = (start + size as usize).min(whole.excluded_items.len());
        prop_assert_eq!(&page.excluded_items[..], &whole.excluded_items[start..end]);
    }
}
