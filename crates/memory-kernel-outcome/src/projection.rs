//! The fold of one version's events into a trust snapshot, and read-time decay.
//!
//! All arithmetic is `f32`, in the order written here; with the built-in ruleset three
//! successes give exactly `0.73052734`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use memory_kernel_core::{MemoryId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::{OutcomeError, ProjectionRule};
use crate::event::{EventType, OutcomeEvent};
use crate::ruleset::Ruleset;

/// The trust status of a memory version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustStatus {
    /// Neither validated nor retired.
    Active,
    /// Enough recent successes, no recent failure, not capped.
    Validated,
    /// Retired by a person; sticky until promoted or inherited.
    Retired,
}

impl TrustStatus {
    /// Every status.
    pub const ALL: &'static [Self] = &[Self::Active, Self::Validated, Self::Retired];

    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Validated => "validated",
            Self::Retired => "retired",
        }
    }
}

impl fmt::Display for TrustStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The trust of one memory version, as of its last event. JSON keys are in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustSnapshot {
    /// The memory.
    pub memory_id: MemoryId,
    /// The memory version.
    pub version: u32,
    /// Confidence before the cap.
    pub confidence_raw: f32,
    /// Confidence after the cap (what gates read).
    pub confidence_effective: f32,
    /// Where decay pulls the confidence back to.
    pub baseline_confidence: f32,
    /// Active, validated or retired.
    pub trust_status: TrustStatus,
    /// Whether a contradiction cap is in force.
    pub contradiction_cap_active: bool,
    /// The cap's value (1.0 without one).
    pub cap_value: f32,
    /// Whether a manual value overrides the cap.
    pub manual_override_active: bool,
    /// Successes in the window of recent outcomes.
    pub wins_last5: u32,
    /// Failures in the window of recent outcomes.
    pub failures_last5: u32,
    /// The sequence number of the last event folded.
    pub last_event_seq: i64,
    /// The ruleset of the last event folded (decay reads it).
    #[serde(skip)]
    pub last_ruleset_version: u32,
    /// When the last scored event occurred.
    pub last_scored_at: Option<Timestamp>,
    /// When the last event folded was recorded.
    pub updated_at: Timestamp,
}

