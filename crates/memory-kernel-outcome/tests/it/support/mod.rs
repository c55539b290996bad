//! Event builders shared by the outcome tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use memory_kernel_core::{MemoryId, Timestamp};
use memory_kernel_outcome::{EventType, OutcomeEvent, RULESET_V1, Ruleset, Severity};

pub const MEMORY: &str = "01J0SQQP7M70P6Y3R4T8D8G8M2";
pub const AT: &str = "2026-02-07T12:00:00Z";

pub fn rulesets() -> BTreeMap<u32, Ruleset> {
    BTreeMap::from([(1, RULESET_V1)])
}

pub fn event(seq: i64, event_type: EventType) -> OutcomeEvent {
    let at: Timestamp = AT.parse().unwrap();
    OutcomeEvent {
        event_seq: seq,
        event_id: ulid::Ulid::from_parts(1, u128::try_from(seq).unwrap()).to_string(),
        ruleset_version: 1,
        memory_id: MEMORY.parse::<MemoryId>().unwrap(),
        version: 1,
        event_type,
        occurred_at: at,
        recorded_at: at,
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

pub fn stream(types: &[EventType]) -> Vec<OutcomeEvent> {
    types
        .iter()
        .zip(1..)
        .map(|(t, seq)| event(seq, *t))
        .collect()
}

pub fn escalated(mut e: OutcomeEvent, severity: Severity) -> OutcomeEvent {
    e.escalated = true;
    e.severity = Some(severity);
    e
}

pub fn with_confidence(mut e: OutcomeEvent, value: f32, override_cap: bool) -> OutcomeEvent {
    e.manual_confidence = Some(value);
    e.override_cap = override_cap;
    e
}
