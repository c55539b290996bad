//! Replay is a function of the stored stream: whatever order the events are read or
//! projected in, the snapshots are the same, bit for bit.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;
use std::collections::BTreeMap;

use memory_kernel_outcome::{EventType, OutcomeEvent, RULESET_V1, Ruleset, Severity, project};
use proptest::prelude::*;

const MEMORIES: [&str; 3] = [
    "01J0SQQP7M70P6Y3R4T8D8G8M2",
    "01J0SQQP7M70P6Y3R4T8D8G8M3",
    "01J0SQQP7M70P6Y3R4T8D8G8M4",
];

fn rulesets() -> BTreeMap<u32, Ruleset> {
    let mut v2 = RULESET_V1;
    v2.ruleset_version = 2;
    v2.alpha = 0.11;
    v2.failure_weight = -1.45;
    BTreeMap::from([(1, RULESET_V1), (2, v2)])
}

/// memory, version, event type, ruleset, edited, escalated, severity, confidence (%).
type RawEvent = (usize, u32, usize, u32, bool, bool, u8, u8);

fn arb_event() -> impl Strategy<Value = RawEvent> {
    (
        0..3usize,
        1..3u32,
        0..9usize,
        1..3u32,
        any::<bool>(),
        any::<bool>(),
        0..3u8,
        0..=100u8,
    )
}

fn build(raw: &[RawEvent]) -> Vec<OutcomeEvent> {
    raw.iter()
        .zip(1..)
        .map(
            |(&(memory, version, kind, ruleset, edited, esc, sev, conf), seq)| {
                let mut e = support::event(seq, EventType::ALL[kind]);
                e.memory_id = MEMORIES[memory].parse().unwrap();
                e.version = version;
                e.ruleset_version = ruleset;
                e.edited = edited;
                e.escalated = esc;
                e.severity = Some([Severity::Low, Severity::Med, Severity::High][usize::from(sev)]);
                e.manual_confidence = Some(f32::from(conf) / 100.0);
                e.override_cap = edited;
                e
            },
        )
        .collect()
}

/// Groups a pile of events by key, sorts each key's events by sequence and projects them.
fn replay(events: &[OutcomeEvent]) -> BTreeMap<(String, u32), Vec<u32>> {
    let mut by_key: BTreeMap<(String, u32), Vec<OutcomeEvent>> = BTreeMap::new();
    for e in events {
        by_key
            .entry((e.memory_id.to_string(), e.version))
            .or_default()
            .push(e.clone());
    }
    by_key
        .into_iter()
        .map(|(key, mut stream)| {
            stream.sort_by_key(|e| e.event_seq);
            let s = project(&stream, &rulesets()).unwrap().unwrap();
            let bits = vec![
                s.confidence_raw.to_bits(),
                s.confidence_effective.to_bits(),
                s.baseline_confidence.to_bits(),
                s.cap_value.to_bits(),
                s.wins_last5,
                s.failures_last5,
                u32::from(s.contradiction_cap_active),
                u32::from(s.manual_override_active),
                s.trust_status as u32,
                u32::try_from(s.last_event_seq).unwrap(),
            ];
            (key, bits)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_read_order_gives_the_same_snapshots(
        raw in prop::collection::vec(arb_event(), 1..80),
        shuffle in any::<u64>(),
    ) {
        let events = build(&raw);
        let expected = replay(&events);
        // A deterministic permutation from the seed.
        let mut shuffled = events.clone();
        let mut state = shuffle | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let j = usize::try_from(state % (i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        prop_assert_eq!(replay(&shuffled), expected.clone());
        let mut reversed = events;
        reversed.reverse();
        prop_assert_eq!(replay(&reversed), expected);
    }

    #[test]
    fn projecting_twice_is_identical(raw in prop::collection::vec(arb_event(), 1..80)) {
        let events = build(&raw);
        prop_assert_eq!(replay(&events), replay(&events));
    }
}
