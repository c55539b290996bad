//! The context package (docs/spec/context-package.md): what a resolver answers, which records it used and why,
//! which it set aside and why, and everything needed to reproduce it. Field order here is the
//! wire order; the JSON is compact and byte-identical for identical inputs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{MemoryId, MemoryVersionId};
use crate::record::{
    Authority, Confidence, ConstraintPayload, MemoryRecord, Payload, RecordType, SummaryPayload,
    TruthStatus,
};
use crate::resolver::ExclusionMode;
use crate::timestamp::Timestamp;

/// Ruleset version of policy `ask` packages.
pub const ASK_RULESET_VERSION: &str = "ordering.v1";
/// Ruleset version of `recall` packages.
pub const RECALL_RULESET_VERSION: &str = "recall-ordering.v2";

/// A resolver's complete, reproducible answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextPackage {
    /// `cp_` + 32 hex digits; see [`context_package_id`].
    pub context_package_id: String,
    /// Equals the query's `as_of`, so a package is reproducible.
    pub generated_at: Timestamp,
    /// The normalised question.
    pub query: PackageQuery,
    /// What the answer depends on.
    pub determinism: Determinism,
    /// The answer.
    pub answer: Answer,
    /// Records used, in rank order.
    pub selected_items: Vec<PackageItem>,
    /// One page of the records set aside, ranked in their own sequence by the same order
    /// (ranks are positions in the whole exclusion list); `answer.excluded_summary` counts
    /// them all.
    pub excluded_items: Vec<PackageItem>,
    /// One line per adjacent pair among the first selected items naming the key that ordered
    /// them; at most [`crate::resolver::MAX_TRACE_LINES`].
    pub ordering_trace: Vec<String>,
}

impl ContextPackage {
    /// The compact JSON text of the package: the form that is stored, hashed and served.
    #[must_use]
    pub fn to_canonical_json(&self) -> String {
        // Every field is a string, number, bool or sequence of them: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The question as the resolver understood it. Absent fields do not apply to the query kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageQuery {
    /// The free text, verbatim.
    pub text: String,
    /// Ask only: normalised actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Ask only: normalised action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Ask only: normalised resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Recall only: the record types searched, sorted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_types: Option<Vec<RecordType>>,
    /// The instant the question was asked at.
    pub as_of: Timestamp,
    /// The cap on selected items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Recall only: how exclusions are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusions: Option<ExclusionMode>,
    /// How many exclusions are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_limit: Option<u32>,
    /// The position of the first listed exclusion in the ranked exclusion list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_offset: Option<u32>,
    /// The trust gate's mode (`safe` or `exploration`) when the query asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_gate: Option<String>,
}

/// What makes the package reproducible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Determinism {
    /// [`ASK_RULESET_VERSION`] or [`RECALL_RULESET_VERSION`].
    pub ruleset_version: String,
    /// Names the records and lineage visible at `as_of`; see [`crate::resolver::snapshot_id`].
    pub snapshot_id: String,
    /// The ordering keys in the order applied, e.g. `authority_rank desc`.
    pub tie_breakers: Vec<String>,
}

/// The outcome of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerResult {
    /// Ask: the top-precedence constraints allow the action.
    Allow,
    /// Ask: the top-precedence constraints deny the action.
    Deny,
    /// Ask: no active constraint matched, or the top-precedence ones disagree.
    Inconclusive,
    /// Recall: at least one record was selected.
    Selected,
    /// Recall: no record was selected.
    #[serde(rename = "none")]
    NoneSelected,
}

/// The answer, its one-line justification, and what it set aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The outcome.
    pub result: AnswerResult,
    /// Why, in one fixed-form sentence.
    pub why: String,
    /// Every exclusion counted by reason, listed in `excluded_items` or not; keys sorted.
    /// Kept inside the answer so the package's top-level keys stay those of `cli.v1`.
    pub excluded_summary: BTreeMap<String, u64>,
}

