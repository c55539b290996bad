//! The JSON body extractor. Its checks run in a fixed order so every failure has one code:
//!
//! 1. the body is read under the `--max-body-bytes` limit → 413 `validation_error`;
//! 2. the bytes must be JSON → 400 `invalid_json` (checked before the content type, so a
//!    malformed body is `invalid_json` whatever header came with it);
//! 3. the content type must be `application/json` → 415 `validation_error`;
//! 4. the JSON must have the endpoint's shape (fields, types, enums; unknown fields refused)
//!    → 400 `validation_error` with serde's message.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ServiceError;
use crate::state::AppState;

/// A request body deserialized from JSON into `T` (an API request type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ServiceError::payload_too_large(state.max_body_bytes())
                } else {
                    ServiceError::validation(format!(
                        "could not read the request body: {rejection}"
                    ))
                }
            })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|error| {
            ServiceError::invalid_json(format!("request body is not valid JSON: {error}"))
        })?;
        if !is_json_media_type(content_type.as_deref()) {
            return Err(ServiceError::unsupported_media_type(
                content_type.as_deref(),
            ));
        }
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|error| {
                ServiceError::validation(format!(
                    "request body does not match the contract: {error}"
                ))
            })
    }
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json_media_type(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|value| {
        let essence = value.split(';').next().unwrap_or_default().trim();
        essence.eq_ignore_ascii_case("application/json")
    })
}

#[cfg(test)]
mod tests {
    use super::is_json_media_type;

    #[test]
    fn only_application_json_is_json() {
        assert!(is_json_media_type(Some("application/json")));
        assert!(is_json_media_type(Some("Application/JSON; charset=utf-8")));
        assert!(!is_json_media_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(!is_json_media_type(Some("text/plain")));
        assert!(!is_json_media_type(None));
    }
}
