//! Lineage edges: the one representation of "A supersedes B" and "A contradicts B", whether
//! the claim was written inside a record (`supersedes`/`contradicts` lists) or later as a link.
//! The store persists edges as derived here, and the resolvers read only edges, so both
//! sources of lineage are treated alike.

use serde::{Deserialize, Serialize};

use crate::ids::MemoryVersionId;
use crate::record::{Link, MemoryRecord, Relation};
use crate::timestamp::Timestamp;

/// One directed lineage claim between two stored versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LineageEdge {
    /// The claiming version.
    pub from: MemoryVersionId,
    /// The version claimed about.
    pub to: MemoryVersionId,
    /// Supersedes or contradicts.
    pub relation: Relation,
    /// The instant from which the claim is visible: a link's `created_at`, or the later of the
    /// claiming record's `created_at` and `effective_at`.
    pub visible_from: Timestamp,
}

impl LineageEdge {
    /// The edges a record's own `supersedes` and `contradicts` lists declare.
    #[must_use]
    pub fn from_record(record: &MemoryRecord) -> Vec<Self> {
        let visible_from = record.created_at.max(record.effective_at);
        let supersedes = record
            .supersedes
            .iter()
            .map(|to| (to, Relation::Supersedes));
        let contradicts = record
            .contradicts
            .iter()
            .map(|to| (to, Relation::Contradicts));
        supersedes
            .chain(contradicts)
            .map(|(to, relation)| Self {
                from: record.memory_version_id,
                to: *to,
                relation,
                visible_from,
            })
            .collect()
    }

    /// The edge a link declares.
    #[must_use]
    pub fn from_link(link: &Link) -> Self {
        Self {
            from: link.from,
            to: link.to,
            relation: link.relation,
            visible_from: link.created_at,
        }
    }

    /// Whether the claim exists at `as_of` (docs/spec/requirements.md: later claims are invisible).
    #[must_use]
    pub fn visible_at(&self, as_of: Timestamp) -> bool {
        self.visible_from <= as_of
    }
}

/// The version of one memory that is current at `as_of`: among `versions` (the versions of
/// one memory) that exist at `as_of`, the highest version that no `supersedes` edge visible at
/// `as_of` targets. `None` when no version exists yet or every existing one is superseded.
/// The same visibility rules as the resolvers, so `ask` and `recall` at `as_of` see this version.
#[must_use]
pub fn current_version(
    versions: &[MemoryRecord],
    edges: &[LineageEdge],
    as_of: Timestamp,
) -> Option<MemoryVersionId> {
    versions
        .iter()
        .filter(|record| crate::resolver::record_visible_at(record, as_of))
        .filter(|record| {
            !edges.iter().any(|edge| {
                edge.relation == Relation::Supersedes
                    && edge.to == record.memory_version_id
                    && edge.visible_at(as_of)
            })
        })
        .max_by_key(|record| record.version)
        .map(|record| record.memory_version_id)
}
