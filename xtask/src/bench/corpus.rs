//! The benchmark's records and queries: deterministic functions of a number, so two runs seed
//! the same database and send the same load.
//!
//! One record in five is a constraint over realistic actor, action and resource names; the
//! other four are a decision, a preference, an event and an outcome written from sentence
//! templates. Topic words are drawn with a skew (word `k` of the list about `1/(k+1)` as
//! often as the first), so a recall for a common topic matches a large share of the records
//! and one for a rare topic only a handful; a quarter of the summaries carry a follow-up
//! sentence, so record texts vary in length too.

use serde_json::json;

use crate::slo::requests::{HttpRequest, get, mix, post};

const ACTORS: [&str; 24] = [
    "analyst",
    "auditor",
    "billing-service",
    "ci-runner",
    "contractor",
    "data-engineer",
    "designer",
    "finance-lead",
    "guest",
    "hr-partner",
    "intern",
    "legal-counsel",
    "marketing",
    "ml-pipeline",
    "on-call",
    "ops-bot",
    "product-manager",
    "qa-engineer",
    "release-manager",
    "sales-rep",
    "security-team",
    "support-agent",
    "vendor",
    "web-frontend",
];

const ACTIONS: [&str; 16] = [
    "read", "write", "delete", "export", "import", "deploy", "approve", "share", "download",
    "upload", "rotate", "restore", "archive", "query", "modify", "publish",
];

const RESOURCES: [&str; 32] = [
    "customer-records",
    "payroll",
    "prod-database",
    "staging-cluster",
    "source-code",
    "build-cache",
    "invoices",
    "audit-log",
    "feature-flags",
    "api-keys",
    "backups",
    "dashboards",
    "email-lists",
    "support-tickets",
    "contracts",
    "design-files",
    "analytics-events",
    "marketing-site",
    "release-notes",
    "hr-files",
    "ssh-keys",
    "tax-reports",
    "vendor-portal",
    "usb-drive",
    "shared-drive",
    "crash-dumps",
    "model-weights",
    "pricing-table",
    "user-sessions",
    "dns-zone",
    "cdn-config",
    "roadmap",
];

/// What summaries are about; drawn with a skew, the first the most common.
const TOPICS: [&str; 100] = [
    "billing",
    "search",
    "checkout",
    "onboarding",
    "payments",
    "invoices",
    "login",
    "reporting",
    "analytics",
    "notifications",
    "mobile",
    "pricing",
    "catalog",
    "inventory",
    "shipping",
    "refunds",
    "subscriptions",
    "support",
    "compliance",
    "security",
    "backups",
    "deploys",
    "monitoring",
    "alerting",
    "caching",
    "database",
    "migrations",
    "latency",
    "uptime",
    "storage",
    "sessions",
    "permissions",
    "exports",
    "imports",
    "webhooks",
    "localization",
    "accessibility",
    "emails",
    "ranking",
    "recommendations",
    "fraud",
    "taxes",
    "auditing",
    "retention",
    "encryption",
    "tokens",
    "sso",
    "kubernetes",
    "terraform",
    "postgres",
    "redis",
    "kafka",
    "elasticsearch",
    "grafana",
    "sentry",
    "docker",
    "nginx",
    "graphql",
    "grpc",
    "python",
    "rust",
    "typescript",
    "react",
    "android",
    "ios",
    "windows",
    "linux",
    "macos",
    "firmware",
    "printers",
    "vpn",
    "wifi",
    "laptops",
    "badges",
    "office",
    "travel",
    "expenses",
    "hiring",
    "interviews",
    "training",
    "offsite",
    "budget",
    "roadmap",
    "quarterly",
    "okrs",
    "vendors",
    "licensing",
    "trademarks",
    "gdpr",
    "hipaa",
    "soc2",
    "pentest",
    "incidents",
    "postmortems",
    "runbooks",
    "rotation",
    "holidays",
    "benchmarks",
    "fixtures",
    "sandbox",
];

const OBJECTS: [&str; 24] = [
    "pipeline",
    "service",
    "dashboard",
    "schema",
    "endpoint",
    "queue",
    "cluster",
    "job",
    "index",
    "report",
    "policy",
    "workflow",
    "template",
    "client",
    "library",
    "bucket",
    "scheduler",
    "form",
    "page",
    "widget",
    "table",
    "feed",
    "gateway",
    "cache",
];

const VERBS: [&str; 16] = [
    "migrate",
    "deprecate",
    "adopt",
    "refactor",
    "freeze",
    "split",
    "merge",
    "encrypt",
    "archive",
    "rewrite",
    "throttle",
    "monitor",
    "document",
    "audit",
    "replace",
    "upgrade",
];

const REASONS: [&str; 12] = [
    "after the outage review",
    "to cut tail latency",
    "for the annual compliance audit",
    "because the vendor contract ends in June",
    "to unblock the next mobile release",
    "since hosting costs doubled last quarter",
    "as agreed with the security team",
    "to reduce night-time pages for on-call",
    "because customers kept reporting stale data",
    "so that new hires can own it",
    "before the holiday code freeze",
    "to meet the regulator's deadline",
];

