//! The benchmark's report: the JSON document `--json` writes and the tables printed at the
//! end of a run.

use std::fmt::Write as _;

use serde::Serialize;

/// `service-bench.v1`: everything one `cargo xtask bench service` run measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `service-bench.v1`.
    pub report_version: &'static str,
    /// The command that reproduces the run.
    pub command: String,
    /// Whether every record count was measured; `false` when the run stopped on `error`
    /// and the report holds what was measured before.
    pub complete: bool,
    /// Why the run stopped early.
    pub error: Option<String>,
    /// The run's settings.
    pub settings: Settings,
    /// Where it ran.
    pub machine: Machine,
    /// One entry per record count: how seeding went.
    pub seeding: Vec<SeedRow>,
    /// One row per endpoint × record count × connection count.
    pub rows: Vec<Row>,
    /// One entry per record count: database bytes added by recalls.
    pub db_growth: Vec<GrowthRow>,
}

/// The run's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// Record counts, each seeded into a fresh database.
    pub records: Vec<usize>,
    /// Client connection counts.
    pub connections: Vec<usize>,
    /// How long each row's load runs, in milliseconds.
    pub duration_ms: u64,
    /// Distinct recalls of the database-growth phase.
    pub growth_queries: usize,
    /// `release` or `debug`.
    pub profile: &'static str,
}

/// Where the run happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// `std::env::consts::OS`.
    pub os: &'static str,
    /// `std::env::consts::ARCH`.
    pub arch: &'static str,
    /// Logical CPUs available.
    pub cpus: usize,
}

/// How seeding one database went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeedRow {
    /// The storage engine: `sqlite` or `postgresql`.
    pub engine: &'static str,
    /// Records written.
    pub records: usize,
    /// Client threads.
    pub threads: usize,
    /// Records sent again after the service failed them (5xx or no answer).
    pub retries: usize,
    /// Seconds it took.
    pub seconds: f64,
    /// Records per second.
    pub records_per_second: f64,
}

/// One endpoint under one load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The storage engine: `sqlite` or `postgresql`.
    pub engine: &'static str,
    /// Method and route, e.g. `POST /v1/query/recall`.
    pub endpoint: &'static str,
    /// Records seeded before the load.
    pub records: usize,
    /// Closed-loop clients, one connection each.
    pub connections: usize,
    /// Requests finished.
    pub requests: u64,
    /// Seconds from the first request to the last answer.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_second: f64,
    /// Client-side latency quantiles, in milliseconds (`null` without requests).
    pub latency_ms: Latency,
    /// Answers with a status outside 2xx.
    pub non_2xx: u64,
    /// Requests that failed below HTTP.
    pub transport_errors: u64,
    /// Mean body bytes per answer (`null` without requests).
    pub mean_response_bytes: Option<f64>,
    /// The service's peak resident set during this row, in KiB (`null` where it cannot be
    /// read: VmHWM of `/proc/<pid>/status` is Linux's).
    pub peak_rss_kib: Option<u64>,
    /// `row` when the peak was reset before the row, `service` when it covers the
    /// service's whole life so far (the reset was refused), `null` with no figure.
    pub peak_rss_scope: Option<&'static str>,
    /// Seconds the run waited before the row for the service to go idle (work of earlier
    /// timed-out requests finishing); `null` where CPU time cannot be read.
    pub settle_seconds: Option<f64>,
}

/// Latency quantiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Slowest.
    pub max: Option<f64>,
}

/// Database bytes added by recalls over one seeded database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrowthRow {
    /// Records seeded.
    pub records: usize,
    /// Recalls answered 2xx (each stores its context package).
    pub queries: usize,
    /// Recalls that failed (they store nothing).
    pub failed: usize,
    /// Whether the phase's time or size limit stopped it early.
    pub cut_short: bool,
    /// Database file plus WAL before, in bytes.
    pub bytes_before: u64,
    /// Database file plus WAL after, in bytes.
    pub bytes_after: u64,
    /// The WAL's share of `bytes_after`: 0 when the service checkpointed it on shutdown.
    pub wal_bytes_after: u64,
    /// `(bytes_after - bytes_before) / queries` (`null` without queries).
    pub bytes_per_query: Option<f64>,
    /// Whether the service shut down cleanly both times (so the WAL was checkpointed).
    pub checkpointed: bool,
}

impl GrowthRow {
    /// The bytes per query of `queries` recalls that grew the files from `before` to
    /// `after`.
    #[must_use]
    pub fn bytes_per_query(before: u64, after: u64, queries: usize) -> Option<f64> {
        (queries > 0).then(|| (after as f64 - before as f64) / queries as f64)
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

fn bytes(value: f64) -> String {
    if value.abs() >= 10.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", value / (1024.0 * 1024.0))
    } else if value.abs() >= 10.0 * 1024.0 {
        format!("{:.1} KiB", value / 1024.0)
    } else {
        format!("{value:.0} B")
    }
}

fn rss(row: &Row) -> String {
    row.peak_rss_kib.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    )
}

