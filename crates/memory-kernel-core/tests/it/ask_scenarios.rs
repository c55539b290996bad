//! Policy `ask` scenarios (docs/spec/resolver.md, §12).

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{self, Rec, ids, link, vid};
use memory_kernel_core::package::AnswerResult;
use memory_kernel_core::resolver::{
    REASON_RETRACTED, REASON_SUPERSEDED, WHY_ALLOW, WHY_CONFLICT, WHY_CONTRADICTION, WHY_DENY,
    WHY_NONE, snapshot_id,
};
use memory_kernel_core::{
    AskQuery, Authority, ContextPackage, Effect, Link, MemoryRecord, RecordSet, Relation,
    TruthStatus, ValidationError, ask,
};

fn ask_at(records: Vec<MemoryRecord>, links: &[Link], as_of: i64) -> ContextPackage {
    let set = RecordSet::from_records_and_links(records, links);
    let query = AskQuery::from_triple(
        "may the user use a usb drive?",
        " User ",
        "USE",
        "usb_drive",
        support::ts(as_of),
    )
    .unwrap();
    ask(&set, &query)
}

fn ask_usb(records: Vec<MemoryRecord>) -> ContextPackage {
    ask_at(records, &[], 100)
}

fn usb(id: u128, effect: Effect) -> Rec {
    Rec::constraint(id, "user", "use", "usb_drive", effect)
}

#[test]
fn deny_only_denies() {
    let package = ask_usb(vec![usb(1, Effect::Deny).build()]);
    assert_eq!(package.answer.result, AnswerResult::Deny);
    assert_eq!(package.answer.why, WHY_DENY);
    assert_eq!(ids(&package.selected_items), [vid(1)]);
    assert_eq!(
        package.selected_items[0].why.reasons,
        [
            "scope matches (specificity 3 of 3)",
            "truth_status asserted is active",
            "no visible record supersedes it"
        ]
    );
}

#[test]
fn allow_only_allows() {
    let package = ask_usb(vec![usb(1, Effect::Allow).build()]);
    assert_eq!(package.answer.result, AnswerResult::Allow);
    assert_eq!(package.answer.why, WHY_ALLOW);
}

#[test]
fn allow_and_deny_at_top_precedence_is_inconclusive() {
    let package = ask_usb(vec![
        usb(1, Effect::Allow).build(),
        usb(2, Effect::Deny).at(5).build(),
    ]);
    assert_eq!(package.answer.result, AnswerResult::Inconclusive);
    assert_eq!(package.answer.why, WHY_CONFLICT);
}

#[test]
fn lower_precedence_disagreement_does_not_matter() {
    let package = ask_usb(vec![
        usb(1, Effect::Allow).build(),
        usb(2, Effect::Deny).authority(Authority::Note).build(),
    ]);
    assert_eq!(package.answer.result, AnswerResult::Allow);
}

#[test]
fn nothing_matching_is_inconclusive() {
    let package = ask_usb(vec![
        Rec::constraint(1, "admin", "use", "usb_drive", Effect::Deny).build(),
        Rec::summary(
            2,
            memory_kernel_core::RecordType::Decision,
            "user use usb_drive",
        )
        .build(),
    ]);
    assert_eq!(package.answer.result, AnswerResult::Inconclusive);
    assert_eq!(package.answer.why, WHY_NONE);
    assert!(package.selected_items.is_empty());
    assert!(
        package.excluded_items.is_empty(),
        "non-matching scopes are not listed"
    );
}

