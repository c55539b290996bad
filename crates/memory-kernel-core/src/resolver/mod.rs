//! The two resolvers (docs/spec/resolver.md): policy [`ask`] and [`recall`]. Both are pure functions of a
//! [`RecordSet`] and a validated query; they read no clock, draw no randomness and iterate no
//! hash map, so identical inputs give byte-identical packages whatever the order of the set.

mod ask;
pub mod ordering;
mod query;
mod recall;
pub mod relevance;
mod view;

use std::collections::BTreeMap;

pub use ask::{
    WHY_ALLOW, WHY_CONFLICT, WHY_CONTRADICTION, WHY_DENY, WHY_NONE, ask, scope_specificity,
};
pub use query::{
    AskQuery, DEFAULT_EXCLUSION_LIMIT, DEFAULT_LIMIT, DEFAULT_RECALL_TYPES, ExclusionMode,
    MAX_EXCLUSION_LIMIT, MAX_LIMIT, MAX_TRACE_LINES, PackageBounds, RecallQuery,
};
pub use recall::{MissingRecord, RecallCandidates, RecallHit, RecallPlan, WHY_NO_MATCH, recall};
pub use view::{record_visible_at, snapshot_id};

use crate::ids::MemoryVersionId;
use crate::lineage::LineageEdge;
use crate::package::{ItemWhy, PackageItem, RuleScores};
use crate::record::{Link, MemoryRecord};
use ordering::PrecedenceKey;
use view::LineageView;

/// Exclusion reason: the record's truth status is `retracted` (checked before supersession).
pub const REASON_RETRACTED: &str = "truth_status is retracted";
/// Exclusion reason: a visible supersedes edge targets the record.
pub const REASON_SUPERSEDED: &str = "record is superseded by a newer linked record";
/// Exclusion reason (recall): no query term occurs in the record's text.
pub const REASON_NO_OVERLAP: &str = "no lexical overlap with query text";
/// Exclusion reason (recall): the record would be selected but the limit is reached.
pub const REASON_BEYOND_LIMIT: &str = "beyond requested limit";

/// What a resolver sees: candidate records plus lineage edges touching them. May over-include:
/// the resolver itself drops anything not visible at as_of.
///
/// `memory_version_id` is unique within a set (MKR-019); the resolvers do not repair a set
/// that lists one version twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSet {
    /// Candidate records, in any order.
    pub records: Vec<MemoryRecord>,
    /// Lineage edges touching the records, in any order; duplicates are harmless.
    pub edges: Vec<LineageEdge>,
    /// Recall with `exclusions: summary` only: visible records of the requested types that have no lexical overlap with the query and were therefore not fetched; counted by the store.
    pub unlisted_without_overlap: u64,
}

impl RecordSet {
    /// A set holding `records`, with the edges their own `supersedes`/`contradicts` lists
    /// declare plus one edge per link (the in-memory path used by tests and benchmarks).
    #[must_use]
    pub fn from_records_and_links(records: Vec<MemoryRecord>, links: &[Link]) -> Self {
        let edges = records
            .iter()
            .flat_map(LineageEdge::from_record)
            .chain(links.iter().map(LineageEdge::from_link))
            .collect();
        Self {
            records,
            edges,
            unlisted_without_overlap: 0,
        }
    }
}

/// A candidate record with its precomputed ordering key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked<'a> {
    pub(crate) record: &'a MemoryRecord,
    pub(crate) key: PrecedenceKey,
}

/// A 1-based rank as stored in a package.
fn rank_of(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// A package entry for a record at 0-based `index`.
pub(crate) fn item(index: usize, record: &MemoryRecord, why: ItemWhy) -> PackageItem {
    PackageItem::from_record(rank_of(index), record, why)
}

/// Every exclusion of a query: counted by reason, and kept for listing when the mode lists it.
#[derive(Default)]
pub(crate) struct Exclusions<'a> {
    listable: Vec<(Ranked<'a>, &'static str)>,
    counts: BTreeMap<String, u64>,
}