/// The tables: one line per row, then seeding and database growth.
#[must_use]
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if let Some(error) = &report.error {
        let _ = writeln!(
            out,
            "incomplete run (what was measured before it stopped): {error}"
        );
    }
    let _ = writeln!(
        out,
        "{:<10} {:<30} {:>7} {:>5} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>11} {:>10}",
        "engine",
        "endpoint",
        "records",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "non-2xx",
        "transport",
        "mean bytes",
        "peak RSS"
    );
    for row in &report.rows {
        let _ = writeln!(
            out,
            "{:<10} {:<30} {:>7} {:>5} {:>8} {:>9.1} {:>8} {:>8} {:>8} {:>7} {:>9} {:>11} {:>10}",
            row.engine,
            row.endpoint,
            row.records,
            row.connections,
            row.requests,
            row.requests_per_second,
            ms(row.latency_ms.p50),
            ms(row.latency_ms.p95),
            ms(row.latency_ms.p99),
            row.non_2xx,
            row.transport_errors,
            row.mean_response_bytes
                .map_or_else(|| "-".to_owned(), bytes),
            rss(row),
        );
    }
    let _ = writeln!(out);
    for seed in &report.seeding {
        let _ = writeln!(
            out,
            "seeding {} records on {}: {:.1} s ({:.0} records/s, {} client threads)",
            seed.records, seed.engine, seed.seconds, seed.records_per_second, seed.threads
        );
    }
    for growth in &report.db_growth {
        let per_query = growth
            .bytes_per_query
            .map_or_else(|| "n/a".to_owned(), |b| format!("{} per query", bytes(b)));
        let mut notes = Vec::new();
        if growth.failed > 0 {
            notes.push(format!(
                "{} recalls failed; one that timed out may still have stored its package",
                growth.failed
            ));
        }
        if growth.cut_short {
            notes.push("stopped by its time or size limit".to_owned());
        }
        if !growth.checkpointed {
            notes.push("WAL not checkpointed: its size is included".to_owned());
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        let _ = writeln!(
            out,
            "database growth at {} records: {} distinct recalls, {} -> {} bytes: {per_query}{notes}",
            growth.records, growth.queries, growth.bytes_before, growth.bytes_after
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(peak_rss_kib: Option<u64>) -> Row {
        Row {
            engine: "sqlite",
            endpoint: "POST /v1/query/recall",
            records: 200,
            connections: 2,
            requests: 10,
            seconds: 1.0,
            requests_per_second: 10.0,
            latency_ms: Latency {
                p50: Some(1.5),
                p95: Some(2.25),
                p99: Some(3.0),
                max: Some(3.5),
            },
            non_2xx: 1,
            transport_errors: 0,
            mean_response_bytes: Some(20_480.0),
            peak_rss_kib,
            peak_rss_scope: peak_rss_kib.map(|_| "row"),
            settle_seconds: Some(0.5),
        }
    }

    #[test]
    fn the_table_has_a_line_per_row_and_says_n_a_without_rss() {
        let report = Report {
            report_version: "service-bench.v1",
            command: "cargo xtask bench service".to_owned(),
            complete: true,
            error: None,
            settings: Settings {
                records: vec![200],
                connections: vec![2],
                duration_ms: 1000,
                growth_queries: 10,
                profile: "debug",
            },
            machine: Machine {
                os: "linux",
                arch: "x86_64",
                cpus: 2,
            },
            seeding: vec![],
            rows: vec![row(Some(20_480)), row(None)],
            db_growth: vec![GrowthRow {
                records: 200,
                queries: 10,
                failed: 0,
                cut_short: false,
                bytes_before: 1000,
                bytes_after: 5096,
                wal_bytes_after: 0,
                bytes_per_query: GrowthRow::bytes_per_query(1000, 5096, 10),
                checkpointed: true,
            }],
        };
        let table = render(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("engine     endpoint"), "{table}");
        assert!(lines[1].starts_with("sqlite     POST"), "{table}");
        assert!(
            lines[1].contains("20.0 KiB") && lines[1].ends_with("20.0 MiB"),
            "{table}"
        );
        assert!(
            lines[1].contains("1.50") && lines[1].contains("2.25"),
            "{table}"
        );
        assert!(lines[2].ends_with("n/a"), "{table}");
        assert!(
            table.contains("database growth at 200 records: 10 distinct recalls, 1000 -> 5096 bytes: 410 B per query\n"),
            "{table}"
        );

        let stopped = Report {
            complete: false,
            error: Some("seeding: no".to_owned()),
            ..report
        };
        let table = render(&stopped);
        assert!(
            table.starts_with(
                "incomplete run (what was measured before it stopped): seeding: no\nengine"
            ),
            "{table}"
        );
    }

    #[test]
    fn bytes_per_query_needs_queries_and_may_be_negative() {
        assert_eq!(GrowthRow::bytes_per_query(10, 30, 4), Some(5.0));
        assert_eq!(GrowthRow::bytes_per_query(30, 10, 4), Some(-5.0));
        assert_eq!(GrowthRow::bytes_per_query(10, 30, 0), None);
    }
}
