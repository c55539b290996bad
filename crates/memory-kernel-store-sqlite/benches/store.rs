//! Candidate-query benchmarks over 10k and 100k stored records.
//!
//! Each size is seeded once into a temporary database through the public batch insert (one
//! transaction, every record checked as by `insert_record`). Half the records are
//! constraints spread over 40 actors × 25 actions × 50 resources with a few wildcards; the
//! rest are summaries of six words drawn from a 2,000-word vocabulary. Run with
//! `cargo bench -p memory-kernel-store-sqlite -- --warm-up-time 1 --measurement-time 3`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_main};
use memory_kernel_core::{
    Authority, ConstraintPayload, Effect, MemoryId, MemoryRecord, MemoryVersionId, Payload,
    Provenance, RecordType, Scope, Timestamp, TruthStatus, terms::terms,
};
use memory_kernel_store_sqlite::Store;
use tempfile::TempDir;

const SIZES: [usize; 2] = [10_000, 100_000];
const SUMMARY_TYPES: [RecordType; 4] = [
    RecordType::Decision,
    RecordType::Preference,
    RecordType::Event,
    RecordType::Outcome,
];

/// A small deterministic generator, so every run seeds the same content.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % bound as u64) as usize
    }
}

fn record(i: usize, rng: &mut Lcg) -> MemoryRecord {
    let at = Timestamp::from_unix_seconds(1_767_225_600 + i as i64).unwrap();
    let payload = if i % 2 == 0 {
        let pick = |rng: &mut Lcg, n: usize, prefix: &str| {
            // About 2% of each field is a wildcard.
            if rng.next(50) == 0 {
                "*".to_owned()
            } else {
                format!("{prefix}{}", rng.next(n))
            }
        };
        Payload::Constraint(ConstraintPayload {
            scope: Scope::new(
                &pick(rng, 40, "actor"),
                &pick(rng, 25, "action"),
                &pick(rng, 50, "resource"),
            )
            .unwrap(),
            effect: if rng.next(2) == 0 {
                Effect::Allow
            } else {
                Effect::Deny
            },
            note: None,
        })
    } else {
        let words: Vec<String> = (0..6).map(|_| format!("word{}", rng.next(2_000))).collect();
        Payload::summary(SUMMARY_TYPES[rng.next(4)], &words.join(" ")).unwrap()
    };
    MemoryRecord {
        memory_version_id: MemoryVersionId::generate(),
        memory_id: MemoryId::generate(),
        version: 1,
        created_at: at,
        effective_at: at,
        truth_status: TruthStatus::Asserted,
        authority: Authority::Authoritative,
        confidence: None,
        writer: "bench".to_owned(),
        justification: "benchmark seed".to_owned(),
        provenance: Provenance {
            source_uri: "file:///bench".to_owned(),
            source_hash: None,
            evidence: Vec::new(),
        },
        supersedes: Vec::new(),
        contradicts: Vec::new(),
        payload,
    }
}

fn seeded(size: usize) -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("bench.sqlite3")).unwrap();
    store.migrate(false).unwrap();
    let mut rng = Lcg(42);
    let records: Vec<MemoryRecord> = (0..size).map(|i| record(i, &mut rng)).collect();
    for chunk in records.chunks(10_000) {
        store.insert_records(chunk, None).unwrap();
    }
    (dir, store)
}

fn candidates(c: &mut Criterion) {
    let as_of = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let scope = Scope::query("actor7", "action3", "resource11").unwrap();
    let query_terms = terms("word17 word1234");
    let mut group = c.benchmark_group("store");
    for size in SIZES {
        let (_dir, store) = seeded(size);
        let ask = store.ask_candidates(&scope, as_of).unwrap();
        let recall = store
            .recall_candidates(&query_terms, &SUMMARY_TYPES, as_of, false)
            .unwrap();
        eprintln!(
            "size {size}: ask lists {} records; recall lists {}, counts {} unlisted",
            ask.records.len(),
            recall.records.len(),
            recall.unlisted_without_overlap
        );
        group.bench_with_input(BenchmarkId::new("ask_candidates", size), &size, |b, _| {
            b.iter(|| black_box(store.ask_candidates(black_box(&scope), as_of).unwrap()));
        });
        group.bench_with_input(
            BenchmarkId::new("recall_candidates_summary", size),
            &size,
            |b, _| {
                b.iter(|| {
                    black_box(
                        store
                            .recall_candidates(
                                black_box(&query_terms),
                                &SUMMARY_TYPES,
                                as_of,
                                false,
                            )
                            .unwrap(),
                    )
                });
            },
        );
    }
    group.finish();
}

// The macro expands to an undocumented public function.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::candidates);
}
criterion_main!(harness::benches);
