//! Rows back into domain values. Text is parsed with core's own parsers, so a stored value
//! that core would refuse surfaces as [`StoreError::CorruptRow`] rather than a silent default.

use std::str::FromStr;

use memory_kernel_core::{
    Confidence, ConstraintPayload, LineageEdge, Link, MemoryRecord, Payload, Provenance,
    RecordType, Scope, SummaryPayload,
};
use rusqlite::Row;

use crate::error::{Result, StoreError};

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
pub(crate) fn confidence_at(row: &Row<'_>, column: usize, key: &str) -> Result<Option<Confidence>> {
    row.get::<_, Option<f64>>(column)?
        .map(Confidence::new)
        .transpose()
        .map_err(|e| StoreError::CorruptRow {
            key: key.to_owned(),
            detail: format!("confidence: {e}"),
        })
}

/// Reassembles a record from one `mk_record_rows` row.
pub(crate) fn record_from_row(row: &Row<'_>) -> Result<MemoryRecord> {
    let key: String = row.get(0)?;
    let key = key.as_str();
    let record_type: RecordType = parse(key, "record_type", &row.get::<_, String>(3)?)?;
    let summary = || -> Result<SummaryPayload> {
        let summary: Option<String> = row.get(21)?;
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
    let version: i64 = row.get(2)?;
    let confidence = confidence_at(row, 8, key)?;
    Ok(MemoryRecord {
        memory_version_id: parse(key, "memory_version_id", key)?,
        memory_id: parse(key, "memory_id", &row.get::<_, String>(1)?)?,
        version: u32::try_from(version).map_err(|e| StoreError::CorruptRow {
            key: key.to_owned(),
            detail: format!("version: {e}"),
        })?,
        created_at: parse(key, "created_at", &row.get::<_, String>(4)?)?,
        effective_at: parse(key, "effective_at", &row.get::<_, String>(5)?)?,
        truth_status: parse(key, "truth_status", &row.get::<_, String>(6)?)?,
        authority: parse(key, "authority", &row.get::<_, String>(7)?)?,
        confidence,
        writer: row.get(9)?,
        justification: row.get(10)?,
        provenance: Provenance {
            source_uri: row.get(11)?,
            source_hash: row.get(12)?,
            evidence: parse_json(key, "evidence_json", &row.get::<_, String>(13)?)?,
        },
        supersedes: parse_json(key, "supersedes_json", &row.get::<_, String>(14)?)?,
        contradicts: parse_json(key, "contradicts_json", &row.get::<_, String>(15)?)?,
        payload,
    })
}

fn constraint_from_row(row: &Row<'_>, key: &str) -> Result<ConstraintPayload> {
    let actor: Option<String> = row.get(16)?;
    let action: Option<String> = row.get(17)?;
    let resource: Option<String> = row.get(18)?;
    let effect: Option<String> = row.get(19)?;
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
        note: row.get(20)?,
    })
}

/// Reads one `mk_lineage_edges` row.
pub(crate) fn edge_from_row(row: &Row<'_>) -> Result<LineageEdge> {
    let from: String = row.get(0)?;
    let key = from.as_str();
    Ok(LineageEdge {
        from: parse(key, "from_version_id", key)?,
        to: parse(key, "to_version_id", &row.get::<_, String>(1)?)?,
        relation: parse(key, "relation", &row.get::<_, String>(2)?)?,
        visible_from: parse(key, "visible_from", &row.get::<_, String>(3)?)?,
    })
}

/// Reads one `mk_memory_links` row.
pub(crate) fn link_from_row(row: &Row<'_>) -> Result<Link> {
    let from: String = row.get(0)?;
    let key = from.as_str();
    Ok(Link {
        from: parse(key, "from_version_id", key)?,
        to: parse(key, "to_version_id", &row.get::<_, String>(1)?)?,
        relation: parse(key, "relation", &row.get::<_, String>(2)?)?,
        writer: row.get(3)?,
        justification: row.get(4)?,
        created_at: parse(key, "created_at", &row.get::<_, String>(5)?)?,
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