impl<'a> Exclusions<'a> {
    /// Counts an exclusion and keeps it for listing.
    pub(crate) fn add(&mut self, ranked: Ranked<'a>, reason: &'static str) {
        self.count(reason, 1);
        self.listable.push((ranked, reason));
    }

    /// Counts exclusions that are never listed.
    pub(crate) fn count(&mut self, reason: &'static str, n: u64) {
        if n > 0 {
            *self.counts.entry(reason.to_owned()).or_insert(0) += n;
        }
    }

    /// The requested page of the ranked exclusion list (each item with its single reason and
    /// its rank in the whole list) and the counts by reason. Only the entries up to the end of
    /// the page are sorted.
    pub(crate) fn finish(
        mut self,
        bounds: PackageBounds,
        list: bool,
    ) -> (Vec<PackageItem>, BTreeMap<String, u64>) {
        if !list {
            return (Vec::new(), self.counts);
        }
        let page = bounds.page(self.listable.len());
        if page.is_empty() {
            return (Vec::new(), self.counts);
        }
        let order = |a: &(Ranked<'_>, &str), b: &(Ranked<'_>, &str)| a.0.key.precedence(&b.0.key);
        if page.end < self.listable.len() {
            self.listable.select_nth_unstable_by(page.end, order);
            self.listable.truncate(page.end);
        }
        self.listable.sort_unstable_by(order);
        let items = self.listable[page.clone()]
            .iter()
            .enumerate()
            .map(|(index, (ranked, reason))| {
                let why = ItemWhy {
                    included: false,
                    reasons: vec![(*reason).to_owned()],
                    rule_scores: None,
                };
                item(page.start + index, ranked.record, why)
            })
            .collect();
        (items, self.counts)
    }
}

/// The primary score shown for a selected item: `scope_match` for ask; for recall the
/// number of query terms matched and the relevance.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PrimaryScore {
    Scope,
    Recall { matched: u32 },
}

/// The scores shown for a selected item.
pub(crate) fn rule_scores(key: &PrecedenceKey, primary: PrimaryScore) -> RuleScores {
    let (scope_match, lexical_match_count, relevance) = match primary {
        PrimaryScore::Scope => (Some(key.primary), None, None),
        PrimaryScore::Recall { matched } => (
            None,
            Some(matched),
            Some(relevance::as_decimal(key.primary)),
        ),
    };
    RuleScores {
        scope_match,
        lexical_match_count,
        relevance,
        authority_rank: key.authority_rank,
        truth_status_rank: key.truth_status_rank,
        confidence: key.confidence,
    }
}

/// The reasons every selected item shares after its primary reason: it is active and not
/// superseded.
#[must_use]
pub fn active_reasons(record: &MemoryRecord) -> [String; 2] {
    [
        format!("truth_status {} is active", record.truth_status),
        "no visible record supersedes it".to_owned(),
    ]
}