const TEAMS: [&str; 12] = [
    "platform", "payments", "growth", "infra", "data", "mobile", "web", "support", "finance",
    "legal", "security", "design",
];

const HAPPENINGS: [&str; 12] = [
    "failed twice",
    "degraded for forty minutes",
    "was restored from backup",
    "paged on-call at night",
    "hit its rate limit",
    "was rolled back",
    "shipped on schedule",
    "was audited by an outside firm",
    "timed out under load",
    "dropped a batch of messages",
    "was migrated without downtime",
    "saw traffic double",
];

const RESULTS: [&str; 12] = [
    "reduced monthly costs by a third",
    "cut median latency in half",
    "caused a week of rework",
    "passed the external audit",
    "was reverted after two days",
    "improved conversion slightly",
    "removed a class of incidents",
    "made the weekly report obsolete",
    "confused several customers",
    "freed two engineers for other work",
    "had no measurable effect",
    "needed a follow-up migration",
];

/// The four summary types, in the order records cycle through them.
const SUMMARY_TYPES: [&str; 4] = ["decision", "preference", "event", "outcome"];

/// Offset of measured writes' numbers, past any seeded record's.
const WRITE_OFFSET: usize = 1 << 30;

fn pick<'a>(list: &[&'a str], i: usize, salt: u64) -> &'a str {
    list[mix(i, salt) % list.len()]
}

/// An index into `list` drawn with a skew: index `k` comes up about `1/(k+1)` times as often
/// as index 0 (a log-uniform draw).
fn skewed<'a>(list: &[&'a str], i: usize, salt: u64) -> &'a str {
    let unit = (mix(i, salt) % 1_000_000) as f64 / 1_000_000.0;
    let index = ((list.len() as f64 + 1.0).powf(unit) - 1.0) as usize;
    list[index.min(list.len() - 1)]
}

/// A scope field: usually a skewed name, one time in twenty the wildcard.
fn scope_field<'a>(list: &[&'a str], i: usize, salt: u64) -> &'a str {
    if mix(i, salt + 100).is_multiple_of(20) {
        "*"
    } else {
        skewed(list, i, salt)
    }
}

/// The `i`-th seed record: a constraint when `i % 5 == 0`, else a summary.
#[must_use]
pub(crate) fn record(i: usize) -> HttpRequest {
    if i.is_multiple_of(5) {
        constraint(i)
    } else {
        summary(i)
    }
}

/// The `i`-th constraint.
fn constraint(i: usize) -> HttpRequest {
    let (actor, action, resource) = (
        scope_field(&ACTORS, i, 1),
        scope_field(&ACTIONS, i, 2),
        scope_field(&RESOURCES, i, 3),
    );
    let effect = if mix(i, 4).is_multiple_of(3) {
        "allow"
    } else {
        "deny"
    };
    let mut body = json!({"actor": actor, "action": action, "resource": resource,
        "effect": effect, "writer": "bench", "justification": "service benchmark corpus",
        "source_uri": "file:///bench/policies.md", "truth_status": "asserted",
        "authority": "authoritative", "confidence": 0.9});
    if mix(i, 5).is_multiple_of(4) {
        body["note"] = json!(format!(
            "{} team policy, reviewed {}",
            pick(&TEAMS, i, 6),
            pick(&REASONS, i, 7)
        ));
    }
    post("/v1/memory/add/constraint", &body)
}

/// The `i`-th summary; its type cycles with `i`.
fn summary(i: usize) -> HttpRequest {
    let record_type = SUMMARY_TYPES[i % SUMMARY_TYPES.len()];
    let topic = skewed(&TOPICS, i, 10);
    let other = skewed(&TOPICS, i, 11);
    let object = pick(&OBJECTS, i, 12);
    let team = pick(&TEAMS, i, 13);
    let mut text = match record_type {
        "decision" => format!(
            "Decided to {} the {topic} {object} {}.",
            pick(&VERBS, i, 14),
            pick(&REASONS, i, 15)
        ),
        "preference" => format!(
            "The {team} team prefers {other} over {} for the {topic} {object}.",
            skewed(&TOPICS, i, 16)
        ),
        "event" => format!(
            "The {topic} {object} {} during the {team} {other} rollout.",
            pick(&HAPPENINGS, i, 17)
        ),
        _ => format!(
            "Moving the {topic} {object} to {other} {}.",
            pick(&RESULTS, i, 18)
        ),
    };
    if mix(i, 19).is_multiple_of(4) {
        text.push_str(&format!(
            " Follow-up: {} the {} {} and {} the {} {} {}.",
            pick(&VERBS, i, 20),
            skewed(&TOPICS, i, 21),
            pick(&OBJECTS, i, 22),
            pick(&VERBS, i, 23),
            skewed(&TOPICS, i, 24),
            pick(&OBJECTS, i, 25),
            pick(&REASONS, i, 26)
        ));
    }
    post(
        "/v1/memory/add/summary",
        &json!({"record_type": record_type, "summary": text, "writer": "bench",
            "justification": "service benchmark corpus", "source_uri": "file:///bench/notes.md",
            "truth_status": "asserted", "authority": "derived"}),
    )
}

