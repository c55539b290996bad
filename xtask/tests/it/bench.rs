//! `cargo xtask bench service` through the real binary: a tiny end-to-end run against the
//! dev build of the service (every row and field of the report present and plausible), and
//! bad arguments refused before anything is built or written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn xtask(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn number(value: &Value, what: &str) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {value}"))
}

#[test]
fn a_tiny_run_reports_every_endpoint_for_every_connection_count() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask(
        &[
            "bench",
            "service",
            "--records",
            "200",
            "--connections",
            "1,2",
            "--duration",
            "1s",
            "--growth-queries",
            "20",
            "--debug",
            "--json",
            "report.json",
        ],
        dir.path(),
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("bench: seeded 200 records"), "{stderr}");

    // Written atomically: the report and nothing else in the folder.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["report.json"]);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();

    assert_eq!(report["report_version"], "service-bench.v1");
    assert_eq!(report["complete"], true, "{report}");
    assert!(report["error"].is_null(), "{report}");
    assert_eq!(
        report["command"],
        "cargo xtask bench service --records 200 --connections 1,2 --duration 1s \
         --growth-queries 20 --debug"
    );
    assert_eq!(report["settings"]["duration_ms"], 1000);
    assert_eq!(report["settings"]["profile"], "debug");
    assert!(report["machine"]["cpus"].as_u64() >= Some(1), "{report}");

    let seeding = report["seeding"].as_array().unwrap();
    assert_eq!(seeding.len(), 1);
    assert_eq!(seeding[0]["records"], 200);
    assert_eq!(seeding[0]["engine"], "sqlite");
    assert!(number(&seeding[0]["records_per_second"], "seed rate") > 0.0);
    assert!(seeding[0]["retries"].is_u64(), "{report}");

    let rows = report["rows"].as_array().unwrap();
    let endpoints = xtask::bench::endpoint_labels();
    assert_eq!(rows.len(), endpoints.len() * 2, "{report}");
    for endpoint in &endpoints {
        for connections in [1, 2] {
            let row = rows
                .iter()
                .find(|r| r["endpoint"] == *endpoint && r["connections"] == connections)
                .unwrap_or_else(|| panic!("no row for {endpoint} × {connections}"));
            let what = format!("{endpoint} × {connections}");
            assert_eq!(row["records"], 200, "{what}");
            assert_eq!(row["engine"], "sqlite", "{what}");
            let requests = row["requests"].as_u64().unwrap();
            assert!(requests > 0, "{what}: {row}");
            assert_eq!(row["non_2xx"], 0, "{what}: {row}");
            assert_eq!(row["transport_errors"], 0, "{what}: {row}");
            let seconds = number(&row["seconds"], "seconds");
            assert!((0.9..30.0).contains(&seconds), "{what}: {row}");
            let rate = number(&row["requests_per_second"], "req/s");
            assert!(
                (rate - requests as f64 / seconds).abs() < 0.01,
                "{what}: {row}"
            );
            let latency = &row["latency_ms"];
            let quantiles: Vec<f64> = ["p50", "p95", "p99", "max"]
                .iter()
                .map(|q| number(&latency[q], q))
                .collect();
            assert!(quantiles[0] > 0.0, "{what}: {row}");
            assert!(
                quantiles.windows(2).all(|pair| pair[0] <= pair[1]),
                "{what}: {row}"
            );
            assert!(number(&row["mean_response_bytes"], "bytes") > 0.0, "{what}");
            if cfg!(target_os = "linux") {
                assert!(row["peak_rss_kib"].as_u64() > Some(0), "{what}: {row}");
                assert_eq!(row["peak_rss_scope"], "row", "{what}: {row}");
                assert!(
                    number(&row["settle_seconds"], "settle") >= 0.5,
                    "{what}: {row}"
                );
            } else {
                assert!(row["peak_rss_kib"].is_null(), "{what}: {row}");
                assert!(row["settle_seconds"].is_null(), "{what}: {row}");
            }
            // The table has the row's line.
            let line = stdout
                .lines()
                .find(|l| {
                    // Each line starts with the engine, then the endpoint.
                    let Some(rest) = l.strip_prefix("sqlite").map(str::trim_start) else {
                        return false;
                    };
                    rest.starts_with(endpoint) && {
                        let fields: Vec<&str> = rest[endpoint.len()..].split_whitespace().collect();
                        fields.first() == Some(&"200")
                            && fields.get(1) == Some(&connections.to_string().as_str())
                    }
                })
                .unwrap_or_else(|| panic!("no table line for {what}:\n{stdout}"));
            assert!(line.contains(&requests.to_string()), "{line}");
        }
    }
    // Recalls answer more than a health check: their packages carry records.
    let mean = |endpoint: &str| {
        rows.iter()
            .find(|r| r["endpoint"] == endpoint)
            .map(|r| number(&r["mean_response_bytes"], endpoint))
            .unwrap()
    };
    assert!(mean("POST /v1/query/recall") > mean("GET /v1/health"));

    let growth = report["db_growth"].as_array().unwrap();
    assert_eq!(growth.len(), 1);
    let growth = &growth[0];
    assert_eq!(growth["records"], 200);
    assert_eq!(growth["queries"], 20, "{growth}");
    assert_eq!(growth["failed"], 0, "{growth}");
    assert_eq!(growth["cut_short"], false, "{growth}");
    let before = growth["bytes_before"].as_u64().unwrap();
    let after = growth["bytes_after"].as_u64().unwrap();
    assert!(before > 0 && after > before, "{growth}");
    let per_query = number(&growth["bytes_per_query"], "bytes/query");
    assert!(
        (per_query - (after - before) as f64 / 20.0).abs() < 0.01,
        "{growth}"
    );
    if cfg!(unix) {
        assert_eq!(growth["checkpointed"], true, "{growth}");
        assert_eq!(growth["wal_bytes_after"], 0, "{growth}");
    }
    assert!(
        stdout.contains("database growth at 200 records: 20 distinct recalls"),
        "{stdout}"
    );
    assert!(
        stdout.contains("seeding 200 records on sqlite:"),
        "{stdout}"
    );
}

