//! Context packages (MKR-047) as derived data: stored so a later `context show` returns the
//! exact bytes the query produced, small enough that storing every query is cheap, and
//! prunable (see `docs/spec/context-package.md`, "Storage").
//!
//! A package is stored in a compact form: its items name their records by version id instead
//! of copying them, and the whole is deflate-compressed. Records are immutable and never
//! deleted, so reading a package back rebuilds byte-identical JSON. Package ids are derived
//! from the query and its snapshot, so storing the same id twice is the same package: the
//! first copy is kept, never a conflict.
//!
//! Writes are batched: a query hands its package to a queue, and whichever query finds no
//! batch being written commits everything queued in one transaction, so concurrent queries do
//! not each wait for the single SQLite writer. Until committed, a queued package is served
//! from the queue.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Mutex, PoisonError};

use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use memory_kernel_core::package::QueryKind;
use memory_kernel_core::package::{
    ASK_RULESET_VERSION, Answer, ContextPackage, Determinism, ItemWhy, PackageItem, PackageQuery,
    RECALL_RULESET_VERSION, RuleScores, TrustGateAttachment,
};
use memory_kernel_core::resolver::ordering::{
    ASK_TIE_BREAKERS, RECALL_TIE_BREAKERS, ordering_confidence,
};
use memory_kernel_core::resolver::{active_reasons, ordering_trace_of};
use memory_kernel_core::{MemoryRecord, MemoryVersionId, Timestamp, ValidationError};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::records::nanos;
use crate::rows::{RECORD_COLUMN_COUNT, RECORD_COLUMNS, collect, record_from_row};
use crate::store::Store;

/// Encoding of a package stored verbatim (packages of older builds, or of the original
/// MemoryKernel's files).
pub(crate) const ENCODING_JSON: &str = "json";
/// Encoding of [`CompactPackage`] with its id and items' version ids, deflate-compressed
/// (storage schema 2 and 3; still read).
pub(crate) const ENCODING_COMPACT_V1: &str = "compact-deflate.v1";
/// Encoding of [`CompactPackage`] without its id (the row's key) and with items naming their
/// records by recall document number, deflate-compressed (storage schema 4).
pub(crate) const ENCODING_COMPACT: &str = "compact-deflate.v2";

/// A stored context package, as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredContextPackage {
    /// The package id.
    pub context_package_id: String,
    /// The query kind that produced it (e.g. `ask`, `recall`).
    pub kind: String,
    /// The package JSON, byte for byte as the query returned it.
    pub package_json: String,
}

/// What [`Store::prune_context_packages`] removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// Packages deleted.
    pub pruned_packages: u64,
    /// Packages kept.
    pub remaining_packages: u64,
}

/// The stored form: the package with each item reduced to its record's version id and what
/// cannot be read back from the record. Field names are short because every byte is stored
/// once per query; everything left out is rebuilt exactly from the record or the ruleset.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactPackage {
    /// The id (v1 only; v2 reads it from the row's key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// `generated_at`, only when it differs from the query's `as_of` (always in v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<Timestamp>,
    q: PackageQuery,
    r: String,
    sid: String,
    /// Tie-breakers, only when they differ from the ruleset's own list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tb: Option<Vec<String>>,
    a: Answer,
    s: Vec<CompactItem>,
    x: Vec<CompactItem>,
    /// The ordering trace, only when it differs from the one rebuilt from the items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<Vec<String>>,
}

