//! Resolver benchmarks: `ask` and `recall` over 1k, 10k and 100k in-memory records.
//!
//! The corpus is generated deterministically: constraints over ~50 actors, actions and
//! resources with some wildcards; summaries drawn from a few hundred words; about 3% retracted
//! and 3% superseded through links, plus a few contradictions.

use criterion::{BenchmarkId, Criterion, black_box};
use memory_kernel_core::resolver::snapshot_id;
use memory_kernel_core::{
    AskQuery, Authority, Confidence, ConstraintPayload, Effect, ExclusionMode, Link, MemoryId,
    MemoryRecord, MemoryVersionId, Payload, Provenance, RecallQuery, RecordSet, RecordType,
    Relation, Scope, Timestamp, TruthStatus, ValidationError, ask, recall,
};
use ulid::Ulid;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const NAMES: usize = 50;
const VOCABULARY: usize = 300;
const BASE: i64 = 1_767_225_600;
/// Milliseconds part of every generated ULID.
const ULID_MS: u64 = 1_767_225_600_000;

/// A small deterministic generator (64-bit LCG), so every run sees the same corpus.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        // Both values are far below 2^32, so the narrowing is exact.
        (self.next() % n as u64) as usize
    }
}

fn at(seconds: usize) -> Result<Timestamp, ValidationError> {
    Timestamp::from_unix_seconds(BASE + seconds as i64)
}

fn word(n: usize) -> String {
    format!("w{n:03}")
}

fn scope_field(kind: &str, rng: &mut Lcg) -> String {
    if rng.below(10) == 0 {
        "*".to_owned()
    } else {
        format!("{kind}{}", rng.below(NAMES))
    }
}

fn corpus(size: usize) -> Result<RecordSet, ValidationError> {
    let mut rng = Lcg(0x5eed ^ size as u64);
    let mut records = Vec::with_capacity(size);
    let mut links = Vec::new();
    for i in 0..size {
        let payload = if rng.below(4) == 0 {
            let scope = Scope::new(
                &scope_field("actor", &mut rng),
                &scope_field("action", &mut rng),
                &scope_field("resource", &mut rng),
            )?;
            let effect = if rng.below(2) == 0 {
                Effect::Allow
            } else {
                Effect::Deny
            };
            Payload::Constraint(ConstraintPayload {
                scope,
                effect,
                note: None,
            })
        } else {
            let words: Vec<String> = (0..8).map(|_| word(rng.below(VOCABULARY))).collect();
            let kind = [
                RecordType::Decision,
                RecordType::Preference,
                RecordType::Event,
                RecordType::Outcome,
            ][rng.below(4)];
            Payload::summary(kind, &words.join(" "))?
        };
        let truth_status = match rng.below(100) {
            0..=2 => TruthStatus::Retracted,
            3..=20 => TruthStatus::Observed,
            21..=30 => TruthStatus::Inferred,
            _ => TruthStatus::Asserted,
        };
        let confidence = (truth_status == TruthStatus::Inferred || rng.below(3) == 0)
            .then(|| Confidence::new(rng.below(11) as f64 / 10.0))
            .transpose()?;
        let id = MemoryVersionId::from_ulid(Ulid::from_parts(ULID_MS, i as u128));
        records.push(MemoryRecord {
            memory_version_id: id,
            memory_id: MemoryId::from_ulid(Ulid::from_parts(ULID_MS, i as u128)),
            version: 1,
            created_at: at(i)?,
            effective_at: at(i)?,
            truth_status,
            authority: Authority::ALL[rng.below(3)],
            confidence,
            writer: "bench".to_owned(),
            justification: "generated".to_owned(),
            provenance: Provenance {
                source_uri: "file:///bench".to_owned(),
                source_hash: None,
                evidence: Vec::new(),
            },
            supersedes: Vec::new(),
            contradicts: Vec::new(),
            payload,
        });
        if i > 0 && rng.below(33) == 0 {
            let target = records[rng.below(i)].memory_version_id;
            let relation = if rng.below(5) == 0 {
                Relation::Contradicts
            } else {
                Relation::Supersedes
            };
            links.push(Link {
                from: id,
                to: target,
                relation,
                writer: "bench".to_owned(),
                justification: "generated".to_owned(),
                created_at: at(i)?,
            });
        }
    }
    Ok(RecordSet::from_records_and_links(records, &links))
}

/// The corpus and both queries for one size.
fn fixture(size: usize) -> Result<(RecordSet, AskQuery, RecallQuery), ValidationError> {
    let set = corpus(size)?;
    let as_of = at(size)?;
    let ask_query = AskQuery::from_triple(
        "may actor7 do action3 on resource11?",
        "actor7",
        "action3",
        "resource11",
        as_of,
    )?;
    // Two vocabulary words: each occurs in ~2.7% of summaries, so the limit of 20 bites from
    // 1k records on and most records are counted, not listed.
    let recall_query = RecallQuery::new(format!("{} {}", word(17), word(42)), as_of)?
        .with_limit(20)?
        .with_exclusions(ExclusionMode::Summary);
    Ok((set, ask_query, recall_query))
}

fn resolvers(c: &mut Criterion) {
    let mut group = c.benchmark_group("resolver");
    for size in SIZES {
        let (set, ask_query, recall_query) = match fixture(size) {
            Ok(fixture) => fixture,
            Err(error) => panic!("benchmark fixture is invalid: {error}"),
        };
        group.bench_with_input(BenchmarkId::new("ask", size), &set, |b, set| {
            b.iter(|| ask(black_box(set), black_box(&ask_query)));
        });
        group.bench_with_input(BenchmarkId::new("recall", size), &set, |b, set| {
            b.iter(|| recall(black_box(set), black_box(&recall_query)));
        });
        // The part of every package that scales with the whole visible set.
        group.bench_with_input(BenchmarkId::new("snapshot_id", size), &set, |b, set| {
            b.iter(|| snapshot_id(black_box(set), black_box(recall_query.as_of())));
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    resolvers(&mut criterion);
    criterion.final_summary();
}
