//! One structured log line per request (method, path, status, duration, error code), emitted
//! through `tracing`; `RUST_LOG` selects what is shown. The probes (`/v1/health`, `/v1/ready`,
//! `/metrics`) log at `debug`, every other request at `info`, so the default level keeps
//! probe traffic out of the log and costs it nothing: when the line's level is off, nothing
//! is captured or formatted (`RUST_LOG=memory_kernel_service::access=debug` shows probes).

use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use tracing::Level;

use crate::endpoints::{LIVENESS_PATH, METRICS_PATH, READINESS_PATH};
use crate::error::ErrorOutcome;

/// The log target of the access lines.
pub const TARGET: &str = "memory_kernel_service::access";

/// What a request's access line needs from the request, captured only when the line will be
/// written.
pub struct Pending {
    method: Method,
    path: String,
    probe: bool,
}

/// Whether `path` is a probe, logged at `debug`.
fn is_probe(path: &str) -> bool {
    path == LIVENESS_PATH || path == READINESS_PATH || path == METRICS_PATH
}

impl Pending {
    /// Captures the request's method and path when its access line is enabled; `None` (and
    /// no allocation) otherwise.
    pub fn begin(request: &Request) -> Option<Self> {
        let path = request.uri().path();
        let probe = is_probe(path);
        let enabled = if probe {
            tracing::enabled!(target: TARGET, Level::DEBUG)
        } else {
            tracing::enabled!(target: TARGET, Level::INFO)
        };
        enabled.then(|| Self {
            method: request.method().clone(),
            path: path.to_owned(),
            probe,
        })
    }

    /// Writes the line for `response`, which took `elapsed`.
    pub fn finish(self, response: &Response, elapsed: Duration) {
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        let code = response
            .extensions()
            .get::<ErrorOutcome>()
            .map_or("-", |outcome| outcome.code.as_str());
        let status = response.status().as_u16();
        let (method, path) = (&self.method, &self.path);
        if self.probe {
            tracing::debug!(
                target: TARGET,
                method = %method,
                path = %path,
                status,
                duration_ms = %format_args!("{duration_ms:.3}"),
                code,
                "request"
            );
        } else {
            tracing::info!(
                target: TARGET,
                method = %method,
                path = %path,
                status,
                duration_ms = %format_args!("{duration_ms:.3}"),
                code,
                "request"
            );
        }
    }
}
