//! The component schemas of the OpenAPI document: envelopes, response data and request bodies,
//! each written as the JSON object the wire carries. Enumerations come from the types that own
//! them (`ErrorCode::ALL`, the core enums), so the document cannot list a value the service
//! would refuse. The request bodies state every rule the API enforces on a field (id and
//! timestamp patterns, ranges, non-blank and control-free text) with the pattern constant core
//! publishes beside the validator, so the document and the validation cannot drift apart.

use memory_kernel_api::{API_CONTRACT_VERSION, ErrorCode, EventType, GateMode, Severity};
use memory_kernel_core::ids::ULID_PATTERN;
use memory_kernel_core::record::{
    FREE_TEXT_PATTERN, IDENTIFIER_PATTERN, REQUIRED_TEXT_PATTERN, SOURCE_HASH_PATTERN,
    SOURCE_URI_PATTERN,
};
use memory_kernel_core::resolver::{MAX_EXCLUSION_LIMIT, MAX_LIMIT};
use memory_kernel_core::timestamp::UTC_TIMESTAMP_PATTERN;
use memory_kernel_core::{Authority, Effect, ExclusionMode, RecordType, Relation, TruthStatus};
use serde_json::Value;
use utoipa::openapi::schema::{AdditionalProperties, SchemaType};
use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Ref, RefOr, Schema, Type};

use crate::SERVICE_CONTRACT_VERSION;
use crate::endpoints::{RequestBody, ResponseData};
use crate::telemetry::COUNTER_NAMES;

/// The component name of the error envelope.
pub const ERROR_ENVELOPE: &str = "ErrorEnvelope";

/// A `$ref` to the component schema `name`.
pub fn component(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// Every component schema, by name.
pub fn schemas() -> Vec<(String, RefOr<Schema>)> {
    let mut all = vec![(ERROR_ENVELOPE.to_owned(), error_envelope().into())];
    for data in DATA_KINDS {
        if let Some(schema) = data_schema(data) {
            all.push((data_name(data).to_owned(), schema));
            all.push((envelope_name(data), success_envelope(data).into()));
        }
    }
    for body in REQUEST_BODIES {
        all.push((request_name(body).to_owned(), request_schema(body).into()));
    }
    all.extend([
        ("TelemetryCounters".to_owned(), telemetry_counters().into()),
        ("ReadinessChecks".to_owned(), readiness_checks().into()),
    ]);
    all
}

const DATA_KINDS: [ResponseData; 17] = [
    ResponseData::Health,
    ResponseData::Ready,
    ResponseData::OpenApiYaml,
    ResponseData::PrometheusText,
    ResponseData::SchemaStatus,
    ResponseData::Migration,
    ResponseData::MemoryRecord,
    ResponseData::Link,
    ResponseData::ContextPackage,
    ResponseData::OutcomeEvent,
    ResponseData::OutcomeReplay,
    ResponseData::TrustSnapshot,
    ResponseData::GatePreview,
    ResponseData::ProjectorStatus,
    ResponseData::MemoryPage,
    ResponseData::MemoryHistory,
    ResponseData::ContextPage,
];

const REQUEST_BODIES: [RequestBody; 10] = [
    RequestBody::Migrate,
    RequestBody::AddConstraint,
    RequestBody::AddSummary,
    RequestBody::Link,
    RequestBody::Ask,
    RequestBody::Recall,
    RequestBody::OutcomeEvent,
    RequestBody::OutcomeReplay,
    RequestBody::Trust,
    RequestBody::GatePreview,
];

/// The component name of a success data schema.
pub const fn data_name(data: ResponseData) -> &'static str {
    match data {
        ResponseData::Health => "HealthData",
        ResponseData::Ready => "ReadyData",
        ResponseData::OpenApiYaml => "OpenApiYaml",
        ResponseData::PrometheusText => "PrometheusText",
        ResponseData::SchemaStatus => "SchemaStatus",
        ResponseData::Migration => "MigrationReport",
        ResponseData::MemoryRecord => "MemoryRecord",
        ResponseData::Link => "LinkResult",
        ResponseData::ContextPackage => "ContextPackage",
        ResponseData::OutcomeEvent => "OutcomeEvent",
        ResponseData::OutcomeReplay => "OutcomeReplay",
        ResponseData::TrustSnapshot => "TrustSnapshot",
        ResponseData::GatePreview => "GatePreview",
        ResponseData::ProjectorStatus => "ProjectorStatus",
        ResponseData::MemoryPage => "MemoryPage",
        ResponseData::MemoryHistory => "MemoryHistory",
        ResponseData::ContextPage => "ContextPage",
    }
}

