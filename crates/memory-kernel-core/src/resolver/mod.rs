//! The two resolvers (SPEC §3): policy [`ask`] and [`recall`]. Both are pure functions of a
//! [`RecordSet`] and a validated query; they read no clock, draw no randomness and iterate no
//! hash map, so identical inputs give byte-identical packages whatever the order of the set.

mod ask;
pub mod ordering;
mod query;
mod recall;
mod view;

pub use ask::{
    WHY_ALLOW, WHY_CONFLICT, WHY_CONTRADICTION, WHY_DENY, WHY_NONE, ask, scope_specificity,
};
pub use query::{AskQuery, DEFAULT_RECALL_TYPES, ExclusionMode, RecallQuery};
pub use recall::{WHY_NO_MATCH, recall};
pub use view::{record_visible_at, snapshot_id};

use crate::ids::MemoryVersionId;
use crate::lineage::LineageEdge;
use crate::package::{ItemPayload, ItemWhy, PackageItem, RuleScores};
use crate::record::{Link, MemoryRecord, Payload};
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

/// Sorts candidates into rank order.
pub(crate) fn sort_ranked(items: &mut [Ranked<'_>]) {
    items.sort_unstable_by(|a, b| a.key.precedence(&b.key));
}

/// A 1-based rank as stored in a package.
fn rank_of(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// A package entry for a record.
pub(crate) fn item(index: usize, record: &MemoryRecord, why: ItemWhy) -> PackageItem {
    let payload = match &record.payload {
        Payload::Constraint(c) => ItemPayload::Constraint(c.clone()),
        Payload::Decision(p) | Payload::Preference(p) | Payload::Event(p) | Payload::Outcome(p) => {
            ItemPayload::Summary(p.clone())
        }
    };
    PackageItem {
        rank: rank_of(index),
        memory_version_id: record.memory_version_id,
        memory_id: record.memory_id,
        record_type: record.record_type(),
        version: record.version,
        truth_status: record.truth_status,
        confidence: record.confidence,
        authority: record.authority,
        effective_at: record.effective_at,
        created_at: record.created_at,
        payload,
        why,
    }
}

/// Excluded entries, ranked in their own sequence; each carries its single reason.
pub(crate) fn excluded_items(mut excluded: Vec<(Ranked<'_>, &'static str)>) -> Vec<PackageItem> {
    excluded.sort_unstable_by(|a, b| a.0.key.precedence(&b.0.key));
    excluded
        .iter()
        .enumerate()
        .map(|(index, (ranked, reason))| {
            let why = ItemWhy {
                included: false,
                reasons: vec![(*reason).to_owned()],
                rule_scores: None,
            };
            item(index, ranked.record, why)
        })
        .collect()
}

/// The scores shown for a selected item; `scope_match` for ask, lexical count for recall.
pub(crate) fn rule_scores(key: &PrecedenceKey, scope: bool) -> RuleScores {
    RuleScores {
        scope_match: scope.then_some(key.primary),
        lexical_match_count: (!scope).then_some(key.primary),
        authority_rank: key.authority_rank,
        truth_status_rank: key.truth_status_rank,
        confidence: key.confidence,
    }
}

/// The reasons every selected item shares after its primary reason: it is active and not
/// superseded.
pub(crate) fn active_reasons(record: &MemoryRecord) -> [String; 2] {
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
/// (`first_reason`), the active-status reasons and any contradiction; `scope_scores` picks the
/// ask or recall form of the rule scores.
pub(crate) fn selected_items(
    selected: &[Ranked<'_>],
    view: &LineageView,
    scope_scores: bool,
    mut first_reason: impl FnMut(&Ranked<'_>) -> String,
) -> Vec<PackageItem> {
    let contradictions = contradiction_reasons(selected, view);
    selected
        .iter()
        .zip(contradictions)
        .enumerate()
        .map(|(index, (ranked, contradicted))| {
            let mut reasons = vec![first_reason(ranked)];
            reasons.extend(active_reasons(ranked.record));
            reasons.extend(contradicted);
            let why = ItemWhy {
                included: true,
                reasons,
                rule_scores: Some(rule_scores(&ranked.key, scope_scores)),
            };
            item(index, ranked.record, why)
        })
        .collect()
}

/// One line per adjacent pair of selected items naming the key that ordered them.
pub(crate) fn ordering_trace(selected: &[Ranked<'_>], primary_name: &str) -> Vec<String> {
    selected
        .windows(2)
        .enumerate()
        .filter_map(|(index, pair)| match pair {
            [first, second] => Some(first.key.explain_over(&second.key, index + 1, primary_name)),
            _ => None,
        })
        .collect()
}
