//! Outcome events: what happened when a memory version was used, or what a person or the
//! system decided about its trust. Events are append-only; a snapshot is only ever derived
//! from them.

use std::fmt;
use std::str::FromStr;

use memory_kernel_core::{MemoryId, Timestamp, ValidationError};
use serde::{Deserialize, Serialize};

use crate::error::{EventRule, OutcomeError};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, $allowed:literal { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| ValidationError::UnknownVariant {
                        field: $field,
                        allowed: $allowed,
                        value: s.to_owned(),
                    })
            }
        }
    };
}

wire_enum!(
    /// The kind of an outcome event.
    EventType, "event_type", "success, failure, ignored, unknown, manual_set_confidence, manual_promote, manual_retire, authoritative_contradiction, inherited" {
        /// The memory helped; scored with the success (or edited-success) weight.
        Success => "success",
        /// The memory misled; scored with the failure weight.
        Failure => "failure",
        /// The memory was offered and not used; scored with the ignored weight.
        Ignored => "ignored",
        /// The result is not known; takes a window slot, changes no confidence.
        Unknown => "unknown",
        /// A person set the confidence (optionally overriding a contradiction cap).
        ManualSetConfidence => "manual_set_confidence",
        /// A person made the version active again; validation must be re-earned.
        ManualPromote => "manual_promote",
        /// A person retired the version; sticky until promoted or inherited.
        ManualRetire => "manual_retire",
        /// An authoritative source contradicted the version: degrade and cap.
        AuthoritativeContradiction => "authoritative_contradiction",
        /// Trust passed on from another version's confidence.
        Inherited => "inherited",
    }
);

wire_enum!(
    /// How serious an escalated event is.
    Severity, "severity", "low, med, high" {
        /// Multiplier `severity_low_multiplier`.
        Low => "low",
        /// Multiplier `severity_med_multiplier`.
        Med => "med",
        /// Multiplier `severity_high_multiplier`.
        High => "high",
    }
);

impl EventType {
    /// The event types `mk outcome log` writes (the outcomes of use).
    pub const LOGGED: &'static [Self] =
        &[Self::Success, Self::Failure, Self::Ignored, Self::Unknown];
}

/// An event as a writer submits it, before the store numbers and timestamps it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutcomeEvent {
    /// The event's id; generated when absent.
    pub event_id: Option<ulid::Ulid>,
    /// The ruleset that scores this event.
    pub ruleset_version: u32,
    /// The memory the event is about.
    pub memory_id: MemoryId,
    /// The memory version the event is about.
    pub version: u32,
    /// What happened.
    pub event_type: EventType,
    /// When it happened (UTC).
    pub occurred_at: Timestamp,
    /// Who records it.
    pub writer: String,
    /// Why it is recorded.
    pub justification: String,
    /// The context (run, task, package) the memory was used in.
    pub context_id: Option<String>,
    /// A success whose content was edited before use (half weight).
    pub edited: bool,
    /// Whether the event is escalated (its severity multiplies its weight).
    pub escalated: bool,
    /// The severity of an escalated event.
    pub severity: Option<Severity>,
    /// The value of `manual_set_confidence`, or the source confidence of `inherited`.
    pub manual_confidence: Option<f32>,
    /// With `manual_set_confidence`: let the value pass a contradiction cap.
    pub override_cap: bool,
    /// Opaque caller data.
    pub payload_json: serde_json::Value,
}

impl NewOutcomeEvent {
    /// Checks the write-time rules, in their fixed order.
    ///
    /// # Errors
    /// [`OutcomeError::InvalidEvent`] naming the first rule broken.
    pub fn validate(&self) -> Result<(), OutcomeError> {
        let fail = |rule| Err(OutcomeError::InvalidEvent(rule));
        if self.ruleset_version == 0 {
            return fail(EventRule::RulesetVersionZero);
        }
        if self.version == 0 {
            return fail(EventRule::VersionZero);
        }
        if self.writer.trim().is_empty() {
            return fail(EventRule::WriterMissing);
        }
        if self.justification.trim().is_empty() {
            return fail(EventRule::JustificationMissing);
        }
        if self.escalated && self.severity.is_none() {
            return fail(EventRule::SeverityMissing);
        }
        if self.event_type == EventType::ManualSetConfidence && self.manual_confidence.is_none() {
            return fail(EventRule::ManualConfidenceMissing);
        }
        if self
            .manual_confidence
            .is_some_and(|v| !(0.0..=1.0).contains(&v))
        {
            return fail(EventRule::ManualConfidenceOutOfRange);
        }
        if self.event_type == EventType::Inherited && self.manual_confidence.is_none() {
            return fail(EventRule::SourceConfidenceMissing);
        }
        Ok(())
    }

