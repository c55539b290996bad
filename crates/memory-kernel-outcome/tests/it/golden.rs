//! The published reference values of ruleset v1, bit for bit, and the gate's decision table.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{self, MEMORY, escalated, event, rulesets, stream, with_confidence};
use memory_kernel_core::Timestamp;
use memory_kernel_outcome::{
    Candidate, EventType, GateMode, OutcomeError, RULESET_V1, Severity, TrustSnapshot, TrustStatus,
    decay_as_of, decide, parse_candidate, probe_bucket, probe_hash, project, reason,
};

use EventType::{
    AuthoritativeContradiction, Failure, Ignored, Inherited, ManualPromote, ManualRetire,
    ManualSetConfidence, Success, Unknown,
};

fn snap(events: &[memory_kernel_outcome::OutcomeEvent]) -> TrustSnapshot {
    project(events, &rulesets()).unwrap().unwrap()
}

fn raw_of(types: &[EventType]) -> f32 {
    snap(&stream(types)).confidence_raw
}

fn candidate() -> Candidate {
    Candidate {
        memory_id: MEMORY.parse().unwrap(),
        version: 1,
    }
}

#[test]
fn success_sequence_matches_the_reference_bits() {
    assert_eq!(raw_of(&[Success]), 0.5784_f32);
    assert_eq!(raw_of(&[Success, Success]), 0.655_232_f32);
    let three = snap(&stream(&[Success, Success, Success]));
    assert_eq!(three.confidence_raw, 0.730_527_34_f32);
    assert_eq!(three.confidence_raw.to_string(), "0.73052734");
    assert_eq!(three.trust_status, TrustStatus::Validated);
    assert_eq!((three.wins_last5, three.failures_last5), (3, 0));
}

#[test]
fn single_events_match_the_reference_bits() {
    let mut edited = event(1, Success);
    edited.edited = true;
    assert_eq!(snap(&[edited]).confidence_raw, 0.5392_f32);
    assert_eq!(raw_of(&[Ignored]), 0.488_24_f32);
    assert_eq!(raw_of(&[Failure]), 0.402_f32);
    let unknown = snap(&stream(&[Unknown]));
    assert_eq!(unknown.confidence_raw, 0.5);
    assert_eq!(unknown.last_scored_at, None);
}

#[test]
fn inheritance_and_escalation_match_the_reference_bits() {
    let inherit = with_confidence(event(1, Inherited), 0.95, false);
    let s = snap(std::slice::from_ref(&inherit));
    assert_eq!(s.baseline_confidence, 0.664_999_96_f32);
    let s = snap(&[inherit, escalated(event(2, Failure), Severity::High)]);
    assert_eq!(s.confidence_raw, 0.518_f32);
}

#[test]
fn contradiction_degrades_and_caps() {
    let s = snap(&stream(&[Success, Success, AuthoritativeContradiction]));
    assert_eq!(s.confidence_raw, 0.355_232_f32);
    assert!(s.contradiction_cap_active && s.capped());
    assert_eq!(s.cap_value, 0.4_f32);
    let s = snap(&stream(&[
        Success,
        Success,
        Success,
        Success,
        AuthoritativeContradiction,
    ]));
    assert!(s.confidence_effective <= 0.40);
    assert_eq!(s.trust_status, TrustStatus::Active);
}

#[test]
fn validation_needs_three_wins_and_no_failure_in_the_window() {
    assert_eq!(
        snap(&stream(&[Success, Success])).trust_status,
        TrustStatus::Active
    );
    assert_eq!(
        snap(&stream(&[Success, Success, Failure, Success])).trust_status,
        TrustStatus::Active
    );
    // The failure leaves the five-slot window after five more outcomes.
    let s = snap(&stream(&[
        Failure, Success, Success, Success, Unknown, Unknown,
    ]));
    assert_eq!(s.trust_status, TrustStatus::Validated);
    assert_eq!((s.wins_last5, s.failures_last5), (3, 0));
    // The golden fixture: S, S, I, S, U.
    let s = snap(&stream(&[Success, Success, Ignored, Success, Unknown]));
    assert_eq!(s.trust_status, TrustStatus::Validated);
    assert!(s.confidence_effective > 0.55);
}

#[test]
fn retire_is_sticky_until_promote_and_promote_clears_the_window() {
    let s = snap(&stream(&[Success, Success, Success, ManualRetire, Success]));
    assert_eq!(s.trust_status, TrustStatus::Retired);
    let s = snap(&stream(&[
        Success,
        Success,
        Success,
        ManualRetire,
        ManualPromote,
    ]));
    assert_eq!(s.trust_status, TrustStatus::Active);
    assert_eq!((s.wins_last5, s.failures_last5), (0, 0));
}

