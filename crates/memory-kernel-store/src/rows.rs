//! Rows back into domain values. Text is parsed with core's own parsers, so a stored value
//! that core would refuse surfaces as [`StoreError::CorruptRow`] rather than a silent default.

use std::str::FromStr;

use memory_kernel_core::{
    Confidence, ConstraintPayload, LineageEdge, Link, MemoryRecord, Payload, Provenance,
    RecordType, Scope, SummaryPayload,
};
use rusqlite::Row;

use crate::error::{Result, StoreError};

/// A result row of either engine, read by column index; the decoders below are written once
/// against it, so both engines turn the same stored values into the same domain values.
pub(crate) trait Cells {
    /// A non-null text column.
    fn text(&self, column: usize) -> Result<String>;
    /// A nullable text column.
    fn opt_text(&self, column: usize) -> Result<Option<String>>;
    /// A non-null integer column.
    fn int(&self, column: usize) -> Result<i64>;
    /// A nullable integer column.
    fn opt_int(&self, column: usize) -> Result<Option<i64>>;
    /// A non-null floating-point column.
    fn real(&self, column: usize) -> Result<f64>;
    /// A nullable floating-point column.
    fn opt_real(&self, column: usize) -> Result<Option<f64>>;
}

impl Cells for Row<'_> {
    fn text(&self, column: usize) -> Result<String> {
        Ok(self.get(column)?)
    }
    fn opt_text(&self, column: usize) -> Result<Option<String>> {
        Ok(self.get(column)?)
    }
    fn int(&self, column: usize) -> Result<i64> {
        Ok(self.get(column)?)
    }
    fn opt_int(&self, column: usize) -> Result<Option<i64>> {
        Ok(self.get(column)?)
    }
    fn real(&self, column: usize) -> Result<f64> {
        Ok(self.get(column)?)
    }
    fn opt_real(&self, column: usize) -> Result<Option<f64>> {
        Ok(self.get(column)?)
    }
}

/// The columns of the `mk_record_rows` view, in the order [`record_from_row`] reads them.
pub(crate) const RECORD_COLUMNS: &str = "v.memory_version_id, v.memory_id, v.version, \
    v.record_type, v.created_at, v.effective_at, v.truth_status, v.authority, v.confidence, \
    v.writer, v.justification, v.source_uri, v.source_hash, v.evidence_json, v.supersedes_json, \
    v.contradicts_json, v.actor, v.action, v.resource, v.effect, v.note, v.summary";

/// The columns of `mk_lineage_edges`, in the order [`edge_from_row`] reads them.
pub(crate) const EDGE_COLUMNS: &str =
    "e.from_version_id, e.to_version_id, e.relation, e.visible_from";

/// The columns of `mk_memory_links`, in the order [`link_from_row`] reads them.
pub(crate) const LINK_COLUMNS: &str =
    "l.from_version_id, l.to_version_id, l.relation, l.writer, l.justification, l.created_at";

