//! The order records of the original are carried in, and which of its lineage claims become
//! entries of a record's own `supersedes` / `contradicts` lists.
//!
//! The original kept lineage only as link rows, created whenever they were written, and showed
//! every outgoing link in the record's lists. This store keeps a record's lists immutable and
//! requires their targets to be stored first, and makes a list's claims visible from the
//! record's own time. So the carry fixes one order (each memory's versions ascending, otherwise
//! earlier `created_at` first, then memory_version_id) and lists a claim in the claiming
//! record when its target comes earlier in that order; a claim about a later record cannot be
//! part of the claimant's lists and stays a link only.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

use memory_kernel_core::{MemoryId, MemoryRecord, MemoryVersionId, Relation, Timestamp};

/// One lineage claim: `from` supersedes or contradicts `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The claiming version.
    pub(crate) from: MemoryVersionId,
    /// The version claimed about.
    pub(crate) to: MemoryVersionId,
    /// The relation.
    pub(crate) relation: Relation,
}

/// Sorts items into carry order: within one memory by version, and across memories by the
/// earliest `created_at`, then memory_version_id, among the next version of each memory.
pub(crate) fn carry_order<T>(items: Vec<T>, record: impl Fn(&T) -> &MemoryRecord) -> Vec<T> {
    let mut chains: BTreeMap<MemoryId, Vec<T>> = BTreeMap::new();
    for item in items {
        chains
            .entry(record(&item).memory_id)
            .or_default()
            .push(item);
    }
    let mut chains: Vec<VecDeque<T>> = chains
        .into_values()
        .map(|mut chain| {
            chain.sort_by_key(|item| {
                let r = record(item);
                (r.version, r.created_at, r.memory_version_id)
            });
            VecDeque::from(chain)
        })
        .collect();
    let head = |chain: &VecDeque<T>,
                index: usize|
     -> Option<Reverse<(Timestamp, MemoryVersionId, usize)>> {
        chain.front().map(|item| {
            let r = record(item);
            Reverse((r.created_at, r.memory_version_id, index))
        })
    };
    let mut ready: BinaryHeap<_> = chains
        .iter()
        .enumerate()
        .filter_map(|(index, chain)| head(chain, index))
        .collect();
    let mut ordered = Vec::new();
    while let Some(Reverse((_, _, index))) = ready.pop() {
        let chain = &mut chains[index];
        if let Some(item) = chain.pop_front() {
            ordered.push(item);
        }
        if let Some(next) = head(chain, index) {
            ready.push(next);
        }
    }
    ordered
}

/// Adds each claim to its claimant's list when both are among `records` (already in carry
/// order) and the target comes first; a target listed already is not repeated. Returns the
/// claims that could not be listed: those about a later record, and those naming a version
/// outside `records`.
pub(crate) fn place_claims<T>(
    records: &mut [T],
    record: impl Fn(&mut T) -> &mut MemoryRecord,
    claims: impl IntoIterator<Item = Claim>,
) -> Vec<Claim> {
    let mut position: HashMap<MemoryVersionId, usize> = HashMap::new();
    for (index, item) in records.iter_mut().enumerate() {
        position.insert(record(item).memory_version_id, index);
    }
    let mut unplaced = Vec::new();
    for claim in claims {
        match (position.get(&claim.from), position.get(&claim.to)) {
            (Some(&from), Some(&to)) if to < from => {
                let claimant = record(&mut records[from]);
                let list = match claim.relation {
                    Relation::Supersedes => &mut claimant.supersedes,
                    Relation::Contradicts => &mut claimant.contradicts,
                };
                if !list.contains(&claim.to) {
                    list.push(claim.to);
                }
            }
            _ => unplaced.push(claim),
        }
    }
    unplaced
}
