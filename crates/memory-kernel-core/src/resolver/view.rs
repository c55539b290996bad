//! What a [`RecordSet`] looks like at one instant: which records and lineage edges exist at
//! `as_of`, which records are superseded, which pairs contradict, and the snapshot id naming
//! exactly that state.

use sha2::{Digest, Sha256};

use super::RecordSet;
use crate::ids::MemoryVersionId;
use crate::lineage::LineageEdge;
use crate::record::{MemoryRecord, Relation};
use crate::timestamp::Timestamp;

/// Version of the canonical text hashed into a snapshot id; bump it if that text changes.
const SNAPSHOT_FORMAT: &str = "memorykernel.snapshot.v1";

/// Whether a record exists for a question asked at `as_of`: written and in effect by then.
#[must_use]
pub fn record_visible_at(record: &MemoryRecord, as_of: Timestamp) -> bool {
    record.created_at <= as_of && record.effective_at <= as_of
}

/// Lineage as seen at one instant. Lookups use sorted vectors, so nothing here depends on
/// hashing or on the order of the input.
#[derive(Debug, Clone)]
pub(crate) struct LineageView {
    superseded: Vec<MemoryVersionId>,
    /// Contradiction pairs, each stored as (smaller id, larger id).
    contradictions: Vec<(MemoryVersionId, MemoryVersionId)>,
}

impl LineageView {
    pub(crate) fn at(set: &RecordSet, as_of: Timestamp) -> Self {
        Self::of_edges(&set.edges, as_of)
    }

    /// The view of lineage edges (in any order, duplicates harmless) at `as_of`.
    pub(crate) fn of_edges(edges: &[LineageEdge], as_of: Timestamp) -> Self {
        let mut superseded = Vec::new();
        let mut contradictions = Vec::new();
        for edge in edges.iter().filter(|edge| edge.visible_at(as_of)) {
            match edge.relation {
                Relation::Supersedes => superseded.push(edge.to),
                Relation::Contradicts => {
                    contradictions.push((edge.from.min(edge.to), edge.from.max(edge.to)));
                }
            }
        }
        superseded.sort_unstable();
        superseded.dedup();
        contradictions.sort_unstable();
        contradictions.dedup();
        Self {
            superseded,
            contradictions,
        }
    }

    /// Whether a visible supersedes edge targets the version.
    pub(crate) fn is_superseded(&self, id: MemoryVersionId) -> bool {
        self.superseded.binary_search(&id).is_ok()
    }

    /// Every visible contradiction pair, as (smaller id, larger id), sorted.
    pub(crate) fn contradictions(&self) -> &[(MemoryVersionId, MemoryVersionId)] {
        &self.contradictions
    }
}

/// The snapshot id of a record set at `as_of`: `snap_` + hex SHA-256 of a canonical byte
/// string naming the visible records (sorted, deduplicated version ids), the visible edges
/// (sorted, deduplicated `(from, to, relation)`), and `unlisted_without_overlap`. Records and
/// links that appear after `as_of` do not change it, and neither does the order of the set's
/// vectors. The byte layout is specified in `docs/spec/context-package.md`; ids are hashed as
/// their 16 big-endian bytes rather than as text, which halves the hashing of large sets.
#[must_use]
pub fn snapshot_id(set: &RecordSet, as_of: Timestamp) -> String {
    let visible = set
        .records
        .iter()
        .filter(|record| record_visible_at(record, as_of))
        .map(|record| record.memory_version_id)
        .collect();
    snapshot_id_of_visible(visible, set, as_of)
}

/// [`snapshot_id`] when the resolver has already collected the visible records' ids during its
/// own scan, so the set is not filtered twice.
pub(crate) fn snapshot_id_of_visible(
    visible: Vec<MemoryVersionId>,
    set: &RecordSet,
    as_of: Timestamp,
) -> String {
    snapshot_id_of_parts(visible, &set.edges, set.unlisted_without_overlap, as_of)
}

/// The snapshot id from its parts: the visible records' ids (any order, duplicates harmless),
/// the lineage edges touching them and the count of unlisted records.
pub(crate) fn snapshot_id_of_parts(
    visible: Vec<MemoryVersionId>,
    edges: &[LineageEdge],
    unlisted_without_overlap: u64,
    as_of: Timestamp,
) -> String {
    let mut records: Vec<u128> = visible
        .into_iter()
        .map(|id| u128::from(id.ulid()))
        .collect();
    records.sort_unstable();
    records.dedup();
    let mut edges: Vec<(u128, u128, u8)> = edges
        .iter()
        .filter(|edge| edge.visible_at(as_of))
        .map(|edge| {
            let relation = match edge.relation {
                Relation::Supersedes => 0,
                Relation::Contradicts => 1,
            };
            (
                u128::from(edge.from.ulid()),
                u128::from(edge.to.ulid()),
                relation,
            )
        })
        .collect();
    edges.sort_unstable();
    edges.dedup();

    let mut bytes =
        Vec::with_capacity(SNAPSHOT_FORMAT.len() + 25 + records.len() * 16 + edges.len() * 33);
    bytes.extend_from_slice(SNAPSHOT_FORMAT.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(&(records.len() as u64).to_be_bytes());
    for id in &records {
        bytes.extend_from_slice(&id.to_be_bytes());
    }
    bytes.extend_from_slice(&(edges.len() as u64).to_be_bytes());
    for (from, to, relation) in &edges {
        bytes.extend_from_slice(&from.to_be_bytes());
        bytes.extend_from_slice(&to.to_be_bytes());
        bytes.push(*relation);
    }
    bytes.extend_from_slice(&unlisted_without_overlap.to_be_bytes());
    format!("snap_{}", hex::encode(Sha256::digest(&bytes)))
}