/// One record's entry in a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageItem {
    /// 1-based position within its list.
    pub rank: u32,
    /// The record's version id.
    pub memory_version_id: MemoryVersionId,
    /// The record's memory id.
    pub memory_id: MemoryId,
    /// The record's type.
    pub record_type: RecordType,
    /// The record's version.
    pub version: u32,
    /// The record's truth status.
    pub truth_status: TruthStatus,
    /// The record's own confidence; `null` when it has none (ordering then uses 0.5).
    pub confidence: Option<Confidence>,
    /// The record's authority.
    pub authority: Authority,
    /// When the record takes effect.
    pub effective_at: Timestamp,
    /// When the record was written.
    pub created_at: Timestamp,
    /// The record's payload as stored, so consumers need no second lookup.
    pub payload: ItemPayload,
    /// Why the record is selected or excluded.
    pub why: ItemWhy,
    /// The trust gate's verdict on the record, when the query asked for a gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_gate: Option<TrustGateAttachment>,
}

/// A trust gate's verdict on one item (`trust-gate-attachment.schema.json`): the gate's
/// decision on the record's (memory_id, version), with the record's version id, when and by
/// which ruleset it was evaluated, and its source. Plain data: core does not evaluate trust.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustGateAttachment {
    /// The record's memory id.
    pub memory_id: MemoryId,
    /// The record's version.
    pub version: u32,
    /// The record's version id.
    pub memory_version_id: MemoryVersionId,
    /// Whether the gate lets the record into a context.
    pub include: bool,
    /// The trust status the gate read (`active`, `validated` or `retired`).
    pub trust_status: String,
    /// The effective confidence the gate read, in [0, 1].
    pub confidence_effective: f32,
    /// Whether a contradiction cap limited the confidence.
    pub capped: bool,
    /// Exactly one reason code.
    pub reason_codes: Vec<String>,
    /// The ruleset of the trust snapshot read; `null` without a snapshot.
    pub ruleset_version: Option<u32>,
    /// The instant trust was read at (the query's `as_of`).
    pub evaluated_at: Timestamp,
    /// Which gate produced the verdict.
    pub source: String,
}

impl PackageItem {
    /// The entry for `record` at 1-based `rank`: every field but `rank` and `why` is copied
    /// from the record, so a stored package can name its records and be rebuilt exactly.
    #[must_use]
    pub fn from_record(rank: u32, record: &MemoryRecord, why: ItemWhy) -> Self {
        let payload = match &record.payload {
            Payload::Constraint(c) => ItemPayload::Constraint(c.clone()),
            Payload::Decision(p)
            | Payload::Preference(p)
            | Payload::Event(p)
            | Payload::Outcome(p) => ItemPayload::Summary(p.clone()),
        };
        Self {
            rank,
            memory_version_id: record.memory_version_id,
            memory_id: record.memory_id,
            record_type: record.record_type(),
            version: record.version,
            truth_status: record.truth_status,
            confidence: record.confidence,
            authority: record.authority,
            effective_at: record.effective_at,
            created_at: record.created_at,
            payload,
            why,
            trust_gate: None,
        }
    }
}

/// A copy of the record's payload: constraint scope and effect, or summary text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemPayload {
    /// A constraint's `{scope, effect, note}`.
    Constraint(ConstraintPayload),
    /// Any other record's `{summary}`.
    Summary(SummaryPayload),
}

/// Why a record was selected or excluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemWhy {
    /// True in `selected_items`, false in `excluded_items`.
    pub included: bool,
    /// Human-readable reasons; an exclusion has exactly one, the first rule that failed.
    pub reasons: Vec<String>,
    /// Selected items only: the scores the order used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_scores: Option<RuleScores>,
}

/// The ordering scores of a selected item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleScores {
    /// Ask: scope specificity, 0 to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_match: Option<u32>,
    /// Recall: number of distinct query terms found in the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lexical_match_count: Option<u32>,
    /// Recall: the BM25 relevance the order used, in millionths' precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relevance: Option<f64>,
    /// [`Authority::rank`].
    pub authority_rank: u8,
    /// [`TruthStatus::rank`].
    pub truth_status_rank: u8,
    /// The confidence the order used (0.5 when the record has none).
    pub confidence: f32,
}