/// Which resolver a ruleset belongs to.
fn ruleset_kind(ruleset: &str) -> Option<QueryKind> {
    match ruleset {
        ASK_RULESET_VERSION => Some(QueryKind::Ask),
        RECALL_RULESET_VERSION => Some(QueryKind::Recall),
        _ => None,
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactItem {
    /// The record's version id (v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<MemoryVersionId>,
    /// The record's recall document number (v2): a few bytes where a version id takes 26.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<i64>,
    /// The rank, only when it is not the item's position in its list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<u32>,
    /// The reasons, without the two "active" reasons when `a` is set.
    w: Vec<String>,
    /// Whether reasons 2 and 3 are the record's active reasons.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    a: bool,
    /// The scores that are not the record's own ranks: scope match, lexical match count and
    /// relevance (selected items only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<(Option<u32>, Option<u32>, Option<f64>)>,
    /// The trust gate's verdict, when the package was gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    g: Option<TrustGateAttachment>,
}

/// The tie-breakers a ruleset always uses.
fn ruleset_tie_breakers(ruleset: &str) -> Option<&'static [&'static str]> {
    match ruleset {
        ASK_RULESET_VERSION => Some(&ASK_TIE_BREAKERS),
        RECALL_RULESET_VERSION => Some(&RECALL_TIE_BREAKERS),
        _ => None,
    }
}

impl CompactItem {
    fn of(item: &PackageItem, position: u32, record: &MemoryRecord, doc: i64) -> Self {
        let mut reasons = item.why.reasons.clone();
        let active = active_reasons(record);
        let a = reasons.get(1..3) == Some(&active[..]);
        if a {
            reasons.drain(1..3);
        }
        Self {
            v: None,
            d: Some(doc),
            r: (item.rank != position).then_some(item.rank),
            w: reasons,
            a,
            p: item
                .why
                .rule_scores
                .map(|s| (s.scope_match, s.lexical_match_count, s.relevance)),
            g: item.trust_gate.clone(),
        }
    }

    fn rebuild(self, position: u32, included: bool, records: &Named) -> Result<PackageItem> {
        let record = match (self.v, self.d) {
            (Some(id), _) => records.by_version.get(&id),
            (None, Some(doc)) => records.by_doc.get(&doc),
            (None, None) => None,
        }
        .ok_or_else(|| StoreError::CorruptRow {
            key: self.v.map_or_else(
                || format!("doc {}", self.d.unwrap_or_default()),
                |v| v.to_string(),
            ),
            detail: "a stored context package names a record that is not stored".to_owned(),
        })?;
        let mut reasons = self.w;
        if self.a {
            let at = reasons.len().min(1);
            reasons.splice(at..at, active_reasons(record));
        }
        let rule_scores = self
            .p
            .map(|(scope_match, lexical_match_count, relevance)| RuleScores {
                scope_match,
                lexical_match_count,
                relevance,
                authority_rank: record.authority.rank(),
                truth_status_rank: record.truth_status.rank(),
                confidence: ordering_confidence(record.confidence),
            });
        let why = ItemWhy {
            included,
            reasons,
            rule_scores,
        };
        let mut item = PackageItem::from_record(self.r.unwrap_or(position), record, why);
        item.trust_gate = self.g;
        Ok(item)
    }
}

fn corrupt(id: &str, detail: impl ToString) -> StoreError {
    StoreError::CorruptRow {
        key: id.to_owned(),
        detail: detail.to_string(),
    }
}

/// 1-based positions of a list's items: the excluded list starts after the offset.
fn positions(start: u32) -> impl Iterator<Item = u32> {
    (1..).map(move |i| start.saturating_add(i))
}

/// The records a stored package names, by version id (v1) and by document number (v2).
#[derive(Default)]
pub(crate) struct Named {
    pub(crate) by_version: BTreeMap<MemoryVersionId, MemoryRecord>,
    pub(crate) by_doc: BTreeMap<i64, MemoryRecord>,
}

/// The compact, compressed bytes of a package; `records` holds every record it lists and
/// `docs` their recall document numbers.
pub(crate) fn encode(
    package: &ContextPackage,
    records: &[MemoryRecord],
    docs: &BTreeMap<MemoryVersionId, i64>,
) -> Result<Vec<u8>> {
    let listed: std::collections::BTreeSet<MemoryVersionId> = package
        .selected_items
        .iter()
        .chain(&package.excluded_items)
        .map(|item| item.memory_version_id)
        .collect();
    let by_id: BTreeMap<MemoryVersionId, &MemoryRecord> = records
        .iter()
        .filter(|record| listed.contains(&record.memory_version_id))
        .map(|record| (record.memory_version_id, record))
        .collect();
    let compact_items = |items: &[PackageItem], start: u32| {
        items
            .iter()
            .zip(positions(start))
            .map(|(item, position)| {
                let record = by_id.get(&item.memory_version_id).ok_or_else(|| {
                    corrupt(
                        &package.context_package_id,
                        "an item's record was not given",
                    )
                })?;
                let doc = docs.get(&item.memory_version_id).ok_or_else(|| {
                    corrupt(
                        &package.context_package_id,
                        "an item's record has no recall document",
                    )
                })?;
                Ok(CompactItem::of(item, position, record, *doc))
            })
            .collect::<Result<Vec<_>>>()
    };
    let determinism = &package.determinism;
    let standard = ruleset_tie_breakers(&determinism.ruleset_version).is_some_and(|tb| {
        tb.iter()
            .copied()
            .eq(determinism.tie_breakers.iter().map(String::as_str))
    });
    let compact = CompactPackage {
        id: None,
        at: (package.generated_at != package.query.as_of).then_some(package.generated_at),
        q: package.query.clone(),
        r: determinism.ruleset_version.clone(),
        sid: determinism.snapshot_id.clone(),
        tb: (!standard).then(|| determinism.tie_breakers.clone()),
        a: package.answer.clone(),
        s: compact_items(&package.selected_items, 0)?,
        x: compact_items(
            &package.excluded_items,
            package.query.exclusion_offset.unwrap_or(0),
        )?,
        t: (ruleset_kind(&determinism.ruleset_version)
            .map(|kind| ordering_trace_of(kind, &package.selected_items))
            .as_ref()
            != Some(&package.ordering_trace))
        .then(|| package.ordering_trace.clone()),
    };
    let json = serde_json::to_vec(&compact).map_err(|e| corrupt(&package.context_package_id, e))?;
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder
        .write_all(&json)
        .and_then(|()| encoder.finish())
        .map_err(|e| corrupt(&package.context_package_id, e))
}

/// Rebuilds the package JSON from its compact bytes, reading the records it names.
fn decode(conn: &Connection, id: &str, body: &[u8]) -> Result<String> {
    decode_with(id, body, |ids, docs| {
        Ok(Named {
            by_version: records_by_id(conn, ids)?,
            by_doc: records_by_doc(conn, docs)?,
        })
    })
}

/// Rebuilds the package JSON from its compact bytes; `named` reads the records it names, by
/// version id and by recall document number (either engine).
pub(crate) fn decode_with(
    id: &str,
    body: &[u8],
    named: impl FnOnce(&[String], &[i64]) -> Result<Named>,
) -> Result<String> {
    let mut json = Vec::new();
    DeflateDecoder::new(body)
        .read_to_end(&mut json)
        .map_err(|e| corrupt(id, e))?;
    let compact: CompactPackage = serde_json::from_slice(&json).map_err(|e| corrupt(id, e))?;
    let items = || compact.s.iter().chain(&compact.x);
    let ids: Vec<String> = items()
        .filter_map(|item| item.v.map(|v| v.to_string()))
        .collect();
    let docs: Vec<i64> = items().filter_map(|item| item.d).collect();
    let records = named(&ids, &docs)?;
    let rebuild = |items: Vec<CompactItem>, start: u32, included: bool| {
        items
            .into_iter()
            .zip(positions(start))
            .map(|(item, position)| item.rebuild(position, included, &records))
            .collect::<Result<Vec<_>>>()
    };
    let tie_breakers = match compact.tb {
        Some(list) => list,
        None => ruleset_tie_breakers(&compact.r)
            .ok_or_else(|| corrupt(id, "unknown ruleset without tie-breakers"))?
            .iter()
            .map(|t| (*t).to_owned())
            .collect(),
    };
    let offset = compact.q.exclusion_offset.unwrap_or(0);
    let selected_items = rebuild(compact.s, 0, true)?;
    let ordering_trace = match compact.t {
        Some(trace) => trace,
        None => ruleset_kind(&compact.r)
            .map(|kind| ordering_trace_of(kind, &selected_items))
            .ok_or_else(|| corrupt(id, "unknown ruleset without an ordering trace"))?,
    };
    let package = ContextPackage {
        context_package_id: compact.id.unwrap_or_else(|| id.to_owned()),
        generated_at: compact.at.unwrap_or(compact.q.as_of),
        query: compact.q,
        determinism: Determinism {
            ruleset_version: compact.r,
            snapshot_id: compact.sid,
            tie_breakers,
        },
        answer: compact.a,
        selected_items,
        excluded_items: rebuild(compact.x, offset, false)?,
        ordering_trace,
    };
    Ok(package.to_canonical_json())
}

/// Records by recall document number.
fn records_by_doc(conn: &Connection, docs: &[i64]) -> Result<BTreeMap<i64, MemoryRecord>> {
    if docs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let docs_json = serde_json::to_string(docs).map_err(|e| corrupt("package", e))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS}, d.doc FROM mk_recall_docs d \
         CROSS JOIN mk_record_rows v ON v.memory_version_id = d.memory_version_id \
         WHERE d.doc IN (SELECT value FROM json_each(?1))"
    ))?;
    let mut rows = stmt.query([docs_json])?;
    let mut found = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let doc: i64 = row.get(RECORD_COLUMN_COUNT)?;
        found.insert(doc, record_from_row(row)?);
    }
    Ok(found)
}

