//! The service's one error type and its HTTP mapping. Every non-2xx response of the service,
//! transport-level ones (401, 404, 405, 413, 415) included, is a [`ServiceError`] turned into
//! the `service.v3` error envelope here, and nowhere else.

use std::fmt;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::http::header::{HeaderValue, WWW_AUTHENTICATE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use memory_kernel_api::{ApiError, ErrorCode, Operation, SchemaStatus};
use serde::Serialize;
use serde_json::{Value, json};

use crate::SERVICE_CONTRACT_VERSION;

/// The HTTP status of each contract error code (docs/spec/service-contract.md), written once.
#[must_use]
pub const fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidJson | ErrorCode::ValidationError => StatusCode::BAD_REQUEST,
        ErrorCode::ContextPackageNotFound | ErrorCode::MemoryNotFound => StatusCode::NOT_FOUND,
        ErrorCode::WriteConflict => StatusCode::CONFLICT,
        ErrorCode::SchemaUnavailable
        | ErrorCode::OperationTimeout
        | ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::WriteFailed
        | ErrorCode::MigrationFailed
        | ErrorCode::QueryFailed
        | ErrorCode::ContextLookupFailed
        | ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The error a response was built from, attached to the response's extensions so the
/// remote-client layer can rebuild it without internals.
#[derive(Debug, Clone)]
pub struct SentError(pub ServiceError);

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

    /// The operation did not finish within `timeout_ms`: 503 [`ErrorCode::OperationTimeout`] with
    /// `details.timeout_ms`, whatever the operation.
    #[must_use]
    pub fn timeout(operation: Operation, timeout_ms: u64) -> Self {
        let consequence = match operation {
            Operation::Write | Operation::Query => "; nothing was committed, a retry is safe",
            Operation::Migrate => {
                "; the migration may still complete, check POST /v1/db/schema-version"
            }
            _ => "",
        };
        Self {
            timed_out: true,
            ..Self::new(
                ErrorCode::OperationTimeout,
                format!("operation did not finish within {timeout_ms} ms{consequence}"),
            )
            .with_details(json!({ "timeout_ms": timeout_ms }))
        }
    }

    /// Maps an API failure. A missed deadline is reported like a service-side timeout.
    #[must_use]
    pub fn from_api(error: ApiError, timeout_ms: u64) -> Self {
        match error {
            ApiError::DeadlineExceeded { operation } => Self::timeout(operation, timeout_ms),
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

    /// 421: without a token, only loopback host names (and `--allowed-host` names) are served,
    /// so a page whose DNS name was rebound to 127.0.0.1 cannot drive the service.
    #[must_use]
    pub fn host_not_allowed() -> Self {
        Self::transport(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::ValidationError,
            "the Host header names neither a loopback address nor an --allowed-host name",
        )
    }

    /// 408: the request body did not arrive within the body read timeout.
    #[must_use]
    pub fn body_timeout(timeout_ms: u64) -> Self {
        Self::transport(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::ValidationError,
            format!("the request body did not arrive within {timeout_ms} ms"),
        )
        .with_details(json!({ "body_read_timeout_ms": timeout_ms }))
    }

    /// A request the HTTP parser refused before it reached the router (a URL or header
    /// section too long, conflicting `Content-Length`, malformed syntax), with the status the
    /// parser chose: 414, 431 or 400.
    #[must_use]
    pub fn malformed_request(status: StatusCode) -> Self {
        let message = match status {
            StatusCode::URI_TOO_LONG => "the request target is too long",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "the request headers are too large",
            _ => {
                "the request is not valid HTTP/1.1 (for example conflicting Content-Length headers)"
            }
        };
        Self::transport(status, ErrorCode::ValidationError, message)
    }

    /// The same failure as a client on another host sees it: for the codes whose message can
    /// carry internals (store failures, timeouts, internal errors), a fixed message per code,
    /// so no absolute path or raw SQLite text leaves the machine. Details are kept: they are
    /// structured numbers and versions.
    #[must_use]
    pub fn for_remote_client(&self) -> Self {
        let message = match self.code {
            ErrorCode::WriteFailed => "the write could not be completed; see the service log",
            ErrorCode::QueryFailed => "the query could not be answered; see the service log",
            ErrorCode::ContextLookupFailed => {
                "the context package could not be read; see the service log"
            }
            ErrorCode::MigrationFailed => "the migration failed; see the service log",
            ErrorCode::SchemaUnavailable => {
                "the database is unavailable or its schema is not current; see the service log"
            }
            ErrorCode::StorageUnavailable => {
                "the storage under the database cannot take writes; see the service log"
            }
            ErrorCode::InternalError => "internal error; see the service log",
            ErrorCode::InvalidJson
            | ErrorCode::ValidationError
            | ErrorCode::ContextPackageNotFound
            | ErrorCode::MemoryNotFound
            | ErrorCode::WriteConflict
            | ErrorCode::OperationTimeout => return self.clone(),
        };
        Self {
            message: message.to_owned(),
            ..self.clone()
        }
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

impl From<QueryRejection> for ServiceError {
    fn from(rejection: QueryRejection) -> Self {
        Self::validation(format!("invalid query string: {}", rejection.body_text()))
    }
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

/// The non-2xx envelope (docs/spec/service-contract.md): never `api_contract_version`, never
/// `legacy_error`.
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

impl ServiceError {
    fn envelope(&self) -> ErrorEnvelope<'_> {
        ErrorEnvelope {
            service_contract_version: SERVICE_CONTRACT_VERSION,
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                details: self.details.as_ref(),
            },
        }
    }

    /// The error envelope as JSON bytes, for a response written outside the router.
    ///
    /// # Errors
    /// When the details do not serialize (they are JSON values, so never in practice).
    pub fn envelope_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&self.envelope())
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.envelope())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ErrorOutcome {
            code: self.code,
            timed_out: self.timed_out,
        });
        response.extensions_mut().insert(SentError(self));
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
                (ErrorCode::OperationTimeout, 503),
                (ErrorCode::StorageUnavailable, 503),
                (ErrorCode::MemoryNotFound, 404),
            ]
        );
    }

    #[test]
    fn a_missed_api_deadline_reads_like_a_timeout() {
        let error = ServiceError::from_api(
            ApiError::DeadlineExceeded {
                operation: Operation::Write,
            },
            25,
        );
        assert_eq!(error.code(), ErrorCode::OperationTimeout);
        assert_eq!(error.http_status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.details, Some(json!({ "timeout_ms": 25 })));
        assert!(error.timed_out);
    }
}
