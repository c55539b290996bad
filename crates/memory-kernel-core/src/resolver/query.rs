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
    #[serde(flatten)]
    bounds: PackageBounds,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAskQuery {
    text: String,
    scope: RawTriple,
    as_of: Timestamp,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    exclusion_limit: Option<u32>,
    #[serde(default)]
    exclusion_offset: Option<u32>,
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
        let bounds = PackageBounds::new(raw.limit, raw.exclusion_limit, raw.exclusion_offset)?;
        Ok(Self::new(raw.text, scope, raw.as_of).with_bounds(bounds))
    }
}

/// Largest accepted `limit`: a package is pasted into a prompt, so it stays small.
pub const MAX_LIMIT: u32 = 1000;
/// Selected items when the request names no `limit`.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest accepted `exclusion_limit` (one page of the exclusion list).
pub const MAX_EXCLUSION_LIMIT: u32 = 1000;
/// Listed exclusions when the request names no `exclusion_limit`: the nearest misses.
pub const DEFAULT_EXCLUSION_LIMIT: u32 = 10;
/// At most this many `ordering_trace` lines: the pairs among the first selected items.
pub const MAX_TRACE_LINES: usize = 10;

/// How large a package may grow, whatever the store holds: at most `limit` selected items and
/// one page of exclusions (`exclusion_limit` items from position `exclusion_offset` of the
/// ranked exclusion list); every exclusion is still counted in `excluded_summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageBounds {
    limit: u32,
    exclusion_limit: u32,
    exclusion_offset: u32,
}

impl Default for PackageBounds {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            exclusion_limit: DEFAULT_EXCLUSION_LIMIT,
            exclusion_offset: 0,
        }
    }
}

impl PackageBounds {
    /// Bounds from optional request fields; absent ones take their defaults.
    ///
    /// # Errors
    /// [`ValidationError::ZeroLimit`] for a `limit` of 0,
    /// [`ValidationError::BoundTooLarge`] for a `limit` or `exclusion_limit` above its maximum.
    pub fn new(
        limit: Option<u32>,
        exclusion_limit: Option<u32>,
        exclusion_offset: Option<u32>,
    ) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 {
            return Err(ValidationError::ZeroLimit);
        }
        if limit > MAX_LIMIT {
            return Err(ValidationError::BoundTooLarge {
                field: "limit",
                max: MAX_LIMIT,
                value: limit,
            });
        }
        let exclusion_limit = exclusion_limit.unwrap_or(DEFAULT_EXCLUSION_LIMIT);
        if exclusion_limit > MAX_EXCLUSION_LIMIT {
            return Err(ValidationError::BoundTooLarge {
                field: "exclusion_limit",
                max: MAX_EXCLUSION_LIMIT,
                value: exclusion_limit,
            });
        }
        Ok(Self {
            limit,
            exclusion_limit,
            exclusion_offset: exclusion_offset.unwrap_or(0),
        })
    }

    /// The cap on selected items.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.limit
    }

    /// How many exclusions are listed.
    #[must_use]
    pub const fn exclusion_limit(&self) -> u32 {
        self.exclusion_limit
    }

    /// The position in the ranked exclusion list of the first one listed.
    #[must_use]
    pub const fn exclusion_offset(&self) -> u32 {
        self.exclusion_offset
    }

    /// The listed page of a ranked exclusion list of `total` entries, as an index range.
    #[must_use]
    pub fn page(&self, total: usize) -> std::ops::Range<usize> {
        let start = usize::try_from(self.exclusion_offset)
            .unwrap_or(usize::MAX)
            .min(total);
        let len = usize::try_from(self.exclusion_limit).unwrap_or(usize::MAX);
        start..start.saturating_add(len).min(total)
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
            bounds: PackageBounds::default(),
        }
    }

    /// Sets the package bounds.
    #[must_use]
    pub const fn with_bounds(mut self, bounds: PackageBounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// The package bounds.
    #[must_use]
    pub const fn bounds(&self) -> PackageBounds {
        self.bounds
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
    /// How a recall package reports records it did not select (docs/spec/resolver.md).
    ExclusionMode, "exclusions", [
        /// The near misses are listed: records sharing a term with the query that were
        /// excluded (retracted, superseded or beyond the limit), best first. Records without a
        /// shared term are only counted. The default.
        Nearest = "nearest",
        /// Records without a shared term are listed too, after the near misses. Costs a scan
        /// of every visible record of the searched types; page with `exclusion_offset`.
        Full = "full",
        /// No exclusion is listed; `excluded_summary` still counts them all.
        Summary = "summary",
    ]
);

// `wire_enum!` owns the derive list, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for ExclusionMode {
    fn default() -> Self {
        Self::Nearest
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
    exclusions: ExclusionMode,
    #[serde(flatten)]
    bounds: PackageBounds,
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
    #[serde(default)]
    exclusion_limit: Option<u32>,
    #[serde(default)]
    exclusion_offset: Option<u32>,
}

impl TryFrom<RawRecallQuery> for RecallQuery {
    type Error = ValidationError;

    fn try_from(raw: RawRecallQuery) -> Result<Self, Self::Error> {
        let mut query = Self::new(raw.text, raw.as_of)?.with_exclusions(raw.exclusions);
        if let Some(types) = raw.record_types {
            query = query.with_record_types(types)?;
        }
        Ok(query.with_bounds(PackageBounds::new(
            raw.limit,
            raw.exclusion_limit,
            raw.exclusion_offset,
        )?))
    }
}

impl RecallQuery {
    /// A recall over the default record types with the default bounds and the near misses
    /// listed.
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
            exclusions: ExclusionMode::Nearest,
            bounds: PackageBounds::default(),
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
    /// As [`PackageBounds::new`].
    pub fn with_limit(mut self, limit: u32) -> Result<Self, ValidationError> {
        self.bounds = PackageBounds::new(
            Some(limit),
            Some(self.bounds.exclusion_limit),
            Some(self.bounds.exclusion_offset),
        )?;
        Ok(self)
    }

    /// Sets the package bounds.
    #[must_use]
    pub const fn with_bounds(mut self, bounds: PackageBounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// The package bounds.
    #[must_use]
    pub const fn bounds(&self) -> PackageBounds {
        self.bounds
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

    /// The cap on selected items.
    #[must_use]
    pub const fn limit(&self) -> u32 {
        self.bounds.limit
    }

    /// How exclusions are reported.
    #[must_use]
    pub const fn exclusions(&self) -> ExclusionMode {
        self.exclusions
    }
}
