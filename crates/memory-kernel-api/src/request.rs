//! Request types of the application API. Their serde form is the `service.v3` request body
//! (docs/spec/service-contract.md), so the service deserializes straight into them and the CLI builds them from
//! flags. Values arrive raw (text timestamps and ids, `f64` confidence) and are validated by
//! core when the record is built, so every surface refuses the same inputs the same way.

use memory_kernel_core::resolver::ExclusionMode;
use memory_kernel_core::{Authority, Effect, RecordType, Relation, TruthStatus};
use memory_kernel_outcome::GateMode;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize};

use crate::flat_request::{self, FieldReader, FlatRequest};

/// The provenance, accountability and lineage of a record to add: every field an add request
/// carries besides its payload, written once here. On the wire these fields sit beside the
/// payload's in one flat object, read as a derived flat struct would be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordMetadata {
    /// Memory to add a version to; a new memory when absent.
    #[serde(default)]
    pub memory_id: Option<String>,
    /// Expected version; when given it must be the next version of `memory_id`.
    #[serde(default)]
    pub version: Option<u32>,
    /// Accountable writer (required, non-empty).
    pub writer: String,
    /// Why the record is written (required, non-empty).
    pub justification: String,
    /// Source URI (required).
    pub source_uri: String,
    /// Optional `sha256:<64 lowercase hex>` of the source.
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Evidence references.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Confidence in `[0, 1]`; required for inferred and speculative records.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// How the claim is known.
    pub truth_status: TruthStatus,
    /// Weight of the source.
    pub authority: Authority,
    /// RFC 3339 UTC; defaults to now.
    #[serde(default)]
    pub created_at: Option<String>,
    /// RFC 3339 UTC; defaults to `created_at`.
    #[serde(default)]
    pub effective_at: Option<String>,
    /// Version ids this record replaces.
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// Version ids this record contradicts.
    #[serde(default)]
    pub contradicts: Vec<String>,
}

impl RecordMetadata {
    /// Metadata with the required fields given and every optional one absent: a new memory,
    /// written now, with no source hash, evidence, confidence or lineage.
    #[must_use]
    pub fn new(
        writer: impl Into<String>,
        justification: impl Into<String>,
        source_uri: impl Into<String>,
        truth_status: TruthStatus,
        authority: Authority,
    ) -> Self {
        Self {
            memory_id: None,
            version: None,
            writer: writer.into(),
            justification: justification.into(),
            source_uri: source_uri.into(),
            source_hash: None,
            evidence: Vec::new(),
            confidence: None,
            truth_status,
            authority,
            created_at: None,
            effective_at: None,
            supersedes: Vec::new(),
            contradicts: Vec::new(),
        }
    }
}

/// Adds a constraint: a scoped allow or deny.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AddConstraintRequest {
    /// Acting party (`*` for any).
    pub actor: String,
    /// Action (`*` for any).
    pub action: String,
    /// Resource (`*` for any).
    pub resource: String,
    /// Allow or deny.
    pub effect: Effect,
    /// Optional note.
    #[serde(default)]
    pub note: Option<String>,
    /// Provenance, accountability and lineage.
    #[serde(flatten)]
    pub metadata: RecordMetadata,
}

/// Adds a decision, preference, event or outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AddSummaryRequest {
    /// Any record type except `constraint`.
    pub record_type: RecordType,
    /// Non-empty summary text.
    pub summary: String,
    /// Provenance, accountability and lineage.
    #[serde(flatten)]
    pub metadata: RecordMetadata,
}

impl<'de> Deserialize<'de> for AddConstraintRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        flat_request::deserialize(deserializer)
    }
}

impl FlatRequest for AddConstraintRequest {
    const NAME: &'static str = "AddConstraintRequest";
    const FIELDS: &'static [&'static str] = &["actor", "action", "resource", "effect", "note"];
    type Fields = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<Effect>,
        Option<Option<String>>,
    );
    type Payload = (String, String, String, Effect, Option<String>);

    fn all_fields() -> &'static [&'static str] {
        static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
        ALL.get_or_init(|| flat_request::with_metadata_fields(Self::FIELDS))
    }

    fn read_field<'de, R: FieldReader<'de>>(
        fields: &mut Self::Fields,
        index: usize,
        reader: &mut R,
    ) -> Result<(), R::Error> {
        match index {
            0 => reader.read(&mut fields.0, "actor"),
            1 => reader.read(&mut fields.1, "action"),
            2 => reader.read(&mut fields.2, "resource"),
            3 => reader.read(&mut fields.3, "effect"),
            _ => reader.read(&mut fields.4, "note"),
        }
    }

    fn finish(fields: Self::Fields) -> Result<Self::Payload, usize> {
        Ok((
            fields.0.ok_or(0_usize)?,
            fields.1.ok_or(1_usize)?,
            fields.2.ok_or(2_usize)?,
            fields.3.ok_or(3_usize)?,
            fields.4.unwrap_or_default(),
        ))
    }

    fn assemble(
        (actor, action, resource, effect, note): Self::Payload,
        metadata: RecordMetadata,
    ) -> Self {
        Self {
            actor,
            action,
            resource,
            effect,
            note,
            metadata,
        }
    }
}

