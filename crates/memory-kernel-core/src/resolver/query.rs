//! The two questions the resolvers answer. Both are validated on construction (and on
//! deserialization, which goes through the same constructors), so a resolver never sees a
//! query it would have to second-guess.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::record::{RecordType, Scope, wire_enum};
use crate::terms::terms;
use crate::timestamp::Timestamp;

/// A policy question: may `actor` perform `action` on `resource`, as of an instant?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAskQuery")]
pub struct AskQuery {
    text: String,
    scope: Scope,
    as_of: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAskQuery {
    text: String,
    scope: RawTriple,
    as_of: Timestamp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriple {
    actor: String,
    action: String,
    resource: String,
}

impl TryFrom<RawAskQuery> for AskQuery {
    type Error = ValidationError;

    fn try_from(raw: RawAskQuery) -> Result<Self, Self::Error> {
        let scope = Scope::query(&raw.scope.actor, &raw.scope.action, &raw.scope.resource)?;
        Ok(Self::new(raw.text, scope, raw.as_of))
    }
}

impl AskQuery {
    /// A policy question over an already validated query scope (see [`Scope::query`]). The
    /// text is kept verbatim for the record; only the triple decides the answer.
    #[must_use]
    pub fn new(text: impl Into<String>, scope: Scope, as_of: Timestamp) -> Self {
        Self {
            text: text.into(),
            scope,
            as_of,
        }
    }

    /// Normalises the triple and builds the question.
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] for a blank field, [`ValidationError::WildcardInQuery`]
    /// when a field is `*`.
    pub fn from_triple(
        text: impl Into<String>,
        actor: &str,
        action: &str,
        resource: &str,
        as_of: Timestamp,
    ) -> Result<Self, ValidationError> {
        Ok(Self::new(
            text,
            Scope::query(actor, action, resource)?,
            as_of,
        ))
    }

    /// The free text, verbatim.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The normalised, wildcard-free triple.
    #[must_use]
    pub const fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The instant the question is asked at.
    #[must_use]
    pub const fn as_of(&self) -> Timestamp {
        self.as_of
    }
}

wire_enum!(
    /// How a recall package reports records it did not select (SPEC §3.2).
    ExclusionMode, "exclusions", [
        /// Every excluded record is listed in `excluded_items`.
        Full = "full",
        /// Only retracted and superseded records are listed; the other reasons are counted in
        /// `excluded_summary`.
        Summary = "summary",
    ]
);

// `wire_enum!` owns the derive list, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for ExclusionMode {
    fn default() -> Self {
        Self::Full
    }
}

/// The record types recall searches when the query names none.
pub const DEFAULT_RECALL_TYPES: [RecordType; 4] = [
    RecordType::Decision,
    RecordType::Preference,
    RecordType::Event,
    RecordType::Outcome,
];

/// A recall question: which records of the given types match these words, as of an instant?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRecallQuery")]
pub struct RecallQuery {
    text: String,
    record_types: Vec<RecordType>,
    as_of: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    exclusions: ExclusionMode,
    #[serde(skip)]
    terms: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecallQuery {
    text: String,
    #[serde(default)]
    record_types: Option<Vec<RecordType>>,
    as_of: Timestamp,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    exclusions: ExclusionMode,
}

impl TryFrom<RawRecallQuery> for RecallQuery {
    type Error = ValidationError;

    fn try_from(raw: RawRecallQuery) -> Result<Self, Self::Error> {
        let mut query = Self::new(raw.text, raw.as_of)?.with_exclusions(raw.exclusions);
        if let Some(types) = raw.record_types {
            query = query.with_record_types(types)?;
        }
        if let Some(limit) = raw.limit {
            query = query.with_limit(limit)?;
        }
        Ok(query)
    }
}

impl RecallQuery {
    /// A recall over the default record types, unlimited, with every exclusion listed.
    ///
    /// # Errors
    /// [`ValidationError::NoQueryTerms`] when the text yields no terms.
    pub fn new(text: impl Into<String>, as_of: Timestamp) -> Result<Self, ValidationError> {
        let text = text.into();
        let terms = terms(&text);
        if terms.is_empty() {
            return Err(ValidationError::NoQueryTerms);
        }
        Ok(Self {
            text,
            record_types: DEFAULT_RECALL_TYPES.to_vec(),
            as_of,
            limit: None,
            exclusions: ExclusionMode::Full,
            terms,
        })
    }

    /// Restricts the record types searched; duplicates are removed and the list is sorted.
    ///
    /// # Errors
    /// [`ValidationError::NoRecordTypes`] when the list is empty.
    pub fn with_record_types(
        mut self,
        record_types: impl IntoIterator<Item = RecordType>,
    ) -> Result<Self, ValidationError> {
        let mut types: Vec<RecordType> = record_types.into_iter().collect();
        types.sort_unstable();
        types.dedup();
        if types.is_empty() {
            return Err(ValidationError::NoRecordTypes);
        }
        self.record_types = types;
        Ok(self)
    }

    /// Caps the number of selected items; the rest are excluded as `beyond requested limit`.
    ///
    /// # Errors
    /// [`ValidationError::ZeroLimit`] when `limit` is 0.
    pub fn with_limit(mut self, limit: u32) -> Result<Self, ValidationError> {
        if limit == 0 {
            return Err(ValidationError::ZeroLimit);
        }
        self.limit = Some(limit);
        Ok(self)
    }

    /// Chooses how exclusions are reported.
    #[must_use]
    pub const fn with_exclusions(mut self, exclusions: ExclusionMode) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// The free text, verbatim.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The query's terms (sorted, deduplicated, never empty), as [`crate::terms::terms`] gives.
    #[must_use]
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// The record types searched, sorted and deduplicated.
    #[must_use]
    pub fn record_types(&self) -> &[RecordType] {
        &self.record_types
    }

    /// The instant the question is asked at.
    #[must_use]
    pub const fn as_of(&self) -> Timestamp {
        self.as_of
    }

    /// The cap on selected items, if any.
    #[must_use]
    pub const fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// How exclusions are reported.
    #[must_use]
    pub const fn exclusions(&self) -> ExclusionMode {
        self.exclusions
    }
}
