//! Reading every row of the original's layout into this store's values, without writing: the
//! migration plan counts what this returns, and the migration writes it. Any row this build
//! would refuse is reported here, naming its table and key, so a dry run already finds it.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::str::FromStr;

use memory_kernel_core::{
    Authority, Confidence, ConstraintPayload, Link, MemoryId, MemoryRecord, MemoryVersionId,
    Payload, Provenance, RecordType, Relation, Scope, SummaryPayload, Timestamp, TruthStatus,
    ValidationError,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use super::layout::{self, LINKS, Layout, PACKAGES, RECORDS, payload_table};
use super::lineage::{Claim, carry_order, place_claims};
use super::outcome::OutcomeRows;
use super::{LegacyInventory, LegacyPayloadRows, utc_timestamp, validate_carried};
use crate::error::{Result, StoreError};

/// One record to carry, with the key of the row it came from (for error messages).
#[derive(Debug, Clone)]
pub(crate) struct Carried {
    /// The row's key in the original's `memory_records` (memory_version_id, or memory_id in a
    /// version-1 file).
    pub(crate) key: String,
    /// The record as it will be stored.
    pub(crate) record: MemoryRecord,
}

/// Everything a file in the original layout holds, converted and ordered for carrying.
#[derive(Debug, Clone)]
pub(crate) struct LegacyContent {
    layout: Layout,
    /// Records in carry order, their lists filled from the links.
    pub(crate) records: Vec<Carried>,
    /// Links without duplicates, in the original's id order, each with its row id.
    pub(crate) links: Vec<(String, Link)>,
    /// Context packages as `(id, package JSON)`, ordered by id.
    pub(crate) packages: Vec<(String, String)>,
    /// The rows of the original's trust tables, as stored.
    pub(crate) outcome: OutcomeRows,
    link_rows: u64,
    duplicate_links: u64,
    payload_rows: LegacyPayloadRows,
}

impl LegacyContent {
    /// The counts a migration plan reports.
    pub(crate) fn inventory(&self) -> LegacyInventory {
        LegacyInventory {
            layout_version: self.layout.version,
            inferred_from_shape: self.layout.inferred_from_shape,
            records: self.records.len() as u64,
            payload_rows: self.payload_rows,
            links: self.link_rows,
            duplicate_links: self.duplicate_links,
            context_packages: self.packages.len() as u64,
            derived_version_ids: if self.layout.version < 2 {
                self.records.len() as u64
            } else {
                0
            },
            tables: self.tables().iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// The original's tables present in the file, in drop order.
    pub(crate) fn tables(&self) -> &[&'static str] {
        &self.layout.tables
    }
}

/// The memory_version_id a version-1 row gets, derived from its memory_id alone so that
/// migrating the same file twice gives the same ids: the memory_id's 48-bit millisecond time
/// (so the id sorts with its memory), followed by the first 80 bits of
/// `SHA-256("memorykernel.legacy-v1.memory_version_id:" + memory_id)`.
pub(crate) fn derived_version_id(memory_id: MemoryId) -> MemoryVersionId {
    let digest = Sha256::digest(format!(
        "memorykernel.legacy-v1.memory_version_id:{memory_id}"
    ));
    let random = digest
        .iter()
        .take(10)
        .fold(0u128, |acc, byte| (acc << 8) | u128::from(*byte));
    MemoryVersionId::from_ulid(Ulid::from_parts(memory_id.ulid().timestamp_ms(), random))
}

/// Reads and converts every row of the original's layout.
///
/// # Errors
/// [`StoreError::UnsupportedLegacyLayout`] for a layout this build cannot read;
/// [`StoreError::LegacyRow`] naming the first row it refuses; SQLite errors.
pub(crate) fn read(conn: &Connection) -> Result<LegacyContent> {
    let layout = layout::detect(conn)?;
    let (mut payloads, payload_rows) = read_payloads(conn, &layout)?;
    let records = read_records(conn, &layout, &mut payloads)?;
    refuse_orphan_payloads(payloads)?;
    let ids: HashMap<&str, MemoryVersionId> = records
        .iter()
        .map(|c| (c.key.as_str(), c.record.memory_version_id))
        .collect();
    let LinkRows {
        links,
        read: link_rows,
        duplicates: duplicate_links,
    } = read_links(conn, &layout, &ids)?;
    let mut records = carry_order(records, |c| &c.record);
    // Every link stays a link; those pointing back in carry order are also listed.
    place_claims(
        &mut records,
        |c| &mut c.record,
        links.iter().map(|(_, link)| Claim {
            from: link.from,
            to: link.to,
            relation: link.relation,
        }),
    );
    for carried in &records {
        validate_carried(&carried.record)
            .map_err(|e| refused(RECORDS, &carried.key, StoreError::Validation(e)))?;
    }
    let packages = read_packages(conn, &layout)?;
    let versions: HashSet<(String, u32)> = records
        .iter()
        .map(|c| (c.record.memory_id.to_string(), c.record.version))
        .collect();
    let outcome = super::outcome::read(conn, &versions)?;
    Ok(LegacyContent {
        layout,
        records,
        links,
        packages,
        outcome,
        link_rows,
        duplicate_links,
        payload_rows,
    })
}

/// Wraps why a row was refused with its table and key.
pub(super) fn refused(table: &'static str, key: &str, source: StoreError) -> StoreError {
    StoreError::LegacyRow {
        table,
        key: key.to_owned(),
        source: Box::new(source),
    }
}

/// One row being read, with what names it in errors.
struct Cells<'r, 's> {
    row: &'r Row<'s>,
    table: &'static str,
    key: String,
}

impl<'r, 's> Cells<'r, 's> {
    /// Reads the key from column 0, whatever its storage class.
    fn new(row: &'r Row<'s>, table: &'static str) -> Result<Self> {
        let key = match row.get::<_, Value>(0)? {
            Value::Text(text) => text,
            Value::Integer(i) => i.to_string(),
            Value::Real(r) => r.to_string(),
            other => format!("{other:?}"),
        };
        Ok(Self { row, table, key })
    }

    fn refuse(&self, source: StoreError) -> StoreError {
        refused(self.table, &self.key, source)
    }

    fn corrupt(&self, column: &str, detail: impl Display) -> StoreError {
        self.refuse(StoreError::CorruptRow {
            key: self.key.clone(),
            detail: format!("{column}: {detail}"),
        })
    }

    fn valid<T>(&self, value: Result<T, ValidationError>) -> Result<T> {
        value.map_err(|e| self.refuse(StoreError::Validation(e)))
    }

    fn text(&self, index: usize, column: &str) -> Result<String> {
        self.row
            .get::<_, String>(index)
            .map_err(|e| self.corrupt(column, e))
    }

    fn opt_text(&self, index: usize, column: &str) -> Result<Option<String>> {
        self.row
            .get::<_, Option<String>>(index)
            .map_err(|e| self.corrupt(column, e))
    }

    fn parse<T: FromStr<Err = ValidationError>>(&self, index: usize, column: &str) -> Result<T> {
        let text = self.text(index, column)?;
        self.valid(text.parse())
    }

    fn timestamp(&self, index: usize, column: &str) -> Result<Timestamp> {
        let text = self.text(index, column)?;
        self.valid(utc_timestamp(&text))
    }
}

type PayloadMaps = HashMap<RecordType, HashMap<String, Payload>>;

/// A summary payload of `record_type`, its text kept verbatim; `None` for constraints.
fn summary_payload(record_type: RecordType, payload: SummaryPayload) -> Option<Payload> {
    match record_type {
        RecordType::Decision => Some(Payload::Decision(payload)),
        RecordType::Preference => Some(Payload::Preference(payload)),
        RecordType::Event => Some(Payload::Event(payload)),
        RecordType::Outcome => Some(Payload::Outcome(payload)),
        RecordType::Constraint => None,
    }
}

fn read_payloads(conn: &Connection, layout: &Layout) -> Result<(PayloadMaps, LegacyPayloadRows)> {
    let key = layout.key_column();
    let mut maps = PayloadMaps::new();
    let mut counts = LegacyPayloadRows::default();
    for record_type in RecordType::ALL {
        let table = payload_table(*record_type);
        let map = maps.entry(*record_type).or_default();
        if !layout.has_table(table) {
            continue;
        }
        let sql = if *record_type == RecordType::Constraint {
            format!(
                "SELECT \"{key}\", actor, action, resource, effect, {note} FROM {table} ORDER BY 1",
                note = layout.column_or(table, "note", "NULL"),
            )
        } else {
            format!("SELECT \"{key}\", summary FROM {table} ORDER BY 1")
        };
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let cells = Cells::new(row, table)?;
            let payload = if *record_type == RecordType::Constraint {
                // The original matched scopes as stored; this store keeps them trimmed and
                // lowercased, as the API does for every new constraint.
                let scope = cells.valid(Scope::new(
                    &cells.text(1, "actor")?,
                    &cells.text(2, "action")?,
                    &cells.text(3, "resource")?,
                ))?;
                Payload::Constraint(ConstraintPayload {
                    scope,
                    effect: cells.parse(4, "effect")?,
                    note: cells.opt_text(5, "note")?,
                })
            } else {
                let summary = SummaryPayload {
                    summary: cells.text(1, "summary")?,
                };
                summary_payload(*record_type, summary)
                    .ok_or_else(|| cells.corrupt("summary", "not a summary record type"))?
            };
            if map.insert(cells.key.clone(), payload).is_some() {
                return Err(cells.corrupt(key, "appears twice"));
            }
        }
        let count = map.len() as u64;
        match record_type {
            RecordType::Constraint => counts.constraint = count,
            RecordType::Decision => counts.decision = count,
            RecordType::Preference => counts.preference = count,
            RecordType::Event => counts.event = count,
            RecordType::Outcome => counts.outcome = count,
        }
    }
    Ok((maps, counts))
}

fn read_records(
    conn: &Connection,
    layout: &Layout,
    payloads: &mut PayloadMaps,
) -> Result<Vec<Carried>> {
    if !layout.has_table(RECORDS) {
        return Ok(Vec::new());
    }
    let key = layout.key_column();
    // Version-1 rows are one version per memory, keyed by memory_id.
    let identity = if layout.version >= 2 {
        format!("\"{key}\", memory_id, version")
    } else {
        "memory_id, memory_id, 1".to_owned()
    };
    let sql = format!(
        "SELECT {identity}, record_type, created_at, effective_at, truth_status, authority, \
         {confidence}, writer, justification, source_uri, {source_hash}, {evidence} \
         FROM {RECORDS} ORDER BY 1",
        confidence = layout.column_or(RECORDS, "confidence", "NULL"),
        source_hash = layout.column_or(RECORDS, "source_hash", "NULL"),
        evidence = layout.column_or(RECORDS, "evidence_json", "NULL"),
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    while let Some(row) = rows.next()? {
        let cells = Cells::new(row, RECORDS)?;
        let memory_id: MemoryId = cells.parse(1, "memory_id")?;
        let memory_version_id = if layout.version >= 2 {
            cells.parse(0, key)?
        } else {
            derived_version_id(memory_id)
        };
        if !seen.insert(memory_version_id) {
            return Err(cells.refuse(StoreError::DuplicateRecord { memory_version_id }));
        }
        let version: i64 = row.get(2).map_err(|e| cells.corrupt("version", e))?;
        let version = u32::try_from(version).map_err(|e| cells.corrupt("version", e))?;
        let record_type: RecordType = cells.parse(3, "record_type")?;
        let payload = payloads
            .get_mut(&record_type)
            .and_then(|map| map.remove(&cells.key))
            .ok_or_else(|| {
                cells.corrupt(
                    payload_table(record_type),
                    format!("no {} row for this record", payload_table(record_type)),
                )
            })?;
        let confidence = row
            .get::<_, Option<f64>>(8)
            .map_err(|e| cells.corrupt("confidence", e))?
            .map(Confidence::new)
            .transpose();
        let evidence = match cells.opt_text(13, "evidence_json")? {
            None => Vec::new(),
            Some(text) => serde_json::from_str::<Vec<String>>(&text)
                .map_err(|e| cells.corrupt("evidence_json", e))?,
        };
        let record = MemoryRecord {
            memory_version_id,
            memory_id,
            version,
            created_at: cells.timestamp(4, "created_at")?,
            effective_at: cells.timestamp(5, "effective_at")?,
            truth_status: cells.parse::<TruthStatus>(6, "truth_status")?,
            authority: cells.parse::<Authority>(7, "authority")?,
            confidence: cells.valid(confidence)?,
            writer: cells.text(9, "writer")?,
            justification: cells.text(10, "justification")?,
            provenance: Provenance {
                source_uri: cells.text(11, "source_uri")?,
                source_hash: cells.opt_text(12, "source_hash")?,
                evidence,
            },
            supersedes: Vec::new(),
            contradicts: Vec::new(),
            payload,
        };
        records.push(Carried {
            key: cells.key,
            record,
        });
    }
    Ok(records)
}

/// A payload row no record claims (its record is missing, or of another type) cannot be
/// carried anywhere; refusing it keeps the migration from losing it silently.
fn refuse_orphan_payloads(payloads: PayloadMaps) -> Result<()> {
    for record_type in RecordType::ALL {
        let Some(map) = payloads.get(record_type) else {
            continue;
        };
        if let Some(key) = map.keys().min() {
            let table = payload_table(*record_type);
            return Err(refused(
                table,
                key,
                StoreError::CorruptRow {
                    key: key.clone(),
                    detail: format!("no {RECORDS} row of type {record_type} owns this payload"),
                },
            ));
        }
    }
    Ok(())
}

/// The original's links, each once, with how many rows were read.
struct LinkRows {
    /// Distinct links with their row ids, in id order.
    links: Vec<(String, Link)>,
    /// Rows read.
    read: u64,
    /// Rows dropped as duplicates.
    duplicates: u64,
}

/// The links, duplicates removed (a duplicate repeats an earlier row in every field but its
/// id, instants compared in UTC).
fn read_links(
    conn: &Connection,
    layout: &Layout,
    ids: &HashMap<&str, MemoryVersionId>,
) -> Result<LinkRows> {
    let mut out = LinkRows {
        links: Vec::new(),
        read: 0,
        duplicates: 0,
    };
    if !layout.has_table(LINKS) {
        return Ok(out);
    }
    let (from, to) = layout.link_end_columns();
    let id = if layout.has_column(LINKS, "id") {
        "id"
    } else {
        "rowid"
    };
    let sql = format!(
        "SELECT {id}, \"{from}\", \"{to}\", link_type, writer, justification, created_at \
         FROM {LINKS} ORDER BY 1"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut seen = HashSet::new();
    while let Some(row) = rows.next()? {
        out.read += 1;
        let cells = Cells::new(row, LINKS)?;
        let end = |index: usize, column: &str| -> Result<MemoryVersionId> {
            let text = cells.text(index, column)?;
            ids.get(text.as_str())
                .copied()
                .ok_or_else(|| cells.corrupt(column, format!("{text} names no {RECORDS} row")))
        };
        let link = Link {
            from: end(1, from)?,
            to: end(2, to)?,
            relation: cells.parse::<Relation>(3, "link_type")?,
            writer: cells.text(4, "writer")?,
            justification: cells.text(5, "justification")?,
            created_at: cells.timestamp(6, "created_at")?,
        };
        cells.valid(link.validate())?;
        let identity = (
            link.from,
            link.to,
            link.relation,
            link.created_at,
            link.writer.clone(),
            link.justification.clone(),
        );
        if seen.insert(identity) {
            out.links.push((cells.key, link));
        } else {
            out.duplicates += 1;
        }
    }
    Ok(out)
}

fn read_packages(conn: &Connection, layout: &Layout) -> Result<Vec<(String, String)>> {
    if !layout.has_table(PACKAGES) {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT context_package_id, package_json FROM {PACKAGES} ORDER BY 1"
    ))?;
    let mut rows = stmt.query([])?;
    let mut packages = Vec::new();
    while let Some(row) = rows.next()? {
        let cells = Cells::new(row, PACKAGES)?;
        let id = cells.text(0, "context_package_id")?;
        if id.trim().is_empty() {
            return Err(
                cells.refuse(StoreError::Validation(ValidationError::EmptyField {
                    field: "context_package_id",
                })),
            );
        }
        let json = cells.text(1, "package_json")?;
        serde_json::from_str::<serde::de::IgnoredAny>(&json)
            .map_err(|e| cells.corrupt("package_json", e))?;
        packages.push((id, json));
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_distinct_and_keep_the_memory_time() {
        let memory: MemoryId = "01M8QFBV8A9AA9AY0JBHPM35F5".parse().unwrap();
        let other: MemoryId = "01M8QFBV8A9AA9AY0JBHPM35F6".parse().unwrap();
        let id = derived_version_id(memory);
        assert_eq!(id, derived_version_id(memory));
        assert_ne!(id, derived_version_id(other));
        assert_ne!(id.ulid(), memory.ulid());
        assert_eq!(id.ulid().timestamp_ms(), memory.ulid().timestamp_ms());
    }
}