/// The component name of a success envelope.
pub fn envelope_name(data: ResponseData) -> String {
    format!("{}Envelope", data_name(data))
}

/// The component name of a request body schema.
pub const fn request_name(body: RequestBody) -> &'static str {
    match body {
        RequestBody::Migrate => "MigrateRequest",
        RequestBody::AddConstraint => "AddConstraintRequest",
        RequestBody::AddSummary => "AddSummaryRequest",
        RequestBody::Link => "LinkRequest",
        RequestBody::Ask => "AskRequest",
        RequestBody::Recall => "RecallRequest",
        RequestBody::OutcomeEvent => "OutcomeEventRequest",
        RequestBody::OutcomeReplay => "OutcomeReplayRequest",
        RequestBody::Trust => "TrustRequest",
        RequestBody::GatePreview => "GatePreviewRequest",
    }
}

fn typed(schema_type: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(schema_type)
}

fn nullable(schema_type: Type) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::from_iter([schema_type, Type::Null]))
}

fn constant(value: &str) -> ObjectBuilder {
    typed(Type::String).enum_values(Some([value]))
}

fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    typed(Type::String).enum_values(Some(values))
}

fn any() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

fn strings() -> ArrayBuilder {
    ArrayBuilder::new().items(typed(Type::String))
}

fn count() -> ObjectBuilder {
    typed(Type::Integer).minimum(Some(0))
}

