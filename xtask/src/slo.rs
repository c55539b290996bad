//! `cargo xtask slo`: the service's SLO policy, checked (`--check-policy`, a gate of
//! `verify`) or enforced on a live release build (the load run, not a gate).
//!
//! The policy (`contracts/integration/v1/service-slo-policy.json`, docs/spec/service-slo-policy.md) is the only place
//! thresholds are written; [`render_threshold_table`] renders the table
//! `docs/spec/service-slo-policy.md` carries between `<!-- generated:slo-thresholds -->` and
//! `<!-- /generated -->`. The load run never computes the metrics artifact itself: it runs
//! `mk service diagnostics --json`, the one place the artifact is derived.

mod load;
mod report;
pub(crate) mod requests;
pub(crate) mod service;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;
use xshell::Shell;

pub use memory_kernel_contract::SloPolicy;

use crate::drift::Drift;
use crate::findings::Findings;
use crate::generated;
use crate::pack::OPENAPI_PATH;
use crate::schemas::ContractSchemas;

/// The checked-in policy.
pub const POLICY_PATH: &str = "contracts/integration/v1/service-slo-policy.json";
/// The policy's schema.
pub const POLICY_SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/service-slo-policy.schema.json";
/// The metrics artifact's schema.
pub const METRICS_SCHEMA_PATH: &str =
    "contracts/integration/v1/schemas/service-metrics.schema.json";
/// The document carrying the generated threshold table.
pub const DOC_PATH: &str = "docs/spec/service-slo-policy.md";
/// The generated block's name in [`DOC_PATH`].
pub const DOC_BLOCK: &str = "slo-thresholds";
/// Where the load run writes the metrics artifact, under the cargo target directory.
pub const ARTIFACT_PATH: &str = "slo/service-metrics.json";

/// Check the SLO policy, or run the service under the policy's load and enforce it
///
/// Without --check-policy (the load run; not part of `verify`, it takes a minute):
///   1. builds memory-kernel-service and mk (release by default, --debug for the dev
///      profile; the SLO budgets are written for release builds),
///   2. starts the service on 127.0.0.1 (ephemeral port) over a temporary database and
///      seeds the benchmark profile's records over HTTP, then restarts it so the counters
///      hold only the measured load,
///   3. sends the profile's requests per endpoint, `concurrency` at a time,
///   4. runs `mk service diagnostics --json --policy <policy>` and writes the metrics
///      artifact (service-metrics.v1) to target/slo/service-metrics.json,
///   5. prints the per-endpoint table, stops the service (always, also on failure), and
///      fails naming every endpoint that breaches a threshold.
///
/// With --check-policy (fast, no build; the `slo-policy` gate of `cargo xtask verify`):
/// validates the policy against contracts/integration/v1/schemas/service-slo-policy.schema.json,
/// checks that every endpoint of contracts/openapi/service.v3.yaml has exactly one p95
/// budget and every profile endpoint has a budget, and (for the checked-in policy) that the
/// table in docs/spec/service-slo-policy.md is the one the policy renders. Fix a stale table
/// with `cargo xtask codegen`; change thresholds only in the policy file.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Slo {
    /// Only check the policy file and the generated doc table; build and run nothing.
    #[arg(long)]
    pub check_policy: bool,
    /// The policy to use (default: contracts/integration/v1/service-slo-policy.json).
    #[arg(long, value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// Build and run the release profile (the default).
    #[arg(long, conflicts_with = "debug")]
    pub release: bool,
    /// Build and run the dev profile instead (budgets are written for release builds).
    #[arg(long)]
    pub debug: bool,
}

/// Runs `cargo xtask slo` in the tree the shell is rooted at.
///
/// # Errors
/// A policy problem (with `--check-policy`), a build or start failure, or a breach.
pub fn run(sh: &Shell, args: &Slo) -> Result<()> {
    let root = sh.current_dir();
    let policy = args.policy.as_deref().map(absolute).transpose()?;
    if args.check_policy {
        return check_policy(&root, policy.as_deref())?.report("cargo xtask slo --check-policy");
    }
    let policy_path = policy.unwrap_or_else(|| root.join(POLICY_PATH));
    let findings = check_policy(&root, Some(&policy_path))?;
    if !findings.passed() {
        return findings.report("cargo xtask slo --check-policy --policy <PATH>");
    }
    load::run(sh, &root, &policy_path, !args.debug)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(std::env::current_dir()
        .context("cannot read the current directory")?
        .join(path))
}

