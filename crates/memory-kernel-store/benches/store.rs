//! Candidate-query benchmarks over 10k and 100k stored records.
//!
//! Each size is seeded once into a temporary database through the public batch insert (one
//! transaction, every record checked as by `insert_record`). Half the records are
//! constraints spread over 40 actors × 25 actions × 50 resources with a few wildcards; the
//! rest are summaries of six words drawn from a 2,000-word vocabulary. Run with
//! `cargo bench -p memory-kernel-store -- --warm-up-time 1 --measurement-time 3`.
//!
//! `record_page/*` is browsing: one page of 50 records, oldest first from the start, newest
//! first from the start, oldest first resuming 90% of the way through the store (a cursor
//! deep in the listing), and oldest first filtered by writer and truth status. Its cost must
//! not grow with the store.
//!
//! `engines/*` compares the two storage engines in one run over the same 10k records: a policy
//! ask (candidates and the resolver), an indexed recall and one write, each on SQLite and on
//! PostgreSQL (`MK_TEST_POSTGRES_URL`, see `docs/testing/postgres.md`; without it only SQLite
//! runs and a SKIP line says so). `engines/replica_writers` has 16 threads write through two
//! separate handles on the PostgreSQL database (two pools, as two replicas have) and prints
//! their latency percentiles, the writes that missed the deadline and any acknowledged write
//! the database does not hold (`cargo bench -p memory-kernel-store -- engines`).
//!
//! `writers/16_threads_10k` is writes under load: 16 threads each append 8 constraints (one
//! transaction per record, as `add constraint` does) to a 10k store, every write under the
//! service's default 2.5 s deadline. Criterion times a round of 128 writes; the bench also
//! prints the per-write latency percentiles and the number of writes that missed their
//! deadline over every round it ran (`cargo bench -p memory-kernel-store -- writers`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_main};
use memory_kernel_core::{
    AskQuery, Authority, ConstraintPayload, Effect, MemoryId, MemoryRecord, MemoryVersionId,
    Payload, Provenance, RecallQuery, RecordType, Scope, Timestamp, TruthStatus, terms::terms,
};
use memory_kernel_store::{PageFilter, PageOrder, RecordKey, Store, StoreError};
use memory_kernel_testkit::postgres::TempDatabase;
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

/// One of 100 topics, topic `k` about `1/(k+1)` as often as topic 0 (so `topic0` is in about
/// 19% of the summaries: a recall for it matches a large share of the store).
fn skewed_topic(rng: &mut Lcg) -> usize {
    // Cumulative weights 1/1 + 1/2 + ... scaled to integers.
    let weights: Vec<usize> = (0..100).map(|k| 1_000_000 / (k + 1)).collect();
    let total: usize = weights.iter().sum();
    let mut pick = rng.next(total);
    for (k, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return k;
        }
        pick -= weight;
    }
    99
}

fn record(i: usize, rng: &mut Lcg) -> MemoryRecord {
    let at = Timestamp::from_unix_seconds(1_767_225_600 + i as i64).unwrap();
    let payload = if i.is_multiple_of(2) {
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
        let mut words: Vec<String> = (0..6).map(|_| format!("word{}", rng.next(2_000))).collect();
        words.push(format!("topic{}", skewed_topic(rng)));
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
    seed(&store, &corpus(size));
    (dir, store)
}

/// The deterministic content of `size` records (ids are fresh each call).
fn corpus(size: usize) -> Vec<MemoryRecord> {
    let mut rng = Lcg(42);
    (0..size).map(|i| record(i, &mut rng)).collect()
}

/// Migrates `store` and writes `records` into it.
fn seed(store: &Store, records: &[MemoryRecord]) {
    store.migrate(false).unwrap();
    for chunk in records.chunks(10_000) {
        store.insert_records(chunk, None).unwrap();
    }
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
        let deep = RecordKey {
            created_at_nanos: (1_767_225_600 + (size * 9 / 10) as i64) * 1_000_000_000,
            memory_version_id: "00000000000000000000000000".parse().unwrap(),
        };
        let filtered = PageFilter {
            writer: Some("bench".to_owned()),
            truth_status: Some(TruthStatus::Asserted),
            ..PageFilter::default()
        };
        let pages: [(&str, PageFilter, PageOrder, Option<&RecordKey>); 4] = [
            (
                "record_page_first",
                PageFilter::default(),
                PageOrder::Oldest,
                None,
            ),
            (
                "record_page_newest",
                PageFilter::default(),
                PageOrder::Newest,
                None,
            ),
            (
                "record_page_deep",
                PageFilter::default(),
                PageOrder::Oldest,
                Some(&deep),
            ),
            (
                "record_page_filtered",
                filtered,
                PageOrder::Oldest,
                Some(&deep),
            ),
        ];
        for (name, filter, order, after) in pages {
            assert_eq!(
                store.record_page(&filter, order, after, 50).unwrap().len(),
                50
            );
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    black_box(
                        store
                            .record_page(black_box(&filter), order, after, 50)
                            .unwrap(),
                    )
                });
            });
        }
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

