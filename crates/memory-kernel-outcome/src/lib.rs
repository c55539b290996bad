//! MemoryKernel's trust layer as pure rules (see `docs/spec/outcome.md`): the outcome events
//! recorded about one memory version, the versioned rulesets that score them, the
//! deterministic fold ("replay") of a version's events into a trust snapshot, read-time
//! decay, and the gate that decides whether a version may enter a context.
//!
//! This crate performs no I/O. Every function is a pure function of its inputs, and all
//! confidence arithmetic is done in `f32`, in a fixed order, so a replay gives the same bits
//! on every machine and in every replay order of the stored stream.

pub mod error;
pub mod event;
pub mod gate;
pub mod projection;
pub mod ruleset;

pub use error::{EventRule, OutcomeError, ProjectionRule, RulesetRule};
pub use event::{EventType, NewOutcomeEvent, OutcomeEvent, Severity};
pub use gate::{
    Candidate, GateDecision, GateMode, decide, parse_candidate, probe_bucket, probe_hash, reason,
};
pub use projection::{TrustSnapshot, TrustStatus, decay_as_of, project};
pub use ruleset::{RULESET_V1, Ruleset};

/// The name of the one projector, as recorded in the projection state.
pub const PROJECTOR_NAME: &str = "trust_v0";
