//! `recall` (docs/spec/resolver.md): which active records of the requested types share words with the
//! query, best match first.
//!
//! Ranking needs no record text: a [`RecallHit`] (the ordering fields and the term statistics
//! an index can store) is enough. So recall runs in two steps: a [`RecallPlan`] ranks the hits
//! and names the few records the package lists, and [`RecallPlan::package`] builds the package
//! from just those records. A store answers from its term index and reads only the listed
//! records; [`recall`] runs both steps over an in-memory [`RecordSet`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use super::ordering::{PrecedenceKey, RECALL_TIE_BREAKERS, ordering_confidence};
use super::relevance::Corpus;
use super::view::{LineageView, record_visible_at, snapshot_id_of_parts};
use super::{
    ExclusionMode, PackageBounds, PrimaryScore, REASON_BEYOND_LIMIT, REASON_NO_OVERLAP,
    REASON_RETRACTED, REASON_SUPERSEDED, Ranked, RecallQuery, RecordSet, item, ordering_trace,
    selected_items,
};
use crate::ids::{MemoryId, MemoryVersionId};
use crate::lineage::LineageEdge;
use crate::package::{
    Answer, AnswerResult, ContextPackage, Determinism, ItemWhy, PackageItem, PackageQuery,
    QueryKind, RECALL_RULESET_VERSION, context_package_id,
};
use crate::record::{Authority, Confidence, MemoryRecord, RecordType, TruthStatus};
use crate::terms::{TermMatcher, TermStats};
use crate::timestamp::Timestamp;

/// A recall candidate as a term index describes it: every field the order reads and the
/// record's statistics for the query's terms, without its text.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallHit {
    /// The record's version id.
    pub memory_version_id: MemoryVersionId,
    /// The record's memory id.
    pub memory_id: MemoryId,
    /// The record's type.
    pub record_type: RecordType,
    /// When the record was written.
    pub created_at: Timestamp,
    /// When the record takes effect.
    pub effective_at: Timestamp,
    /// The record's truth status.
    pub truth_status: TruthStatus,
    /// The record's authority.
    pub authority: Authority,
    /// The record's confidence, if any.
    pub confidence: Option<Confidence>,
    /// Frequencies of the query's terms (in query-term order) and the record's length.
    pub stats: TermStats,
}

impl RecallHit {
    /// The hit of `record` with its statistics for the query.
    #[must_use]
    pub fn of_record(record: &MemoryRecord, stats: TermStats) -> Self {
        Self {
            memory_version_id: record.memory_version_id,
            memory_id: record.memory_id,
            record_type: record.record_type(),
            created_at: record.created_at,
            effective_at: record.effective_at,
            truth_status: record.truth_status,
            authority: record.authority,
            confidence: record.confidence,
            stats,
        }
    }

    /// Equal to [`PrecedenceKey::new`] for the hit's record.
    fn key(&self, primary: u32) -> PrecedenceKey {
        PrecedenceKey {
            primary,
            authority_rank: self.authority.rank(),
            truth_status_rank: self.truth_status.rank(),
            confidence: ordering_confidence(self.confidence),
            effective_at: self.effective_at,
            created_at: self.created_at,
            memory_id: self.memory_id,
            memory_version_id: self.memory_version_id,
        }
    }

    fn visible_at(&self, as_of: Timestamp) -> bool {
        self.created_at <= as_of && self.effective_at <= as_of
    }
}

/// What an indexed recall reads: the visible records of the requested types that share a
/// term with the query (or, for `full` exclusions, every visible record of those types), the
/// lineage edges touching them, and how many other visible records of those types there are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecallCandidates {
    /// Candidate hits, in any order; hits not visible at `as_of` or of other types are ignored.
    pub hits: Vec<RecallHit>,
    /// Lineage edges touching the hits, in any order; duplicates are harmless.
    pub edges: Vec<LineageEdge>,
    /// Visible records of the requested types sharing no term with the query and not among
    /// the hits; counted, never listed.
    pub unlisted_without_overlap: u64,
}

/// A record named by a [`RecallPlan`] was not among the records given to
/// [`RecallPlan::package`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {0} is ranked by the recall but was not supplied")]
pub struct MissingRecord(pub MemoryVersionId);

/// A ranked exclusion: its hit, key and reason.
#[derive(Debug, Clone, Copy)]
struct Excluded {
    hit: usize,
    key: PrecedenceKey,
    reason: &'static str,
}

