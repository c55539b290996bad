//! The service's one error type and its HTTP mapping. Every non-2xx response of the service,
//! transport-level ones (401, 404, 405, 413, 415) included, is a [`ServiceError`] turned into
//! the `service.v3` error envelope here, and nowhere else.

use std::fmt;

use axum::extract::rejection::PathRejection;
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use memory_kernel_api::{ApiError, ErrorCode, Operation, SchemaStatus};
use serde::Serialize;
use serde_json::{Value, json};

use crate::SERVICE_CONTRACT_VERSION;

/// The HTTP status of each contract error code (SPEC §7.4), written once.
#[must_use]
pub const fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidJson | ErrorCode::ValidationError => StatusCode::BAD_REQUEST,
        ErrorCode::ContextPackageNotFound => StatusCode::NOT_FOUND,
        ErrorCode::WriteConflict => StatusCode::CONFLICT,
        ErrorCode::SchemaUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::WriteFailed
        | ErrorCode::MigrationFailed
        | ErrorCode::QueryFailed
        | ErrorCode::ContextLookupFailed
        | ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a failed response carried, attached to the response's extensions so layers (telemetry,
/// access log) classify it without reading the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorOutcome {
    /// The envelope's `error.code`.
    pub code: ErrorCode,
    /// Whether the operation ran out of time.
    pub timed_out: bool,
}

/// A failed request: the contract code, the HTTP status, a human message and optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    details: Option<Value>,
    timed_out: bool,
}

impl ServiceError {
    /// An error with `code`, its canonical status and `message`.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: status(code),
            code,
            message: message.into(),
            details: None,
            timed_out: false,
        }
    }

    /// Attaches `details` (a JSON object) to the envelope.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// A transport-level error: a `code` from the enum carried under a different HTTP status.
    fn transport(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            ..Self::new(code, message)
        }
    }

    /// The request body is not syntactically JSON.
    #[must_use]
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidJson, message)
    }

    /// The request is JSON but breaks a rule of the contract.
    #[must_use]
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    /// Anything unexpected (a panicked operation, a document that failed to render).
    #[must_use]
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// The operation did not finish within `timeout_ms`: the operation's default failure code
    /// with `details.timeout_ms`.
    #[must_use]
    pub fn timeout(operation: Operation, timeout_ms: u64) -> Self {
        let consequence = match operation {
            Operation::Write | Operation::Query => "; nothing was committed, a retry is safe",
            Operation::Migrate => {
                "; the migration may still complete, check POST /v1/db/schema-version"
            }
            _ => "",
        };
        Self::deadline_exceeded(
            operation.default_code(),
            format!("operation did not finish within {timeout_ms} ms{consequence}"),
            timeout_ms,
        )
    }

    fn deadline_exceeded(code: ErrorCode, message: String, timeout_ms: u64) -> Self {
        Self {
            timed_out: true,
            ..Self::new(code, message).with_details(json!({ "timeout_ms": timeout_ms }))
        }
    }

    /// Maps an API failure. A missed deadline is reported like a service-side timeout.
    #[must_use]
    pub fn from_api(error: ApiError, timeout_ms: u64) -> Self {
        match error {
            ApiError::DeadlineExceeded { code } => {
                Self::deadline_exceeded(code, error.to_string(), timeout_ms)
            }
            ApiError::SchemaUnavailable {
                ref status,
                ref message,
            } => {
                let details = status.as_ref().map(schema_details);
                let base = Self::new(ErrorCode::SchemaUnavailable, message.clone());
                match details {
                    Some(details) => base.with_details(details),
                    None => base,
                }
            }
            other => Self::new(other.code(), other.to_string()),
        }
    }

    /// The database schema is not current, so the service is not ready.
    #[must_use]
    pub fn not_ready(status: &SchemaStatus) -> Self {
        Self::new(
            ErrorCode::SchemaUnavailable,
            "database schema is not current; restart with --migrate or POST /v1/db/migrate",
        )
        .with_details(schema_details(status))
    }

    /// 401: the request lacks the bearer token this service was started with.
    #[must_use]
    pub fn unauthorized() -> Self {
        Self::transport(
            StatusCode::UNAUTHORIZED,
            ErrorCode::ValidationError,
            "missing or invalid bearer token",
        )
    }

    /// 404: no endpoint has this path.
    #[must_use]
    pub fn route_not_found(method: &Method, path: &str) -> Self {
        Self::transport(
            StatusCode::NOT_FOUND,
            ErrorCode::ValidationError,
            format!("no endpoint {method} {path}; GET /v1/openapi lists the endpoints"),
        )
        .with_details(json!({ "method": method.as_str(), "path": path }))
    }

    /// 405: the path exists but not with this method.
    #[must_use]
    pub fn method_not_allowed(method: &Method, path: &str) -> Self {
        Self::transport(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::ValidationError,
            format!("{path} does not accept {method}"),
        )
        .with_details(json!({ "method": method.as_str(), "path": path }))
    }

    /// 413: the body exceeds `--max-body-bytes`.
    #[must_use]
    pub fn payload_too_large(max_body_bytes: usize) -> Self {
        Self::transport(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::ValidationError,
            format!("request body exceeds the limit of {max_body_bytes} bytes"),
        )
        .with_details(json!({ "max_body_bytes": max_body_bytes }))
    }

    /// 415: a JSON body sent without `Content-Type: application/json`.
    #[must_use]
    pub fn unsupported_media_type(content_type: Option<&str>) -> Self {
        Self::transport(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::ValidationError,
            "request body must be sent with Content-Type: application/json",
        )
        .with_details(json!({ "content_type": content_type }))
    }

    /// The HTTP status of the response.
    #[must_use]
    pub const fn http_status(&self) -> StatusCode {
        self.status
    }

    /// The contract code of the response.
    #[must_use]
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// The readiness checks of a schema status: the `checks` of `/v1/ready` and the `details` of
/// a schema-related 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReadinessChecks {
    /// The highest applied migration.
    pub current_schema_version: u32,
    /// The migration this build needs.
    pub target_schema_version: u32,
    /// How many migrations are pending.
    pub pending_migrations: usize,
    /// Whether the file holds the unversioned legacy layout.
    pub inferred_from_legacy: bool,
}

