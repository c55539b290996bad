//! The fixed scenario behind the golden fixtures: every record has its own instant, so no
//! ordering ever falls through to the random ULIDs and the normalised output is stable.

use serde_json::Value;

use super::Mk;

/// The instant every scenario query is asked at.
pub const AS_OF: &str = "2026-02-01T00:00:00Z";

/// Every instant the scenario chooses; `normalise` keeps them and replaces any other.
pub const SCENARIO_INSTANTS: &[&str] = &[
    "2026-01-01T00:00:00Z",
    "2026-01-02T00:00:00Z",
    "2026-01-03T00:00:00Z",
    "2026-01-04T00:00:00Z",
    "2026-01-05T00:00:00Z",
    "2026-01-06T00:00:00Z",
    "2026-01-07T00:00:00Z",
    "2026-01-08T00:00:00Z",
    "2026-01-09T00:00:00Z",
    AS_OF,
    "2026-03-01T00:00:00Z",
];

/// The ids the scenario produced, for tests that go on from it.
#[derive(Debug)]
pub struct Scenario {
    /// memory_version_id of the authoritative deny constraint.
    pub deny: String,
    /// memory_id of the authoritative deny constraint.
    pub deny_memory: String,
    /// memory_version_id of the second version of the backup decision.
    pub decision_v2: String,
    /// The ask package's id.
    pub ask_package_id: String,
}

/// `mk memory add <kind>` with `file:///policy.md` as source, the given creation instant and
/// `flags` as (flag, value) pairs; returns the stored record (the whole output).
fn add(mk: &Mk, kind: &str, created_at: &str, flags: &[(&str, &str)]) -> Value {
    let mut args = vec!["memory", "add", kind];
    args.extend([
        "--source-uri",
        "file:///policy.md",
        "--created-at",
        created_at,
    ]);
    for (flag, value) in flags {
        args.extend([*flag, *value]);
    }
    mk.ok(&args)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}

/// Seeds the scenario into a migrated database: three constraints (a specific deny, a
/// wildcard allow, a retracted allow), a decision and its second version that supersedes it,
/// a preference linked as contradicting the new decision, an unrelated event and an outcome
/// that takes effect after [`AS_OF`]; then asks the scenario's policy question once.
pub fn seed_scenario(mk: &Mk) -> Scenario {
    let scope = [("--actor", "user"), ("--action", "use")];
    let deny = add(
        mk,
        "constraint",
        "2026-01-01T00:00:00Z",
        &[
            scope[0],
            scope[1],
            ("--resource", "usb_drive"),
            ("--effect", "deny"),
            ("--writer", "security-team"),
            ("--justification", "Removable media is banned by policy"),
            ("--truth-status", "asserted"),
            ("--authority", "authoritative"),
            ("--confidence", "0.9"),
            (
                "--source-hash",
                "sha256:0000000000000000000000000000000000000000000000000000000000000001",
            ),
            ("--evidence", "policy.md#removable-media"),
        ],
    );
    add(
        mk,
        "constraint",
        "2026-01-02T00:00:00Z",
        &[
            scope[0],
            scope[1],
            ("--resource", "*"),
            ("--effect", "allow"),
            ("--note", "Users may use approved devices"),
            ("--writer", "it-team"),
            ("--justification", "Device policy"),
            ("--truth-status", "asserted"),
            ("--authority", "derived"),
        ],
    );
    add(
        mk,
        "constraint",
        "2026-01-03T00:00:00Z",
        &[
            scope[0],
            scope[1],
            ("--resource", "usb_drive"),
            ("--effect", "allow"),
            ("--writer", "it-team"),
            ("--justification", "Old exception, withdrawn"),
            ("--truth-status", "retracted"),
            ("--authority", "derived"),
        ],
    );
    let decision = add(
        mk,
        "decision",
        "2026-01-04T00:00:00Z",
        &[
            ("--summary", "Use encrypted USB drives for backups"),
            ("--writer", "ops"),
            ("--justification", "Backup review"),
            ("--truth-status", "observed"),
            ("--authority", "authoritative"),
        ],
    );
    let preference = add(
        mk,
        "preference",
        "2026-01-05T00:00:00Z",
        &[
            ("--summary", "Prefer cloud storage over USB drives"),
            ("--writer", "agent"),
            ("--justification", "Said so in chat"),
            ("--truth-status", "inferred"),
            ("--confidence", "0.7"),
            ("--authority", "note"),
        ],
    );
    add(
        mk,
        "event",
        "2026-01-06T00:00:00Z",
        &[
            ("--summary", "Quarterly audit completed"),
            ("--writer", "ops"),
            ("--justification", "Audit log"),
            ("--truth-status", "observed"),
            ("--authority", "derived"),
        ],
    );
    let (memory_id, superseded) = (
        text(&decision["memory_id"]),
        text(&decision["memory_version_id"]),
    );
    let decision_v2 = add(
        mk,
        "decision",
        "2026-01-07T00:00:00Z",
        &[
            (
                "--summary",
                "Use encrypted USB drives with hardware keys for backups",
            ),
            ("--memory-id", &memory_id),
            ("--version", "2"),
            ("--supersedes", &superseded),
            ("--writer", "ops"),
            ("--justification", "Backup review, revised"),
            ("--truth-status", "observed"),
            ("--authority", "authoritative"),
        ],
    );
    add(
        mk,
        "outcome",
        "2026-01-08T00:00:00Z",
        &[
            ("--summary", "USB drives allowed again"),
            ("--effective-at", "2026-03-01T00:00:00Z"),
            ("--writer", "ops"),
            ("--justification", "Future policy"),
            ("--truth-status", "asserted"),
            ("--authority", "authoritative"),
        ],
    );
    let decision_v2 = text(&decision_v2["memory_version_id"]);
    let preference = text(&preference["memory_version_id"]);
    mk.ok(&[
        "memory",
        "link",
        "--from",
        &preference,
        "--to",
        &decision_v2,
        "--relation",
        "contradicts",
        "--writer",
        "agent",
        "--justification",
        "Cloud over USB",
        "--created-at",
        "2026-01-09T00:00:00Z",
    ]);
    let ask = mk.ok(&ask_args());
    Scenario {
        deny: text(&deny["memory_version_id"]),
        deny_memory: text(&deny["memory_id"]),
        decision_v2,
        ask_package_id: text(&ask["context_package_id"]),
    }
}

/// The scenario's policy question.
pub fn ask_args() -> Vec<&'static str> {
    vec![
        "query",
        "ask",
        "--text",
        "Am I allowed to use a USB drive?",
        "--actor",
        "user",
        "--action",
        "use",
        "--resource",
        "usb_drive",
        "--as-of",
        AS_OF,
    ]
}

/// The scenario's recall question.
pub fn recall_args() -> Vec<&'static str> {
    vec![
        "query",
        "recall",
        "--text",
        "encrypted USB drives",
        "--as-of",
        AS_OF,
    ]
}
