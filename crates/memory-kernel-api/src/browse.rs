//! Browsing and history (docs/spec/api.md, "Browse and history"): pages of records and of
//! stored context packages behind opaque cursors, one version by id, and every version of one
//! memory with its lineage and the version current at an instant.
//!
//! A cursor names the last item of the page it came from (its sort key and id) and the order it
//! was made for; the next page starts strictly after that item. Items stored while a caller
//! pages may or may not appear, but no item stored before the first page is skipped or
//! repeated.

use std::str::FromStr;

use memory_kernel_core::{
    LineageEdge, MemoryId, MemoryRecord, MemoryVersionId, RecordType, Relation, Timestamp,
    TruthStatus,
};
use memory_kernel_store::{PackageKey, PageFilter, PageOrder, RecordKey};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::kernel::MemoryKernel;
use crate::store_error::{Operation, classify};

/// Page size when a request gives none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page a request may ask for.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which end a listing starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Earliest first (by creation instant, then id); the default.
    #[default]
    Oldest,
    /// Latest first.
    Newest,
}

impl ListOrder {
    /// Both orders.
    pub const ALL: &'static [Self] = &[Self::Oldest, Self::Newest];

    /// The wire spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Oldest => "oldest",
            Self::Newest => "newest",
        }
    }

    const fn page_order(self) -> PageOrder {
        match self {
            Self::Oldest => PageOrder::Oldest,
            Self::Newest => PageOrder::Newest,
        }
    }
}

impl FromStr for ListOrder {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "oldest" => Ok(Self::Oldest),
            "newest" => Ok(Self::Newest),
            other => Err(ApiError::InvalidRequest {
                message: format!("order must be `oldest` or `newest`, got {other:?}"),
            }),
        }
    }
}

/// One page of stored records. Time bounds are inclusive below (`*_from`) and exclusive above
/// (`*_before`), RFC 3339 UTC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryPageRequest {
    /// Only this record type.
    #[serde(default)]
    pub record_type: Option<RecordType>,
    /// Only records by this writer (exact match).
    #[serde(default)]
    pub writer: Option<String>,
    /// Only versions of this memory.
    #[serde(default)]
    pub memory_id: Option<String>,
    /// Only records in this truth status.
    #[serde(default)]
    pub truth_status: Option<TruthStatus>,
    /// Created at or after this instant.
    #[serde(default)]
    pub created_from: Option<String>,
    /// Created strictly before this instant.
    #[serde(default)]
    pub created_before: Option<String>,
    /// In effect at or after this instant.
    #[serde(default)]
    pub effective_from: Option<String>,
    /// In effect strictly before this instant.
    #[serde(default)]
    pub effective_before: Option<String>,
    /// `oldest` (default) or `newest` first.
    #[serde(default)]
    pub order: Option<ListOrder>,
    /// The `next_cursor` of the previous page, made with the same order.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryPage {
    /// The records, in the requested order.
    pub records: Vec<MemoryRecord>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of stored context packages, by commit instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextPageRequest {
    /// `oldest` (default) or `newest` first.
    #[serde(default)]
    pub order: Option<ListOrder>,
    /// The `next_cursor` of the previous page, made with the same order.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A stored context package as listed; `context show` returns its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextPackageEntry {
    /// The package id.
    pub context_package_id: String,
    /// The query kind that produced it (`ask`, `recall`, or the kind it was carried with).
    pub kind: String,
    /// When it was committed; `null` for packages carried over from a layout that did not
    /// record it.
    pub stored_at: Option<Timestamp>,
}

/// A page of stored context packages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextPage {
    /// The packages, in the requested order.
    pub context_packages: Vec<ContextPackageEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The history of one memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    /// The memory (a memory id, not a version id).
    pub memory_id: String,
    /// RFC 3339 UTC instant at which `current_memory_version_id` is judged; defaults to now.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// One lineage edge as seen from one version: the version at its other end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageRef {
    /// The version at the other end of the edge.
    pub memory_version_id: MemoryVersionId,
    /// Supersedes or contradicts.
    pub relation: Relation,
    /// From when the claim is visible.
    pub visible_from: Timestamp,
}

/// One version in a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryVersion {
    /// The record.
    pub record: MemoryRecord,
    /// Claims this version makes about others (it supersedes or contradicts them).
    pub lineage_out: Vec<LineageRef>,
    /// Claims others make about this version (they supersede or contradict it).
    pub lineage_in: Vec<LineageRef>,
}

/// Every version of a memory, ascending, and the one current at `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryHistory {
    /// The memory.
    pub memory_id: MemoryId,
    /// The instant `current_memory_version_id` is judged at.
    pub as_of: Timestamp,
    /// The highest version that exists at `as_of` and is not superseded by a lineage claim
    /// visible at `as_of`; `null` when there is none.
    pub current_memory_version_id: Option<MemoryVersionId>,
    /// Every version, ascending, whether or not it exists at `as_of`.
    pub versions: Vec<HistoryVersion>,
}

