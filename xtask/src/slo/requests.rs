//! The requests of the load run: deterministic bodies built from the request's number, so two
//! runs send the same load. Seed records spread over 50 actors × 25 actions × 50 resources and
//! a 300-word vocabulary; the measured load asks and recalls over the same words.

use serde_json::{Value, json};

/// One HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The concrete path.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<String>,
}

/// What the seed phase left behind for the measured load to refer to.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    /// Every seeded record's `memory_version_id`.
    pub version_ids: Vec<String>,
    /// Context packages stored by the seed phase's asks.
    pub package_ids: Vec<String>,
}

/// The endpoints the load run can drive (every endpoint of the service).
const ENDPOINTS: [&str; 12] = [
    "/v1/health",
    "/v1/ready",
    "/v1/openapi",
    "/v1/db/schema-version",
    "/v1/db/migrate",
    "/v1/memory/add/constraint",
    "/v1/memory/add/summary",
    "/v1/memory/link",
    "/v1/query/ask",
    "/v1/query/recall",
    "/v1/context/{context_package_id}",
    "/metrics",
];

/// Whether the load run has a request generator for `endpoint`.
#[must_use]
pub fn is_known(endpoint: &str) -> bool {
    ENDPOINTS.contains(&endpoint)
}

/// A well-mixed number from `i` and `salt` (splitmix64).
pub(crate) fn mix(i: usize, salt: u64) -> usize {
    let mut z = (i as u64).wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    usize::try_from(z ^ (z >> 31)).unwrap_or(usize::MAX)
}

fn word(i: usize, salt: u64) -> String {
    format!("term{}", mix(i, salt) % 300)
}

fn triple(i: usize) -> (String, String, String) {
    (
        format!("actor{}", mix(i, 1) % 50),
        format!("action{}", mix(i, 2) % 25),
        format!("resource{}", mix(i, 3) % 50),
    )
}

/// A `POST` of `body` as JSON.
pub(crate) fn post(path: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        method: "POST",
        path: path.to_owned(),
        body: Some(body.to_string()),
    }
}

/// A `GET`.
pub(crate) fn get(path: &str) -> HttpRequest {
    HttpRequest {
        method: "GET",
        path: path.to_owned(),
        body: None,
    }
}

/// The `i`-th constraint.
#[must_use]
pub fn constraint(i: usize) -> HttpRequest {
    let (actor, action, resource) = triple(i);
    post(
        "/v1/memory/add/constraint",
        &json!({"actor": actor, "action": action, "resource": resource,
            "effect": if i.is_multiple_of(3) { "allow" } else { "deny" }, "writer": "slo",
            "justification": "benchmark load", "source_uri": "file:///slo-benchmark.md",
            "truth_status": "asserted", "authority": "authoritative", "confidence": 0.9}),
    )
}

/// The `i`-th summary (decision, preference, event, outcome in turn).
#[must_use]
pub fn summary(i: usize) -> HttpRequest {
    let words: Vec<String> = (0..6).map(|k| word(i * 6 + k, 4)).collect();
    let record_type = ["decision", "preference", "event", "outcome"][i % 4];
    post(
        "/v1/memory/add/summary",
        &json!({"record_type": record_type, "summary": words.join(" "), "writer": "slo",
            "justification": "benchmark load", "source_uri": "file:///slo-benchmark.md",
            "truth_status": "asserted", "authority": "derived"}),
    )
}

/// The `m`-th link between seeded records; every `m` gives a different pair.
#[must_use]
pub fn link(m: usize, ids: &[String]) -> Option<HttpRequest> {
    let n = ids.len();
    if n < 2 {
        return None;
    }
    let from = m % n;
    let to = (from + 1 + (m / n) % (n - 1)) % n;
    Some(post(
        "/v1/memory/link",
        &json!({"from": ids[from], "to": ids[to], "relation": "contradicts",
            "writer": "slo", "justification": "benchmark load"}),
    ))
}

/// The `i`-th policy question.
#[must_use]
pub fn ask(i: usize) -> HttpRequest {
    let (actor, action, resource) = triple(i);
    post(
        "/v1/query/ask",
        &json!({"text": "is this allowed?", "actor": actor, "action": action,
            "resource": resource}),
    )
}

/// The `i`-th measured request to `endpoint`; `links_before` is how many links the seed
/// phase wrote (so the measured ones are new pairs).
#[must_use]
pub fn measured(
    endpoint: &str,
    i: usize,
    seeded: &Seeded,
    links_before: usize,
) -> Option<HttpRequest> {
    Some(match endpoint {
        "/v1/health" | "/v1/ready" | "/v1/openapi" | "/metrics" => get(endpoint),
        "/v1/db/schema-version" => HttpRequest {
            method: "POST",
            path: endpoint.to_owned(),
            body: None,
        },
        "/v1/db/migrate" => post(endpoint, &json!({"dry_run": true})),
        // Offset past the seed's numbers, so every measured record is a new one.
        "/v1/memory/add/constraint" => constraint(1_000_000 + i),
        "/v1/memory/add/summary" => summary(1_000_000 + i),
        "/v1/memory/link" => link(links_before + i, &seeded.version_ids)?,
        "/v1/query/ask" => ask(i),
        "/v1/query/recall" => post(
            endpoint,
            &json!({"text": format!("{} {}", word(i, 5), word(i, 6)), "limit": 20}),
        ),
        "/v1/context/{context_package_id}" => {
            let id = seeded
                .package_ids
                .get(i % seeded.package_ids.len().max(1))?;
            get(&format!("/v1/context/{id}"))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_a_generator() {
        let seeded = Seeded {
            version_ids: vec!["a".into(), "b".into(), "c".into()],
            package_ids: vec!["cp_1".into()],
        };
        for endpoint in ENDPOINTS {
            assert!(measured(endpoint, 7, &seeded, 0).is_some(), "{endpoint}");
        }
        assert!(measured("/v9/nope", 0, &seeded, 0).is_none());
    }

    #[test]
    fn links_never_repeat_a_pair_or_point_at_themselves() {
        let ids: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        let mut pairs = std::collections::BTreeSet::new();
        for m in 0..20 {
            let body = link(m, &ids).and_then(|r| r.body).unwrap_or_default();
            let value: Value = serde_json::from_str(&body).unwrap_or_default();
            assert_ne!(value["from"], value["to"]);
            assert!(
                pairs.insert((value["from"].to_string(), value["to"].to_string())),
                "{m}"
            );
        }
    }
}