pub(crate) fn parse<T: FromStr>(key: &str, column: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| StoreError::CorruptRow {
        key: key.to_owned(),
        detail: format!("{column}: {e}"),
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(key: &str, column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::CorruptRow {
        key: key.to_owned(),
        detail: format!("{column}: {e}"),
    })
}

fn missing(key: &str, column: &str) -> StoreError {
    StoreError::CorruptRow {
        key: key.to_owned(),
        detail: format!("{column}: payload row missing"),
    }
}

/// How many columns [`RECORD_COLUMNS`] lists: a query may select more after them.
pub(crate) const RECORD_COLUMN_COUNT: usize = 22;

/// The optional confidence in `column`, read back through [`Confidence::new`].
pub(crate) fn confidence_at(
    row: &(impl Cells + ?Sized),
    column: usize,
    key: &str,
) -> Result<Option<Confidence>> {
    row.opt_real(column)?
        .map(Confidence::new)
        .transpose()
        .map_err(|e| StoreError::CorruptRow {
            key: key.to_owned(),
            detail: format!("confidence: {e}"),
        })
}

/// Reassembles a record from one `mk_record_rows` row.
pub(crate) fn record_from_row(row: &Row<'_>) -> Result<MemoryRecord> {
    record_from_cells(row)
}

/// Reassembles a record from the [`RECORD_COLUMNS`] of a row of either engine.
pub(crate) fn record_from_cells(row: &(impl Cells + ?Sized)) -> Result<MemoryRecord> {
    let key: String = row.text(0)?;
    let key = key.as_str();
    let record_type: RecordType = parse(key, "record_type", &row.text(3)?)?;
    let summary = || -> Result<SummaryPayload> {
        let summary: Option<String> = row.opt_text(21)?;
        Ok(SummaryPayload {
            summary: summary.ok_or_else(|| missing(key, "summary"))?,
        })
    };
    let payload = match record_type {
        RecordType::Constraint => Payload::Constraint(constraint_from_row(row, key)?),
        RecordType::Decision => Payload::Decision(summary()?),
        RecordType::Preference => Payload::Preference(summary()?),
        RecordType::Event => Payload::Event(summary()?),
        RecordType::Outcome => Payload::Outcome(summary()?),
    };
    let version: i64 = row.int(2)?;
    let confidence = confidence_at(row, 8, key)?;
    Ok(MemoryRecord {
        memory_version_id: parse(key, "memory_version_id", key)?,
        memory_id: parse(key, "memory_id", &row.text(1)?)?,
        version: u32::try_from(version).map_err(|e| StoreError::CorruptRow {
            key: key.to_owned(),
            detail: format!("version: {e}"),
        })?,
        created_at: parse(key, "created_at", &row.text(4)?)?,
        effective_at: parse(key, "effective_at", &row.text(5)?)?,
        truth_status: parse(key, "truth_status", &row.text(6)?)?,
        authority: parse(key, "authority", &row.text(7)?)?,
        confidence,
        writer: row.text(9)?,
        justification: row.text(10)?,
        provenance: Provenance {
            source_uri: row.text(11)?,
            source_hash: row.opt_text(12)?,
            evidence: parse_json(key, "evidence_json", &row.text(13)?)?,
        },
        supersedes: parse_json(key, "supersedes_json", &row.text(14)?)?,
        contradicts: parse_json(key, "contradicts_json", &row.text(15)?)?,
        payload,
    })
}

fn constraint_from_row(row: &(impl Cells + ?Sized), key: &str) -> Result<ConstraintPayload> {
    let actor = row.opt_text(16)?;
    let action = row.opt_text(17)?;
    let resource = row.opt_text(18)?;
    let effect = row.opt_text(19)?;
    let (Some(actor), Some(action), Some(resource), Some(effect)) =
        (actor, action, resource, effect)
    else {
        return Err(missing(key, "constraint"));
    };
    Ok(ConstraintPayload {
        // Stored normalised (a CHECK enforces it), so rebuild without re-normalising.
        scope: Scope {
            actor,
            action,
            resource,
        },
        effect: parse(key, "effect", &effect)?,
        note: row.opt_text(20)?,
    })
}

/// Reads one `mk_lineage_edges` row.
pub(crate) fn edge_from_row(row: &Row<'_>) -> Result<LineageEdge> {
    edge_from_cells(row)
}

/// Reads the [`EDGE_COLUMNS`] of a row of either engine.
pub(crate) fn edge_from_cells(row: &(impl Cells + ?Sized)) -> Result<LineageEdge> {
    let from = row.text(0)?;
    let key = from.as_str();
    Ok(LineageEdge {
        from: parse(key, "from_version_id", key)?,
        to: parse(key, "to_version_id", &row.text(1)?)?,
        relation: parse(key, "relation", &row.text(2)?)?,
        visible_from: parse(key, "visible_from", &row.text(3)?)?,
    })
}

/// Reads one `mk_memory_links` row.
pub(crate) fn link_from_row(row: &Row<'_>) -> Result<Link> {
    link_from_cells(row)
}

/// Reads the [`LINK_COLUMNS`] of a row of either engine.
pub(crate) fn link_from_cells(row: &(impl Cells + ?Sized)) -> Result<Link> {
    let from = row.text(0)?;
    let key = from.as_str();
    Ok(Link {
        from: parse(key, "from_version_id", key)?,
        to: parse(key, "to_version_id", &row.text(1)?)?,
        relation: parse(key, "relation", &row.text(2)?)?,
        writer: row.text(3)?,
        justification: row.text(4)?,
        created_at: parse(key, "created_at", &row.text(5)?)?,
    })
}

/// Collects a query's rows through a fallible mapper.
pub(crate) fn collect<T>(
    mut rows: rusqlite::Rows<'_>,
    map: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

#[cfg(test)]
mod column_tests {
    #[test]
    fn the_record_column_count_matches_the_list() {
        assert_eq!(
            super::RECORD_COLUMNS.split(',').count(),
            super::RECORD_COLUMN_COUNT
        );
    }
}