/// The recall document numbers of `ids`.
pub(crate) fn docs_of(
    conn: &Connection,
    ids: impl IntoIterator<Item = MemoryVersionId>,
) -> Result<BTreeMap<MemoryVersionId, i64>> {
    let ids: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids_json = serde_json::to_string(&ids).map_err(|e| corrupt("package", e))?;
    let mut stmt = conn.prepare_cached(
        "SELECT memory_version_id, doc FROM mk_recall_docs \
         WHERE memory_version_id IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = stmt.query([ids_json])?;
    let mut found = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let id: MemoryVersionId = crate::rows::parse(&key, "memory_version_id", &key)?;
        found.insert(id, row.get(1)?);
    }
    Ok(found)
}

fn records_by_id(
    conn: &Connection,
    ids: &[String],
) -> Result<BTreeMap<MemoryVersionId, MemoryRecord>> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids_json = serde_json::to_string(ids).map_err(|e| corrupt("package", e))?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM mk_record_rows v \
         WHERE v.memory_version_id IN (SELECT value FROM json_each(?1))"
    ))?;
    Ok(collect(stmt.query([ids_json])?, record_from_row)?
        .into_iter()
        .map(|record| (record.memory_version_id, record))
        .collect())
}

/// A package waiting in the write queue.
#[derive(Debug, Clone)]
struct Queued {
    kind: String,
    encoding: &'static str,
    body: Vec<u8>,
    stored_at: i64,
}

