//! The precedence order shared by both resolvers (docs/spec/resolver.md, §3.2): one primary score (scope
//! specificity for `ask`, BM25 relevance for `recall`) followed by the same tail of
//! tie-breakers. The comparator is total: two keys compare equal only when every field is
//! identical, and the last two fields are identifiers, so distinct records never tie.

use std::cmp::Ordering;

use crate::ids::{MemoryId, MemoryVersionId};
use crate::record::{Confidence, MemoryRecord};
use crate::timestamp::Timestamp;

/// Tie-breaker names for `ask`, in the order they are applied (emitted in the package).
pub const ASK_TIE_BREAKERS: [&str; 8] = [
    "scope_specificity desc",
    "authority_rank desc",
    "truth_status_rank desc",
    "confidence desc",
    "effective_at desc",
    "created_at desc",
    "memory_id asc",
    "memory_version_id asc",
];

/// Tie-breaker names for `recall`, in the order they are applied (emitted in the package).
pub const RECALL_TIE_BREAKERS: [&str; 8] = [
    "relevance desc",
    "authority_rank desc",
    "truth_status_rank desc",
    "confidence desc",
    "effective_at desc",
    "created_at desc",
    "memory_id asc",
    "memory_version_id asc",
];

/// Everything the order looks at, precomputed once per candidate so sorting never touches the
/// record itself.
#[derive(Debug, Clone, Copy)]
pub struct PrecedenceKey {
    /// Scope specificity (ask) or relevance in millionths (recall); higher first.
    pub primary: u32,
    /// [`crate::Authority::rank`]; higher first.
    pub authority_rank: u8,
    /// [`crate::TruthStatus::rank`]; higher first.
    pub truth_status_rank: u8,
    /// Confidence for ordering: the record's, or 0.5 when absent; higher first.
    pub confidence: f32,
    /// When the record takes effect; later first.
    pub effective_at: Timestamp,
    /// When the record was written; later first.
    pub created_at: Timestamp,
    /// Ascending.
    pub memory_id: MemoryId,
    /// Ascending; unique per record, which makes the order strict between distinct records.
    pub memory_version_id: MemoryVersionId,
}

/// Confidence used for ordering: absent counts as [`Confidence::ORDERING_DEFAULT`]; `-0.0` is
/// read as `0.0` so the two spellings of zero never order apart.
#[must_use]
pub fn ordering_confidence(confidence: Option<Confidence>) -> f32 {
    confidence.map_or(Confidence::ORDERING_DEFAULT, Confidence::get) + 0.0
}

impl PrecedenceKey {
    /// The key of a record with the given primary score.
    #[must_use]
    pub fn new(primary: u32, record: &MemoryRecord) -> Self {
        Self {
            primary,
            authority_rank: record.authority.rank(),
            truth_status_rank: record.truth_status.rank(),
            confidence: ordering_confidence(record.confidence),
            effective_at: record.effective_at,
            created_at: record.created_at,
            memory_id: record.memory_id,
            memory_version_id: record.memory_version_id,
        }
    }

    /// The key of a package item (which copies every field the order reads) with the given
    /// primary score: the same key the resolver built from the item's record.
    #[must_use]
    pub fn of_item(primary: u32, item: &crate::package::PackageItem) -> Self {
        Self {
            primary,
            authority_rank: item.authority.rank(),
            truth_status_rank: item.truth_status.rank(),
            confidence: ordering_confidence(item.confidence),
            effective_at: item.effective_at,
            created_at: item.created_at,
            memory_id: item.memory_id,
            memory_version_id: item.memory_version_id,
        }
    }

    /// The precedence comparison: `Less` means `self` is ranked before `other`.
    #[must_use]
    pub fn precedence(&self, other: &Self) -> Ordering {
        other
            .primary
            .cmp(&self.primary)
            .then_with(|| other.authority_rank.cmp(&self.authority_rank))
            .then_with(|| other.truth_status_rank.cmp(&self.truth_status_rank))
            .then_with(|| other.confidence.total_cmp(&self.confidence))
            .then_with(|| other.effective_at.cmp(&self.effective_at))
            .then_with(|| other.created_at.cmp(&self.created_at))
            .then_with(|| self.memory_id.cmp(&other.memory_id))
            .then_with(|| self.memory_version_id.cmp(&other.memory_version_id))
    }

    /// Whether two keys tie on the group that decides a policy answer: primary score,
    /// authority, truth status and confidence (docs/spec/resolver.md top-precedence group).
    #[must_use]
    pub fn same_precedence_group(&self, other: &Self) -> bool {
        self.primary == other.primary
            && self.authority_rank == other.authority_rank
            && self.truth_status_rank == other.truth_status_rank
            && self.confidence.total_cmp(&other.confidence) == Ordering::Equal
    }

    /// One line saying which key placed `self` (at `rank`) before `next` (at `rank + 1`),
    /// e.g. `rank 1 over rank 2: authority_rank 2 > 1`. `primary_name` is the first
    /// tie-breaker's field name and `primary_text` prints its value.
    #[must_use]
    pub fn explain_over(
        &self,
        next: &Self,
        rank: usize,
        primary_name: &str,
        primary_text: fn(u32) -> String,
    ) -> String {
        let head = format!("rank {rank} over rank {}", rank + 1);
        let decided = if self.primary != next.primary {
            format!(
                "{primary_name} {} > {}",
                primary_text(self.primary),
                primary_text(next.primary)
            )
        } else if self.authority_rank != next.authority_rank {
            format!(
                "authority_rank {} > {}",
                self.authority_rank, next.authority_rank
            )
        } else if self.truth_status_rank != next.truth_status_rank {
            format!(
                "truth_status_rank {} > {}",
                self.truth_status_rank, next.truth_status_rank
            )
        } else if self.confidence.total_cmp(&next.confidence) != Ordering::Equal {
            format!("confidence {} > {}", self.confidence, next.confidence)
        } else if self.effective_at != next.effective_at {
            format!("effective_at {} > {}", self.effective_at, next.effective_at)
        } else if self.created_at != next.created_at {
            format!("created_at {} > {}", self.created_at, next.created_at)
        } else if self.memory_id != next.memory_id {
            format!("memory_id {} < {}", self.memory_id, next.memory_id)
        } else if self.memory_version_id != next.memory_version_id {
            format!(
                "memory_version_id {} < {}",
                self.memory_version_id, next.memory_version_id
            )
        } else {
            "identical keys".to_owned()
        };
        format!("{head}: {decided}")
    }
}

impl PartialEq for PrecedenceKey {
    fn eq(&self, other: &Self) -> bool {
        self.precedence(other) == Ordering::Equal
    }
}

impl Eq for PrecedenceKey {}

impl PartialOrd for PrecedenceKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PrecedenceKey {
    /// Same as [`PrecedenceKey::precedence`]: sorting ascending yields rank order.
    fn cmp(&self, other: &Self) -> Ordering {
        self.precedence(other)
    }
}