/// Checks a policy: the file at `policy` (or the checked-in one, whose generated doc table
/// is then checked too) against its schema and the service's endpoints.
///
/// # Errors
/// Only for unexpected failures (the contract schemas cannot be read); every finding about
/// the policy or the doc is a problem in the result.
pub fn check_policy(root: &Path, policy: Option<&Path>) -> Result<Findings> {
    let mut findings = Findings::new();
    let path = policy.map_or_else(|| root.join(POLICY_PATH), Path::to_path_buf);
    let shown = path
        .strip_prefix(root)
        .unwrap_or(&path)
        .display()
        .to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            findings.problem(format!("{shown}: cannot read it: {error}"));
            return Ok(findings);
        }
    };
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            findings.problem(format!("{shown}: not JSON: {error}"));
            return Ok(findings);
        }
    };
    let schemas = ContractSchemas::load(root)?;
    let violations = schemas.violations(POLICY_SCHEMA_PATH, &value)?;
    if !violations.is_empty() {
        for violation in violations {
            findings.problem(format!(
                "{shown} violates {POLICY_SCHEMA_PATH}: {violation}; fix the policy file"
            ));
        }
        return Ok(findings);
    }
    let policy: SloPolicy = serde_json::from_value(value)
        .with_context(|| format!("{shown} matches its schema but not the xtask's reader"))?;
    check_endpoints(root, &policy, &shown, &mut findings);
    if policy_is_canonical(root, path.as_path()) {
        check_doc(root, &policy, &mut findings);
    }
    Ok(findings)
}

fn policy_is_canonical(root: &Path, path: &Path) -> bool {
    let canonical = |p: &Path| p.canonicalize().ok();
    canonical(path).is_some() && canonical(path) == canonical(&root.join(POLICY_PATH))
}

/// Every endpoint of the OpenAPI copy has one budget, no budget names another endpoint, and
/// every profile endpoint has a budget and a request generator.
fn check_endpoints(root: &Path, policy: &SloPolicy, shown: &str, findings: &mut Findings) {
    let endpoints = match openapi_paths(root) {
        Ok(endpoints) => endpoints,
        Err(error) => {
            findings.problem(format!("{OPENAPI_PATH}: {error:#}"));
            return;
        }
    };
    let budgets: Vec<&str> = policy
        .latency_budgets
        .iter()
        .map(|b| b.endpoint.as_str())
        .collect();
    for endpoint in &endpoints {
        match budgets.iter().filter(|b| *b == endpoint).count() {
            1 => {}
            0 => findings.problem(format!(
                "{shown}: endpoint {endpoint} has no p95 budget: add it to latency_budgets"
            )),
            n => findings.problem(format!("{shown}: endpoint {endpoint} has {n} p95 budgets")),
        }
    }
    for budget in &budgets {
        if !endpoints.iter().any(|e| e == budget) {
            findings.problem(format!(
                "{shown}: latency_budgets names {budget}, which is not an endpoint of {OPENAPI_PATH}"
            ));
        }
    }
    let mut seen = Vec::new();
    for entry in &policy.benchmark_profile.requests {
        let endpoint = entry.endpoint.as_str();
        if seen.contains(&endpoint) {
            findings.problem(format!(
                "{shown}: benchmark_profile.requests lists {endpoint} twice"
            ));
        }
        seen.push(endpoint);
        if !budgets.contains(&endpoint) {
            findings.problem(format!(
                "{shown}: benchmark_profile.requests drives {endpoint}, which has no p95 budget"
            ));
        }
        if !requests::is_known(endpoint) {
            findings.problem(format!(
                "{shown}: cargo xtask slo cannot send requests to {endpoint}: add a generator \
                 in xtask/src/slo/requests.rs"
            ));
        }
    }
}