/// Packages handed over by queries and not yet committed, and whether a batch is being
/// written. Shared by every clone of a [`Store`].
#[derive(Debug, Default)]
pub(crate) struct PackageQueue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    waiting: BTreeMap<String, Queued>,
    writing: BTreeMap<String, Queued>,
    writer_active: bool,
}

impl PackageQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, id: &str) -> Option<Queued> {
        let state = self.lock();
        state
            .waiting
            .get(id)
            .or_else(|| state.writing.get(id))
            .cloned()
    }
}

impl Store {
    /// Stores a package unless one with this id is stored or queued; `records` must hold every
    /// record the package lists (the candidate set it was resolved from). The package is queued,
    /// and committed in a batch with every other queued package by whichever caller finds no
    /// batch in progress; the others return at once. A commit error reaches the caller that
    /// wrote the batch, and that batch's packages are dropped (they are derived data: the same
    /// query at the same `as_of` rebuilds them).
    ///
    /// # Errors
    /// [`ValidationError::EmptyField`] for a blank kind; schema-gate and SQLite errors.
    pub fn put_context_package(
        &self,
        package: &ContextPackage,
        records: &[MemoryRecord],
        kind: &str,
    ) -> Result<()> {
        check_non_empty("kind", kind)?;
        let id = package.context_package_id.clone();
        check_non_empty("context_package_id", &id)?;
        if let Some(pg) = self.postgres() {
            return pg.put_context_package(package, records, kind);
        }
        if self.has_context_package(&id)? {
            return Ok(());
        }
        let listed = package
            .selected_items
            .iter()
            .chain(&package.excluded_items)
            .map(|item| item.memory_version_id);
        let docs = self.with_current_conn(|conn| docs_of(conn, listed))?;
        let queued = Queued {
            kind: kind.to_owned(),
            encoding: ENCODING_COMPACT,
            body: encode(package, records, &docs)?,
            stored_at: nanos(Timestamp::now())?,
        };
        let queue = self.package_queue()?;
        {
            let mut state = queue.lock();
            state.waiting.entry(id).or_insert(queued);
            if state.writer_active {
                return Ok(());
            }
            state.writer_active = true;
        }
        loop {
            let batch = {
                let mut state = queue.lock();
                if state.waiting.is_empty() {
                    state.writer_active = false;
                    state.writing.clear();
                    return Ok(());
                }
                let batch = std::mem::take(&mut state.waiting);
                state.writing.clone_from(&batch);
                batch
            };
            let written = self.write_tx(None, |tx| {
                for (id, queued) in &batch {
                    insert_encoded(tx, id, queued)?;
                }
                Ok(())
            });
            if let Err(error) = written {
                let mut state = queue.lock();
                state.writer_active = false;
                state.writing.clear();
                return Err(error);
            }
        }
    }

