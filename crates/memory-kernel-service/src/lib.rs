//! The MemoryKernel HTTP service, producer of the `service.v3` contract.
//!
//! The service is a thin transport over [`memory_kernel_api`]: every handler extracts a request,
//! calls the application API on a blocking thread under a deadline, and maps the result into
//! the `service.v3` envelopes. Cross-cutting behaviour lives in layers: request counting
//! ([`telemetry`]), access logs, bearer authentication ([`auth`]) and the body limit.
//!
//! One endpoint table ([`endpoints::ENDPOINTS`]) drives the router, the OpenAPI document
//! ([`openapi`]) and the runtime contract ([`contract`]), so the three cannot drift apart.
//!
//! It is not a place for domain rules (those live in `memory-kernel-core`) and never touches
//! the store directly.

mod access_log;
pub mod auth;
pub mod body;
pub mod config;
pub mod contract;
pub mod database_file;
pub mod deadline;
pub mod endpoints;
pub mod envelope;
pub mod error;
mod handlers;
pub mod openapi;
pub mod server;
pub mod state;
pub mod telemetry;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::middleware::{from_fn, from_fn_with_state};

pub use config::{ServiceArgs, ServiceConfig, Settings};
pub use error::{ServiceError, status};
pub use state::AppState;

/// The HTTP contract version, written once here; every envelope and document reports it.
pub const SERVICE_CONTRACT_VERSION: &str = "service.v3";

/// The integration pack this service produces for (`contracts/integration/v1/`).
pub const INTEGRATION_BASELINE: &str = "integration/v1";

/// The service's router: every endpoint of [`endpoints::ENDPOINTS`], enveloped 404 and 405
/// fallbacks, and the layers (outermost first) telemetry → access log → bearer auth → body
/// limit.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new();
    for endpoint in &endpoints::ENDPOINTS {
        routes = routes.route(endpoint.path, endpoint.method_router());
    }
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(from_fn_with_state(state.clone(), auth::require_bearer))
        .layer(from_fn(access_log::access_log))
        .layer(from_fn_with_state(state.telemetry(), telemetry::count))
        .with_state(state)
}

async fn route_not_found(method: Method, uri: Uri) -> ServiceError {
    ServiceError::route_not_found(&method, uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ServiceError {
    ServiceError::method_not_allowed(&method, uri.path())
}
