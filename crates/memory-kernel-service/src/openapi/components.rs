//! The component schemas of the OpenAPI document: envelopes, response data and request bodies,
//! each written as the JSON object the wire carries. Enumerations come from the types that own
//! them (`ErrorCode::ALL`, the core enums), so the document cannot list a value the service
//! would refuse. The request bodies state every rule the API enforces on a field (id and
//! timestamp patterns, ranges, non-blank and control-free text) with the pattern constant core
//! publishes beside the validator, so the document and the validation cannot drift apart.

use memory_kernel_api::{API_CONTRACT_VERSION, ErrorCode, GateMode};
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

const DATA_KINDS: [ResponseData; 9] = [
    ResponseData::Health,
    ResponseData::Ready,
    ResponseData::OpenApiYaml,
    ResponseData::PrometheusText,
    ResponseData::SchemaStatus,
    ResponseData::Migration,
    ResponseData::MemoryRecord,
    ResponseData::Link,
    ResponseData::ContextPackage,
];

const REQUEST_BODIES: [RequestBody; 6] = [
    RequestBody::Migrate,
    RequestBody::AddConstraint,
    RequestBody::AddSummary,
    RequestBody::Link,
    RequestBody::Ask,
    RequestBody::Recall,
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
    };
    Some(schema.into())
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
    }
    object(required, optional, false)
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
