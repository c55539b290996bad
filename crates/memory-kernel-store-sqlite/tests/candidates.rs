//! The candidate sets the resolvers consume: scope buckets for ask, term overlap for recall,
//! visibility at `as_of`, and the lineage edges touching the candidates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use memory_kernel_core::{
    Effect, MemoryVersionId, RecordType, Relation, Scope, TruthStatus, ValidationError,
    terms::terms,
};
use memory_kernel_store_sqlite::StoreError;
use support::{RecordBuilder, link, migrated_store, temp_db, ts};

fn ids(records: &[memory_kernel_core::MemoryRecord]) -> BTreeSet<MemoryVersionId> {
    records.iter().map(|r| r.memory_version_id).collect()
}

#[test]
fn ask_candidates_returns_the_wildcard_buckets_and_nothing_else() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
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
    store.insert_records(&all, None).unwrap();

    let query = Scope::query("User", " use ", "USB_DRIVE").unwrap();
    let set = store
        .ask_candidates(&query, ts("2026-06-01T00:00:00Z"))
        .unwrap();
    assert_eq!(expected.len(), 8);
    assert_eq!(ids(&set.records), expected);
    assert!(set.edges.is_empty());
    assert_eq!(set.unlisted_without_overlap, 0);
}

#[test]
fn ask_candidates_honour_as_of_and_carry_touching_edges() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
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
    let query = Scope::query("user", "use", "disk").unwrap();

    let january = store
        .ask_candidates(&query, ts("2026-01-15T00:00:00Z"))
        .unwrap();
    assert_eq!(
        ids(&january.records),
        ids(&[old.clone(), retracted.clone()])
    );
    assert!(
        january.edges.is_empty(),
        "the supersedes edge is not visible yet"
    );

    let february = store
        .ask_candidates(&query, ts("2026-02-15T00:00:00Z"))
        .unwrap();
    assert_eq!(
        ids(&february.records),
        ids(&[old.clone(), newer.clone(), retracted.clone()])
    );
    assert_eq!(february.edges.len(), 1);
    assert_eq!(february.edges[0].to, old.memory_version_id);
    assert_eq!(february.edges[0].relation, Relation::Supersedes);

    let may = store
        .ask_candidates(&query, ts("2026-05-01T00:00:00Z"))
        .unwrap();
    assert_eq!(
        ids(&may.records),
        ids(&[old.clone(), newer, pending, retracted])
    );
    assert_eq!(
        may.edges.len(),
        2,
        "the link from a non-candidate still touches a candidate"
    );
    assert!(
        may.edges
            .iter()
            .any(|e| e.from == unrelated.memory_version_id)
    );
    // Ordered by created_at instant, then id.
    let created: Vec<_> = may
        .records
        .iter()
        .map(|r| (r.created_at, r.memory_version_id))
        .collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted);
}

#[test]
fn ask_candidates_refuse_a_wildcard_query() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
    let scope = Scope::new("*", "use", "disk").unwrap();
    assert!(matches!(
        store
            .ask_candidates(&scope, ts("2026-01-01T00:00:00Z"))
            .unwrap_err(),
        StoreError::Validation(ValidationError::WildcardInQuery { field: "actor" })
    ));
}

#[test]
fn recall_fetches_overlap_and_counts_the_rest() {
    let (_dir, path) = temp_db();
    let store = migrated_store(&path);
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
    store
        .insert_records(
            &[
                hit.clone(),
                miss,
                miss2,
                retracted_miss,
                superseded_miss.clone(),
                successor.clone(),
                other_type,
                future,
                constraint,
            ],
            None,
        )
        .unwrap();

    let query = terms("usb drive");
    let types = [RecordType::Decision, RecordType::Event, RecordType::Outcome];
    let as_of = ts("2026-06-01T00:00:00Z");
    let summary = store
        .recall_candidates(&query, &types, as_of, false)
        .unwrap();
    assert_eq!(
        ids(&summary.records),
        ids(&[hit.clone(), successor.clone()])
    );
    // Visible, of the asked types, without overlap: counted, not fetched, whatever their
    // status (miss, miss2, the retracted one and the superseded one).
    assert_eq!(summary.unlisted_without_overlap, 4);
    assert_eq!(summary.edges.len(), 1, "the successor's supersedes edge");
    assert_eq!(summary.edges[0].from, successor.memory_version_id);
    assert_eq!(summary.edges[0].to, superseded_miss.memory_version_id);

    let full = store
        .recall_candidates(&query, &types, as_of, true)
        .unwrap();
    assert_eq!(full.records.len(), 6);
    assert_eq!(full.unlisted_without_overlap, 0);

    // Before the successor existed, only `hit` overlapped among the five visible records.
    let early = store
        .recall_candidates(&query, &types, ts("2026-01-01T12:00:00Z"), false)
        .unwrap();
    assert_eq!(ids(&early.records), ids(&[hit]));
    assert!(early.edges.is_empty());
    assert_eq!(early.unlisted_without_overlap, 4);
}
