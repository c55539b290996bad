//! Validation errors: one variant per rule of the domain (docs/spec/domain.md, §12), so every surface
//! (CLI, API, service, import) refuses the same values for the same reason.

use thiserror::Error;

use crate::record::TruthStatus;

/// Why a record, link or query was refused. Each variant is one rule; callers match on the
/// variant, never on the message.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required text field was empty after trimming (MKR-010, summaries, scope fields).
    #[error("{field} must not be empty")]
    EmptyField {
        /// The field's wire name.
        field: &'static str,
    },
    /// `provenance.source_uri` is not a URI with a scheme (MKR-004).
    #[error("source_uri must be a URI with a scheme (e.g. file:///policy.md), got {value:?}")]
    InvalidSourceUri {
        /// The refused value.
        value: String,
    },
    /// `provenance.source_hash` is not `sha256:` followed by 64 lowercase hex digits (MKR-005).
    #[error("source_hash must be `sha256:` followed by 64 lowercase hex digits, got {value:?}")]
    InvalidSourceHash {
        /// The refused value.
        value: String,
    },
    /// A field carries a control character: identifiers (writer, scope fields, source_uri)
    /// accept none, free text accepts only tab, line feed and carriage return. NUL in
    /// particular would be cut off by SQLite, storing a different value than the one sent.
    #[error("{field} must not contain control characters")]
    ControlCharacter {
        /// The field's wire name.
        field: &'static str,
    },
    /// A lineage link would close a `supersedes` cycle: the target already supersedes the
    /// claiming version, directly or through other versions.
    #[error(
        "supersedes link from {from} to {to} would close a cycle: {to} already supersedes {from}"
    )]
    SupersedesCycle {
        /// The claiming version.
        from: String,
        /// The version claimed about.
        to: String,
    },
    /// A string that cannot be a context package id (see
    /// `memory_kernel_core::package::validate_context_package_id`).
    #[error(
        "context_package_id must be 1 to 128 ASCII letters, digits, `_`, `-`, `.` or `:`, got {value:?} ({length} bytes)"
    )]
    InvalidContextPackageId {
        /// The refused value, cut to a bounded prefix.
        value: String,
        /// The refused value's length in bytes.
        length: usize,
    },
    /// Confidence outside `[0, 1]` or not a finite number (MKR-006).
    #[error("confidence must be a number in [0, 1], got {value}")]
    ConfidenceOutOfRange {
        /// The refused value.
        value: f64,
    },
    /// Inferred and speculative records must say how confident they are (MKR-006).
    #[error("confidence is required when truth_status is {truth_status}")]
    ConfidenceRequired {
        /// The truth status that demands a confidence.
        truth_status: TruthStatus,
    },
    /// Versions start at 1 (MKR-030).
    #[error("version must be at least 1")]
    VersionZero,
    /// A timestamp that is not RFC 3339 at all.
    #[error("{value:?} is not an RFC 3339 timestamp")]
    InvalidTimestamp {
        /// The refused value.
        value: String,
    },
    /// A timestamp with an offset other than `Z` (MKR-018).
    #[error("timestamps must be UTC with a `Z` suffix, got {value:?}")]
    NonUtcTimestamp {
        /// The refused value.
        value: String,
    },
    /// An identifier that is not a ULID.
    #[error("{field} must be a ULID, got {value:?}")]
    InvalidUlid {
        /// The field's wire name.
        field: &'static str,
        /// The refused value.
        value: String,
    },
    /// A record lists its own version id in `supersedes` or `contradicts`.
    #[error("a record cannot list its own memory_version_id in {field}")]
    SelfReference {
        /// `supersedes` or `contradicts`.
        field: &'static str,
    },
    /// A scope field carries surrounding whitespace or upper case; build it with `Scope::new`.
    #[error("scope fields must be trimmed and lowercase")]
    ScopeNotNormalised,
    /// A query scope field is `*`: wildcards belong to stored constraints, not to questions.
    #[error("query {field} must name a concrete value, not the wildcard `*`")]
    WildcardInQuery {
        /// The field's wire name.
        field: &'static str,
    },
    /// A recall query whose text yields no terms: no word of two or more letters, digits, `_`
    /// or `-`, and no CJK character (see `docs/spec/resolver.md`, "Terms").
    #[error(
        "query text must contain at least one term: a word of two or more letters, digits, `_` \
         or `-`, or a CJK character"
    )]
    NoQueryTerms,
    /// A recall query that names an empty list of record types; omit the field for the default.
    #[error("record_types must name at least one record type when given")]
    NoRecordTypes,
    /// A recall limit of zero: it would select nothing, so it is refused rather than guessed.
    #[error("limit must be at least 1 when given")]
    ZeroLimit,
    /// A package size bound above its maximum: responses stay bounded by the request.
    #[error("{field} must be at most {max}, got {value}")]
    BoundTooLarge {
        /// The field's wire name.
        field: &'static str,
        /// The largest accepted value.
        max: u32,
        /// The value given.
        value: u32,
    },
    /// An enum value outside its closed set.
    #[error("{field} must be one of {allowed}, got {value:?}")]
    UnknownVariant {
        /// The field's wire name.
        field: &'static str,
        /// The accepted values, comma separated.
        allowed: &'static str,
        /// The refused value.
        value: String,
    },
}

/// The longest refused value a message repeats, in characters; longer input is cut and marked,
/// so an error never echoes unbounded input back.
pub const ECHO_LIMIT: usize = 64;

/// `value` cut to [`ECHO_LIMIT`] characters (with `…` when cut), for error messages.
#[must_use]
pub fn bounded_echo(value: &str) -> String {
    match value.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}