/// A ranked recall, before the package is built: the selected hits in rank order, the
/// listed page of exclusions, the counts by reason, and the snapshot id.
#[derive(Debug, Clone)]
pub struct RecallPlan {
    query: RecallQuery,
    hits: Vec<RecallHit>,
    /// Selected hits in rank order, with their keys.
    selected: Vec<(usize, PrecedenceKey)>,
    matched: usize,
    /// The listed exclusions (one page), in rank order, and the rank of the first.
    listed: Vec<Excluded>,
    listed_from: usize,
    excluded_summary: BTreeMap<String, u64>,
    edges: Vec<LineageEdge>,
    snapshot_id: String,
}

impl RecallPlan {
    /// Ranks the candidates for the query. Cost grows with the hits; only the listed page of
    /// exclusions and the selected items are sorted.
    #[must_use]
    pub fn new(candidates: RecallCandidates, query: &RecallQuery) -> Self {
        let visible = candidates
            .hits
            .iter()
            .filter(|hit| hit.visible_at(query.as_of()))
            .map(|hit| hit.memory_version_id)
            .collect();
        let snapshot_id = snapshot_id_of_parts(
            visible,
            &candidates.edges,
            candidates.unlisted_without_overlap,
            query.as_of(),
        );
        Self::rank(candidates, query, snapshot_id)
    }

    fn rank(candidates: RecallCandidates, query: &RecallQuery, snapshot_id: String) -> Self {
        let as_of = query.as_of();
        let bounds = query.bounds();
        let mode = query.exclusions();
        let RecallCandidates {
            hits,
            edges,
            unlisted_without_overlap,
        } = candidates;
        let view = LineageView::of_edges(&edges, as_of);
        let searched = |hit: &&RecallHit| {
            hit.visible_at(as_of) && query.record_types().contains(&hit.record_type)
        };
        let searched_count = hits.iter().filter(searched).count();
        let searched_total = unlisted_without_overlap
            .saturating_add(u64::try_from(searched_count).unwrap_or(u64::MAX));
        let corpus = Corpus::from_matches(
            searched_total,
            query.terms().len(),
            hits.iter()
                .filter(searched)
                .map(|hit| &hit.stats)
                .filter(|stats| stats.matched() > 0),
        );

        // Only the selected items and the exclusions up to the end of the requested page are
        // ever listed, so only that many are kept (memory follows the bounds, not the matches);
        // everything is counted.
        let limit = usize::try_from(bounds.limit()).unwrap_or(usize::MAX);
        let page_end = if mode == ExclusionMode::Summary {
            0
        } else {
            usize::try_from(bounds.exclusion_offset())
                .unwrap_or(usize::MAX)
                .saturating_add(usize::try_from(bounds.exclusion_limit()).unwrap_or(usize::MAX))
        };
        let mut active = Best::new(limit.saturating_add(page_end));
        let mut withdrawn = Best::new(page_end);
        let mut unrelated = Best::new(if mode == ExclusionMode::Full {
            page_end
        } else {
            0
        });
        let (mut active_count, mut retracted, mut superseded, mut no_overlap) =
            (0usize, 0u64, 0u64, 0u64);
        for (index, hit) in hits.iter().enumerate().filter(|(_, hit)| searched(hit)) {
            if hit.stats.matched() == 0 {
                no_overlap += 1;
                // Listed after every near miss: their relevance is 0.
                unrelated.offer(Excluded {
                    hit: index,
                    key: hit.key(0),
                    reason: REASON_NO_OVERLAP,
                });
                continue;
            }
            let key = hit.key(corpus.score(&hit.stats));
            let withdrawn_by = if hit.truth_status == TruthStatus::Retracted {
                retracted += 1;
                Some(REASON_RETRACTED)
            } else if view.is_superseded(hit.memory_version_id) {
                superseded += 1;
                Some(REASON_SUPERSEDED)
            } else {
                None
            };
            match withdrawn_by {
                Some(reason) => withdrawn.offer(Excluded {
                    hit: index,
                    key,
                    reason,
                }),
                // Active: selected if it ranks within the limit, otherwise excluded past it.
                None => {
                    active_count += 1;
                    active.offer(Excluded {
                        hit: index,
                        key,
                        reason: REASON_BEYOND_LIMIT,
                    });
                }
            }
        }
        let mut ranked_active = active.into_sorted();
        let beyond = ranked_active.split_off(limit.min(ranked_active.len()));
        let selected: Vec<(usize, PrecedenceKey)> =
            ranked_active.iter().map(|e| (e.hit, e.key)).collect();
        let matched = active_count;
        let beyond_count = active_count.saturating_sub(selected.len());

        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let no_overlap_total = no_overlap.saturating_add(unlisted_without_overlap);
        for (reason, n) in [
            (REASON_RETRACTED, retracted),
            (REASON_SUPERSEDED, superseded),
            (
                REASON_BEYOND_LIMIT,
                u64::try_from(beyond_count).unwrap_or(u64::MAX),
            ),
            (REASON_NO_OVERLAP, no_overlap_total),
        ] {
            if n > 0 {
                counts.insert(reason.to_owned(), n);
            }
        }

        let (listed, listed_from) = if mode == ExclusionMode::Summary {
            (Vec::new(), 0)
        } else {
            // The whole ranked exclusion list's length fixes where the page falls; the kept
            // entries hold at least its first `page.end` (each part kept its own best ones).
            let listable = usize::try_from(retracted + superseded)
                .unwrap_or(usize::MAX)
                .saturating_add(beyond_count)
                .saturating_add(if mode == ExclusionMode::Full {
                    usize::try_from(no_overlap).unwrap_or(usize::MAX)
                } else {
                    0
                });
            let mut kept = withdrawn.into_sorted();
            kept.extend(beyond);
            kept.extend(unrelated.into_sorted());
            page_of(kept, bounds, listable)
        };
        Self {
            query: query.clone(),
            hits,
            selected,
            matched,
            listed,
            listed_from,
            excluded_summary: counts,
            edges,
            snapshot_id,
        }
    }

