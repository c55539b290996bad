//! A small labelled relevance set for recall: queries in three scripts (Latin with accents,
//! Han, Kana) over records with distractors, each with the records a reader expects in the
//! top ten. `recall@10` is the share of expected records that the first ten selected items
//! hold; `docs/testing/performance.md` records it for each ruleset.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{Rec, ts, vid};
use memory_kernel_core::{
    Authority, MemoryRecord, RecallQuery, RecordSet, RecordType, recall, resolver::PackageBounds,
};

/// Records a query should find, by id, and the texts of every record.
const CORPUS: &[(u128, &str)] = &[
    (1, "Use Postgres for the billing service"),
    (2, "Postgres replicas serve the reporting queries"),
    (3, "Migrate the billing database to Postgres before March"),
    (4, "The café on the second floor opens at eight"),
    (5, "Team lunch moves to the Café Central on Fridays"),
    (6, "Zürich office hosts the quarterly review"),
    (7, "Die Besprechung in Zürich beginnt um neun"),
    (8, "明天的会议改到下午三点"),
    (9, "会议室需要新的投影仪"),
    (10, "数据库迁移计划已经批准"),
    (11, "データベースの移行は来週です"),
    (12, "東京オフィスの会議は月曜日"),
    (13, "Réunion budgétaire reportée à jeudi"),
    (14, "La réunion d'équipe a lieu le lundi"),
];

/// Query, expected record ids.
const QUERIES: &[(&str, &[u128])] = &[
    ("postgres plan", &[1, 2, 3]),
    ("billing postgres", &[1, 3]),
    ("cafe", &[4, 5]),
    ("zurich", &[6, 7]),
    ("会议", &[8, 9]),
    ("数据库迁移", &[10]),
    ("データベース", &[11]),
    ("会議", &[12]),
    ("reunion", &[13, 14]),
    ("budgetaire", &[13]),
];

/// Forty authoritative records that share the common words of the queries ("plan", "the",
/// "team", "office", "meeting") but none of their distinctive ones.
fn distractors() -> Vec<MemoryRecord> {
    (0..40u128)
        .map(|i| {
            let text = match i % 4 {
                0 => "The plan for the team offsite",
                1 => "Plan the office move with the team",
                2 => "The meeting plan is shared with the office",
                _ => "Team plan review for the quarter",
            };
            Rec::summary(1_000 + i, RecordType::Decision, text)
                .authority(Authority::Authoritative)
                .build()
        })
        .collect()
}

fn corpus() -> RecordSet {
    let mut records: Vec<MemoryRecord> = CORPUS
        .iter()
        .map(|(id, text)| {
            Rec::summary(*id, RecordType::Event, text)
                .authority(Authority::Note)
                .build()
        })
        .collect();
    records.extend(distractors());
    RecordSet::from_records_and_links(records, &[])
}

/// The mean recall@10 over the set, and the queries that missed an expected record.
fn recall_at_10() -> (f64, Vec<&'static str>) {
    let set = corpus();
    let mut total = 0.0;
    let mut missed = Vec::new();
    for (text, expected) in QUERIES {
        let bounds = PackageBounds::new(Some(10), None, None).unwrap();
        let found: Vec<_> = match RecallQuery::new(*text, ts(100)) {
            Ok(query) => recall(&set, &query.with_bounds(bounds))
                .selected_items
                .iter()
                .map(|item| item.memory_version_id)
                .collect(),
            Err(_) => Vec::new(),
        };
        let hits = expected
            .iter()
            .filter(|id| found.contains(&vid(**id)))
            .count();
        if hits < expected.len() {
            missed.push(*text);
        }
        total += hits as f64 / expected.len() as f64;
    }
    (total / QUERIES.len() as f64, missed)
}

#[test]
fn recall_at_10_over_three_scripts() {
    let (score, missed) = recall_at_10();
    println!("recall@10 = {score:.3} over {} queries", QUERIES.len());
    assert_eq!(score, 1.0, "missed: {missed:?}");
}

#[test]
fn a_rare_term_outranks_a_common_one() {
    let set = corpus();
    let query = RecallQuery::new("postgres plan", ts(100)).unwrap();
    let package = recall(&set, &query);
    let top: Vec<_> = package.selected_items[..3]
        .iter()
        .map(|item| item.memory_version_id)
        .collect();
    for id in [1, 2, 3] {
        assert!(top.contains(&vid(id)), "{top:?}");
    }
}