/// Named property schemas.
type Properties = Vec<(&'static str, RefOr<Schema>)>;

/// An object with `required` and `optional` properties; closed unless `open`.
fn object(required: Properties, optional: Properties, open: bool) -> ObjectBuilder {
    let mut builder = typed(Type::Object);
    for (name, schema) in required {
        builder = builder.property(name, schema).required(name);
    }
    for (name, schema) in optional {
        builder = builder.property(name, schema);
    }
    if open {
        builder
    } else {
        builder.additional_properties(Some(AdditionalProperties::FreeForm(false)))
    }
}

/// The non-2xx envelope: the code enum from `ErrorCode::ALL`; no `api_contract_version`, no
/// `legacy_error` (the object is closed).
fn error_envelope() -> ObjectBuilder {
    let error = object(
        vec![
            ("code", one_of(ErrorCode::ALL.map(ErrorCode::as_str)).into()),
            ("message", typed(Type::String).into()),
        ],
        vec![("details", typed(Type::Object).into())],
        false,
    );
    object(
        vec![
            (
                "service_contract_version",
                constant(SERVICE_CONTRACT_VERSION).into(),
            ),
            ("error", error.into()),
        ],
        vec![],
        false,
    )
    .description(Some("Every non-2xx response (service.v3)."))
}

fn success_envelope(data: ResponseData) -> ObjectBuilder {
    object(
        vec![
            (
                "service_contract_version",
                constant(SERVICE_CONTRACT_VERSION).into(),
            ),
            (
                "api_contract_version",
                constant(API_CONTRACT_VERSION).into(),
            ),
            ("data", component(data_name(data))),
        ],
        vec![],
        false,
    )
}

fn data_schema(data: ResponseData) -> Option<RefOr<Schema>> {
    let schema = match data {
        ResponseData::OpenApiYaml | ResponseData::PrometheusText => return None,
        ResponseData::Health => object(
            vec![
                ("status", constant("ok").into()),
                ("timeout_ms", count().into()),
                ("telemetry", component("TelemetryCounters")),
            ],
            vec![],
            false,
        ),
        ResponseData::Ready => object(
            vec![
                ("status", constant("ready").into()),
                ("checks", component("ReadinessChecks")),
            ],
            vec![],
            false,
        ),
        ResponseData::SchemaStatus => object(
            vec![
                ("current_version", count().into()),
                ("target_version", count().into()),
                (
                    "pending_versions",
                    ArrayBuilder::new().items(count()).into(),
                ),
                ("up_to_date", typed(Type::Boolean).into()),
                ("inferred_from_legacy", typed(Type::Boolean).into()),
            ],
            vec![],
            true,
        ),
        ResponseData::Migration => object(
            vec![
                ("dry_run", typed(Type::Boolean).into()),
                ("current_version", count().into()),
                ("target_version", count().into()),
                (
                    "would_apply_versions",
                    ArrayBuilder::new().items(count()).into(),
                ),
                ("inferred_from_legacy", typed(Type::Boolean).into()),
            ],
            vec![
                ("after_version", count().into()),
                ("up_to_date", typed(Type::Boolean).into()),
                ("legacy_tables", strings().into()),
            ],
            true,
        ),
        ResponseData::MemoryRecord => object(
            [
                "memory_version_id",
                "memory_id",
                "version",
                "created_at",
                "effective_at",
                "truth_status",
                "authority",
                "writer",
                "justification",
                "provenance",
                "supersedes",
                "contradicts",
                "record_type",
                "payload",
            ]
            .map(|name| (name, any()))
            .into(),
            vec![],
            true,
        )
        .description(Some(
            "A stored record; the full schema is \
             https://memorykernel.dev/contracts/integration/v1/memory-record.schema.json",
        )),
        ResponseData::Link => object(
            vec![
                ("from", typed(Type::String).into()),
                ("to", typed(Type::String).into()),
                (
                    "relation",
                    one_of(Relation::ALL.iter().map(|r| r.as_str())).into(),
                ),
                ("writer", typed(Type::String).into()),
                ("justification", typed(Type::String).into()),
                ("created_at", typed(Type::String).into()),
            ],
            vec![],
            false,
        ),
        ResponseData::ContextPackage => object(
            [
                "context_package_id",
                "generated_at",
                "query",
                "determinism",
                "answer",
                "selected_items",
                "excluded_items",
                "ordering_trace",
            ]
            .map(|name| (name, any()))
            .into(),
            vec![],
            true,
        )
        .description(Some(
            "A context package; the full schema is \
             https://memorykernel.dev/contracts/integration/v1/context-package.schema.json",
        )),
        ResponseData::OutcomeEvent => described(
            &[
                "event_seq",
                "event_id",
                "ruleset_version",
                "memory_id",
                "version",
                "event_type",
                "occurred_at",
                "recorded_at",
                "writer",
                "justification",
                "context_id",
                "edited",
                "escalated",
                "severity",
                "manual_confidence",
                "override_cap",
                "payload_json",
            ],
            "A stored outcome event",
            "outcome-event",
        ),
        ResponseData::OutcomeReplay => described(
            &["projected_keys", "processed_events", "last_event_seq"],
            "What a replay rebuilt",
            "outcome-replay",
        ),
        ResponseData::TrustSnapshot => described(
            &[
                "memory_id",
                "version",
                "confidence_raw",
                "confidence_effective",
                "baseline_confidence",
                "trust_status",
                "contradiction_cap_active",
                "cap_value",
                "manual_override_active",
                "wins_last5",
                "failures_last5",
                "last_event_seq",
                "last_scored_at",
                "updated_at",
            ],
            "A memory version's trust snapshot",
            "outcome-trust-show",
        ),
        ResponseData::GatePreview => described(
            &[
                "contract_version",
                "mode",
                "as_of",
                "context_id",
                "candidates",
                "decisions",
            ],
            "Gate decisions (gate_preview.v1)",
            "outcome-gate-preview",
        ),
        ResponseData::ProjectorStatus => described(
            &[
                "contract_version",
                "projector_name",
                "ruleset_version",
                "projected_event_seq",
                "latest_event_seq",
                "lag_events",
                "lag_delta_events",
                "tracked_keys",
                "trust_rows",
                "stale_trust_rows",
                "keys_with_events_no_trust_row",
                "trust_rows_without_events",
                "max_stale_seq_gap",
                "updated_at",
            ],
            "The projector's health (projector_status.v1)",
            "outcome-projector-status",
        ),
        ResponseData::MemoryPage => object(
            vec![
                (
                    "records",
                    ArrayBuilder::new()
                        .items(component(data_name(ResponseData::MemoryRecord)))
                        .into(),
                ),
                ("next_cursor", cursor()),
            ],
            vec![],
            false,
        ),
        ResponseData::MemoryHistory => object(
            vec![
                ("memory_id", typed(Type::String).into()),
                ("as_of", typed(Type::String).into()),
                ("current_memory_version_id", nullable_string()),
                (
                    "versions",
                    ArrayBuilder::new().items(history_version()).into(),
                ),
            ],
            vec![],
            false,
        ),
        ResponseData::ContextPage => object(
            vec![
                (
                    "context_packages",
                    ArrayBuilder::new()
                        .items(object(
                            vec![
                                ("context_package_id", typed(Type::String).into()),
                                ("kind", typed(Type::String).into()),
                                ("stored_at", nullable_string()),
                            ],
                            vec![],
                            false,
                        ))
                        .into(),
                ),
                ("next_cursor", cursor()),
            ],
            vec![],
            false,
        ),
    };
    Some(schema.into())
}

/// An object with the `required` keys, described by the CLI contract schema `schema` it
/// shares with `mk outcome` (`contracts/v1/schemas/<schema>.schema.json`).
fn described(required: &[&'static str], what: &str, schema: &str) -> ObjectBuilder {
    object(
        required.iter().map(|name| (*name, any())).collect(),
        vec![],
        true,
    )
    .description(Some(format!(
        "{what}; the full schema is https://memorykernel.dev/contracts/v1/{schema}.schema.json"
    )))
}

/// The opaque cursor of the next page, `null` on the last page.
fn cursor() -> RefOr<Schema> {
    nullable(Type::String)
        .description(Some(
            "Opaque; pass as `cursor` (with the same order) for the next page; null on the last page",
        ))
        .into()
}

/// One version of a memory's history: the record and its lineage in and out.
fn history_version() -> ObjectBuilder {
    let lineage = || {
        ArrayBuilder::new().items(object(
            vec![
                ("memory_version_id", typed(Type::String).into()),
                (
                    "relation",
                    one_of(Relation::ALL.iter().map(|r| r.as_str())).into(),
                ),
                ("visible_from", typed(Type::String).into()),
            ],
            vec![],
            false,
        ))
    };
    object(
        vec![
            ("record", component(data_name(ResponseData::MemoryRecord))),
            ("lineage_out", lineage().into()),
            ("lineage_in", lineage().into()),
        ],
        vec![],
        false,
    )
}

/// The query parameters of a GET endpoint: name, schema, description.
pub fn query_parameters(data: ResponseData) -> Vec<(&'static str, ObjectBuilder, &'static str)> {
    let instant = |what: &'static str| (typed(Type::String), what);
    let paging = [
        (
            "order",
            one_of(["oldest", "newest"]),
            "`oldest` (default) or `newest` first",
        ),
        (
            "cursor",
            typed(Type::String),
            "`next_cursor` of the previous page, made with the same order",
        ),
        (
            "limit",
            typed(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(memory_kernel_api::MAX_PAGE_SIZE))
                .default(Some(memory_kernel_api::DEFAULT_PAGE_SIZE.into())),
            "page size",
        ),
    ];
    match data {
        ResponseData::MemoryPage => {
            let (created_from, d1) = instant("created at or after (RFC 3339 UTC)");
            let (created_before, d2) = instant("created strictly before (RFC 3339 UTC)");
            let (effective_from, d3) = instant("in effect at or after (RFC 3339 UTC)");
            let (effective_before, d4) = instant("in effect strictly before (RFC 3339 UTC)");
            let mut params = vec![
                (
                    "record_type",
                    record_types(RecordType::ALL.iter()),
                    "only this record type",
                ),
                ("writer", typed(Type::String), "only this writer"),
                (
                    "memory_id",
                    typed(Type::String),
                    "only versions of this memory",
                ),
                (
                    "truth_status",
                    one_of(TruthStatus::ALL.iter().map(|t| t.as_str())),
                    "only this truth status",
                ),
                ("created_from", created_from, d1),
                ("created_before", created_before, d2),
                ("effective_from", effective_from, d3),
                ("effective_before", effective_before, d4),
            ];
            params.extend(paging);
            params
        }
        ResponseData::ContextPage => paging.into(),
        ResponseData::MemoryHistory => vec![(
            "as_of",
            typed(Type::String),
            "instant the current version is judged at (RFC 3339 UTC); defaults to now",
        )],
        _ => Vec::new(),
    }
}

fn telemetry_counters() -> ObjectBuilder {
    object(
        COUNTER_NAMES.map(|name| (name, count().into())).into(),
        vec![],
        false,
    )
}

fn readiness_checks() -> ObjectBuilder {
    object(
        vec![
            ("current_schema_version", count().into()),
            ("target_schema_version", count().into()),
            ("pending_migrations", count().into()),
            ("inferred_from_legacy", typed(Type::Boolean).into()),
        ],
        vec![],
        false,
    )
}

/// A string matching `pattern`.
fn patterned(pattern: &str) -> ObjectBuilder {
    typed(Type::String).pattern(Some(pattern))
}

/// A string matching `pattern`, or null.
/// A nullable string of a response (responses state no input rules).
fn nullable_string() -> RefOr<Schema> {
    nullable(Type::String).into()
}

fn nullable_patterned(pattern: &str) -> RefOr<Schema> {
    nullable(Type::String).pattern(Some(pattern)).into()
}

/// A required identifier-like field (writer, scope field): non-blank, no control character.
fn identifier() -> RefOr<Schema> {
    patterned(IDENTIFIER_PATTERN).min_length(Some(1)).into()
}

/// A required free-text field: non-blank, no control character but tab, LF and CR.
fn required_text() -> RefOr<Schema> {
    patterned(REQUIRED_TEXT_PATTERN).min_length(Some(1)).into()
}

/// A canonical ULID (a memory id or a memory version id).
fn ulid() -> ObjectBuilder {
    patterned(ULID_PATTERN)
}

/// A list of memory version ids.
fn version_ids() -> RefOr<Schema> {
    ArrayBuilder::new().items(ulid()).into()
}

/// An optional RFC 3339 UTC instant with its default.
fn timestamp(default: &str) -> RefOr<Schema> {
    nullable(Type::String)
        .pattern(Some(UTC_TIMESTAMP_PATTERN))
        .description(Some(format!(
            "RFC 3339 UTC (`Z` offset only); defaults to {default}"
        )))
        .into()
}

fn record_types<'a>(types: impl IntoIterator<Item = &'a RecordType>) -> ObjectBuilder {
    one_of(types.into_iter().map(|t| t.as_str()))
}

/// The provenance, accountability and lineage fields every add request shares.
fn shared_record_fields() -> (Properties, Properties) {
    let required = vec![
        ("writer", identifier()),
        ("justification", required_text()),
        ("source_uri", patterned(SOURCE_URI_PATTERN).into()),
        (
            "truth_status",
            one_of(TruthStatus::ALL.iter().map(|t| t.as_str())).into(),
        ),
        (
            "authority",
            one_of(Authority::ALL.iter().map(|a| a.as_str())).into(),
        ),
    ];
    let optional = vec![
        ("memory_id", nullable_patterned(ULID_PATTERN)),
        (
            "version",
            nullable(Type::Integer)
                .minimum(Some(1))
                .description(Some("When given, must be the next version of memory_id"))
                .into(),
        ),
        ("source_hash", nullable_patterned(SOURCE_HASH_PATTERN)),
        (
            "evidence",
            ArrayBuilder::new()
                .items(patterned(FREE_TEXT_PATTERN))
                .into(),
        ),
        (
            "confidence",
            nullable(Type::Number)
                .minimum(Some(0))
                .maximum(Some(1))
                .into(),
        ),
        ("created_at", timestamp("now")),
        ("effective_at", timestamp("created_at")),
        ("supersedes", version_ids()),
        ("contradicts", version_ids()),
    ];
    (required, optional)
}

fn request_schema(body: RequestBody) -> ObjectBuilder {
    let (mut required, mut optional) = match body {
        RequestBody::AddConstraint | RequestBody::AddSummary => shared_record_fields(),
        _ => (vec![], vec![]),
    };
    match body {
        RequestBody::Migrate => required.push(("dry_run", typed(Type::Boolean).into())),
        RequestBody::AddConstraint => {
            required.extend([
                ("actor", identifier()),
                ("action", identifier()),
                ("resource", identifier()),
                (
                    "effect",
                    one_of(Effect::ALL.iter().map(|e| e.as_str())).into(),
                ),
            ]);
            optional.push(("note", nullable_patterned(FREE_TEXT_PATTERN)));
        }
        RequestBody::AddSummary => required.extend([
            (
                "record_type",
                record_types(
                    RecordType::ALL
                        .iter()
                        .filter(|t| **t != RecordType::Constraint),
                )
                .into(),
            ),
            ("summary", required_text()),
        ]),
        RequestBody::Link => {
            required.extend([
                ("from", ulid().into()),
                ("to", ulid().into()),
                (
                    "relation",
                    one_of(Relation::ALL.iter().map(|r| r.as_str())).into(),
                ),
                ("writer", identifier()),
                ("justification", required_text()),
            ]);
            optional.push(("created_at", timestamp("now")));
        }
        RequestBody::Ask => {
            let scope_field = || -> RefOr<Schema> {
                patterned(IDENTIFIER_PATTERN)
                    .min_length(Some(1))
                    .description(Some("Non-blank; `*` (a wildcard) is refused in a question"))
                    .into()
            };
            required.extend([
                (
                    "text",
                    typed(Type::String)
                        .description(Some("Any text; kept verbatim in the package"))
                        .into(),
                ),
                ("actor", scope_field()),
                ("action", scope_field()),
                ("resource", scope_field()),
            ]);
            optional.push(("as_of", timestamp("now")));
            optional.push(("trust_gate", trust_gate_modes().into()));
            optional.extend(bounds());
        }
        RequestBody::Recall => {
            required.push((
                "text",
                typed(Type::String)
                    .min_length(Some(1))
                    .description(Some(
                        "Must hold at least one term (a run of letters, digits, `_` or `-`)",
                    ))
                    .into(),
            ));
            optional.extend([
                (
                    "record_types",
                    ArrayBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
                        .min_items(Some(1))
                        .items(record_types(RecordType::ALL))
                        .into(),
                ),
                ("as_of", timestamp("now")),
                ("exclusions", exclusion_modes().into()),
                ("trust_gate", trust_gate_modes().into()),
            ]);
            optional.extend(bounds());
        }
        RequestBody::OutcomeEvent => {
            required.extend([
                ("memory_id", memory_id().into()),
                ("version", version().into()),
                (
                    "event_type",
                    one_of(EventType::ALL.iter().map(|t| t.as_str())).into(),
                ),
                ("writer", required_text()),
                ("justification", required_text()),
            ]);
            optional.extend([
                ("context_id", nullable_patterned(FREE_TEXT_PATTERN)),
                ("occurred_at", timestamp("now")),
                (
                    "ruleset_version",
                    nullable(Type::Integer)
                        .minimum(Some(1))
                        .description(Some("defaults to 1"))
                        .into(),
                ),
                ("edited", typed(Type::Boolean).into()),
                ("escalated", typed(Type::Boolean).into()),
                (
                    "severity",
                    nullable(Type::String)
                        .enum_values(Some(
                            Severity::ALL
                                .iter()
                                .map(|s| Value::from(s.as_str()))
                                .chain([Value::Null]),
                        ))
                        .into(),
                ),
                (
                    "manual_confidence",
                    nullable(Type::Number)
                        .minimum(Some(0))
                        .maximum(Some(1))
                        .description(Some(
                            "the value of manual_set_confidence, the source confidence of \
                             inherited",
                        ))
                        .into(),
                ),
                ("override_cap", typed(Type::Boolean).into()),
                (
                    "payload_json",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::AnyValue)
                        .description(Some("opaque JSON stored with the event; defaults to {}"))
                        .into(),
                ),
            ]);
        }
        RequestBody::OutcomeReplay => optional.push((
            "from_event_seq",
            nullable(Type::Integer)
                .description(Some(
                    "only keys with an event at or after this sequence number; all keys when \
                     absent",
                ))
                .into(),
        )),
        RequestBody::Trust => {
            required.extend([
                ("memory_id", memory_id().into()),
                ("version", version().into()),
            ]);
            optional.push(("as_of", timestamp("the stored snapshot, without decay")));
        }
        RequestBody::GatePreview => {
            required.extend([
                (
                    "mode",
                    one_of([GateMode::Safe, GateMode::Exploration].map(GateMode::as_str)).into(),
                ),
                (
                    "candidates",
                    ArrayBuilder::new()
                        .min_items(Some(1))
                        .items(object(
                            vec![
                                ("memory_id", memory_id().into()),
                                ("version", version().into()),
                            ],
                            vec![],
                            false,
                        ))
                        .into(),
                ),
            ]);
            optional.extend([
                ("as_of", timestamp("now")),
                ("context_id", nullable_patterned(FREE_TEXT_PATTERN)),
            ]);
        }
    }
    object(required, optional, false)
}

