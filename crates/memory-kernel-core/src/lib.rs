//! MemoryKernel core: the typed, append-only memory record model, its validation rules, the
//! policy (`ask`) and recall resolvers, and context-package assembly.
//!
//! This crate performs no I/O. Every resolver is a pure function of a records snapshot and a
//! query, so identical inputs give byte-identical JSON. Persistence lives in
//! `memory-kernel-store`; the stable application surface in `memory-kernel-api`.

pub mod error;
pub mod ids;
pub mod lineage;
pub mod package;
pub mod record;
pub mod resolver;
pub mod terms;
pub mod timestamp;

pub use error::ValidationError;
pub use ids::{MemoryId, MemoryVersionId};
pub use lineage::LineageEdge;
pub use package::ContextPackage;
pub use record::{
    Authority, Confidence, ConstraintPayload, Effect, Link, MemoryRecord, Payload, Provenance,
    RecordType, Relation, Scope, SummaryPayload, TruthStatus,
};
pub use resolver::{AskQuery, ExclusionMode, PackageBounds, RecallQuery, RecordSet, ask, recall};
pub use timestamp::Timestamp;