impl<'de> Deserialize<'de> for AddSummaryRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        flat_request::deserialize(deserializer)
    }
}

impl FlatRequest for AddSummaryRequest {
    const NAME: &'static str = "AddSummaryRequest";
    const FIELDS: &'static [&'static str] = &["record_type", "summary"];
    type Fields = (Option<RecordType>, Option<String>);
    type Payload = (RecordType, String);

    fn all_fields() -> &'static [&'static str] {
        static ALL: OnceLock<Vec<&'static str>> = OnceLock::new();
        ALL.get_or_init(|| flat_request::with_metadata_fields(Self::FIELDS))
    }

    fn read_field<'de, R: FieldReader<'de>>(
        fields: &mut Self::Fields,
        index: usize,
        reader: &mut R,
    ) -> Result<(), R::Error> {
        match index {
            0 => reader.read(&mut fields.0, "record_type"),
            _ => reader.read(&mut fields.1, "summary"),
        }
    }

    fn finish(fields: Self::Fields) -> Result<Self::Payload, usize> {
        Ok((fields.0.ok_or(0_usize)?, fields.1.ok_or(1_usize)?))
    }

    fn assemble((record_type, summary): Self::Payload, metadata: RecordMetadata) -> Self {
        Self {
            record_type,
            summary,
            metadata,
        }
    }
}

/// Links two stored versions after the fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// The claiming version id.
    pub from: String,
    /// The version id claimed about (a version id, never a memory id).
    pub to: String,
    /// Supersedes or contradicts.
    pub relation: Relation,
    /// Accountable writer.
    pub writer: String,
    /// Why the link is written.
    pub justification: String,
    /// RFC 3339 UTC; defaults to now.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A policy question over a normalised triple.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AskRequest {
    /// The question as asked, kept for the record.
    pub text: String,
    /// Acting party.
    pub actor: String,
    /// Action.
    pub action: String,
    /// Resource.
    pub resource: String,
    /// RFC 3339 UTC instant to answer at; defaults to now.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Maximum number of selected items (1 to 1000, default 20).
    #[serde(default)]
    pub limit: Option<u32>,
    /// How many exclusions are listed (0 to 1000, default 10); all are counted.
    #[serde(default)]
    pub exclusion_limit: Option<u32>,
    /// Position of the first listed exclusion in the ranked exclusion list (default 0).
    #[serde(default)]
    pub exclusion_offset: Option<u32>,
    /// Gate the selected items by trust (`safe` or `exploration`); absent: no gate.
    #[serde(default)]
    pub trust_gate: Option<GateMode>,
}

/// A recall query over summary records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    /// Free text; its terms are matched lexically.
    pub text: String,
    /// Record types to search (default decision, preference, event, outcome).
    #[serde(default)]
    pub record_types: Option<Vec<RecordType>>,
    /// RFC 3339 UTC instant to answer at; defaults to now.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Maximum number of selected items (1 to 1000, default 20).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Which exclusions are listed: `nearest` (default), `full` or `summary`.
    #[serde(default)]
    pub exclusions: Option<ExclusionMode>,
    /// How many exclusions are listed (0 to 1000, default 10); all are counted.
    #[serde(default)]
    pub exclusion_limit: Option<u32>,
    /// Position of the first listed exclusion in the ranked exclusion list (default 0).
    #[serde(default)]
    pub exclusion_offset: Option<u32>,
    /// Gate the selected items by trust (`safe` or `exploration`); absent: no gate.
    #[serde(default)]
    pub trust_gate: Option<GateMode>,
}

/// Filters for listing records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListRequest {
    /// Only this record type.
    #[serde(default)]
    pub record_type: Option<RecordType>,
    /// Only versions of this memory.
    #[serde(default)]
    pub memory_id: Option<String>,
    /// At most this many records.
    #[serde(default)]
    pub limit: Option<u32>,
}
