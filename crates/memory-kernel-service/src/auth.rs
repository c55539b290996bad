//! Bearer-token authentication, a layer in front of every endpoint except `GET /v1/health`
//! (liveness probes carry no secrets). Active only when the service was started with
//! `--auth-token-file`; the scheme matches in any case, the token in constant time.
//!
//! Without a token the service is open to whoever reaches the loopback address, and that
//! includes a browser page whose DNS name was rebound to 127.0.0.1. So without a token only
//! requests whose `Host` names a loopback address (`localhost`, `*.localhost`, `127.x.y.z`,
//! `[::1]`) or an `--allowed-host` name are served; others get 421.

use std::fmt;

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, HOST};
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

    /// Whether an `Authorization` header value is `Bearer <this token>` (the scheme in any
    /// case, as HTTP auth schemes are), the token compared in constant time.
    #[must_use]
    pub fn accepts(&self, authorization: &[u8]) -> bool {
        let Some((scheme, presented)) = authorization.split_at_checked(7) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        presented.ct_eq(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// The refusal a request gets before it reaches its endpoint, if any: without a token, 421
/// for a `Host` that is neither loopback nor allowed; with one, 401 unless the request is the
/// liveness probe or carries the token. Reads the headers in place, allocating nothing.
#[must_use]
pub fn refusal(state: &AppState, request: &Request) -> Option<Response> {
    let Some(token) = state.auth_token() else {
        let host = request
            .headers()
            .get(HOST)
            .map(|value| value.to_str().unwrap_or("\u{fffd}"));
        return (!host_is_allowed(host, state.allowed_hosts()))
            .then(|| ServiceError::host_not_allowed().into_response());
    };
    let authorised = request.uri().path() == LIVENESS_PATH
        || request
            .headers()
            .get(AUTHORIZATION)
            .is_some_and(|value| token.accepts(value.as_bytes()));
    (!authorised).then(|| ServiceError::unauthorized().into_response())
}

/// Whether a `Host` header value (`None` when absent, as HTTP/1.0 allows) may be served
/// without a token: a loopback name or address, or one of `allowed` (lower case, no port).
/// Names compare without regard to ASCII case.
#[must_use]
pub fn host_is_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        // Browsers always send Host; a request without one is no rebinding attack.
        return true;
    };
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`.
        match rest.split_once(']') {
            Some((address, _port)) => address,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _port)| name)
    };
    let name = name.trim_end_matches('.');
    let ends_with_localhost = name.len() > ".localhost".len()
        && name
            .get(name.len() - ".localhost".len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"));
    name.eq_ignore_ascii_case("localhost")
        || ends_with_localhost
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || allowed
            .iter()
            .any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::{BearerToken, host_is_allowed};

    #[test]
    fn item_14_the_bearer_scheme_matches_in_any_case() {
        let token = BearerToken::new("t".repeat(32));
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert!(token.accepts(format!("{scheme} {}", "t".repeat(32)).as_bytes()));
        }
        assert!(!token.accepts(format!("Bearerx{}", "t".repeat(32)).as_bytes()));
        assert!(!token.accepts(b"bear"));
    }

    #[test]
    fn item_13_only_loopback_and_configured_hosts_are_served_without_a_token() {
        let allowed = vec!["mk.internal".to_owned()];
        for host in [
            "localhost",
            "localhost:4010",
            "LOCALHOST.",
            "app.localhost:80",
            "127.0.0.1:4010",
            "127.1.2.3",
            "[::1]:4010",
            "[::1]",
            "mk.internal:4010",
        ] {
            assert!(host_is_allowed(Some(host), &allowed), "{host}");
        }
        for host in [
            "attacker.example",
            "attacker.example:4010",
            "localhost.attacker.example",
            "10.0.0.1",
            "[::2]:80",
            "[::1",
            "",
        ] {
            assert!(!host_is_allowed(Some(host), &allowed), "{host}");
        }
        assert!(host_is_allowed(None, &[]));
    }

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
