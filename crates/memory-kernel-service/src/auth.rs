//! Bearer-token authentication, a layer in front of every endpoint except `GET /v1/health`
//! (liveness probes carry no secrets). Active only when the service was started with
//! `--auth-token-file`; the comparison is constant-time.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::endpoints::LIVENESS_PATH;
use crate::error::ServiceError;
use crate::state::AppState;

/// The secret every authenticated request must present.
pub struct BearerToken(String);

impl BearerToken {
    /// Wraps the token read from `--auth-token-file`.
    #[must_use]
    pub const fn new(token: String) -> Self {
        Self(token)
    }

    /// Whether an `Authorization` header value is `Bearer <this token>`, compared in constant
    /// time.
    #[must_use]
    pub fn accepts(&self, authorization: &[u8]) -> bool {
        let Some(presented) = authorization.strip_prefix(b"Bearer ") else {
            return false;
        };
        presented.ct_eq(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The authentication layer: 401 with the error envelope unless the request is authorised.
pub async fn require_bearer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = state.auth_token() else {
        return next.run(request).await;
    };
    let authorised = request.uri().path() == LIVENESS_PATH
        || request
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|value| token.accepts(value.as_bytes()));
    if authorised {
        next.run(request).await
    } else {
        ServiceError::unauthorized().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::BearerToken;

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = BearerToken::new("s3cret".to_owned());
        assert!(token.accepts(b"Bearer s3cret"));
        assert!(!token.accepts(b"Bearer s3cret2"));
        assert!(!token.accepts(b"Bearer s3cre"));
        assert!(!token.accepts(b"Basic s3cret"));
        assert!(!token.accepts(b"s3cret"));
        assert_eq!(format!("{token:?}"), "BearerToken(<redacted>)");
    }
}
