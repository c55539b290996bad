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
pub mod connection;
pub mod contract;
pub mod deadline;
pub mod endpoints;
pub mod envelope;
pub mod error;
mod handlers;
pub mod openapi;
pub mod server;
pub mod state;
pub mod telemetry;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};

pub use config::{ServiceArgs, ServiceConfig, Settings};
pub use error::{ServiceError, status};
pub use state::AppState;

/// The HTTP contract version, written once here; every envelope and document reports it.
pub const SERVICE_CONTRACT_VERSION: &str = "service.v3";

/// The integration pack this service produces for (`contracts/integration/v1/`).
pub const INTEGRATION_BASELINE: &str = "integration/v1";

/// The service's router: every endpoint of [`endpoints::ENDPOINTS`], enveloped 404 and 405
/// fallbacks, one cross-cutting layer ([`front`]: telemetry, access log, remote-client errors,
/// bearer auth and host check, in that order from the outside) and the body limit.
pub fn router(state: AppState) -> Router {
    let mut routes = Router::new();
    for endpoint in &endpoints::ENDPOINTS {
        routes = routes.route(endpoint.path, endpoint.method_router());
    }
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.max_body_bytes()))
        .layer(from_fn_with_state(state.clone(), front))
        .with_state(state)
}

/// Every cross-cutting step of a request in one layer, so a request pays for one middleware
/// future rather than one per concern, and the probes allocate nothing here: it times and
/// counts the request under its route ([`telemetry`]), writes its access line when that line's
/// level is on ([`access_log`]), refuses it before the endpoint when the host or the token
/// says so ([`auth`]), and strips internals from errors sent to another machine.
async fn front(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let timing = telemetry::Timing::begin(&mut request);
    let access = access_log::Pending::begin(&request);
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer)
        .filter(|peer| !peer.ip().is_loopback());
    let response = match auth::refusal(&state, &request) {
        Some(refused) => refused,
        None => next.run(request).await,
    };
    let response = match remote {
        Some(peer) => remote_error(peer, response),
        None => response,
    };
    if let Some(access) = access {
        access.finish(&response, timing.elapsed());
    }
    timing.finish(state.telemetry_ref(), &response);
    response
}

/// Error responses to a client that is not on this machine carry no internals: for the codes
/// whose message can hold an absolute path or SQLite's own text, the message is replaced by a
/// fixed one per code (see [`ServiceError::for_remote_client`]) and the original is logged.
/// The client's address comes from the connection ([`connection`]); a request without one
/// (in-process use of the router) is treated as local.
fn remote_error(peer: SocketAddr, response: Response) -> Response {
    let Some(error::SentError(sent)) = response.extensions().get::<error::SentError>() else {
        return response;
    };
    let public = sent.for_remote_client();
    if public.message() == sent.message() {
        return response;
    }
    tracing::warn!(%peer, code = %sent.code(), message = sent.message(), "error sent to a remote client without its message");
    public.into_response()
}

async fn route_not_found(method: Method, uri: Uri) -> ServiceError {
    ServiceError::route_not_found(&method, uri.path())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ServiceError {
    ServiceError::method_not_allowed(&method, uri.path())
}
