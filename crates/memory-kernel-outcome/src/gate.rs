//! The gate: whether a memory version may enter a context, in `safe` or `exploration` mode,
//! with exactly one reason code per decision, and the deterministic exploration probe.

use std::fmt;
use std::str::FromStr;

use memory_kernel_core::{MemoryId, ValidationError};
use serde::{Deserialize, Serialize};

use crate::error::OutcomeError;
use crate::projection::{TrustSnapshot, TrustStatus};
use crate::ruleset::Ruleset;

/// The reason codes, one per decision.
pub mod reason {
    /// No trust snapshot exists for the version.
    pub const NO_TRUST_SNAPSHOT: &str = "excluded.no_trust_snapshot";
    /// The version is retired (any mode).
    pub const RETIRED: &str = "excluded.retired";
    /// Safe: validated, uncapped, above the safe threshold.
    pub const SAFE_VALIDATED: &str = "included.safe.validated_threshold";
    /// Safe: anything else.
    pub const SAFE_EXCLUDED: &str = "excluded.safe.threshold_or_status";
    /// Exploration: would pass the safe gate.
    pub const EXPLORATION_SAFE_EQUIVALENT: &str = "included.exploration.safe_equivalent";
    /// Exploration: above the exploration threshold.
    pub const EXPLORATION_ACTIVE: &str = "included.exploration.active_threshold";
    /// Exploration: in the probe band and inside the probe budget.
    pub const EXPLORATION_PROBE_INCLUDED: &str = "included.exploration.probe_bucket";
    /// Exploration: in the probe band, outside the probe budget.
    pub const EXPLORATION_PROBE_EXCLUDED: &str = "excluded.exploration.probe_bucket";
    /// Exploration: below the probe band.
    pub const EXPLORATION_EXCLUDED: &str = "excluded.exploration.threshold_or_status";

    /// Every code, in decision-table order.
    pub const ALL: &[&str] = &[
        NO_TRUST_SNAPSHOT,
        RETIRED,
        SAFE_VALIDATED,
        SAFE_EXCLUDED,
        EXPLORATION_SAFE_EQUIVALENT,
        EXPLORATION_ACTIVE,
        EXPLORATION_PROBE_INCLUDED,
        EXPLORATION_PROBE_EXCLUDED,
        EXPLORATION_EXCLUDED,
    ];
}

/// The gate's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub enum GateMode {
    /// Only validated, uncapped versions above the safe threshold.
    Safe,
    /// Also active versions above the exploration threshold, and a deterministic share of
    /// the probe band.
    Exploration,
}

impl GateMode {
    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Safe => "safe",
            Self::Exploration => "exploration",
        }
    }
}

impl fmt::Display for GateMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GateMode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "safe" => Ok(Self::Safe),
            "exploration" => Ok(Self::Exploration),
            _ => Err(ValidationError::UnknownVariant {
                field: "mode",
                allowed: "safe, exploration",
                value: s.to_owned(),
            }),
        }
    }
}

/// A (memory_id, version) key to gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Candidate {
    /// The memory.
    pub memory_id: MemoryId,
    /// The memory version.
    pub version: u32,
}

/// Parses `<memory_id>:<version>`.
///
/// # Errors
/// [`OutcomeError::CandidateFormat`], [`OutcomeError::CandidateMemoryId`],
/// [`OutcomeError::CandidateVersion`], [`OutcomeError::CandidateVersionZero`].
pub fn parse_candidate(raw: &str) -> Result<Candidate, OutcomeError> {
    let mut parts = raw.split(':');
    let (Some(id), Some(version), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(OutcomeError::CandidateFormat);
    };
    let memory_id = id
        .parse::<MemoryId>()
        .map_err(|_| OutcomeError::CandidateMemoryId { raw: id.to_owned() })?;
    let version = version
        .parse::<u32>()
        .map_err(|_| OutcomeError::CandidateVersion {
            raw: version.to_owned(),
        })?;
    if version == 0 {
        return Err(OutcomeError::CandidateVersionZero);
    }
    Ok(Candidate { memory_id, version })
}

/// One gate decision. JSON keys are in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// The memory.
    pub memory_id: MemoryId,
    /// The memory version.
    pub version: u32,
    /// Whether the version may enter the context.
    pub include: bool,
    /// The effective confidence the gate read (after decay; 0.0 without a snapshot).
    pub confidence_effective: f32,
    /// The status the gate read.
    pub trust_status: TrustStatus,
    /// Whether a contradiction cap limited the confidence.
    pub capped: bool,
    /// Exactly one reason code.
    pub reason_codes: Vec<String>,
}

/// 64-bit FNV-1a over the UTF-8 bytes of `"{MEMORY_ID}:{version}:{context_id or empty}"`.
#[must_use]
pub fn probe_hash(candidate: Candidate, context_id: Option<&str>) -> u64 {
    let key = format!(
        "{}:{}:{}",
        candidate.memory_id,
        candidate.version,
        context_id.unwrap_or("")
    );
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The probe bucket in [0, 1]: the hash over `u64::MAX`, computed in `f64`, then `f32`.
#[must_use]
pub fn probe_bucket(candidate: Candidate, context_id: Option<&str>) -> f32 {
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    let bucket = (probe_hash(candidate, context_id) as f64 / u64::MAX as f64) as f32;
    bucket
}

/// Decides one candidate from its snapshot as read at the gate's time (decay already
/// applied), under `ruleset`.
#[must_use]
pub fn decide(
    candidate: Candidate,
    snapshot: Option<&TrustSnapshot>,
    mode: GateMode,
    context_id: Option<&str>,
    ruleset: &Ruleset,
) -> GateDecision {
    let Some(s) = snapshot else {
        return GateDecision {
            memory_id: candidate.memory_id,
            version: candidate.version,
            include: false,
            confidence_effective: 0.0,
            trust_status: TrustStatus::Active,
            capped: false,
            reason_codes: vec![reason::NO_TRUST_SNAPSHOT.to_owned()],
        };
    };
    let eff = s.confidence_effective;
    let capped = s.capped();
    let safe_ok =
        s.trust_status == TrustStatus::Validated && !capped && eff >= ruleset.safe_min_confidence;
    let (include, code) = if s.trust_status == TrustStatus::Retired {
        (false, reason::RETIRED)
    } else {
        match mode {
            GateMode::Safe if safe_ok => (true, reason::SAFE_VALIDATED),
            GateMode::Safe => (false, reason::SAFE_EXCLUDED),
            GateMode::Exploration if safe_ok => (true, reason::EXPLORATION_SAFE_EQUIVALENT),
            // Any version that is not retired (validated included) passes on confidence.
            GateMode::Exploration if eff >= ruleset.exploration_min_confidence => {
                (true, reason::EXPLORATION_ACTIVE)
            }
            GateMode::Exploration
                if eff >= ruleset.exploration_probe_min_confidence
                    && eff < ruleset.exploration_probe_max_confidence =>
            {
                if probe_bucket(candidate, context_id) <= ruleset.exploration_probe_budget {
                    (true, reason::EXPLORATION_PROBE_INCLUDED)
                } else {
                    (false, reason::EXPLORATION_PROBE_EXCLUDED)
                }
            }
            GateMode::Exploration => (false, reason::EXPLORATION_EXCLUDED),
        }
    };
    GateDecision {
        memory_id: candidate.memory_id,
        version: candidate.version,
        include,
        confidence_effective: eff,
        trust_status: s.trust_status,
        capped,
        reason_codes: vec![code.to_owned()],
    }
}