    /// Whether a package with this id is stored or queued; reads only.
    ///
    /// # Errors
    /// Schema-gate and SQLite errors.
    pub fn has_context_package(&self, id: &str) -> Result<bool> {
        if let Some(pg) = self.postgres() {
            return pg.has_context_package(id);
        }
        if self.package_queue()?.get(id).is_some() {
            return Ok(true);
        }
        self.with_current_conn(|conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM mk_stored_packages WHERE context_package_id = ?1")?
                .query_row([id], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    /// The JSON of a package, byte-identical to what its query returned, or `None`.
    ///
    /// # Errors
    /// [`StoreError::CorruptRow`] when a stored package cannot be rebuilt; schema-gate and
    /// SQLite errors.
    pub fn get_context_package(&self, id: &str) -> Result<Option<String>> {
        if let Some(pg) = self.postgres() {
            return pg.get_context_package(id);
        }
        let queued = self.package_queue()?.get(id);
        self.with_current_conn(|conn| match queued {
            Some(queued) => decode_stored(conn, id, queued.encoding, &queued.body).map(Some),
            None => get_package(conn, id),
        })
    }

    /// Every stored package, ordered by id (for export), each as its full JSON.
    ///
    /// # Errors
    /// As [`Store::get_context_package`].
    pub fn all_context_packages(&self) -> Result<Vec<StoredContextPackage>> {
        if let Some(pg) = self.postgres() {
            return pg.all_context_packages();
        }
        self.with_current_conn(|conn| all_packages(conn))
    }

    /// Deletes the packages stored before `before`; records, links and every index stay
    /// untouched. Returns how many were removed and how many remain.
    ///
    /// # Errors
    /// Schema-gate, read-only and SQLite errors.
    pub fn prune_context_packages(&self, before: Timestamp) -> Result<PruneReport> {
        let before = nanos(before)?;
        if let Some(pg) = self.postgres() {
            return pg.prune_context_packages(before);
        }
        self.write_tx(None, |tx| {
            let pruned = tx
                .prepare_cached("DELETE FROM mk_stored_packages WHERE stored_at_nanos < ?1")?
                .execute([before])?;
            let remaining: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM mk_stored_packages")?
                .query_row([], |row| row.get(0))?;
            Ok(PruneReport {
                pruned_packages: pruned as u64,
                remaining_packages: u64::try_from(remaining).unwrap_or(0),
            })
        })
    }
}

fn check_non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(ValidationError::EmptyField { field }.into());
    }
    Ok(())
}

fn insert_encoded(conn: &Connection, id: &str, queued: &Queued) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO mk_stored_packages
                 (context_package_id, kind, encoding, stored_at_nanos, body)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (context_package_id) DO NOTHING",
        )?
        .execute(params![
            id,
            queued.kind,
            queued.encoding,
            queued.stored_at,
            queued.body
        ])?;
    Ok(added == 1)
}

/// Stores a package's JSON verbatim (import of snapshots and of the original MemoryKernel's
/// files) unless its id is stored; returns whether a row was added.
pub(crate) fn insert_package(conn: &Connection, id: &str, kind: &str, json: &str) -> Result<bool> {
    let queued = Queued {
        kind: kind.to_owned(),
        encoding: ENCODING_JSON,
        body: json.as_bytes().to_vec(),
        stored_at: nanos(Timestamp::now())?,
    };
    insert_encoded(conn, id, &queued)
}

fn decode_stored(conn: &Connection, id: &str, encoding: &str, body: &[u8]) -> Result<String> {
    match encoding {
        ENCODING_COMPACT | ENCODING_COMPACT_V1 => decode(conn, id, body),
        _ => decode_plain(id, encoding, body),
    }
}

/// A stored body of an encoding that names no records: the JSON itself.
pub(crate) fn decode_plain(id: &str, encoding: &str, body: &[u8]) -> Result<String> {
    match encoding {
        ENCODING_JSON => String::from_utf8(body.to_vec()).map_err(|e| corrupt(id, e)),
        other => Err(corrupt(id, format!("unknown package encoding {other:?}"))),
    }
}

pub(crate) fn get_package(conn: &Connection, id: &str) -> Result<Option<String>> {
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT encoding, body FROM mk_stored_packages WHERE context_package_id = ?1",
        )?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(encoding, body)| decode_stored(conn, id, &encoding, &body))
        .transpose()
}

pub(crate) fn all_packages(conn: &Connection) -> Result<Vec<StoredContextPackage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT context_package_id, kind, encoding, body FROM mk_stored_packages
         ORDER BY context_package_id",
    )?;
    let rows = collect(stmt.query([])?, |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    rows.into_iter()
        .map(|(id, kind, encoding, body)| {
            let package_json = decode_stored(conn, &id, &encoding, &body)?;
            Ok(StoredContextPackage {
                context_package_id: id,
                kind,
                package_json,
            })
        })
        .collect()
}
