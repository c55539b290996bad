//! The JSON body extractor. Its checks run in a fixed order so every failure has one code:
//!
//! 1. the body is read under the `--max-body-bytes` limit → 413
//!    [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError), and within
//!    `--body-read-timeout-ms` → 408
//!    [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError) (the time spent
//!    reading is reported to telemetry, which leaves it out of the endpoint's latency);
//! 2. the bytes must be JSON, with no object naming a key twice → 400
//!    [`ErrorCode::InvalidJson`](memory_kernel_api::ErrorCode::InvalidJson) (checked before the
//!    content type, so a malformed body is
//!    [`ErrorCode::InvalidJson`](memory_kernel_api::ErrorCode::InvalidJson) whatever header came
//!    with it);
//! 3. the content type must be `application/json` → 415
//!    [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError);
//! 4. the JSON must have the endpoint's shape (fields, types, enums; unknown fields refused) → 400
//!    [`ErrorCode::ValidationError`](memory_kernel_api::ErrorCode::ValidationError) with serde's
//!    message.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::deadline::millis;
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
        let wait = request.extensions().get::<BodyWait>().cloned();
        let started = Instant::now();
        let timeout = state.body_read_timeout();
        let read = tokio::time::timeout(timeout, Bytes::from_request(request, state)).await;
        if let Some(wait) = wait {
            wait.record(started.elapsed());
        }
        let bytes = read
            .map_err(|_elapsed| ServiceError::body_timeout(millis(timeout)))?
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ServiceError::payload_too_large(state.max_body_bytes())
                } else {
                    ServiceError::validation(format!(
                        "could not read the request body: {rejection}"
                    ))
                }
            })?;
        let value = parse_strict(&bytes).map_err(|error| {
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

/// How long the body of one request took to arrive, shared between the body extractor (which
/// records it) and the telemetry layer (which subtracts it from the endpoint's latency, so a
/// slow upload is not counted as a slow endpoint).
#[derive(Debug, Clone, Default)]
pub struct BodyWait(Arc<AtomicU64>);

impl BodyWait {
    /// Adds `elapsed` to the time spent waiting for the body.
    pub fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.0.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The time spent waiting for the body so far.
    #[must_use]
    pub fn get(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// Parses JSON like `serde_json::from_slice`, but refuses an object that names a key twice:
/// "last one wins" would let two readers of the same bytes see different requests.
///
/// # Errors
/// The syntax error, or a duplicate-key error naming the key.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<StrictValue>(bytes).map(|strict| strict.0)
}

/// A JSON value whose objects were checked for duplicate keys while parsing.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key {:?}",
                    memory_kernel_core::error::bounded_echo(&key)
                )));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
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
    use super::{is_json_media_type, parse_strict};

    #[test]
    fn item_03_duplicate_keys_are_refused_at_any_depth() {
        for body in [
            r#"{"summary":"s","summary":"t"}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"[{"x":1},{"y":2,"y":3}]"#,
        ] {
            let error = parse_strict(body.as_bytes()).err().map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains("duplicate key")),
                "{body}: {error:?}"
            );
        }
        let value = parse_strict(br#"{"a":[1,2.5,"x",null,true],"b":{"c":-3}}"#).ok();
        assert_eq!(
            value,
            Some(serde_json::json!({"a":[1,2.5,"x",null,true],"b":{"c":-3}}))
        );
    }

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
