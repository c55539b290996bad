//! The outcome rules' one error type. Every refusal is a variant (with its rule as a typed
//! value), so callers classify failures by matching, never by message text.

use thiserror::Error;

/// A write-time rule an outcome event broke, checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EventRule {
    /// The event names ruleset 0.
    #[error("ruleset_version MUST be >= 1")]
    RulesetVersionZero,
    /// The event names memory version 0.
    #[error("version MUST be >= 1")]
    VersionZero,
    /// The writer is blank.
    #[error("writer MUST be provided for every write")]
    WriterMissing,
    /// The justification is blank.
    #[error("justification MUST be provided for every write")]
    JustificationMissing,
    /// An escalated event carries no severity.
    #[error("severity is required when escalated=true")]
    SeverityMissing,
    /// A `manual_set_confidence` event carries no value.
    #[error("manual_set_confidence requires manual_confidence")]
    ManualConfidenceMissing,
    /// A confidence outside [0, 1] (or NaN).
    #[error("manual_confidence MUST be in [0.0, 1.0]")]
    ManualConfidenceOutOfRange,
    /// An `inherited` event carries no source confidence.
    #[error("inherited requires source confidence in manual_confidence")]
    SourceConfidenceMissing,
}

/// A rule a ruleset broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RulesetRule {
    /// Ruleset version 0.
    #[error("ruleset_version MUST be >= 1")]
    VersionZero,
    /// A parameter that must lie in [0, 1] does not.
    #[error("{name} MUST be in [0.0, 1.0]")]
    OutOfUnitRange {
        /// The parameter's JSON key.
        name: &'static str,
    },
    /// An empty validation window.
    #[error("validated_window_size MUST be >= 1")]
    WindowZero,
    /// More wins required than the window can hold.
    #[error("validated_wins_required MUST be <= validated_window_size")]
    WinsExceedWindow,
    /// The probe band is inverted.
    #[error("exploration probe min cannot exceed max")]
    ProbeMinAboveMax,
}

/// A rule a replay stream broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ProjectionRule {
    /// The stream mixes events of several (memory_id, version) keys.
    #[error("replay stream MUST contain a single (memory_id, version) key")]
    MixedKeys,
    /// The stream is not in strictly increasing `event_seq` order.
    #[error("event_seq MUST be strictly increasing")]
    SequenceNotIncreasing,
}

/// Why an outcome rule refused its input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OutcomeError {
    /// An event broke a write-time rule.
    #[error("event validation failed: validation error: {0}")]
    InvalidEvent(EventRule),
    /// A ruleset broke a rule.
    #[error("configuration error: {0}")]
    InvalidRuleset(RulesetRule),
    /// An event or snapshot names a ruleset that is not known.
    #[error("configuration error: missing ruleset configuration for version {version}")]
    MissingRuleset {
        /// The ruleset version asked for.
        version: u32,
    },
    /// Stored ruleset JSON that does not decode.
    #[error("failed to parse ruleset {version}: {detail}")]
    RulesetJson {
        /// The ruleset version whose JSON was read.
        version: u32,
        /// The decoder's explanation.
        detail: String,
    },
    /// A replay stream broke a rule.
    #[error("projection error: {0}")]
    InvalidStream(ProjectionRule),
    /// A candidate is not `<memory_id>:<version>`.
    #[error("candidate must be in <memory_id>:<version> format")]
    CandidateFormat,
    /// A candidate's memory id is not a ULID.
    #[error("invalid ULID memory_id: {raw}")]
    CandidateMemoryId {
        /// The text given.
        raw: String,
    },
    /// A candidate's version is not an unsigned integer.
    #[error("invalid version integer: {raw}")]
    CandidateVersion {
        /// The text given.
        raw: String,
    },
    /// A candidate names version 0.
    #[error("version MUST be >= 1")]
    CandidateVersionZero,
}
