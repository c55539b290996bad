//! The OpenAPI 3.1 document, built with utoipa's builders from the endpoint table. The checked-in
//! copy `contracts/openapi/service.v3.yaml` is this document rendered by
//! `memory-kernel-service openapi`; a test keeps the two equal.

mod components;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use memory_kernel_api::ErrorCode;
use memory_kernel_core::package::CONTEXT_PACKAGE_ID_PATTERN;
use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HttpMethod, InfoBuilder, ObjectBuilder, OpenApi,
    OpenApiBuilder, Paths, Required, ResponseBuilder, ResponsesBuilder, ServerBuilder, Type,
};

use crate::SERVICE_CONTRACT_VERSION;
use crate::endpoints::{self, ENDPOINTS, Endpoint, ResponseData};
use crate::error::status;

pub use components::ERROR_ENVELOPE;

/// The name of the bearer security scheme.
pub const BEARER_SCHEME: &str = "bearerAuth";

/// The document.
#[must_use]
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for endpoint in &ENDPOINTS {
        let method = match endpoint.method {
            endpoints::HttpMethod::Get => HttpMethod::Get,
            endpoints::HttpMethod::Post => HttpMethod::Post,
        };
        paths.add_path_operation(endpoint.path, vec![method], operation(endpoint));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(components::schemas())
        .security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("MemoryKernel service")
                .version(SERVICE_CONTRACT_VERSION)
                .description(Some(
                    "Local HTTP service over the MemoryKernel application API. Every 2xx JSON \
                     body is {service_contract_version, api_contract_version, data}; every \
                     non-2xx body is the ErrorEnvelope.",
                )),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://127.0.0.1:4010")
            .build()]))
        .paths(paths)
        .components(Some(components))
        .build()
}

/// The document as YAML (what `GET /v1/openapi` serves and the checked-in copy holds).
///
/// # Errors
/// When the YAML serializer fails (it should not for this document).
pub fn yaml() -> anyhow::Result<String> {
    Ok(document().to_yaml()?)
}

fn operation(endpoint: &Endpoint) -> utoipa::openapi::path::Operation {
    let mut builder = OperationBuilder::new()
        .operation_id(Some(endpoint.operation_id))
        .summary(Some(endpoint.summary))
        .responses(responses(endpoint));
    for name in path_parameters(endpoint.path) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(CONTEXT_PACKAGE_ID_PATTERN)),
                )),
        );
    }
    for (name, schema, description) in components::query_parameters(endpoint.response) {
        builder = builder.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema)),
        );
    }
    if let Some(body) = endpoint.request_body {
        builder = builder.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(components::component(components::request_name(body))))
                        .build(),
                )
                .build(),
        ));
    }
    if endpoint.requires_auth() {
        // Optional: the token is required only when the service runs with --auth-token-file.
        builder =
            builder
                .security(SecurityRequirement::default())
                .security(SecurityRequirement::new(
                    BEARER_SCHEME,
                    Vec::<String>::new(),
                ));
    }
    builder.build()
}

/// The `{name}` segments of a path, in order.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn responses(endpoint: &Endpoint) -> utoipa::openapi::Responses {
    let success = match endpoint.response {
        ResponseData::OpenApiYaml => ResponseBuilder::new()
            .description("This document, as YAML (it parses as an OpenAPI 3.1 object)")
            .content(
                "application/yaml",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                    .build(),
            ),
        ResponseData::PrometheusText => ResponseBuilder::new()
            .description(
                "Prometheus text exposition 0.0.4: mk_requests_total{endpoint,code}, \
                 mk_request_duration_seconds (histogram), mk_timeouts_total{endpoint}",
            )
            .content(
                crate::telemetry::CONTENT_TYPE,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            ),
        data => ResponseBuilder::new()
            .description("Success envelope")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(components::component(&components::envelope_name(
                        data,
                    ))))
                    .build(),
            ),
    };
    let mut builder = ResponsesBuilder::new().response(
        endpoints::SUCCESS_STATUS.as_u16().to_string(),
        success.build(),
    );
    for (status, description) in failure_descriptions(endpoint) {
        builder = builder.response(
            status.as_u16().to_string(),
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(components::component(ERROR_ENVELOPE)))
                        .build(),
                )
                .build(),
        );
    }
    builder.build()
}

/// Each failure status of the endpoint with a description naming the codes it carries.
fn failure_descriptions(endpoint: &Endpoint) -> BTreeMap<StatusCode, String> {
    let mut by_status: BTreeMap<StatusCode, Vec<String>> = BTreeMap::new();
    for code in endpoint.codes() {
        let mut text = format!("`{code}`");
        if endpoint.timeout_code() == Some(code) {
            text.push_str(" (with details.timeout_ms)");
        }
        by_status.entry(status(code)).or_default().push(text);
    }
    for transport in endpoint.transport_statuses() {
        let why = match transport {
            StatusCode::UNAUTHORIZED => "missing or invalid bearer token",
            StatusCode::METHOD_NOT_ALLOWED => "method not allowed",
            StatusCode::PAYLOAD_TOO_LARGE => {
                "body over --max-body-bytes, see details.max_body_bytes"
            }
            _ => "body not sent as application/json",
        };
        by_status
            .entry(transport)
            .or_default()
            .push(format!("`{}` ({why})", ErrorCode::ValidationError));
    }
    by_status
        .into_iter()
        .map(|(status, codes)| (status, format!("Error envelope: {}", codes.join(", "))))
        .collect()
}