/// What a cursor points after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CursorKind {
    Records,
    Packages,
}

impl CursorKind {
    const fn tag(self) -> &'static str {
        match self {
            Self::Records => "r1",
            Self::Packages => "p1",
        }
    }
}

/// Makes an opaque cursor: `tag.order.key.id`, hex-encoded so callers treat it as a token.
fn encode_cursor(kind: CursorKind, order: ListOrder, sort_key: i64, id: &str) -> String {
    let text = format!("{}.{}.{sort_key}.{id}", kind.tag(), order.as_str());
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Reads a cursor back; anything this build did not make, or made for another listing or
/// order, is refused.
fn decode_cursor(
    cursor: &str,
    kind: CursorKind,
    order: ListOrder,
) -> Result<(i64, String), ApiError> {
    let invalid = |reason: &str| ApiError::InvalidCursor {
        reason: reason.to_owned(),
    };
    if cursor.is_empty() || !cursor.len().is_multiple_of(2) || cursor.len() > 1024 {
        return Err(invalid("not a cursor of this listing"));
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| {
            cursor
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| invalid("not a cursor of this listing"))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid("not a cursor of this listing"))?;
    let mut parts = text.splitn(4, '.');
    let (Some(tag), Some(made_for), Some(key), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("not a cursor of this listing"));
    };
    if tag != kind.tag() {
        return Err(invalid("not a cursor of this listing"));
    }
    if made_for != order.as_str() {
        return Err(invalid(&format!(
            "the cursor was made for order `{made_for}`, the request asks for `{}`",
            order.as_str()
        )));
    }
    let key = key
        .parse::<i64>()
        .map_err(|_| invalid("not a cursor of this listing"))?;
    Ok((key, id.to_owned()))
}

fn page_size(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(DEFAULT_PAGE_SIZE) {
        size @ 1..=MAX_PAGE_SIZE => Ok(size),
        other => Err(ApiError::InvalidRequest {
            message: format!("limit must be 1 to {MAX_PAGE_SIZE}, got {other}"),
        }),
    }
}

fn parse_time(value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    Ok(value.map(Timestamp::from_str).transpose()?)
}

fn lineage_ref(edge: &LineageEdge, other: MemoryVersionId) -> LineageRef {
    LineageRef {
        memory_version_id: other,
        relation: edge.relation,
        visible_from: edge.visible_from,
    }
}