/// The paths of the checked-in OpenAPI document.
fn openapi_paths(root: &Path) -> Result<Vec<String>> {
    let text = crate::pack::read_text(root, OPENAPI_PATH)?;
    let document: Value = serde_norway::from_str(&text).context("not YAML")?;
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .context("no `paths` object")?;
    Ok(paths.keys().cloned().collect())
}

/// The doc's generated table is the one the policy renders.
fn check_doc(root: &Path, policy: &SloPolicy, findings: &mut Findings) {
    let text = match crate::pack::read_text(root, DOC_PATH) {
        Ok(text) => crate::drift::normalise_newlines(&text),
        Err(error) => {
            findings.problem(format!("{DOC_PATH}: {error:#}"));
            return;
        }
    };
    match generated::block_body(&text, DOC_BLOCK) {
        Ok(actual) => {
            let expected = render_threshold_table(policy);
            let path = format!("{DOC_PATH}#{DOC_BLOCK}");
            if let Some(drift) = Drift::check(&path, &expected, actual, "cargo xtask codegen") {
                findings.problem(drift.to_string());
            }
        }
        Err(error) => findings.problem(format!("{DOC_PATH}: {error:#}")),
    }
}

/// The generated block of [`DOC_PATH`], for `cargo xtask codegen`: the table of the checked-in
/// policy at `root`.
///
/// # Errors
/// When the policy cannot be read as a policy.
pub fn render_doc_block(root: &Path) -> Result<String> {
    Ok(render_threshold_table(&SloPolicy::load(Some(
        &root.join(POLICY_PATH),
    ))?))
}

/// The threshold tables of `policy`, as Markdown: the rate thresholds, then each endpoint's
/// p95 budget and benchmark requests, then the profile's seed and concurrency.
#[must_use]
pub fn render_threshold_table(policy: &SloPolicy) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| threshold | value | over |");
    let _ = writeln!(out, "|---|---|---|");
    for (name, value, over) in [
        (
            "timeout_rate_max_percent",
            format!("{} %", policy.timeout_rate_max_percent),
            "each endpoint's requests",
        ),
        (
            "failure_rate_max_percent",
            format!("{} %", policy.failure_rate_max_percent),
            "each endpoint's requests",
        ),
        (
            "schema_unavailable_max_per_1000_requests",
            format!("{}", policy.schema_unavailable_max_per_1000_requests),
            "all requests",
        ),
    ] {
        let _ = writeln!(out, "| `{name}` | {value} | {over} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| endpoint | p95 budget | requests per benchmark run |"
    );
    let _ = writeln!(out, "|---|---|---|");
    for budget in &policy.latency_budgets {
        let requests = policy
            .benchmark_profile
            .requests
            .iter()
            .find(|r| r.endpoint == budget.endpoint)
            .map_or_else(|| "–".to_owned(), |r| r.count.to_string());
        let _ = writeln!(
            out,
            "| `{}` | {} ms | {requests} |",
            budget.endpoint, budget.p95_ms
        );
    }
    let profile = &policy.benchmark_profile;
    let seed = &profile.seed_records;
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Benchmark profile: {} constraints, {} summaries and {} links seeded first; \
         {} requests in flight at a time.",
        seed.constraints, seed.summaries, seed.links, profile.concurrency
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_threshold_and_budget() {
        let policy = SloPolicy::load(Some(&crate::project_root().join(POLICY_PATH)));
        let table = policy
            .as_ref()
            .map(render_threshold_table)
            .unwrap_or_default();
        assert!(
            table.contains("| `timeout_rate_max_percent` | 2 % |"),
            "{table}"
        );
        assert!(
            table.contains("| `failure_rate_max_percent` | 5 % |"),
            "{table}"
        );
        assert!(
            table.contains("| `/v1/context/{context_package_id}` |"),
            "{table}"
        );
        assert!(table.ends_with("at a time.\n"), "{table}");
    }
}