/// A memory id: a ULID in canonical (upper case) spelling.
fn memory_id() -> ObjectBuilder {
    typed(Type::String)
        .pattern(Some(ULID_PATTERN))
        .description(Some("a ULID, canonical upper case"))
}

/// A memory version.
fn version() -> ObjectBuilder {
    typed(Type::Integer).minimum(Some(1))
}

/// The package bounds both queries take, with the ranges core enforces.
fn bounds() -> [(&'static str, RefOr<Schema>); 3] {
    let integer = |min: u32, max: u32| -> RefOr<Schema> {
        nullable(Type::Integer)
            .minimum(Some(f64::from(min)))
            .maximum(Some(f64::from(max)))
            .into()
    };
    [
        ("limit", integer(1, MAX_LIMIT)),
        ("exclusion_limit", integer(0, MAX_EXCLUSION_LIMIT)),
        ("exclusion_offset", integer(0, u32::MAX)),
    ]
}

/// The trust gate modes (spelled by serde, as the API reads them), or null.
fn trust_gate_modes() -> ObjectBuilder {
    let values: Vec<Value> = [GateMode::Safe, GateMode::Exploration]
        .iter()
        .filter_map(|mode| serde_json::to_value(mode).ok())
        .chain([Value::Null])
        .collect();
    nullable(Type::String).enum_values(Some(values))
}

/// The exclusion modes (spelled by serde, as the API reads them), or null.
fn exclusion_modes() -> ObjectBuilder {
    let values: Vec<Value> = ExclusionMode::ALL
        .iter()
        .filter_map(|mode| serde_json::to_value(mode).ok())
        .chain([Value::Null])
        .collect();
    nullable(Type::String).enum_values(Some(values))
}