/// For each selected item (in rank order), the selected items it contradicts or is
/// contradicted by through a visible edge, as `contradicted by <memory_version_id>` reasons
/// sorted by id.
pub(crate) fn contradiction_reasons(
    selected: &[Ranked<'_>],
    view: &LineageView,
) -> Vec<Vec<String>> {
    let mut reasons = vec![Vec::new(); selected.len()];
    if view.contradictions().is_empty() {
        return reasons;
    }
    let mut positions: Vec<(MemoryVersionId, usize)> = selected
        .iter()
        .enumerate()
        .map(|(index, ranked)| (ranked.record.memory_version_id, index))
        .collect();
    positions.sort_unstable();
    let find = |id: MemoryVersionId| {
        positions
            .binary_search_by(|(candidate, _)| candidate.cmp(&id))
            .ok()
            .and_then(|found| positions.get(found))
            .map(|(_, index)| *index)
    };
    let mut others: Vec<Vec<MemoryVersionId>> = vec![Vec::new(); selected.len()];
    for &(a, b) in view.contradictions() {
        if let (Some(ia), Some(ib)) = (find(a), find(b)) {
            others[ia].push(b);
            others[ib].push(a);
        }
    }
    for (ids, out) in others.iter_mut().zip(&mut reasons) {
        ids.sort_unstable();
        ids.dedup();
        out.extend(ids.iter().map(|id| format!("contradicted by {id}")));
    }
    reasons
}

/// The selected items in rank order. Each item's reasons are the resolver's own match reason
/// (`first_reason`, which also gives the item's primary score form), the active-status
/// reasons and any contradiction.
pub(crate) fn selected_items(
    selected: &[Ranked<'_>],
    view: &LineageView,
    mut first_reason: impl FnMut(&Ranked<'_>) -> (String, PrimaryScore),
) -> Vec<PackageItem> {
    let contradictions = contradiction_reasons(selected, view);
    selected
        .iter()
        .zip(contradictions)
        .enumerate()
        .map(|(index, (ranked, contradicted))| {
            let (first, primary) = first_reason(ranked);
            let mut reasons = vec![first];
            reasons.extend(active_reasons(ranked.record));
            reasons.extend(contradicted);
            let why = ItemWhy {
                included: true,
                reasons,
                rule_scores: Some(rule_scores(&ranked.key, primary)),
            };
            item(index, ranked.record, why)
        })
        .collect()
}

/// The `ordering_trace` of a package's selected items, rebuilt from the items alone (a store
/// keeping packages compactly need not keep the trace). Equal to what the resolver wrote.
#[must_use]
pub fn ordering_trace_of(kind: crate::package::QueryKind, selected: &[PackageItem]) -> Vec<String> {
    let keys: Vec<PrecedenceKey> = selected
        .iter()
        .map(|item| {
            let scores = item.why.rule_scores;
            let primary = match kind {
                crate::package::QueryKind::Ask => scores.and_then(|s| s.scope_match).unwrap_or(0),
                crate::package::QueryKind::Recall => scores
                    .and_then(|s| s.relevance)
                    .map_or(0, relevance::from_decimal),
            };
            PrecedenceKey::of_item(primary, item)
        })
        .collect();
    let (name, text): (&str, fn(u32) -> String) = match kind {
        crate::package::QueryKind::Ask => (ASK_PRIMARY, |p| p.to_string()),
        crate::package::QueryKind::Recall => (RECALL_PRIMARY, recall_primary_text),
    };
    keys.windows(2)
        .take(MAX_TRACE_LINES)
        .enumerate()
        .filter_map(|(index, pair)| match pair {
            [first, second] => Some(first.explain_over(second, index + 1, name, text)),
            _ => None,
        })
        .collect()
}

/// The primary key's name in ask traces.
pub(crate) const ASK_PRIMARY: &str = "scope_specificity";
/// The primary key's name in recall traces.
pub(crate) const RECALL_PRIMARY: &str = "relevance";

/// A recall primary (relevance in millionths) as the trace prints it.
pub(crate) fn recall_primary_text(primary: u32) -> String {
    relevance::as_decimal(primary).to_string()
}

/// One line per adjacent pair among the first selected items naming the key that ordered
/// them, at most [`MAX_TRACE_LINES`].
pub(crate) fn ordering_trace(
    selected: &[Ranked<'_>],
    primary_name: &str,
    primary_text: fn(u32) -> String,
) -> Vec<String> {
    selected
        .windows(2)
        .take(MAX_TRACE_LINES)
        .enumerate()
        .filter_map(|(index, pair)| match pair {
            [first, second] => Some(first.key.explain_over(
                &second.key,
                index + 1,
                primary_name,
                primary_text,
            )),
            _ => None,
        })
        .collect()
}