#[test]
fn manual_override_passes_the_cap_and_restores_validation() {
    let mut events = stream(&[AuthoritativeContradiction]);
    events.push(with_confidence(event(2, ManualSetConfidence), 0.9, true));
    for seq in 3..8 {
        events.push(event(seq, Success));
    }
    let s = snap(&events);
    assert!(s.confidence_effective > 0.40);
    assert!(!s.capped());
    // Deliberate difference from the original: an overridden cap no longer blocks validation.
    assert_eq!(s.trust_status, TrustStatus::Validated);
    let at: Timestamp = support::AT.parse().unwrap();
    let d = decide(
        candidate(),
        Some(&decay_as_of(&s, at, &RULESET_V1)),
        GateMode::Safe,
        None,
        &RULESET_V1,
    );
    assert_eq!(d.reason_codes, [reason::SAFE_VALIDATED]);
    // A later value without the override puts the cap back in force.
    events.push(with_confidence(event(8, ManualSetConfidence), 0.9, false));
    let s = snap(&events);
    assert_eq!(s.confidence_effective, 0.4_f32);
    assert_eq!(s.trust_status, TrustStatus::Active);
}

#[test]
fn inheritance_resets_baseline_with_cap() {
    let mut events = stream(&[AuthoritativeContradiction]);
    events.push(with_confidence(event(2, Inherited), 0.95, false));
    let s = snap(&events);
    assert_eq!(s.confidence_raw, 0.664_999_96_f32);
    assert!(!s.contradiction_cap_active);
    // With v1 the factor (0.70) keeps every baseline under the cap (0.80); a ruleset with a
    // larger factor meets the cap.
    let s = snap(&[with_confidence(event(1, Inherited), 1.0, false)]);
    assert_eq!(s.baseline_confidence, 0.7_f32);
    let mut generous = RULESET_V1;
    generous.inheritance_factor = 1.0;
    let rules = std::collections::BTreeMap::from([(1, generous)]);
    let s = project(&[with_confidence(event(1, Inherited), 1.0, false)], &rules)
        .unwrap()
        .unwrap();
    assert_eq!(s.baseline_confidence, 0.8_f32);
}

#[test]
fn read_decay_moves_toward_the_baseline() {
    let s = snap(&stream(&[Success, Success, Success]));
    let at = |text: &str| text.parse::<Timestamp>().unwrap();
    let later = decay_as_of(&s, at("2026-03-09T12:00:00Z"), &RULESET_V1);
    assert_eq!(later.confidence_effective, 0.670_778_9_f32);
    let much_later = decay_as_of(&s, at("2026-05-07T12:00:00Z"), &RULESET_V1);
    assert_eq!(format!("{:.3}", much_later.confidence_effective), "0.595");
    let earlier = decay_as_of(&s, at("2026-01-01T00:00:00Z"), &RULESET_V1);
    assert_eq!(earlier, s);
}

#[test]
fn probe_vectors_match() {
    assert_eq!(probe_hash(candidate(), None), 0x8247_7da6_5a1a_16b3);
    assert_eq!(probe_hash(candidate(), Some("")), 0x8247_7da6_5a1a_16b3);
    assert_eq!(format!("{:.5}", probe_bucket(candidate(), None)), "0.50890");
    assert_eq!(
        probe_hash(candidate(), Some("ctx-1")),
        0xda86_a36f_6b8a_7776
    );
    assert_eq!(
        format!("{:.5}", probe_bucket(candidate(), Some("ctx-1"))),
        "0.85362"
    );
    assert_eq!(
        probe_hash(candidate(), Some("bench")),
        0x2c38_e240_e18f_b407
    );
    assert_eq!(
        format!("{:.5}", probe_bucket(candidate(), Some("bench"))),
        "0.17274"
    );
}

fn probe_band_snapshot() -> TrustSnapshot {
    // Manual value 0.2 lies in the probe band [0.15, 0.30).
    snap(&[with_confidence(event(1, ManualSetConfidence), 0.2, false)])
}