/// Which resolver produced a package; part of the package id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// Policy `ask`.
    Ask,
    /// `recall`.
    Recall,
}

impl QueryKind {
    /// The kind's name in the id derivation.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::Recall => "recall",
        }
    }
}

/// The longest context package id accepted anywhere (ours are 35 characters; ids carried from
/// the original MemoryKernel are longer but well below this).
pub const MAX_CONTEXT_PACKAGE_ID_LEN: usize = 128;

/// What [`validate_context_package_id`] accepts, as a JSON Schema (ECMA-262) pattern; the
/// OpenAPI document states it for the `context_package_id` path parameter.
pub const CONTEXT_PACKAGE_ID_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,128}$";

/// Checks the form of a context package id before it is looked up: 1 to
/// [`MAX_CONTEXT_PACKAGE_ID_LEN`] ASCII letters, digits, `_`, `-`, `.` or `:`. That covers this
/// build's `cp_…` ids and the original's `cpkg_…` ids; anything else cannot name a package.
///
/// # Errors
/// [`crate::ValidationError::InvalidContextPackageId`], echoing at most a bounded prefix of the input.
pub fn validate_context_package_id(id: &str) -> Result<(), crate::ValidationError> {
    let valid = !id.is_empty()
        && id.len() <= MAX_CONTEXT_PACKAGE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'));
    if valid {
        Ok(())
    } else {
        Err(crate::ValidationError::InvalidContextPackageId {
            value: crate::error::bounded_echo(id),
            length: id.len(),
        })
    }
}

/// The package id: `cp_` + the first 32 hex digits of SHA-256 over the query kind, the
/// compact JSON of the normalised query, the query terms (recall; empty for ask), `as_of`
/// and the snapshot id, one per line. The same question over the same snapshot always gets the
/// same id, and since the package is a pure function of those inputs, the same bytes too.
#[must_use]
pub fn context_package_id(
    kind: QueryKind,
    query: &PackageQuery,
    terms: &[String],
    snapshot_id: &str,
) -> String {
    let query_json = serde_json::to_string(query).unwrap_or_default();
    let mut hasher = Sha256::new();
    for line in [
        "memorykernel.context_package_id.v1",
        kind.as_str(),
        &query_json,
        &terms.join(" "),
        &query.as_of.to_string(),
        snapshot_id,
    ] {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hex::encode(hasher.finalize());
    format!("cp_{}", &digest[..32])
}

/// The id of a trust-gated package: `cp_` + the first 32 hex digits of SHA-256 over the
/// ungated package's id, the gate mode and the compact JSON of every verdict, one per line.
/// The mode and the trust read are part of the answer, so a gated package never shares an
/// id with the ungated one, nor with a package gated over different trust.
#[must_use]
pub fn trust_gated_package_id(
    ungated_id: &str,
    mode: &str,
    verdicts: &[TrustGateAttachment],
) -> String {
    let verdicts_json = serde_json::to_string(verdicts).unwrap_or_default();
    let mut hasher = Sha256::new();
    for line in [
        "memorykernel.context_package_id.trust_gate.v1",
        ungated_id,
        mode,
        &verdicts_json,
    ] {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hex::encode(hasher.finalize());
    format!("cp_{}", &digest[..32])
}

#[cfg(test)]
mod pattern_tests {
    use super::{CONTEXT_PACKAGE_ID_PATTERN, MAX_CONTEXT_PACKAGE_ID_LEN};

    #[test]
    fn the_package_id_pattern_states_the_length_limit() {
        assert!(CONTEXT_PACKAGE_ID_PATTERN.ends_with(&format!(",{MAX_CONTEXT_PACKAGE_ID_LEN}}}$")));
    }
}
