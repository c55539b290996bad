//! The router's one shared state.

use std::sync::Arc;
use std::time::Duration;

use memory_kernel_api::{ApiError, Deadline, MemoryKernel, Operation};

use crate::auth::BearerToken;
use crate::config::Settings;
use crate::deadline::{millis, run_with_deadline};
use crate::error::ServiceError;
use crate::telemetry::Telemetry;

/// Shared by every handler and layer; a clone is one reference count, so extracting it costs
/// a request nothing.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    kernel: MemoryKernel,
    operation_timeout: Duration,
    max_body_bytes: usize,
    auth_token: Option<Arc<BearerToken>>,
    body_read_timeout: Duration,
    allowed_hosts: Arc<[String]>,
    min_free_bytes: u64,
    telemetry: Arc<Telemetry>,
}

impl AppState {
    /// State over an opened API handle with fresh telemetry.
    #[must_use]
    pub fn new(kernel: MemoryKernel, settings: Settings) -> Self {
        Self(Arc::new(Shared {
            kernel,
            operation_timeout: settings.operation_timeout,
            max_body_bytes: settings.max_body_bytes,
            auth_token: settings
                .auth_token
                .map(|token| Arc::new(BearerToken::new(token))),
            body_read_timeout: settings.body_read_timeout,
            allowed_hosts: settings.allowed_hosts.into(),
            min_free_bytes: settings.min_free_bytes,
            telemetry: Arc::new(Telemetry::default()),
        }))
    }

    /// Runs an API call on a blocking thread under the operation timeout; see
    /// [`run_with_deadline`]. The API checks the database file first
    /// ([`MemoryKernel::check_file`]).
    ///
    /// # Errors
    /// The mapped API failure,
    /// [`ErrorCode::SchemaUnavailable`](memory_kernel_api::ErrorCode::SchemaUnavailable) when the
    /// file is gone (or read-only for an operation that writes), or a timeout with `operation`'s
    /// default code.
    pub async fn run<T, F>(&self, operation: Operation, op: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&MemoryKernel, Deadline) -> Result<T, ApiError> + Send + 'static,
    {
        let kernel = self.0.kernel.clone();
        run_with_deadline(self.0.operation_timeout, operation, move |deadline| {
            op(&kernel, deadline)
        })
        .await
    }

    /// The operation timeout in milliseconds (reported by `/v1/health`).
    #[must_use]
    pub fn timeout_ms(&self) -> u64 {
        millis(self.0.operation_timeout)
    }

    /// Largest accepted request body, in bytes.
    #[must_use]
    pub fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes
    }

    /// How long a request body may take to arrive.
    #[must_use]
    pub fn body_read_timeout(&self) -> Duration {
        self.0.body_read_timeout
    }

    /// Host names accepted besides the loopback ones when no token is configured.
    #[must_use]
    pub fn allowed_hosts(&self) -> &[String] {
        &self.0.allowed_hosts
    }

    /// Free bytes under the database below which readiness answers 503.
    #[must_use]
    pub fn min_free_bytes(&self) -> u64 {
        self.0.min_free_bytes
    }

    /// The bearer token requests must carry, when one is configured.
    #[must_use]
    pub fn auth_token(&self) -> Option<&BearerToken> {
        self.0.auth_token.as_deref()
    }

    /// The request counters.
    #[must_use]
    pub fn telemetry(&self) -> Arc<Telemetry> {
        Arc::clone(&self.0.telemetry)
    }

    /// The request counters, borrowed.
    #[must_use]
    pub fn telemetry_ref(&self) -> &Telemetry {
        &self.0.telemetry
    }
}
