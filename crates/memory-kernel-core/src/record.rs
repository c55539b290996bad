//! The typed memory record (docs/spec/domain.md). A record is immutable once stored (MKR-002); a change
//! is a new version of the same `memory_id`, linked to what it replaces.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{MemoryId, MemoryVersionId};
use crate::timestamp::Timestamp;

/// Declares a closed, snake_case wire enum with its rank, text form and parser in one place.
macro_rules! wire_enum {
    (
        $(#[$doc:meta])* $name:ident, $field:literal, [$($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)?]
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "schemars", derive(::schemars::JsonSchema))]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::error::ValidationError::UnknownVariant {
                        field: $field,
                        allowed: concat!($($text, ", "),+).trim_end_matches(", "),
                        value: s.to_owned(),
                    }),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// The five record types (MKR-001).
    RecordType, "record_type", [
        /// A scoped allow/deny rule answered by policy `ask`.
        Constraint = "constraint",
        /// A decision that was taken.
        Decision = "decision",
        /// A stated preference.
        Preference = "preference",
        /// Something that happened.
        Event = "event",
        /// The result of something.
        Outcome = "outcome",
    ]
);

wire_enum!(
    /// How the record's claim is known. Separate from confidence (MKR-006).
    TruthStatus, "truth_status", [
        /// Stated by an accountable writer.
        Asserted = "asserted",
        /// Directly observed.
        Observed = "observed",
        /// Derived by reasoning; needs a confidence.
        Inferred = "inferred",
        /// A guess; needs a confidence.
        Speculative = "speculative",
        /// Withdrawn: never selected.
        Retracted = "retracted",
    ]
);

wire_enum!(
    /// How much weight the source carries (MKR-007).
    Authority, "authority", [
        /// The governing source.
        Authoritative = "authoritative",
        /// Derived from an authoritative source.
        Derived = "derived",
        /// An informal note.
        Note = "note",
    ]
);

wire_enum!(
    /// What a constraint says about its scope.
    Effect, "effect", [
        /// The action is allowed.
        Allow = "allow",
        /// The action is denied.
        Deny = "deny",
    ]
);

wire_enum!(
    /// Lineage relation between two stored versions.
    Relation, "relation", [
        /// `from` replaces `to`; `to` is no longer selected.
        Supersedes = "supersedes",
        /// `from` and `to` disagree; both stay visible, flagged.
        Contradicts = "contradicts",
    ]
);

impl TruthStatus {
    /// Ordering rank: observed > asserted > inferred > speculative > retracted (docs/spec/resolver.md).
    #[must_use]
    pub const fn rank(self) -> u8 {
        match self {
            Self::Observed => 4,
            Self::Asserted => 3,
            Self::Inferred => 2,
            Self::Speculative => 1,
            Self::Retracted => 0,
        }
    }

    /// Whether the status demands an explicit confidence (MKR-006).
    #[must_use]
    pub const fn requires_confidence(self) -> bool {
        matches!(self, Self::Inferred | Self::Speculative)
    }
}

impl Authority {
    /// Ordering rank: authoritative > derived > note (MKR-007).
    #[must_use]
    pub const fn rank(self) -> u8 {
        match self {
            Self::Authoritative => 2,
            Self::Derived => 1,
            Self::Note => 0,
        }
    }
}

/// A confidence in `[0, 1]`. Kept as `f32` and rendered with the shortest text that round
/// trips, so `0.9` is `0.9` on every surface.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Confidence(f32);

impl Confidence {
    /// The value used for ordering when a record carries no confidence (docs/spec/resolver.md).
    pub const ORDERING_DEFAULT: f32 = 0.5;

