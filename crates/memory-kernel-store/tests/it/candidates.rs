//! The candidate sets the resolvers consume: scope buckets for ask, term overlap for recall,
//! visibility at `as_of`, and the lineage edges touching the candidates. Every scenario runs
//! on each engine (see `support::engines`) and the engines must return the same sets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use crate::support::{RecordBuilder, link, migrated, same, ts};
use memory_kernel_core::{
    Effect, LineageEdge, MemoryRecord, MemoryVersionId, RecordSet, RecordType, Relation, Scope,
    TruthStatus, ValidationError, terms::terms,
};
use memory_kernel_store::StoreError;

fn ids(records: &[MemoryRecord]) -> BTreeSet<MemoryVersionId> {
    records.iter().map(|r| r.memory_version_id).collect()
}

/// A candidate set as the resolvers see it: records and edges may come in any order and an
/// edge may repeat, so both are sorted (and the edges deduplicated) before engines are compared.
fn contents(set: &RecordSet) -> (Vec<MemoryRecord>, BTreeSet<LineageEdge>, u64) {
    let mut records = set.records.clone();
    records.sort_by_key(|r| r.memory_version_id);
    let edges = set.edges.iter().cloned().collect();
    (records, edges, set.unlisted_without_overlap)
}

#[test]
fn ask_candidates_returns_the_wildcard_buckets_and_nothing_else() {
    let engines = migrated("ask_candidates_returns_the_wildcard_buckets_and_nothing_else");
    let mut expected = BTreeSet::new();
    let mut all = Vec::new();
    // Every combination of exact/wildcard per field matches; any other value does not.
    for actor in ["user", "*", "admin"] {
        for action in ["use", "*", "delete"] {
            for resource in ["usb_drive", "*", "printer"] {
                let record =
                    RecordBuilder::constraint(actor, action, resource, Effect::Allow).build();
                if actor != "admin" && action != "delete" && resource != "printer" {
                    expected.insert(record.memory_version_id);
                }
                all.push(record);
            }
        }
    }
    all.push(RecordBuilder::summary(RecordType::Decision, "user use usb_drive").build());
    assert_eq!(expected.len(), 8);
    let query = Scope::query("User", " use ", "USB_DRIVE").unwrap();
    let mut sets = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&all, None).unwrap();
        let set = store
            .ask_candidates(&query, ts("2026-06-01T00:00:00Z"))
            .unwrap();
        assert_eq!(ids(&set.records), expected, "{name}");
        assert!(set.edges.is_empty(), "{name}");
        assert_eq!(set.unlisted_without_overlap, 0, "{name}");
        sets.push((*name, contents(&set)));
    }
    same(&sets);
}

