//! One structured log line per request (method, path, status, duration, error code), emitted
//! through `tracing` to stderr; `RUST_LOG` selects what is shown.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ErrorOutcome;

/// The access-log layer.
pub async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let code = response
        .extensions()
        .get::<ErrorOutcome>()
        .map_or("-", |outcome| outcome.code.as_str());
    tracing::info!(
        target: "memory_kernel_service::access",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        duration_ms = %format_args!("{duration_ms:.3}"),
        code,
        "request"
    );
    response
}
