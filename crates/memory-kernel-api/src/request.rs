//! Request types of the application API. Their serde form is the `service.v3` request body
//! (docs/spec/service-contract.md), so the service deserializes straight into them and the CLI builds them from
//! flags. Values arrive raw (text timestamps and ids, `f64` confidence) and are validated by
//! core when the record is built, so every surface refuses the same inputs the same way.

use memory_kernel_core::resolver::ExclusionMode;
use memory_kernel_core::{Authority, Effect, RecordType, Relation, TruthStatus};
use memory_kernel_outcome::GateMode;
use serde::{Deserialize, Serialize};

/// Declares an add-record request: the payload fields given, plus the provenance,
/// accountability and lineage fields every record type shares (written once, here).
macro_rules! add_record_request {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: $ty,)+
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
    };
}

add_record_request!(
    /// Adds a constraint: a scoped allow or deny.
    AddConstraintRequest {
        /// Acting party (`*` for any).
        actor: String,
        /// Action (`*` for any).
        action: String,
        /// Resource (`*` for any).
        resource: String,
        /// Allow or deny.
        effect: Effect,
        /// Optional note.
        #[serde(default)]
        note: Option<String>,
    }
);

add_record_request!(
    /// Adds a decision, preference, event or outcome.
    AddSummaryRequest {
        /// Any record type except `constraint`.
        record_type: RecordType,
        /// Non-empty summary text.
        summary: String,
    }
);

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