/// The `k`-th measured write of client `client` in the `cell`-th cell: a new constraint,
/// numbered past every seeded record.
#[must_use]
pub(crate) fn write(cell: usize, client: usize, k: usize) -> HttpRequest {
    constraint(WRITE_OFFSET.wrapping_add(stream(cell.wrapping_mul(1024).wrapping_add(client), k)))
}

/// The number of the `k`-th request of client stream `client`: streams start far apart.
fn stream(client: usize, k: usize) -> usize {
    mix(client, 99).wrapping_add(k)
}

/// The `k`-th policy question of client `client`.
#[must_use]
pub(crate) fn ask(client: usize, k: usize) -> HttpRequest {
    let i = stream(client, k);
    let (actor, action, resource) = (
        skewed(&ACTORS, i, 30),
        skewed(&ACTIONS, i, 31),
        skewed(&RESOURCES, i, 32),
    );
    post(
        "/v1/query/ask",
        &json!({"text": format!("May {actor} {action} {resource}?"), "actor": actor,
            "action": action, "resource": resource}),
    )
}

/// The `k`-th recall of client `client`: one or two topic words drawn evenly (so common and
/// rare topics alike), sometimes with an object word.
#[must_use]
pub(crate) fn recall(client: usize, k: usize) -> HttpRequest {
    let i = stream(client, k);
    let text = match mix(i, 40) % 3 {
        0 => pick(&TOPICS, i, 41).to_owned(),
        1 => format!("{} {}", pick(&TOPICS, i, 41), pick(&TOPICS, i, 42)),
        _ => format!("{} {}", pick(&TOPICS, i, 41), pick(&OBJECTS, i, 43)),
    };
    recall_text(&text)
}

/// The `i`-th of the distinct recall texts the database-growth phase sends: two different
/// topic words, plus an object word past the 4,900 topic pairs. Texts `0..117_600` are
/// pairwise different term sets.
#[must_use]
pub(crate) fn growth_recall(i: usize) -> HttpRequest {
    recall_text(&growth_text(i))
}

fn growth_text(i: usize) -> String {
    let n = TOPICS.len();
    let pairs = n * (n / 2 - 1);
    let pair = i % pairs;
    // Topic `a` with the topic `d` places after it, `d` in `1..n/2`: each unordered pair once.
    let (a, d) = (pair % n, 1 + pair / n);
    let text = format!("{} {}", TOPICS[a], TOPICS[(a + d) % n]);
    match i / pairs {
        0 => text,
        round => format!("{text} {}", OBJECTS[(round - 1) % OBJECTS.len()]),
    }
}

/// The recall whose package the `context` cells fetch: a topic of middling frequency.
#[must_use]
pub(crate) fn package_recall() -> HttpRequest {
    recall_text(&format!("{} {}", TOPICS[9], OBJECTS[0]))
}

fn recall_text(text: &str) -> HttpRequest {
    post("/v1/query/recall", &json!({"text": text, "limit": 20}))
}

/// `GET /v1/context/{id}`.
#[must_use]
pub(crate) fn context(id: &str) -> HttpRequest {
    get(&format!("/v1/context/{id}"))
}

/// `GET /v1/health`.
#[must_use]
pub(crate) fn health() -> HttpRequest {
    get("/v1/health")
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::Value;

    use super::*;

    fn body(request: &HttpRequest) -> Value {
        serde_json::from_str(request.body.as_deref().unwrap_or("null")).unwrap_or_default()
    }

    #[test]
    fn records_are_deterministic_and_mixed() {
        assert_eq!(record(123), record(123));
        let mut types = BTreeMap::new();
        for i in 0..1000 {
            let value = body(&record(i));
            let kind = value["record_type"]
                .as_str()
                .unwrap_or("constraint")
                .to_owned();
            *types.entry(kind).or_insert(0) += 1;
        }
        for kind in ["constraint", "decision", "preference", "event", "outcome"] {
            assert_eq!(types.get(kind), Some(&200), "{types:?}");
        }
    }

    #[test]
    fn topics_are_skewed_so_recalls_match_sets_of_different_sizes() {
        let mut counts = vec![0_usize; TOPICS.len()];
        for i in 0..20_000 {
            let topic = skewed(&TOPICS, i, 10);
            if let Some(k) = TOPICS.iter().position(|t| *t == topic) {
                counts[k] += 1;
            }
        }
        assert!(counts[0] > 2_000, "{counts:?}");
        assert!(counts[99] < 100, "{counts:?}");
        assert!(counts[0] > 20 * counts[99].max(1), "{counts:?}");
    }

    #[test]
    fn growth_recalls_have_distinct_term_sets() {
        let mut seen = BTreeSet::new();
        for i in 0..117_600 {
            let mut terms: Vec<String> = growth_text(i)
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            terms.sort();
            terms.dedup();
            assert!(terms.len() >= 2, "{i}: {terms:?}");
            assert!(seen.insert(terms), "{i} repeats an earlier text");
        }
    }
}
