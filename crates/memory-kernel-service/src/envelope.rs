//! The `service.v3` success envelope and the non-2xx envelope policy (docs/spec/service-contract.md, §8.2). The
//! error envelope itself is rendered by [`crate::error::ServiceError`].

use axum::Json;
use axum::response::{IntoResponse, Response};
use memory_kernel_api::API_CONTRACT_VERSION;
use serde::Serialize;

use crate::SERVICE_CONTRACT_VERSION;

/// Fields every non-2xx body carries (dotted paths).
pub const NON_2XX_REQUIRES: [&str; 3] = ["service_contract_version", "error.code", "error.message"];

/// Fields a non-2xx body may carry.
pub const NON_2XX_OPTIONAL: [&str; 1] = ["error.details"];

/// Fields a non-2xx body never carries.
pub const NON_2XX_FORBIDS: [&str; 2] = ["legacy_error", "api_contract_version"];

/// A 200 response: `{service_contract_version, api_contract_version, data}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success<T>(pub T);

#[derive(Serialize)]
struct SuccessEnvelope<T> {
    service_contract_version: &'static str,
    api_contract_version: &'static str,
    data: T,
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        Json(SuccessEnvelope {
            service_contract_version: SERVICE_CONTRACT_VERSION,
            api_contract_version: API_CONTRACT_VERSION,
            data: self.0,
        })
        .into_response()
    }
}