impl TrustSnapshot {
    /// Whether the cap limits the effective confidence (a cap without an override).
    #[must_use]
    pub const fn capped(&self) -> bool {
        self.contradiction_cap_active && !self.manual_override_active
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Success,
    Failure,
    Ignored,
    Unknown,
}

fn clamp(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

fn effective(raw: f32, cap_active: bool, cap_value: f32, override_active: bool) -> f32 {
    if cap_active && !override_active {
        raw.min(cap_value)
    } else {
        raw
    }
}

fn count(window: &VecDeque<Slot>, slot: Slot) -> u32 {
    u32::try_from(window.iter().filter(|s| **s == slot).count()).unwrap_or(u32::MAX)
}

/// Folds the events of one (memory_id, version) key, in `event_seq` order, into its snapshot;
/// `None` for an empty stream. Each event is scored with its own ruleset.
///
/// # Errors
/// [`OutcomeError::InvalidStream`] for a stream of several keys or out of order;
/// [`OutcomeError::MissingRuleset`] when an event names an unknown ruleset.
pub fn project(
    events: &[OutcomeEvent],
    rulesets: &BTreeMap<u32, Ruleset>,
) -> Result<Option<TrustSnapshot>, OutcomeError> {
    let Some(first) = events.first() else {
        return Ok(None);
    };
    let ruleset_of = |version: u32| {
        rulesets
            .get(&version)
            .ok_or(OutcomeError::MissingRuleset { version })
    };
    let mut baseline = ruleset_of(first.ruleset_version)?.base_confidence;
    let mut raw = baseline;
    let mut status = TrustStatus::Active;
    let mut cap_active = false;
    let mut cap_value = 1.0_f32;
    let mut override_active = false;
    let mut last_scored_at = None;
    let mut window: VecDeque<Slot> = VecDeque::new();
    let mut previous_seq: Option<i64> = None;
    let mut eff = raw;
    for event in events {
        if event.memory_id != first.memory_id || event.version != first.version {
            return Err(OutcomeError::InvalidStream(ProjectionRule::MixedKeys));
        }
        if previous_seq.is_some_and(|seq| event.event_seq <= seq) {
            return Err(OutcomeError::InvalidStream(
                ProjectionRule::SequenceNotIncreasing,
            ));
        }
        previous_seq = Some(event.event_seq);
        let r = ruleset_of(event.ruleset_version)?;
        let mut push = |slot| {
            window.push_back(slot);
            while window.len() > usize::from(r.validated_window_size) {
                window.pop_front();
            }
        };
        let scored = match event.event_type {
            EventType::Success if event.edited => Some((r.edited_success_weight, Slot::Success)),
            EventType::Success => Some((r.success_weight, Slot::Success)),
            EventType::Failure => Some((r.failure_weight, Slot::Failure)),
            EventType::Ignored => Some((r.ignored_weight, Slot::Ignored)),
            _ => None,
        };
        if let Some((weight, slot)) = scored {
            let m = r.multiplier(event.escalated, event.severity);
            raw = clamp(raw + r.alpha * weight * m);
            raw = clamp(baseline + (raw - baseline) * (1.0 - r.per_event_decay));
            last_scored_at = Some(event.occurred_at);
            push(slot);
        }
        match event.event_type {
            EventType::Unknown => push(Slot::Unknown),
            EventType::ManualSetConfidence => {
                raw = clamp(event.manual_confidence.unwrap_or(raw));
                override_active = event.override_cap;
            }
            EventType::ManualPromote => {
                status = TrustStatus::Active;
                window.clear();
            }
            EventType::ManualRetire => status = TrustStatus::Retired,
            EventType::AuthoritativeContradiction => {
                cap_active = true;
                cap_value = r.contradiction_cap;
                raw = clamp(raw - r.contradiction_degrade);
            }
            EventType::Inherited => {
                let source = event.manual_confidence.unwrap_or(0.0);
                baseline = clamp(r.inheritance_factor * source).min(r.inheritance_cap);
                raw = baseline;
                cap_active = false;
                cap_value = 1.0;
                override_active = false;
                window.clear();
                status = TrustStatus::Active;
            }
            EventType::Success | EventType::Failure | EventType::Ignored => {}
        }
        eff = effective(raw, cap_active, cap_value, override_active);
        if status != TrustStatus::Retired {
            // A cap blocks validation only while it limits the confidence: an override
            // restores the path to `validated` (see docs/spec/outcome.md, differences).
            let capped = cap_active && !override_active;
            let validated = !capped
                && count(&window, Slot::Success) >= u32::from(r.validated_wins_required)
                && count(&window, Slot::Failure) == 0;
            status = if validated {
                TrustStatus::Validated
            } else {
                TrustStatus::Active
            };
        }
    }
    let last = events.last().unwrap_or(first);
    Ok(Some(TrustSnapshot {
        memory_id: first.memory_id,
        version: first.version,
        confidence_raw: raw,
        confidence_effective: eff,
        baseline_confidence: baseline,
        trust_status: status,
        contradiction_cap_active: cap_active,
        cap_value,
        manual_override_active: override_active,
        wins_last5: count(&window, Slot::Success),
        failures_last5: count(&window, Slot::Failure),
        last_event_seq: last.event_seq,
        last_ruleset_version: last.ruleset_version,
        last_scored_at,
        updated_at: last.recorded_at,
    }))
}

/// The snapshot as read at `as_of`: the raw confidence decays toward the baseline by
/// `exp(-lambda * days)` since the last scored event. Never stored. Unchanged for a retired
/// version, one never scored, or an `as_of` not after the last scored event.
#[must_use]
pub fn decay_as_of(snapshot: &TrustSnapshot, as_of: Timestamp, ruleset: &Ruleset) -> TrustSnapshot {
    let mut out = snapshot.clone();
    let Some(scored_at) = snapshot.last_scored_at else {
        return out;
    };
    if snapshot.trust_status == TrustStatus::Retired || as_of <= scored_at {
        return out;
    }
    #[allow(clippy::cast_precision_loss)]
    let days = (as_of.unix_nanos() - scored_at.unix_nanos()) as f64 / 1e9 / 86_400.0;
    #[allow(clippy::cast_possible_truncation)]
    let k = (-f64::from(ruleset.read_decay_lambda_per_day) * days).exp() as f32;
    let baseline = snapshot.baseline_confidence;
    out.confidence_raw = clamp(baseline + (snapshot.confidence_raw - baseline) * k);
    out.confidence_effective = effective(
        out.confidence_raw,
        out.contradiction_cap_active,
        out.cap_value,
        out.manual_override_active,
    );
    out
}