/// A whole recall (default bounds: 20 selected, 10 nearest exclusions) for a common topic,
/// a common pair and a rare pair: `fetch_all` reads every matching record and ranks them
/// (the path before the indexed recall), `indexed` ranks from the postings and reads only
/// the listed records. Both give the same package (asserted once per size).
fn recall(c: &mut Criterion) {
    let as_of = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let mut group = c.benchmark_group("recall");
    for size in SIZES {
        let (_dir, store) = seeded(size);
        for (name, text) in [
            ("common", "topic0"),
            ("common_pair", "topic0 topic3"),
            ("rare_pair", "word17 word1234"),
        ] {
            let query = RecallQuery::new(text, as_of).unwrap();
            let fetch_all = || {
                let set = store
                    .recall_candidates(query.terms(), query.record_types(), as_of, false)
                    .unwrap();
                memory_kernel_core::recall(&set, &query)
            };
            let indexed = || store.recall_indexed(&query).unwrap().0;
            let package = indexed();
            assert_eq!(package, fetch_all());
            eprintln!(
                "size {size}, {name}: {} matched",
                package.answer.excluded_summary.values().sum::<u64>()
                    + package.selected_items.len() as u64
                    - package
                        .answer
                        .excluded_summary
                        .get("no lexical overlap with query text")
                        .copied()
                        .unwrap_or(0)
            );
            group.bench_function(BenchmarkId::new(format!("fetch_all_{name}"), size), |b| {
                b.iter(|| black_box(fetch_all()));
            });
            group.bench_function(BenchmarkId::new(format!("indexed_{name}"), size), |b| {
                b.iter(|| black_box(indexed()));
            });
        }
    }
    group.finish();
}

const WRITER_THREADS: usize = 16;
const WRITES_PER_THREAD: usize = 8;
const WRITE_DEADLINE: Duration = Duration::from_millis(2_500);

fn writers(c: &mut Criterion) {
    let (_dir, store) = seeded(10_000);
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let timeouts = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(1_000_000));
    let mut group = c.benchmark_group("writers");
    group.sample_size(10);
    group.bench_function("16_threads_10k", |b| {
        b.iter_custom(|rounds| {
            let started = Instant::now();
            for _ in 0..rounds {
                let threads: Vec<_> = (0..WRITER_THREADS)
                    .map(|_| {
                        let (store, latencies, timeouts, next) = (
                            store.clone(),
                            Arc::clone(&latencies),
                            Arc::clone(&timeouts),
                            Arc::clone(&next),
                        );
                        thread::spawn(move || {
                            let mut mine = Vec::with_capacity(WRITES_PER_THREAD);
                            for _ in 0..WRITES_PER_THREAD {
                                // Even indexes are constraints.
                                let i = next.fetch_add(2, Ordering::Relaxed);
                                let record = record(i, &mut Lcg(i as u64));
                                let begun = Instant::now();
                                match store.insert_record(&record, Some(begun + WRITE_DEADLINE)) {
                                    Ok(()) => {}
                                    Err(StoreError::DeadlineExceeded) => {
                                        timeouts.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(other) => panic!("{other}"),
                                }
                                mine.push(begun.elapsed());
                            }
                            latencies.lock().unwrap().extend(mine);
                        })
                    })
                    .collect();
                for thread in threads {
                    thread.join().unwrap();
                }
            }
            started.elapsed()
        });
    });
    group.finish();
    let mut all = latencies.lock().unwrap().clone();
    if all.is_empty() {
        // Filtered out: nothing ran.
        return;
    }
    eprintln!(
        "writers: {} writes by {WRITER_THREADS} threads over a 10k store: {}, {} missed the \
         {} ms deadline",
        all.len(),
        percentiles(&mut all),
        timeouts.load(Ordering::Relaxed),
        WRITE_DEADLINE.as_millis()
    );
}