    /// The version ids of the records the package lists (selected and listed exclusions),
    /// sorted and deduplicated: the only records [`Self::package`] needs.
    #[must_use]
    pub fn listed_ids(&self) -> Vec<MemoryVersionId> {
        let mut ids: Vec<MemoryVersionId> = self
            .selected
            .iter()
            .map(|(hit, _)| *hit)
            .chain(self.listed.iter().map(|excluded| excluded.hit))
            .map(|hit| self.hits[hit].memory_version_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The package, from the records [`Self::listed_ids`] names (others are ignored).
    ///
    /// # Errors
    /// [`MissingRecord`] when one of those records is not among `records`.
    pub fn package(&self, records: &[MemoryRecord]) -> Result<ContextPackage, MissingRecord> {
        let by_id: BTreeMap<MemoryVersionId, &MemoryRecord> = records
            .iter()
            .map(|record| (record.memory_version_id, record))
            .collect();
        self.build(|hit| {
            let id = self.hits[hit].memory_version_id;
            by_id.get(&id).copied().ok_or(MissingRecord(id))
        })
    }

    /// The package, reading the record of hit `index` through `record_of`.
    fn build<'r, E>(
        &self,
        record_of: impl Fn(usize) -> Result<&'r MemoryRecord, E>,
    ) -> Result<ContextPackage, E> {
        let selected = self
            .selected
            .iter()
            .map(|&(hit, key)| {
                Ok(Ranked {
                    record: record_of(hit)?,
                    key,
                })
            })
            .collect::<Result<Vec<_>, E>>()?;
        let excluded_items = self
            .listed
            .iter()
            .enumerate()
            .map(|(index, excluded)| {
                let why = ItemWhy {
                    included: false,
                    reasons: vec![excluded.reason.to_owned()],
                    rule_scores: None,
                };
                Ok(item(
                    self.listed_from + index,
                    record_of(excluded.hit)?,
                    why,
                ))
            })
            .collect::<Result<Vec<PackageItem>, E>>()?;

        let query = &self.query;
        let as_of = query.as_of();
        let bounds = query.bounds();
        let view = LineageView::of_edges(&self.edges, as_of);
        let term_count = query.terms().len();
        let hit_of: BTreeMap<MemoryVersionId, &RecallHit> = self
            .selected
            .iter()
            .map(|(hit, _)| (self.hits[*hit].memory_version_id, &self.hits[*hit]))
            .collect();
        let selected_items = selected_items(&selected, &view, |ranked| {
            let found: Vec<&str> = hit_of
                .get(&ranked.record.memory_version_id)
                .map(|hit| {
                    query
                        .terms()
                        .iter()
                        .zip(&hit.stats.frequencies)
                        .filter(|(_, f)| **f > 0)
                        .map(|(term, _)| term.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let matched = u32::try_from(found.len()).unwrap_or(u32::MAX);
            (
                format!(
                    "lexical overlap: {matched} of {term_count} query terms ({})",
                    found.join(", ")
                ),
                PrimaryScore::Recall { matched },
            )
        });

        let package_query = PackageQuery {
            text: query.text().to_owned(),
            actor: None,
            action: None,
            resource: None,
            record_types: Some(query.record_types().to_vec()),
            as_of,
            limit: Some(bounds.limit()),
            exclusions: Some(query.exclusions()),
            exclusion_limit: Some(bounds.exclusion_limit()),
            exclusion_offset: Some(bounds.exclusion_offset()),
            trust_gate: None,
        };
        Ok(ContextPackage {
            context_package_id: context_package_id(
                QueryKind::Recall,
                &package_query,
                query.terms(),
                &self.snapshot_id,
            ),
            generated_at: as_of,
            query: package_query,
            determinism: Determinism {
                ruleset_version: RECALL_RULESET_VERSION.to_owned(),
                snapshot_id: self.snapshot_id.clone(),
                tie_breakers: RECALL_TIE_BREAKERS
                    .iter()
                    .map(|t| (*t).to_owned())
                    .collect(),
            },
            answer: answer(self.matched, selected.len(), self.excluded_summary.clone()),
            ordering_trace: ordering_trace(
                &selected,
                super::RECALL_PRIMARY,
                super::recall_primary_text,
            ),
            selected_items,
            excluded_items,
        })
    }
}

/// The requested page of a ranked exclusion list of `total` entries, from `kept` (any order),
/// which holds at least the list's first entries up to the end of the page; and the 0-based
/// rank of the page's first entry.
fn page_of(mut kept: Vec<Excluded>, bounds: PackageBounds, total: usize) -> (Vec<Excluded>, usize) {
    let page = bounds.page(total);
    if page.is_empty() {
        return (Vec::new(), page.start);
    }
    kept.sort_unstable_by(|a, b| a.key.precedence(&b.key));
    kept.truncate(page.end);
    (kept.split_off(page.start.min(kept.len())), page.start)
}

/// The best `capacity` entries offered, by precedence: a heap whose top is the worst kept.
struct Best {
    capacity: usize,
    heap: BinaryHeap<ByPrecedence>,
}

/// An exclusion ordered by its key's precedence (greater = ranked later).
struct ByPrecedence(Excluded);

impl PartialEq for ByPrecedence {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ByPrecedence {}

impl PartialOrd for ByPrecedence {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByPrecedence {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.key.precedence(&other.0.key)
    }
}

impl Best {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            heap: BinaryHeap::new(),
        }
    }

    fn offer(&mut self, entry: Excluded) {
        if self.capacity == 0 {
            return;
        }
        if self.heap.len() < self.capacity {
            self.heap.push(ByPrecedence(entry));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && entry.key.precedence(&worst.0.key) == Ordering::Less
        {
            *worst = ByPrecedence(entry);
        }
    }

    /// The kept entries, best first.
    fn into_sorted(self) -> Vec<Excluded> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|entry| entry.0)
            .collect()
    }
}

/// Answers a recall question over the records visible at the query's `as_of`.
///
/// Candidates are visible records of the requested types. A record sharing no term with the
/// query is excluded (`no lexical overlap with query text`); of the others, retracted ones and
/// superseded ones are excluded; the rest are selected and ranked by BM25 relevance and the
/// shared tail of [`PrecedenceKey`]; those past the limit are excluded as
/// `beyond requested limit`. Every exclusion is counted in `answer.excluded_summary`; which ones are
/// listed depends on [`ExclusionMode`], one page of at most `exclusion_limit` at a time.
///
/// The set may hold only the records sharing a term (the store's indexed path), with the
/// others counted in [`RecordSet::unlisted_without_overlap`]: the package is the same as from
/// the whole set, except that `full` mode can list only records present in the set.
#[must_use]
pub fn recall(set: &RecordSet, query: &RecallQuery) -> ContextPackage {
    let as_of = query.as_of();
    let matcher = TermMatcher::new(query.terms());
    let mut visible = Vec::with_capacity(set.records.len());
    let mut hits = Vec::new();
    let mut sources = Vec::new();
    for record in &set.records {
        if !record_visible_at(record, as_of) {
            continue;
        }
        visible.push(record.memory_version_id);
        if query.record_types().contains(&record.record_type()) {
            hits.push(RecallHit::of_record(record, matcher.stats(record)));
            sources.push(record);
        }
    }
    let snapshot_id =
        snapshot_id_of_parts(visible, &set.edges, set.unlisted_without_overlap, as_of);
    let candidates = RecallCandidates {
        hits,
        edges: set.edges.clone(),
        unlisted_without_overlap: set.unlisted_without_overlap,
    };
    let plan = RecallPlan::rank(candidates, query, snapshot_id);
    // Hit `i` is record `sources[i]` of the set, so no record can be missing.
    match plan.build(|hit| Ok::<_, std::convert::Infallible>(sources[hit])) {
        Ok(package) => package,
        Err(never) => match never {},
    }
}

/// `answer.why` when nothing matched.
pub const WHY_NO_MATCH: &str = "No records matched the query terms";

/// The recall answer: `selected` with how many records matched (and how many the limit kept),
/// or `none`.
fn answer(matched: usize, selected: usize, excluded_summary: BTreeMap<String, u64>) -> Answer {
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
    Answer {
        result,
        why,
        excluded_summary,
    }
}