#[test]
fn ask_candidates_honour_as_of_and_carry_touching_edges() {
    let engines = migrated("ask_candidates_honour_as_of_and_carry_touching_edges");
    let old = RecordBuilder::constraint("user", "use", "disk", Effect::Allow)
        .at("2026-01-01T00:00:00Z")
        .build();
    let newer = RecordBuilder::constraint("user", "use", "disk", Effect::Deny)
        .at("2026-02-01T00:00:00Z")
        .supersedes(old.memory_version_id)
        .build();
    let pending = RecordBuilder::constraint("*", "use", "disk", Effect::Allow)
        .at("2026-01-01T00:00:00Z")
        .effective("2026-03-01T00:00:00Z")
        .build();
    let retracted = RecordBuilder::constraint("user", "*", "*", Effect::Deny)
        .truth(TruthStatus::Retracted)
        .build();
    let unrelated = RecordBuilder::constraint("robot", "use", "disk", Effect::Deny).build();
    let query = Scope::query("user", "use", "disk").unwrap();
    let mut sets = Vec::new();
    for (name, store) in &engines.stores {
        store
            .insert_records(
                &[
                    old.clone(),
                    newer.clone(),
                    pending.clone(),
                    retracted.clone(),
                    unrelated.clone(),
                ],
                None,
            )
            .unwrap();
        store
            .insert_link(
                &link(
                    unrelated.memory_version_id,
                    old.memory_version_id,
                    Relation::Contradicts,
                    "2026-04-01T00:00:00Z",
                ),
                None,
            )
            .unwrap();

        let january = store
            .ask_candidates(&query, ts("2026-01-15T00:00:00Z"))
            .unwrap();
        assert_eq!(
            ids(&january.records),
            ids(&[old.clone(), retracted.clone()]),
            "{name}"
        );
        assert!(
            january.edges.is_empty(),
            "{name}: the supersedes edge is not visible yet"
        );

        let february = store
            .ask_candidates(&query, ts("2026-02-15T00:00:00Z"))
            .unwrap();
        assert_eq!(
            ids(&february.records),
            ids(&[old.clone(), newer.clone(), retracted.clone()]),
            "{name}"
        );
        assert_eq!(february.edges.len(), 1, "{name}");
        assert_eq!(february.edges[0].to, old.memory_version_id, "{name}");
        assert_eq!(february.edges[0].relation, Relation::Supersedes, "{name}");

        let may = store
            .ask_candidates(&query, ts("2026-05-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            ids(&may.records),
            ids(&[
                old.clone(),
                newer.clone(),
                pending.clone(),
                retracted.clone()
            ]),
            "{name}"
        );
        assert_eq!(
            may.edges.len(),
            2,
            "{name}: the link from a non-candidate still touches a candidate"
        );
        assert!(
            may.edges
                .iter()
                .any(|e| e.from == unrelated.memory_version_id),
            "{name}"
        );
        // Ordered by created_at instant, then id.
        let created: Vec<_> = may
            .records
            .iter()
            .map(|r| (r.created_at, r.memory_version_id))
            .collect();
        let mut sorted = created.clone();
        sorted.sort();
        assert_eq!(created, sorted, "{name}");
        sets.push((
            *name,
            (
                contents(&january),
                contents(&february),
                contents(&may),
                created,
            ),
        ));
    }
    same(&sets);
}

#[test]
fn ask_candidates_refuse_a_wildcard_query() {
    let engines = migrated("ask_candidates_refuse_a_wildcard_query");
    let scope = Scope::new("*", "use", "disk").unwrap();
    for (name, store) in &engines.stores {
        let refused = store
            .ask_candidates(&scope, ts("2026-01-01T00:00:00Z"))
            .unwrap_err();
        assert!(
            matches!(
                refused,
                StoreError::Validation(ValidationError::WildcardInQuery { field: "actor" })
            ),
            "{name}: {refused:?}"
        );
    }
}

#[test]
fn recall_fetches_overlap_and_counts_the_rest() {
    let engines = migrated("recall_fetches_overlap_and_counts_the_rest");
    let hit = RecordBuilder::summary(RecordType::Decision, "Use the USB drive").build();
    let miss = RecordBuilder::summary(RecordType::Decision, "printer toner").build();
    let miss2 = RecordBuilder::summary(RecordType::Event, "lunch happened").build();
    let retracted_miss = RecordBuilder::summary(RecordType::Event, "coffee")
        .truth(TruthStatus::Retracted)
        .build();
    let superseded_miss = RecordBuilder::summary(RecordType::Outcome, "old plan").build();
    let successor = RecordBuilder::summary(RecordType::Outcome, "usb plan")
        .at("2026-01-02T00:00:00Z")
        .supersedes(superseded_miss.memory_version_id)
        .build();
    let other_type = RecordBuilder::summary(RecordType::Preference, "usb everywhere").build();
    let future = RecordBuilder::summary(RecordType::Decision, "usb later")
        .at("2027-01-01T00:00:00Z")
        .build();
    let constraint = RecordBuilder::constraint("user", "use", "usb", Effect::Allow).build();
    let all = [
        hit.clone(),
        miss,
        miss2,
        retracted_miss,
        superseded_miss.clone(),
        successor.clone(),
        other_type,
        future,
        constraint,
    ];
    let query = terms("usb drive");
    let types = [RecordType::Decision, RecordType::Event, RecordType::Outcome];
    let as_of = ts("2026-06-01T00:00:00Z");
    let mut sets = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&all, None).unwrap();
        let summary = store
            .recall_candidates(&query, &types, as_of, false)
            .unwrap();
        assert_eq!(
            ids(&summary.records),
            ids(&[hit.clone(), successor.clone()]),
            "{name}"
        );
        // Visible, of the asked types, without overlap: counted, not fetched, whatever their
        // status (miss, miss2, the retracted one and the superseded one).
        assert_eq!(summary.unlisted_without_overlap, 4, "{name}");
        assert_eq!(
            summary.edges.len(),
            1,
            "{name}: the successor's supersedes edge"
        );
        assert_eq!(summary.edges[0].from, successor.memory_version_id, "{name}");
        assert_eq!(
            summary.edges[0].to, superseded_miss.memory_version_id,
            "{name}"
        );

        let full = store
            .recall_candidates(&query, &types, as_of, true)
            .unwrap();
        assert_eq!(full.records.len(), 6, "{name}");
        assert_eq!(full.unlisted_without_overlap, 0, "{name}");

        // Before the successor existed, only `hit` overlapped among the five visible records.
        let early = store
            .recall_candidates(&query, &types, ts("2026-01-01T12:00:00Z"), false)
            .unwrap();
        assert_eq!(
            ids(&early.records),
            ids(std::slice::from_ref(&hit)),
            "{name}"
        );
        assert!(early.edges.is_empty(), "{name}");
        assert_eq!(early.unlisted_without_overlap, 4, "{name}");
        sets.push((
            *name,
            (contents(&summary), contents(&full), contents(&early)),
        ));
    }
    same(&sets);
}