#[test]
fn bad_arguments_are_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 13] = [
        (&["--records", "0"], "0 is not between 1 and 1000000"),
        (&["--records", "ten"], "`ten` is not a whole number"),
        (&["--records", "100,100"], "100 is listed twice"),
        (&["--records", ""], "is not a whole number"),
        (&["--connections", "0"], "0 is not between 1 and 64"),
        (&["--connections", "1,65"], "65 is not between 1 and 64"),
        (&["--duration", "10"], "has no unit"),
        (&["--duration", "0s"], "is not between 100ms and 60m"),
        (&["--duration", "3h"], "`h` is not a unit"),
        (&["--duration", "1.5s"], "`.5s` is not a unit"),
        (&["--growth-queries", "0"], "0 is not between 1 and 100000"),
        (&["--growth-queries", "-3"], "unexpected argument"),
        (&["--warmup", "1s"], "unexpected argument '--warmup'"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["bench", "service", "--json", "r.json"];
        args.extend_from_slice(extra);
        let output = xtask(&args, dir.path());
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
        assert!(!stderr.contains("building"), "{extra:?}: {stderr}");
    }

    // One empty PostgreSQL database cannot be seeded for two record counts.
    let postgres = xtask(
        &[
            "bench",
            "service",
            "--postgres",
            "postgres://mk@127.0.0.1:1/bench",
        ],
        dir.path(),
    );
    let stderr = text(&postgres.stderr);
    assert_eq!(postgres.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("needs exactly one --records count (got 2)"),
        "{stderr}"
    );
    assert!(!stderr.contains("building"), "{stderr}");

    let no_target = xtask(&["bench"], dir.path());
    assert_eq!(no_target.status.code(), Some(2));
    assert!(text(&no_target.stderr).contains("service"));
    let unknown = xtask(&["bench", "store"], dir.path());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("unrecognized subcommand 'store'"));

    let missing_folder = xtask(
        &["bench", "service", "--json", "no/such/folder/r.json"],
        dir.path(),
    );
    let stderr = text(&missing_folder.stderr);
    assert_eq!(missing_folder.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("its folder does not exist"), "{stderr}");
    assert!(!stderr.contains("building"), "{stderr}");
    let folder = xtask(&["bench", "service", "--json", "."], dir.path());
    assert_eq!(folder.status.code(), Some(1));
    assert!(text(&folder.stderr).contains("is a folder"));

    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
    // Root discovery: the command also starts from a sub-folder of the repository.
    let help = xtask(&["bench", "service", "--help"], &repo_root().join("docs"));
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--growth-queries"));
}

#[test]
fn bench_gates_times_the_chosen_gates_as_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let output = xtask(
        &[
            "bench",
            "gates",
            "--runs",
            "2",
            "--gate",
            "slo-policy",
            "--gate",
            "manifest",
            "--json",
            "gates.json",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("cargo xtask bench gates --runs 2 --gate slo-policy --gate manifest"),
        "{stdout}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("gates.json")).unwrap())
            .unwrap();
    assert_eq!(report["format"], "gate-bench.v1");
    let rows = report["gates"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|row| row["gate"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slo-policy", "manifest"]);
    for row in rows {
        assert_eq!(row["runs_ms"].as_array().unwrap().len(), 2, "{row}");
        let min = number(&row["min_ms"], "min_ms");
        assert!(
            min > 0.0 && min <= number(&row["median_ms"], "median_ms"),
            "{row}"
        );
        assert_eq!(row["budget_ms"], 50);
        assert_eq!(row["passed"], true, "{row}");
    }
    assert_eq!(rows[0]["command"], "xtask slo --check-policy");

    let output = xtask(&["bench", "gates", "--gate", "clippy"], dir.path());
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("`clippy` is not a governance gate"),
        "{}",
        text(&output.stderr)
    );
}
