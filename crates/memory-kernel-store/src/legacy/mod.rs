//! Files written by the original MemoryKernel: recognising its database layout, carrying every
//! row of it into this schema inside the migration transaction, and the conversions its
//! snapshots share with that (UTC timestamps, lineage order). See `docs/spec/migrations.md`
//! ("The original's database files") and `docs/spec/snapshots.md`.

mod carry;
mod layout;
mod lineage;
mod outcome;
mod read;

use memory_kernel_core::{MemoryRecord, Timestamp, ValidationError};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

pub(crate) use carry::carry;
pub(crate) use lineage::carry_order;
pub(crate) use outcome::drop_tables as drop_outcome_tables;
pub(crate) use read::{LegacyContent, read};

/// The `kind` under which context packages stored by the original are kept.
pub const UPSTREAM_PACKAGE_KIND: &str = "upstream";

/// What a migration will carry out of a file in the original MemoryKernel's layout, counted
/// without writing anything (part of the migration plan, so a surface can say exactly what
/// will move and suggest a backup first). After a real migration it describes what was
/// carried: all of it, or (on any error) nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegacyInventory {
    /// The original's schema version of the file: 2 (version-id layout), 1 (one version per
    /// memory, keyed by memory_id) or 0 (no `memory_records` table).
    pub layout_version: u32,
    /// True when the file's `schema_migrations` table had no rows, so the version was read
    /// from the shape of `memory_records`.
    pub inferred_from_shape: bool,
    /// Rows of `memory_records`; each becomes one record.
    pub records: u64,
    /// Rows of each payload table.
    pub payload_rows: LegacyPayloadRows,
    /// Rows of `memory_links`, duplicates included.
    pub links: u64,
    /// Rows of `memory_links` that repeat an earlier row in every field but their id; they
    /// are carried once, and this many rows are dropped.
    pub duplicate_links: u64,
    /// Rows of `context_packages`; each is stored verbatim with kind `upstream`.
    pub context_packages: u64,
    /// Records that get a new memory_version_id (version-1 files: every record).
    pub derived_version_ids: u64,
    /// The original's tables found in the file, which the migration drops once their rows
    /// are carried (in drop order).
    pub tables: Vec<String>,
}

/// Row counts of the original's five payload tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LegacyPayloadRows {
    /// `constraint_payloads`.
    pub constraint: u64,
    /// `decision_payloads`.
    pub decision: u64,
    /// `preference_payloads`.
    pub preference: u64,
    /// `event_payloads`.
    pub event: u64,
    /// `outcome_payloads`.
    pub outcome: u64,
}

/// Converts the original's RFC 3339 text, with any offset, to the same instant in UTC. The
/// original kept timestamps as given (an offset such as `+02:00` occurs in files its HTTP
/// service wrote); this store keeps UTC only. Sub-second digits are kept.
///
/// # Errors
/// [`ValidationError::InvalidTimestamp`] when the text is not RFC 3339.
pub(crate) fn utc_timestamp(text: &str) -> Result<Timestamp, ValidationError> {
    let invalid = || ValidationError::InvalidTimestamp {
        value: text.to_owned(),
    };
    let parsed = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| invalid())?;
    Timestamp::from_offset_date_time(parsed.to_offset(UtcOffset::UTC)).map_err(|_| invalid())
}

/// The domain rules a record carried from the original must meet: every rule of core's
/// `validate()` except the format of `source_hash`. The original stored the hash text as
/// given (`sha256:1f2e` occurs), and carrying must not lose or rewrite it; new writes through
/// the API still need `sha256:` + 64 hex digits.
///
/// # Errors
/// The first [`ValidationError`] core reports for the record with its hash set aside.
pub(crate) fn validate_carried(record: &MemoryRecord) -> Result<(), ValidationError> {
    if record.provenance.source_hash.is_none() {
        return record.validate();
    }
    let mut probe = record.clone();
    probe.provenance.source_hash = None;
    probe.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_the_same_instant_in_utc() {
        let cases = [
            ("2026-01-05T09:00:00Z", "2026-01-05T09:00:00Z"),
            ("2026-01-05T11:00:00+02:00", "2026-01-05T09:00:00Z"),
            ("2026-01-05T00:30:00-01:15", "2026-01-05T01:45:00Z"),
            (
                "2026-12-01T00:16:39.350010977Z",
                "2026-12-01T00:16:39.350010977Z",
            ),
            ("2026-01-01T01:00:00.5+01:00", "2026-01-01T00:00:00.5Z"),
        ];
        for (given, utc) in cases {
            assert_eq!(utc_timestamp(given).unwrap().to_string(), utc, "{given}");
        }
        for bad in ["", "2026-01-05", "2026-01-05 09:00:00", "yesterday"] {
            assert!(
                matches!(
                    utc_timestamp(bad),
                    Err(ValidationError::InvalidTimestamp { .. })
                ),
                "{bad}"
            );
        }
    }
}