#[test]
fn gate_decision_table() {
    let r = &RULESET_V1;
    let c = candidate();
    let code = |s: Option<&TrustSnapshot>, mode, ctx| decide(c, s, mode, ctx, r).reason_codes;
    assert_eq!(
        code(None, GateMode::Safe, None),
        [reason::NO_TRUST_SNAPSHOT]
    );
    let none = decide(c, None, GateMode::Exploration, None, r);
    assert!(!none.include && none.confidence_effective == 0.0 && !none.capped);
    let validated = snap(&stream(&[Success, Success, Success]));
    assert_eq!(
        code(Some(&validated), GateMode::Safe, None),
        [reason::SAFE_VALIDATED]
    );
    assert_eq!(
        code(Some(&validated), GateMode::Exploration, None),
        [reason::EXPLORATION_SAFE_EQUIVALENT]
    );
    let retired = snap(&stream(&[Success, ManualRetire]));
    assert_eq!(
        code(Some(&retired), GateMode::Exploration, None),
        [reason::RETIRED]
    );
    let failed = snap(&stream(&[Failure, Failure, Failure]));
    let d = decide(c, Some(&failed), GateMode::Safe, None, r);
    assert!(!d.include);
    assert_eq!(d.reason_codes, [reason::SAFE_EXCLUDED]);
    let active = snap(&stream(&[Success]));
    assert_eq!(
        code(Some(&active), GateMode::Safe, None),
        [reason::SAFE_EXCLUDED]
    );
    assert_eq!(
        code(Some(&active), GateMode::Exploration, None),
        [reason::EXPLORATION_ACTIVE]
    );
    let capped = snap(&stream(&[
        Success,
        Success,
        Success,
        AuthoritativeContradiction,
    ]));
    let d = decide(c, Some(&capped), GateMode::Exploration, None, r);
    assert!(d.include && d.capped);
    assert_eq!(
        code(Some(&capped), GateMode::Safe, None),
        [reason::SAFE_EXCLUDED]
    );
    let band = probe_band_snapshot();
    assert_eq!(
        code(Some(&band), GateMode::Exploration, Some("bench")),
        [reason::EXPLORATION_PROBE_INCLUDED]
    );
    assert_eq!(
        code(Some(&band), GateMode::Exploration, Some("ctx-1")),
        [reason::EXPLORATION_PROBE_EXCLUDED]
    );
    let low = snap(&[with_confidence(event(1, ManualSetConfidence), 0.1, false)]);
    assert_eq!(
        code(Some(&low), GateMode::Exploration, None),
        [reason::EXPLORATION_EXCLUDED]
    );
}

#[test]
fn a_validated_version_decayed_below_safe_still_passes_exploration() {
    let s = snap(&stream(&[Success, Success, Success]));
    let later = decay_as_of(&s, "2026-05-07T12:00:00Z".parse().unwrap(), &RULESET_V1);
    let d = decide(
        candidate(),
        Some(&later),
        GateMode::Exploration,
        None,
        &RULESET_V1,
    );
    assert!(d.include);
    assert_eq!(d.reason_codes, [reason::EXPLORATION_ACTIVE]);
}

#[test]
fn candidates_parse_with_the_original_messages() {
    assert_eq!(
        parse_candidate(&format!("{MEMORY}:1")).unwrap(),
        candidate()
    );
    // Ids are canonical everywhere (a lowercase id would alias another memory's text), so a
    // lowercase candidate id is refused, unlike the original.
    let lower = MEMORY.to_lowercase();
    assert!(parse_candidate(&format!("{lower}:1")).is_err());
    let message = |raw: &str| parse_candidate(raw).unwrap_err().to_string();
    assert_eq!(
        message(MEMORY),
        "candidate must be in <memory_id>:<version> format"
    );
    assert_eq!(
        message("a:1:2"),
        "candidate must be in <memory_id>:<version> format"
    );
    assert_eq!(message("nope:1"), "invalid ULID memory_id: nope");
    assert_eq!(
        message(&format!("{MEMORY}:x")),
        "invalid version integer: x"
    );
    assert_eq!(
        parse_candidate(&format!("{MEMORY}:0")),
        Err(OutcomeError::CandidateVersionZero)
    );
}

#[test]
fn streams_are_checked() {
    let mut events = stream(&[Success, Success]);
    events[1].event_seq = 1;
    assert!(matches!(
        project(&events, &rulesets()),
        Err(OutcomeError::InvalidStream(_))
    ));
    let mut events = stream(&[Success, Success]);
    events[1].version = 2;
    assert!(matches!(
        project(&events, &rulesets()),
        Err(OutcomeError::InvalidStream(_))
    ));
    let mut events = stream(&[Success]);
    events[0].ruleset_version = 7;
    assert_eq!(
        project(&events, &rulesets()),
        Err(OutcomeError::MissingRuleset { version: 7 })
    );
    assert_eq!(project(&[], &rulesets()), Ok(None));
}