/// p50, p95, p99 and max of `latencies` (nearest rank), in milliseconds.
fn percentiles(latencies: &mut [Duration]) -> String {
    latencies.sort_unstable();
    let at = |q: f64| {
        let rank = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1].as_secs_f64() * 1e3
    };
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

fn engines(c: &mut Criterion) {
    let as_of = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    // The same records, ids included, on both engines.
    let records = corpus(10_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(dir.path().join("bench.sqlite3")).unwrap();
    seed(&sqlite, &records);
    let postgres = TempDatabase::create("engines benchmark");
    let mut stores = vec![("sqlite", sqlite)];
    if let Some(db) = &postgres {
        let store = Store::open(&db.url).unwrap();
        seed(&store, &records);
        stores.push(("postgresql", store));
    }
    let ask = AskQuery::from_triple("may it?", "actor7", "action3", "resource11", as_of).unwrap();
    let recall = RecallQuery::new("word17 word1234", as_of).unwrap();
    let mut group = c.benchmark_group("engines");
    let next = AtomicUsize::new(2_000_000);
    let answer = |store: &Store| {
        let set = store.ask_candidates(ask.scope(), ask.as_of()).unwrap();
        memory_kernel_core::ask(&set, &ask)
    };
    // Compared before the writes below change the stores.
    for (engine, store) in &stores {
        assert_eq!(
            answer(store),
            answer(&stores[0].1),
            "{engine} answers as SQLite does"
        );
        assert_eq!(
            store.recall_indexed(&recall).unwrap().0,
            stores[0].1.recall_indexed(&recall).unwrap().0,
            "{engine} recalls as SQLite does"
        );
    }
    for (engine, store) in &stores {
        group.bench_function(BenchmarkId::new("ask_10k", engine), |b| {
            b.iter(|| black_box(answer(store)));
        });
        group.bench_function(BenchmarkId::new("recall_10k", engine), |b| {
            b.iter(|| black_box(store.recall_indexed(&recall).unwrap()));
        });
        group.bench_function(BenchmarkId::new("write_10k", engine), |b| {
            b.iter(|| {
                let i = next.fetch_add(2, Ordering::Relaxed);
                store
                    .insert_record(&record(i, &mut Lcg(i as u64)), None)
                    .unwrap();
            });
        });
    }
    group.finish();
    if let Some(db) = &postgres {
        replica_writers(db);
    }
}

/// 16 threads over two handles with their own pools on one PostgreSQL database.
fn replica_writers(db: &TempDatabase) {
    let replicas = [Store::open(&db.url).unwrap(), Store::open(&db.url).unwrap()];
    let acknowledged = Mutex::new(Vec::new());
    let latencies = Mutex::new(Vec::new());
    let timeouts = AtomicUsize::new(0);
    thread::scope(|scope| {
        for writer in 0..WRITER_THREADS {
            let (replicas, acknowledged, latencies, timeouts) =
                (&replicas, &acknowledged, &latencies, &timeouts);
            scope.spawn(move || {
                let store = &replicas[writer % 2];
                for n in 0..WRITES_PER_THREAD * 4 {
                    let i = 3_000_000 + 2 * (writer * 1_000 + n);
                    let record = record(i, &mut Lcg(i as u64));
                    let begun = Instant::now();
                    match store.insert_record(&record, Some(begun + WRITE_DEADLINE)) {
                        Ok(()) => acknowledged.lock().unwrap().push(record.memory_version_id),
                        Err(StoreError::DeadlineExceeded) => {
                            timeouts.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(other) => panic!("{other}"),
                    }
                    latencies.lock().unwrap().push(begun.elapsed());
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    let lost = acknowledged
        .iter()
        .filter(|id| replicas[0].get_record(**id).unwrap().is_none())
        .count();
    let mut all = latencies.into_inner().unwrap();
    eprintln!(
        "engines/replica_writers: {} writes by {WRITER_THREADS} threads over 2 handles on \
         PostgreSQL: {}, {} missed the {} ms deadline, {lost} acknowledged writes lost",
        all.len(),
        percentiles(&mut all),
        timeouts.load(Ordering::Relaxed),
        WRITE_DEADLINE.as_millis()
    );
    assert_eq!(lost, 0, "acknowledged writes lost");
}

// The macro expands to an undocumented public function.
#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(
        benches,
        super::candidates,
        super::recall,
        super::writers,
        super::engines
    );
}
criterion_main!(harness::benches);