    /// Validates a confidence value.
    ///
    /// # Errors
    /// [`ValidationError::ConfidenceOutOfRange`] when not finite or outside `[0, 1]`.
    pub fn new(value: f64) -> Result<Self, ValidationError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            // Narrowing is the contract: confidences are f32 on every surface.
            #[allow(clippy::cast_possible_truncation)]
            Ok(Self(value as f32))
        } else {
            Err(ValidationError::ConfidenceOutOfRange { value })
        }
    }

    /// The stored value.
    #[must_use]
    pub const fn get(self) -> f32 {
        self.0
    }

    /// The value as the `f64` whose shortest rendering equals this `f32`'s (0.9 → 0.9, not
    /// 0.8999999761581421), for storage in a double column.
    #[must_use]
    pub fn to_f64_exact_text(self) -> f64 {
        self.0.to_string().parse().unwrap_or(f64::from(self.0))
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Who may do what to which resource. Fields are trimmed and lowercased on construction, so
/// matching ignores case and surrounding whitespace; `*` is a wildcard in stored constraints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawScope")]
pub struct Scope {
    /// The acting party, e.g. `user`.
    pub actor: String,
    /// The action, e.g. `use`.
    pub action: String,
    /// The resource, e.g. `usb_drive`.
    pub resource: String,
}

/// The wildcard scope value.
pub const WILDCARD: &str = "*";

impl Scope {
    /// Normalises and validates a stored constraint's scope (wildcards allowed).
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] when a field is blank.
    pub fn new(actor: &str, action: &str, resource: &str) -> Result<Self, ValidationError> {
        Ok(Self {
            actor: normalise_scope_field("actor", actor)?,
            action: normalise_scope_field("action", action)?,
            resource: normalise_scope_field("resource", resource)?,
        })
    }

    /// Normalises and validates a query triple: like [`Scope::new`], but `*` is refused.
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] or [`ValidationError::WildcardInQuery`].
    pub fn query(actor: &str, action: &str, resource: &str) -> Result<Self, ValidationError> {
        let scope = Self::new(actor, action, resource)?;
        for (field, value) in scope.fields() {
            if value == WILDCARD {
                return Err(ValidationError::WildcardInQuery { field });
            }
        }
        Ok(scope)
    }

    /// The three fields with their wire names, in order.
    #[must_use]
    pub fn fields(&self) -> [(&'static str, &str); 3] {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("resource", &self.resource),
        ]
    }
}

/// The scope as it arrives on the wire, before normalisation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    actor: String,
    action: String,
    resource: String,
}

impl TryFrom<RawScope> for Scope {
    type Error = ValidationError;

    fn try_from(raw: RawScope) -> Result<Self, Self::Error> {
        Self::new(&raw.actor, &raw.action, &raw.resource)
    }
}

fn normalise_scope_field(field: &'static str, value: &str) -> Result<String, ValidationError> {
    no_control_characters(field, value, false)?;
    let value = value.trim().to_lowercase();
    if value.is_empty() {
        Err(ValidationError::EmptyField { field })
    } else {
        Ok(value)
    }
}

/// The characters [`identifier`] refuses (every control character), as the body of a JSON
/// Schema (ECMA-262) character class.
macro_rules! identifier_controls {
    () => {
        r"\u0000-\u001F\u007F-\u009F"
    };
}

/// The characters [`required_text`] refuses (control characters but tab, line feed and carriage
/// return), as the body of a JSON Schema (ECMA-262) character class.
macro_rules! text_controls {
    () => {
        r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F"
    };
}

/// What [`identifier`] accepts, as a JSON Schema pattern: no control character and at least
/// one character that is not white space. The OpenAPI document states it for writers and
/// scope fields.
pub const IDENTIFIER_PATTERN: &str = concat!(
    "^[^",
    identifier_controls!(),
    r"]*[^\s",
    identifier_controls!(),
    "][^",
    identifier_controls!(),
    "]*$"
);

/// What [`required_text`] accepts, as a JSON Schema pattern: no control character but tab,
/// line feed and carriage return, and at least one character that is not white space.
pub const REQUIRED_TEXT_PATTERN: &str = concat!(
    "^[^",
    text_controls!(),
    r"]*[^\s",
    text_controls!(),
    "][^",
    text_controls!(),
    "]*$"
);

/// What free text that may be blank (a note, an evidence reference) accepts, as a JSON Schema
/// pattern: no control character but tab, line feed and carriage return.
pub const FREE_TEXT_PATTERN: &str = concat!("^[^", text_controls!(), "]*$");

/// What [`validate_source_uri`] accepts, as a JSON Schema pattern: a scheme, a colon and at
/// least one more character, with no white space or control character anywhere.
pub const SOURCE_URI_PATTERN: &str = concat!(
    r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s",
    identifier_controls!(),
    "]+$"
);

/// What [`validate_source_hash`] accepts, as a JSON Schema pattern.
pub const SOURCE_HASH_PATTERN: &str = "^sha256:[0-9a-f]{64}$";

/// Refuses control characters: every one in an identifier, all but tab, line feed and carriage
/// return in free text (`text`).
///
/// # Errors
/// [`ValidationError::ControlCharacter`].
pub fn no_control_characters(
    field: &'static str,
    value: &str,
    text: bool,
) -> Result<(), ValidationError> {
    let refused = |c: char| c.is_control() && !(text && matches!(c, '\t' | '\n' | '\r'));
    if value.chars().any(refused) {
        Err(ValidationError::ControlCharacter { field })
    } else {
        Ok(())
    }
}

