//! The load run's result: the metrics artifact written atomically under the target
//! directory after validating against its schema, the per-endpoint table, and the verdict.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::{ARTIFACT_PATH, METRICS_SCHEMA_PATH};
use crate::schemas::ContractSchemas;

/// Validates `metrics` against its schema and writes it to `<target>/slo/service-metrics.json`
/// (temporary file in the same folder, then renamed); returns the path.
pub fn write_artifact(root: &Path, target: &Path, metrics: &Value) -> Result<PathBuf> {
    let violations = ContractSchemas::load(root)?.violations(METRICS_SCHEMA_PATH, metrics)?;
    if !violations.is_empty() {
        bail!(
            "the metrics artifact does not match {METRICS_SCHEMA_PATH}:\n{}",
            violations.join("\n")
        );
    }
    let path = target.join(ARTIFACT_PATH);
    let dir = path.parent().context("the artifact path has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::atomic_file::write_json(&path, metrics)?;
    Ok(path)
}

fn number(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

/// Prints one row per endpoint that had requests, the breaches and the verdict.
pub fn print(metrics: &Value) {
    let endpoints = metrics["endpoints"].as_array().cloned().unwrap_or_default();
    println!(
        "{:<34} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "endpoint", "requests", "fail %", "timeout %", "p50 ms", "p95 ms", "p99 ms", "budget ms"
    );
    for e in endpoints
        .iter()
        .filter(|e| e["requests"].as_u64() > Some(0))
    {
        println!(
            "{:<34} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
            e["endpoint"].as_str().unwrap_or("?"),
            e["requests"].as_u64().unwrap_or(0),
            number(&e["failure_rate_percent"]),
            number(&e["timeout_rate_percent"]),
            number(&e["latency_ms"]["p50"]),
            number(&e["latency_ms"]["p95"]),
            number(&e["latency_ms"]["p99"]),
            number(&e["p95_budget_ms"]),
        );
    }
    let totals = &metrics["totals"];
    println!(
        "{:<34} {:>8} {:>7} {:>9}   schema_unavailable per 1000: {}",
        "total",
        totals["requests"].as_u64().unwrap_or(0),
        number(&totals["failure_rate_percent"]),
        number(&totals["timeout_rate_percent"]),
        totals["schema_unavailable_per_1000_requests"]
    );
    for breach in metrics["breaches"].as_array().into_iter().flatten() {
        println!("breach: {}", breach["message"].as_str().unwrap_or("?"));
    }
    println!("verdict: {}", metrics["verdict"].as_str().unwrap_or("?"));
}

/// Fails unless the verdict is OK, naming every breached endpoint.
pub fn enforce(metrics: &Value) -> Result<()> {
    let verdict = metrics["verdict"].as_str().unwrap_or("?");
    if verdict == "OK" {
        return Ok(());
    }
    let breaches: Vec<&str> = metrics["breaches"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["message"].as_str())
        .collect();
    bail!(
        "SLO {verdict}: {} (see target/{ARTIFACT_PATH}; thresholds live in the policy file)",
        breaches.join("; ")
    )
}