#[test]
fn retracted_and_superseded_are_excluded_with_exact_reasons() {
    let package = ask_at(
        vec![
            usb(1, Effect::Allow).truth(TruthStatus::Retracted).build(),
            usb(2, Effect::Allow).build(),
            usb(3, Effect::Deny).at(10).supersedes(2).build(),
            usb(4, Effect::Allow).build(),
            usb(5, Effect::Deny).at(10).build(),
            // Retracted and superseded: the retraction is checked first.
            usb(6, Effect::Allow).truth(TruthStatus::Retracted).build(),
        ],
        &[
            link(5, 4, Relation::Supersedes, 20),
            link(5, 6, Relation::Supersedes, 20),
        ],
        100,
    );
    assert_eq!(ids(&package.selected_items), [vid(3), vid(5)]);
    assert_eq!(package.answer.result, AnswerResult::Deny);
    let excluded: Vec<_> = package
        .excluded_items
        .iter()
        .map(|item| (item.memory_version_id, item.why.reasons.join("|")))
        .collect();
    assert_eq!(
        excluded,
        [
            (vid(2), REASON_SUPERSEDED.to_owned()),
            (vid(4), REASON_SUPERSEDED.to_owned()),
            (vid(1), REASON_RETRACTED.to_owned()),
            (vid(6), REASON_RETRACTED.to_owned()),
        ]
    );
    assert!(
        package
            .excluded_items
            .iter()
            .all(|item| !item.why.included && item.why.rule_scores.is_none())
    );
    assert_eq!(
        package
            .excluded_items
            .iter()
            .map(|i| i.rank)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn exact_scope_beats_wildcard_scope() {
    let package = ask_usb(vec![
        Rec::constraint(1, "*", "use", "*", Effect::Deny).build(),
        usb(2, Effect::Allow).build(),
    ]);
    assert_eq!(ids(&package.selected_items), [vid(2), vid(1)]);
    assert_eq!(package.answer.result, AnswerResult::Allow);
    assert_eq!(
        package.ordering_trace,
        ["rank 1 over rank 2: scope_specificity 3 > 1"]
    );
    let scores = package.selected_items[1].why.rule_scores.unwrap();
    assert_eq!(scores.scope_match, Some(1));
    assert_eq!(scores.lexical_match_count, None);
}

/// One row per tie-break level: the first record must rank above the second, and the trace
/// must name the level.
#[test]
fn every_tie_break_level_orders_selected_items() {
    let rows: Vec<(&str, Rec, Rec)> = vec![
        (
            "scope_specificity 3 > 2",
            usb(2, Effect::Deny),
            Rec::constraint(1, "user", "*", "usb_drive", Effect::Deny),
        ),
        (
            "authority_rank 2 > 1",
            usb(2, Effect::Deny),
            usb(1, Effect::Deny).authority(Authority::Derived),
        ),
        (
            "truth_status_rank 4 > 3",
            usb(2, Effect::Deny).truth(TruthStatus::Observed),
            usb(1, Effect::Deny),
        ),
        (
            "confidence 0.9 > 0.5",
            usb(2, Effect::Deny).confidence(0.9),
            usb(1, Effect::Deny),
        ),
        (
            "confidence 0.5 > 0.4",
            usb(2, Effect::Deny),
            usb(1, Effect::Deny).confidence(0.4),
        ),
        (
            "effective_at",
            usb(2, Effect::Deny).effective(9),
            usb(1, Effect::Deny).effective(8),
        ),
        (
            "created_at",
            usb(2, Effect::Deny).created(9),
            usb(1, Effect::Deny).created(8),
        ),
        (
            "memory_id",
            usb(2, Effect::Deny).memory(10),
            usb(1, Effect::Deny).memory(11),
        ),
        (
            "memory_version_id",
            usb(1, Effect::Deny).memory(10),
            usb(2, Effect::Deny).memory(10).version(2),
        ),
    ];
    for (level, first, second) in rows {
        let (first, second) = (first.build(), second.build());
        let expected = [first.memory_version_id, second.memory_version_id];
        for records in [
            vec![first.clone(), second.clone()],
            vec![second.clone(), first.clone()],
        ] {
            let package = ask_usb(records);
            assert_eq!(ids(&package.selected_items), expected, "{level}");
            assert!(
                package.ordering_trace[0].starts_with(&format!("rank 1 over rank 2: {level}")),
                "{level}: {:?}",
                package.ordering_trace
            );
        }
    }
}

#[test]
fn as_of_hides_later_records_and_later_links() {
    let records = vec![
        usb(1, Effect::Allow).build(),
        // Written after the question's instant.
        usb(2, Effect::Deny).at(200).build(),
        // Written before, but only in effect after.
        usb(3, Effect::Deny).created(10).effective(300).build(),
    ];
    let links = [link(2, 1, Relation::Supersedes, 200)];
    let early = ask_at(records.clone(), &links, 100);
    assert_eq!(ids(&early.selected_items), [vid(1)]);
    assert!(early.excluded_items.is_empty());
    assert_eq!(early.answer.result, AnswerResult::Allow);

    let late = ask_at(records.clone(), &links, 300);
    assert_eq!(ids(&late.selected_items), [vid(3), vid(2)]);
    assert_eq!(ids(&late.excluded_items), [vid(1)]);

    // Unrelated later writes leave the early package byte-identical.
    let mut more = records;
    more.push(usb(9, Effect::Deny).at(500).build());
    let again = ask_at(more, &links, 100);
    assert_eq!(again.to_canonical_json(), early.to_canonical_json());
}

#[test]
fn supersedes_link_written_after_as_of_does_not_exclude() {
    let records = vec![usb(1, Effect::Allow).build(), usb(2, Effect::Deny).build()];
    let links = [link(2, 1, Relation::Supersedes, 150)];
    let before = ask_at(records.clone(), &links, 100);
    assert_eq!(ids(&before.selected_items), [vid(1), vid(2)]);
    let after = ask_at(records, &links, 150);
    assert_eq!(ids(&after.selected_items), [vid(2)]);
    assert_ne!(
        before.determinism.snapshot_id,
        after.determinism.snapshot_id
    );
}

#[test]
fn contradiction_in_top_group_is_inconclusive_and_flagged() {
    let package = ask_usb(vec![
        usb(1, Effect::Deny).build(),
        usb(2, Effect::Deny).contradicts(1).build(),
    ]);
    assert_eq!(package.answer.result, AnswerResult::Inconclusive);
    assert_eq!(package.answer.why, WHY_CONTRADICTION);
    let flagged: Vec<_> = package
        .selected_items
        .iter()
        .map(|item| item.why.reasons.last().unwrap().clone())
        .collect();
    assert_eq!(
        flagged,
        [
            format!("contradicted by {}", vid(2)),
            format!("contradicted by {}", vid(1))
        ]
    );
}

#[test]
fn contradiction_below_the_top_group_is_flagged_only() {
    let package = ask_at(
        vec![
            usb(1, Effect::Deny).build(),
            usb(2, Effect::Deny).authority(Authority::Note).build(),
            usb(3, Effect::Deny).authority(Authority::Note).build(),
        ],
        &[link(3, 2, Relation::Contradicts, 1)],
        100,
    );
    assert_eq!(package.answer.result, AnswerResult::Deny);
    let last = package.selected_items[2].why.reasons.last().unwrap();
    assert_eq!(last, &format!("contradicted by {}", vid(2)));
}

#[test]
fn wildcard_in_query_is_refused() {
    let refused = AskQuery::from_triple("?", "user", "use", " * ", support::ts(0));
    assert_eq!(
        refused,
        Err(ValidationError::WildcardInQuery { field: "resource" })
    );
    let json = r#"{"text":"?","scope":{"actor":"*","action":"use","resource":"x"},"as_of":"2026-01-01T00:00:00Z"}"#;
    assert!(serde_json::from_str::<AskQuery>(json).is_err());
    let ok = AskQuery::from_triple("?", "User", "use", "x", support::ts(0)).unwrap();
    let again: AskQuery = serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(again, ok);
}

#[test]
fn package_is_reproducible_and_round_trips() {
    let records = vec![
        usb(1, Effect::Deny)
            .confidence(0.9)
            .truth(TruthStatus::Inferred)
            .build(),
        Rec::constraint(2, "*", "*", "*", Effect::Allow)
            .note("default allow")
            .build(),
    ];
    let first = ask_usb(records.clone());
    let set = RecordSet::from_records_and_links(records.clone(), &[]);
    assert_eq!(
        first.determinism.snapshot_id,
        snapshot_id(&set, support::ts(100))
    );
    let second = ask_usb(records);
    let json = first.to_canonical_json();
    assert_eq!(json, second.to_canonical_json());
    assert!(first.context_package_id.starts_with("cp_"));
    assert_eq!(first.context_package_id.len(), 35);
    assert!(json.contains(r#""confidence":0.9"#), "{json}");
    assert_eq!(first.generated_at, first.query.as_of);
    assert_eq!(first.query.actor.as_deref(), Some("user"));
    let back: ContextPackage = serde_json::from_str(&json).unwrap();
    assert_eq!(back, first);
    assert_eq!(back.to_canonical_json(), json);
    let keys: Vec<&str> = [
        "context_package_id",
        "generated_at",
        "query",
        "determinism",
        "answer",
        "selected_items",
        "excluded_items",
        "ordering_trace",
    ]
    .to_vec();
    let positions: Vec<usize> = keys
        .iter()
        .map(|key| json.find(&format!(r#""{key}":"#)).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
}