impl From<&SchemaStatus> for ReadinessChecks {
    fn from(status: &SchemaStatus) -> Self {
        Self {
            current_schema_version: status.current_version,
            target_schema_version: status.target_version,
            pending_migrations: status.pending_versions.len(),
            inferred_from_legacy: status.inferred_from_legacy,
        }
    }
}

fn schema_details(status: &SchemaStatus) -> Value {
    serde_json::to_value(ReadinessChecks::from(status)).unwrap_or(Value::Null)
}

impl From<PathRejection> for ServiceError {
    fn from(rejection: PathRejection) -> Self {
        Self::validation(format!("invalid path parameter: {rejection}"))
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServiceError {}

/// The non-2xx envelope (SPEC §7.3): never `api_contract_version`, never `legacy_error`.
#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    service_contract_version: &'static str,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let envelope = ErrorEnvelope {
            service_contract_version: SERVICE_CONTRACT_VERSION,
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
        };
        let mut response = (self.status, axum::Json(envelope)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorOutcome {
            code: self.code,
            timed_out: self.timed_out,
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_the_spec_table() {
        let table: Vec<(ErrorCode, u16)> = ErrorCode::ALL
            .iter()
            .map(|code| (*code, status(*code).as_u16()))
            .collect();
        assert_eq!(
            table,
            vec![
                (ErrorCode::InvalidJson, 400),
                (ErrorCode::ValidationError, 400),
                (ErrorCode::ContextPackageNotFound, 404),
                (ErrorCode::WriteConflict, 409),
                (ErrorCode::WriteFailed, 500),
                (ErrorCode::SchemaUnavailable, 503),
                (ErrorCode::MigrationFailed, 500),
                (ErrorCode::QueryFailed, 500),
                (ErrorCode::ContextLookupFailed, 500),
                (ErrorCode::InternalError, 500),
            ]
        );
    }

    #[test]
    fn a_missed_api_deadline_reads_like_a_timeout() {
        let error = ServiceError::from_api(
            ApiError::DeadlineExceeded {
                code: ErrorCode::WriteFailed,
            },
            25,
        );
        assert_eq!(error.code(), ErrorCode::WriteFailed);
        assert_eq!(error.http_status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.details, Some(json!({ "timeout_ms": 25 })));
        assert!(error.timed_out);
    }
}