impl MemoryKernel {
    /// One page of stored records matching the request's filters, in its order, with the
    /// cursor of the next page.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad filter value,
    /// limit or cursor; [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn memory_page(&self, request: &MemoryPageRequest) -> Result<MemoryPage, ApiError> {
        self.check_file(Operation::Read)?;
        let order = request.order.unwrap_or_default();
        let limit = page_size(request.limit)?;
        let filter = PageFilter {
            record_type: request.record_type,
            writer: request.writer.clone(),
            memory_id: request
                .memory_id
                .as_deref()
                .map(MemoryId::from_str)
                .transpose()?,
            truth_status: request.truth_status,
            created_from: parse_time(request.created_from.as_deref())?,
            created_before: parse_time(request.created_before.as_deref())?,
            effective_from: parse_time(request.effective_from.as_deref())?,
            effective_before: parse_time(request.effective_before.as_deref())?,
        };
        let after = request
            .cursor
            .as_deref()
            .map(|cursor| {
                let (created_at_nanos, id) = decode_cursor(cursor, CursorKind::Records, order)?;
                let memory_version_id =
                    MemoryVersionId::from_str(&id).map_err(|_| ApiError::InvalidCursor {
                        reason: "not a cursor of this listing".to_owned(),
                    })?;
                Ok::<_, ApiError>(RecordKey {
                    created_at_nanos,
                    memory_version_id,
                })
            })
            .transpose()?;
        self.intercept(Operation::Read)?;
        let mut records = self
            .store()
            .record_page(&filter, order.page_order(), after.as_ref(), limit + 1)
            .map_err(|e| classify(Operation::Read, e))?;
        let more = records.len() > limit as usize;
        records.truncate(limit as usize);
        let next_cursor = match records.last() {
            Some(last) if more => {
                let key = RecordKey::of(last).map_err(|e| classify(Operation::Read, e))?;
                Some(encode_cursor(
                    CursorKind::Records,
                    order,
                    key.created_at_nanos,
                    &key.memory_version_id.to_string(),
                ))
            }
            _ => None,
        };
        Ok(MemoryPage {
            records,
            next_cursor,
        })
    }

    /// One stored version by its id.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a malformed id,
    /// [`ErrorCode::MemoryNotFound`](crate::ErrorCode::MemoryNotFound) when no version has it,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn memory_version(&self, memory_version_id: &str) -> Result<MemoryRecord, ApiError> {
        self.check_file(Operation::Read)?;
        let id = MemoryVersionId::from_str(memory_version_id)?;
        self.intercept(Operation::Read)?;
        self.store()
            .get_record(id)
            .map_err(|e| classify(Operation::Read, e))?
            .ok_or_else(|| ApiError::MemoryNotFound {
                id: memory_version_id.to_owned(),
            })
    }

    /// Every version of a memory with its lineage in and out, and the version current at the
    /// request's instant.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a malformed id or
    /// instant, [`ErrorCode::MemoryNotFound`](crate::ErrorCode::MemoryNotFound) when the memory has
    /// no version, [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::QueryFailed`](crate::ErrorCode::QueryFailed).
    pub fn memory_history(&self, request: &HistoryRequest) -> Result<MemoryHistory, ApiError> {
        self.check_file(Operation::Read)?;
        let memory_id = MemoryId::from_str(&request.memory_id)?;
        let as_of = parse_time(request.as_of.as_deref())?.unwrap_or_else(Timestamp::now);
        self.intercept(Operation::Read)?;
        let history = self
            .store()
            .memory_history(memory_id)
            .map_err(|e| classify(Operation::Read, e))?;
        if history.records.is_empty() {
            return Err(ApiError::MemoryNotFound {
                id: request.memory_id.clone(),
            });
        }
        let current =
            memory_kernel_core::lineage::current_version(&history.records, &history.edges, as_of);
        let versions = history
            .records
            .into_iter()
            .map(|record| {
                let id = record.memory_version_id;
                HistoryVersion {
                    lineage_out: history
                        .edges
                        .iter()
                        .filter(|edge| edge.from == id)
                        .map(|edge| lineage_ref(edge, edge.to))
                        .collect(),
                    lineage_in: history
                        .edges
                        .iter()
                        .filter(|edge| edge.to == id)
                        .map(|edge| lineage_ref(edge, edge.from))
                        .collect(),
                    record,
                }
            })
            .collect();
        Ok(MemoryHistory {
            memory_id,
            as_of,
            current_memory_version_id: current,
            versions,
        })
    }

    /// One page of committed context packages (id, kind, commit instant), with the cursor of
    /// the next page.
    ///
    /// # Errors
    /// [`ErrorCode::ValidationError`](crate::ErrorCode::ValidationError) for a bad limit or cursor,
    /// [`ErrorCode::SchemaUnavailable`](crate::ErrorCode::SchemaUnavailable), or
    /// [`ErrorCode::ContextLookupFailed`](crate::ErrorCode::ContextLookupFailed).
    pub fn context_page(&self, request: &ContextPageRequest) -> Result<ContextPage, ApiError> {
        self.check_file(Operation::ContextLookup)?;
        let order = request.order.unwrap_or_default();
        let limit = page_size(request.limit)?;
        let after = request
            .cursor
            .as_deref()
            .map(|cursor| {
                decode_cursor(cursor, CursorKind::Packages, order).map(
                    |(stored_at_nanos, context_package_id)| PackageKey {
                        stored_at_nanos,
                        context_package_id,
                    },
                )
            })
            .transpose()?;
        self.intercept(Operation::ContextLookup)?;
        let mut entries = self
            .store()
            .package_page(order.page_order(), after.as_ref(), limit + 1)
            .map_err(|e| classify(Operation::ContextLookup, e))?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next_cursor = match entries.last() {
            Some(last) if more => Some(encode_cursor(
                CursorKind::Packages,
                order,
                last.stored_at_nanos,
                &last.context_package_id,
            )),
            _ => None,
        };
        let context_packages = entries
            .into_iter()
            .map(|entry| ContextPackageEntry {
                stored_at: (entry.stored_at_nanos != 0)
                    .then(|| Timestamp::from_unix_nanos(i128::from(entry.stored_at_nanos)).ok())
                    .flatten(),
                context_package_id: entry.context_package_id,
                kind: entry.kind,
            })
            .collect();
        Ok(ContextPage {
            context_packages,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_is_bound_to_its_listing_and_order() {
        let cursor = encode_cursor(CursorKind::Records, ListOrder::Newest, -7, "01ABC.x");
        assert_eq!(
            decode_cursor(&cursor, CursorKind::Records, ListOrder::Newest).unwrap(),
            (-7, "01ABC.x".to_owned())
        );
        for (kind, order) in [
            (CursorKind::Records, ListOrder::Oldest),
            (CursorKind::Packages, ListOrder::Newest),
        ] {
            assert!(matches!(
                decode_cursor(&cursor, kind, order),
                Err(ApiError::InvalidCursor { .. })
            ));
        }
    }

    #[test]
    fn garbage_is_not_a_cursor() {
        for cursor in [
            "",
            "zz",
            "abc",
            "7231",
            &"00".repeat(600),
            "72312e6f6c646573742e782e79",
        ] {
            assert!(
                matches!(
                    decode_cursor(cursor, CursorKind::Records, ListOrder::Oldest),
                    Err(ApiError::InvalidCursor { .. })
                ),
                "{cursor}"
            );
        }
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(Some(MAX_PAGE_SIZE)).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(MAX_PAGE_SIZE + 1)).is_err());
    }
}
