//! Test record builder shared by the integration tests. Ids are small integers turned into
//! ULIDs, and instants are seconds after 2026-01-01T00:00:00Z, so tests read as tables.

use memory_kernel_core::{
    Authority, Confidence, ConstraintPayload, Effect, Link, MemoryId, MemoryRecord,
    MemoryVersionId, Payload, Provenance, RecordType, Relation, Scope, Timestamp, TruthStatus,
};
use ulid::Ulid;

/// 2026-01-01T00:00:00Z.
pub const EPOCH: i64 = 1_767_225_600;

/// The instant `seconds` after [`EPOCH`].
pub fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(EPOCH + seconds).unwrap()
}

/// A version id from a small integer.
pub fn vid(n: u128) -> MemoryVersionId {
    MemoryVersionId::from_ulid(Ulid::from(n))
}

/// A memory id from a small integer.
pub fn mid(n: u128) -> MemoryId {
    MemoryId::from_ulid(Ulid::from(n))
}

/// Builds a valid record field by field.
#[derive(Debug, Clone)]
pub struct Rec(MemoryRecord);

impl Rec {
    fn with_payload(id: u128, payload: Payload) -> Self {
        Self(MemoryRecord {
            memory_version_id: vid(id),
            memory_id: mid(id),
            version: 1,
            created_at: ts(0),
            effective_at: ts(0),
            truth_status: TruthStatus::Asserted,
            authority: Authority::Authoritative,
            confidence: None,
            writer: "tester".to_owned(),
            justification: "test fixture".to_owned(),
            provenance: Provenance {
                source_uri: "file:///fixture.md".to_owned(),
                source_hash: None,
                evidence: Vec::new(),
            },
            supersedes: Vec::new(),
            contradicts: Vec::new(),
            payload,
        })
    }

    /// A constraint with version id and memory id `id`.
    pub fn constraint(id: u128, actor: &str, action: &str, resource: &str, effect: Effect) -> Self {
        let scope = Scope::new(actor, action, resource).unwrap();
        Self::with_payload(
            id,
            Payload::Constraint(ConstraintPayload {
                scope,
                effect,
                note: None,
            }),
        )
    }

    /// A summary record with version id and memory id `id`.
    pub fn summary(id: u128, record_type: RecordType, text: &str) -> Self {
        Self::with_payload(id, Payload::summary(record_type, text).unwrap())
    }

    pub fn truth(mut self, truth_status: TruthStatus) -> Self {
        self.0.truth_status = truth_status;
        self
    }

    pub fn authority(mut self, authority: Authority) -> Self {
        self.0.authority = authority;
        self
    }

    pub fn confidence(mut self, value: f64) -> Self {
        self.0.confidence = Some(Confidence::new(value).unwrap());
        self
    }

    pub fn created(mut self, seconds: i64) -> Self {
        self.0.created_at = ts(seconds);
        self
    }

    pub fn effective(mut self, seconds: i64) -> Self {
        self.0.effective_at = ts(seconds);
        self
    }

    /// Sets both instants.
    pub fn at(self, seconds: i64) -> Self {
        self.created(seconds).effective(seconds)
    }

    pub fn memory(mut self, id: u128) -> Self {
        self.0.memory_id = mid(id);
        self
    }

    pub fn version(mut self, version: u32) -> Self {
        self.0.version = version;
        self
    }

    pub fn supersedes(mut self, id: u128) -> Self {
        self.0.supersedes.push(vid(id));
        self
    }

    pub fn contradicts(mut self, id: u128) -> Self {
        self.0.contradicts.push(vid(id));
        self
    }

    pub fn note(mut self, note: &str) -> Self {
        if let Payload::Constraint(c) = &mut self.0.payload {
            c.note = Some(note.to_owned());
        }
        self
    }

    /// Escape hatch for validation tests that need an invalid record.
    pub fn edit(mut self, f: impl FnOnce(&mut MemoryRecord)) -> Self {
        f(&mut self.0);
        self
    }

    /// The record; panics if it does not validate, so scenarios never run on bad fixtures.
    pub fn build(self) -> MemoryRecord {
        self.0.validate().unwrap();
        self.0
    }

    /// The record without validating it.
    pub fn raw(self) -> MemoryRecord {
        self.0
    }
}

/// A link written at `seconds`.
pub fn link(from: u128, to: u128, relation: Relation, seconds: i64) -> Link {
    Link {
        from: vid(from),
        to: vid(to),
        relation,
        writer: "tester".to_owned(),
        justification: "test link".to_owned(),
        created_at: ts(seconds),
    }
}

/// The version ids of a list of package items, in order.
pub fn ids(items: &[memory_kernel_core::package::PackageItem]) -> Vec<MemoryVersionId> {
    items.iter().map(|item| item.memory_version_id).collect()
}