mod indexed_recall {
    //! The indexed recall (ranking from postings, reading only listed records) must give the
    //! byte-identical package that recall over the fetched records gives, on every engine.
    use crate::support::{RecordBuilder, link, migrated, same};
    use memory_kernel_core::{
        Authority, ExclusionMode, PackageBounds, RecallQuery, RecordType, Relation, Timestamp,
        TruthStatus,
    };
    use proptest::prelude::*;

    const WORDS: [&str; 8] = [
        "budget", "Café", "cafe", "deploy", "会议", "plan", "plans", "zürich",
    ];
    const TYPES: [RecordType; 4] = [
        RecordType::Decision,
        RecordType::Preference,
        RecordType::Event,
        RecordType::Outcome,
    ];
    const TRUTH: [TruthStatus; 3] = [
        TruthStatus::Asserted,
        TruthStatus::Observed,
        TruthStatus::Retracted,
    ];

    fn text(words: &[usize]) -> String {
        words
            .iter()
            .map(|w| WORDS[w % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn at(second: u32) -> String {
        format!("2026-01-01T00:{:02}:{:02}Z", second / 60, second % 60)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn indexed_recall_equals_recall_over_records(
            records in proptest::collection::vec(
                (proptest::collection::vec(0usize..8, 1..6), 0usize..4, 0usize..3, 0u32..60,
                 proptest::option::of(0u8..=10), any::<bool>()),
                1..40),
            supersede in proptest::collection::vec((0usize..40, 0usize..40, 0u32..60), 0..8),
            query_words in proptest::collection::vec(0usize..8, 1..3),
            // Past 59 the query is about the present (every record visible): the store counts
            // the visible records from its newest documents instead of counting.
            as_of in 0u32..75,
            limit in 1u32..6,
            exclusion_limit in 0u32..6,
            exclusion_offset in 0u32..6,
            summary in any::<bool>(),
        ) {
            let engines = migrated("indexed_recall_equals_recall_over_records");
            let mut built = Vec::new();
            for (words, kind, truth, second, confidence, official) in &records {
                let mut record = RecordBuilder::summary(TYPES[*kind], &text(words))
                    .at(&at(*second))
                    .truth(TRUTH[*truth]);
                if let Some(c) = confidence {
                    record = record.confidence(f64::from(*c) / 10.0);
                }
                if *official {
                    record = record.authority(Authority::Authoritative);
                }
                built.push(record.build());
            }
            let mode = if summary { ExclusionMode::Summary } else { ExclusionMode::Nearest };
            let query = RecallQuery::new(text(&query_words), at(as_of).parse::<Timestamp>().unwrap())
                .unwrap()
                .with_exclusions(mode)
                .with_bounds(
                    PackageBounds::new(Some(limit), Some(exclusion_limit), Some(exclusion_offset))
                        .unwrap(),
                );
            let mut packages = Vec::new();
            for (name, store) in &engines.stores {
                store.insert_records(&built, None).unwrap();
                // A link that would close a supersedes cycle is refused; each engine must
                // refuse the same ones.
                let mut stored_links = Vec::new();
                for (from, to, second) in &supersede {
                    let (from, to) = (from % built.len(), to % built.len());
                    if from != to {
                        let link = link(
                            built[from].memory_version_id,
                            built[to].memory_version_id,
                            Relation::Supersedes,
                            &at(*second),
                        );
                        stored_links.push(store.insert_link(&link, None).is_ok());
                    }
                }
                let (indexed, listed) = store.recall_indexed(&query).unwrap();
                let set = store
                    .recall_candidates(query.terms(), query.record_types(), query.as_of(), false)
                    .unwrap();
                let expected = memory_kernel_core::recall(&set, &query);
                prop_assert_eq!(
                    indexed.to_canonical_json(),
                    expected.to_canonical_json(),
                    "{}",
                    name
                );
                // Only the listed records were read.
                let items = indexed.selected_items.len() + indexed.excluded_items.len();
                prop_assert_eq!(listed.len(), items, "{}", name);
                packages.push((*name, (stored_links, indexed.to_canonical_json())));
            }
            same(&packages);
        }
    }
}

#[test]
fn indexed_recall_reads_edges_by_term_when_lineage_outnumbers_the_matches() {
    let engines =
        migrated("indexed_recall_reads_edges_by_term_when_lineage_outnumbers_the_matches");
    // One matching record, superseded, among a long lineage chain of unrelated records: the
    // store probes the edges of the term's postings instead of reading every edge.
    let target = RecordBuilder::summary(RecordType::Decision, "quarterly budget").build();
    let newer = RecordBuilder::summary(RecordType::Decision, "revised numbers")
        .supersedes(target.memory_version_id)
        .build();
    let mut records = vec![target.clone(), newer];
    let mut previous = RecordBuilder::summary(RecordType::Event, "unrelated start").build();
    records.push(previous.clone());
    for i in 0..12 {
        let next = RecordBuilder::summary(RecordType::Event, &format!("unrelated step {i}"))
            .supersedes(previous.memory_version_id)
            .build();
        records.push(next.clone());
        previous = next;
    }
    let query = memory_kernel_core::RecallQuery::new("budget", ts("2030-01-01T00:00:00Z")).unwrap();
    let mut packages = Vec::new();
    for (name, store) in &engines.stores {
        store.insert_records(&records, None).unwrap();
        let (package, _) = store.recall_indexed(&query).unwrap();
        let set = store
            .recall_candidates(query.terms(), query.record_types(), query.as_of(), false)
            .unwrap();
        assert_eq!(package, memory_kernel_core::recall(&set, &query), "{name}");
        assert!(package.selected_items.is_empty(), "{name}");
        assert_eq!(
            package.excluded_items[0].why.reasons,
            vec![memory_kernel_core::resolver::REASON_SUPERSEDED.to_owned()],
            "{name}"
        );
        packages.push((*name, package.to_canonical_json()));
    }
    same(&packages);
}

#[test]
fn indexed_recall_sees_writes_of_other_handles_and_a_restored_file() {
    let recall = |store: &memory_kernel_store::Store, text: &str| {
        let query = memory_kernel_core::RecallQuery::new(text, ts("2030-01-01T00:00:00Z")).unwrap();
        let (package, _) = store.recall_indexed(&query).unwrap();
        let set = store
            .recall_candidates(query.terms(), query.record_types(), query.as_of(), false)
            .unwrap();
        assert_eq!(
            package,
            memory_kernel_core::recall(&set, &query),
            "{}",
            store.engine()
        );
        package
            .selected_items
            .iter()
            .map(|item| item.memory_version_id)
            .collect::<BTreeSet<_>>()
    };
    let engines = migrated("indexed_recall_sees_writes_of_other_handles_and_a_restored_file");
    let first = RecordBuilder::summary(RecordType::Decision, "alpha plan").build();
    let second = RecordBuilder::summary(RecordType::Event, "alpha launch").build();
    let third = RecordBuilder::summary(RecordType::Outcome, "alpha retro").build();
    for (name, reader) in &engines.stores {
        reader.insert_record(&first, None).unwrap();
        // Backup and restore are the SQLite file's (PostgreSQL refuses them: its own tools
        // do this), so the restored-file part below runs on SQLite only.
        let backup = reader.path().map(|path| {
            let backup = path.with_file_name("backup.sqlite3");
            reader.backup(&backup, false).unwrap();
            backup
        });
        assert_eq!(recall(reader, "alpha").len(), 1, "{name}");

        // Another handle (as another process would) appends: the reader's documents catch up.
        let writer = memory_kernel_store::Store::open(engines.location(reader)).unwrap();
        writer.insert_record(&second, None).unwrap();
        assert_eq!(
            recall(reader, "alpha"),
            [first.memory_version_id, second.memory_version_id].into(),
            "{name}"
        );

        // The file goes back to the backup, then takes a different record under the same
        // document number: the reader loads its documents afresh.
        if let Some(backup) = backup {
            reader.restore(&backup).unwrap();
            reader.insert_record(&third, None).unwrap();
            assert_eq!(
                recall(reader, "alpha"),
                [first.memory_version_id, third.memory_version_id].into(),
                "{name}"
            );
        }
    }
}