/// An identifier-like field (a writer): not blank after trimming, no control characters.
///
/// # Errors
/// [`ValidationError::ControlCharacter`] or [`ValidationError::EmptyField`].
pub fn identifier(field: &'static str, value: &str) -> Result<(), ValidationError> {
    no_control_characters(field, value, false)?;
    non_empty(field, value).map(drop)
}

/// A required free-text field: not blank after trimming, no control characters but tab, line
/// feed and carriage return.
///
/// # Errors
/// [`ValidationError::ControlCharacter`] or [`ValidationError::EmptyField`].
pub fn required_text(field: &'static str, value: &str) -> Result<(), ValidationError> {
    no_control_characters(field, value, true)?;
    non_empty(field, value).map(drop)
}

/// A constraint's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintPayload {
    /// Who, what, which.
    pub scope: Scope,
    /// Allow or deny.
    pub effect: Effect,
    /// Optional free-text note.
    #[serde(default)]
    pub note: Option<String>,
}

/// The payload of decision, preference, event and outcome records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryPayload {
    /// Non-empty summary text.
    pub summary: String,
}

/// The typed payload, serialized with `record_type` and `payload` tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record_type", content = "payload", rename_all = "snake_case")]
pub enum Payload {
    /// A scoped allow/deny rule.
    Constraint(ConstraintPayload),
    /// A decision.
    Decision(SummaryPayload),
    /// A preference.
    Preference(SummaryPayload),
    /// An event.
    Event(SummaryPayload),
    /// An outcome.
    Outcome(SummaryPayload),
}

impl Payload {
    /// The record type this payload belongs to.
    #[must_use]
    pub const fn record_type(&self) -> RecordType {
        match self {
            Self::Constraint(_) => RecordType::Constraint,
            Self::Decision(_) => RecordType::Decision,
            Self::Preference(_) => RecordType::Preference,
            Self::Event(_) => RecordType::Event,
            Self::Outcome(_) => RecordType::Outcome,
        }
    }

    /// Builds a summary payload for a non-constraint record type.
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] for a blank summary;
    /// [`ValidationError::UnknownVariant`] when `record_type` is `constraint`.
    pub fn summary(record_type: RecordType, summary: &str) -> Result<Self, ValidationError> {
        no_control_characters("summary", summary, true)?;
        let summary = non_empty("summary", summary)?;
        let payload = SummaryPayload { summary };
        Ok(match record_type {
            RecordType::Decision => Self::Decision(payload),
            RecordType::Preference => Self::Preference(payload),
            RecordType::Event => Self::Event(payload),
            RecordType::Outcome => Self::Outcome(payload),
            RecordType::Constraint => {
                return Err(ValidationError::UnknownVariant {
                    field: "record_type",
                    allowed: "decision, preference, event, outcome",
                    value: RecordType::Constraint.as_str().to_owned(),
                });
            }
        })
    }

    /// The summary text for summary records; `None` for constraints.
    #[must_use]
    pub fn summary_text(&self) -> Option<&str> {
        match self {
            Self::Constraint(_) => None,
            Self::Decision(p) | Self::Preference(p) | Self::Event(p) | Self::Outcome(p) => {
                Some(&p.summary)
            }
        }
    }

    /// The constraint payload, when this is a constraint.
    #[must_use]
    pub const fn constraint(&self) -> Option<&ConstraintPayload> {
        match self {
            Self::Constraint(c) => Some(c),
            _ => None,
        }
    }
}

/// Where a record's claim comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// URI of the source (MKR-004).
    pub source_uri: String,
    /// Optional `sha256:<64 lowercase hex>` digest of the source (MKR-005).
    #[serde(default)]
    pub source_hash: Option<String>,
    /// Supporting evidence references.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// One stored, immutable version of a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryRecord {
    /// Unique id of this version.
    pub memory_version_id: MemoryVersionId,
    /// Groups versions of one memory.
    pub memory_id: MemoryId,
    /// 1-based version within `memory_id`.
    pub version: u32,
    /// When the record was written (UTC).
    pub created_at: Timestamp,
    /// When the record takes effect (UTC).
    pub effective_at: Timestamp,
    /// How the claim is known.
    pub truth_status: TruthStatus,
    /// Weight of the source.
    pub authority: Authority,
    /// Optional confidence in `[0, 1]`.
    pub confidence: Option<Confidence>,
    /// Accountable writer.
    pub writer: String,
    /// Why the record was written.
    pub justification: String,
    /// Where it comes from.
    pub provenance: Provenance,
    /// Version ids this record replaces (never memory ids; MKR-003, MKR-029).
    #[serde(default)]
    pub supersedes: Vec<MemoryVersionId>,
    /// Version ids this record disagrees with.
    #[serde(default)]
    pub contradicts: Vec<MemoryVersionId>,
    /// Type-tagged payload (`record_type` + `payload`).
    #[serde(flatten)]
    pub payload: Payload,
}