    /// The stored event this submission becomes, numbered `event_seq`, recorded at
    /// `recorded_at`, with `event_id` generated when absent.
    #[must_use]
    pub fn into_event(
        self,
        event_seq: i64,
        event_id: ulid::Ulid,
        recorded_at: Timestamp,
    ) -> OutcomeEvent {
        OutcomeEvent {
            event_seq,
            event_id: self.event_id.unwrap_or(event_id).to_string(),
            ruleset_version: self.ruleset_version,
            memory_id: self.memory_id,
            version: self.version,
            event_type: self.event_type,
            occurred_at: self.occurred_at,
            recorded_at,
            writer: self.writer,
            justification: self.justification,
            context_id: self.context_id,
            edited: self.edited,
            escalated: self.escalated,
            severity: self.severity,
            manual_confidence: self.manual_confidence,
            override_cap: self.override_cap,
            payload_json: self.payload_json,
        }
    }
}

/// A stored outcome event. JSON keys are in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeEvent {
    /// Store-assigned, strictly increasing across every key.
    pub event_seq: i64,
    /// The event's unique id (a ULID).
    pub event_id: String,
    /// The ruleset that scores this event.
    pub ruleset_version: u32,
    /// The memory the event is about.
    pub memory_id: MemoryId,
    /// The memory version the event is about.
    pub version: u32,
    /// What happened.
    pub event_type: EventType,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When the store appended it.
    pub recorded_at: Timestamp,
    /// Who recorded it.
    pub writer: String,
    /// Why it was recorded.
    pub justification: String,
    /// The context the memory was used in.
    pub context_id: Option<String>,
    /// A success whose content was edited before use.
    pub edited: bool,
    /// Whether the event is escalated.
    pub escalated: bool,
    /// The severity of an escalated event.
    pub severity: Option<Severity>,
    /// Manual value or inherited source confidence.
    pub manual_confidence: Option<f32>,
    /// Whether a manual value passes a contradiction cap.
    pub override_cap: bool,
    /// Opaque caller data.
    pub payload_json: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: EventType) -> NewOutcomeEvent {
        NewOutcomeEvent {
            event_id: None,
            ruleset_version: 1,
            memory_id: "01J0SQQP7M70P6Y3R4T8D8G8M2".parse().unwrap(),
            version: 1,
            event_type,
            occurred_at: "2026-02-07T12:00:00Z".parse().unwrap(),
            writer: "w".into(),
            justification: "j".into(),
            context_id: None,
            edited: false,
            escalated: false,
            severity: None,
            manual_confidence: None,
            override_cap: false,
            payload_json: serde_json::json!({}),
        }
    }

    fn rule_of(e: &NewOutcomeEvent) -> Option<EventRule> {
        match e.validate() {
            Ok(()) => None,
            Err(OutcomeError::InvalidEvent(rule)) => Some(rule),
            Err(other) => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn write_rules_apply_in_order_with_the_original_messages() {
        let mut e = event(EventType::Success);
        assert_eq!(rule_of(&e), None);
        e.writer = "  ".into();
        e.version = 0;
        assert_eq!(rule_of(&e), Some(EventRule::VersionZero));
        e.version = 1;
        assert_eq!(
            e.validate().unwrap_err().to_string(),
            "event validation failed: validation error: writer MUST be provided for every write"
        );
        let mut e = event(EventType::Failure);
        e.escalated = true;
        assert_eq!(rule_of(&e), Some(EventRule::SeverityMissing));
        let e = event(EventType::ManualSetConfidence);
        assert_eq!(rule_of(&e), Some(EventRule::ManualConfidenceMissing));
        let mut e = event(EventType::ManualSetConfidence);
        e.manual_confidence = Some(f32::NAN);
        assert_eq!(rule_of(&e), Some(EventRule::ManualConfidenceOutOfRange));
        let e = event(EventType::Inherited);
        assert_eq!(rule_of(&e), Some(EventRule::SourceConfidenceMissing));
        let mut e = event(EventType::Ignored);
        e.ruleset_version = 0;
        assert_eq!(rule_of(&e), Some(EventRule::RulesetVersionZero));
    }

    #[test]
    fn wire_spellings_round_trip() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::ALL.len(), 9);
        assert!("SUCCESS".parse::<EventType>().is_err());
    }
}
