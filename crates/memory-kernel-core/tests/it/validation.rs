//! One failing input per `ValidationError` variant, each asserting the exact variant.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{Rec, link, ts, vid};
use memory_kernel_core::{
    Confidence, Effect, MemoryVersionId, RecallQuery, RecordType, Scope, Timestamp, TruthStatus,
    ValidationError,
};

fn valid() -> Rec {
    Rec::constraint(1, "user", "use", "usb_drive", Effect::Deny)
}

fn record_error(rec: Rec) -> ValidationError {
    rec.raw().validate().unwrap_err()
}

type Case = (&'static str, fn() -> ValidationError, ValidationError);

fn cases() -> Vec<Case> {
    vec![
        (
            "empty writer",
            || record_error(valid().edit(|r| r.writer = "  ".to_owned())),
            ValidationError::EmptyField { field: "writer" },
        ),
        (
            "source_uri without scheme",
            || record_error(valid().edit(|r| r.provenance.source_uri = "policy.md".to_owned())),
            ValidationError::InvalidSourceUri {
                value: "policy.md".to_owned(),
            },
        ),
        (
            "source_hash with upper-case hex",
            || {
                record_error(valid().edit(|r| {
                    r.provenance.source_hash = Some(format!("sha256:{}", "A".repeat(64)));
                }))
            },
            ValidationError::InvalidSourceHash {
                value: format!("sha256:{}", "A".repeat(64)),
            },
        ),
        (
            "confidence above one",
            || Confidence::new(1.5).unwrap_err(),
            ValidationError::ConfidenceOutOfRange { value: 1.5 },
        ),
        (
            "inferred without confidence",
            || record_error(valid().truth(TruthStatus::Inferred)),
            ValidationError::ConfidenceRequired {
                truth_status: TruthStatus::Inferred,
            },
        ),
        (
            "version zero",
            || record_error(valid().version(0)),
            ValidationError::VersionZero,
        ),
        (
            "timestamp that is not RFC 3339",
            || "last tuesday".parse::<Timestamp>().unwrap_err(),
            ValidationError::InvalidTimestamp {
                value: "last tuesday".to_owned(),
            },
        ),
        (
            "timestamp with +00:00 offset",
            || {
                "2026-01-01T00:00:00+00:00"
                    .parse::<Timestamp>()
                    .unwrap_err()
            },
            ValidationError::NonUtcTimestamp {
                value: "2026-01-01T00:00:00+00:00".to_owned(),
            },
        ),
        (
            "version id that is not a ULID",
            || "not-a-ulid".parse::<MemoryVersionId>().unwrap_err(),
            ValidationError::InvalidUlid {
                field: "memory_version_id",
                value: "not-a-ulid".to_owned(),
            },
        ),
        (
            "record superseding itself",
            || record_error(valid().supersedes(1)),
            ValidationError::SelfReference {
                field: "supersedes",
            },
        ),
        (
            "hand-built scope in upper case",
            || {
                record_error(valid().edit(|r| {
                    if let memory_kernel_core::Payload::Constraint(c) = &mut r.payload {
                        c.scope.actor = "User".to_owned();
                    }
                }))
            },
            ValidationError::ScopeNotNormalised,
        ),
        (
            "wildcard in query",
            || Scope::query("user", "*", "usb_drive").unwrap_err(),
            ValidationError::WildcardInQuery { field: "action" },
        ),
        (
            "unknown record type",
            || "memo".parse::<RecordType>().unwrap_err(),
            ValidationError::UnknownVariant {
                field: "record_type",
                allowed: "constraint, decision, preference, event, outcome",
                value: "memo".to_owned(),
            },
        ),
        (
            "recall text without terms",
            || RecallQuery::new("a ! ?", ts(0)).unwrap_err(),
            ValidationError::NoQueryTerms,
        ),
        (
            "recall with an empty record type list",
            || {
                RecallQuery::new("deploy", ts(0))
                    .unwrap()
                    .with_record_types([])
                    .unwrap_err()
            },
            ValidationError::NoRecordTypes,
        ),
        (
            "recall with limit zero",
            || {
                RecallQuery::new("deploy", ts(0))
                    .unwrap()
                    .with_limit(0)
                    .unwrap_err()
            },
            ValidationError::ZeroLimit,
        ),
    ]
}

#[test]
fn every_validation_rule_refuses_its_input_with_its_own_variant() {
    let mut failures = Vec::new();
    for (name, produce, expected) in cases() {
        let actual = produce();
        if actual != expected {
            failures.push(format!("{name}: expected {expected:?}, got {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn link_to_itself_is_refused() {
    let mut self_link = link(1, 1, memory_kernel_core::Relation::Contradicts, 0);
    assert_eq!(
        self_link.validate(),
        Err(ValidationError::SelfReference {
            field: "contradicts"
        })
    );
    self_link.to = vid(2);
    assert_eq!(self_link.validate(), Ok(()));
}

#[test]
fn fixtures_are_valid() {
    valid().build();
    Rec::summary(2, RecordType::Event, "deployed on friday")
        .truth(TruthStatus::Speculative)
        .confidence(0.3)
        .build();
}

#[test]
fn item_01_non_canonical_ulids_are_refused() {
    let canonical = "01M8QFBV8A9AA9AY0JBHPM35F5";
    assert_eq!(
        canonical.parse::<MemoryVersionId>().unwrap().to_string(),
        canonical
    );
    // Each of these decodes to some ULID, but not to the one it spells.
    for alias in [
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "GZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "81M8QFBV8A9AA9AY0JBHPM35F5",
        "01m8qfbv8a9aa9ay0jbhpm35f5",
        " 01M8QFBV8A9AA9AY0JBHPM35F5",
    ] {
        assert!(
            matches!(
                alias.parse::<MemoryVersionId>(),
                Err(ValidationError::InvalidUlid { .. })
            ),
            "{alias:?} was accepted"
        );
        assert!(
            alias.parse::<memory_kernel_core::MemoryId>().is_err(),
            "{alias:?} was accepted as a memory id"
        );
        let json = format!("{alias:?}");
        assert!(
            serde_json::from_str::<MemoryVersionId>(&json).is_err(),
            "{alias:?} was deserialized"
        );
    }
}

#[test]
fn item_02_control_characters_and_blank_text_are_refused() {
    for writer in ["\u{0}", "w\u{0}x", "tab\there", "\u{1b}[31m"] {
        assert_eq!(
            record_error(valid().edit(|r| r.writer = writer.to_owned())),
            ValidationError::ControlCharacter { field: "writer" },
            "{writer:?}"
        );
    }
    assert_eq!(
        record_error(valid().edit(|r| r.justification = "a\u{0}b".to_owned())),
        ValidationError::ControlCharacter {
            field: "justification"
        }
    );
    assert_eq!(
        Scope::new("us\u{0}er", "use", "usb").unwrap_err(),
        ValidationError::ControlCharacter { field: "actor" }
    );
    assert_eq!(
        memory_kernel_core::Payload::summary(RecordType::Event, "x\u{0}").unwrap_err(),
        ValidationError::ControlCharacter { field: "summary" }
    );
    assert_eq!(
        record_error(valid().edit(|r| r.justification = " \n\t ".to_owned())),
        ValidationError::EmptyField {
            field: "justification"
        }
    );
    // Line breaks and tabs stay legal in free text.
    valid()
        .edit(|r| r.justification = "first line\n\tsecond line".to_owned())
        .build();
    let mut nul_link = link(1, 2, memory_kernel_core::Relation::Contradicts, 0);
    nul_link.writer = "w\u{0}".to_owned();
    assert_eq!(
        nul_link.validate(),
        Err(ValidationError::ControlCharacter { field: "writer" })
    );
}