impl MemoryRecord {
    /// The record's type.
    #[must_use]
    pub const fn record_type(&self) -> RecordType {
        self.payload.record_type()
    }

    /// Checks every rule of docs/spec/domain.md that the types alone cannot express. Every surface calls
    /// this before a record is stored, imported or answered from.
    ///
    /// # Errors
    /// The first [`ValidationError`] found, in field order.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.version == 0 {
            return Err(ValidationError::VersionZero);
        }
        if self.truth_status.requires_confidence() && self.confidence.is_none() {
            return Err(ValidationError::ConfidenceRequired {
                truth_status: self.truth_status,
            });
        }
        if let Some(confidence) = self.confidence {
            Confidence::new(f64::from(confidence.get()))?;
        }
        identifier("writer", &self.writer)?;
        required_text("justification", &self.justification)?;
        validate_source_uri(&self.provenance.source_uri)?;
        for evidence in &self.provenance.evidence {
            no_control_characters("evidence", evidence, true)?;
        }
        if let Some(hash) = &self.provenance.source_hash {
            validate_source_hash(hash)?;
        }
        for (field, ids) in [
            ("supersedes", &self.supersedes),
            ("contradicts", &self.contradicts),
        ] {
            if ids.contains(&self.memory_version_id) {
                return Err(ValidationError::SelfReference { field });
            }
        }
        match &self.payload {
            Payload::Constraint(c) => {
                // Fields are public, so a hand-built scope may bypass `Scope::new`.
                let normalised = Scope::new(&c.scope.actor, &c.scope.action, &c.scope.resource)?;
                if normalised != c.scope {
                    return Err(ValidationError::ScopeNotNormalised);
                }
                if let Some(note) = &c.note {
                    no_control_characters("note", note, true)?;
                }
            }
            other => {
                required_text("summary", other.summary_text().unwrap_or_default())?;
            }
        }
        Ok(())
    }
}

/// Trims a required text field and refuses it when empty (MKR-010).
///
/// # Errors
/// [`ValidationError::EmptyField`].
pub fn non_empty(field: &'static str, value: &str) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(ValidationError::EmptyField { field })
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A URI needs a scheme (`[A-Za-z][A-Za-z0-9+.-]*:`) and something after it (MKR-004).
///
/// # Errors
/// [`ValidationError::EmptyField`] or [`ValidationError::InvalidSourceUri`].
pub fn validate_source_uri(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::EmptyField {
            field: "source_uri",
        });
    }
    no_control_characters("source_uri", value, false)?;
    let valid = value.split_once(':').is_some_and(|(scheme, rest)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            && !rest.is_empty()
            && !value.chars().any(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(ValidationError::InvalidSourceUri {
            value: value.to_owned(),
        })
    }
}

/// `sha256:` followed by exactly 64 lowercase hex digits (MKR-005).
///
/// # Errors
/// [`ValidationError::InvalidSourceHash`].
pub fn validate_source_hash(value: &str) -> Result<(), ValidationError> {
    let valid = value.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if valid {
        Ok(())
    } else {
        Err(ValidationError::InvalidSourceHash {
            value: value.to_owned(),
        })
    }
}

/// A lineage link written after the fact (`memory link`), between two stored versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The version that supersedes or contradicts.
    pub from: MemoryVersionId,
    /// The version superseded or contradicted.
    pub to: MemoryVersionId,
    /// The relation.
    pub relation: Relation,
    /// Accountable writer.
    pub writer: String,
    /// Why the link was written.
    pub justification: String,
    /// When the link was written (UTC).
    pub created_at: Timestamp,
}

impl Link {
    /// Checks the link's own rules (non-empty accountability, no self link).
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] or [`ValidationError::SelfReference`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        identifier("writer", &self.writer)?;
        required_text("justification", &self.justification)?;
        if self.from == self.to {
            return Err(ValidationError::SelfReference {
                field: self.relation.as_str(),
            });
        }
        Ok(())
    }
}
